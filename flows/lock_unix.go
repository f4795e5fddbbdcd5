//go:build unix

package flows

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock takes an exclusive advisory lock (flock) on the file .lock in the directory, so that two runs of the
// same process never overlap. It does not wait: a lock held by another run is a *LockedError. The lock is
// released by unlock or when the holding process dies, so a crash never leaves the directory locked. Once
// locked, temporary files left by writes that a crash interrupted are removed.
func (d DirStore) Lock(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(string(d), ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: string(d)}
		}
		return nil, fmt.Errorf("flows: lock %s: %w", string(d), err)
	}
	// Temporary files of writes that a crash interrupted: no run is writing now.
	if tmps, err := filepath.Glob(filepath.Join(string(d), ".*.tmp-*")); err == nil {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
