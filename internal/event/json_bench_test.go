package event

import "testing"

const benchEventJSON = `{"@timestamp":"2026-11-21T13:42:58Z","destination":{"ip":"192.0.2.10","port":1022},"event":{"action":"block","category":["network"],"dataset":"pfsense.filterlog","id":"9f1c2a7e0b3d4c5e6f708192a3b4c5d6","ingested":"2026-11-21T14:31:16.015Z","kind":"event","module":"pfsense","original":"<134>Nov 21 13:42:58 fw filterlog[4242]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,203.0.113.50,192.0.2.10,61022,1022,0,S,1234567890,,64240,,mss","outcome":"failure","type":["connection","denied"]},"host":{"name":"fw"},"mcpsoc":{"parser":"filterlog","source":"syslog:fw"},"network":{"direction":"inbound","iana_number":"6","transport":"tcp","type":"ipv4"},"observer":{"name":"fw","product":"pfSense","type":"firewall","vendor":"Netgate"},"pfsense":{"interface":"igb0","reason":"match","rule_number":"5","tracker":"1000000103","tcp":{"flags":"S","seq":1234567890,"window":64240,"options":"mss"},"ip":{"ttl":64,"id":0,"flags":"DF","length":60}},"rule":{"id":"1000000103"},"source":{"ip":"203.0.113.50","port":61022}}`

// BenchmarkFieldOrder compares, in one run, the merge of pre-sorted typed
// fields with sorting every field per event (the way before).
func BenchmarkFieldOrder(b *testing.B) {
	var e Event
	if err := e.UnmarshalJSON([]byte(benchEventJSON)); err != nil {
		b.Fatal(err)
	}
	b.Run("merge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = e.sortedFields()
		}
	})
	b.Run("sort_all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = referenceSortedFields(&e)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	var e Event
	if err := e.UnmarshalJSON([]byte(benchEventJSON)); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

// parserOrder returns the bench event with its extension fields in an
// order a parser might add them (not sorted), as events reach the encoder
// at ingest.
func parserOrder(b *testing.B) *Event {
	var d Event
	if err := d.UnmarshalJSON([]byte(benchEventJSON)); err != nil {
		b.Fatal(err)
	}
	e := d
	e.ext = nil
	for i := len(d.ext) - 1; i >= 0; i-- {
		e.Put(d.ext[i].name, d.ext[i].value())
	}
	return &e
}

// BenchmarkEncoder compares, in one run, encoding a stream of events from
// one parser with an Encoder (working memory and extension field order
// kept) and with Event.AppendJSON (both the same bytes).
func BenchmarkEncoder(b *testing.B) {
	e := parserOrder(b)
	buf := make([]byte, 0, 4096)
	b.Run("encoder", func(b *testing.B) {
		var enc Encoder
		b.ReportAllocs()
		for b.Loop() {
			buf = enc.AppendJSON(buf[:0], e)
		}
	})
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = e.AppendJSON(buf[:0])
		}
	})
}
