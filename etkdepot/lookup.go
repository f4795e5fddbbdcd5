package etkdepot

import (
	"context"
	"errors"
	"time"
)

// spec describes one kind of lookup for get: how to fetch the depot's answer and how to decode (and validate)
// it. decode returns the value, the moment past which the decoded value must be validated again (zero: none),
// and an expiry the answer carries itself (zero: none, the TTL applies).
type spec[T any] struct {
	op     string
	lookup string // canonical description of the lookup: key of the in-memory layer and of coalescing
	fetch  func(ctx context.Context) ([]byte, error)
	decode func(ctx context.Context, body []byte, now time.Time) (val T, notAfter, expires time.Time, err error)
}

// result is a decoded answer with where it came from.
type result[T any] struct {
	val       T
	stored    time.Time // when the depot gave the answer
	stale     bool      // served after its expiry because the depot failed
	fromCache bool      // not fetched by this call
}

// hotEntry is a decoded, validated answer kept in process memory next to the Cache.
type hotEntry struct {
	stored, expires time.Time
	notAfter        time.Time // the decoded value must be validated again from here on (zero: never)
	val             any
}

func (h *hotEntry) fresh(now time.Time) bool {
	return !now.Before(h.stored) && now.Before(h.expires) && h.valid(now)
}

func (h *hotEntry) valid(now time.Time) bool { return h.notAfter.IsZero() || now.Before(h.notAfter) }

// maxHot bounds the in-memory layer; past it an arbitrary entry is evicted.
const maxHot = 10000

func (c *Client) hotGet(lookup string) *hotEntry {
	c.hotMu.RLock()
	h := c.hot[lookup]
	c.hotMu.RUnlock()
	return h
}

func (c *Client) hotPut(lookup string, h *hotEntry) {
	c.hotMu.Lock()
	defer c.hotMu.Unlock()
	if c.hot == nil {
		c.hot = map[string]*hotEntry{}
	}
	if _, ok := c.hot[lookup]; !ok {
		for k := range c.hot {
			if len(c.hot) < maxHot {
				break
			}
			delete(c.hot, k)
		}
	}
	c.hot[lookup] = h
}

// get answers a lookup: from memory when fresh, otherwise once for all concurrent callers from the Cache or the
// depot. refetch > 0 asks for a new fetch unless the answer at hand is younger than refetch.
func get[T any](ctx context.Context, c *Client, s spec[T], refetch time.Duration) (result[T], error) {
	if err := ctx.Err(); err != nil {
		return result[T]{}, err
	}
	if refetch == 0 {
		if r, ok := hot[T](c, s.lookup); ok {
			return r, nil
		}
	}
	key := s.lookup
	if refetch > 0 {
		key += "\x00refetch"
	}
	v, err := c.flight.do(ctx, key, func(ctx context.Context) (any, error) { return load(ctx, c, s, refetch) })
	if err != nil {
		return result[T]{}, err
	}
	return v.(result[T]), nil
}

// hot returns the fresh answer to lookup kept in memory, if any: the fast path, taken before anything else is
// built.
func hot[T any](c *Client, lookup string) (result[T], bool) {
	if c.Cache == nil {
		return result[T]{}, false
	}
	if h := c.hotGet(lookup); h != nil && h.fresh(c.now()) {
		if v, ok := h.val.(T); ok {
			return result[T]{val: v, stored: h.stored, fromCache: true}, true
		}
	}
	return result[T]{}, false
}

// load runs inside the coalesced call: the Cache first, then the depot, then a stale answer if the depot failed.
func load[T any](ctx context.Context, c *Client, s spec[T], refetch time.Duration) (result[T], error) {
	var zero result[T]
	now := c.now()
	usable := func(stored time.Time) bool { return refetch == 0 || now.Before(stored.Add(refetch)) }

	var cached *entry
	if c.Cache != nil {
		// Another call may have filled the memory layer while this one waited.
		if h := c.hotGet(s.lookup); h != nil && h.fresh(now) && usable(h.stored) {
			return result[T]{val: h.val.(T), stored: h.stored, fromCache: true}, nil
		}
		if data, err := c.Cache.Get(ctx, cacheKey(s.lookup)); err == nil {
			now = c.now() // a shared Cache may have waited for another instance's fetch
			if e, err := decodeEntry(data, s.lookup); err == nil {
				cached = e
				if e.fresh(now) && usable(e.Stored) {
					if val, notAfter, _, err := s.decode(ctx, e.Body, now); err == nil && (notAfter.IsZero() || now.Before(notAfter)) {
						c.hotPut(s.lookup, &hotEntry{stored: e.Stored, expires: e.Expires, notAfter: notAfter, val: val})
						return result[T]{val: val, stored: e.Stored, fromCache: true}, nil
					}
					// A cached answer that no longer decodes or validates is fetched again.
				}
			}
		}
		// Cache errors other than a miss are ignored: the cache is an optimisation, the depot is the source.
	}

	body, err := s.fetch(ctx)
	if err != nil && c.Cache != nil {
		if u, ok := c.Cache.(Unlocker); ok {
			u.Unlock(ctx, cacheKey(s.lookup))
		}
	}
	if err == nil {
		val, notAfter, expires, derr := s.decode(ctx, body, now)
		if derr != nil {
			return zero, derr
		}
		exp := now.Add(c.ttl())
		if !expires.IsZero() && expires.Before(exp) {
			exp = expires
		}
		if c.Cache != nil {
			e := &entry{Key: s.lookup, Stored: now, Expires: exp, Body: body}
			if data, err := encodeEntry(e); err == nil {
				_ = c.Cache.Put(ctx, cacheKey(s.lookup), data)
			}
			c.hotPut(s.lookup, &hotEntry{stored: now, expires: exp, notAfter: notAfter, val: val})
		}
		return result[T]{val: val, stored: now}, nil
	}

	if c.Cache != nil && failover(ctx, err) {
		maxStale := c.maxStale()
		// (With refetch, the answer at hand may still be fresh: it is then not flagged stale.)
		if h := c.hotGet(s.lookup); h != nil && maxStale >= 0 && now.Before(h.expires.Add(maxStale)) && h.valid(now) {
			return result[T]{val: h.val.(T), stored: h.stored, stale: !h.fresh(now), fromCache: true}, nil
		}
		if cached != nil && cached.usableStale(now, maxStale) {
			if val, notAfter, _, derr := s.decode(ctx, cached.Body, now); derr == nil && (notAfter.IsZero() || now.Before(notAfter)) {
				return result[T]{val: val, stored: cached.Stored, stale: !cached.fresh(now), fromCache: true}, nil
			}
		}
	}
	return zero, err
}

// failover reports whether err is a failure of the depot (unreachable, 5xx, 429) for which a stale answer may be
// served, rather than an answer that says something about the lookup.
func failover(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.Temporary()
}
