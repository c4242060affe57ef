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
