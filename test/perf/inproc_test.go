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
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
)

// BenchmarkPipelineInProcess runs the same path as serve (TCP syslog →
// parse → bus → decode → SQLite) in one process, for profiling:
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
		go bs.Consume(ctx, "store", 1000, func(ctx context.Context, batch []bus.Delivery) error {
			evs := make([]*event.Event, 0, len(batch))
			for _, d := range batch {
				ev := new(event.Event)
				if err := ev.UnmarshalJSON(d.Data); err != nil {
					return err
				}
				evs = append(evs, ev)
			}
			k, err := st.Append(ctx, evs)
			stored <- k
			return err
		})
		start := time.Now()
		send(b, sl.Addr().(*net.TCPAddr).String(), chunks, 2)
		sent := time.Since(start)
		total := 0
		for total < n {
			total += <-stored
		}
		el := time.Since(start)
		cancel()
		st.Close()
		bs.Close()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(n)/sent.Seconds(), "ingest-events/s")
	}
}
