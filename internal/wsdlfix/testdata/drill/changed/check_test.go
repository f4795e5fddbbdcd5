// Package check is copied by internal/wsdlfix's TestDrill next to the bindings it regenerated from a copy of
// wsdl/ with the changes eHealth makes (see changes in drill_test.go): a new optional element in a response
// (RenewalHint), a new enumeration value (ETKStatusType SUSPENDED), a new optional attribute (CertificateInfo's
// Source) and a new operation (EtkRA GetETKStatus). The import path github.com/ehcert/ehcert/_drill/... is
// rewritten to that directory. This file compiles only if the new Go names exist.
package check

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	certraclient "github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	etkraclient "github.com/ehcert/ehcert/etkra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/soap"
	"github.com/ehcert/ehcert/xsd"

	certra "github.com/ehcert/ehcert/_drill/changed/certra"
	etkra "github.com/ehcert/ehcert/_drill/changed/etkra"
)

// stubSigner stands in for sign.Keyring: it appends an (invalid) ds:Signature before the closing tag.
type stubSigner struct{}

func (stubSigner) SignRequest(_ context.Context, _ ehealth.Operation, payload []byte) ([]byte, error) {
	i := bytes.LastIndex(payload, []byte("</"))
	sig := `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>`
	return append(append(append([]byte(nil), payload[:i]...), sig...), payload[i:]...), nil
}

type received struct {
	action string
	body   []byte
}

// server answers every request with the marshalled value answer returns for the request's SOAPAction, as the
// only child of a SOAP Body.
func server(t *testing.T, answer func(action string) any) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		action := strings.Trim(r.Header.Get("SOAPAction"), `"`)
		mu.Lock()
		got = append(got, received{action, body})
		mu.Unlock()
		payload, err := xml.Marshal(answer(action))
		if err != nil {
			t.Errorf("marshalling the answer: %v", err)
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`+
			string(payload)+`</soapenv:Body></soapenv:Envelope>`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func success() *certra.StatusType {
	return &certra.StatusType{StatusCode: &certra.StatusCodeType{Value: ehealth.StatusSuccess}}
}

var now = xsd.MustParseDateTime("2026-11-29T10:00:00.000+01:00")

// The new element, attribute and enumeration value go from regenerated types, marshalled by a server, through
// package soap and the typed CertRA client (Do with the regenerated types), into regenerated types.
func TestNewElementAttributeAndEnumRoundTrip(t *testing.T) {
	hint := xsd.MustParseDateTime("2027-01-15T00:00:00Z")
	want := &certra.GetCertificateInfoForAuthenticationCertificateResponse{
		Id: "_resp", InResponseTo: "_req", IssueInstant: now, Status: success(),
		CertificateInfo: &certra.CertificateInfoType{
			Source:                          "registry", // new optional attribute
			RequestedDate:                   now,
			PublicKeyIdentifier:             bytes.Repeat([]byte{0xAB}, 20),
			CertificateEntity:               &certra.CertificateEntityType{EntityType: certra.EntityTypeOrganization, CertificateIdentifier: &certra.CertificateIdentifierType{Actor: &certra.ActorType{Id: []certra.IdType{{Type: "CBE", Value: "0123456789"}}, Name: "ACME"}}},
			AuthenticationCertificateStatus: certra.CertificateStatusTypeVALID_ACTIVE,
			ETKStatus:                       certra.ETKStatusTypeSUSPENDED, // new enumeration value
			AutomaticallyValidated:          true,
			Revocable:                       true,
			ContactData:                     &certra.ContactDataType{EmailPrivate: "a@example.org", PhonePrivate: "1"},
		},
		RenewalHint: &hint, // new optional element
	}
	// The changed schema is not eHealth's: the official XSDs must reject exactly the new items, nothing else.
	payload, err := xml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if testenv.ValidateXSD(t, payload) == "" {
		t.Errorf("the official XSDs accept a response with the new items; the drill does not test a change:\n%s", payload)
	}
	old := *want
	oldInfo := *want.CertificateInfo
	oldInfo.Source, oldInfo.ETKStatus = "", certra.ETKStatusTypeVALID_ACTIVE
	old.CertificateInfo, old.RenewalHint = &oldInfo, nil
	oldPayload, err := xml.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	testenv.MustValidateXSD(t, oldPayload) // without the new items the response is valid

	srv, got := server(t, func(string) any { return want })
	c := &certraclient.Client{SOAP: &soap.Client{}, Endpoint: srv.URL, Signer: stubSigner{}}
	req := &certra.GetCertificateInfoForAuthenticationCertificateRequest{}
	resp := &certra.GetCertificateInfoForAuthenticationCertificateResponse{}
	if err := c.Do(context.Background(), ehealth.GetCertificateInfoForAuthenticationCertificate, req, resp); err != nil {
		t.Fatal(err)
	}
	ci := resp.CertificateInfo
	switch {
	case ci == nil:
		t.Fatal("no CertificateInfo")
	case ci.Source != "registry":
		t.Errorf("new attribute Source = %q", ci.Source)
	case ci.ETKStatus != certra.ETKStatusTypeSUSPENDED:
		t.Errorf("new enumeration value: ETKStatus = %q", ci.ETKStatus)
	case resp.RenewalHint == nil || !resp.RenewalHint.Equal(hint):
		t.Errorf("new element RenewalHint = %v", resp.RenewalHint)
	}
	again, err := xml.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, payload) {
		t.Errorf("round trip changed the response:\nsent:     %s\nreceived: %s", payload, again)
	}
	if g := got(); len(g) != 1 || g[0].action != ehealth.GetCertificateInfoForAuthenticationCertificate.SOAPAction ||
		!bytes.Contains(g[0].body, []byte("GetCertificateInfoForAuthenticationCertificateRequest")) || req.Id == "" {
		t.Errorf("requests: %q (Id %q)", g, req.Id)
	}
}

// The new operation: its SOAPAction and messages come from the regenerated operations.go; the typed EtkRA client
// sends it with Do, and the response's new content arrives.
func TestNewOperation(t *testing.T) {
	gop, ok := etkra.OperationByName("GetETKStatus")
	if !ok {
		t.Fatal("GetETKStatus is not in the regenerated operations")
	}
	if gop.SOAPAction != etkra.SOAPActionGetETKStatus || len(etkra.Operations()) != 4 {
		t.Fatalf("operations: %+v", etkra.Operations())
	}
	op := ehealth.Operation{Name: gop.Name, Service: ehealth.EtkRA, SOAPAction: gop.SOAPAction,
		Namespace: gop.Request.Space, Request: gop.Request.Local, Response: gop.Response.Local,
		Key: ehealth.EHealthAuthentication, HasStatus: true}
	srv, got := server(t, func(action string) any {
		if action != etkra.SOAPActionGetETKStatus {
			t.Errorf("SOAPAction %q", action)
		}
		return &etkra.GetETKStatusResponse{Id: "_r", IssueInstant: now,
			Status:    &etkra.StatusType{StatusCode: &etkra.StatusCodeType{Value: ehealth.StatusSuccess}},
			ETKStatus: "VALID_ACTIVE"}
	})
	c := &etkraclient.Client{SOAP: &soap.Client{}, Endpoint: srv.URL, Signer: stubSigner{},
		Now: func() time.Time { return now.Time() }}
	resp := gop.NewResponse().(*etkra.GetETKStatusResponse)
	if err := c.Do(context.Background(), op, gop.NewRequest(), resp); err != nil {
		t.Fatal(err)
	}
	if resp.ETKStatus != "VALID_ACTIVE" {
		t.Errorf("ETKStatus = %q", resp.ETKStatus)
	}
	g := got()
	if len(g) != 1 {
		t.Fatalf("%d requests", len(g))
	}
	var sent etkra.GetETKStatusRequest
	if err := decodeBodyChild(g[0].body, &sent); err != nil || sent.Signature == nil || sent.Id == "" {
		t.Errorf("the new request as received: %+v, %v\n%s", sent, err, g[0].body)
	}
}

// decodeBodyChild decodes the first child of the SOAP Body of envelope into v.
func decodeBodyChild(envelope []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(envelope))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return d.DecodeElement(v, &se)
			}
			inBody = se.Name.Local == "Body"
		}
	}
}
