package ehealthtest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	gen "github.com/ehcert/ehcert/gen/certra"
	genetk "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/internal/testenv"
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
	srv := newServer(t)
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
		// XML 1.0 WFC Unique Att Spec, and its namespace form (the same local name in one namespace).
		{"attribute twice", "/CertRa/v2", "text/xml", action, envStart + `<GetGenericOrganizationTypesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" Id="_2" IssueInstant="2024-01-01T00:00:00Z"/>` + envEnd, ehealth.FaultMalformed},
		{"attribute twice in one namespace", "/CertRa/v2", "text/xml", action, envStart + `<GetGenericOrganizationTypesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:a="urn:x" xmlns:b="urn:x" a:z="1" b:z="2" IssueInstant="2024-01-01T00:00:00Z"/>` + envEnd, ehealth.FaultMalformed},
		{"attribute twice in the envelope", "/CertRa/v2", "text/xml", action, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" a="1" a="2"><soapenv:Body>` + types + envEnd, ehealth.FaultMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, srv, c.path, c.ct, c.action, c.body)
			if status != http.StatusInternalServerError || !strings.Contains(body, "<faultcode>soapenv:Client</faultcode>") ||
				!strings.Contains(body, "<Code>"+c.code+"</Code>") || !strings.Contains(body, "<faultstring>"+c.code) {
				t.Fatalf("HTTP %d\n%s", status, body)
			}
		})
	}
	// The same request, well formed, works, also with attributes whose local names repeat in different
	// namespaces; so does a GET being refused.
	for _, req := range []string{types,
		`<GetGenericOrganizationTypesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:a="urn:x" xmlns:b="urn:y" a:Id="_a" b:Id="_b" Id="_1" lang="en" xml:lang="en" IssueInstant="2024-01-01T00:00:00Z"/>`,
	} {
		status, body := post(t, srv, "/CertRa/v2", "text/xml; charset=utf-8", action, envStart+req+envEnd)
		if status != http.StatusOK || !strings.Contains(body, ehealth.StatusSuccess) {
			t.Fatalf("valid request: HTTP %d\n%s", status, body)
		}
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
	other := newServer(t)
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
	// The good CSR with its signature broken (the last byte of the signature BIT STRING): it still parses.
	brokenSig := append([]byte(nil), goodCSR...)
	brokenSig[len(brokenSig)-1] ^= 0x01
	if _, err := x509.ParseCertificateRequest(brokenSig); err != nil {
		t.Fatalf("the CSR with a broken signature does not parse: %v", err)
	}
	wantCode(t, gc(cr.Contract, brokenSig), ehealth.CodeCSRSignatureNotValid)
	if _, ok := e.srv.Registration(pkiOf(t, key)); ok {
		t.Fatal("a CSR with a broken signature was registered")
	}
	// The good one (its key is still new: the broken CSR registered nothing), then the same key again.
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

// profileEnv holds what the profile cases need besides the request: a certificate chain the platform trusts that
// is not the signer's, and a key it does not trust.
type profileEnv struct {
	trusted   []*x509.Certificate
	untrusted sign.Key
}

// profileCase is one way of breaking the eHealth signature profile: the shape of a file of package sign's
// signature-wrapping corpus (sign/testdata/wrapping), made from a request the platform would accept.
type profileCase struct {
	name   string
	corpus string      // the corpus file of the same shape, "" when the corpus has none
	reason sign.Reason // what the platform's verifier finds
	mutate func(t *testing.T, d *signedDoc, x profileEnv)
	// fault, when set, is the SOA code of the SOAP Fault the platform answers instead: the document is refused
	// before its signature is looked at.
	fault string
}

func pc(name, corpus string, reason sign.Reason, mutate func(t *testing.T, d *signedDoc, x profileEnv)) profileCase {
	return profileCase{name: name, corpus: corpus, reason: reason, mutate: mutate}
}

// answeredWith sets the SOAP Fault the platform answers c with.
func (c profileCase) answeredWith(fault string) profileCase {
	c.fault = fault
	return c
}

func profileCases() []profileCase {
	transforms := func(d *signedDoc) []*etree.Element {
		return dsChildren(dsChild(d.reference(), "Transforms"), "Transform")
	}
	return []profileCase{
		pc("rsa-sha1", "24-rsa-sha1.xml", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			setAlgorithm(d.signedInfo(), "SignatureMethod", algRSASHA1)
			setAlgorithm(d.reference(), "DigestMethod", algSHA1)
			d.resign(t)
		}),
		pc("sha1 digest", "", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			setAlgorithm(d.reference(), "DigestMethod", algSHA1)
			d.resign(t)
		}),
		pc("exc-c14n WithComments over a comment", "11-transform-with-comments.xml", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.ChildElements()[0].InsertChildAt(0, etree.NewComment(" covered by the digest "))
			transforms(d)[1].CreateAttr("Algorithm", algExcC14NComments)
			d.resign(t)
		}),
		pc("no enveloped-signature transform", "12-transforms-without-enveloped.xml", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			tr := transforms(d)[0]
			tr.Parent().RemoveChild(tr)
		}),
		pc("XSLT transform", "13-transform-xslt.xml", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			x := dsChild(d.reference(), "Transforms").CreateElement("ds:Transform")
			x.CreateAttr("Algorithm", algXSLT)
			x.CreateElement("xsl:stylesheet").CreateAttr("xmlns:xsl", "http://www.w3.org/1999/XSL/Transform")
		}),
		pc("SignedInfo c14n with a prefix list", "28-signedinfo-inclusive-namespaces.xml", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			in := dsChild(d.signedInfo(), "CanonicalizationMethod").CreateElement("ec:InclusiveNamespaces")
			in.CreateAttr("xmlns:ec", algExcC14N)
			in.CreateAttr("PrefixList", "ds")
			d.resign(t)
		}),
		pc("SignedInfo inclusive c14n", "", sign.WrongAlgorithm, func(t *testing.T, d *signedDoc, _ profileEnv) {
			setAlgorithm(d.signedInfo(), "CanonicalizationMethod", algC14N10)
			d.resign(t)
		}),
		pc("Reference to an inner element", "06-reference-to-inner-element.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.inner()
			d.reference().CreateAttr("URI", "#_inner")
			d.resign(t)
		}),
		pc("Reference URI empty", "07-reference-uri-empty.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.reference().CreateAttr("URI", "")
			d.resign(t)
		}),
		pc("Reference URI with a space", "09-reference-uri-whitespace.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			ref := d.reference()
			ref.CreateAttr("URI", " "+ref.SelectAttrValue("URI", ""))
		}),
		pc("two References", "10-two-references.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.inner()
			second := d.reference().Copy()
			second.CreateAttr("URI", "#_inner")
			d.signedInfo().AddChild(second)
			d.resign(t)
		}),
		pc("a second Signature", "04-second-signature-copy.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.AddChild(d.sig.Copy())
		}),
		pc("Signature first child", "14-signature-first-child.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.RemoveChild(d.sig)
			d.root.InsertChildAt(0, d.sig)
		}),
		pc("Signature inside a child", "15-signature-inside-child.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.RemoveChild(d.sig)
			d.root.ChildElements()[0].AddChild(d.sig)
		}),
		pc("comment after the Signature", "17-comment-after-signature.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.CreateComment(" after the signature ")
		}),
		pc("signed original in ds:Object", "02-original-in-object.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			orig := d.root.Copy()
			orig.RemoveChild(dsChild(orig, "Signature"))
			d.sig.CreateElement("ds:Object").AddChild(orig)
			d.root.CreateAttr("Id", "_evil")
		}),
		pc("root Id reused in upper case", "20-duplicate-id-case-variant.xml", sign.Wrapped, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.ChildElements()[0].CreateAttr("Id", strings.ToUpper(d.root.SelectAttrValue("Id", "")))
			d.resign(t)
		}),
		// Not well-formed XML (WFC: Unique Att Spec): refused with the malformed-message SOAP Fault.
		pc("root Id twice", "21-duplicate-id-attribute.xml", sign.Malformed, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.Attr = append(d.root.Attr, etree.Attr{Key: "Id", Value: "_other"})
		}).answeredWith(ehealth.FaultMalformed),
		pc("KeyValue instead of X509Data", "25-keyinfo-keyvalue.xml", sign.Malformed, func(t *testing.T, d *signedDoc, _ profileEnv) {
			ki := dsChild(d.sig, "KeyInfo")
			ki.RemoveChild(dsChild(ki, "X509Data"))
			pub := d.key.Public().(*rsa.PublicKey)
			kv := ki.CreateElement("ds:KeyValue").CreateElement("ds:RSAKeyValue")
			kv.CreateElement("ds:Modulus").SetText(encodeB64(pub.N.Bytes()))
			kv.CreateElement("ds:Exponent").SetText(encodeB64(big.NewInt(int64(pub.E)).Bytes()))
		}),
		pc("another trusted certificate", "27-swapped-certificate.xml", sign.BadSignature, func(t *testing.T, d *signedDoc, x profileEnv) {
			d.setChain(x.trusted)
		}),
		pc("untrusted signer", "26-untrusted-signer.xml", sign.UntrustedChain, func(t *testing.T, d *signedDoc, x profileEnv) {
			d.setChain(x.untrusted.Chain())
			d.key = x.untrusted
			d.resign(t)
		}),
		pc("ds prefix rebound", "23-namespace-confusion.xml", sign.MissingSignature, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.sig.CreateAttr("xmlns:ds", "urn:example:not-xmldsig")
		}),
		pc("Signature commented out", "16-comment-hides-signature.xml", sign.MissingSignature, func(t *testing.T, d *signedDoc, _ profileEnv) {
			tmp := etree.NewDocument()
			tmp.SetRoot(d.sig.Copy())
			text, err := tmp.WriteToString()
			if err != nil {
				t.Fatal(err)
			}
			idx := d.sig.Index()
			d.root.RemoveChildAt(idx)
			d.root.InsertChildAt(idx, etree.NewComment(text))
		}),
		pc("content changed", "31-tampered-content.xml", sign.BadDigest, func(t *testing.T, d *signedDoc, _ profileEnv) {
			leaf := d.root.ChildElements()[0]
			for len(leaf.ChildElements()) > 0 {
				leaf = leaf.ChildElements()[0]
			}
			leaf.SetText(leaf.Text() + "0")
		}),
		pc("white space in the content", "19-whitespace-in-content.xml", sign.BadDigest, func(t *testing.T, d *signedDoc, _ profileEnv) {
			d.root.InsertChildAt(0, etree.NewText("\n  "))
		}),
	}
}

// wrappingManifest reads the expected reason of each file of the signature-wrapping corpus.
func wrappingManifest(t *testing.T) map[string]sign.Reason {
	t.Helper()
	byName := map[string]sign.Reason{
		"Malformed": sign.Malformed, "MissingSignature": sign.MissingSignature, "Wrapped": sign.Wrapped,
		"WrongAlgorithm": sign.WrongAlgorithm, "BadDigest": sign.BadDigest, "BadSignature": sign.BadSignature,
		"UntrustedChain": sign.UntrustedChain, "Expired": sign.Expired,
	}
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "sign", "testdata", "wrapping", "MANIFEST"))
	if err != nil {
		t.Fatalf("the signature-wrapping corpus: %v", err)
	}
	out := map[string]sign.Reason{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		r, ok := byName[f[1]]
		if !ok {
			t.Fatalf("MANIFEST: unknown reason %q for %s", f[1], f[0])
		}
		out[f[0]] = r
	}
	return out
}

// statusAnswer is the Status of any CertRA or EtkRA response.
type statusAnswer struct {
	Status struct {
		StatusCode struct {
			Value string `xml:"Value,attr"`
		} `xml:"StatusCode"`
		StatusMessage string   `xml:"StatusMessage"`
		Codes         []string `xml:"StatusDetail>EteeStatusDetail>Errors>Code"`
	} `xml:"Status"`
}

// soapPath is the path of op's endpoint on the platform.
func soapPath(op ehealth.Operation) string {
	if op.Service == ehealth.EtkRA {
		return "/EtkRa/v2"
	}
	return "/CertRa/v2"
}

// postSigned sends a signed request, as bytes, in a SOAP envelope with op's SOAPAction, and returns the Status of
// the answer, which must be HTTP 200 with a response (not a Fault).
func postSigned(t *testing.T, srv *ehealthtest.Server, op ehealth.Operation, signed []byte) statusAnswer {
	t.Helper()
	status, body := post(t, srv, soapPath(op), "text/xml; charset=utf-8", `"`+op.SOAPAction+`"`, envStart+string(signed)+envEnd)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d, want 200 with a %s:\n%s", status, op.Response, body)
	}
	var a statusAnswer
	if err := xml.Unmarshal(soapPayload(t, []byte(body)), &a); err != nil {
		t.Fatalf("answer: %v\n%s", err, body)
	}
	return a
}

// runProfileCases sends every profile case of a request built by build (a request the platform accepts, signed
// with key) and checks the platform's answer and that its durable state in stateDir did not change. Last, the
// request re-signed by resign without breaking the profile must be accepted: the refusals are the profile
// checks', not a side effect of resign.
func runProfileCases(t *testing.T, srv *ehealthtest.Server, stateDir string, op ehealth.Operation, key sign.Key,
	build func(t *testing.T) []byte, x profileEnv) {
	manifest := wrappingManifest(t)
	statePath := filepath.Join(stateDir, "state.json")
	for _, c := range profileCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.corpus != "" {
				if r, ok := manifest[c.corpus]; !ok || r != c.reason {
					t.Fatalf("the corpus lists %s as %v (present %v); this case expects %v", c.corpus, r, ok, c.reason)
				}
			}
			d := parseSigned(t, build(t), key)
			c.mutate(t, d, x)
			before, err := os.ReadFile(statePath)
			if err != nil {
				t.Fatal(err)
			}
			if c.fault != "" {
				status, body := post(t, srv, soapPath(op), "text/xml; charset=utf-8", `"`+op.SOAPAction+`"`, envStart+string(d.bytes(t))+envEnd)
				if status != http.StatusInternalServerError || !strings.Contains(body, "<Code>"+c.fault+"</Code>") {
					t.Fatalf("HTTP %d, want a SOAP Fault %s:\n%s", status, c.fault, body)
				}
				if last := srv.Requests()[len(srv.Requests())-1]; last.FaultCode != c.fault || last.Signer != nil {
					t.Errorf("recorded fault %q signer %v", last.FaultCode, last.Signer)
				}
				after, err := os.ReadFile(statePath)
				if err != nil || !bytes.Equal(before, after) {
					t.Errorf("the refused request changed the platform's state (%v)", err)
				}
				return
			}
			a := postSigned(t, srv, op, d.bytes(t))
			if a.Status.StatusCode.Value != ehealth.StatusRequester {
				t.Fatalf("status %q (%s), want %s", a.Status.StatusCode.Value, a.Status.StatusMessage, ehealth.StatusRequester)
			}
			if op.Key == ehealth.EHealthAuthentication && c.reason == sign.UntrustedChain {
				// EtkRA answers a signer the eHealth CA did not issue with its own code.
				if len(a.Status.Codes) != 1 || a.Status.Codes[0] != ehealth.CodeETKForAuthCertNotIssuedByEHealthCA {
					t.Errorf("codes %v (%s), want %s", a.Status.Codes, a.Status.StatusMessage, ehealth.CodeETKForAuthCertNotIssuedByEHealthCA)
				}
			} else if msg := a.Status.StatusMessage; !strings.HasPrefix(msg, "The signature is not correct: ") || !strings.Contains(msg, c.reason.String()) {
				t.Errorf("status message %q, want \"The signature is not correct: ...\" naming the reason %q", msg, c.reason)
			}
			after, err := os.ReadFile(statePath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("the refused request changed the platform's state")
			}
			recs := srv.Requests()
			if last := recs[len(recs)-1]; last.Target != op.Name || last.Signer != nil || last.Status != ehealth.StatusRequester {
				t.Errorf("recorded %s signer %v status %s", last.Target, last.Signer, last.Status)
			}
		})
	}
	t.Run("control: re-signed unchanged", func(t *testing.T) {
		d := parseSigned(t, build(t), key)
		d.resign(t)
		if a := postSigned(t, srv, op, d.bytes(t)); a.Status.StatusCode.Value != ehealth.StatusSuccess {
			t.Fatalf("status %q (%s %v), want success", a.Status.StatusCode.Value, a.Status.StatusMessage, a.Status.Codes)
		}
	})
}

// The platform checks the signature profile: requests signed with keys it trusts but breaking the profile in one
// way each (the shapes of sign's signature-wrapping corpus), sent through its SOAP endpoints, are refused with its
// documented answer — HTTP 200, status Requester, "The signature is not correct: <reason>" (EtkRA: an ETK_* code
// for a signer the eHealth CA did not issue) — and change nothing.
func TestSignatureProfile(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, ehealthtest.WithStateDir(dir))
	outsider := newServer(t).Citizen()
	bob := e.srv.NewCitizen("90010100123", "Bob", "Janssens")

	t.Run("GenerateCertificate", func(t *testing.T) {
		cr, err := e.certra(nil).GenerateContract(e.ctx, e.contractRequest(e.eid, subjectSpec{}))
		if err != nil {
			t.Fatal(err)
		}
		key := newRSAKey(t)
		csr, err := certreq.NewCSR(rand.Reader, key, cr.Contract.DN)
		if err != nil {
			t.Fatal(err)
		}
		contract := *cr.Contract
		contract.DN = certreq.EscapeContractDN(contract.DN)
		build := func(t *testing.T) []byte {
			cs := &captureSigner{key: e.eid.Signature}
			_, err := e.certra(cs).GenerateCertificate(e.ctx, &gen.GenerateCertificateRequest{EHealthCSR: &gen.EHealthCertificateSigningRequestType{
				ContactData: contact, CSR: csr, Contract: &contract, BaseServiceUsage: []string{"tsa"}}})
			if !errors.Is(err, errCaptured) {
				t.Fatalf("GenerateCertificate was not captured: %v", err)
			}
			return cs.signed
		}
		runProfileCases(t, e.srv, dir, ehealth.GenerateCertificate, e.eid.Signature, build,
			profileEnv{trusted: bob.Signature.Chain(), untrusted: outsider.Signature})
		if reg, ok := e.srv.Registration(pkiOf(t, key)); !ok || reg.Requester != e.eid.SSIN {
			t.Errorf("after the control request: registration %+v, %v", reg, ok)
		}
		if n := len(e.srv.Registrations()); n != 1 {
			t.Errorf("%d registrations, want the control's alone", n)
		}
	})

	t.Run("StartETKRegistration", func(t *testing.T) {
		h := e.newHolder(bob, subjectSpec{})
		encKey := newRSAKey(t)
		spki, err := x509.MarshalPKIXPublicKey(&encKey.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		build := func(t *testing.T) []byte {
			cs := &captureSigner{key: h.sign}
			c := e.etkra(h.sign)
			c.Signer = cs
			_, err := c.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
			if !errors.Is(err, errCaptured) {
				t.Fatalf("StartETKRegistration was not captured: %v", err)
			}
			return cs.signed
		}
		runProfileCases(t, e.srv, dir, ehealth.StartETKRegistration, h.sign, build,
			profileEnv{trusted: e.eid.Authentication.Chain(), untrusted: outsider.Authentication})
		if reg, _ := e.srv.Registration(h.pki); reg.ETKStatus != "IN_REQUEST" {
			t.Errorf("after the control request: ETK status %s, want IN_REQUEST", reg.ETKStatus)
		}
	})
}

// An organisation certificate requested without an application id is listed by GetExistingApplicationIds as an
// xsi:nil entry, next to the application ids of the organisation's other certificates; the raw response is valid
// against the official XSDs.
func TestExistingApplicationIdNil(t *testing.T) {
	e := newEnv(t)
	org := ehealthtest.DefaultOrganization
	noApp := e.newHolder(e.eid, subjectSpec{Org: &org})
	if reg, ok := e.srv.Registration(noApp.pki); !ok || reg.ApplicationID != "" || reg.EntityType != "Organization" {
		t.Fatalf("registration without application id: %+v %v", reg, ok)
	}
	if _, err := e.requestCertificate(e.eid, subjectSpec{Org: &org, AppID: "myapp"}); err != nil {
		t.Fatalf("GenerateCertificate with an application id: %v", err)
	}
	ids, err := e.certra(nil).GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{
		OrganizationIdentifier: &gen.IdType{Type: org.Type, Value: org.ID}})
	if err != nil {
		t.Fatalf("GetExistingApplicationIds: %v", err)
	}
	if len(ids.ApplicationId) != 2 {
		t.Fatalf("%d application ids, want 2: %+v", len(ids.ApplicationId), ids.ApplicationId)
	}
	if first := ids.ApplicationId[0]; !first.Nil || first.Value != "" {
		t.Errorf("ApplicationId[0] = %+v, want xsi:nil (the certificate without an application id)", first)
	}
	if second := ids.ApplicationId[1]; second.Nil || second.Value != "MYAPP" {
		t.Errorf("ApplicationId[1] = %+v, want MYAPP", second)
	}

	var raw []byte
	for _, r := range e.srv.Requests() {
		if r.Target == ehealth.GetExistingApplicationIds.Name {
			raw = r.Payload
		}
	}
	if raw == nil {
		t.Fatal("no GetExistingApplicationIds response recorded")
	}
	if msg := testenv.ValidateXSD(t, raw); msg != "" {
		t.Fatalf("the GetExistingApplicationIds response does not validate against the official XSDs:\n%s\n%s", msg, raw)
	}
	var doc struct {
		ApplicationId []struct {
			Nil   string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
			Value string `xml:",chardata"`
		} `xml:"ApplicationId"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ApplicationId) != 2 || doc.ApplicationId[0].Nil != "true" || doc.ApplicationId[0].Value != "" ||
		doc.ApplicationId[1].Nil != "" || doc.ApplicationId[1].Value != "MYAPP" {
		t.Errorf("raw ApplicationId elements %+v, want an empty one with xsi:nil=\"true\" and MYAPP\n%s", doc.ApplicationId, raw)
	}
}

// encCertSpec is what an encryption certificate ("ToBeRegistered") is made of: the template, the key it
// certifies, and its issuer and the key that signs it.
type encCertSpec struct {
	tmpl   *x509.Certificate
	pub    any
	parent *x509.Certificate
	signer crypto.Signer
}

func (s *encCertSpec) build(t *testing.T) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, s.tmpl, s.parent, s.pub, s.signer)
	if err != nil {
		t.Fatalf("encryption certificate: %v", err)
	}
	return der
}

// CompleteETKRegistration checks the encryption certificate rule by rule (etk.CheckEncryptionCertificate, the
// server's documented check): each broken rule other than the serial (TestETKRegistrationErrors) is answered with
// its ETK_* code alone, and leaves the registration waiting; a certificate that keeps every rule is registered.
func TestETKEncryptionCertificateRules(t *testing.T) {
	e := newEnv(t)
	h := e.newHolder(e.eid, subjectSpec{})
	auth := h.chain[0]
	c := e.etkra(h.sign)
	encKey := newRSAKey(t)
	spki, err := x509.MarshalPKIXPublicKey(&encKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	start, err := c.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	if err != nil {
		t.Fatalf("StartETKRegistration: %v", err)
	}
	serial, err := etk.SolveChallenge(encKey, start.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	// good is a certificate that keeps every rule: the challenge serial, the authentication certificate's subject
	// as subject and issuer, its validity, keyEncipherment and dataEncipherment, the RSA-2048 key given to
	// StartETKRegistration, signed by the authentication key.
	good := func() *encCertSpec {
		return &encCertSpec{
			tmpl: &x509.Certificate{SerialNumber: serial, RawSubject: auth.RawSubject, NotBefore: auth.NotBefore, NotAfter: auth.NotAfter,
				KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment},
			pub: &encKey.PublicKey, parent: auth, signer: h.key,
		}
	}
	otherKey := newRSAKey(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherSubject, err := certreq.MarshalDN(pkix.Name{CommonName: "someone else", SerialNumber: "90010100123", Country: []string{"BE"}}.ToRDNSequence(), certreq.EncodingX500Principal)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(s *encCertSpec)
		code   string
	}{
		{"another subject", func(s *encCertSpec) { s.tmpl.RawSubject = otherSubject }, etk.CodeCertsDoNotMatch},
		{"another issuer", func(s *encCertSpec) {
			s.parent = &x509.Certificate{RawSubject: otherSubject, PublicKey: &h.key.PublicKey, SubjectKeyId: auth.SubjectKeyId}
		}, etk.CodeCertsDoNotMatch},
		{"digitalSignature key usage", func(s *encCertSpec) { s.tmpl.KeyUsage = x509.KeyUsageDigitalSignature }, etk.CodeEncryptionCertInvalidKeyUsage},
		{"keyEncipherment only", func(s *encCertSpec) { s.tmpl.KeyUsage = x509.KeyUsageKeyEncipherment }, etk.CodeEncryptionCertInvalidKeyUsage},
		{"a CA certificate", func(s *encCertSpec) {
			s.tmpl.BasicConstraintsValid, s.tmpl.IsCA = true, true
			s.tmpl.KeyUsage |= x509.KeyUsageCertSign
		}, etk.CodeEncryptionCertInvalidKeyUsage},
		{"validity ends a day later", func(s *encCertSpec) { s.tmpl.NotAfter = auth.NotAfter.Add(24 * time.Hour) }, etk.CodeEncryptionCertValidityMismatch},
		{"validity starts an hour earlier", func(s *encCertSpec) { s.tmpl.NotBefore = auth.NotBefore.Add(-time.Hour) }, etk.CodeEncryptionCertValidityMismatch},
		{"signed by another key", func(s *encCertSpec) {
			s.parent = &x509.Certificate{RawSubject: auth.RawSubject, PublicKey: &otherKey.PublicKey, SubjectKeyId: auth.SubjectKeyId}
			s.signer = otherKey
		}, etk.CodeEncryptionCertSignatureNotValid},
		{"RSA-1024 key", func(s *encCertSpec) { s.pub = &small.PublicKey }, etk.CodeEncryptionCertInvalidKey},
		{"ECDSA key", func(s *encCertSpec) { s.pub = &ecKey.PublicKey }, etk.CodeEncryptionCertInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := good()
			tc.change(spec)
			_, err := c.CompleteETKRegistration(e.ctx, &genetk.CompleteETKRegistrationRequest{ToBeRegistered: spec.build(t)})
			var se *soap.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("want a status error %s, got %v", tc.code, err)
			}
			if len(se.StatusCodes) == 0 || se.StatusCodes[0] != ehealth.StatusRequester {
				t.Errorf("status codes %v, want %s", se.StatusCodes, ehealth.StatusRequester)
			}
			if codes := se.Codes(); len(codes) != 1 || codes[0] != tc.code {
				t.Errorf("codes %v (%s), want only %s", codes, se.Message, tc.code)
			}
			if reg, _ := e.srv.Registration(h.pki); reg.ETKStatus != "IN_REQUEST" || reg.EncryptionCertificate != nil || reg.ETK != nil {
				t.Errorf("after a refused certificate: ETK status %s, encryption certificate %v", reg.ETKStatus, reg.EncryptionCertificate != nil)
			}
		})
	}
	// The certificate that keeps every rule is registered: the refusals above were the rules'.
	resp, err := c.CompleteETKRegistration(e.ctx, &genetk.CompleteETKRegistrationRequest{ToBeRegistered: good().build(t)})
	if err != nil {
		t.Fatalf("CompleteETKRegistration with a good certificate: %v", err)
	}
	if reg, _ := e.srv.Registration(h.pki); reg.ETKStatus != "VALID_ACTIVE" || !bytes.Equal(reg.ETK, resp.ETK) {
		t.Errorf("after the good certificate: ETK status %s", reg.ETKStatus)
	}
}
