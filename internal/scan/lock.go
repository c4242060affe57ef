package scan

import (
	"fmt"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/pin"
)

// LockCheck returns an Options.Check that compares each listed server with
// its lockfile entry: MCP-LOCK-001 changed (rug pull), -002 added, -003
// removed, -004 renamed, -005 identity (package version or digest) changed,
// -006 not pinned.
func LockCheck(lf *pin.Lockfile) func(client string, e Entry, s *mcpsec.Server) []Finding {
	return func(_ string, e Entry, s *mcpsec.Server) []Finding {
		id := PinIdentity(e)
		loc := mcpsec.Location{Server: e.Name, Kind: KindConfig, Path: e.Path}
		locked := lf.Lookup(id)
		if locked == nil {
			return []Finding{NewFinding("MCP-LOCK-006", loc, id.Key()+" has no lockfile entry")}
		}
		cur, err := pin.Snapshot(id, []string{e.Name}, s)
		if err != nil {
			return []Finding{NewFinding("MCP-CONNECT-001", loc, "pinning: "+err.Error())}
		}
		var out []Finding
		for _, c := range pin.Compare(locked, cur) {
			rule := map[pin.ChangeKind]string{
				pin.Changed: "MCP-LOCK-001", pin.Added: "MCP-LOCK-002", pin.Removed: "MCP-LOCK-003",
				pin.Renamed: "MCP-LOCK-004", pin.IdentityChanged: "MCP-LOCK-005",
			}[c.Kind]
			l := loc
			switch c.Object {
			case "server":
			case "instructions":
				l = mcpsec.Location{Server: e.Name, Kind: mcpsec.KindServer, Path: "instructions"}
			case "tool":
				l = mcpsec.Location{Server: e.Name, Kind: mcpsec.KindTool, Object: c.Name}
			case "prompt":
				l = mcpsec.Location{Server: e.Name, Kind: mcpsec.KindPrompt, Object: c.Name}
			default:
				l = mcpsec.Location{Server: e.Name, Kind: mcpsec.KindResource, Object: c.Name}
			}
			out = append(out, NewFinding(rule, l, truncate(c.String(), 600)))
		}
		return out
	}
}

// BuildLock pins every server a connected scan listed.
func BuildLock(rep *Report) (*pin.Lockfile, error) {
	lf := pin.New()
	for _, fr := range rep.Files {
		for _, s := range fr.Servers {
			if s.Listing == nil {
				continue
			}
			ps, err := pin.Snapshot(PinIdentity(s.Entry), []string{s.Name}, s.Listing)
			if err != nil {
				return nil, fmt.Errorf("pinning %s: %w", s.Name, err)
			}
			lf.Add(ps)
		}
	}
	return lf, nil
}
