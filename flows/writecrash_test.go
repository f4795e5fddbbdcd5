package flows_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
)

// crashStore is a Store that dies after a number of writes: the write beyond them and every later one fail
// with errCrash and write nothing, as if the process had been killed right after its last successful write,
// having sent every request up to its next write. It is no BatchStore, so the files a process writes
// together are written one by one and the crash can fall between two of them.
type crashStore struct {
	flows.Store
	left   atomic.Int64
	writes atomic.Int64
}

func newCrashStore(s flows.Store, writes int64) *crashStore {
	c := &crashStore{Store: s}
	c.left.Store(writes)
	return c
}

func (c *crashStore) write() error {
	if c.left.Add(-1) < 0 {
		return errCrash
	}
	c.writes.Add(1)
	return nil
}

func (c *crashStore) Put(ctx context.Context, name string, data []byte) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Store.Put(ctx, name, data)
}

func (c *crashStore) Delete(ctx context.Context, name string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Store.Delete(ctx, name)
}

// runUntilCrash starts a process in store and drives it (unblocking waits) until it ends: its last error.
func (c flowCase) runUntilCrash(t *testing.T, e *env, start func(context.Context, flows.Store, *flows.Deps) (*flows.Result, error), store flows.Store, unblockIn flows.Store, d *flows.Deps) error {
	t.Helper()
	_, err := start(context.Background(), store, d)
	for i := 0; flows.IsPending(err) && c.unblock != nil && i < 5; i++ {
		c.unblock(t, e, unblockIn)
		_, err = flows.Resume(context.Background(), store, d)
	}
	return err
}

// TestCrashAtEveryWrite kills each kind of process after each of its durable writes (each file, each state
// record, each deletion), for every count of writes of an uninterrupted run: the checkpoints, not the step
// boundaries, are what a real crash sees (no test hook is set, so the state is saved only where the process
// needs it). At the crash every private key the platform knows is on disk; Resume then finishes the process
// with exactly one certificate and one active ETK.
func TestCrashAtEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	for _, c := range flowCases() {
		// The writes of an uninterrupted run.
		e := newEnv(t)
		cs := newCrashStore(flows.DirStore(t.TempDir()), math.MaxInt64)
		d := *e.deps
		d.StopWhenPending = true
		if err := c.runUntilCrash(t, e, c.prepare(t, e), cs, cs.Store, &d); err != nil {
			t.Fatalf("%s: uninterrupted run: %v", c.name, err)
		}
		total := cs.writes.Load()
		t.Logf("%s: %d writes", c.name, total)
		for n := range total {
			t.Run(fmt.Sprintf("%s/after-%d", c.name, n), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				start := c.prepare(t, e)
				dir := flows.DirStore(t.TempDir())
				d := *e.deps
				d.StopWhenPending = true
				err := c.runUntilCrash(t, e, start, newCrashStore(dir, n), dir, &d)
				if !errors.Is(err, errCrash) {
					t.Fatalf("err = %v, want the crash after write %d", err, n)
				}
				checkKeysKept(t, e, c, dir)
				if _, err := flows.Status(context.Background(), dir); errors.Is(err, flows.ErrNoProcess) {
					// Killed before the process was saved: nothing was sent yet that needs anything on disk
					// (checked above). The user starts again.
					if _, err := start(context.Background(), dir, &d); err != nil && !flows.IsPending(err) {
						t.Fatalf("start again: %v", err)
					}
				} else if err != nil {
					t.Fatalf("status after the crash: %v", err)
				}
				res := c.finish(t, e, dir, &d)
				c.check(t, e, dir, res)
				checkKeysOnDisk(t, e, c, dir)
			})
		}
	}
}

// checkKeysKept is checkKeysOnDisk where the keys of the keystore a renewal was given (the user's, which a
// crash before the process copied it leaves where it was) count as kept.
func checkKeysKept(t *testing.T, e *env, c flowCase, store flows.Store) {
	t.Helper()
	if c.subject == nil {
		return
	}
	kept := keysOnDisk(t, store)
	if c.kind == flows.KindRenew && e.old != nil {
		ks, err := keystore.Decode(e.old.Keystore, []byte(testPassword))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks.Keys {
			s, _ := k.Signer()
			spki, _ := x509.MarshalPKIXPublicKey(s.Public())
			kept[string(spki)] = true
		}
	}
	typ, id, app := c.subject(e)
	for k := range knownKeys(t, e, typ, id, app) {
		if !kept[k] {
			pub, _ := x509.ParsePKIXPublicKey([]byte(k))
			b, _ := certreq.PublicKeyIdentifier(pub)
			t.Errorf("the platform knows key %X, which is not on disk", b)
		}
	}
}
