package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store"
)

// The detection state lease: several instances may detect on one database
// (each consuming its own bus), but only the lease holder saves the
// detection state, so one instance's windows are not overwritten every 30
// seconds by another's. The holder renews the lease at each save; another
// instance takes it over once it has expired (the holder stopped or lost
// the database) and saves from then on. A holder that stops releases it
// after its last save.
const (
	stateLeaseName = "lease:" + stateKey
	// stateLeaseTTL is three save intervals: one missed save does not
	// hand the state over.
	stateLeaseTTL = 90 * time.Second
)

// errLeaseHeld: another instance holds the state lease; nothing was saved.
var errLeaseHeld = errors.New("another instance holds the detection state lease")

type stateLease struct {
	mu       sync.Mutex
	holder   string // this instance's name in the lease
	held     bool   // as of the last attempt
	other    string // the other holder last reported, to log each change once
	stopping bool   // the detector's context ended: release after saving
}

func leaseHolderName() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b)
}

// holdLease takes or renews the state lease and reports whether this
// instance may save. Stores without leases, and errors reaching the lease
// (the save that follows reports them), let it save.
func (d *detector) holdLease(ctx context.Context) bool {
	ls, ok := d.st.(store.LeaseStore)
	if !ok {
		return true
	}
	d.lease.mu.Lock()
	defer d.lease.mu.Unlock()
	if d.lease.holder == "" {
		d.lease.holder = leaseHolderName()
	}
	l, ok, err := ls.AcquireLease(ctx, stateLeaseName, d.lease.holder, stateLeaseTTL)
	if err != nil {
		d.log.Warn("detection state lease unavailable", "error", err)
		return true
	}
	if ok {
		if !d.lease.held {
			d.log.Info("detection state lease acquired; this instance saves the state", "holder", d.lease.holder, "until", l.Expires)
		}
		d.lease.held, d.lease.other = true, ""
		return true
	}
	if d.lease.held || d.lease.other != l.Holder {
		d.log.Warn("another instance holds the detection state lease; this one does not save its state until the lease expires",
			"holder", l.Holder, "until", l.Expires)
	}
	d.lease.held, d.lease.other = false, l.Holder
	return false
}

// releaseLeaseIfStopping gives the lease up after the last save, so another
// instance need not wait for it to expire.
func (d *detector) releaseLeaseIfStopping(ctx context.Context) {
	ls, ok := d.st.(store.LeaseStore)
	if !ok {
		return
	}
	d.lease.mu.Lock()
	defer d.lease.mu.Unlock()
	if !d.lease.stopping || !d.lease.held {
		return
	}
	if err := ls.ReleaseLease(ctx, stateLeaseName, d.lease.holder); err != nil {
		d.log.Warn("releasing the detection state lease", "error", err)
		return
	}
	d.lease.held = false
	d.log.Info("detection state lease released", "holder", d.lease.holder)
}

// watchStop marks the detector as stopping when ctx ends, so the save that
// follows (the last one) releases the lease.
func (d *detector) watchStop(ctx context.Context) {
	context.AfterFunc(ctx, func() {
		d.lease.mu.Lock()
		d.lease.stopping = true
		d.lease.mu.Unlock()
	})
}
