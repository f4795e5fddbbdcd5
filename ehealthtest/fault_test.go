package ehealthtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/soap"
)

// Each fault kind reaches the client as the error a real network or proxy would cause, and the operation works
// again once the fault is used up.
func TestFaultInjection(t *testing.T) {
	e := newEnv(t)
	c := e.certra(nil)
	c.SOAP.MaxResponseBytes = 1 << 20
	call := func(ctx context.Context) error {
		_, err := c.GetGenericOrganizationTypes(ctx, &gen.GetGenericOrganizationTypesRequest{})
		return err
	}
	for _, tc := range []struct {
		name  string
		fault ehealthtest.Fault
		check func(t *testing.T, err error)
	}{
		{"Drop", ehealthtest.Fault{Kind: ehealthtest.Drop}, func(t *testing.T, err error) {
			var te *soap.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("want a transport error, got %v", err)
			}
		}},
		{"DropAfter", ehealthtest.Fault{Kind: ehealthtest.DropAfter}, func(t *testing.T, err error) {
			var te *soap.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("want a transport error, got %v", err)
			}
		}},
		{"HTTP500Fault", ehealthtest.Fault{Kind: ehealthtest.HTTP500Fault}, func(t *testing.T, err error) {
			var f *soap.Fault
			if !errors.As(err, &f) || f.HTTPStatus != http.StatusInternalServerError || f.EHealthCode() != "SOA-00001" || f.Code != "soapenv:Server" {
				t.Fatalf("want a server SOAP fault, got %v", err)
			}
		}},
		{"HTML503", ehealthtest.Fault{Kind: ehealthtest.HTML503, RetryAfter: "7"}, func(t *testing.T, err error) {
			var he *soap.HTTPError
			if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable || !he.Temporary() || he.Header.Get("Retry-After") != "7" {
				t.Fatalf("want HTTP 503, got %v", err)
			}
		}},
		{"Garbage", ehealthtest.Fault{Kind: ehealthtest.Garbage}, func(t *testing.T, err error) {
			var pe *soap.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("want a protocol error, got %v", err)
			}
		}},
		{"Truncated", ehealthtest.Fault{Kind: ehealthtest.Truncated}, func(t *testing.T, err error) {
			var te *soap.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("want a transport error, got %v", err)
			}
		}},
		{"Oversized", ehealthtest.Fault{Kind: ehealthtest.Oversized, Size: 8 << 20}, func(t *testing.T, err error) {
			var tl *soap.ResponseTooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("want a too-large error, got %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.Inject("GetGenericOrganizationTypes", tc.fault)
			tc.check(t, call(e.ctx))
			if err := call(e.ctx); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}

	// N failures then success; other operations are not affected.
	e.srv.Inject("getgenericorganizationtypes", ehealthtest.Fault{Kind: ehealthtest.HTTP500Fault, Times: 2})
	if _, err := c.GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{OrganizationIdentifier: &gen.IdType{Type: "CBE", Value: "0123456749"}}); err != nil {
		t.Fatalf("another operation: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := call(e.ctx); err == nil {
			t.Fatalf("failure %d did not happen", i+1)
		}
	}
	if err := call(e.ctx); err != nil {
		t.Fatalf("after 2 failures: %v", err)
	}

	// A delay the client does not wait for, then one it does.
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Delay, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	err := call(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delay: %v", err)
	}
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Delay, Delay: time.Millisecond})
	if err := call(e.ctx); err != nil {
		t.Fatalf("short delay: %v", err)
	}

	// Forever, until cleared; TargetAll.
	e.srv.Inject(ehealthtest.TargetAll, ehealthtest.Fault{Kind: ehealthtest.HTML503, Times: -1})
	for i := 0; i < 3; i++ {
		if err := call(e.ctx); err == nil {
			t.Fatal("TargetAll did not apply")
		}
	}
	e.srv.ClearFaults()
	if err := call(e.ctx); err != nil {
		t.Fatal(err)
	}

	var injected int
	for _, r := range e.srv.Requests() {
		if r.Injected != 0 {
			injected++
		}
	}
	if injected != 14 {
		t.Errorf("%d injected exchanges recorded", injected)
	}
}

// A DropAfter fault changes the state although the client got no answer: the retry finds the key taken.
func TestLostResponse(t *testing.T) {
	e := newEnv(t)
	e.srv.Inject("GenerateCertificate", ehealthtest.Fault{Kind: ehealthtest.DropAfter})
	r, err := e.requestCertificate(e.eid, subjectSpec{})
	if err == nil {
		t.Fatal("the response was not lost")
	}
	if _, ok := e.srv.Registration(pkiOf(t, r.key)); !ok {
		t.Fatal("the request was not processed")
	}
	e.getCertificate(pkiOf(t, r.key))
}

// REST endpoints have faults too.
func TestDepotFaults(t *testing.T) {
	e := newEnv(t)
	hc := e.srv.Client()
	url := e.srv.Environment().ETKDepot + "/etks?identifier=0123456749&type=CBE"
	get := func() (*http.Response, error) {
		resp, err := hc.Get(url)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	e.srv.Inject(ehealthtest.TargetETKs, ehealthtest.Fault{Kind: ehealthtest.HTTP500Fault})
	if resp, err := get(); err != nil || resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("500: %v %v", resp, err)
	}
	e.srv.Inject(ehealthtest.TargetETKs, ehealthtest.Fault{Kind: ehealthtest.Truncated})
	if _, err := get(); err == nil {
		t.Fatal("truncated body read without error")
	}
	e.srv.Inject(ehealthtest.TargetETKs, ehealthtest.Fault{Kind: ehealthtest.Drop})
	if _, err := get(); err == nil {
		t.Fatal("dropped connection without error")
	}
	if resp, err := get(); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the faults: %v %v", resp, err)
	}
}

// A Rewrite fault hands the platform's answer to the test, sends what the test returns, and records what was
// sent; the request is processed as usual.
func TestRewriteFault(t *testing.T) {
	e := newEnv(t)
	c := e.certra(nil)
	types := func() (*gen.GetGenericOrganizationTypesResponse, error) {
		return c.GetGenericOrganizationTypes(e.ctx, &gen.GetGenericOrganizationTypesRequest{})
	}
	last := func() ehealthtest.RecordedRequest {
		r := e.srv.Requests()
		return r[len(r)-1]
	}
	clean, err := types()
	if err != nil {
		t.Fatal(err)
	}
	plain := last()

	// The identity: the function sees the operation and the Body child; what is recorded is what it returned,
	// read as the server reads its own answers.
	var mu sync.Mutex
	var seen []string
	var seenBody []byte
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(target string, body []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, target)
		seenBody = body
		return body
	}})
	if _, err := types(); err != nil {
		t.Fatal(err)
	}
	r := last()
	if len(seen) != 1 || seen[0] != "GetGenericOrganizationTypes" || !bytes.HasPrefix(seenBody, []byte("<GetGenericOrganizationTypesResponse ")) {
		t.Fatalf("the rewrite saw %q: %.80s", seen, seenBody)
	}
	if r.Injected != ehealthtest.Rewrite || !bytes.Equal(r.Payload, seenBody) || r.Status != plain.Status || r.Status != ehealth.StatusSuccess ||
		r.StatusCode != http.StatusOK || len(r.Codes) != 0 || r.IsFault() || !bytes.Contains(r.Response, seenBody) {
		t.Errorf("recorded: %+v", r)
	}

	// Used up after Times requests (0 means 1).
	if _, err := types(); err != nil || last().Injected != 0 || len(seen) != 1 {
		t.Fatalf("the rewrite applied twice: %v, %d calls", err, len(seen))
	}

	// An element this version does not know: the call still succeeds, what it knows is read, and the recorded
	// response is the one sent.
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(_ string, body []byte) []byte {
		i := bytes.LastIndex(body, []byte("</"))
		return slices.Concat(body[:i], []byte(`<Later xmlns="urn:example:future" Kind="new"><Child/></Later>`), body[i:])
	}})
	got, err := types()
	if err != nil {
		t.Fatalf("with an unknown element: %v", err)
	}
	if len(got.OrganizationType) != len(clean.OrganizationType) || got.OrganizationType[0].IdentifierType != clean.OrganizationType[0].IdentifierType {
		t.Errorf("with an unknown element: %+v", got)
	}
	if r := last(); !bytes.Contains(r.Response, []byte(`<Later xmlns="urn:example:future" Kind="new">`)) || !bytes.Contains(r.Payload, []byte("<Later ")) {
		t.Errorf("the recorded response is not the one sent:\n%s", r.Response)
	}

	// A success turned into a status no version lists: a *soap.StatusError, and the record says so.
	const deferred = "urn:be:fgov:ehealth:3.0:status:Deferred"
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(_ string, body []byte) []byte {
		body = bytes.Replace(body, []byte(`Value="`+ehealth.StatusSuccess+`"`), []byte(`Value="`+deferred+`"`), 1)
		return bytes.Replace(body, []byte(`</StatusCode>`), []byte(`</StatusCode><StatusDetail><EteeStatusDetail xmlns="`+
			ehealth.NSEteeCore+`"><Errors xmlns=""><Code>FUTURE_CODE</Code><Message>m</Message></Errors></EteeStatusDetail></StatusDetail>`), 1)
	}})
	_, err = types()
	var se *soap.StatusError
	if !errors.As(err, &se) || se.StatusCodes[0] != deferred || !se.Has("FUTURE_CODE") {
		t.Fatalf("an unknown status: %v", err)
	}
	if r := last(); r.Status != deferred || strings.Join(r.Codes, ",") != "FUTURE_CODE" {
		t.Errorf("recorded status %q codes %q", r.Status, r.Codes)
	}

	// A rewritten error answer keeps its codes in the record.
	e.srv.Inject("GetCertificate", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(_ string, body []byte) []byte { return body }})
	_, err = c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: bytes.Repeat([]byte{1}, 20)})
	wantCode(t, err, ehealth.CodeAuthCertNotFound)
	if r := last(); r.Injected != ehealthtest.Rewrite || r.Status != ehealth.StatusRequester || strings.Join(r.Codes, ",") != ehealth.CodeAuthCertNotFound {
		t.Errorf("recorded error: %q %q", r.Status, r.Codes)
	}

	// A response turned into a SOAP Fault is sent with HTTP 500.
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(string, []byte) []byte {
		return []byte(`<s:Fault xmlns:s="` + ehealth.NSSOAP11 + `"><faultcode>s:Server</faultcode><faultstring>later</faultstring></s:Fault>`)
	}})
	_, err = types()
	var f *soap.Fault
	if !errors.As(err, &f) || f.HTTPStatus != http.StatusInternalServerError || f.String != "later" {
		t.Fatalf("rewritten into a fault: %v", err)
	}
	if r := last(); !r.IsFault() || r.FaultCode != "s:Server" || r.StatusCode != http.StatusInternalServerError || r.Status != "" {
		t.Errorf("recorded fault: %+v", r)
	}

	// Something that is not XML: a protocol error.
	e.srv.Inject("GetGenericOrganizationTypes", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(string, []byte) []byte { return []byte("<<not xml") }})
	_, err = types()
	var pe *soap.ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("rewritten into garbage: %v", err)
	}

	// The state changes as for an unaltered answer: the certificate request exists although the client was told
	// it failed.
	e.srv.Inject("GenerateCertificate", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(string, []byte) []byte { return []byte("<x/>") }})
	req, err := e.requestCertificate(e.eid, subjectSpec{})
	if err == nil {
		t.Fatal("GenerateCertificate succeeded with an empty answer")
	}
	if _, ok := e.srv.Registration(pkiOf(t, req.key)); !ok {
		t.Fatal("the rewritten request was not processed")
	}

	// REST: the JSON body.
	e.srv.Inject(ehealthtest.TargetETKs, ehealthtest.Fault{Kind: ehealthtest.Rewrite, Rewrite: func(target string, body []byte) []byte {
		if target != ehealthtest.TargetETKs || string(body) != "[]" {
			t.Errorf("REST rewrite got %s %s", target, body)
		}
		return []byte(`[{"future":true}]`)
	}})
	resp, err := e.srv.Client().Get(e.srv.Environment().ETKDepot + "/etks?identifier=0123456749&type=CBE")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != `[{"future":true}]` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("REST rewrite: HTTP %d %s", resp.StatusCode, body)
	}

	// A Rewrite fault without a function is a mistake in the test.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Inject accepted a Rewrite fault without Rewrite")
			}
		}()
		e.srv.Inject("GetCertificate", ehealthtest.Fault{Kind: ehealthtest.Rewrite})
	}()
}
