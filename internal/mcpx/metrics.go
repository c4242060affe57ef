package mcpx

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	up         *prometheus.GaugeVec
	calls      *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	reconnects *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mcpsoc_mcp_server_up", Help: "1 when the MCP server is connected.",
		}, []string{"server"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpsoc_mcp_requests_total", Help: "MCP requests sent to servers, by outcome (ok, tool_error, rpc_error, timeout, cancelled, error, rejected).",
		}, []string{"server", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpsoc_mcp_request_duration_seconds", Help: "Latency of MCP requests sent to servers.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"server"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpsoc_mcp_reconnects_total", Help: "Reconnection attempts to MCP servers.",
		}, []string{"server"}),
	}
	if reg != nil {
		reg.MustRegister(m.up, m.calls, m.latency, m.reconnects)
	}
	return m
}
