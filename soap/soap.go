// Package soap is the SOAP 1.1 transport of the eHealth CertRA v2 and EtkRA v2 services.
//
// It sends an already-marshalled (and possibly signed) request, byte for byte, as the only child of a SOAP Body,
// and turns the answer into either the decoded response or a typed error:
//
//   - *Fault: a SOAP Fault (SOA-03001/2/3 via Fault.EHealthCode);
//   - *HTTPError: an HTTP error status without a SOAP envelope, such as a proxy's HTML 503;
//   - *ResponseTooLargeError: a body larger than Client.MaxResponseBytes;
//   - *StatusError: an eHealth core:Status other than success, with every EteeStatusDetail code
//     (StatusError.Pending for CERT_NOT_YET_DELIVERED);
//   - *ProtocolError: a SOAP envelope that does not hold what the operation returns;
//   - *TransportError: network failures and context cancellation;
//   - *InvalidRequestError, *MissingSignerError, *SignError: the call was refused before anything was sent.
//
// Client.Call sends bytes; Client.Send marshals a request once, has an ehealth.RequestSigner sign it and calls
// Call with the signer's output. The typed clients of packages certra and etkra are built on Send.
//
// Callers use errors.As; IsPending and Code answer the common questions. No error text holds a request body: requests carry national numbers.
package soap

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/ehcert/ehcert/ehealth"
)

// DefaultMaxResponseBytes is the response size limit used when Client.MaxResponseBytes is zero.
const DefaultMaxResponseBytes = 4 << 20

// Client sends SOAP 1.1 requests. The zero value is a working client that uses http.DefaultClient and sends no
// tracing headers. A Client is safe for concurrent use if its fields are not changed while calls are running.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Connections are reused across calls: response
	// bodies are always drained and closed.
	HTTPClient *http.Client
	// UserAgent and From are the tracing headers of cookbook 001 §4.1.2: the User-Agent identifies the software
	// ("myProduct/62.310.4 Technical/3.19.0", see ValidateUserAgent) and From is an e-mail address for emergency
	// contact. Empty values are not sent (net/http then sends its own User-Agent).
	UserAgent, From string
	// MaxResponseBytes bounds the response body; 0 means DefaultMaxResponseBytes. Larger bodies are refused with
	// a *ResponseTooLargeError and are not read beyond the limit.
	MaxResponseBytes int64
	// Observer, when set, is called after every HTTP exchange (successful or not) from the calling goroutine.
	// It must not modify or retain the Exchange's byte slices and headers beyond the call.
	Observer func(*Exchange)
}

// Exchange is one HTTP request and its response, as shown to Client.Observer. It holds no secrets (eHealth
// requests carry no credentials; cookies are removed) but it does hold personal data: the requests contain
// national numbers.
type Exchange struct {
	Operation ehealth.Operation
	URL       string
	Method    string
	// RequestHeader is the header we set on the request.
	RequestHeader http.Header
	// Request is the Body child as sent (the payload without its XML declaration).
	Request []byte
	// StatusCode is the HTTP status, 0 when no response was received.
	StatusCode int
	// ResponseHeader is the response header without Set-Cookie.
	ResponseHeader http.Header
	// Response is the Body child as received; when the response is not a SOAP envelope it is the whole
	// (bounded) body, and it is nil when the body was too large.
	Response []byte
	// Duration runs from sending the request to reading the end of the response.
	Duration time.Duration
	// Err is the error Call returns.
	Err error
}

// NewClient returns a client that sends requests with hc (nil means http.DefaultClient) and the tracing headers
// userAgent and from. It fails with an *InvalidHeaderError when userAgent does not follow the cookbook's pattern
// (see ValidateUserAgent) or from is not an e-mail address. It makes no network call.
func NewClient(hc *http.Client, userAgent, from string) (*Client, error) {
	if err := ValidateUserAgent(userAgent); err != nil {
		return nil, err
	}
	if err := ValidateFrom(from); err != nil {
		return nil, err
	}
	return &Client{HTTPClient: hc, UserAgent: userAgent, From: from}, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) maxResponseBytes() int64 {
	if c.MaxResponseBytes > 0 {
		return c.MaxResponseBytes
	}
	return DefaultMaxResponseBytes
}

// InvalidRequestError reports a call that cannot be sent: no endpoint, an empty payload, or invalid tracing
// headers set directly on the Client. Nothing was sent.
type InvalidRequestError struct {
	Operation string
	Reason    string
	Err       error
}

// Error describes the failure without request content.
func (e *InvalidRequestError) Error() string {
	s := "soap: " + e.Operation + ": invalid request: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *InvalidRequestError) Unwrap() error { return e.Err }

// Call sends payload to endpoint as operation op and decodes the response's Body child into resp (a pointer to
// the generated response type; nil to ignore the content).
//
// payload is a single XML element, already marshalled and possibly signed. It is sent byte for byte as the only
// child of the SOAP Body; only a leading byte order mark and XML declaration are removed. It is never
// re-marshalled or re-indented, so an enveloped signature stays valid.
//
// The request is a POST with Content-Type "text/xml; charset=utf-8", the header SOAPAction: "<op.SOAPAction>"
// (in double quotes), and the Client's User-Agent and From. For an operation with op.HasStatus, a core:Status
// other than ehealth.StatusSuccess is returned as a *StatusError, and a missing one as a *ProtocolError. See the
// package documentation for the other errors. When ctx is done, the error wraps ctx.Err().
func (c *Client) Call(ctx context.Context, endpoint string, op ehealth.Operation, payload []byte, resp any) error {
	name := opName(op)
	if endpoint == "" {
		return &InvalidRequestError{Operation: name, Reason: "no endpoint"}
	}
	if err := ValidateUserAgent(c.UserAgent); err != nil {
		return &InvalidRequestError{Operation: name, Reason: "User-Agent", Err: err}
	}
	if err := ValidateFrom(c.From); err != nil {
		return &InvalidRequestError{Operation: name, Reason: "From", Err: err}
	}
	body := stripDeclaration(payload)
	if len(body) == 0 || body[0] != '<' {
		return &InvalidRequestError{Operation: name, Reason: "the payload is not an XML element"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(buildEnvelope(body)))
	if err != nil {
		return &InvalidRequestError{Operation: name, Reason: "endpoint", Err: err}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+op.SOAPAction+`"`)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.From != "" {
		req.Header.Set("From", c.From)
	}

	ex := &Exchange{Operation: op, URL: endpoint, Method: req.Method, RequestHeader: req.Header.Clone(), Request: body}
	start := time.Now()
	err = c.exchange(ctx, req, op, ex, resp)
	ex.Duration = time.Since(start)
	ex.Err = err
	if c.Observer != nil {
		c.Observer(ex)
	}
	return err
}

// exchange sends req and interprets the response, filling ex.
func (c *Client) exchange(ctx context.Context, req *http.Request, op ehealth.Operation, ex *Exchange, resp any) error {
	name := opName(op)
	res, err := c.httpClient().Do(req)
	if err != nil {
		return transportError(ctx, name, err)
	}
	defer closeBody(res.Body)
	ex.StatusCode = res.StatusCode
	ex.ResponseHeader = res.Header.Clone()
	ex.ResponseHeader.Del("Set-Cookie")

	limit := c.maxResponseBytes()
	if res.ContentLength > limit {
		return &ResponseTooLargeError{Operation: name, Limit: limit, ContentLength: res.ContentLength}
	}
	var buf bytes.Buffer
	if res.ContentLength > 0 {
		buf.Grow(int(res.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return transportError(ctx, name, err)
	}
	if n > limit {
		return &ResponseTooLargeError{Operation: name, Limit: limit, ContentLength: res.ContentLength}
	}
	raw, err := interpret(op, res.StatusCode, res.Header, buf.Bytes(), resp)
	ex.Response = raw
	return err
}

// transportError wraps a failure of the HTTP exchange; when ctx is done, its error is the cause.
func transportError(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		err = cerr
	}
	return &TransportError{Operation: op, Err: err}
}

// closeBody drains a bounded rest of the body so that the connection can be reused, then closes it. A body with
// more left than that is closed unread (the connection is then dropped, which is cheaper than reading it).
func closeBody(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	_ = b.Close()
}
