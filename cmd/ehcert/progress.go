package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// progress shows a process as it goes: one line per completed step, and, on a terminal only, a live line for the
// step running and for waits. It is a slog.Handler fed by flows.Deps.Logger (which never logs secrets).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	quiet    bool
	steps    []string
	live     bool // a live line is drawn
	waitFrom time.Time
	waiting  bool
	polls    string
	stopTick chan struct{}
	indent   string
}

func newProgress(w io.Writer, quiet bool, steps []string) *progress {
	return &progress{w: w, tty: isTerminal(w), quiet: quiet, steps: steps, indent: "  "}
}

// logger returns the slog.Logger to give to flows.Deps.
func (p *progress) logger() *slog.Logger { return slog.New(p) }

func (p *progress) index(step string) string {
	for i, s := range p.steps {
		if s == step {
			return fmt.Sprintf("[%d/%d] ", i+1, len(p.steps))
		}
	}
	return ""
}

// clearLive erases the live line; callers hold mu.
func (p *progress) clearLive() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
		p.live = false
	}
}

func (p *progress) drawLive(s string) {
	if !p.tty || p.quiet {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", p.indent, s)
	p.live = true
}

// line prints a permanent line.
func (p *progress) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lineLocked(format, args...)
}

func (p *progress) lineLocked(format string, args ...any) {
	if p.quiet {
		return
	}
	p.clearLive()
	fmt.Fprintf(p.w, p.indent+format+"\n", args...)
}

// finish erases any live line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopWaitLocked()
	p.clearLive()
}

// startWaitLocked redraws the wait line every second on a terminal, so that a long wait shows it is alive.
func (p *progress) startWaitLocked() {
	if !p.tty || p.quiet || p.stopTick != nil {
		return
	}
	stop := make(chan struct{})
	p.stopTick = stop
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				if p.stopTick == stop {
					p.drawWaitLocked()
				}
				p.mu.Unlock()
			}
		}
	}()
}

func (p *progress) stopWaitLocked() {
	p.waiting = false
	if p.stopTick != nil {
		close(p.stopTick)
		p.stopTick = nil
	}
}

func (p *progress) drawWaitLocked() {
	p.drawLive(fmt.Sprintf("waiting for the certificate: %s (%s polls so far; Ctrl-C stops, \"ehcert resume\" continues)",
		time.Since(p.waitFrom).Round(time.Second), p.polls))
}

// Enabled implements slog.Handler.
func (p *progress) Enabled(context.Context, slog.Level) bool { return true }

// WithAttrs implements slog.Handler; the process attributes are not shown.
func (p *progress) WithAttrs([]slog.Attr) slog.Handler { return p }

// WithGroup implements slog.Handler.
func (p *progress) WithGroup(string) slog.Handler { return p }

// Handle implements slog.Handler.
func (p *progress) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]string{}
	var detail []string
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve().String()
		attrs[a.Key] = v
		if a.Key != "step" {
			detail = append(detail, a.Key+"="+v)
		}
		return true
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	step := attrs["step"]
	if r.Message != "certificate not yet delivered" {
		p.stopWaitLocked()
	}
	switch r.Message {
	case "step":
		p.drawLive(fmt.Sprintf("%s%s ...", p.index(step), step))
	case "step done":
		p.lineLocked("✓ %s%s", p.index(step), step)
	case "certificate not yet delivered":
		if !p.waiting {
			p.waiting = true
			p.waitFrom = time.Now()
			if !p.tty {
				p.lineLocked("… waiting for the certificate (GetCertificate: not yet delivered)")
			}
		}
		p.polls = attrs["polls"]
		p.drawWaitLocked()
		p.startWaitLocked()
	case "step failed":
		p.lineLocked("✗ %s%s: %s", p.index(step), step, strings.Join(detail, " "))
	case "pending":
		p.lineLocked("… %s: waiting (%s)", step, strings.Join(detail, " "))
	case "process started", "process resumed":
		if len(detail) > 0 {
			p.lineLocked("%s (%s)", r.Message, strings.Join(detail, " "))
		}
	default:
		if r.Level >= slog.LevelInfo {
			if len(detail) > 0 {
				p.lineLocked("  %s: %s", r.Message, strings.Join(detail, " "))
			} else {
				p.lineLocked("  %s", r.Message)
			}
		}
	}
	return nil
}
