package etkdepot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ehcert/ehcert/internal/atomicfile"
)

// ErrCacheMiss is returned by a Cache's Get when it holds nothing under the key.
var ErrCacheMiss = errors.New("etkdepot: cache miss")

// Cache stores the depot's answers as opaque bytes. It is shaped like golang.org/x/crypto/acme/autocert's Cache,
// so that any store (memory, a directory, a shared database) can hold them. Implementations must be safe for
// concurrent use. The client decides what is fresh: a Cache only keeps bytes and may drop them at any time.
//
// Keys are short ASCII strings (hex digests, so that identifiers such as national numbers never appear in them);
// values are JSON documents written by the client, holding the time the answer was fetched and its expiry.
type Cache interface {
	// Get returns the bytes stored under key, or ErrCacheMiss.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores data under key, replacing what was there. The client never modifies data afterwards.
	Put(ctx context.Context, key string, data []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Unlocker may be implemented by a Cache shared between processes (etkdepot/rediscache): after a Get that led to
// a fetch, the client calls Unlock when the fetch failed (nothing will be Put), so that other processes waiting for
// the entry stop waiting and fetch themselves.
type Unlocker interface {
	Unlock(ctx context.Context, key string)
}

// DefaultMaxEntries is the number of entries a MemoryCache keeps when MaxEntries is zero.
const DefaultMaxEntries = 10000

// MemoryCache is a Cache in process memory. The zero value is ready to use; it must not be copied after first
// use. When it holds MaxEntries entries, storing a new key evicts an arbitrary other one.
type MemoryCache struct {
	// MaxEntries bounds the number of entries; zero means DefaultMaxEntries.
	MaxEntries int

	mu sync.Mutex
	m  map[string][]byte
}

// NewMemoryCache returns an empty MemoryCache holding at most maxEntries entries (zero: DefaultMaxEntries).
func NewMemoryCache(maxEntries int) *MemoryCache { return &MemoryCache{MaxEntries: maxEntries} }

// Get implements Cache. The returned slice must not be modified.
func (c *MemoryCache) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return nil, ErrCacheMiss
	}
	return v, nil
}

// Put implements Cache. It keeps a copy of data.
func (c *MemoryCache) Put(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v := append([]byte(nil), data...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	max := c.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	if _, ok := c.m[key]; !ok {
		for k := range c.m {
			if len(c.m) < max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = v
	return nil
}

// Delete implements Cache.
func (c *MemoryCache) Delete(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// Len returns the number of entries.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// DirCache is a Cache in a directory, one file per key, so that answers survive a restart. The directory is
// created (0700) on the first Put; files are written atomically (temporary file, fsync, rename) with mode 0600.
// Keys are cleaned so that a file never lands outside the directory. Nothing is ever evicted.
type DirCache string

// Get implements Cache.
func (d DirCache) Get(ctx context.Context, key string) ([]byte, error) {
	name, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrCacheMiss
	}
	if err != nil {
		return nil, fmt.Errorf("etkdepot: dir cache: %w", err)
	}
	return data, nil
}

// Put implements Cache. Nothing is written when ctx is already done.
func (d DirCache) Put(ctx context.Context, key string, data []byte) error {
	name, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return fmt.Errorf("etkdepot: dir cache: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(name, data, 0o600); err != nil {
		return fmt.Errorf("etkdepot: dir cache: %w", err)
	}
	return nil
}

// Delete implements Cache.
func (d DirCache) Delete(ctx context.Context, key string) error {
	name, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("etkdepot: dir cache: %w", err)
	}
	return nil
}

func (d DirCache) path(key string) (string, error) {
	clean := filepath.Clean("/" + filepath.FromSlash(key))
	if key == "" || clean == string(filepath.Separator) {
		return "", &QueryError{Field: "cache key", Value: key, Reason: "empty"}
	}
	return filepath.Join(string(d), clean), nil
}

// entry is what the client stores in a Cache: the depot's answer (the HTTP body, which decodes and validates
// again on every load) with the time it was fetched and the time it stops being fresh.
type entry struct {
	V       int             `json:"v"`
	Key     string          `json:"key"` // the lookup (not the hashed cache key): a guard against mix-ups
	Stored  time.Time       `json:"stored"`
	Expires time.Time       `json:"expires"`
	Body    json.RawMessage `json:"body"`
}

const entryVersion = 1

// fresh reports whether the entry may be used without asking the depot. It is a pure function of the entry and
// now: fresh from the moment it was stored until it expires.
func (e *entry) fresh(now time.Time) bool {
	return !now.Before(e.Stored) && now.Before(e.Expires)
}

// usableStale reports whether the entry may still be served when the depot fails: not older than maxStale past
// its expiry (maxStale < 0: never).
func (e *entry) usableStale(now time.Time, maxStale time.Duration) bool {
	if maxStale < 0 {
		return false
	}
	return now.Before(e.Expires.Add(maxStale))
}

func encodeEntry(e *entry) ([]byte, error) {
	e.V = entryVersion
	return json.Marshal(e)
}

// decodeEntry reads an entry written by encodeEntry, checking that it is the one for lookup.
func decodeEntry(data []byte, lookup string) (*entry, error) {
	var e entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, &DecodeError{Op: "cache", Reason: "not a cache entry", Err: err}
	}
	if e.V != entryVersion || e.Key != lookup || len(e.Body) == 0 {
		return nil, &DecodeError{Op: "cache", Reason: "not the entry for this lookup"}
	}
	return &e, nil
}

// cacheKey is the key under which a lookup is stored: a digest, so that identifiers stay out of file names.
func cacheKey(lookup string) string {
	sum := sha256.Sum256([]byte(lookup))
	return "etkdepot-" + hex.EncodeToString(sum[:20])
}
