package rediscache_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
)

// entryBytes is a value shaped like the etkdepot client's entries: JSON with its expiry.
func entryBytes(t testing.TB, tag string, expires time.Time) []byte {
	b, err := json.Marshal(map[string]any{"v": 1, "key": tag, "stored": expires.Add(-time.Hour), "expires": expires, "body": []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newCache(t *testing.T, addr string, now func() time.Time, log *syncBuffer) *rediscache.Cache {
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rc.Close() })
	c := &rediscache.Cache{Client: rc, Now: now, LockWait: 10 * time.Second}
	if log != nil {
		c.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	return c
}

// TestLockHandoff: of two instances missing a key, the first fetches, the second waits for its Put; an expired
// entry is handed out to the instance that refreshes it, and the others wait for the new one.
func TestLockHandoff(t *testing.T) {
	rs := startRedis(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, b := newCache(t, rs.Addr(), clock, nil), newCache(t, rs.Addr(), clock, nil)

	if _, err := a.Get(ctx, "k"); !errors.Is(err, etkdepot.ErrCacheMiss) {
		t.Fatalf("first Get: %v, want a miss (and the lock)", err)
	}
	got := make(chan []byte, 1)
	go func() {
		d, err := b.Get(ctx, "k")
		if err != nil {
			t.Errorf("waiting Get: %v", err)
		}
		got <- d
	}()
	v1 := entryBytes(t, "v1", now.Add(8*time.Hour))
	if err := a.Put(ctx, "k", v1); err != nil {
		t.Fatal(err)
	}
	if d := <-got; string(d) != string(v1) {
		t.Fatalf("the waiting instance got %q", d)
	}

	// Expired: A refreshes (gets the old bytes, to serve them if the depot fails); B waits for the new value.
	now = now.Add(9 * time.Hour)
	if d, err := a.Get(ctx, "k"); err != nil || string(d) != string(v1) {
		t.Fatalf("expired Get: %q %v, want the old entry", d, err)
	}
	go func() {
		d, _ := b.Get(ctx, "k")
		got <- d
	}()
	v2 := entryBytes(t, "v2", now.Add(8*time.Hour))
	a.Put(ctx, "k", v2)
	if d := <-got; string(d) != string(v2) {
		t.Fatalf("the waiting instance got %q, want the refreshed entry", d)
	}

	// A fetch that fails: Unlock lets the waiting instance take over at once (it gets the miss and the lock).
	if _, err := a.Get(ctx, "other"); !errors.Is(err, etkdepot.ErrCacheMiss) {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := b.Get(ctx, "other")
		errc <- err
	}()
	a.Unlock(ctx, "other")
	if err := <-errc; !errors.Is(err, etkdepot.ErrCacheMiss) {
		t.Fatalf("after Unlock: %v, want a miss", err)
	}
	// The waiting instance's ctx ends the wait.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := a.Get(cctx, "other"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}

	// Delete removes the entry everywhere.
	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := newCache(t, rs.Addr(), clock, nil).Get(ctx, "k"); !errors.Is(err, etkdepot.ErrCacheMiss) {
		t.Fatalf("after Delete: %v", err)
	}
}

// TestRedisUnreachable: with no Redis at all, the Cache is a local cache and says so once.
func TestRedisUnreachable(t *testing.T) {
	var log syncBuffer
	ctx := context.Background()
	c := newCache(t, "127.0.0.1:1", nil, &log)
	c.RetryAfter = time.Nanosecond // try Redis at every call
	if _, err := c.Get(ctx, "k"); !errors.Is(err, etkdepot.ErrCacheMiss) {
		t.Fatalf("Get: %v", err)
	}
	v := entryBytes(t, "v", time.Now().Add(time.Hour))
	if err := c.Put(ctx, "k", v); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for range 3 {
		if d, err := c.Get(ctx, "k"); err != nil || string(d) != string(v) {
			t.Fatalf("Get after Put: %q %v", d, err)
		}
	}
	if n := strings.Count(log.String(), "Redis is unreachable"); n != 1 {
		t.Errorf("logged %d times:\n%s", n, log.String())
	}
	if strings.Contains(log.String(), `"v"`) {
		t.Error("a value in the log")
	}
}
