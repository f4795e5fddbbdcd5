package etkdepot

import (
	"context"
	"fmt"
	"sync"
)

// flightGroup coalesces concurrent calls for the same key into one execution, whose result every caller gets
// (the "singleflight" pattern). Unlike golang.org/x/sync/singleflight it is context-aware: the shared call runs
// with a context detached from any single caller, each caller waits on its own ctx, and the shared call is
// cancelled when every caller waiting for it has gone.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flightCall

	// onJoin, when set (tests only), is called each time a caller joins a call already in flight.
	onJoin func(key string)
}

type flightCall struct {
	done    chan struct{}
	val     any
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do runs fn once for all concurrent callers with the same key. The value is shared between callers: it must
// not be modified.
func (g *flightGroup) do(ctx context.Context, key string, fn func(ctx context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flightCall{}
	}
	c, joined := g.m[key]
	if joined {
		c.waiters++
	} else {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &flightCall{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.m[key] = c
		go g.run(fctx, key, c, fn)
	}
	hook := g.onJoin
	g.mu.Unlock()
	if joined && hook != nil {
		hook(key)
	}

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			if g.m[key] == c {
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (g *flightGroup) run(ctx context.Context, key string, c *flightCall, fn func(ctx context.Context) (any, error)) {
	defer c.cancel()
	func() {
		defer func() {
			if r := recover(); r != nil {
				c.val, c.err = nil, fmt.Errorf("etkdepot: panic during lookup: %v", r)
			}
		}()
		c.val, c.err = fn(ctx)
	}()
	g.mu.Lock()
	if g.m[key] == c {
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(c.done)
}
