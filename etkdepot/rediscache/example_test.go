package rediscache_test

import (
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
	"github.com/ehcert/ehcert/observe"
)

// Example wires a shared Redis cache into the ETK Depot client of every instance of an integration engine,
// with its events counted by package observe.
func Example() {
	rc := rediscache.New("127.0.0.1:6379") // every instance: the same Redis (and Prefix)
	rc.OnEvent = func(e rediscache.Event) { observe.Default.CacheEvent("redis", string(e)) }

	depot := &etkdepot.Client{
		BaseURL: etkdepot.ProductionURL,
		Cache:   rc, // TTL and MaxStale: keep rc.TTL and rc.MaxStale equal to the client's
		// UserAgent, From, Roots and ValidateETK as usual.
	}
	_ = depot
}
