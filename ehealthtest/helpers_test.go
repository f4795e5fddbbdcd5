package ehealthtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkra"
	gen "github.com/ehcert/ehcert/gen/certra"
	genetk "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// env is one platform with clients for a test.
type env struct {
	t   *testing.T
	ctx context.Context
	srv *ehealthtest.Server
	eid *ehealthtest.EID
}

// newEnv starts a platform whose responses are checked at the end of the test (see newServer).
func newEnv(t *testing.T, opts ...ehealthtest.Option) *env {
	t.Helper()
	srv := newServer(t, opts...)
	return &env{t: t, ctx: context.Background(), srv: srv, eid: srv.Citizen()}
}

// newServer is ehealthtest.NewServer with checkResponses registered: every test that starts a platform through
// it has the platform's responses validated when it ends.
func newServer(t *testing.T, opts ...ehealthtest.Option) *ehealthtest.Server {
	t.Helper()
	srv := ehealthtest.NewServer(t, opts...)
	checkResponses(t, srv)
	return srv
}

// checkResponses registers, for the end of t, the validation of everything srv answered: every non-fault SOAP
// payload against the official XSDs (validateResponses) and every ETK Depot response against
// openapi/etkdepot-v1.yaml (validateDepotResponses). Register it right after creating a server by other means
// than newServer.
func checkResponses(t *testing.T, srv *ehealthtest.Server) {
	t.Helper()
	t.Cleanup(func() {
		validateResponses(t, srv)
		validateDepotResponses(t, srv)
	})
}

func (e *env) soap() *soap.Client { return &soap.Client{HTTPClient: e.srv.Client()} }

// certra returns a CertRA client signing with signer and the platform's clock.
func (e *env) certra(signer ehealth.RequestSigner) *certra.Client {
	return &certra.Client{SOAP: e.soap(), Endpoint: e.srv.Environment().CertRA, Signer: signer, Now: e.srv.Clock().Now}
}

// etkra returns an EtkRA client signing with an eHealth authentication key.
func (e *env) etkra(auth sign.Key) *etkra.Client {
	return &etkra.Client{SOAP: e.soap(), Endpoint: e.srv.Environment().EtkRA,
		Signer: &sign.Keyring{EHealthAuthentication: auth}, Now: e.srv.Clock().Now}
}

var contact = &gen.ContactDataType{EmailPrivate: "alice@example.com", PhonePrivate: "+32 2 000 00 00"}

func signerActor(eid *ehealthtest.EID) *gen.ActorType {
	return &gen.ActorType{Id: []gen.IdType{{Type: "SSIN", Value: eid.SSIN}}, FirstName: []string{eid.FirstName}, Name: eid.LastName}
}

// subjectSpec says whom a certificate is for: the person (Org nil) or an organisation.
type subjectSpec struct {
	Org   *ehealthtest.Organization
	AppID string
}

func (e *env) contractRequest(eid *ehealthtest.EID, s subjectSpec) *gen.GenerateContractRequest {
	actor := signerActor(eid)
	if s.Org != nil {
		actor = &gen.ActorType{Id: []gen.IdType{{Type: s.Org.Type, Value: s.Org.ID}}, FirstName: []string{eid.FirstName}, Name: s.Org.Name}
	}
	return &gen.GenerateContractRequest{ContactData: contact, Signer: signerActor(eid),
		CertificateIdentifier: &gen.CertificateIdentifierType{Actor: actor, ApplicationId: s.AppID}}
}

// request holds what requesting a certificate produced.
type request struct {
	key      *rsa.PrivateKey
	contract *gen.ContractType
	resp     *gen.GenerateCertificateResponse
}

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// requestCertificate runs GenerateContract and GenerateCertificate.
func (e *env) requestCertificate(eid *ehealthtest.EID, s subjectSpec) (*request, error) {
	t := e.t
	t.Helper()
	c := e.certra(eid.Keyring())
	cr, err := c.GenerateContract(e.ctx, e.contractRequest(eid, s))
	if err != nil {
		t.Fatalf("GenerateContract: %v", err)
	}
	key := newRSAKey(t)
	csr, err := certreq.NewCSR(rand.Reader, key, cr.Contract.DN)
	if err != nil {
		t.Fatalf("NewCSR: %v", err)
	}
	contract := *cr.Contract
	contract.DN = certreq.EscapeContractDN(contract.DN)
	resp, err := c.GenerateCertificate(e.ctx, &gen.GenerateCertificateRequest{EHealthCSR: &gen.EHealthCertificateSigningRequestType{
		ContactData: contact, CSR: csr, Contract: &contract, BaseServiceUsage: []string{"tsa"}}})
	return &request{key: key, contract: cr.Contract, resp: resp}, err
}

// getCertificate polls GetCertificate until the certificate is delivered (at most 10 polls).
func (e *env) getCertificate(pki []byte) []*x509.Certificate {
	t := e.t
	t.Helper()
	c := e.certra(nil)
	for i := 0; i < 10; i++ {
		resp, err := c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: pki})
		if soap.IsPending(err) {
			continue
		}
		if err != nil {
			t.Fatalf("GetCertificate: %v", err)
		}
		var chain []*x509.Certificate
		for _, der := range resp.X509Certificate {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("GetCertificate returned a bad certificate: %v", err)
			}
			chain = append(chain, cert)
		}
		return chain
	}
	t.Fatal("GetCertificate: still not delivered after 10 polls")
	return nil
}

// holder is an eHealth certificate with its key.
type holder struct {
	pki   []byte
	key   *rsa.PrivateKey
	chain []*x509.Certificate
	sign  sign.Key
}

// newHolder requests and fetches a certificate.
func (e *env) newHolder(eid *ehealthtest.EID, s subjectSpec) *holder {
	t := e.t
	t.Helper()
	r, err := e.requestCertificate(eid, s)
	if err != nil {
		t.Fatalf("GenerateCertificate: %v", err)
	}
	chain := e.getCertificate(r.resp.PublicKeyIdentifier)
	k, err := sign.NewKey(r.key, chain)
	if err != nil {
		t.Fatal(err)
	}
	return &holder{pki: r.resp.PublicKeyIdentifier, key: r.key, chain: chain, sign: k}
}

// registerETK runs StartETKRegistration and CompleteETKRegistration.
func (e *env) registerETK(h *holder) (*genetk.CompleteETKRegistrationResponse, *rsa.PrivateKey, error) {
	t := e.t
	t.Helper()
	c := e.etkra(h.sign)
	encKey := newRSAKey(t)
	spki, err := x509.MarshalPKIXPublicKey(&encKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	start, err := c.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	if err != nil {
		return nil, nil, fmt.Errorf("StartETKRegistration: %w", err)
	}
	serial, err := etk.SolveChallenge(encKey, start.Challenge)
	if err != nil {
		t.Fatalf("SolveChallenge: %v", err)
	}
	encCert, err := etk.NewEncryptionCertificate(rand.Reader, h.key, h.chain[0], &encKey.PublicKey, serial)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.CompleteETKRegistration(e.ctx, &genetk.CompleteETKRegistrationRequest{ToBeRegistered: encCert})
	if err != nil {
		return nil, nil, fmt.Errorf("CompleteETKRegistration: %w", err)
	}
	return resp, encKey, nil
}

// wantCode fails unless err is a StatusError (or Fault) carrying code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %s, got success", code)
	}
	var se *soap.StatusError
	if errors.As(err, &se) {
		if !se.Has(code) {
			t.Fatalf("want code %s, got %v", code, err)
		}
		return
	}
	if soap.Code(err) != code {
		t.Fatalf("want code %s, got %v", code, err)
	}
}

// wantStatusError fails unless err is a non-success core:Status whose message contains substr.
func wantStatusError(t *testing.T, err error, substr string) *soap.StatusError {
	t.Helper()
	var se *soap.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("want a status error (%q), got %v", substr, err)
	}
	if !strings.Contains(se.Message, substr) {
		t.Fatalf("want a status error containing %q, got %v", substr, err)
	}
	if len(se.StatusCodes) == 0 || se.StatusCodes[0] != ehealth.StatusRequester {
		t.Fatalf("status codes %v, want %s", se.StatusCodes, ehealth.StatusRequester)
	}
	return se
}

// fixedSigner signs every request with one key, whatever the operation wants: it lets tests send requests
// signed with the wrong kind of key.
type fixedSigner struct{ key sign.Key }

func (f fixedSigner) SignRequest(ctx context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	return sign.EnvelopedContext(ctx, f.key, payload)
}

// validateResponses runs xmllint once over every non-fault SOAP payload the server sent.
func validateResponses(t *testing.T, srv *ehealthtest.Server) {
	if t.Failed() {
		return
	}
	var docs [][]byte
	var names []string
	for i, r := range srv.Requests() {
		// A Rewrite fault sends what the test wrote (typically what the schemas do not describe).
		if r.Payload == nil || r.IsFault() || r.Injected == ehealthtest.Rewrite {
			continue
		}
		docs = append(docs, r.Payload)
		names = append(names, fmt.Sprintf("%03d-%s.xml", i, r.Target))
	}
	if len(docs) == 0 {
		return
	}
	xmllint := testenv.Require(t, "xmllint")
	schema := testenv.Shared(t, "reference/xsd-check/all.xsd")
	dir := t.TempDir()
	args := []string{"--nonet", "--noout", "--schema", schema}
	for i, d := range docs {
		p := filepath.Join(dir, names[i])
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	var out bytes.Buffer
	cmd := exec.Command(xmllint, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("responses do not validate against the official XSDs: %v\n%s", err, out.String())
		return
	}
	if n := strings.Count(out.String(), " validates"); n != len(docs) {
		t.Errorf("xmllint validated %d of %d responses:\n%s", n, len(docs), out.String())
	}
	t.Logf("%d responses validate against the official XSDs", len(docs))
}

// clockNow is a helper for tests that compare against the platform's time.
func clockNow(srv *ehealthtest.Server) time.Time { return srv.Clock().Now() }

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// foreignerCSR builds the CSR the connector builds locally for a foreigner (FACTS §7).
func foreignerCSR(t *testing.T, key *rsa.PrivateKey, ssinBis, lastName, firstName string) []byte {
	t.Helper()
	dn, err := certreq.ForeignerSubject(ssinBis, lastName, firstName).DN()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certreq.NewCSR(rand.Reader, key, dn)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func pkiOf(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	id, err := certreq.PublicKeyIdentifier(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
