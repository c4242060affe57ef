package perf

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
	"github.com/mcpsoc/mcpsoc/rules"
)

// BenchmarkPipelineInProcess runs serve's path in one process, for
// profiling and for splitting its cost:
//
//   - store: TCP syslog → parse → bus → one decode → SQLite, no detection
//     (serve's store side);
//
//   - detect: TCP syslog → parse → bus → one decode → detection with the
//     built-in rules, no store: everything serve does per event except
//     SQLite.
//
//     go test ./test/perf -run '^$' -bench InProcess -benchtime 1x -cpuprofile cpu.out
func BenchmarkPipelineInProcess(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		pipelineInProcess(b, func(ctx context.Context, dir string) (func(context.Context, []store.Encoded) error, func()) {
			st, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			return func(ctx context.Context, evs []store.Encoded) error {
				_, err := st.AppendEncoded(ctx, evs)
				return err
			}, func() { st.Close() }
		})
	})
	b.Run("detect", func(b *testing.B) {
		pipelineInProcess(b, func(_ context.Context, dir string) (func(context.Context, []store.Encoded) error, func()) {
			rd, err := rules.WriteTo(filepath.Join(dir, "rules"))
			if err != nil {
				b.Fatal(err)
			}
			eng, _, err := detect.Load([]string{rd}, nil, &detect.Options{DedupWindow: 10 * time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			alerts := 0
			return func(_ context.Context, evs []store.Encoded) error {
				for _, e := range evs {
					alerts += len(eng.Process(e.Event))
				}
				return nil
			}, func() { b.ReportMetric(float64(alerts), "alerts") }
		})
	})
}

// pipelineInProcess streams the benchmark's lines into a syslog source and
// hands each consumed batch, decoded once, to the sink open returns.
func pipelineInProcess(b *testing.B, open func(ctx context.Context, dir string) (sink func(context.Context, []store.Encoded) error, closeSink func())) {
	n := events()
	chunks := stream(n)
	for b.Loop() {
		dir := b.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		bs, err := bus.Open(ctx, bus.Options{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		sink, closeSink := open(ctx, dir)
		p := ingest.NewPipeline(bs, nil)
		sl, err := p.ListenSyslog(config.SyslogSource{Name: "fw", Protocol: "tcp", Listen: "127.0.0.1:0", Format: "auto"})
		if err != nil {
			b.Fatal(err)
		}
		go sl.Serve(ctx)
		handled := make(chan int, 1024)
		go bs.Consume(ctx, "store", 5000, func(ctx context.Context, batch []bus.Delivery) error {
			evs := make([]store.Encoded, 0, len(batch))
			fields := 0
			for _, d := range batch {
				ev := new(event.Event)
				ev.Grow(fields)
				if err := ev.UnmarshalJSON(d.Data); err != nil {
					return err
				}
				fields = ev.Len()
				evs = append(evs, store.Encoded{Event: ev, JSON: d.Data})
			}
			err := sink(ctx, evs)
			if err == nil {
				handled <- len(evs)
			}
			return err
		})
		start, cpu0 := time.Now(), storetest.CPUTime()
		send(b, sl.Addr().(*net.TCPAddr).String(), chunks, 2)
		sent := time.Since(start)
		total := 0
		for total < n {
			total += <-handled
		}
		el, cpu := time.Since(start), storetest.CPUTime()-cpu0
		cancel()
		closeSink()
		bs.Close()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(n)/sent.Seconds(), "ingest-events/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/event")
	}
}
