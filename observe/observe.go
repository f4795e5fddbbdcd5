// Package observe makes ehcert observable in production: structured logs through log/slog for every eHealth
// call, and optional Prometheus metrics (calls, errors by eHealth code, durations, ETK Depot requests, ETK
// cache hits/misses/stale serves, days to expiry of the keystores watched).
//
// Logs. An Observer is a soap.Client.Observer: one record per exchange with the service, the operation, the
// request id (the Id attribute of the request element, which the response's InResponseTo repeats), the HTTP
// status, the duration, and on failure the eHealth code (soap.Code) and the error. Never a request or
// response body, a certificate, a key, a PIN or a password: bodies carry national numbers, and the rest are
// secrets.
//
//	obs := &observe.Observer{Logger: slog.Default(), Metrics: observe.Default}
//	soapClient := &soap.Client{HTTPClient: hc, Observer: obs.Exchange}
//
// Metrics. Metrics holds the collectors; Default is the one the package-level functions use. Register puts
// them on a caller's registry (prometheus.DefaultRegisterer, or the integration engine's own); Handler serves
// them with the Go and process collectors on a registry of its own (what `ehcert serve-metrics` exposes).
// Nothing is exported until registered; counting costs a few atomic operations.
package observe

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/soap"
)

// Observer logs and counts the exchanges of a soap.Client. The zero value logs to slog.Default() and counts
// nothing. It is safe for concurrent use.
type Observer struct {
	// Logger receives one record per exchange; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts the exchanges (use Default to serve them with Handler).
	Metrics *Metrics
	// Level is the level of successful exchanges; failures are logged at Warn (a pending certificate at
	// Level). Zero is slog.LevelInfo.
	Level slog.Level
}

// Exchange is the soap.Client.Observer function.
func (o *Observer) Exchange(ex *soap.Exchange) {
	if ex == nil {
		return
	}
	if o.Metrics != nil {
		o.Metrics.ObserveExchange(ex)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	level := o.Level
	outcome := "ok"
	code := ""
	if ex.Err != nil {
		code = ErrorCode(ex.Err)
		outcome = "error"
		level = slog.LevelWarn
		if soap.IsPending(ex.Err) {
			outcome, level = "pending", o.Level
		}
	}
	ctx := context.Background()
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("service", string(ex.Operation.Service)),
		slog.String("operation", ex.Operation.Name),
		slog.String("outcome", outcome),
	)
	if id := RequestID(ex.Request); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if ex.StatusCode != 0 {
		attrs = append(attrs, slog.Int("http_status", ex.StatusCode))
	}
	attrs = append(attrs, slog.Duration("duration", ex.Duration))
	if ex.Err != nil {
		if code != "" {
			attrs = append(attrs, slog.String("code", code))
		}
		attrs = append(attrs, slog.String("error", ex.Err.Error()))
	}
	logger.LogAttrs(ctx, level, "ehealth call", attrs...)
}

// Chain returns a soap.Client.Observer that calls each non-nil fn in turn (for example the CLI's trace
// directory and an Observer).
func Chain(fns ...func(*soap.Exchange)) func(*soap.Exchange) {
	var list []func(*soap.Exchange)
	for _, f := range fns {
		if f != nil {
			list = append(list, f)
		}
	}
	return func(ex *soap.Exchange) {
		for _, f := range list {
			f(ex)
		}
	}
}

// RequestID returns the Id attribute of the root element of an eHealth request (payload as sent), or "". Only
// the first start element is read.
func RequestID(payload []byte) string {
	return rootAttr(payload, "Id")
}

func rootAttr(doc []byte, name string) string {
	if len(doc) == 0 {
		return ""
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == name && a.Name.Space == "" {
					return sanitizeID(a.Value)
				}
			}
			return ""
		}
	}
}

// sanitizeID keeps an id printable and short (an xs:ID; ours are "_" + a UUID).
func sanitizeID(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// ErrorCode names the failure of an exchange for logs and the errors metric: the eHealth code (soap.Code:
// "CERT_NOT_YET_DELIVERED", "SOA-03001", ...) when there is one, otherwise a class of failure ("http_503",
// "fault", "transport", "timeout", "canceled", "protocol", "response_too_large", "invalid_request",
// "missing_signer", "sign", "other"). It returns "" for a nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if c := soap.Code(err); c != "" {
		return c
	}
	var (
		he  *soap.HTTPError
		f   *soap.Fault
		te  *soap.TransportError
		pe  *soap.ProtocolError
		rl  *soap.ResponseTooLargeError
		ir  *soap.InvalidRequestError
		ms  *soap.MissingSignerError
		sgn *soap.SignError
		se  *soap.StatusError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &he):
		return "http_" + strconv.Itoa(he.StatusCode)
	case errors.As(err, &f):
		return "fault"
	case errors.As(err, &se):
		return "status"
	case errors.As(err, &rl):
		return "response_too_large"
	case errors.As(err, &pe):
		return "protocol"
	case errors.As(err, &te):
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return "timeout"
		}
		return "transport"
	case errors.As(err, &ir):
		return "invalid_request"
	case errors.As(err, &ms):
		return "missing_signer"
	case errors.As(err, &sgn):
		return "sign"
	}
	return "other"
}

// serviceName is the label of an operation's service.
func serviceName(op ehealth.Operation) string { return string(op.Service) }

// RoundTripper wraps base (nil: http.DefaultTransport) so that every ETK Depot request is logged (method, the
// endpoint without query — identifiers are personal data —, status, duration) and counted by m (nil: not
// counted). Give it to etkdepot.Client.HTTPClient.
func RoundTripper(base http.RoundTripper, logger *slog.Logger, m *Metrics) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &roundTripper{base: base, logger: logger, m: m}
}

type roundTripper struct {
	base   http.RoundTripper
	logger *slog.Logger
	m      *Metrics
}

// RoundTrip logs and counts one depot request.
func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := rt.base.RoundTrip(r)
	d := time.Since(start)
	endpoint := DepotEndpoint(r.URL.Path)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if rt.m != nil {
		rt.m.observeDepot(endpoint, status, err, d)
	}
	logger := rt.logger
	if logger == nil {
		logger = slog.Default()
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("service", "ETKDepot"), slog.String("endpoint", endpoint), slog.String("method", r.Method)}
	if status != 0 {
		attrs = append(attrs, slog.Int("http_status", status))
	}
	attrs = append(attrs, slog.Duration("duration", d))
	if err != nil || status >= 400 {
		level = slog.LevelWarn
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	logger.LogAttrs(r.Context(), level, "etk depot call", attrs...)
	return resp, err
}

// DepotEndpoint names an ETK Depot request path for logs and metrics without the ids it may hold: "etks",
// "jwks", "jwk", "keyholders" or "other".
func DepotEndpoint(path string) string {
	i := strings.Index(path, "/etee/v1/")
	if i >= 0 {
		path = path[i+len("/etee/v1"):]
	}
	switch {
	case path == "/etks":
		return "etks"
	case path == "/pubKeys/cacerts/jwks":
		return "jwks"
	case strings.HasPrefix(path, "/pubKeys/cacerts/jwks/"):
		return "jwk"
	case strings.HasPrefix(path, "/keyholders/"):
		return "keyholders"
	}
	return "other"
}
