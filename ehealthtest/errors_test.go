package ehealthtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	gen "github.com/ehcert/ehcert/gen/certra"
	genetk "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// post sends a raw SOAP request.
func post(t *testing.T, srv *ehealthtest.Server, path, contentType, action, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const envStart = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`
const envEnd = `</soapenv:Body></soapenv:Envelope>`

// Requests that are not WS-I compliant SOAP get SOAP Faults with SOA-03001..3.
func TestSOAPFaults(t *testing.T) {
	srv := ehealthtest.NewServer(t)
	types := `<GetGenericOrganizationTypesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" IssueInstant="2024-01-01T00:00:00Z"/>`
	action := `"` + ehealth.GetGenericOrganizationTypes.SOAPAction + `"`
	for _, c := range []struct {
		name, path, ct, action, body, code string
	}{
		{"not XML", "/CertRa/v2", "text/xml", action, "this is not xml <", ehealth.FaultMalformed},
		{"not an envelope", "/CertRa/v2", "text/xml", action, types, ehealth.FaultNotSOAP},
		{"SOAP 1.2", "/CertRa/v2", "application/soap+xml", action, envStart + types + envEnd, ehealth.FaultNotSOAP},
		{"SOAP 1.2 envelope", "/CertRa/v2", "text/xml", action, `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>` + types + `</e:Body></e:Envelope>`, ehealth.FaultNotSOAP},
		{"no Body", "/CertRa/v2", "text/xml", action, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/></soapenv:Envelope>`, ehealth.FaultMissingBody},
		{"empty Body", "/CertRa/v2", "text/xml", action, envStart + envEnd, ehealth.FaultMissingBody},
		{"two children", "/CertRa/v2", "text/xml", action, envStart + types + types + envEnd, ehealth.FaultMalformed},
		{"unknown element", "/CertRa/v2", "text/xml", action, envStart + `<Foo xmlns="urn:x"/>` + envEnd, ehealth.FaultMalformed},
		{"EtkRA request at CertRA", "/CertRa/v2", "text/xml", `"` + ehealth.ActivateETK.SOAPAction + `"`, envStart + `<ActivateETKRequest xmlns="urn:be:fgov:ehealth:etkra:protocol:v2" IssueInstant="2024-01-01T00:00:00Z"/>` + envEnd, ehealth.FaultMalformed},
		{"wrong SOAPAction", "/CertRa/v2", "text/xml", `"` + ehealth.GetCertificate.SOAPAction + `"`, envStart + types + envEnd, ehealth.FaultMalformed},
		{"no SOAPAction", "/CertRa/v2", "text/xml", "", envStart + types + envEnd, ehealth.FaultMalformed},
		{"no IssueInstant", "/CertRa/v2", "text/xml", action, envStart + `<GetGenericOrganizationTypesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2"/>` + envEnd, ehealth.FaultMalformed},
		{"DOCTYPE", "/CertRa/v2", "text/xml", action, `<!DOCTYPE x []>` + envStart + types + envEnd, ehealth.FaultMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, srv, c.path, c.ct, c.action, c.body)
			if status != http.StatusInternalServerError || !strings.Contains(body, "<faultcode>soapenv:Client</faultcode>") ||
				!strings.Contains(body, "<Code>"+c.code+"</Code>") || !strings.Contains(body, "<faultstring>"+c.code) {
				t.Fatalf("HTTP %d\n%s", status, body)
			}
		})
	}
	// The same request, well formed, works; so does a GET being refused.
	status, body := post(t, srv, "/CertRa/v2", "text/xml; charset=utf-8", action, envStart+types+envEnd)
	if status != http.StatusOK || !strings.Contains(body, ehealth.StatusSuccess) {
		t.Fatalf("valid request: HTTP %d\n%s", status, body)
	}
	resp, err := srv.Client().Get(srv.URL + "/CertRa/v2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET: HTTP %d", resp.StatusCode)
	}
	// The transport reads them as *soap.Fault with the code.
	var f *soap.Fault
	_, err = (&certraClientOnly{srv}).call(t)
	if !errors.As(err, &f) || f.EHealthCode() != ehealth.FaultMalformed {
		t.Errorf("soap client: %v", err)
	}
	for _, r := range srv.Requests() {
		if r.Target == "GetExistingApplicationIds" && !r.IsFault() {
			t.Errorf("recorded %+v", r)
		}
	}
}

// certraClientOnly sends GetExistingApplicationIds with an unknown type: the response has no Status, so the
// platform answers with a SOAP Fault.
type certraClientOnly struct{ srv *ehealthtest.Server }

func (c *certraClientOnly) call(t *testing.T) (*gen.GetExistingApplicationIdsResponse, error) {
	e := &env{t: t, srv: c.srv}
	return e.certra(nil).GetExistingApplicationIds(t.Context(), &gen.GetExistingApplicationIdsRequest{
		OrganizationIdentifier: &gen.IdType{Type: "NIHII-MARS", Value: "1"}})
}

// Signatures are checked as the platform does.
func TestSignatureChecks(t *testing.T) {
	e := newEnv(t)
	eid := e.eid
	ssin := &gen.IdType{Type: "SSIN", Value: eid.SSIN}

	// The right key works.
	if _, err := e.certra(eid.Keyring()).GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: ssin}); err != nil {
		t.Fatal(err)
	}
	// Another citizen's SSIN.
	_, err := e.certra(eid.Keyring()).GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: "90010100123"}})
	wantStatusError(t, err, "does not belong")
	// The Signature key where the Authentication key is required, and the reverse.
	_, err = e.certra(fixedSigner{eid.Signature}).GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: ssin})
	wantStatusError(t, err, "must be signed with the eID Authentication key")
	_, err = e.certra(fixedSigner{eid.Authentication}).Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: make([]byte, 20), Contract: &gen.RevocationContractType{}})
	wantStatusError(t, err, "must be signed with the eID Signature key")
	// A key of another platform.
	other := ehealthtest.NewServer(t)
	_, err = e.certra(other.Citizen().Keyring()).GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: ssin})
	wantStatusError(t, err, "untrusted")
	// IssueInstant too old and in the future.
	old := e.certra(eid.Keyring())
	old.Now = func() time.Time { return clockNow(e.srv).Add(-10 * time.Minute) }
	_, err = old.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: ssin})
	wantStatusError(t, err, "older than")
	old.Now = func() time.Time { return clockNow(e.srv).Add(10 * time.Minute) }
	_, err = old.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: ssin})
	wantStatusError(t, err, "in the future")
	// A signed request changed after signing.
	_, err = e.certra(tamper{eid.Authentication}).GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: ssin})
	wantStatusError(t, err, "signature")
	// Unsigned where a signature is required.
	status, body := post(t, e.srv, "/CertRa/v2", "text/xml", `"`+ehealth.GetCertificateInfoForCitizen.SOAPAction+`"`,
		envStart+`<GetCertificateInfoForCitizenRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" IssueInstant="`+
			clockNow(e.srv).UTC().Format(time.RFC3339)+`"/>`+envEnd)
	if status != http.StatusOK || !strings.Contains(body, "missing signature") {
		t.Errorf("unsigned: HTTP %d %s", status, body)
	}
	for _, r := range e.srv.Requests() {
		if r.Target == "GetActorQualities" && r.Status == ehealth.StatusSuccess && (r.Signer == nil || r.Signer.Subject.SerialNumber != eid.SSIN) {
			t.Errorf("recorded signer %v", r.Signer)
		}
	}
}

// tamper signs, then changes the signed content.
type tamper struct{ key sign.Key }

func (f tamper) SignRequest(ctx context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	b, err := sign.EnvelopedContext(ctx, f.key, payload)
	if err != nil {
		return nil, err
	}
	return bytes.Replace(b, []byte(">8507"), []byte(">8508"), 1), nil
}

// The rules of GenerateContract and GenerateCertificate.
func TestCertificateRequestErrors(t *testing.T) {
	e := newEnv(t)
	eid := e.eid
	c := e.certra(eid.Keyring())
	cr, err := c.GenerateContract(e.ctx, e.contractRequest(eid, subjectSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	gc := func(contract *gen.ContractType, csr []byte) error {
		_, err := c.GenerateCertificate(e.ctx, &gen.GenerateCertificateRequest{EHealthCSR: &gen.EHealthCertificateSigningRequestType{
			ContactData: contact, CSR: csr, Contract: contract}})
		return err
	}
	key := newRSAKey(t)
	goodCSR, _ := certreq.NewCSR(rand.Reader, key, cr.Contract.DN)

	// A changed contract.
	changed := *cr.Contract
	changed.Text = &gen.TextType{Value: []gen.LocalizedString{{Lang: "en", Value: "I agree to nothing"}}}
	wantStatusError(t, gc(&changed, goodCSR), "contract")
	// A CSR for another DN.
	otherDN, _ := certreq.NaturalPersonSubject(eid.SSIN, "Bob", "Peeters").DN()
	badDN, _ := certreq.NewCSR(rand.Reader, newRSAKey(t), otherDN)
	wantCode(t, gc(cr.Contract, badDN), ehealth.CodeCSRInvalidDN)
	// Not a CSR.
	wantCode(t, gc(cr.Contract, []byte("garbage")), ehealth.CodeCSRNotValid)
	// A 1024-bit key.
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	raw, _ := certreq.ParseDN(cr.Contract.DN)
	subject, _ := certreq.MarshalDN(raw, certreq.EncodingX500Principal)
	smallCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: subject}, small)
	wantCode(t, gc(cr.Contract, smallCSR), ehealth.CodeCSRPublicKeyInvalid)
	// The good one, then the same key again.
	if err := gc(cr.Contract, goodCSR); err != nil {
		t.Fatalf("GenerateCertificate: %v", err)
	}
	wantCode(t, gc(cr.Contract, goodCSR), ehealth.CodeCSRPubKeyNotUnique)

	// A contract signed by someone else than its signer.
	bob := e.srv.NewCitizen("90010100123", "Bob", "Janssens")
	_, err = e.certra(bob.Keyring()).GenerateCertificate(e.ctx, &gen.GenerateCertificateRequest{EHealthCSR: &gen.EHealthCertificateSigningRequestType{
		ContactData: contact, CSR: goodCSR, Contract: cr.Contract}})
	wantStatusError(t, err, "signer of the contract")
	// Bob asking for Alice's personal certificate.
	cr2, err := c.GenerateContract(e.ctx, &gen.GenerateContractRequest{ContactData: contact, Signer: signerActor(bob),
		CertificateIdentifier: &gen.CertificateIdentifierType{Actor: signerActor(eid)}})
	if err != nil {
		t.Fatal(err)
	}
	bobCSR, _ := certreq.NewCSR(rand.Reader, newRSAKey(t), cr2.Contract.DN)
	_, err = e.certra(bob.Keyring()).GenerateCertificate(e.ctx, &gen.GenerateCertificateRequest{EHealthCSR: &gen.EHealthCertificateSigningRequestType{
		ContactData: contact, CSR: bobCSR, Contract: cr2.Contract}})
	wantCode(t, err, ehealth.CodeCSRInvalidDN)

	// Missing contact data, bad application id.
	req := e.contractRequest(eid, subjectSpec{})
	req.ContactData = &gen.ContactDataType{}
	_, err = c.GenerateContract(e.ctx, req)
	wantStatusError(t, err, "ContactData")
	org := ehealthtest.DefaultOrganization
	_, err = c.GenerateContract(e.ctx, e.contractRequest(eid, subjectSpec{Org: &org, AppID: "not valid!"}))
	wantCode(t, err, ehealth.CodeCSRInvalidDN)
	// Unknown request.
	_, err = c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: make([]byte, 20)})
	wantCode(t, err, ehealth.CodeAuthCertNotFound)
}

// The rules of the EtkRA operations.
func TestETKRegistrationErrors(t *testing.T) {
	e := newEnv(t)
	h := e.newHolder(e.eid, subjectSpec{})
	c := e.etkra(h.sign)

	// Complete or activate before start.
	_, err := c.CompleteETKRegistration(e.ctx, &genetk.CompleteETKRegistrationRequest{ToBeRegistered: []byte{1}})
	wantCode(t, err, ehealth.CodePublicKeyNotYetRegistered)
	_, err = c.ActivateETK(e.ctx, &genetk.ActivateETKRequest{})
	wantCode(t, err, ehealth.CodePublicKeyNotYetRegistered)
	// The authentication key as encryption key.
	authSPKI, _ := x509.MarshalPKIXPublicKey(&h.key.PublicKey)
	_, err = c.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: authSPKI})
	wantCode(t, err, ehealth.CodeValidETKAlreadyExists)
	// Not a key.
	_, err = c.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: []byte("nope")})
	wantCode(t, err, ehealth.CodeCSRPublicKeyInvalid)

	// A wrong serial in the encryption certificate.
	encKey := newRSAKey(t)
	spki, _ := x509.MarshalPKIXPublicKey(&encKey.PublicKey)
	if _, err := c.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki}); err != nil {
		t.Fatal(err)
	}
	bad, _ := etk.NewEncryptionCertificate(rand.Reader, h.key, h.chain[0], &encKey.PublicKey, big.NewInt(42))
	_, err = c.CompleteETKRegistration(e.ctx, &genetk.CompleteETKRegistrationRequest{ToBeRegistered: bad})
	wantCode(t, err, etk.CodeEncryptionCertSerialMismatch)

	// An authentication certificate the platform did not issue.
	selfKey := newRSAKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "self"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &selfKey.PublicKey, selfKey)
	self, _ := x509.ParseCertificate(der)
	selfSign, err := sign.NewKey(selfKey, []*x509.Certificate{self})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.etkra(selfSign).StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	wantCode(t, err, ehealth.CodeETKForAuthCertNotIssuedByEHealthCA)
	// An eID key.
	_, err = e.etkra(e.eid.Authentication).StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	wantCode(t, err, ehealth.CodeETKForAuthCertNotIssuedByEHealthCA)

	// Registered, then a second registration for the same certificate.
	if _, _, err := e.registerETK(h); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.registerETK(h)
	wantCode(t, err, ehealth.CodeValidETKAlreadyExists)
}

// Revocation rules: only a manager of the certificate may revoke, once.
func TestRevocationErrors(t *testing.T) {
	e := newEnv(t)
	h := e.newHolder(e.eid, subjectSpec{})
	bob := e.srv.NewCitizen("90010100123", "Bob", "Janssens")
	bc := e.certra(bob.Keyring())
	rc, err := bc.GenerateRevocationContract(e.ctx, &gen.GenerateRevocationContractRequest{PublicKeyIdentifier: h.pki,
		Signer: signerActor(bob), RevocationReason: gen.RevocationReasonTypeKeyCompromise})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bc.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: h.pki, Contract: rc.Contract})
	wantStatusError(t, err, "not allowed")
	_, err = bc.GenerateRevocationContract(e.ctx, &gen.GenerateRevocationContractRequest{PublicKeyIdentifier: h.pki,
		Signer: signerActor(bob), RevocationReason: "because"})
	wantStatusError(t, err, "RevocationReason")
	// Bob sees none of Alice's certificates.
	list, err := bc.GetCertificateInfoForCitizen(e.ctx, &gen.GetCertificateInfoForCitizenRequest{})
	if err != nil || len(list.CertificateInfo) != 0 {
		t.Fatalf("Bob's list: %v %+v", err, list)
	}
	ac := e.certra(e.eid.Keyring())
	rc, err = ac.GenerateRevocationContract(e.ctx, &gen.GenerateRevocationContractRequest{PublicKeyIdentifier: h.pki,
		Signer: signerActor(e.eid), RevocationReason: gen.RevocationReasonTypeKeyCompromise})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: h.pki, Contract: rc.Contract}); err != nil {
		t.Fatal(err)
	}
	_, err = ac.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: h.pki, Contract: rc.Contract})
	wantStatusError(t, err, "already revoked")
	_, _, err = e.registerETK(h)
	wantCode(t, err, ehealth.CodeETKForAuthCertRevoked)
	// A new certificate for the same DN is now allowed.
	if _, err := e.requestCertificate(e.eid, subjectSpec{}); err != nil {
		t.Fatalf("new certificate after revocation: %v", err)
	}
}

// The depot's errors are JSON bodies with 400 (bad request) or 404 (unknown kid).
func TestDepotErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/etks", http.StatusBadRequest},
		{"/etks?identifier=1&type=MARS", http.StatusBadRequest},
		{"/etks?identifier=abc&type=CBE", http.StatusBadRequest},
		{"/pubKeys/cacerts/jwks?identifier=0123456749&type=CBE", http.StatusBadRequest},
		{"/pubKeys/cacerts/jwks?identifier=0123456749&type=CBE&use=sig&date=yesterday", http.StatusBadRequest},
		{"/pubKeys/cacerts/jwks/S123", http.StatusNotFound},
		{"/keyholders/S123", http.StatusNotFound},
		{"/nothing", http.StatusNotFound},
	} {
		var body struct{ Code, Message string }
		getJSON(t, e, c.path, c.status, &body)
		if body.Code == "" || body.Message == "" {
			t.Errorf("%s: body %+v", c.path, body)
		}
	}
	var empty []json.RawMessage
	getJSON(t, e, "/etks?identifier=0123456749&type=CBE", http.StatusOK, &empty)
	if empty == nil || len(empty) != 0 {
		t.Errorf("no ETK: %v", empty)
	}
}
