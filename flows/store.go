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

// File is one named value of a Store, for PutFiles.
type File struct {
	Name string
	Data []byte
}

// BatchStore is implemented by stores that can make several files durable together more cheaply than one Put
// each. PutFiles replaces every file of every group atomically and returns only when all are durable. The
// groups are ordered: a crash while it runs leaves each file with its old or its new content, in any
// combination within a group, but a file of a later group is never new while one of an earlier group is old.
// (DirStore writes and syncs all the temporary files at once, then, group after group, renames the group's
// files and syncs the directory.)
type BatchStore interface {
	PutFiles(ctx context.Context, groups ...[]File) error
}

// putFiles writes groups of files in order, with one PutFiles when the store supports it, else with one Put
// each.
func putFiles(ctx context.Context, store Store, groups ...[]File) error {
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	if b, ok := store.(BatchStore); ok && n > 1 {
		return b.PutFiles(ctx, groups...)
	}
	for _, g := range groups {
		for _, f := range g {
			if err := store.Put(ctx, f.Name, f.Data); err != nil {
				return err
			}
		}
	}
	return nil
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

// PutFiles atomically replaces several files (mode 0600) in groups (see BatchStore): every file is written to
// a temporary file and fsynced, all concurrently so that the file system can commit them together; then, group
// after group, the group's files are renamed into place and the directory is fsynced once. It writes nothing
// when ctx is already done.
func (d DirStore) PutFiles(ctx context.Context, groups ...[]File) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var files []File
	for _, g := range groups {
		files = append(files, g...)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		p, err := d.path(f.Name)
		if err != nil {
			return err
		}
		paths[i] = p
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	tmps := make([]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tmps[i], errs[i] = atomicfile.WriteTemp(string(d), filepath.Base(paths[i]), files[i].Data, 0o600)
		}()
	}
	wg.Wait()
	removeTemps := func() {
		for _, t := range tmps {
			if t != "" {
				os.Remove(t)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		removeTemps()
		return err
	}
	i := 0
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		for range g {
			if err := os.Rename(tmps[i], paths[i]); err != nil {
				removeTemps()
				return fmt.Errorf("flows: %w", err)
			}
			tmps[i] = ""
			i++
		}
		atomicfile.SyncDir(string(d))
	}
	return nil
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

// PutFiles stores a copy of each file.
func (m *MemStore) PutFiles(ctx context.Context, groups ...[]File) error {
	for _, g := range groups {
		for _, f := range g {
			if err := m.Put(ctx, f.Name, f.Data); err != nil {
				return err
			}
		}
	}
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
