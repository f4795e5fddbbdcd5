package flows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ehcert/ehcert/internal/atomicfile"
)

// ErrNotFound is returned by a Store's Get when no value is stored under the name.
var ErrNotFound = errors.New("flows: not found in store")

// Store holds the files of one process: its state record, its pending private keys (encrypted), the keystore
// and the ETK it produces. It is shaped like autocert.Cache: opaque bytes under short names, each Put atomic.
//
// Put must be durable when it returns: a process writes a private key and only then sends the request that
// makes the platform know its public key. Delete of a missing name returns nil.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, data []byte) error
	Delete(ctx context.Context, name string) error
}

// Locker is implemented by stores that can keep two runs of the same process from overlapping. Lock blocks
// until the lock is held or fails with *LockedError when another process holds it.
type Locker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}

// DirStore is a Store in a local directory: the process's work directory. The directory is created with mode
// 0700 on first write; every file is written with mode 0600 through a temporary file, fsync and rename, so a
// crash leaves either the old or the new content. Names are cleaned so that they cannot escape the directory.
type DirStore string

func (d DirStore) path(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("flows: invalid store name %q", name)
	}
	return filepath.Join(string(d), filepath.Clean("/" + name)[1:]), nil
}

// Get reads the file name from the directory, or returns ErrNotFound.
func (d DirStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return b, err
}

// Put atomically replaces the file name with data (mode 0600), creating the directory (0700) if needed. It
// writes nothing when ctx is already done.
func (d DirStore) Put(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	return atomicfile.WriteFile(p, data, 0o600)
}

// Delete removes the file name; a missing file is not an error.
func (d DirStore) Delete(ctx context.Context, name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("flows: %w", err)
	}
	return nil
}

// LockedError reports that another run holds the lock of a process's work directory.
type LockedError struct{ Dir string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("flows: another run is using the work directory %s", e.Dir)
}

// MemStore is a Store in memory, for tests and benchmarks. Its zero value is ready to use.
type MemStore struct {
	mu    sync.Mutex
	files map[string][]byte
}

// Get returns a copy of the value stored under name, or ErrNotFound.
func (m *MemStore) Get(ctx context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), b...), nil
}

// Put stores a copy of data under name.
func (m *MemStore) Put(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.files[name] = append([]byte(nil), data...)
	return nil
}

// Delete removes name.
func (m *MemStore) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, name)
	return nil
}

// Names lists the stored names in order.
func (m *MemStore) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
