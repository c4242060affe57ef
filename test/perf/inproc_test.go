package perf

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// BenchmarkPipelineInProcess runs the same path as serve's store consumer
// (TCP syslog → parse → bus → decode → SQLite; no detection) in one
// process, for profiling:
//
//	go test ./test/perf -run '^$' -bench InProcess -benchtime 1x -cpuprofile cpu.out
func BenchmarkPipelineInProcess(b *testing.B) {
	n := events()
	chunks := stream(n)
	for b.Loop() {
		dir := b.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		bs, err := bus.Open(ctx, bus.Options{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		st, err := sqlite.Open(ctx, dir+"/events.db", nil)
		if err != nil {
			b.Fatal(err)
		}
		p := ingest.NewPipeline(bs, nil)
		sl, err := p.ListenSyslog(config.SyslogSource{Name: "fw", Protocol: "tcp", Listen: "127.0.0.1:0", Format: "auto"})
		if err != nil {
			b.Fatal(err)
		}
		go sl.Serve(ctx)
		stored := make(chan int, 1024)
		go bs.Consume(ctx, "store", 5000, func(ctx context.Context, batch []bus.Delivery) error {
			evs := make([]store.Encoded, 0, len(batch))
			for _, d := range batch {
				ev := new(event.Event)
				if err := ev.UnmarshalJSON(d.Data); err != nil {
					return err
				}
				evs = append(evs, store.Encoded{Event: ev, JSON: d.Data})
			}
			k, err := st.AppendEncoded(ctx, evs)
			stored <- k
			return err
		})
		start, cpu0 := time.Now(), storetest.CPUTime()
		send(b, sl.Addr().(*net.TCPAddr).String(), chunks, 2)
		sent := time.Since(start)
		total := 0
		for total < n {
			total += <-stored
		}
		el, cpu := time.Since(start), storetest.CPUTime()-cpu0
		cancel()
		st.Close()
		bs.Close()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(n)/sent.Seconds(), "ingest-events/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/event")
	}
}
