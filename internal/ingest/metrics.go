package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events, bytes, pipelineErrors, truncated, publishFailures *prometheus.CounterVec
	rejected                                                  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &metrics{
		events:          vec("mcpsoc_ingest_events_total", "Events stored in the bus, by source.", "source"),
		bytes:           vec("mcpsoc_ingest_bytes_total", "Bytes of original records stored, by source.", "source"),
		pipelineErrors:  vec("mcpsoc_ingest_pipeline_errors_total", "Records no parser understood, kept as pipeline_error events.", "source"),
		truncated:       vec("mcpsoc_ingest_truncated_total", "Records longer than the limit, stored truncated.", "source"),
		publishFailures: vec("mcpsoc_ingest_publish_failures_total", "Batches the bus did not store (not acknowledged to the sender).", "source"),
		rejected:        vec("mcpsoc_ingest_rejected_total", "Push requests rejected, by reason.", "reason"),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.bytes, m.pipelineErrors, m.truncated, m.publishFailures, m.rejected)
	}
	return m
}
