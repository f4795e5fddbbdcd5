package etkra

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	gen "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/soap"
)

var uuidID = regexp.MustCompile(`^_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func response(op ehealth.Operation, status, content string) string {
	if status == "" {
		status = `<c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success"/>`
	}
	return fmt.Sprintf(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>`+
		`<p:%s xmlns:p="%s" xmlns:c="urn:be:fgov:ehealth:commons:core:v2" Id="_resp" IssueInstant="2026-11-29T10:00:01Z"><c:Status>%s</c:Status>%s</p:%s>`+
		`</S:Body></S:Envelope>`, op.Response, op.Namespace, status, content, op.Response)
}

type hit struct {
	path, action string
	body         []byte
}

type fakeEtkRA struct {
	*httptest.Server
	mu    sync.Mutex
	hits  []hit
	reply func(op ehealth.Operation) string
}

func newFake(t *testing.T) *fakeEtkRA {
	f := &fakeEtkRA{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{r.URL.Path, r.Header.Get("SOAPAction"), body})
		f.mu.Unlock()
		op, ok := ehealth.OperationBySOAPAction(r.Header.Get("SOAPAction"))
		if !ok {
			w.WriteHeader(500)
			return
		}
		out := response(op, "", "")
		if f.reply != nil {
			out = f.reply(op)
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeEtkRA) requests() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// markSigner records the bytes it gets and returns them with a stand-in signature before the closing tag.
type markSigner struct {
	got, out map[string][]byte
}

func (s *markSigner) SignRequest(_ context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	if s.got == nil {
		s.got, s.out = map[string][]byte{}, map[string][]byte{}
	}
	s.got[op.Name] = append([]byte(nil), payload...)
	i := bytes.LastIndex(payload, []byte("</"))
	out := append(append(append([]byte(nil), payload[:i]...), `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">SIG</ds:Signature>`...), payload[i:]...)
	s.out[op.Name] = out
	return out, nil
}

func TestEveryOperation(t *testing.T) {
	f := newFake(t)
	f.reply = func(op ehealth.Operation) string {
		switch op.Name {
		case "StartETKRegistration":
			return response(op, "", `<p:Challenge>Y2hhbGxlbmdl</p:Challenge>`)
		case "CompleteETKRegistration":
			return response(op, "", `<p:ETK>ZXRr</p:ETK><p:ToBeActivated>true</p:ToBeActivated>`)
		}
		return response(op, "", "")
	}
	s := &markSigner{}
	now := time.Date(2026, 11, 29, 9, 0, 0, 5e8, time.UTC)
	c := &Client{SOAP: &soap.Client{HTTPClient: f.Client()}, Endpoint: f.URL + "/EtkRa/v2", Signer: s, Now: func() time.Time { return now }}
	ctx := context.Background()

	start := &gen.StartETKRegistrationRequest{PublicEncryptionKey: []byte("spki")}
	sr, err := c.StartETKRegistration(ctx, start)
	if err != nil || string(sr.Challenge) != "challenge" {
		t.Fatalf("start: %+v, %v", sr, err)
	}
	complete := &gen.CompleteETKRegistrationRequest{ToBeRegistered: []byte("cert")}
	cr, err := c.CompleteETKRegistration(ctx, complete)
	if err != nil || string(cr.ETK) != "etk" || cr.ToBeActivated == nil || !*cr.ToBeActivated {
		t.Fatalf("complete: %+v, %v", cr, err)
	}
	activate := &gen.ActivateETKRequest{}
	if _, err := c.ActivateETK(ctx, activate); err != nil {
		t.Fatal(err)
	}

	hits := f.requests()
	if len(hits) != 3 {
		t.Fatalf("%d requests", len(hits))
	}
	for i, x := range []struct {
		op  ehealth.Operation
		req any
		id  string
		iss string
	}{
		{ehealth.StartETKRegistration, start, start.Id, start.IssueInstant.String()},
		{ehealth.CompleteETKRegistration, complete, complete.Id, complete.IssueInstant.String()},
		{ehealth.ActivateETK, activate, activate.Id, activate.IssueInstant.String()},
	} {
		h := hits[i]
		if h.action != `"`+x.op.SOAPAction+`"` || h.path != "/EtkRa/v2" {
			t.Errorf("%s: SOAPAction %s path %s", x.op.Name, h.action, h.path)
		}
		if !uuidID.MatchString(x.id) || x.iss != "2026-11-29T09:00:00.5Z" {
			t.Errorf("%s: Id %q IssueInstant %q", x.op.Name, x.id, x.iss)
		}
		marshalled, _ := xml.Marshal(x.req)
		if !bytes.Equal(s.got[x.op.Name], marshalled) {
			t.Errorf("%s: signer got %s, want %s", x.op.Name, s.got[x.op.Name], marshalled)
		}
		if !bytes.Contains(h.body, append(append([]byte("<soapenv:Body>"), s.out[x.op.Name]...), "</soapenv:Body>"...)) {
			t.Errorf("%s: sent %s, want the signer's output %s", x.op.Name, h.body, s.out[x.op.Name])
		}
	}
	if start.Id == complete.Id || complete.Id == activate.Id {
		t.Error("Ids repeat")
	}
}

func TestNoSignerSendsNothing(t *testing.T) {
	f := newFake(t)
	c := &Client{SOAP: &soap.Client{HTTPClient: f.Client()}, Endpoint: f.URL}
	ctx := context.Background()
	var ms *soap.MissingSignerError
	if _, err := c.StartETKRegistration(ctx, &gen.StartETKRegistrationRequest{}); !errors.As(err, &ms) || ms.Key != ehealth.EHealthAuthentication {
		t.Errorf("start: %v", err)
	}
	if _, err := c.CompleteETKRegistration(ctx, &gen.CompleteETKRegistrationRequest{}); !errors.As(err, &ms) {
		t.Errorf("complete: %v", err)
	}
	if _, err := c.ActivateETK(ctx, &gen.ActivateETKRequest{}); !errors.As(err, &ms) {
		t.Errorf("activate: %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent without a signer", n)
	}
}

func TestStatusErrors(t *testing.T) {
	f := newFake(t)
	f.reply = func(op ehealth.Operation) string {
		return response(op, `<c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Requester"/><c:StatusMessage>already</c:StatusMessage>`+
			`<c:StatusDetail><e:EteeStatusDetail xmlns:e="urn:be:fgov:ehealth:etee:commons:core:v2"><Errors><Code>VALID_ETK_ALREADY_EXISTS</Code>`+
			`<Message>An ETK already exists</Message><Parameters><Name>publicKey</Name><Value>abc</Value></Parameters></Errors></e:EteeStatusDetail></c:StatusDetail>`, "")
	}
	c := &Client{SOAP: &soap.Client{HTTPClient: f.Client()}, Endpoint: f.URL, Signer: &markSigner{}}
	resp, err := c.StartETKRegistration(context.Background(), &gen.StartETKRegistrationRequest{})
	var se *soap.StatusError
	if resp != nil || !errors.As(err, &se) || !se.Has(ehealth.CodeValidETKAlreadyExists) || se.Pending() || soap.Code(err) != "VALID_ETK_ALREADY_EXISTS" {
		t.Fatalf("%+v, %v", resp, err)
	}
	if len(se.Details) != 1 || len(se.Details[0].Parameters) != 1 || se.Details[0].Parameters[0] != (soap.Parameter{Name: "publicKey", Value: "abc"}) {
		t.Errorf("%+v", se.Details)
	}
	if !strings.Contains(err.Error(), "StartETKRegistration") {
		t.Errorf("Error() = %q", err)
	}
}

func TestDefaultEndpoint(t *testing.T) {
	var got string
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
			Body: io.NopCloser(strings.NewReader(response(ehealth.ActivateETK, "", "")))}, nil
	})
	c := &Client{SOAP: &soap.Client{HTTPClient: &http.Client{Transport: rt}}, Signer: &markSigner{}}
	if _, err := c.ActivateETK(context.Background(), &gen.ActivateETKRequest{}); err != nil {
		t.Fatal(err)
	}
	if got != ehealth.Acceptance.EtkRA {
		t.Errorf("default endpoint %s", got)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
