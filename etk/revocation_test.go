package etk

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspResponder is a loopback OCSP responder for the test PKI. It answers for the issuers it knows, signing
// with their keys; status maps serial numbers to answers (default good).
type ocspResponder struct {
	t       *testing.T
	srv     *httptest.Server
	issuers []*x509.Certificate
	keys    []crypto.Signer

	mu         sync.Mutex
	status     map[string]int // serial (decimal) -> ocsp.Good/Revoked/Unknown
	httpStatus int            // when not 0, answer this HTTP status
	body       []byte         // when not nil, answer these bytes
	signWith   crypto.Signer  // when not nil, sign every response with this key (a wrong responder)
	thisUpdate time.Time
	nextUpdate time.Time
	requests   int
}

func newOCSPResponder(t *testing.T, issuers []*x509.Certificate, keys []crypto.Signer) *ocspResponder {
	r := &ocspResponder{t: t, issuers: issuers, keys: keys, status: map[string]int{},
		thisUpdate: time.Now().Add(-time.Hour), nextUpdate: time.Now().Add(time.Hour)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *ocspResponder) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/ocsp-request" {
		r.t.Errorf("OCSP request %s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	if r.httpStatus != 0 {
		w.WriteHeader(r.httpStatus)
		return
	}
	if r.body != nil {
		w.Write(r.body)
		return
	}
	body, _ := io.ReadAll(req.Body)
	or, err := ocsp.ParseRequest(body)
	if err != nil {
		r.t.Errorf("bad OCSP request: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for i, iss := range r.issuers {
		var spki struct {
			Algorithm asn1.RawValue
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(iss.RawSubjectPublicKeyInfo, &spki); err != nil {
			r.t.Fatal(err)
		}
		h := sha1.Sum(spki.PublicKey.RightAlign())
		if !bytes.Equal(h[:], or.IssuerKeyHash) {
			continue
		}
		key := r.keys[i]
		if r.signWith != nil {
			key = r.signWith
		}
		st, ok := r.status[or.SerialNumber.String()]
		if !ok {
			st = ocsp.Good
		}
		resp, err := ocsp.CreateResponse(iss, iss, ocsp.Response{
			Status:       st,
			SerialNumber: or.SerialNumber,
			ThisUpdate:   r.thisUpdate,
			NextUpdate:   r.nextUpdate,
			RevokedAt:    r.thisUpdate,
		}, key)
		if err != nil {
			r.t.Errorf("CreateResponse: %v", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
		return
	}
	w.Write(ocsp.UnauthorizedErrorResponse)
}

func (r *ocspResponder) set(f func(r *ocspResponder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func TestOCSPChecker(t *testing.T) {
	p := getPKI(t)
	resp := newOCSPResponder(t, []*x509.Certificate{p.ca, p.root}, []crypto.Signer{p.caKey, p.rootKey})
	tmpl := authTemplate(t)
	tmpl.OCSPServer = []string{resp.srv.URL}
	leaf := issue(t, tmpl, p.ca, &rsaKey(t, 4).PublicKey, p.caKey)
	noURL := issue(t, authTemplate(t), p.ca, &rsaKey(t, 4).PublicKey, p.caKey)
	checker := &OCSPChecker{HTTPClient: resp.srv.Client()}
	ctx := context.Background()

	tests := []struct {
		name    string
		setup   func(r *ocspResponder)
		cert    *x509.Certificate
		checker *OCSPChecker
		want    RevocationStatus
		wantErr bool
	}{
		{name: "good", want: RevocationGood},
		{name: "revoked", setup: func(r *ocspResponder) { r.status[leaf.SerialNumber.String()] = ocsp.Revoked }, want: RevocationRevoked},
		{name: "unknown", setup: func(r *ocspResponder) { r.status[leaf.SerialNumber.String()] = ocsp.Unknown }, want: RevocationUnknown},
		{name: "HTTP error", setup: func(r *ocspResponder) { r.httpStatus = http.StatusServiceUnavailable }, wantErr: true},
		{name: "garbage response", setup: func(r *ocspResponder) { r.body = []byte("garbage") }, wantErr: true},
		{name: "signed by a stranger", setup: func(r *ocspResponder) { r.signWith = p.raKey }, wantErr: true},
		{name: "stale response", setup: func(r *ocspResponder) {
			r.thisUpdate, r.nextUpdate = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
		}, wantErr: true},
		{name: "response from the future", setup: func(r *ocspResponder) {
			r.thisUpdate, r.nextUpdate = time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour)
		}, wantErr: true},
		{name: "no responder URL", cert: noURL, wantErr: true},
		{name: "responder override", cert: noURL, checker: &OCSPChecker{HTTPClient: resp.srv.Client(), Responder: resp.srv.URL}, want: RevocationGood},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp.set(func(r *ocspResponder) {
				r.status, r.httpStatus, r.body, r.signWith = map[string]int{}, 0, nil, nil
				r.thisUpdate, r.nextUpdate = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
				if tc.setup != nil {
					tc.setup(r)
				}
			})
			c, cert := checker, leaf
			if tc.checker != nil {
				c = tc.checker
			}
			if tc.cert != nil {
				cert = tc.cert
			}
			st, err := c.Check(ctx, cert, p.ca)
			if tc.wantErr {
				var oe *OCSPError
				if !errors.As(err, &oe) || st != RevocationUnknown {
					t.Fatalf("Check = %v, %v; want unknown and *OCSPError", st, err)
				}
				return
			}
			if err != nil || st != tc.want {
				t.Fatalf("Check = %v, %v; want %v", st, err, tc.want)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := checker.Check(ctx, leaf, p.ca); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// Validate with the OCSP checker: every certificate of the verified path is asked about.
func TestValidateWithOCSP(t *testing.T) {
	p := getPKI(t)
	resp := newOCSPResponder(t, []*x509.Certificate{p.ca, p.root}, []crypto.Signer{p.caKey, p.rootKey})
	s := newSpec(t)
	s.authTmpl.SerialNumber = big.NewInt(777001)
	s.opts.Revocation = &OCSPChecker{HTTPClient: resp.srv.Client(), Responder: resp.srv.URL}
	e, err := Parse(s.build(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(s.opts); err != nil {
		t.Fatalf("Validate (all good): %v", err)
	}
	var n int
	resp.set(func(r *ocspResponder) { n = r.requests })
	if n != 2 {
		t.Errorf("%d OCSP requests, want 2 (authentication certificate and its CA)", n)
	}

	resp.set(func(r *ocspResponder) { r.status["777001"] = ocsp.Revoked })
	var ve *ValidationError
	if err := e.Validate(s.opts); !errors.As(err, &ve) || !ve.Has(CodeAuthCertRevoked) {
		t.Fatalf("Validate (revoked): %v, want %s", err, CodeAuthCertRevoked)
	}

	resp.set(func(r *ocspResponder) {
		r.status["777001"] = ocsp.Good
		r.status[p.ca.SerialNumber.String()] = ocsp.Unknown
	})
	if err := e.Validate(s.opts); !errors.As(err, &ve) || !ve.Has(CodeAuthCertStatusUnknown) || ve.Has(CodeAuthCertRevoked) {
		t.Fatalf("Validate (CA unknown): %v, want only %s", err, CodeAuthCertStatusUnknown)
	}
}
