package etk

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RevocationStatus is the answer of a RevocationChecker.
type RevocationStatus int

const (
	// RevocationUnknown means the status could not be established (the zero value).
	RevocationUnknown RevocationStatus = iota
	// RevocationGood means the certificate is not revoked.
	RevocationGood
	// RevocationRevoked means the certificate is revoked.
	RevocationRevoked
)

// String returns "unknown", "good" or "revoked".
func (s RevocationStatus) String() string {
	switch s {
	case RevocationGood:
		return "good"
	case RevocationRevoked:
		return "revoked"
	}
	return "unknown"
}

// RevocationChecker tells whether cert, issued by issuer, is revoked. Validate calls it only for paths it has
// verified. An error means the status is unknown.
type RevocationChecker interface {
	Check(ctx context.Context, cert, issuer *x509.Certificate) (RevocationStatus, error)
}

// OCSPChecker is a RevocationChecker that asks the certificate's OCSP responder (RFC 6960) over HTTP POST.
// The zero value is usable.
type OCSPChecker struct {
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Responder, when set, overrides the responder URL of the certificates (their AIA OCSP entry).
	Responder string
	// Now returns the current time for the freshness check of responses; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the clock skew tolerated on the response's thisUpdate and nextUpdate; zero means 5 minutes.
	MaxSkew time.Duration
}

// maxOCSPResponse bounds the size of an OCSP response body.
const maxOCSPResponse = 1 << 20

// OCSPError reports a failed OCSP exchange.
type OCSPError struct {
	URL        string // the responder URL
	StatusCode int    // the HTTP status, 0 when the exchange did not get that far
	Err        error
}

// Error describes the failure with the HTTP status, if any; the responder URL stays in the URL field.
func (e *OCSPError) Error() string {
	msg := "etk: OCSP"
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OCSPError) Unwrap() error { return e.Err }

func (c *OCSPChecker) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *OCSPChecker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check sends an OCSP request for cert and returns the status of a response signed by issuer or by a responder
// it delegated (id-kp-OCSPSigning), for this very certificate, and current (thisUpdate not in the future,
// nextUpdate, when present, not in the past). The context's error is returned as is.
func (c *OCSPChecker) Check(ctx context.Context, cert, issuer *x509.Certificate) (RevocationStatus, error) {
	if cert == nil || issuer == nil {
		return RevocationUnknown, errors.New("etk: OCSP: nil certificate")
	}
	url := c.Responder
	if url == "" {
		if len(cert.OCSPServer) == 0 {
			return RevocationUnknown, &OCSPError{Err: fmt.Errorf("certificate %q names no OCSP responder", cert.Subject.String())}
		}
		url = cert.OCSPServer[0]
	}
	reqDER, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return RevocationUnknown, &OCSPError{URL: url, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(reqDER))
	if err != nil {
		return RevocationUnknown, &OCSPError{URL: url, Err: err}
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	req.Header.Set("Accept", "application/ocsp-response")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return RevocationUnknown, ctx.Err()
		}
		return RevocationUnknown, &OCSPError{URL: url, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOCSPResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return RevocationUnknown, ctx.Err()
		}
		return RevocationUnknown, &OCSPError{URL: url, StatusCode: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return RevocationUnknown, &OCSPError{URL: url, StatusCode: resp.StatusCode, Err: errors.New("responder did not answer 200 OK")}
	}
	if len(body) > maxOCSPResponse {
		return RevocationUnknown, &OCSPError{URL: url, StatusCode: resp.StatusCode, Err: errors.New("response too large")}
	}
	r, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return RevocationUnknown, &OCSPError{URL: url, StatusCode: resp.StatusCode, Err: err}
	}
	skew := c.MaxSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	now := c.now()
	if r.ThisUpdate.After(now.Add(skew)) {
		return RevocationUnknown, &OCSPError{URL: url, StatusCode: resp.StatusCode, Err: fmt.Errorf("response thisUpdate %s is in the future", r.ThisUpdate.UTC().Format(time.RFC3339))}
	}
	if !r.NextUpdate.IsZero() && r.NextUpdate.Before(now.Add(-skew)) {
		return RevocationUnknown, &OCSPError{URL: url, StatusCode: resp.StatusCode, Err: fmt.Errorf("response expired at %s (nextUpdate)", r.NextUpdate.UTC().Format(time.RFC3339))}
	}
	switch r.Status {
	case ocsp.Good:
		return RevocationGood, nil
	case ocsp.Revoked:
		return RevocationRevoked, nil
	}
	return RevocationUnknown, nil
}
