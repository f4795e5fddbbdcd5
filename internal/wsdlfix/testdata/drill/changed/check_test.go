// Package check is copied by internal/wsdlfix's TestDrill next to the bindings it regenerated from a copy of
// wsdl/ with the changes eHealth makes (see changes in drill_test.go): a new optional element in a response
// (RenewalHint), a new enumeration value (ETKStatusType SUSPENDED), a new optional attribute (CertificateInfo's
// Source) and a new operation (EtkRA GetETKStatus). The import path github.com/ehcert/ehcert/_drill/... is
// rewritten to that directory. This file compiles only if the new Go names exist.
//
// The new element, attribute and enumeration value travel through the real platform (ehealthtest): the
// regenerated client calls it, and a Rewrite fault makes it answer as a platform upgraded to the changed schema
// would. The new operation is not one ehealthtest implements: an httptest stub answers it.
package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	certraclient "github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	etkraclient "github.com/ehcert/ehcert/etkra"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
	"github.com/ehcert/ehcert/xsd"

	certra "github.com/ehcert/ehcert/_drill/changed/certra"
	etkra "github.com/ehcert/ehcert/_drill/changed/etkra"
)

// stubSigner stands in for sign.Keyring in front of the stub: it appends an (invalid) ds:Signature before the
// closing tag.
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

// server is the stub for what ehealthtest does not implement (the new operation): it answers every request
// with the marshalled value answer returns for the request's SOAPAction, as the only child of a SOAP Body.
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

var now = xsd.MustParseDateTime("2026-11-29T10:00:00.000+01:00")

// issue gets the citizen's own eHealth certificate from the platform (GenerateContract, GenerateCertificate,
// GetCertificate, with this version's typed client: setting up, not under test) and returns its key.
func issue(t *testing.T, ctx context.Context, srv *ehealthtest.Server) (sign.Key, []byte) {
	t.Helper()
	eid := srv.Citizen()
	c := &certraclient.Client{SOAP: &soap.Client{HTTPClient: srv.Client()}, Endpoint: srv.Environment().CertRA,
		Signer: eid.Keyring(), Now: srv.Clock().Now}
	signer := &gencertra.ActorType{Id: []gencertra.IdType{{Type: "SSIN", Value: eid.SSIN}}, FirstName: []string{eid.FirstName}, Name: eid.LastName}
	contact := &gencertra.ContactDataType{EmailPrivate: "alice@example.com", PhonePrivate: "+32 2 000 00 00"}
	cr, err := c.GenerateContract(ctx, &gencertra.GenerateContractRequest{ContactData: contact, Signer: signer,
		CertificateIdentifier: &gencertra.CertificateIdentifierType{Actor: signer}})
	if err != nil {
		t.Fatalf("GenerateContract: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certreq.NewCSR(rand.Reader, key, cr.Contract.DN)
	if err != nil {
		t.Fatal(err)
	}
	contract := *cr.Contract
	contract.DN = certreq.EscapeContractDN(contract.DN)
	gc, err := c.GenerateCertificate(ctx, &gencertra.GenerateCertificateRequest{EHealthCSR: &gencertra.EHealthCertificateSigningRequestType{
		ContactData: contact, CSR: csr, Contract: &contract}})
	if err != nil {
		t.Fatalf("GenerateCertificate: %v", err)
	}
	got, err := c.GetCertificate(ctx, &gencertra.GetCertificateRequest{PublicKeyIdentifier: gc.PublicKeyIdentifier})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	var chain []*x509.Certificate
	for _, der := range got.X509Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, cert)
	}
	k, err := sign.NewKey(key, chain)
	if err != nil {
		t.Fatal(err)
	}
	return k, gc.PublicKeyIdentifier
}

// The new element, attribute and enumeration value round-trip through the platform: the regenerated types,
// sent with the typed CertRA client (Do) to ehealthtest, signed with a certificate it issued; the platform,
// upgraded to the changed schema (a Rewrite fault: its answer re-written with the regenerated types and the new
// items), answers through package soap into the regenerated types. An old client (gen/, the typed method) calls
// the same upgraded platform and reads what it knows, ignoring the new items.
func TestNewElementAttributeAndEnumRoundTrip(t *testing.T) {
	testenv.Require(t, "xmllint")
	ctx := context.Background()
	srv := ehealthtest.NewServer(t)
	key, pki := issue(t, ctx, srv)

	hint := xsd.MustParseDateTime("2027-01-15T00:00:00Z")
	var mu sync.Mutex
	var platform, sent [][]byte
	srv.Inject("GetCertificateInfoForAuthenticationCertificate", ehealthtest.Fault{Kind: ehealthtest.Rewrite, Times: -1,
		Rewrite: func(_ string, body []byte) []byte {
			var r certra.GetCertificateInfoForAuthenticationCertificateResponse
			if err := xml.Unmarshal(body, &r); err != nil || r.CertificateInfo == nil {
				t.Errorf("the regenerated types do not read the platform's answer: %v\n%s", err, body)
				return body
			}
			// Nothing of today's answer is lost by the regenerated types.
			if again, err := xml.Marshal(&r); err != nil || !bytes.Equal(again, body) {
				t.Errorf("the regenerated types change the platform's answer (%v):\nsent:  %s\nagain: %s", err, body, again)
			}
			r.RenewalHint = &hint                                       // new optional element
			r.CertificateInfo.Source = "registry"                       // new optional attribute
			r.CertificateInfo.ETKStatus = certra.ETKStatusTypeSUSPENDED // new enumeration value
			out, err := xml.Marshal(&r)
			if err != nil {
				t.Errorf("marshalling the upgraded answer: %v", err)
				return body
			}
			mu.Lock()
			platform, sent = append(platform, body), append(sent, out)
			mu.Unlock()
			return out
		}})
	client := func() *certraclient.Client {
		return &certraclient.Client{SOAP: &soap.Client{HTTPClient: srv.Client()}, Endpoint: srv.Environment().CertRA,
			Signer: &sign.Keyring{EHealthAuthentication: key}, Now: srv.Clock().Now}
	}

	// The regenerated client.
	req := &certra.GetCertificateInfoForAuthenticationCertificateRequest{}
	resp := &certra.GetCertificateInfoForAuthenticationCertificateResponse{}
	if err := client().Do(ctx, ehealth.GetCertificateInfoForAuthenticationCertificate, req, resp); err != nil {
		t.Fatalf("the regenerated request to the platform: %v", err)
	}
	mu.Lock()
	if len(sent) != 1 {
		mu.Unlock()
		t.Fatalf("%d rewritten answers", len(sent))
	}
	answer, original := sent[0], platform[0]
	mu.Unlock()
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
	case !bytes.Equal(ci.PublicKeyIdentifier, pki) || ci.AuthenticationCertificateStatus != certra.CertificateStatusTypeVALID_ACTIVE ||
		resp.InResponseTo != req.Id || req.Id == "":
		t.Errorf("known items: %+v (request Id %q)", resp, req.Id)
	}
	again, err := xml.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, answer) {
		t.Errorf("round trip changed the response:\nsent:     %s\nreceived: %s", answer, again)
	}
	for _, item := range []string{`<RenewalHint xmlns="urn:be:fgov:ehealth:certra:protocol:v2">`, ` Source="registry"`, `>SUSPENDED</ETKStatus>`} {
		if !bytes.Contains(answer, []byte(item)) {
			t.Errorf("the platform's answer lacks %s:\n%s", item, answer)
		}
	}
	// The changed schema is not eHealth's: the official XSDs reject the upgraded answer and accept the
	// platform's own.
	if testenv.ValidateXSD(t, answer) == "" {
		t.Errorf("the official XSDs accept a response with the new items; the drill does not test a change:\n%s", answer)
	}
	testenv.MustValidateXSD(t, original)

	// The old client: the call succeeds, the new element and attribute are ignored, the new enumeration value is
	// kept as it is, and everything else reads as with the regenerated types.
	old, err := client().GetCertificateInfoForAuthenticationCertificate(ctx, &gencertra.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil {
		t.Fatalf("the old client with the upgraded platform: %v", err)
	}
	if old.CertificateInfo == nil || old.CertificateInfo.ETKStatus != "SUSPENDED" {
		t.Fatalf("old client: %+v", old.CertificateInfo)
	}
	withoutNew := *resp
	info := *resp.CertificateInfo
	info.Source, withoutNew.CertificateInfo, withoutNew.RenewalHint = "", &info, nil
	withoutNew.Id, withoutNew.InResponseTo, withoutNew.IssueInstant = old.Id, old.InResponseTo, old.IssueInstant
	a, errA := xml.Marshal(&withoutNew)
	b, errB := xml.Marshal(old)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("the old client read differently (%v %v):\nregenerated without the new items: %s\nold:                               %s", errA, errB, a, b)
	}
	if bytes.Contains(b, []byte("RenewalHint")) || bytes.Contains(b, []byte("Source=")) {
		t.Errorf("the old types carry the new items: %s", b)
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
