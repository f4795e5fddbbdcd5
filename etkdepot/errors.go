package etkdepot

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is matched (with errors.Is) by every "the depot has nothing for this" outcome: an empty answer,
// an HTTP 404, and Select finding no entry for an application id.
var ErrNotFound = errors.New("etkdepot: not found")

// ErrNoETKValidator is returned by ETKs when the client has no way to validate ETKs (Client.ValidateETK,
// Client.ETKOptions and Client.Roots all nil): the client never hands out an ETK it could not validate.
var ErrNoETKValidator = errors.New("etkdepot: no ETK validation configured (Client.ValidateETK, ETKOptions and Roots are nil); refusing to return unvalidated ETKs")

// ErrNoRoots is returned when JWK sets must be verified without trust anchors (Client.Roots or
// VerifyOptions.Roots is nil).
var ErrNoRoots = errors.New("etkdepot: no trust anchors for x5c chains")

// APIError is a depot answer other than HTTP 200. The cookbook (§8.1) documents 400 (incorrect request) and 500
// (internal error); the body format is not public, so Code and Message are read from a `{code, message}` object
// or from RFC 7807 problem details when the body is one of those, and are empty otherwise.
type APIError struct {
	// Op is the operation ("GET /etks").
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the error code the server gave (e.g. "SOA-03001"), or the problem type or title.
	Code string
	// Message is the server's message (message or detail).
	Message string
	// Body is at most the first 512 bytes of the response body, as received.
	Body []byte
	// Header is the response header.
	Header http.Header
}

// Error implements the error interface.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "etkdepot: %s: HTTP %d", e.Op, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(printable(e.Code, 64))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(printable(e.Message, 200))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for an HTTP 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Temporary reports whether the failure is on the server's side (5xx) or a rate limit (429): the same request
// may succeed later, and a cached answer may be served meanwhile.
func (e *APIError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// ResponseTooLargeError is returned when a response body exceeds Client.MaxResponseBytes. The body is not read
// past the limit.
type ResponseTooLargeError struct {
	Op    string
	Limit int64
	// ContentLength is the announced length, or -1 when the server did not announce one.
	ContentLength int64
}

// Error implements the error interface.
func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("etkdepot: %s: response larger than the limit of %d bytes", e.Op, e.Limit)
}

// DecodeError is a response (or cached entry) that is not what the API describes: not JSON, wrong shape, bad
// base64.
type DecodeError struct {
	Op     string
	Reason string
	Err    error
}

// Error implements the error interface.
func (e *DecodeError) Error() string {
	s := "etkdepot: " + e.Op + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// QueryError is a lookup the client refuses to send: an empty kid, a use other than sig/enc, an invalid tracing
// header. Identifier problems are the ehealth package's typed errors (*ehealth.UnknownIdentifierTypeError,
// *ehealth.InvalidIdentifierError), wrapped.
type QueryError struct {
	Field, Value, Reason string
}

// Error implements the error interface.
func (e *QueryError) Error() string {
	return fmt.Sprintf("etkdepot: invalid %s %q: %s", e.Field, printable(e.Value, 80), e.Reason)
}

// MismatchError says that an item of the depot's answer is for another identifier than the one asked for.
type MismatchError struct {
	Want, Got Identity
}

// Error implements the error interface.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("etkdepot: answer is for %s, not %s", e.Got, e.Want)
}

// Rejection is one item of a depot answer that the client refused, with the reason.
type Rejection struct {
	// Index is the position of the item in the depot's answer.
	Index int
	// ID names the item: the kid of a JWK, the identifier of an ETK.
	ID string
	// Err is why it was refused (*MismatchError, *DecodeError, a validation or x509 error, ...).
	Err error
}

// Error implements the error interface.
func (r Rejection) Error() string {
	return fmt.Sprintf("item %d (%s): %v", r.Index, printable(r.ID, 80), r.Err)
}

// Unwrap returns the cause.
func (r Rejection) Unwrap() error { return r.Err }

// RejectedError is returned when the depot answered with items and every one of them was refused.
type RejectedError struct {
	Op         string
	Rejections []Rejection
}

// Error implements the error interface.
func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "etkdepot: %s: all %d item(s) of the answer refused", e.Op, len(e.Rejections))
	for i, r := range e.Rejections {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Rejections)-3)
			break
		}
		b.WriteString("; ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// Unwrap returns the reasons, so that errors.As finds, for example, a *MismatchError.
func (e *RejectedError) Unwrap() []error {
	out := make([]error, len(e.Rejections))
	for i, r := range e.Rejections {
		out[i] = r
	}
	return out
}

// AmbiguousError is returned by Select when several entries answer the application id asked for.
type AmbiguousError struct {
	ApplicationID string
	Candidates    []Entry
}

// Error implements the error interface.
func (e *AmbiguousError) Error() string {
	ids := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		ids[i] = c.Identity.String()
	}
	return fmt.Sprintf("etkdepot: %d ETKs match application id %q: %s", len(e.Candidates), e.ApplicationID,
		strings.Join(ids, ", "))
}

// UnknownKeyError is returned by KeyByID when the JWK set has no key with the kid, after a refetch or when the
// set was fetched too recently to be fetched again (NextRefetch says when it may be).
type UnknownKeyError struct {
	KID string
	// NextRefetch is the earliest moment a new fetch of the set is allowed; zero when the set was just fetched.
	NextRefetch time.Time
}

// Error implements the error interface.
func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("etkdepot: no key with kid %q in the JWK set", printable(e.KID, 80))
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrNotFound }

// transportError is a request that got no HTTP answer (connection refused, TLS failure, timeout). A cached entry
// may be served stale in its place.
type transportError struct {
	op  string
	err error
}

// Error leaves the request URL out (its query holds identifiers such as national numbers); Unwrap gives the
// *url.Error with it.
func (e *transportError) Error() string {
	var ue *url.Error
	if errors.As(e.err, &ue) && ue.Err != nil {
		return "etkdepot: " + e.op + ": " + ue.Err.Error()
	}
	return "etkdepot: " + e.op + ": " + e.err.Error()
}
func (e *transportError) Unwrap() error { return e.err }

// printable cuts s to at most n bytes on a rune boundary and replaces control characters, for error texts.
func printable(s string, n int) string {
	if len(s) > n {
		s = s[:n]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
