package rediscache_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
)

// The benchmark mirrors package etkdepot's BenchmarkETKLookupLoopback and BenchmarkETKLookupCached: an
// in-process ehealthtest platform (TLS on loopback) holding the ETK of ehealthtest.DefaultOrganization,
// registered through CertRA and EtkRA by the create process, and a client with the default ETK checks (package
// etk against the platform's root).

func benchClient(srv *ehealthtest.Server, cache etkdepot.Cache) *etkdepot.Client {
	return &etkdepot.Client{BaseURL: srv.Environment().ETKDepot, HTTPClient: srv.Client(),
		UserAgent: "ehcertTest/1.0 ehcert/0", From: "ops@example.com",
		Roots: srv.Roots(), Now: srv.Clock().Now, Cache: cache}
}

func lookupOnce(b *testing.B, c *etkdepot.Client) {
	org := ehealthtest.DefaultOrganization
	entries, err := c.ETKs(context.Background(), org.Type, org.ID, "")
	if err == nil {
		_, err = etkdepot.Select(entries, "")
	}
	if err != nil {
		b.Fatal(err)
	}
}

// nsPerLookup is the mean time of a lookup with c over at least 300 ms (testing.Benchmark cannot run inside a
// benchmark).
func nsPerLookup(b *testing.B, c *etkdepot.Client) float64 {
	lookupOnce(b, c) // warm up: connection, cache
	n, start := 0, time.Now()
	for time.Since(start) < 300*time.Millisecond {
		for range 20 {
			lookupOnce(b, c)
		}
		n += 20
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

var (
	baselineOnce         sync.Once
	loopbackNs, cachedNs float64
)

// BenchmarkETKLookupRedis is one ETK lookup answered from Redis. Each iteration is a new etkdepot.Client (an
// instance with nothing in memory yet) sharing one rediscache.Cache: the entry is read from Redis, decoded and
// its ETK validated again, as the client does for every load from a Cache; the depot is asked once in all. It
// reports its ratios to package etkdepot's two baselines, measured on the same platform in the same process
// before it: "x-loopback" is how many times faster than BenchmarkETKLookupLoopback (no cache: TLS round trip
// to the depot, decoding, validation), "x-cached" how many times slower than BenchmarkETKLookupCached (answered
// from a client's memory).
func BenchmarkETKLookupRedis(b *testing.B) {
	rs := startRedis(b)
	srv, _ := platform(b)
	baselineOnce.Do(func() {
		loopbackNs = nsPerLookup(b, benchClient(srv, nil))
		cachedNs = nsPerLookup(b, benchClient(srv, etkdepot.NewMemoryCache(0)))
	})
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	b.Cleanup(func() { rc.Close() })
	cache := &rediscache.Cache{Client: rc, Now: srv.Clock().Now}
	srv.ResetRequests()
	lookupOnce(b, benchClient(srv, cache))
	b.ReportAllocs()
	for b.Loop() {
		lookupOnce(b, benchClient(srv, cache))
	}
	b.StopTimer()
	if n := depotRequests(srv); n != 1 {
		b.Fatalf("%d depot requests, want 1", n)
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	if ns > 0 && loopbackNs > 0 && cachedNs > 0 {
		b.ReportMetric(loopbackNs/ns, "x-loopback")
		b.ReportMetric(ns/cachedNs, "x-cached")
		b.ReportMetric(loopbackNs, "loopback-ns/op")
		b.ReportMetric(cachedNs, "cached-ns/op")
	}
}

// BenchmarkRedisGet is the Redis part of BenchmarkETKLookupRedis alone: Cache.Get of a fresh 8 KiB entry (the
// size of a cached GET /etks answer holding one ETK).
func BenchmarkRedisGet(b *testing.B) {
	rs := startRedis(b)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	b.Cleanup(func() { rc.Close() })
	cache := &rediscache.Cache{Client: rc}
	ctx := context.Background()
	v := entryBytes(b, strings.Repeat("x", 8<<10), time.Now().Add(time.Hour))
	if err := cache.Put(ctx, "k", v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := cache.Get(ctx, "k"); err != nil || len(d) != len(v) {
			b.Fatal(err)
		}
	}
}
