package etkdepot

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkra"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// platform is an in-process ehealthtest platform (CertRA, EtkRA and the ETK Depot on a loopback TLS port)
// where ETKs of ehealthtest.DefaultOrganization are registered through the real CertRA and EtkRA operations.
type platform struct {
	srv *ehealthtest.Server
	org ehealthtest.Organization
}

// registered is one organisation certificate and the ETK registered for it.
type registered struct {
	appID   string
	auth    *x509.Certificate // the eHealth authentication certificate
	encKey  *rsa.PrivateKey
	encCert *x509.Certificate // the encryption certificate in the ETK
	etk     []byte            // the ETK CompleteETKRegistration returned
}

func newPlatform(tb testing.TB) *platform {
	tb.Helper()
	return &platform{srv: ehealthtest.NewServer(tb, ehealthtest.WithLogf(func(string, ...any) {})), org: ehealthtest.DefaultOrganization}
}

// register requests an organisation certificate for appID ("" for none) as the default citizen, fetches it,
// and registers an ETK for it, as the connector does (FACTS §8).
func (p *platform) register(tb testing.TB, appID string) *registered {
	tb.Helper()
	ctx := context.Background()
	sc := &soap.Client{HTTPClient: p.srv.Client()}
	eid := p.srv.Citizen()
	cr := &certra.Client{SOAP: sc, Endpoint: p.srv.Environment().CertRA, Signer: eid.Keyring(), Now: p.srv.Clock().Now}
	signer := &gencertra.ActorType{Id: []gencertra.IdType{{Type: "SSIN", Value: eid.SSIN}}, FirstName: []string{eid.FirstName}, Name: eid.LastName}
	contact := &gencertra.ContactDataType{EmailPrivate: "ops@example.com", PhonePrivate: "+32 2 000 00 00"}
	contract, err := cr.GenerateContract(ctx, &gencertra.GenerateContractRequest{ContactData: contact, Signer: signer,
		CertificateIdentifier: &gencertra.CertificateIdentifierType{ApplicationId: appID, Actor: &gencertra.ActorType{
			Id: []gencertra.IdType{{Type: p.org.Type, Value: p.org.ID}}, FirstName: []string{eid.FirstName}, Name: p.org.Name}}})
	if err != nil {
		tb.Fatalf("GenerateContract: %v", err)
	}
	key := mustRSA()
	csr, err := certreq.NewCSR(rand.Reader, key, contract.Contract.DN)
	if err != nil {
		tb.Fatal(err)
	}
	signed := *contract.Contract
	signed.DN = certreq.EscapeContractDN(signed.DN)
	gc, err := cr.GenerateCertificate(ctx, &gencertra.GenerateCertificateRequest{EHealthCSR: &gencertra.EHealthCertificateSigningRequestType{
		ContactData: contact, CSR: csr, Contract: &signed, BaseServiceUsage: []string{"tsa"}}})
	if err != nil {
		tb.Fatalf("GenerateCertificate: %v", err)
	}
	var chain []*x509.Certificate
	for i := 0; chain == nil; i++ {
		resp, err := cr.GetCertificate(ctx, &gencertra.GetCertificateRequest{PublicKeyIdentifier: gc.PublicKeyIdentifier})
		switch {
		case soap.IsPending(err) && i < 10:
			continue
		case err != nil:
			tb.Fatalf("GetCertificate: %v", err)
		}
		for _, der := range resp.X509Certificate {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				tb.Fatal(err)
			}
			chain = append(chain, c)
		}
	}
	authKey, err := sign.NewKey(key, chain)
	if err != nil {
		tb.Fatal(err)
	}
	er := &etkra.Client{SOAP: sc, Endpoint: p.srv.Environment().EtkRA, Signer: &sign.Keyring{EHealthAuthentication: authKey},
		Now: p.srv.Clock().Now}
	encKey := mustRSA()
	spki, err := x509.MarshalPKIXPublicKey(&encKey.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	start, err := er.StartETKRegistration(ctx, &genetkra.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	if err != nil {
		tb.Fatalf("StartETKRegistration: %v", err)
	}
	serialNumber, err := etk.SolveChallenge(encKey, start.Challenge)
	if err != nil {
		tb.Fatal(err)
	}
	encDER, err := etk.NewEncryptionCertificate(rand.Reader, key, chain[0], &encKey.PublicKey, serialNumber)
	if err != nil {
		tb.Fatal(err)
	}
	done, err := er.CompleteETKRegistration(ctx, &genetkra.CompleteETKRegistrationRequest{ToBeRegistered: encDER})
	if err != nil {
		tb.Fatalf("CompleteETKRegistration: %v", err)
	}
	encCert, err := x509.ParseCertificate(encDER)
	if err != nil {
		tb.Fatal(err)
	}
	return &registered{appID: appID, auth: chain[0], encKey: encKey, encCert: encCert, etk: done.ETK}
}

// client returns a depot client of the platform with the default ETK validation (package etk, Roots).
func (p *platform) client() *Client {
	return &Client{
		BaseURL:    p.srv.Environment().ETKDepot,
		HTTPClient: p.srv.Client(),
		UserAgent:  "ehcertTest/1.0 ehcert/0",
		From:       "ops@example.com",
		Roots:      p.srv.Roots(),
		Now:        p.srv.Clock().Now,
	}
}

// depotRequests counts the requests the platform received for a depot target (ehealthtest.TargetETKs, ...).
func (p *platform) depotRequests(target string) int {
	n := 0
	for _, r := range p.srv.Requests() {
		if r.Target == target {
			n++
		}
	}
	return n
}
