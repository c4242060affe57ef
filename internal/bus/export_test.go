package bus

import "github.com/nats-io/nats.go"

// Conn is the bus's own connection, for tests that publish what a peer
// could.
func (b *Bus) Conn() *nats.Conn { return b.nc }
