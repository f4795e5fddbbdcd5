package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/etkdepot/rediscache"
	"github.com/ehcert/ehcert/observe"
	"github.com/ehcert/ehcert/soap"
)

// Values of --log-level and --log-format.
const (
	logLevelOff   = "off"
	logFormatText = "text"
	logFormatJSON = "json"
)

// parseLogLevel reads --log-level: off (the default: no log records, the usual output only), debug, info, warn
// or error. ok is false for "off".
func parseLogLevel(s string) (level slog.Level, ok bool, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", logLevelOff, "none":
		return 0, false, nil
	case "debug":
		return slog.LevelDebug, true, nil
	case "info":
		return slog.LevelInfo, true, nil
	case "warn", "warning":
		return slog.LevelWarn, true, nil
	case "error":
		return slog.LevelError, true, nil
	}
	return 0, false, usagef("--log-level %q: want off, debug, info, warn or error", s)
}

// setupLogging checks --log-level and --log-format and builds the log handler (nil when logs are off). It runs
// before every command.
func (a *app) setupLogging() error {
	level, on, err := parseLogLevel(a.logLevel)
	if err != nil {
		return err
	}
	format := strings.ToLower(strings.TrimSpace(a.logFormat))
	if format != logFormatText && format != logFormatJSON {
		return usagef("--log-format %q: want text or json", a.logFormat)
	}
	a.logHandler, a.log = nil, nil
	if !on {
		return nil
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == logFormatJSON {
		a.logHandler = slog.NewJSONHandler(a.stderr, opts)
	} else {
		a.logHandler = slog.NewTextHandler(a.stderr, opts)
	}
	a.log = slog.New(a.logHandler)
	return nil
}

// logger is the logger of the eHealth calls (SOAP exchanges, ETK Depot requests): a handler writing to stderr at
// --log-level, or one that discards everything when logs are off.
func (a *app) logger() *slog.Logger {
	if a.log == nil {
		if a.logHandler != nil {
			a.log = slog.New(a.logHandler)
		} else {
			a.log = slog.New(slog.DiscardHandler)
		}
	}
	return a.log
}

// withLogs returns a logger sending its records to h and, when logs are on, to the log handler too (flows feed
// the progress display and the logs from one logger).
func (a *app) withLogs(h slog.Handler) *slog.Logger {
	if a.logHandler == nil {
		return slog.New(h)
	}
	return slog.New(slog.NewMultiHandler(h, a.logHandler))
}

// soapObserver is the soap.Client.Observer of every command: one log record per exchange (service, operation,
// outcome, request id, HTTP status, duration, eHealth code; never a body) and the call metrics.
func (a *app) soapObserver() func(*soap.Exchange) {
	obs := &observe.Observer{Logger: a.logger(), Metrics: observe.Default}
	return obs.Exchange
}

// depotHTTPClient is the HTTP client of the ETK Depot: the platform client (roots, trace directory) wrapped so
// that each request is logged (endpoint name, status, duration; never the query, which holds identifiers) and
// counted.
func (a *app) depotHTTPClient() (*http.Client, error) {
	if a.dhc != nil {
		return a.dhc, nil
	}
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	a.dhc = &http.Client{Transport: observe.RoundTripper(hc.Transport, a.logger(), observe.Default), Timeout: hc.Timeout}
	return a.dhc, nil
}

// etkCache is the shared ETK Depot cache of --etk-cache-redis, or nil. An unreachable Redis never fails a lookup:
// the cache falls back to process memory and says so once per outage (on stderr even with the logs off, unless
// --quiet).
func (a *app) etkCache() etkdepot.Cache {
	if a.redisAddr == "" {
		return nil
	}
	if a.rc != nil {
		return a.rc
	}
	// go-redis prints its own dial failures; the cache reports the outage itself.
	redis.SetLogger(silentRedisLogger{})
	rc := rediscache.New(a.redisAddr)
	rc.Now = a.now
	rc.Logger = a.logger()
	if a.logHandler == nil && !a.quiet {
		rc.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rc.OnEvent = func(e rediscache.Event) { observe.Default.CacheEvent("redis", string(e)) }
	client := rc.Client
	a.closers = append(a.closers, func() { client.Close() })
	a.rc = rc
	return rc
}

type silentRedisLogger struct{}

func (silentRedisLogger) Printf(context.Context, string, ...any) {}

// logFlagsHelp is the help of --log-level.
const logFlagsHelp = `log records on stderr: off, error, warn (failures), info (also one record per eHealth call and per process step) or debug (also details holding national numbers)`
