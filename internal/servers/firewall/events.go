package firewall

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin" // every log format, for "auto"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// maxLogTail bounds how much of the end of each firewall log the query
// tools read, so a huge unrotated log cannot stall a call.
const maxLogTail = 64 << 20

// FirewallEvent is one firewall log record, normalized.
type FirewallEvent struct {
	Time     time.Time `json:"time"`
	Action   string    `json:"action,omitempty" jsonschema:"the firewall's verdict: block, reject, allow, ... (from the log prefix)"`
	Denied   bool      `json:"denied" jsonschema:"the packet was blocked or rejected"`
	Source   string    `json:"source_ip,omitempty"`
	SrcPort  int       `json:"source_port,omitempty"`
	Dest     string    `json:"destination_ip,omitempty"`
	DstPort  int       `json:"destination_port,omitempty"`
	Protocol string    `json:"transport,omitempty"`
	Rule     string    `json:"rule,omitempty" jsonschema:"the rule name or log prefix"`
	Log      string    `json:"log" jsonschema:"the file it came from"`
	Line     string    `json:"line"`
}

// eventFilter selects events.
type eventFilter struct {
	ip         netip.Addr // source or destination; zero: any
	deniedOnly bool
	since      time.Time
	dport      int
}

func (f eventFilter) match(e FirewallEvent) bool {
	if f.deniedOnly && !e.Denied {
		return false
	}
	if !f.since.IsZero() && e.Time.Before(f.since) {
		return false
	}
	if f.dport != 0 && e.DstPort != f.dport {
		return false
	}
	if f.ip.IsValid() && e.Source != f.ip.String() && e.Dest != f.ip.String() {
		return false
	}
	return true
}

// readEvents calls fn for every network event: from the store when the
// server has one, else from the end of each log file (oldest first per
// file). It reports whether only part of the input was read.
func (s *Server) readEvents(ctx context.Context, f eventFilter, fn func(FirewallEvent)) (truncated bool, err error) {
	if s.events != nil {
		return s.readStore(ctx, f, fn)
	}
	if len(s.cfg.Logs) == 0 {
		return false, errors.New("no firewall log is configured: start the server with --log /var/log/kern.log (servers.firewall.logs)")
	}
	for _, path := range s.cfg.Logs {
		t, err := s.readLog(path, fn)
		if err != nil {
			return truncated, err
		}
		truncated = truncated || t
	}
	return truncated, nil
}

func (s *Server) readLog(path string, fn func(FirewallEvent)) (truncated bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("opening firewall log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat firewall log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("firewall log %q is not a regular file", path)
	}
	var r io.Reader = f
	if fi.Size() > maxLogTail {
		if _, err := f.Seek(fi.Size()-maxLogTail, io.SeekStart); err != nil {
			return false, fmt.Errorf("seeking in firewall log: %w", err)
		}
		br := bufio.NewReader(f)
		if _, err := br.ReadString('\n'); err != nil { // drop the cut line
			return true, nil
		}
		r, truncated = br, true
	}
	n, err := parse.New(s.cfg.LogFormat, &parse.Config{Location: time.Local, SourceID: "file:" + path})
	if err != nil {
		return false, fmt.Errorf("log format %q: %w", s.cfg.LogFormat, err)
	}
	sc := parse.NewScanner(r, n)
	for sc.Scan() {
		if fe, ok := toFirewallEvent(sc.Event(), path); ok {
			fn(fe)
		}
	}
	if err := sc.Err(); err != nil {
		return truncated, fmt.Errorf("reading firewall log %s: %w", path, err)
	}
	return truncated, nil
}

// toFirewallEvent keeps network events with a source address.
func toFirewallEvent(ev *event.Event, from string) (FirewallEvent, bool) {
	if ev.Kind == event.KindPipelineError || !slices.Contains(ev.Category, "network") || !ev.Source.IP.IsValid() {
		return FirewallEvent{}, false
	}
	fe := FirewallEvent{Time: ev.Timestamp.UTC(), Action: ev.Action, Denied: slices.Contains(ev.Type, "denied"),
		Source: ev.Source.IP.String(), SrcPort: ev.Source.Port, DstPort: ev.Destination.Port,
		Protocol: ev.Network.Transport, Rule: ev.Rule.Name, Log: from, Line: ev.Original}
	if ev.Destination.IP.IsValid() {
		fe.Dest = ev.Destination.IP.String()
	}
	return fe, true
}

// maxStoreEvents bounds the events one call reads from the store.
const maxStoreEvents = 100000

// sources names where the log tools read.
func (s *Server) sources() []string {
	if s.events != nil {
		return []string{"mcpsoc store (event.category:network)"}
	}
	return s.cfg.Logs
}

// readStore pages through the store's network events in the filter's
// time range (the last 24h when it has no start), narrowed by the indexed
// address and port fields; it reports truncation past maxStoreEvents.
func (s *Server) readStore(ctx context.Context, f eventFilter, fn func(FirewallEvent)) (bool, error) {
	q := "event.category:network"
	if f.ip.IsValid() {
		q += fmt.Sprintf(" AND (source.ip:%s OR destination.ip:%s)", f.ip, f.ip)
	}
	if f.dport != 0 {
		q += fmt.Sprintf(" AND destination.port:%d", f.dport)
	}
	parsed, err := query.Parse(q)
	if err != nil {
		return false, err
	}
	req := store.SearchRequest{Query: parsed, From: f.since, Limit: 1000}
	if req.From.IsZero() {
		req.From = s.now().Add(-24 * time.Hour)
	}
	return store.Each(ctx, s.events, req, maxStoreEvents, func(r store.Record) {
		if fe, ok := toFirewallEvent(r.Event, "store:"+r.ID); ok {
			fn(fe)
		}
	})
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since %q is neither an RFC 3339 time nor a positive duration such as 24h", v)
}

// Talker is one source address with its event counts.
type Talker struct {
	IP        string    `json:"ip"`
	Events    int       `json:"events"`
	Denied    int       `json:"denied"`
	Ports     []int     `json:"top_destination_ports" jsonschema:"the most targeted destination ports, most first (at most 5)"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Blocked   bool      `json:"blocked" jsonschema:"the address is in the managed block list now"`
	ports     map[int]int
}

// topTalkers ranks sources by event count (denied events first when
// deniedOnly), at most limit.
func topTalkers(evs []FirewallEvent, limit int) []Talker {
	by := map[string]*Talker{}
	for _, e := range evs {
		t := by[e.Source]
		if t == nil {
			t = &Talker{IP: e.Source, FirstSeen: e.Time, ports: map[int]int{}}
			by[e.Source] = t
		}
		t.Events++
		if e.Denied {
			t.Denied++
		}
		if e.DstPort != 0 {
			t.ports[e.DstPort]++
		}
		if e.Time.Before(t.FirstSeen) {
			t.FirstSeen = e.Time
		}
		if e.Time.After(t.LastSeen) {
			t.LastSeen = e.Time
		}
	}
	out := make([]Talker, 0, len(by))
	for _, t := range by {
		for p := range t.ports {
			t.Ports = append(t.Ports, p)
		}
		sort.Slice(t.Ports, func(i, j int) bool {
			a, b := t.Ports[i], t.Ports[j]
			return t.ports[a] > t.ports[b] || t.ports[a] == t.ports[b] && a < b
		})
		if len(t.Ports) > 5 {
			t.Ports = t.Ports[:5]
		}
		if t.Ports == nil {
			t.Ports = []int{}
		}
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Events != b.Events {
			return a.Events > b.Events
		}
		return strings.Compare(a.IP, b.IP) < 0
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
