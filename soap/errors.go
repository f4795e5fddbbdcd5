package soap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/ehcert/ehcert/ehealth"
)

// Errors never hold request bodies: requests carry national numbers. Fields that hold server text are bounded.

// Fault is a SOAP 1.1 Fault returned by the server.
type Fault struct {
	// Operation is the name of the operation that failed.
	Operation string
	// Code is the faultcode as sent, such as "soapenv:Server" or "SOA-03001".
	Code string
	// String is the faultstring.
	String string
	// Actor is the faultactor, usually empty.
	Actor string
	// Detail is the content of the detail element as received (inner XML), or nil.
	Detail []byte
	// HTTPStatus is the HTTP status of the response (usually 500).
	HTTPStatus int
	// Header is the HTTP response header.
	Header http.Header
}

// Error describes the failure without request content.
func (f *Fault) Error() string {
	s := "soap: " + f.Operation + ": fault " + f.Code
	if f.String != "" {
		s += ": " + truncate(f.String, 256)
	}
	if c := f.EHealthCode(); c != "" && !strings.Contains(s, c) {
		s += " (" + c + ")"
	}
	return s
}

var soaCode = regexp.MustCompile(`SOA-[0-9]{5}`)

// EHealthCode returns the eHealth fault code carried in the fault's code, string or detail (in that order), such
// as ehealth.FaultMalformed ("SOA-03001"), ehealth.FaultNotSOAP ("SOA-03002") or ehealth.FaultMissingBody
// ("SOA-03003"); any "SOA-" followed by five digits is recognised. It returns "" when there is none.
func (f *Fault) EHealthCode() string {
	for _, s := range []string{f.Code, f.String, string(f.Detail)} {
		if c := soaCode.FindString(s); c != "" {
			return c
		}
	}
	return ""
}

// HTTPError reports an HTTP error status whose body is not a SOAP envelope, such as an HTML page from a proxy.
type HTTPError struct {
	// Operation is the name of the operation that failed.
	Operation string
	// StatusCode is the HTTP status code.
	StatusCode int
	// ContentType is the response Content-Type.
	ContentType string
	// Excerpt is the start of the response body (at most 512 bytes, valid UTF-8).
	Excerpt string
	// Header is the HTTP response header.
	Header http.Header
}

// Error describes the failure without request content.
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("soap: %s: HTTP %d %s", e.Operation, e.StatusCode, http.StatusText(e.StatusCode))
	if e.ContentType != "" {
		s += " (" + truncate(e.ContentType, 64) + ")"
	}
	return s
}

// Temporary reports whether the status suggests that the same request may succeed later (429, 502, 503, 504).
func (e *HTTPError) Temporary() bool {
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ResponseTooLargeError reports a response body larger than Client.MaxResponseBytes. The body was not read
// beyond the limit.
type ResponseTooLargeError struct {
	Operation string
	// Limit is the limit that was exceeded.
	Limit int64
	// ContentLength is the announced length, or -1 when the server did not announce one.
	ContentLength int64
}

// Error describes the failure without request content.
func (e *ResponseTooLargeError) Error() string {
	if e.ContentLength >= 0 {
		return fmt.Sprintf("soap: %s: response of %d bytes exceeds the limit of %d bytes", e.Operation, e.ContentLength, e.Limit)
	}
	return fmt.Sprintf("soap: %s: response exceeds the limit of %d bytes", e.Operation, e.Limit)
}

// Parameter is a name/value pair of an EteeStatusDetail error.
type Parameter struct {
	Name, Value string
}

// Detail is one error of an EteeStatusDetail: a code such as "CSR_NOT_VALID", its message and parameters.
type Detail struct {
	Code, Message string
	Parameters    []Parameter
}

// StatusError reports an eHealth core:Status whose code is not ehealth.StatusSuccess.
type StatusError struct {
	// Operation is the name of the operation that failed.
	Operation string
	// StatusCodes are the StatusCode values, outermost first (nested StatusCodes follow their parent).
	StatusCodes []string
	// Message is the StatusMessage, if any.
	Message string
	// Details are the errors of every EteeStatusDetail, in document order.
	Details []Detail
}

// Error describes the failure without request content.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("soap: ")
	b.WriteString(e.Operation)
	b.WriteString(": status")
	if len(e.StatusCodes) > 0 {
		b.WriteString(" ")
		b.WriteString(strings.Join(e.StatusCodes, " / "))
	}
	if codes := e.Codes(); len(codes) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(codes, ", "))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(truncate(e.Message, 256))
	}
	return b.String()
}

// Codes returns the error codes of every detail, in order.
func (e *StatusError) Codes() []string {
	var out []string
	for _, d := range e.Details {
		if d.Code != "" {
			out = append(out, d.Code)
		}
	}
	return out
}

// Has reports whether one of the details carries code.
func (e *StatusError) Has(code string) bool {
	for _, d := range e.Details {
		if d.Code == code {
			return true
		}
	}
	return false
}

// Pending reports whether the status means "not yet": the certificate is not delivered yet
// (CERT_NOT_YET_DELIVERED) and the same request should be repeated later.
func (e *StatusError) Pending() bool { return e.Has(ehealth.CodeCertNotYetDelivered) }

// Retryable reports whether one of the codes describes a state that may change by itself (ehealth.Retryable).
func (e *StatusError) Retryable() bool {
	for _, d := range e.Details {
		if ehealth.Retryable(d.Code) {
			return true
		}
	}
	return false
}

// ProtocolError reports a successful HTTP response that does not hold what the operation returns: a body that is
// not a SOAP 1.1 envelope, a malformed envelope, no Body child, an unexpected root element, a missing
// core:Status, or content that does not decode.
type ProtocolError struct {
	Operation string
	Reason    string
	// Err is the underlying decoding error, if any.
	Err error
}

// Error describes the failure without request content.
func (e *ProtocolError) Error() string {
	s := "soap: " + e.Operation + ": invalid response: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// TransportError reports a failure to send the request or read the response: a network error, or the
// cancellation of the call's context (errors.Is(err, context.Canceled) then holds).
type TransportError struct {
	Operation string
	Err       error
}

// Error describes the failure without request content.
func (e *TransportError) Error() string { return "soap: " + e.Operation + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// Temporary reports whether sending the same request again may succeed: timeouts of the network (not of the
// caller's context), refused or reset connections, and connections closed before a full response.
func (e *TransportError) Temporary() bool {
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(e.Err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(e.Err, syscall.ECONNREFUSED) || errors.Is(e.Err, syscall.ECONNRESET) ||
		errors.Is(e.Err, syscall.EPIPE) || errors.Is(e.Err, io.ErrUnexpectedEOF) || errors.Is(e.Err, io.EOF)
}

// IsPending reports whether err is a StatusError meaning "not yet delivered" (CERT_NOT_YET_DELIVERED).
func IsPending(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Pending()
}

// Code returns the first eHealth code of err: the first EteeStatusDetail code of a StatusError, or the SOA code
// of a Fault. It returns "" when err carries none.
func Code(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		if c := se.Codes(); len(c) > 0 {
			return c[0]
		}
		return ""
	}
	var f *Fault
	if errors.As(err, &f) {
		return f.EHealthCode()
	}
	return ""
}

// truncate cuts s to at most n bytes on a rune boundary and makes it valid UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
