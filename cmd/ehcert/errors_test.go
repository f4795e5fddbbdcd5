package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/flows"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

func TestDescribe(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	manual := false
	for _, tc := range []struct {
		name string
		err  error
		code int
		want []string
	}{
		{"usage", usagef("bad"), exitUsage, []string{"bad", "ehcert help"}},
		{"cobra", errors.New(`unknown flag: --x`), exitUsage, nil},
		{"status", &soap.StatusError{Operation: "GetCertificate", Details: []soap.Detail{{Code: "AUTH_CERT_NOT_FOUND", Message: "no such key"}}},
			exitPlatform, []string{"eHealth code: AUTH_CERT_NOT_FOUND", "step: GetCertificate", "will not help"}},
		{"retryable status", &soap.StatusError{Operation: "GetCertificate", Details: []soap.Detail{{Code: "CERT_NOT_YET_DELIVERED"}}},
			exitPlatform, []string{"may clear by itself"}},
		{"fault", &soap.Fault{Operation: "Revoke", Code: "soapenv:Server", String: "SOA-00001", HTTPStatus: 500}, exitPlatform, []string{"step: Revoke"}},
		{"step with status", &workdirError{dir: "/w d", err: &flows.StepError{Kind: flows.KindCreate, Step: "generate-certificate", Code: "CSR_NOT_VALID",
			Err: &soap.StatusError{Operation: "GenerateCertificate"}}}, exitPlatform,
			[]string{"eHealth code: CSR_NOT_VALID", "step: generate-certificate", "ehcert resume --workdir '/w d'"}},
		{"step network", &flows.StepError{Step: "certificate", Retryable: true, Err: &soap.TransportError{Operation: "GetCertificate", Err: netErr}},
			exitUnreachable, []string{`step "certificate"`, "try again later", "ehcert resume"}},
		{"transport", &soap.TransportError{Operation: "GetCertificate", Err: netErr}, exitUnreachable, []string{"try again later"}},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), exitUnreachable, nil},
		{"proxy 503", &soap.HTTPError{Operation: "GetCertificate", StatusCode: 503}, exitUnreachable, nil},
		{"depot 500", &etkdepot.APIError{Op: "GET /etks", StatusCode: 500}, exitUnreachable, nil},
		{"depot 400", &etkdepot.APIError{Op: "GET /etks", StatusCode: 400, Code: "E1"}, exitPlatform, []string{"eHealth code: E1"}},
		{"p12 password", fmt.Errorf("eID: %w", sign.ErrIncorrectPassword), exitCredentials, []string{"password is wrong"}},
		{"keystore password", fmt.Errorf("ks: %w", keystore.ErrWrongPassword), exitCredentials, nil},
		{"flows password", &flows.StepError{Step: "auth-key", Err: flows.ErrWrongPassword}, exitCredentials, []string{"ehcert resume"}},
		{"missing key", &sign.MissingKeyError{Operation: "Revoke"}, exitCredentials, nil},
		{"pending", &workdirError{dir: "/w", err: &flows.PendingError{Kind: flows.KindCreate, Since: time.Now(), AutomaticallyValidated: &manual}},
			exitPending, []string{"operator", "ehcert resume --workdir /w"}},
		{"foreigner pending", &flows.PendingError{Kind: flows.KindForeigner, ValidationURL: "https://x/v"}, exitPending, []string{"https://x/v"}},
		{"invalid etk", &etk.ValidationError{Problems: []etk.Problem{{Code: "ETK_EXPIRED", Err: errors.New("expired")}}}, exitInvalid, []string{"expired"}},
		{"invalid", &invalidError{errors.New("bad etk")}, exitInvalid, nil},
		{"bad identifier", &flows.StepError{Step: "organization-types", Err: &flows.InvalidIdentifierError{Type: "CBE", ID: "1", Reason: "check digits"}}, exitUsage, nil},
		{"not accepted", &workdirError{dir: "/w", err: &flows.StepError{Step: "accept", Retryable: true, Err: &flows.ContractNotAcceptedError{DN: "CN=x"}}},
			exitFailure, []string{"--accept"}},
		{"interrupted", context.Canceled, exitFailure, []string{"interrupted"}},
		{"other", errors.New("boom"), exitFailure, []string{"boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, lines := describe(tc.err)
			text := strings.Join(lines, "\n")
			if code != tc.code {
				t.Errorf("code %d, want %d:\n%s", code, tc.code, text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("message lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	got := htmlToText("<html><body><h1>Contract</h1><p>I, A &amp; B,<br/>accept.</p>\n\n\n<p>  End  </p></body></html>")
	want := "Contract\nI, A & B,\naccept.\n\nEnd"
	if got != want {
		t.Errorf("htmlToText = %q, want %q", got, want)
	}
}

func TestResumeNeeds(t *testing.T) {
	for _, tc := range []struct {
		kind          flows.Kind
		step          string
		done          bool
		eid, password bool
	}{
		{flows.KindCreate, "", false, true, true},
		{flows.KindCreate, "accept", false, true, true},
		{flows.KindCreate, "generate-certificate", false, false, true},
		{flows.KindCreate, "finish", true, false, false},
		{flows.KindRenew, "certificate-info", false, true, true},
		{flows.KindRevoke, "accept", false, true, false},
		{flows.KindForeigner, "submit", false, false, true},
	} {
		eid, pw := resumeNeeds(&flows.ProcessStatus{Kind: tc.kind, Step: tc.step, Done: tc.done})
		if eid != tc.eid || pw != tc.password {
			t.Errorf("%s after %q: eid %v password %v, want %v %v", tc.kind, tc.step, eid, pw, tc.eid, tc.password)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"/tmp/wd": "/tmp/wd", "/a b": "'/a b'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the progress ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgress(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var buf syncBuffer
		p := newProgress(&buf, false, []string{"a", "certificate", "b"})
		p.tty = tty
		log := p.logger().With("process", "x")
		log.Debug("step", "step", "a")
		log.Info("step done", "step", "a")
		log.Debug("step", "step", "certificate")
		log.Debug("certificate not yet delivered", "polls", 1)
		log.Debug("certificate not yet delivered", "polls", 2)
		log.Info("certificate delivered", "serial", "7")
		log.Info("step done", "step", "certificate")
		p.finish()
		out := buf.String()
		for _, w := range []string{"✓ [1/3] a", "✓ [2/3] certificate", "waiting for the certificate", "certificate delivered: serial=7"} {
			if !strings.Contains(out, w) {
				t.Errorf("tty=%v: output lacks %q:\n%q", tty, w, out)
			}
		}
		if !tty && strings.Contains(out, "\r") {
			t.Errorf("live line drawn without a terminal:\n%q", out)
		}
		if strings.Count(out, "waiting for the certificate") > 1 && !tty {
			t.Errorf("wait announced more than once without a terminal:\n%s", out)
		}
	}
}
