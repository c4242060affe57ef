package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store"
)

// RunState checks a store's state blobs: missing keys, insert, replace,
// binary data, and that keys are independent.
func RunState(t *testing.T, s store.StateStore) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.GetState(ctx, "detect"); !errors.Is(err, store.ErrNoState) {
		t.Fatalf("missing key: %v, want ErrNoState", err)
	}
	before := time.Now().Add(-time.Minute)
	blob := []byte{0, 1, 2, 0xff, '{', '}'}
	if err := s.PutState(ctx, "detect", 2, blob); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, "other", 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetState(ctx, "detect")
	if err != nil || got.Version != 2 || !bytes.Equal(got.Data, blob) || got.UpdatedAt.Before(before) || got.Key != "detect" {
		t.Fatalf("GetState: %+v, %v", got, err)
	}
	big := bytes.Repeat([]byte("state"), 200_000)
	if err := s.PutState(ctx, "detect", 3, big); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetState(ctx, "detect"); err != nil || got.Version != 3 || !bytes.Equal(got.Data, big) {
		t.Fatalf("after replace: version %d, %d bytes, %v", got.Version, len(got.Data), err)
	}
	if got, err = s.GetState(ctx, "other"); err != nil || string(got.Data) != "x" {
		t.Fatalf("other key: %+v, %v", got, err)
	}
}

// RunLease checks a store's leases: one holder at a time, renewal by the
// holder, release only by the holder, takeover after expiry, and that a
// lease does not disturb the state blob stored beside it.
func RunLease(t *testing.T, s store.LeaseStore, st store.StateStore) {
	t.Helper()
	ctx := t.Context()
	if err := st.PutState(ctx, "detect", 2, []byte("state")); err != nil {
		t.Fatal(err)
	}
	l, ok, err := s.AcquireLease(ctx, "lease:detect", "a", time.Minute)
	if err != nil || !ok || l.Holder != "a" || time.Until(l.Expires) < 50*time.Second {
		t.Fatalf("first acquire: %+v %v %v", l, ok, err)
	}
	l, ok, err = s.AcquireLease(ctx, "lease:detect", "b", time.Minute)
	if err != nil || ok || l.Holder != "a" {
		t.Fatalf("acquire while a holds it: %+v %v %v", l, ok, err)
	}
	if l, ok, err = s.AcquireLease(ctx, "lease:detect", "a", 2*time.Minute); err != nil || !ok || time.Until(l.Expires) < 110*time.Second {
		t.Fatalf("renewal by the holder: %+v %v %v", l, ok, err)
	}
	if l, ok, err = s.AcquireLease(ctx, "lease:other", "b", time.Minute); err != nil || !ok {
		t.Fatalf("another lease name: %+v %v %v", l, ok, err)
	}
	if err := s.ReleaseLease(ctx, "lease:detect", "b"); err != nil {
		t.Fatal(err)
	}
	if l, ok, _ = s.AcquireLease(ctx, "lease:detect", "b", time.Minute); ok {
		t.Fatalf("b's release freed a's lease: %+v", l)
	}
	if err := s.ReleaseLease(ctx, "lease:detect", "a"); err != nil {
		t.Fatal(err)
	}
	if l, ok, err = s.AcquireLease(ctx, "lease:detect", "b", time.Millisecond); err != nil || !ok || l.Holder != "b" {
		t.Fatalf("acquire after release: %+v %v %v", l, ok, err)
	}
	// b's lease lasted a millisecond: once it has expired, a takes over.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, ok, err = s.AcquireLease(ctx, "lease:detect", "a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired lease never taken over: %+v", l)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, err := st.GetState(ctx, "detect"); err != nil || string(got.Data) != "state" || got.Version != 2 {
		t.Fatalf("state beside the lease: %+v %v", got, err)
	}
}
