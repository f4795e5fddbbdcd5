package ehealthtest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
)

// checkP384 fails unless k is an ECDSA P-384 key whose certificate was issued by the test eID CA.
func checkP384(t *testing.T, name string, k *ehealthtest.Key) {
	t.Helper()
	pub, ok := k.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		t.Fatalf("%s key is %T, want ECDSA P-384", name, k.Public())
	}
	leaf := k.Certificate()
	if !pub.Equal(leaf.PublicKey) {
		t.Errorf("%s certificate is not for the key", name)
	}
	if len(k.Chain()) != 2 {
		t.Fatalf("%s chain of %d certificates, want leaf + eID CA", name, len(k.Chain()))
	}
	if err := leaf.CheckSignatureFrom(k.Chain()[1]); err != nil {
		t.Errorf("%s certificate is not signed by the eID CA: %v", name, err)
	}
}

// A citizen whose eID has ECDSA P-384 keys, like current Belgian cards, runs the whole person-certificate
// process through the real certra client and sign.Keyring: qualities (eID Authentication), contract and
// certificate (eID Signature), certificate info (Authentication), revocation (Signature). Every signed request
// the platform received uses ecdsa-sha384 with a raw r||s value, verifies with xmlsec1 and validates against
// the official XSDs.
func TestECDSAP384Citizen(t *testing.T) {
	e := newEnv(t, ehealthtest.WithEIDKeyType(ehealthtest.ECDSAP384))
	eid := e.eid
	if eid.KeyType() != ehealthtest.ECDSAP384 {
		t.Fatalf("default citizen key type %v, want %v", eid.KeyType(), ehealthtest.ECDSAP384)
	}
	checkP384(t, "Authentication", eid.Authentication)
	checkP384(t, "Signature", eid.Signature)
	eidCA := eid.Authentication.Chain()[1]
	if _, ok := eidCA.PublicKey.(*ecdsa.PublicKey); !ok || eid.Authentication.Certificate().SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Errorf("eID CA key %T, certificate signed with %v; want an ECDSA CA signing with ecdsa-with-SHA384",
			eidCA.PublicKey, eid.Authentication.Certificate().SignatureAlgorithm)
	}

	c := e.certra(eid.Keyring())
	q, err := c.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN}})
	if err != nil {
		t.Fatalf("GetActorQualities: %v", err)
	}
	if q.NaturalPersonAuthorization == nil || !*q.NaturalPersonAuthorization || len(q.OrganizationAuthorization) != 1 {
		t.Fatalf("qualities: %+v", q)
	}

	// GenerateContract (unsigned) and GenerateCertificate (eID Signature), then delivery.
	r, err := e.requestCertificate(eid, subjectSpec{})
	if err != nil {
		t.Fatalf("GenerateCertificate: %v", err)
	}
	chain := e.getCertificate(r.resp.PublicKeyIdentifier)
	checkIssued(t, e.srv, chain, r)
	if _, ok := chain[0].PublicKey.(*rsa.PublicKey); !ok {
		t.Errorf("the eHealth certificate has a %T key, want the CSR's RSA key", chain[0].PublicKey)
	}

	list, err := c.GetCertificateInfoForCitizen(e.ctx, &gen.GetCertificateInfoForCitizenRequest{})
	if err != nil || len(list.CertificateInfo) != 1 || !bytes.Equal(list.CertificateInfo[0].PublicKeyIdentifier, r.resp.PublicKeyIdentifier) ||
		list.CertificateInfo[0].AuthenticationCertificateStatus != gen.CertificateStatusTypeVALID_ACTIVE {
		t.Fatalf("GetCertificateInfoForCitizen: %v %+v", err, list)
	}

	rc, err := c.GenerateRevocationContract(e.ctx, &gen.GenerateRevocationContractRequest{PublicKeyIdentifier: r.resp.PublicKeyIdentifier,
		Signer: signerActor(eid), RevocationReason: gen.RevocationReasonTypeCessationOfOperation})
	if err != nil {
		t.Fatalf("GenerateRevocationContract: %v", err)
	}
	if _, err := c.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: r.resp.PublicKeyIdentifier, Contract: rc.Contract}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	list, err = c.GetCertificateInfoForCitizen(e.ctx, &gen.GetCertificateInfoForCitizenRequest{})
	if err != nil || len(list.CertificateInfo) != 1 || list.CertificateInfo[0].AuthenticationCertificateStatus != gen.CertificateStatusTypeREVOKED {
		t.Fatalf("GetCertificateInfoForCitizen after Revoke: %v %+v", err, list)
	}

	// The roles are still told apart for ECDSA eIDs: the Signature key cannot authenticate.
	_, err = e.certra(fixedSigner{eid.Signature}).GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN}})
	wantStatusError(t, err, "must be signed with the eID Authentication key")

	checkSignedRequests(t, e, eid, map[string]int{"GetActorQualities": 1, "GenerateCertificate": 1, "GetCertificateInfoForCitizen": 2, "Revoke": 1})
}

// checkSignedRequests checks the signed requests the platform accepted: each was signed by one of eid's keys
// with ecdsa-sha384 and a 96-byte r||s, verifies with xmlsec1 against the platform's root at its IssueInstant,
// and validates against the official XSDs. want counts the accepted signed requests per operation.
func checkSignedRequests(t *testing.T, e *env, eid *ehealthtest.EID, want map[string]int) {
	t.Helper()
	xmlsec := testenv.Require(t, "xmlsec1")
	dir := t.TempDir()
	root := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(root, e.srv.RootsPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for i, rec := range e.srv.Requests() {
		if rec.Signer == nil || rec.Status != ehealth.StatusSuccess {
			continue
		}
		op, ok := operationNamed(rec.Target)
		if !ok {
			t.Fatalf("recorded target %q is not an operation", rec.Target)
		}
		got[op.Name]++
		wantCert := eid.Authentication.Certificate()
		if op.Key == ehealth.EIDSignature {
			wantCert = eid.Signature.Certificate()
		}
		if !rec.Signer.Equal(wantCert) {
			t.Errorf("%s signed by %s, want %s", op.Name, rec.Signer.Subject.CommonName, wantCert.Subject.CommonName)
		}
		payload := soapPayload(t, rec.Request)
		method, sigValue := signatureOf(t, payload)
		if method != sign.AlgECDSASHA384 {
			t.Errorf("%s: SignatureMethod %q, want %q", op.Name, method, sign.AlgECDSASHA384)
		}
		if len(sigValue) != 96 {
			t.Errorf("%s: SignatureValue of %d bytes, want the 96-byte r||s of P-384", op.Name, len(sigValue))
		}
		if msg := testenv.ValidateXSD(t, payload); msg != "" {
			t.Errorf("%s request does not validate against the official XSDs:\n%s", op.Name, msg)
		}
		// The whole envelope as received: exclusive c14n makes the envelope irrelevant to the signature.
		path := filepath.Join(dir, fmt.Sprintf("%03d-%s.xml", i, op.Name))
		if err := os.WriteFile(path, rec.Request, 0o600); err != nil {
			t.Fatal(err)
		}
		at := issueInstant(t, payload).Local().Format("2006-01-02 15:04:05")
		out, err := exec.Command(xmlsec, "--verify", "--trusted-pem", root, "--id-attr:Id", op.Namespace+":"+op.Request,
			"--verification-time", at, path).CombinedOutput()
		if err != nil {
			t.Errorf("xmlsec1 does not verify the %s request: %v\n%s", op.Name, err, out)
		}
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%d accepted signed %s requests, want %d (all: %v)", got[name], name, n, got)
		}
	}
}

func operationNamed(name string) (ehealth.Operation, bool) {
	for _, op := range ehealth.Operations() {
		if op.Name == name {
			return op, true
		}
	}
	return ehealth.Operation{}, false
}

// soapPayload returns the only child of the SOAP Body of an envelope, byte for byte.
func soapPayload(t *testing.T, envelope []byte) []byte {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(envelope))
	depth := 0
	var start int64 = -1
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no SOAP Body child: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 {
				start = off
			}
		case xml.EndElement:
			if depth == 3 {
				if tok.Name.Space != ehealth.NSCertRAProtocol && tok.Name.Space != ehealth.NSEtkRAProtocol {
					t.Fatalf("Body child %s is not a request", tok.Name.Local)
				}
				return envelope[start:d.InputOffset()]
			}
			depth--
		}
	}
}

// signatureOf returns the SignatureMethod and the decoded SignatureValue of a signed request.
func signatureOf(t *testing.T, payload []byte) (string, []byte) {
	t.Helper()
	var doc struct {
		Signature struct {
			Method struct {
				Algorithm string `xml:"Algorithm,attr"`
			} `xml:"http://www.w3.org/2000/09/xmldsig# SignedInfo>SignatureMethod"`
			Value string `xml:"http://www.w3.org/2000/09/xmldsig# SignatureValue"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	}
	if err := xml.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	v, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Signature.Value), ""))
	if err != nil {
		t.Fatalf("SignatureValue: %v", err)
	}
	return doc.Signature.Method.Algorithm, v
}

func issueInstant(t *testing.T, payload []byte) time.Time {
	t.Helper()
	var root struct {
		IssueInstant string `xml:"IssueInstant,attr"`
	}
	if err := xml.Unmarshal(payload, &root); err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, root.IssueInstant)
	if err != nil {
		t.Fatalf("IssueInstant %q: %v", root.IssueInstant, err)
	}
	return ts
}

// The key type is chosen per citizen, and ECDSA and RSA eIDs live side by side under either kind of eID CA.
func TestCitizenKeyTypes(t *testing.T) {
	for _, serverType := range []ehealthtest.KeyType{ehealthtest.RSA2048, ehealthtest.ECDSAP384} {
		t.Run(serverType.String(), func(t *testing.T) {
			e := newEnv(t, ehealthtest.WithEIDKeyType(serverType))
			if got := e.eid.KeyType(); got != serverType {
				t.Errorf("default citizen %v, want %v", got, serverType)
			}
			if got := e.srv.NewCitizen("90010100123", "Bob", "Janssens").KeyType(); got != serverType {
				t.Errorf("NewCitizen made a %v eID, want the server's %v", got, serverType)
			}
			for _, kt := range []ehealthtest.KeyType{ehealthtest.RSA2048, ehealthtest.ECDSAP384} {
				ssin := map[ehealthtest.KeyType]string{ehealthtest.RSA2048: "91020200121", ehealthtest.ECDSAP384: "92030300119"}[kt]
				eid := e.srv.NewCitizenWithKeyType(kt, ssin, "Carol", kt.String())
				if eid.KeyType() != kt {
					t.Fatalf("NewCitizenWithKeyType(%v) made a %v eID", kt, eid.KeyType())
				}
				if kt == ehealthtest.ECDSAP384 {
					checkP384(t, "Signature", eid.Signature)
				} else if pub, ok := eid.Signature.Public().(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 {
					t.Fatalf("Signature key %T, want RSA-2048", eid.Signature.Public())
				}
				c := e.certra(eid.Keyring())
				if _, err := c.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN}}); err != nil {
					t.Fatalf("%v citizen: GetActorQualities: %v", kt, err)
				}
				if _, err := e.requestCertificate(eid, subjectSpec{}); err != nil {
					t.Fatalf("%v citizen: GenerateCertificate: %v", kt, err)
				}
			}
		})
	}
	srv := newServer(t)
	if _, err := srv.AddCitizenWithKeyType(ehealthtest.KeyType(7), "90010100123", "Bob", "Janssens"); err == nil {
		t.Error("AddCitizenWithKeyType accepted an unknown key type")
	}
	if _, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{EIDKeyType: ehealthtest.KeyType(-1)}); err == nil {
		t.Error("NewUnstartedServer accepted an unknown key type")
	}
}

// ToPKCS12 of an ECDSA eID loads with sign.LoadPKCS12, and the loaded keys sign requests the platform accepts.
func TestECDSAP384ToPKCS12(t *testing.T) {
	e := newEnv(t, ehealthtest.WithEIDKeyType(ehealthtest.ECDSAP384))
	p12, err := e.eid.ToPKCS12("correct horse")
	if err != nil {
		t.Fatalf("ToPKCS12: %v", err)
	}
	var kr sign.Keyring
	for _, k := range []struct {
		alias string
		want  *ehealthtest.Key
		dst   *sign.Key
	}{{ehealthtest.AliasAuthentication, e.eid.Authentication, &kr.EIDAuthentication}, {ehealthtest.AliasSignature, e.eid.Signature, &kr.EIDSignature}} {
		key, err := sign.LoadPKCS12(p12, []byte("correct horse"), k.alias)
		if err != nil {
			t.Fatalf("LoadPKCS12 %s: %v", k.alias, err)
		}
		pub, ok := key.Public().(*ecdsa.PublicKey)
		if !ok || !pub.Equal(k.want.Public()) {
			t.Fatalf("%s: loaded key %T is not the eID's ECDSA key", k.alias, key.Public())
		}
		if ch := key.Chain(); len(ch) != 2 || !ch[0].Equal(k.want.Certificate()) || !ch[1].Equal(k.want.Chain()[1]) {
			t.Fatalf("%s: loaded chain of %d certificates, want leaf + eID CA", k.alias, len(ch))
		}
		*k.dst = key
	}
	if _, err := sign.LoadPKCS12(p12, []byte("wrong"), ehealthtest.AliasAuthentication); err == nil {
		t.Error("LoadPKCS12 with a wrong password succeeded")
	}
	c := e.certra(&kr)
	if _, err := c.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: e.eid.SSIN}}); err != nil {
		t.Fatalf("GetActorQualities with the keys from the PKCS#12: %v", err)
	}
	if _, err := e.requestCertificate(e.eid, subjectSpec{}); err != nil {
		t.Fatalf("GenerateCertificate: %v", err)
	}
}

// A durable platform keeps an ECDSA eID (keys, certificates and eID CA) across restarts, whatever the options of
// the restarted server say.
func TestECDSAP384Durable(t *testing.T) {
	dir := t.TempDir()
	srv := newServer(t, ehealthtest.WithStateDir(dir), ehealthtest.WithEIDKeyType(ehealthtest.ECDSAP384))
	before := srv.Citizen()
	srv.Close()

	e := newEnv(t, ehealthtest.WithStateDir(dir))
	if e.eid.KeyType() != ehealthtest.ECDSAP384 || !e.eid.Signature.Certificate().Equal(before.Signature.Certificate()) ||
		!e.eid.Signature.Public().(*ecdsa.PublicKey).Equal(before.Signature.Public()) {
		t.Fatalf("the ECDSA eID changed across a restart")
	}
	if _, err := e.requestCertificate(e.eid, subjectSpec{}); err != nil {
		t.Fatalf("GenerateCertificate after a restart: %v", err)
	}
}
