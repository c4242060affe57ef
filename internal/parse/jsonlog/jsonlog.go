// Package jsonlog parses generic JSON / NDJSON records (one object per
// line) with a configurable field mapping (parse.Config.JSON). It registers
// the format "json", which auto detection tries last among JSON formats.
//
// Each leaf of the object is addressed by its dotted path ("src.addr");
// mapped paths fill the ECS field they name, the rest go under the
// mapping's Namespace ("json" by default). Namespace "ecs" declares the
// input already ECS-shaped: unmapped paths are then stored under their own
// names, so events exported by MCPSoc or an Elastic agent read back as-is.
package jsonlog

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "json"

func init() {
	parse.Register(Name, func(cfg *parse.Config) (parse.Parser, error) {
		return &Parser{m: cfg.JSON}, nil
	})
}

// Parser parses JSON objects with a field mapping. It is safe for
// concurrent use.
type Parser struct {
	m parse.FieldMapping
}

var (
	_ parse.Parser   = (*Parser)(nil)
	_ parse.Detector = (*Parser)(nil)
)

// Name returns "json".
func (*Parser) Name() string { return Name }

// Detect claims any JSON object, with the lowest confidence of all formats,
// so that specific JSON formats win.
func (*Parser) Detect(rec *parse.Record) int {
	p := strings.TrimSpace(rec.Payload)
	if len(p) >= 1 && p[0] == '{' {
		return 5
	}
	return 0
}

// timeKeys are tried, in order, when the mapping names no timestamp key.
var timeKeys = [...]string{"@timestamp", "timestamp", "time", "ts", "date", "datetime", "eventTime"}

// Parse normalizes one JSON object.
func (p *Parser) Parse(ev *event.Event, rec *parse.Record) error {
	s := strings.TrimSpace(rec.Payload)
	if len(s) == 0 || s[0] != '{' {
		return parse.NotMine(Name, "a JSON object")
	}
	d, err := parse.ParseJSON(s)
	if err != nil {
		return parse.Errorf("json: %v", err)
	}
	defer d.Free()
	ns := p.m.Namespace
	if ns == "" {
		ns = "json"
	}
	ev.Kind = event.KindEvent
	ev.Module = "json"
	ev.Dataset = "json.log"
	if p.m.Dataset != "" {
		ev.Dataset = p.m.Dataset
	}
	tsKey := p.m.Timestamp
	var ts string
	leaves(d, d.Root(), "", func(path string, n int) {
		if path == tsKey || tsKey == "" && ts == "" && isTimeKey(path) {
			if t, ok := parseTime(d, n, rec.Config); ok {
				ev.Timestamp = t
				ts = path
				if path == "@timestamp" {
					return
				}
			}
		}
		if target, ok := p.m.Fields[path]; ok {
			put(ev, target, d.Value(n))
			return
		}
		if ns == "ecs" {
			if path == "event.original" || path == "event.ingested" || strings.HasPrefix(path, "mcpsoc.") {
				return // ours, recomputed for this ingest
			}
			put(ev, path, d.Value(n))
			return
		}
		ev.Put(ns+"."+path, d.Value(n))
	})
	if ev.Kind == "" {
		ev.Kind = event.KindEvent
	}
	parse.RelateIPs(ev)
	return nil
}

// put sets an ECS field, converting address and port text where needed.
func put(ev *event.Event, name string, v any) {
	switch name {
	case "source.ip", "destination.ip":
		if s, ok := v.(string); ok {
			if a := parse.Addr(s); a.IsValid() {
				ev.Put(name, a)
			} else {
				ev.Put(strings.TrimSuffix(name, ".ip")+".address", s)
			}
			return
		}
	case "source.port", "destination.port":
		if s, ok := v.(string); ok {
			if n := parse.Port(s); n > 0 {
				ev.PutInt(name, int64(n))
			}
			return
		}
	case "@timestamp":
		if s, ok := v.(string); ok {
			for _, layout := range layouts {
				if t, err := time.Parse(layout, s); err == nil {
					ev.Timestamp = t
					return
				}
			}
		}
	}
	ev.Put(name, v)
}

func isTimeKey(path string) bool {
	for _, k := range timeKeys {
		if path == k {
			return true
		}
	}
	return false
}

var layouts = [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999Z07:00", time.RFC1123Z, time.RFC1123}

// parseTime reads RFC 3339-like text or an epoch number in s, ms, µs or ns.
func parseTime(d *parse.JSONDoc, n int, cfg *parse.Config) (time.Time, bool) {
	s, ok := d.String(n)
	if !ok {
		return time.Time{}, false
	}
	if d.Kind(n) == parse.JSONNumber || isDigits(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
			switch {
			case f > 1e17:
				return time.Unix(0, int64(f)).UTC(), true
			case f > 1e14:
				return time.UnixMicro(int64(f)).UTC(), true
			case f > 1e11:
				return time.UnixMilli(int64(f)).UTC(), true
			}
			sec := int64(f)
			return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
		}
		return time.Time{}, false
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	for _, layout := range [...]string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, cfg.Loc()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// leaves calls fn for every non-object, non-null value under n with its
// dotted path.
func leaves(d *parse.JSONDoc, n int, prefix string, fn func(path string, n int)) {
	for c := d.First(n); c >= 0; c = d.Next(c) {
		path := d.Key(c)
		if prefix != "" {
			path = prefix + "." + path
		}
		switch d.Kind(c) {
		case parse.JSONObject:
			leaves(d, c, path, fn)
		case parse.JSONNull:
		default:
			fn(path, c)
		}
	}
}
