// Package atomicfile writes files so that a reader, or a process restarted after a crash, sees either the old
// content or the whole new content, never a truncated file: write a temporary file in the same directory, fsync
// it, rename it over the target, then fsync the directory.
//
// WriteFile does all of it for one file. WriteTemp and SyncDir are the two halves, for a caller that makes several
// files durable together (flows.DirStore.PutFiles): write and fsync every temporary file, rename them, then sync
// the directory once.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with data, with permissions perm (0600 for anything secret). The parent
// directory must exist.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := WriteTemp(dir, filepath.Base(path), data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("atomicfile: %w", err)
	}
	SyncDir(dir)
	return nil
}

// WriteTemp writes data to a new temporary file next to the file named base in dir, with permissions perm,
// fsyncs and closes it, and returns its path. On error nothing is left behind. The caller renames the file into
// place (and then calls SyncDir) or removes it.
func WriteTemp(dir, base string, data []byte, perm os.FileMode) (_ string, err error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("atomicfile: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return "", fmt.Errorf("atomicfile: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return "", fmt.Errorf("atomicfile: write %s: %w", base, err)
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("atomicfile: sync %s: %w", base, err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("atomicfile: close %s: %w", base, err)
	}
	return f.Name(), nil
}

// SyncDir fsyncs a directory, making the renames in it durable. It is best effort: some systems cannot sync a
// directory (Windows), and there a rename is as durable as the system makes it.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
