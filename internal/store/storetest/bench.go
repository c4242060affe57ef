package storetest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// The benchmark data set: a firewall and sshd stream of N events spread
// evenly over BenchSpan ending at BenchEnd. Sources come from a pool of
// BenchIPs addresses in 10.0.0.0/8, except 3% that come from ten heavy
// scanners (198.51.100.1-10), so a 24-hour search for one address finds
// a handful of events (rare) or thousands (heavy).
var BenchEnd = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Benchmark data-set shape.
const (
	BenchSpan = 30 * 24 * time.Hour
	BenchIPs  = 50000
	// BenchBatch is the append batch size, about what one bus fetch
	// delivers.
	BenchBatch = 5000
)

// BenchEventsFromEnv returns MCPSOC_BENCH_EVENTS, or def when unset.
func BenchEventsFromEnv(def int) int {
	if v := os.Getenv("MCPSOC_BENCH_EVENTS"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// BenchIP returns the k-th address of the source pool.
func BenchIP(k int) netip.Addr {
	k %= BenchIPs
	return netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)})
}

// HeavyIP returns the k-th heavy scanner (k in 0..9).
func HeavyIP(k int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + k%10)}) }

var benchPorts = []int{22, 80, 443, 3389, 445, 8080, 53, 25}

// BenchEvent returns the i-th event of a data set of total events. Its id
// is the one an ingest source gives: record i of a stream of 100,000 (a
// long-lived syslog connection, say).
func BenchEvent(i, total int) *event.Event {
	ev := &event.Event{}
	ev.PutString("event.id", store.RecordID(int64(i%100_000), "bench:synthetic", strconv.Itoa(i/100_000)))
	off := time.Duration(int64(BenchSpan) / int64(total) * int64(total-1-i))
	ev.Timestamp = BenchEnd.Add(-off)
	h := uint64(i) * 0x9e3779b97f4a7c15
	var src netip.Addr
	if h%100 < 3 {
		src = HeavyIP(int(h >> 8))
	} else {
		src = BenchIP(int((h >> 16) % BenchIPs))
	}
	dst := netip.AddrFrom4([4]byte{192, 0, 2, byte((h >> 24) % 64)})
	port := benchPorts[(h>>32)%uint64(len(benchPorts))]
	sport := 1024 + int((h>>40)%60000)
	ev.Source = event.Endpoint{IP: src, Port: sport}
	ev.Destination = event.Endpoint{IP: dst, Port: port}
	ev.Network.Transport = "tcp"
	ev.Network.Type = "ipv4"
	ev.Observer = event.Observer{Vendor: "Netgate", Product: "pfSense", Name: "fw-1", Type: "firewall"}
	ev.Provenance = event.Provenance{SourceID: "bench:synthetic", Parser: "filterlog", IngestTime: ev.Timestamp.Add(time.Second)}
	ev.Kind = event.KindEvent
	if h%5 == 0 {
		ev.Dataset, ev.Module = "system.auth", "system"
		ev.Action = "ssh_login"
		ev.Outcome = "failure"
		user := []string{"root", "admin", "oracle", "ubuntu", "test"}[(h>>12)%5]
		ev.PutString("user.name", user)
		ev.PutString("host.name", "bastion-1")
		ev.Message = fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, src, sport)
		ev.Original = fmt.Sprintf("<38>Nov 20 00:00:00 bastion-1 sshd[%d]: %s", i%30000, ev.Message)
		ev.AddCategory("authentication")
		ev.AddType("start")
	} else {
		ev.Dataset, ev.Module = "pfsense.filterlog", "pfsense"
		ev.Action = []string{"block", "pass"}[(h>>20)%2]
		ev.Rule.ID = "100000010" + strconv.Itoa(int((h>>28)%4))
		ev.Original = fmt.Sprintf("<134>Nov 20 00:00:00 fw-1 filterlog[4242]: 5,,,%s,em0,match,%s,in,4,0x0,,52,%d,0,DF,6,tcp,60,%s,%s,%d,%d,0,S,%d,,64240,,mss;sackOK;TS;nop;wscale",
			ev.Rule.ID, ev.Action, i%65536, src, dst, sport, port, h%4000000000)
		ev.AddCategory("network")
		ev.AddType("connection")
		ev.PutString("observer.ingress.interface.name", "em0")
	}
	ev.AddRelated("ip", src.String(), dst.String())
	return ev
}

// Load appends events [from, to) of a data set of total events in batches
// of BenchBatch, calling progress (if not nil) after each batch.
func Load(ctx context.Context, s store.Store, from, to, total int, progress func(done int)) error {
	batch := make([]*event.Event, 0, BenchBatch)
	for i := from; i < to; {
		batch = batch[:0]
		for ; i < to && len(batch) < BenchBatch; i++ {
			batch = append(batch, BenchEvent(i, total))
		}
		if _, err := s.Append(ctx, batch); err != nil {
			return err
		}
		if progress != nil {
			progress(i - from)
		}
	}
	return nil
}

// BenchAppend measures batched appends of new events; it reports events/s.
func BenchAppend(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	defer s.Close()
	total := b.N * BenchBatch
	evs := make([][]*event.Event, b.N)
	for n := range evs {
		for i := n * BenchBatch; i < (n+1)*BenchBatch; i++ {
			evs[n] = append(evs[n], BenchEvent(i, total))
		}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), CPUTime()
	for n := 0; n < b.N; n++ {
		if _, err := s.Append(b.Context(), evs[n]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((CPUTime()-cpu0).Microseconds())/float64(total), "cpu-µs/event")
	b.ReportMetric(0, "ns/op")
}

// BenchAppendEncoded is BenchAppend through AppendEncoded, with each
// event's JSON at hand as the bus delivers it (serve's store consumer):
// it leaves out the cost of encoding the events.
func BenchAppendEncoded(b *testing.B, open func(b *testing.B) store.Store) {
	s := open(b)
	defer s.Close()
	total := b.N * BenchBatch
	evs := make([][]store.Encoded, b.N)
	for n := range evs {
		for i := n * BenchBatch; i < (n+1)*BenchBatch; i++ {
			ev := BenchEvent(i, total)
			evs[n] = append(evs[n], store.Encoded{Event: ev, JSON: ev.AppendJSON(nil)})
		}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), CPUTime()
	for n := 0; n < b.N; n++ {
		if _, err := s.AppendEncoded(b.Context(), evs[n]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((CPUTime()-cpu0).Microseconds())/float64(total), "cpu-µs/event")
	b.ReportMetric(0, "ns/op")
}

// SearchCase is one query the search benchmark times.
type SearchCase struct {
	Name  string
	Query func(i int) string // i varies the address so runs are not all cache hits
}

// BenchSearchCases are the timed searches, each over the last 24 hours of
// the data set, first page (100 events).
var BenchSearchCases = []SearchCase{
	{"source.ip_rare", func(i int) string { return "source.ip:" + BenchIP(i*7919).String() }},
	{"source.ip_heavy", func(i int) string { return "source.ip:" + HeavyIP(i).String() }},
	{"source.ip_cidr", func(i int) string { return "source.ip:10.0." + strconv.Itoa(i%200) + ".0/24" }},
	{"destination.port", func(i int) string { return "destination.port:" + strconv.Itoa(benchPorts[i%len(benchPorts)]) }},
	{"free_text", func(i int) string { return `"Failed password for ` + []string{"root", "admin", "oracle"}[i%3] + `"` }},
	{"json_field", func(i int) string { return "observer.ingress.interface.name:em0 event.action:block" }},
}

// BenchSearch times the first page of each BenchSearchCase against s,
// which holds total events of the benchmark data set.
func BenchSearch(b *testing.B, s store.Store) {
	from, to := BenchEnd.Add(-24*time.Hour), BenchEnd.Add(time.Second)
	for _, c := range BenchSearchCases {
		b.Run(c.Name, func(b *testing.B) {
			found := 0
			for i := 0; i < b.N; i++ {
				q, err := query.Parse(c.Query(i))
				if err != nil {
					b.Fatal(err)
				}
				p, err := s.Search(b.Context(), store.SearchRequest{Query: q, From: from, To: to, Limit: 100})
				if err != nil {
					b.Fatal(err)
				}
				found += len(p.Records)
			}
			b.ReportMetric(float64(found)/float64(b.N), "events/page")
		})
	}
}
