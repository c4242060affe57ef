package detect

import (
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/anomaly"
)

// TestAnomalyBeaconOnDemo runs a beacon detector over the demo's firewall
// log: the workstation's 60-second callback to 203.0.113.66 is found, and
// the hour of ordinary outbound traffic raises nothing else.
func TestAnomalyBeaconOnDemo(t *testing.T) {
	det, err := anomaly.New(&anomaly.Config{
		Beacon: []anomaly.BeaconConfig{{Name: "fw_beacon", When: anomaly.When{"event.dataset": {"pfsense.filterlog"}, "network.direction": {"egress"}, "event.action": {"pass"}}}},
		FirstSeen: []anomaly.FirstSeenConfig{{Name: "new_outbound_port", GroupBy: []string{"source.ip"}, Field: "destination.port",
			When: anomaly.When{"network.direction": {"egress"}}, Learn: 30 * time.Minute, Level: "low"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(nil, nil, &Options{Anomaly: det, Modes: map[string]Mode{"anomaly:new_outbound_port": ModeShadow}})
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string][]Alert{}
	for _, ev := range demoEvents(t) {
		for _, a := range e.Process(ev) {
			byRule[a.Rule.ID] = append(byRule[a.Rule.ID], a)
		}
	}
	beacons := byRule["anomaly:fw_beacon"]
	if len(beacons) != 1 {
		t.Fatalf("beacon alerts %d (all: %v)", len(beacons), keys(byRule))
	}
	b := beacons[0]
	if b.Kind != KindAnomaly || b.Anomaly.Kind != "beacon" || b.Anomaly.Observed < 55 || b.Anomaly.Observed > 65 ||
		b.Entities[0].Value != "192.0.2.31" || b.Entities[1].Value != "203.0.113.66" || b.Severity != 3 {
		t.Fatalf("beacon alert %+v %+v", b, b.Anomaly)
	}
	// The one plain-HTTP download (port 80) comes after half an hour of
	// HTTPS and DNS: a first-seen port, raised in shadow mode.
	ports := byRule["anomaly:new_outbound_port"]
	if len(ports) != 1 || !ports[0].Shadow || ports[0].Anomaly.Value != "80" {
		t.Fatalf("first-seen alerts %+v", ports)
	}
	if len(byRule) != 2 {
		t.Fatalf("unexpected alerts: %v", keys(byRule))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
