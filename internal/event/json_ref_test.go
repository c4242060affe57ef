package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// referenceUnmarshal is the previous, map-based decoder, kept as the
// reference the one-pass decoder must agree with.
func referenceUnmarshal(e *Event, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	e.Reset()
	e.putTree("", m)
	return nil
}

// referenceSortedFields is the previous field order: every field of e
// through Fields, stably sorted by comparePath.
func referenceSortedFields(e *Event) []namedValue {
	var fields []namedValue
	e.Fields(func(name string, v any) bool {
		fields = append(fields, namedValue{name: name, v: v})
		return true
	})
	slices.SortStableFunc(fields, compareNamed)
	return fields
}

func TestSortedFieldsMatchReference(t *testing.T) {
	var evs []*Event
	for _, doc := range []string{benchEventJSON,
		`{"a":1,"zz":{"y":"q","a":[1,2]},"event":{"kind":"event","zeta":"x","action":"a"},"source":{"ip":"192.0.2.1","zone":"dmz"},"message":"m","@timestamp":"2026-11-21T00:00:00Z"}`,
		`{"winlog":{"event_data":{"Image":"C:\\x.exe"}},"Image":"y","@version":"1","_id":"z"}`,
	} {
		var e Event
		if err := e.UnmarshalJSON([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, &e)
	}
	var e Event
	e.Put("rule.id", "1")
	e.Put("observer.ingress.interface.name", "em0")
	e.Put("a.b", "leaf")
	e.Put("a.b.c", int64(2))
	e.Put("event.zzz", true)
	e.Put("event", "scalar") // a leaf named like a parent of typed fields
	e.Put("@timestamp.x", "odd")
	evs = append(evs, &e)
	for i, e := range evs {
		got, want := e.sortedFields(), referenceSortedFields(e)
		if len(got) != len(want) {
			t.Fatalf("event %d: %d fields, want %d", i, len(got), len(want))
		}
		for k := range got {
			if got[k].name != want[k].name {
				t.Fatalf("event %d: field %d is %q, want %q", i, k, got[k].name, want[k].name)
			}
		}
	}
}

var errTrailing = json.Unmarshal([]byte("x"), new(any))

func agree(t *testing.T, data []byte) {
	t.Helper()
	var fast, ref Event
	errFast := fast.UnmarshalJSON(data)
	errRef := referenceUnmarshal(&ref, data)
	if (errFast == nil) != (errRef == nil) {
		// The reference read the first value and ignored what followed it;
		// the one-pass decoder rejects trailing data. Nothing else may differ.
		// It also refuses a document that is not an object ("null", which
		// the reference turned into an empty event).
		if !(errRef == nil && (strings.Contains(errFast.Error(), "data after the object") || strings.Contains(errFast.Error(), "want a JSON object"))) {
			t.Fatalf("decoders disagree on %q: fast %v, reference %v", data, errFast, errRef)
		}
		return
	}
	if errFast != nil {
		return
	}
	a, _ := fast.MarshalJSON()
	if duplicateKeys(data) {
		// A map keeps the last of duplicate keys; the one-pass decoder keeps
		// every value (our encoder writes "a" as a leaf and as an object when
		// a field is both). Check that it round-trips stably instead.
		var again Event
		if err := again.UnmarshalJSON(a); err != nil {
			t.Fatalf("re-decoding %s: %v", a, err)
		}
		if b, _ := again.MarshalJSON(); !bytes.Equal(a, b) {
			t.Fatalf("unstable round trip of %q:\n first %s\nsecond %s", data, a, b)
		}
		return
	}
	b, _ := ref.MarshalJSON()
	if !bytes.Equal(a, b) {
		t.Fatalf("decoders disagree on %q:\n fast %s\n  ref %s", data, a, b)
	}
}

// duplicateKeys reports whether two values of data flatten to the same
// dotted name: a key repeated in one object, or "a.b" written both nested
// and dotted. Map-based decoding then keeps an arbitrary one.
func duplicateKeys(data []byte) bool {
	type frame struct {
		object    bool
		path      string // dotted path of this object
		key       string // current member key
		expectKey bool
	}
	var stack []*frame
	seen := map[string]bool{}    // leaf names
	objects := map[string]bool{} // object paths
	leaf := func() bool {        // a scalar or array value completed
		n := len(stack)
		if n == 0 || !stack[n-1].object {
			return false
		}
		top := stack[n-1]
		name := top.key
		if top.path != "" {
			name = top.path + "." + top.key
		}
		dup := seen[name] || objects[name]
		seen[name] = true
		top.expectKey = true
		return dup
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	depthInArray := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if depthInArray > 0 {
					stack = append(stack, &frame{})
					depthInArray++
					continue
				}
				p := ""
				if n := len(stack); n > 0 {
					top := stack[n-1]
					p = top.key
					if top.path != "" {
						p = top.path + "." + top.key
					}
				}
				if len(stack) > 0 {
					if seen[p] || objects[p] {
						return true // an object where a leaf or another object was
					}
					objects[p] = true
				}
				stack = append(stack, &frame{object: true, path: p, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
				depthInArray++
			case '}':
				stack = stack[:len(stack)-1]
				if depthInArray > 0 {
					depthInArray--
					if depthInArray > 0 {
						continue
					}
				}
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].expectKey = true
				}
			case ']':
				stack = stack[:len(stack)-1]
				depthInArray--
				if depthInArray == 0 && leaf() {
					return true
				}
			}
		case string:
			if n := len(stack); depthInArray == 0 && n > 0 && stack[n-1].object && stack[n-1].expectKey {
				stack[n-1].key, stack[n-1].expectKey = v, false
				continue
			}
			if depthInArray == 0 && leaf() {
				return true
			}
		default:
			if depthInArray == 0 && leaf() {
				return true
			}
		}
	}
}

// TestUnmarshalMatchesReference decodes every golden event of the parsers
// with both decoders.
func TestUnmarshalMatchesReference(t *testing.T) {
	files, _ := filepath.Glob("../parse/testdata/golden/*/*.txt")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, want, ok := strings.Cut(string(b), "-- want --")
		if !ok {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(want))
		for {
			var raw json.RawMessage
			if dec.Decode(&raw) != nil {
				break
			}
			agree(t, raw)
			n++
		}
	}
	if n < 50 {
		t.Fatalf("only %d golden events found", n)
	}
}

func FuzzUnmarshalMatchesReference(f *testing.F) {
	for _, s := range []string{
		`{"@timestamp":"2026-11-21T13:00:00Z","source":{"ip":"203.0.113.7","port":22},"tags":["a","b"],"n":1.0,"big":12345678901234567890,"x":[1,"a",{"k":[true,null]}],"e":"\u00e9\ud83d\ude00\n"}`,
		`{"a":{"b":1,"b.c":2},"a.b.d":3}`, `{}`,
		// String arrays take a fast path; mixed, empty and escaped ones
		// must come out as the reference has them.
		`{"a":["x",1],"b":[],"c":[ "p" , "q\u00e9" ],"d":["x","y"`,
		`{"event":{"category":["x"],"type":[]},"related":{"ip":["192.0.2.1","192.0.2.2"]},"t":["a",["b"]]}`, `{"k":"\xff\xfe"}`, `{"k":1e400}`, `[1]`, `{"a":01}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	data := []byte(`{"@timestamp":"2026-11-21T13:42:58Z","destination":{"ip":"192.0.2.10","port":1022},"event":{"action":"block","category":["network"],"dataset":"pfsense.filterlog","id":"9f1c2a7e0b3d4c5e6f708192a3b4c5d6","ingested":"2026-11-21T14:31:16.015Z","kind":"event","module":"pfsense","original":"<134>Nov 21 13:42:58 fw filterlog[4242]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,203.0.113.50,192.0.2.10,61022,1022,0,S,1234567890,,64240,,mss","outcome":"failure","type":["connection","denied"]},"host":{"name":"fw"},"mcpsoc":{"parser":"filterlog","source":"syslog:fw"},"network":{"direction":"inbound","iana_number":"6","transport":"tcp","type":"ipv4"},"observer":{"name":"fw","product":"pfSense","type":"firewall","vendor":"Netgate"},"pfsense":{"interface":"igb0","reason":"match","rule_number":"5","tracker":"1000000103","tcp":{"flags":"S","seq":1234567890,"window":64240,"options":"mss"},"ip":{"ttl":64,"id":0,"flags":"DF","length":60}},"rule":{"id":"1000000103"},"source":{"ip":"203.0.113.50","port":61022}}`)
	b.Run("onepass", func(b *testing.B) {
		var e Event
		for b.Loop() {
			if err := e.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a bus consumer does: a new event per message.
	b.Run("onepass_new_event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := new(Event).UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		var e Event
		for b.Loop() {
			if err := referenceUnmarshal(&e, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestEncoderMatchesAppendJSON: one Encoder over a stream of events whose
// extension fields repeat, change order, change names or change count
// writes exactly what each event's own AppendJSON writes.
func TestEncoderMatchesAppendJSON(t *testing.T) {
	mk := func(pairs ...string) *Event {
		e := &Event{Kind: "event", Message: "m"}
		for i := 0; i+1 < len(pairs); i += 2 {
			e.Put(pairs[i], pairs[i+1])
		}
		return e
	}
	var docs []*Event
	for _, doc := range []string{benchEventJSON, `{"a":1,"zz":{"y":"q"},"source":{"ip":"192.0.2.1","zone":"dmz"}}`} {
		var e Event
		if err := e.UnmarshalJSON([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, &e)
	}
	stream := []*Event{
		mk("z.b", "1", "a.c", "2", "event.zzz", "3"),
		mk("z.b", "4", "a.c", "5", "event.zzz", "6"), // same names, same order
		mk("a.c", "7", "z.b", "8", "event.zzz", "9"), // same names, other order
		mk("a.c", "7", "z.b", "8"),                   // fewer
		mk("a.c", "7", "z.q", "8"),                   // same count, another name
		docs[0], docs[1], docs[0],
		mk(),
		mk("a.b", "leaf", "a.b.c", "child", "event", "scalar"),
		mk("a.b", "leaf", "a.b.c", "child", "event", "scalar"),
	}
	var enc Encoder
	for i, e := range stream {
		got, want := enc.AppendJSON(nil, e), e.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d: encoder wrote\n%s\nwant\n%s", i, got, want)
		}
	}
}

// TestIntegersMatchReference: the allocation-free integer path and the
// general number path agree with the reference decoder at their borders.
func TestIntegersMatchReference(t *testing.T) {
	for _, n := range []string{"0", "-0", "7", "-7", "123456789012345678", "-123456789012345678",
		"1234567890123456789", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
		"1.5", "1e3", "-2E-2", "10", "100000"} {
		agree(t, []byte(`{"a":`+n+`,"source":{"port":`+n+`}}`))
	}
	for _, bad := range []string{"01", "-", "-01", "1-", "+1", "1..2", "--1"} {
		var e Event
		if err := e.UnmarshalJSON([]byte(`{"a":` + bad + `}`)); err == nil {
			t.Errorf("number %s accepted", bad)
		}
	}
}

// TestCoreFieldsMatchGetCore: every typed field's direct encoder agrees
// with getCore followed by appendJSONValue, on presence and on bytes.
func TestCoreFieldsMatchGetCore(t *testing.T) {
	loc := time.FixedZone("x", 3600)
	full := &Event{
		Timestamp: time.Date(2026, 11, 21, 13, 0, 1, 123456789, loc),
		Kind:      "event", Category: []string{"network", `q"uote`}, Type: []string{"denied"},
		Action: "block", Outcome: "failure", Dataset: "d", Module: "m", Severity: -3,
		Original: "line\nwith \x01 control and \u2028", Message: "é",
	}
	full.Provenance.IngestTime = time.Date(2026, 11, 21, 13, 0, 2, 0, time.UTC)
	full.Provenance.SourceID, full.Provenance.Parser = "syslog:fw", "filterlog"
	full.Source.IP, full.Source.Port = netip.MustParseAddr("203.0.113.7"), 51234
	full.Destination.IP, full.Destination.Port = netip.MustParseAddr("fe80::1%eth\"0"), 22
	full.Network.Transport, full.Network.Protocol, full.Network.Direction = "tcp", "ssh", "inbound"
	full.Network.Type, full.Network.IANANumber = "ipv4", "6"
	full.Observer.Vendor, full.Observer.Product, full.Observer.Name = "v", "p", "n"
	full.Observer.Type, full.Observer.Hostname = "firewall", "h"
	full.Rule.ID, full.Rule.Name, full.Rule.Category = "1", "r", "c"
	v6 := &Event{}
	v6.Source.IP = netip.MustParseAddr("2001:db8::1")
	for i, e := range []*Event{full, v6, {}} {
		for c, name := range sortedCore {
			v, ok, core := e.getCore(name)
			if !core {
				t.Fatalf("%s is not a typed field", name)
			}
			f := sortedCoreFields[c]
			if f.has(e) != ok {
				t.Errorf("event %d, %s: has = %v, getCore ok = %v", i, name, f.has(e), ok)
				continue
			}
			if !ok {
				continue
			}
			if got, want := f.put(nil, e), appendJSONValue(nil, v); !bytes.Equal(got, want) {
				t.Errorf("event %d, %s: wrote %s, want %s", i, name, got, want)
			}
		}
	}
}

// TestLayoutAcrossEvents decodes events whose members match the previous
// event's, differ in a key, a nesting, a count or an order, and checks
// every decode against the reference: a layout carried over from one event
// never names another's fields.
func TestLayoutAcrossEvents(t *testing.T) {
	many := `{`
	for i := range maxLayout + 5 {
		if i > 0 {
			many += ","
		}
		many += `"f` + strconv.Itoa(i) + `":` + strconv.Itoa(i)
	}
	many += `}`
	docs := []string{
		benchEventJSON,
		benchEventJSON,
		`{"a":{"b":1,"c":"x"},"d":"y"}`,
		`{"a":{"b":1,"c":"x"},"d":"y"}`,
		`{"a":{"b":1},"c":"x","d":"y"}`,         // same keys, another nesting
		`{"a":{"b":1,"c":"x"}}`,                 // a prefix of the last
		`{"a":{"b":1,"c":"x"},"d":"y","e":"z"}`, // one more
		`{"d":"y","a":{"c":"x","b":1}}`,         // another order
		`{"a":{"b":1,"c\u0041":"x"},"d":"y"}`,   // an escaped key
		`{"a.b":2,"a":{"b":1}}`,
		many,
		many,
		benchEventJSON,
		`{"source":{"ip":"192.0.2.1"},"destination":{"ip":"192.0.2.2"}}`,
		`{"source":{"ip":"192.0.2.1"},"destination":{"port":80}}`,
	}
	for i, doc := range docs {
		t.Run(strconv.Itoa(i), func(t *testing.T) { agree(t, []byte(doc)) })
	}
}

// encodeStream encodes events with one Encoder and fails where it writes
// other bytes than each event's own AppendJSON: the shape kept from one
// event must never leak into the next.
func encodeStream(t *testing.T, events []*Event) {
	t.Helper()
	var enc Encoder
	prefix := []byte("prefix:")
	for i, e := range events {
		got, want := enc.AppendJSON(slices.Clone(prefix), e), append(slices.Clone(prefix), e.AppendJSON(nil)...)
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d: encoder wrote\n%s\nwant\n%s", i, got, want)
		}
	}
}

// TestEncoderShapes: a stream where consecutive events keep, gain or lose
// typed fields, extension fields and values of other kinds, in the same
// extension order or another.
func TestEncoderShapes(t *testing.T) {
	var base Event
	if err := base.UnmarshalJSON([]byte(benchEventJSON)); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var stream []*Event
	for range 2000 {
		e := base
		e.ext = slices.Clone(base.ext)
		switch r.IntN(6) {
		case 0:
			e.Message = "free text \"quoted\" \u2028"
		case 1:
			e.Rule.ID = ""
		case 2:
			e.Source.IP = netip.Addr{}
		case 3:
			e.Put("pfsense.ip.ttl", "sixty-four") // another kind, same name
		case 4:
			e.Put("zz.late", int64(r.IntN(9)))
		}
		if r.IntN(4) == 0 {
			e.Source.Port = r.IntN(65536)
		}
		stream = append(stream, &e)
		if r.IntN(3) == 0 { // the same shape again, other values
			d := e
			d.ext = slices.Clone(e.ext)
			d.Destination.Port = r.IntN(65536)
			stream = append(stream, &d)
		}
	}
	encodeStream(t, stream)
}

// FuzzEncoderShapes: any event, encoded after a variant of itself and
// again, comes out as its own AppendJSON has it.
func FuzzEncoderShapes(f *testing.F) {
	f.Add([]byte(benchEventJSON), []byte(`{"message":"m"}`))
	f.Add([]byte(`{"a":{"b":1,"b.c":2},"a.b.d":3}`), []byte(`{"a":{"b":"x"}}`))
	f.Add([]byte(`{"source":{"ip":"fe80::1%eth0"},"x":[1,{"y":null}]}`), []byte(`{"source":{"ip":"192.0.2.1"}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var x, y Event
		if x.UnmarshalJSON(a) != nil || y.UnmarshalJSON(b) != nil {
			return
		}
		// y with x's extension fields: the same names, other typed fields.
		z := y
		z.ext = slices.Clone(x.ext)
		encodeStream(t, []*Event{&x, &x, &y, &x, &z, &x, &y, &y, &z})
	})
}

// TestEncoderReusesShape: the second event of a shape is written from the
// kept shape (the fast path the stream tests check is really taken).
func TestEncoderReusesShape(t *testing.T) {
	var e Event
	if err := e.UnmarshalJSON([]byte(benchEventJSON)); err != nil {
		t.Fatal(err)
	}
	var enc Encoder
	first := enc.AppendJSON(nil, &e)
	if !enc.shape.ok || len(enc.shape.ops) == 0 {
		t.Fatal("no shape kept after the first event")
	}
	enc.shape.text[0] = '['
	if second := enc.AppendJSON(nil, &e); second[0] != '[' || !bytes.Equal(second[1:], first[1:]) {
		t.Fatalf("second event not written from the shape:\n%s", second)
	}
}

// TestMemoizedValuesAcrossEvents: decoding reuses string values an
// earlier event had at the same member position; a stream whose values
// change, stay, grow past the memo's length limit, turn empty or escaped,
// or move to other positions must decode every event as the reference
// decoder does.
func TestMemoizedValuesAcrossEvents(t *testing.T) {
	long := strings.Repeat("x", maxMemoBytes+1)
	values := []string{"block", "pass", "", "block", `bl\u006fck`, long, long + "y", "é", "block", "a\"b"}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		v := func() string { return values[r.IntN(len(values))] }
		var doc string
		switch i % 3 {
		case 0:
			doc = fmt.Sprintf(`{"event":{"action":"%s","dataset":"%s"},"host":{"name":"%s"},"x":"%s"}`, v(), v(), v(), v())
		case 1: // a member fewer: every later value moves up one position
			doc = fmt.Sprintf(`{"event":{"action":"%s"},"host":{"name":"%s"},"x":"%s"}`, v(), v(), v())
		default: // a non-string member before the strings
			doc = fmt.Sprintf(`{"n":%d,"event":{"action":"%s","dataset":"%s"},"x":["%s"],"y":"%s"}`, i, v(), v(), v(), v())
		}
		agree(t, []byte(doc))
	}
}
