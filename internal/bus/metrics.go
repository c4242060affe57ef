package bus

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published, duplicates, publishErrors, undecodable prometheus.Counter
	consumed                                          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published:     prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpsoc_bus_published_total", Help: "Events stored in the bus."}),
		duplicates:    prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpsoc_bus_duplicates_total", Help: "Published events dropped as duplicates of an id already stored."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpsoc_bus_publish_errors_total", Help: "Publishes the bus did not confirm."}),
		undecodable:   prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpsoc_bus_undecodable_total", Help: "Messages whose payload could not be decoded (logged and dropped)."}),
		consumed:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mcpsoc_bus_consumed_total", Help: "Events acknowledged by a consumer."}, []string{"consumer"}),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.duplicates, m.publishErrors, m.undecodable, m.consumed)
	}
	return m
}
