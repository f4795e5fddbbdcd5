// Package rediscache is an etkdepot.Cache on Redis, shared by every instance of an integration engine, so that
// the instances share the ETK Depot's answers and ask the depot once between them.
//
//	rc := rediscache.New("127.0.0.1:6379") // or &rediscache.Cache{Client: yourRedisClient}
//	depot := &etkdepot.Client{Cache: rc, ...}
//
// What it adds to a plain key-value store:
//
//   - Entries live in Redis with a time to live: fresh until the expiry the etkdepot client wrote in the entry
//     (its "expires" member; TTL after the Put when absent), then kept MaxStale longer so that any instance can
//     serve them, flagged stale, while the depot fails (the client's stale-while-error).
//   - A short lock (SET NX PX, LockTTL) elects one instance to fetch a missing or expired entry: Get returns a
//     miss (or the expired entry) to the instance that took the lock, and makes the others wait, at most LockWait,
//     for the value it Puts. N instances missing the same key make one upstream call between them. Within one
//     process, etkdepot.Client already coalesces concurrent lookups.
//   - Redis unreachable: every operation falls back to a local cache (Local, an etkdepot.MemoryCache by default)
//     that mirrors what this instance read and wrote; the outage is logged once (and its end once), Redis is
//     not tried again for RetryAfter, and a lookup the depot can answer never fails because of Redis.
//
// Values are opaque to Redis (the client's JSON entry behind a 12-byte header holding the freshness deadline);
// keys are the client's hashed keys under Prefix, so no identifier appears in Redis keys.
package rediscache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ehcert/ehcert/etkdepot"
)

// Defaults of Cache.
const (
	DefaultPrefix     = "ehcert:etkdepot:"
	DefaultLockTTL    = 10 * time.Second
	DefaultLockWait   = 5 * time.Second
	DefaultRetryAfter = 5 * time.Second
	DefaultOpTimeout  = time.Second
)

// Event is something a Cache did, reported to Cache.OnEvent (for metrics, see package observe).
type Event string

// The events.
const (
	// EventHit: a fresh entry was read from Redis.
	EventHit Event = "hit"
	// EventStale: an expired entry was read from Redis and this instance took the lock to refresh it.
	EventStale Event = "stale"
	// EventMiss: Redis had no entry and this instance took the lock to fetch it.
	EventMiss Event = "miss"
	// EventWait: another instance holds the lock; this one waits for its value.
	EventWait Event = "wait"
	// EventWaitHit: the value another instance fetched arrived while waiting.
	EventWaitHit Event = "wait_hit"
	// EventWaitTimeout: no value came within LockWait; the caller fetches it itself.
	EventWaitTimeout Event = "wait_timeout"
	// EventLocal: Redis is unreachable; the local cache answered (hit or miss).
	EventLocal Event = "local"
	// EventRedisDown and EventRedisUp: Redis became unreachable, or reachable again.
	EventRedisDown Event = "redis_down"
	EventRedisUp   Event = "redis_up"
)

// Cache is an etkdepot.Cache on Redis. Only Client is required; the zero values of the other fields are the
// documented defaults. A Cache is safe for concurrent use; its fields must not change after the first call and
// it must not be copied after first use. Give each etkdepot.Client of a process the same Cache, and every
// process the same Redis and Prefix.
type Cache struct {
	// Client is the Redis client (a *redis.Client, *redis.ClusterClient or *redis.Ring). Its own timeouts and
	// retries apply inside OpTimeout; New sets short ones.
	Client redis.UniversalClient
	// Prefix is put before every key; empty means DefaultPrefix.
	Prefix string
	// Local is the cache used while Redis is unreachable; it also receives a copy of every entry read from or
	// written to Redis. Nil means an etkdepot.MemoryCache of etkdepot.DefaultMaxEntries entries.
	Local etkdepot.Cache

	// TTL is how long an entry is fresh when the value does not carry its own expiry; zero means
	// etkdepot.DefaultTTL. Set it to the etkdepot.Client's TTL.
	TTL time.Duration
	// MaxStale is how long Redis keeps an entry past its freshness, to be served stale while the depot fails;
	// zero means etkdepot.DefaultMaxStale. Set it to the etkdepot.Client's MaxStale (negative: not kept).
	MaxStale time.Duration
	// LockTTL bounds how long one instance may hold the lock on a key while it fetches; zero means
	// DefaultLockTTL. Past it another instance fetches.
	LockTTL time.Duration
	// LockWait is how long an instance waits for the value another instance fetches before it fetches itself;
	// zero means DefaultLockWait.
	LockWait time.Duration
	// RetryAfter is how long Redis is left alone after it failed; zero means DefaultRetryAfter.
	RetryAfter time.Duration
	// OpTimeout bounds each Redis operation; zero means DefaultOpTimeout.
	OpTimeout time.Duration

	// Logger receives one warning when Redis becomes unreachable and one message when it is back; nil means
	// slog.Default(). Nothing else is logged: no key, value or identifier.
	Logger *slog.Logger
	// Now is the clock deciding freshness (use the etkdepot.Client's); nil means time.Now.
	Now func() time.Time
	// OnEvent, when set, is called for every Event (from the calling goroutine; keep it fast).
	OnEvent func(Event)

	initOnce sync.Once
	local    etkdepot.Cache

	mu        sync.Mutex
	locks     map[string]heldLock // locks this instance holds, by cache key
	down      bool
	downUntil time.Time // real time
}

type heldLock struct {
	token string
	at    time.Time // real time
}

var _ etkdepot.Cache = (*Cache)(nil)

// New returns a Cache on the Redis server at addr ("host:port") with a client whose timeouts suit a cache: dial
// and each read or write at most 500 ms, no retries and one dial attempt (the Cache falls back to its local
// cache instead).
func New(addr string) *Cache {
	return &Cache{Client: redis.NewClient(&redis.Options{
		Addr:          addr,
		DialTimeout:   500 * time.Millisecond,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
		PoolTimeout:   time.Second,
	})}
}

func (c *Cache) init() {
	c.initOnce.Do(func() {
		c.local = c.Local
		if c.local == nil {
			c.local = etkdepot.NewMemoryCache(0)
		}
	})
}

func (c *Cache) prefix() string {
	if c.Prefix == "" {
		return DefaultPrefix
	}
	return c.Prefix
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Cache) event(e Event) {
	if c.OnEvent != nil {
		c.OnEvent(e)
	}
}

// Get implements etkdepot.Cache. It returns the entry from Redis, or waits for the instance fetching it, or
// returns a miss (or the expired entry) when this instance is to fetch it. It returns only ErrCacheMiss or
// ctx's error: Redis failures fall back to the local cache.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	c.init()
	if c.skipRedis() {
		return c.localGet(ctx, key)
	}
	data, fresh, found, err := c.read(ctx, key)
	if err != nil {
		return c.fallback(ctx, key, err)
	}
	if found && fresh {
		c.event(EventHit)
		_ = c.local.Put(ctx, key, data)
		return data, nil
	}
	if !found {
		// Redis may have lost what this instance saw (a restart, an eviction): a fresh local copy goes back to
		// Redis and answers; an expired one is better than nothing while this instance fetches.
		if d, err := c.local.Get(ctx, key); err == nil {
			if until := expiryOf(d); c.now().Before(until) {
				c.write(ctx, key, until, d)
				c.event(EventHit)
				return d, nil
			}
			data, found = d, true
		}
	}

	// Missing or expired: one instance fetches, the others wait for its Put.
	got, err := c.lock(ctx, key)
	if err != nil {
		return c.fallbackWith(ctx, key, err, data, found)
	}
	if got {
		return c.fetcher(ctx, key, data, found)
	}
	c.event(EventWait)
	deadline := time.Now().Add(orDefault(c.LockWait, DefaultLockWait))
	wait := 5 * time.Millisecond
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		d, fresh, ok, err := c.read(ctx, key)
		if err != nil {
			return c.fallbackWith(ctx, key, err, data, found)
		}
		if ok && fresh {
			c.event(EventWaitHit)
			_ = c.local.Put(ctx, key, d)
			return d, nil
		}
		if ok {
			data, found = d, true
		}
		// The lock may have been released without a value (the fetch failed) or have expired.
		got, err := c.lock(ctx, key)
		if err != nil {
			return c.fallbackWith(ctx, key, err, data, found)
		}
		if got {
			return c.fetcher(ctx, key, data, found)
		}
		if !time.Now().Before(deadline) {
			c.event(EventWaitTimeout)
			return c.result(data, found)
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// fetcher is Get for the instance that holds the lock: unless a fresh value arrived just before the lock was
// taken, it returns what it has (the expired entry, or a miss) so that the caller fetches, and Puts.
func (c *Cache) fetcher(ctx context.Context, key string, data []byte, found bool) ([]byte, error) {
	if d, fresh, ok, err := c.read(ctx, key); err == nil && ok && fresh {
		// The previous holder put the value between our read and our lock.
		c.unlock(ctx, key)
		c.event(EventHit)
		_ = c.local.Put(ctx, key, d)
		return d, nil
	} else if err == nil && ok {
		data, found = d, true
	}
	if found {
		c.event(EventStale)
	} else {
		c.event(EventMiss)
	}
	return c.result(data, found)
}

func (c *Cache) result(data []byte, found bool) ([]byte, error) {
	if !found {
		return nil, etkdepot.ErrCacheMiss
	}
	return data, nil
}

// Put implements etkdepot.Cache: the entry goes to the local cache and to Redis, and the lock this instance
// holds on key (if any) is released. A Redis failure is not an error when the local cache took the entry.
func (c *Cache) Put(ctx context.Context, key string, data []byte) error {
	c.init()
	lerr := c.local.Put(ctx, key, data)
	if c.skipRedis() {
		return lerr
	}
	freshUntil := expiryOf(data)
	if freshUntil.IsZero() {
		freshUntil = c.now().Add(orDefault(c.TTL, etkdepot.DefaultTTL))
	}
	if c.write(ctx, key, freshUntil, data) {
		c.unlock(ctx, key)
	}
	return lerr
}

// write stores data in Redis, fresh until freshUntil and kept MaxStale longer. It reports success.
func (c *Cache) write(ctx context.Context, key string, freshUntil time.Time, data []byte) bool {
	keep := freshUntil.Sub(c.now())
	if ms := c.MaxStale; ms >= 0 {
		keep += orDefault(ms, etkdepot.DefaultMaxStale)
	}
	if keep < time.Second {
		keep = time.Second
	}
	rctx, cancel := c.opContext(ctx)
	err := c.Client.Set(rctx, c.prefix()+key, encode(freshUntil, data), keep).Err()
	cancel()
	if err != nil {
		c.failed(ctx, err)
		return false
	}
	c.up()
	return true
}

// Delete implements etkdepot.Cache.
func (c *Cache) Delete(ctx context.Context, key string) error {
	c.init()
	lerr := c.local.Delete(ctx, key)
	if c.skipRedis() {
		return lerr
	}
	rctx, cancel := c.opContext(ctx)
	err := c.Client.Del(rctx, c.prefix()+key).Err()
	cancel()
	if err != nil {
		c.failed(ctx, err)
	} else {
		c.up()
	}
	return lerr
}

// Unlock releases the lock this instance took on key in Get, if it still holds it, so that the other instances
// stop waiting at once. A caller whose fetch failed after Get returned a miss should call it; without it the
// others wait for LockWait (at most) and then fetch themselves.
func (c *Cache) Unlock(ctx context.Context, key string) {
	c.init()
	if c.skipRedis() {
		return
	}
	c.unlock(ctx, key)
}

// expiryOf reads the "expires" member that etkdepot's cache entries carry ("values are JSON documents written
// by the client, holding the time the answer was fetched and its expiry"); zero when there is none.
func expiryOf(data []byte) time.Time {
	if len(data) == 0 || data[0] != '{' {
		return time.Time{}
	}
	var e struct {
		Expires time.Time `json:"expires"`
	}
	if json.Unmarshal(data, &e) != nil {
		return time.Time{}
	}
	return e.Expires
}

// The value in Redis: magic, freshness deadline (Unix milliseconds, big-endian), the caller's bytes.
var magic = []byte("ehc1")

func encode(freshUntil time.Time, data []byte) []byte {
	b := make([]byte, 0, len(magic)+8+len(data))
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint64(b, uint64(freshUntil.UnixMilli()))
	return append(b, data...)
}

func decode(v []byte) (freshUntil time.Time, data []byte, ok bool) {
	if len(v) < len(magic)+8 || !bytes.Equal(v[:len(magic)], magic) {
		return time.Time{}, nil, false
	}
	ms := binary.BigEndian.Uint64(v[len(magic):])
	return time.UnixMilli(int64(ms)), v[len(magic)+8:], true
}

func (c *Cache) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, orDefault(c.OpTimeout, DefaultOpTimeout))
}

// read gets key from Redis: its bytes, whether they are fresh, whether there were any.
func (c *Cache) read(ctx context.Context, key string) (data []byte, fresh, found bool, err error) {
	rctx, cancel := c.opContext(ctx)
	defer cancel()
	v, err := c.Client.Get(rctx, c.prefix()+key).Bytes()
	if errors.Is(err, redis.Nil) {
		c.up()
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	c.up()
	freshUntil, data, ok := decode(v)
	if !ok {
		return nil, false, false, nil // not ours: a miss
	}
	return data, c.now().Before(freshUntil), true, nil
}

func (c *Cache) lockKey(key string) string { return c.prefix() + "lock:" + key }

// lock tries to take the lock on key (SET NX PX). It reports whether this instance now holds it.
func (c *Cache) lock(ctx context.Context, key string) (bool, error) {
	token := newToken()
	rctx, cancel := c.opContext(ctx)
	ok, err := c.Client.SetNX(rctx, c.lockKey(key), token, orDefault(c.LockTTL, DefaultLockTTL)).Result()
	cancel()
	if err != nil || !ok {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locks == nil {
		c.locks = map[string]heldLock{}
	}
	now := time.Now()
	for k, l := range c.locks { // forget locks that have expired in Redis anyway
		if now.Sub(l.at) > orDefault(c.LockTTL, DefaultLockTTL) {
			delete(c.locks, k)
		}
	}
	c.locks[key] = heldLock{token: token, at: now}
	return true, nil
}

// unlockScript deletes the lock only if it still holds our token (it may have expired and been taken since).
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

func (c *Cache) unlock(ctx context.Context, key string) {
	c.mu.Lock()
	l, ok := c.locks[key]
	delete(c.locks, key)
	c.mu.Unlock()
	if !ok {
		return
	}
	rctx, cancel := c.opContext(ctx)
	defer cancel()
	if err := unlockScript.Run(rctx, c.Client, []string{c.lockKey(key)}, l.token).Err(); err != nil && !errors.Is(err, redis.Nil) {
		c.failed(ctx, err)
	}
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// skipRedis reports whether Redis is to be left alone (it failed less than RetryAfter ago).
func (c *Cache) skipRedis() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down && time.Now().Before(c.downUntil)
}

// failed records a Redis failure; the first one of an outage is logged. A cancelled caller is not a failure.
func (c *Cache) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	first := !c.down
	c.down = true
	retry := orDefault(c.RetryAfter, DefaultRetryAfter)
	c.downUntil = time.Now().Add(retry)
	c.mu.Unlock()
	if first {
		c.event(EventRedisDown)
		c.logger().Warn("etkdepot/rediscache: Redis is unreachable; using the local cache until it is back",
			slog.String("error", err.Error()), slog.Duration("retry_after", retry))
	}
}

// up records a successful Redis operation, logging the end of an outage.
func (c *Cache) up() {
	c.mu.Lock()
	was := c.down
	c.down = false
	c.mu.Unlock()
	if was {
		c.event(EventRedisUp)
		c.logger().Info("etkdepot/rediscache: Redis is reachable again")
	}
}

func (c *Cache) localGet(ctx context.Context, key string) ([]byte, error) {
	c.event(EventLocal)
	d, err := c.local.Get(ctx, key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, etkdepot.ErrCacheMiss
	}
	return d, nil
}

func (c *Cache) fallback(ctx context.Context, key string, err error) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.failed(ctx, err)
	return c.localGet(ctx, key)
}

// fallbackWith is fallback when this call already holds bytes for key (from Redis or the local cache).
func (c *Cache) fallbackWith(ctx context.Context, key string, err error, data []byte, found bool) ([]byte, error) {
	if !found {
		return c.fallback(ctx, key, err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.failed(ctx, err)
	c.event(EventLocal)
	return data, nil
}
