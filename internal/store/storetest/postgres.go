package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// adminDSN is the server the tests create their databases on:
// MCPSOC_TEST_POSTGRES (a postgres:// URL), or the local server with trust
// authentication.
func adminDSN() string {
	if v := os.Getenv("MCPSOC_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// ErrNoPostgres wraps the connection error when the server is unreachable.
var ErrNoPostgres = errors.New("postgresql unreachable")

// CreatePostgres creates an empty database mcpsoc_test_<random> and returns
// its URL and a function that drops it. Benchmarks that keep a loaded
// database across runs of one process use it directly; tests use
// FreshPostgres.
func CreatePostgres(ctx context.Context) (dsn string, drop func() error, err error) {
	u, err := url.Parse(adminDSN())
	if err != nil || u.Scheme == "" {
		return "", nil, fmt.Errorf("MCPSOC_TEST_POSTGRES must be a postgres:// URL: %q", adminDSN())
	}
	cfg, err := pgx.ParseConfig(adminDSN())
	if err != nil {
		return "", nil, fmt.Errorf("MCPSOC_TEST_POSTGRES: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %v", ErrNoPostgres, cfg.Host, err)
	}
	defer admin.Close(cctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "mcpsoc_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("creating test database: %w", err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return fmt.Errorf("dropping test database %s: %w", name, err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("dropping test database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// FreshPostgres creates an empty database mcpsoc_test_<random> for one test
// and drops it when the test ends; it returns the database's URL. When the
// server is unreachable the test is skipped, or fails under CI=true.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	dsn, drop, err := CreatePostgres(context.Background())
	if errors.Is(err, ErrNoPostgres) {
		testenv.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return dsn
}
