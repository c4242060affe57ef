package firewall

import (
	"context"
	"net/netip"
	"time"
)

// Backend names for Config.Backend.
const (
	BackendNFT      = "nftables"
	BackendIPTables = "iptables"
	BackendOPNsense = "opnsense"
	BackendPFSense  = "pfsense"
)

// backend is where blocks live: the kernel through nft or
// iptables+ipset, or a firewall appliance's REST API. Every backend
// reports its blocks as a state whose sets are named set4 and set6 (the
// address families), so the server's guards, dry-run predictions and
// results are the same for all.
type backend interface {
	// kind is the backend name (BackendNFT...).
	kind() string
	// where names the managed objects: "inet mcpsoc", "ipset mcpsoc4 ...".
	where() string
	// setName names the object an address is added to.
	setName(a netip.Addr) string
	// version proves the backend answers and names its version.
	version(ctx context.Context) (string, error)
	// list reads the managed blocks; missing managed objects are no error.
	list(ctx context.Context) (state, error)
	// complete reports whether every managed object exists.
	complete(st state) bool
	// blockCommands and unblockCommands are exactly what block and unblock
	// run given the current state st, for dry runs, results and the audit
	// log.
	blockCommands(st state, a netip.Addr, ttl time.Duration, reason string) []string
	unblockCommands(st state, a netip.Addr) []string
	block(ctx context.Context, st state, a netip.Addr, ttl time.Duration, reason string) error
	unblock(ctx context.Context, st state, a netip.Addr) error
	// close stops background work (expiry sweeps).
	close()
}

// nftBackend is the nftables backend: one inet table with a set per family
// whose element timeouts are the TTLs.
type nftBackend struct{ *nft }

func (b nftBackend) kind() string                { return BackendNFT }
func (b nftBackend) where() string               { return "inet " + b.table }
func (b nftBackend) setName(a netip.Addr) string { return setFor(a) }
func (b nftBackend) complete(st state) bool      { return st.complete() }
func (b nftBackend) unblockCommands(_ state, a netip.Addr) []string {
	return b.unblockScript(a)
}
func (b nftBackend) close() {}

func (b nftBackend) blockCommands(_ state, a netip.Addr, ttl time.Duration, reason string) []string {
	return b.blockScript(a, ttl, reason)
}

func (b nftBackend) block(ctx context.Context, _ state, a netip.Addr, ttl time.Duration, reason string) error {
	return b.run(ctx, script(b.blockScript(a, ttl, reason)))
}

func (b nftBackend) unblock(ctx context.Context, _ state, a netip.Addr) error {
	return b.run(ctx, script(b.unblockScript(a)))
}
