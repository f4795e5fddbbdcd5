package certra

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/soap"
	"github.com/ehcert/ehcert/xsd"
)

var uuidID = regexp.MustCompile(`^_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const okStatus = `<c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success"/></c:Status>`

// response returns a response of op with content after the status.
func response(op ehealth.Operation, content string) string {
	status := ""
	if op.HasStatus {
		status = okStatus
	}
	return fmt.Sprintf(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>`+
		`<p:%s xmlns:p="%s" xmlns:c="urn:be:fgov:ehealth:commons:core:v2" Id="_resp" InResponseTo="_req" IssueInstant="2026-11-29T10:00:01.000+01:00">%s%s</p:%s>`+
		`</S:Body></S:Envelope>`, op.Response, op.Namespace, status, content, op.Response)
}

type hit struct {
	path, action string
	body         []byte
}

// fakeCertRA answers every operation with success, or with reply when it returns a non-empty body.
type fakeCertRA struct {
	*httptest.Server
	mu    sync.Mutex
	hits  []hit
	reply func(op ehealth.Operation) string
}

func newFake(t *testing.T) *fakeCertRA {
	f := &fakeCertRA{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{r.URL.Path, r.Header.Get("SOAPAction"), body})
		reply := f.reply
		f.mu.Unlock()
		op, ok := ehealth.OperationBySOAPAction(r.Header.Get("SOAPAction"))
		if !ok {
			w.WriteHeader(500)
			return
		}
		out := ""
		if reply != nil {
			out = reply(op)
		}
		if out == "" {
			out = response(op, "")
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeCertRA) requests() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// markSigner stands in for sign.Keyring: it records the bytes it gets and returns them with a marker element
// inserted before the closing tag, as an enveloped signature would be.
type markSigner struct {
	mu  sync.Mutex
	got map[string][]byte
	out map[string][]byte
}

func (s *markSigner) SignRequest(_ context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		s.got, s.out = map[string][]byte{}, map[string][]byte{}
	}
	s.got[op.Name] = append([]byte(nil), payload...)
	if !op.Signed() {
		return payload, nil
	}
	i := bytes.LastIndex(payload, []byte("</"))
	out := append(append(append([]byte(nil), payload[:i]...), `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">`+op.Key.String()+`</ds:Signature>`...), payload[i:]...)
	s.out[op.Name] = out
	return out, nil
}

var fixedNow = time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

// every calls every method of c with an empty request and returns the requests (after the call) by operation.
func every(ctx context.Context, c *Client) (map[string]any, map[string]error) {
	reqs := map[string]any{}
	errs := map[string]error{}
	run := func(op ehealth.Operation, req any, f func() error) {
		reqs[op.Name] = req
		errs[op.Name] = f()
	}
	{
		r := &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: "12345678901"}}
		run(ehealth.GetActorQualities, r, func() error { _, err := c.GetActorQualities(ctx, r); return err })
	}
	{
		r := &gen.GetGenericOrganizationTypesRequest{}
		run(ehealth.GetGenericOrganizationTypes, r, func() error { _, err := c.GetGenericOrganizationTypes(ctx, r); return err })
	}
	{
		r := &gen.GetExistingApplicationIdsRequest{}
		run(ehealth.GetExistingApplicationIds, r, func() error { _, err := c.GetExistingApplicationIds(ctx, r); return err })
	}
	{
		r := &gen.GenerateContractRequest{}
		run(ehealth.GenerateContract, r, func() error { _, err := c.GenerateContract(ctx, r); return err })
	}
	{
		r := &gen.GenerateCertificateRequest{}
		run(ehealth.GenerateCertificate, r, func() error { _, err := c.GenerateCertificate(ctx, r); return err })
	}
	{
		r := &gen.GetCertificateRequest{PublicKeyIdentifier: bytes.Repeat([]byte{0x3d}, 20)}
		run(ehealth.GetCertificate, r, func() error { _, err := c.GetCertificate(ctx, r); return err })
	}
	{
		r := &gen.GenerateRevocationContractRequest{}
		run(ehealth.GenerateRevocationContract, r, func() error { _, err := c.GenerateRevocationContract(ctx, r); return err })
	}
	{
		r := &gen.RevokeRequest{}
		run(ehealth.Revoke, r, func() error { _, err := c.Revoke(ctx, r); return err })
	}
	{
		r := &gen.SubmitCSRForForeignerRequest{}
		run(ehealth.SubmitCSRForForeigner, r, func() error { _, err := c.SubmitCSRForForeigner(ctx, r); return err })
	}
	{
		r := &gen.GetCertificateInfoForCitizenRequest{}
		run(ehealth.GetCertificateInfoForCitizen, r, func() error { _, err := c.GetCertificateInfoForCitizen(ctx, r); return err })
	}
	{
		r := &gen.GetCertificateInfoForAuthenticationCertificateRequest{}
		run(ehealth.GetCertificateInfoForAuthenticationCertificate, r, func() error {
			_, err := c.GetCertificateInfoForAuthenticationCertificate(ctx, r)
			return err
		})
	}
	return reqs, errs
}

func TestEveryOperation(t *testing.T) {
	f := newFake(t)
	s := &markSigner{}
	c := &Client{SOAP: &soap.Client{HTTPClient: f.Client()}, Endpoint: f.URL + "/CertRa/v2", Signer: s,
		Now: func() time.Time { return fixedNow }}
	reqs, errs := every(context.Background(), c)
	if len(reqs) != 11 {
		t.Fatalf("%d operations called", len(reqs))
	}
	hits := f.requests()
	if len(hits) != 11 {
		t.Fatalf("%d requests sent", len(hits))
	}
	byAction := map[string]hit{}
	for _, h := range hits {
		byAction[h.action] = h
	}
	ids := map[string]bool{}
	for name, req := range reqs {
		op, _ := ehealth.OperationByName(name)
		if errs[name] != nil {
			t.Errorf("%s: %v", name, errs[name])
			continue
		}
		h, ok := byAction[`"`+op.SOAPAction+`"`]
		if !ok {
			t.Errorf("%s: no request with SOAPAction %q", name, op.SOAPAction)
			continue
		}
		if h.path != "/CertRa/v2" {
			t.Errorf("%s: path %s", name, h.path)
		}
		id := fieldString(req, "Id")
		if !uuidID.MatchString(id) || ids[id] {
			t.Errorf("%s: Id %q is not a fresh _uuid", name, id)
		}
		ids[id] = true
		if got := fieldString(req, "IssueInstant"); got != "2026-11-29T10:00:00.123+01:00" {
			t.Errorf("%s: IssueInstant %s", name, got)
		}
		// The signer got exactly the marshalled request, and the transport sent exactly the signer's output.
		marshalled, err := xml.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.got[name], marshalled) {
			t.Errorf("%s: signer got\n%s\nwant\n%s", name, s.got[name], marshalled)
		}
		sent := marshalled
		if op.Signed() {
			sent = s.out[name]
			if !bytes.Contains(sent, []byte(op.Key.String())) {
				t.Fatalf("%s: signer output %s", name, sent)
			}
		}
		if !bytes.Contains(h.body, append(append([]byte("<soapenv:Body>"), sent...), "</soapenv:Body>"...)) {
			t.Errorf("%s: sent\n%s\nwant the Body to hold exactly\n%s", name, h.body, sent)
		}
		if !bytes.Contains(h.body, []byte(`Id="`+id+`"`)) || !bytes.Contains(h.body, []byte(`IssueInstant="2026-11-29T10:00:00.123+01:00"`)) {
			t.Errorf("%s: Id or IssueInstant missing from %s", name, h.body)
		}
	}
}

// fieldString reads the Id or IssueInstant of a generated request.
func fieldString(req any, name string) string {
	f := reflect.ValueOf(req).Elem().FieldByName(name)
	if dt, ok := f.Interface().(xsd.DateTime); ok {
		return dt.String()
	}
	return f.String()
}

func TestSignedWithoutSignerSendsNothing(t *testing.T) {
	f := newFake(t)
	c := &Client{SOAP: &soap.Client{HTTPClient: f.Client()}, Endpoint: f.URL}
	_, errs := every(context.Background(), c)
	for name, err := range errs {
		op, _ := ehealth.OperationByName(name)
		var ms *soap.MissingSignerError
		if op.Signed() {
			if !errors.As(err, &ms) || ms.Key != op.Key {
				t.Errorf("%s: %v, want *soap.MissingSignerError", name, err)
			}
		} else if err != nil {
			t.Errorf("unsigned %s without signer: %v", name, err)
		}
	}
	for _, h := range f.requests() {
		op, _ := ehealth.OperationBySOAPAction(h.action)
		if op.Signed() {
			t.Errorf("signed %s was sent without a signer", op.Name)
		}
	}
	if n := len(f.requests()); n != 6 {
		t.Errorf("%d requests, want the 6 unsigned ones", n)
	}
}

func TestResponsesAndStatus(t *testing.T) {
	f := newFake(t)
	pending := false
	f.reply = func(op ehealth.Operation) string {
		switch op.Name {
		case "GetCertificate":
			if pending {
				return strings.Replace(response(op, ""), okStatus,
					`<c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Responder"/><c:StatusMessage>not yet</c:StatusMessage><c:StatusDetail><e:EteeStatusDetail xmlns:e="urn:be:fgov:ehealth:etee:commons:core:v2"><Errors><Code>CERT_NOT_YET_DELIVERED</Code><Message>retry later</Message></Errors></e:EteeStatusDetail></c:StatusDetail></c:Status>`, 1)
			}
			return response(op, `<p:X509Certificate>QUJD</p:X509Certificate><p:X509Certificate>REVG</p:X509Certificate>`)
		case "GetActorQualities":
			return response(op, `<p:NaturalPersonAuthorization>true</p:NaturalPersonAuthorization><p:Unknown>ignored</p:Unknown>`)
		case "GetExistingApplicationIds":
			return response(op, `<p:ApplicationId>app1</p:ApplicationId>`)
		}
		return ""
	}
	c := &Client{SOAP: &soap.Client{HTTPClient: f.Client()}, Endpoint: f.URL, Signer: &markSigner{}}
	ctx := context.Background()
	cert, err := c.GetCertificate(ctx, &gen.GetCertificateRequest{Id: "_mine", PublicKeyIdentifier: make([]byte, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.X509Certificate) != 2 || string(cert.X509Certificate[0]) != "ABC" || string(cert.X509Certificate[1]) != "DEF" || cert.InResponseTo != "_req" {
		t.Errorf("%+v", cert)
	}
	if h := f.requests(); !bytes.Contains(h[0].body, []byte(`Id="_mine"`)) {
		t.Errorf("a preset Id was replaced: %s", h[0].body)
	}
	aq, err := c.GetActorQualities(ctx, &gen.GetActorQualitiesRequest{})
	if err != nil || aq.NaturalPersonAuthorization == nil || !*aq.NaturalPersonAuthorization {
		t.Errorf("GetActorQualities: %+v, %v", aq, err)
	}
	ids, err := c.GetExistingApplicationIds(ctx, &gen.GetExistingApplicationIdsRequest{})
	if err != nil || ids == nil {
		t.Errorf("GetExistingApplicationIds: %+v, %v", ids, err)
	}

	pending = true
	resp, err := c.GetCertificate(ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: make([]byte, 20)})
	var se *soap.StatusError
	if resp != nil || !errors.As(err, &se) || !se.Pending() || !soap.IsPending(err) || se.Message != "not yet" {
		t.Errorf("pending: %+v, %v", resp, err)
	}
}

func TestDefaultsAndBadInput(t *testing.T) {
	var got *http.Request
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/xml"}},
			Body: io.NopCloser(strings.NewReader(response(ehealth.GetGenericOrganizationTypes, ""))), Request: r}, nil
	})
	c := &Client{SOAP: &soap.Client{HTTPClient: &http.Client{Transport: rt}}}
	if _, err := c.GetGenericOrganizationTypes(context.Background(), &gen.GetGenericOrganizationTypesRequest{}); err != nil {
		t.Fatal(err)
	}
	if got.URL.String() != ehealth.Acceptance.CertRA {
		t.Errorf("default endpoint %s", got.URL)
	}
	var ir *soap.InvalidRequestError
	if _, err := c.GetCertificate(context.Background(), nil); !errors.As(err, &ir) {
		t.Errorf("nil request: %v", err)
	}
	if err := c.Do(context.Background(), ehealth.GetCertificate, gen.GetCertificateRequest{}, nil); !errors.As(err, &ir) {
		t.Errorf("request by value: %v", err)
	}
	if err := c.Do(context.Background(), ehealth.GetCertificate, &struct{ Id string }{}, nil); !errors.As(err, &ir) {
		t.Errorf("request without IssueInstant: %v", err)
	}
	// The wrong request type for the operation is refused before signing or sending.
	got = nil
	s := &markSigner{}
	c.Signer = s
	if err := c.Do(context.Background(), ehealth.Revoke, &gen.GetCertificateRequest{}, nil); !errors.As(err, &ir) || got != nil || len(s.got) != 0 {
		t.Errorf("wrong request type: %v", err)
	}
	// NewID is used when set.
	c.NewID = func() string { return "_fixed" }
	req := &gen.GetGenericOrganizationTypesRequest{}
	if _, err := c.GetGenericOrganizationTypes(context.Background(), req); err != nil || req.Id != "_fixed" {
		t.Errorf("NewID: %q, %v", req.Id, err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
