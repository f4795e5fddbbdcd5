package ehealthtest

import (
	"sync"
	"time"
)

// Clock is the platform's notion of "now". Everything time-dependent in the server reads it: IssueInstant
// checks, the validity of issued certificates, replacement periods, ETK expiry, foreigner validation URLs and
// issuing delays.
//
// A Clock follows the real time plus an offset, so that clients using time.Now agree with the server until a
// test moves the clock. A test that moves it should give its clients the same clock (for example
// certra.Client{Now: srv.Clock().Now}) so that their IssueInstants stay in the platform's window.
//
// A nil *Clock is the real clock. All methods are safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen *time.Time
}

// NewClock returns a clock that follows the real time.
func NewClock() *Clock { return &Clock{} }

// Now returns the platform's current time.
func (c *Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return *c.frozen
	}
	return time.Now().Add(c.offset)
}

// Set moves the clock to t; it keeps running from there (unless frozen).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		c.frozen = &t
		return
	}
	c.offset = time.Until(t)
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		t := c.frozen.Add(d)
		c.frozen = &t
		return
	}
	c.offset += d
}

// Freeze stops the clock at its current time: Now returns the same instant until Set, Advance or Unfreeze.
func (c *Clock) Freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen == nil {
		t := time.Now().Add(c.offset)
		c.frozen = &t
	}
}

// Unfreeze lets a frozen clock run again from the instant it shows.
func (c *Clock) Unfreeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		c.offset = time.Until(*c.frozen)
		c.frozen = nil
	}
}

// Offset returns how far the clock is ahead of the real time (negative when behind).
func (c *Clock) Offset() time.Duration {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen != nil {
		return time.Until(*c.frozen)
	}
	return c.offset
}

func (c *Clock) setOffset(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
	c.frozen = nil
}
