package detect

import (
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/demo"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/event"
)

// demoEvents parses the demo scenario (about 2,650 events of five
// sources) into events, sorted by nothing: each source in order.
func demoEvents(tb testing.TB) []*event.Event {
	tb.Helper()
	var out []*event.Event
	for _, src := range demo.Generate(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), 3) {
		err := ReadEvents(strings.NewReader(src.String()), src.Format, nil, func(ev *event.Event) {
			c := &event.Event{}
			b, _ := ev.MarshalJSON()
			if err := c.UnmarshalJSON(b); err != nil {
				tb.Fatal(err)
			}
			out = append(out, c)
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// BenchmarkEngineDemo runs the rule packs plus 100k indicators over the
// demo scenario, one event per op.
func BenchmarkEngineDemo(b *testing.B) {
	evs := demoEvents(b)
	set := ioc.NewSet()
	var inds []ioc.Indicator
	for i := 0; i < 100_000; i++ {
		inds = append(inds, ioc.Indicator{Type: ioc.Domain, Value: "d" + strings.Repeat("x", i%7) + itoa(i) + ".example"})
	}
	set.Add(inds...)
	eng, bad, err := Load([]string{"../../rules"}, nil, &Options{Intel: set})
	if err != nil || len(bad) > 0 {
		b.Fatal(err, bad)
	}
	_, cpu, ok := threadLoop(b, func(i int) int { return len(eng.Process(evs[i%len(evs)])) })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// Events per CPU second of this thread: what one core delivers on a
	// shared machine (GC work on other threads is not counted).
	if ok {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// threadLoop runs op for i in [0, b.N) on one locked OS thread, timed and
// counting allocations, and returns the sum of what op returned (alerts)
// and the thread's CPU time, when the platform reports it.
func threadLoop(b *testing.B, op func(i int) int) (sum int, cpu time.Duration, ok bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, ok0 := threadCPUTime()
	for i := 0; i < b.N; i++ {
		sum += op(i)
	}
	b.StopTimer()
	cpu1, ok1 := threadCPUTime()
	if !ok0 || !ok1 || cpu1 <= cpu0 {
		return sum, 0, false
	}
	return sum, cpu1 - cpu0, true
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(buf[n:])
		}
	}
}

// TestProcessConcurrent feeds the demo from several goroutines (run with
// -race): alerts still come out and nothing races.
func TestProcessConcurrent(t *testing.T) {
	evs := demoEvents(t)
	eng, bad, err := Load([]string{"../../rules"}, nil, &Options{Intel: ioc.NewSet()})
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			n := 0
			for i := g; i < len(evs); i += 4 {
				n += len(eng.Process(evs[i]))
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	st := eng.Stats()
	if total == 0 || st.Events != uint64(len(evs)) || st.Alerts != uint64(total) {
		t.Fatalf("total %d, stats %+v, events %d", total, st, len(evs))
	}
	eng.Sweep(time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC))
}

// BenchmarkEngineScanFlood runs the rule packs over the pipeline benchmark's
// stream (test/perf): pfSense filterlog lines, each a blocked inbound SYN
// from one of 62,500 sources to one of 60,000 ports, 1,000 events per
// second of event time. Every event feeds three correlations, most groups
// are new, and correlation and evidence state run at their bounds, as in
// a sustained serve. One event per op; the event is rewritten in place
// (source, port, time, id) instead of parsed, so the figure is detection's
// alone.
func BenchmarkEngineScanFlood(b *testing.B) {
	line := "<134>Nov 21 10:00:00 fw filterlog[4242]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,1,0,DF,6,tcp,60,203.0.0.1,192.0.2.10,1024,1,0,S,1,,64240,,mss;sackOK;TS;nop;wscale\n"
	var tmpl *event.Event
	err := ReadEvents(strings.NewReader(line), "auto", nil, func(ev *event.Event) { tmpl = ev })
	if err != nil || tmpl == nil {
		b.Fatal(err, tmpl)
	}
	raw, err := tmpl.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	eng, bad, err := Load([]string{"../../rules"}, nil, &Options{DedupWindow: 10 * time.Minute})
	if err != nil || len(bad) > 0 {
		b.Fatal(err, bad)
	}
	base := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	ev := new(event.Event)
	alerts, cpu, ok := threadLoop(b, func(i int) int {
		ev.Reset()
		if err := ev.UnmarshalJSON(raw); err != nil {
			b.Fatal(err)
		}
		ev.Timestamp = base.Add(time.Duration(i) * time.Millisecond)
		ev.Source.IP = netip.AddrFrom4([4]byte{203, 0, byte((i / 250) % 250), byte(i % 250)})
		ev.Destination.Port = 1024 + i%60000
		ev.PutString("event.id", "ev-"+itoa(i))
		return len(eng.Process(ev))
	})
	if ok {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
	}
	b.ReportMetric(float64(alerts), "alerts")
	st := eng.Stats()
	b.ReportMetric(float64(st.Evicted+st.CorrelationEvicted)/float64(b.N), "evicted/event")
}
