package ehealthtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

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
