package ehealthtest_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	"github.com/ehcert/ehcert/etk"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/gen/etkdepot"
	genetk "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// An organisation certificate from qualities to revocation, with the ETK published in the depot.
func TestOrganizationLifecycle(t *testing.T) {
	e := newEnv(t, ehealthtest.WithIssueAfterPolls(3))
	eid := e.eid
	c := e.certra(eid.Keyring())

	q, err := c.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN}})
	if err != nil {
		t.Fatalf("GetActorQualities: %v", err)
	}
	if q.NaturalPersonAuthorization == nil || !*q.NaturalPersonAuthorization || len(q.OrganizationAuthorization) != 1 ||
		q.OrganizationAuthorization[0].Identifier.Value != ehealthtest.DefaultOrganization.ID {
		t.Fatalf("qualities: %+v", q)
	}
	types, err := c.GetGenericOrganizationTypes(e.ctx, &gen.GetGenericOrganizationTypesRequest{})
	if err != nil || len(types.OrganizationType) == 0 {
		t.Fatalf("GetGenericOrganizationTypes: %v", err)
	}
	found := false
	for _, ot := range types.OrganizationType {
		if ot.IdentifierType == "NIHII-HOSPITAL" && ot.ValidationRegEx != "" && len(ot.CheckDigitAlgorithm) == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no NIHII-HOSPITAL type with a regex and a check digit algorithm: %+v", types.OrganizationType)
	}

	org := ehealthtest.DefaultOrganization
	ids, err := c.GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{OrganizationIdentifier: &gen.IdType{Type: org.Type, Value: org.ID}})
	if err != nil || len(ids.ApplicationId) != 0 {
		t.Fatalf("GetExistingApplicationIds before: %v %+v", err, ids)
	}

	// Contract, CSR, certificate.
	r, err := e.requestCertificate(eid, subjectSpec{Org: &org, AppID: "myapp"})
	if err != nil {
		t.Fatalf("GenerateCertificate: %v", err)
	}
	wantDN := `CN=CBE\=0123456749\, MYAPP,OU=eHealth-platform Belgium,OU=EHEALTHTEST CLINIC,OU=CBE\=0123456749,OU=MYAPP,O=Federal Government,C=BE`
	if r.contract.DN != wantDN {
		t.Errorf("contract DN %q, want %q", r.contract.DN, wantDN)
	}
	if r.contract.Text == nil || len(r.contract.Text.Value) == 0 || r.contract.Text.Value[0].Lang == "" {
		t.Errorf("contract text: %+v", r.contract.Text)
	}
	if !*r.resp.AutomaticallyValidated || len(r.resp.ReplacesCertificate) != 0 {
		t.Errorf("GenerateCertificate: %+v", r.resp)
	}
	wantPKI, _ := certreq.PublicKeyIdentifier(&r.key.PublicKey)
	if !bytes.Equal(r.resp.PublicKeyIdentifier, wantPKI) {
		t.Errorf("PublicKeyIdentifier %X, want %X", r.resp.PublicKeyIdentifier, wantPKI)
	}
	ids, err = c.GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{OrganizationIdentifier: &gen.IdType{Type: org.Type, Value: org.ID}})
	if err != nil || len(ids.ApplicationId) != 1 || ids.ApplicationId[0].Value != "MYAPP" {
		t.Fatalf("GetExistingApplicationIds after: %v %+v", err, ids)
	}

	// Two polls answer CERT_NOT_YET_DELIVERED, the third delivers.
	for i := 0; i < 2; i++ {
		_, err := c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: r.resp.PublicKeyIdentifier})
		if !soap.IsPending(err) {
			t.Fatalf("poll %d: want CERT_NOT_YET_DELIVERED, got %v", i+1, err)
		}
	}
	chain := e.getCertificate(r.resp.PublicKeyIdentifier)
	checkIssued(t, e.srv, chain, r)

	h := &holder{pki: r.resp.PublicKeyIdentifier, key: r.key, chain: chain}
	h.sign = mustKey(t, h)

	info, err := e.certra(fixedSigner{eid.Authentication}).GetCertificateInfoForAuthenticationCertificate(e.ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err == nil {
		t.Fatalf("GetCertificateInfoForAuthenticationCertificate signed with an eID key succeeded: %+v", info)
	}
	wantCode(t, err, ehealth.CodeETKForAuthCertNotIssuedByEHealthCA)

	ec := e.certra(e.etkra(h.sign).Signer)
	info, err = ec.GetCertificateInfoForAuthenticationCertificate(e.ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil {
		t.Fatalf("GetCertificateInfoForAuthenticationCertificate: %v", err)
	}
	ci := info.CertificateInfo
	if ci.AuthenticationCertificateStatus != gen.CertificateStatusTypeVALID_ACTIVE || ci.ETKStatus != gen.ETKStatusTypeNOT_REQUESTED ||
		ci.Replaceable || !ci.Revocable || ci.ReplacementPeriodStartDate == nil || ci.AuthenticationCertificateDetails == nil ||
		ci.CertificateEntity.EntityType != gen.EntityTypeOrganization {
		t.Errorf("certificate info: %+v", ci)
	}
	if got := ci.AuthenticationCertificateDetails.ValidNotAfter.Time().Sub(ci.ReplacementPeriodStartDate.Time()); got != 90*24*time.Hour {
		t.Errorf("replacement period %v, want 90 days", got)
	}

	// ETK.
	complete, encKey, err := e.registerETK(h)
	if err != nil {
		t.Fatal(err)
	}
	if complete.ToBeActivated == nil || *complete.ToBeActivated {
		t.Errorf("first ETK: ToBeActivated %v", complete.ToBeActivated)
	}
	parsed, err := etk.Parse(complete.ETK)
	if err != nil {
		t.Fatalf("etk.Parse: %v", err)
	}
	if err := parsed.Validate(etk.ValidateOptions{Roots: e.srv.Roots(), SignerRoots: e.srv.Roots(), Time: clockNow(e.srv)}); err != nil {
		t.Fatalf("the published ETK does not validate: %v", err)
	}
	info, err = ec.GetCertificateInfoForAuthenticationCertificate(e.ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil || info.CertificateInfo.ETKStatus != gen.ETKStatusTypeVALID_ACTIVE {
		t.Fatalf("after registration: %v %+v", err, info)
	}

	// Depot.
	etks := depotETKs(t, e, "CBE", org.ID, "")
	if len(etks) != 1 || etks[0].Value != base64.StdEncoding.EncodeToString(complete.ETK) {
		t.Fatalf("depot /etks: %+v", etks)
	}
	if v, _ := etks[0].Key.Get("cbe"); v != org.ID || etks[0].Key.ApplicationIdentifier == nil || *etks[0].Key.ApplicationIdentifier != "MYAPP" {
		t.Errorf("depot key: %+v", etks[0].Key)
	}
	if got := depotETKs(t, e, "CBE", org.ID[1:], "myapp"); len(got) != 1 {
		t.Errorf("lookup with an unpadded CBE and a lower-case app id: %d ETKs", len(got))
	}
	if got := depotETKs(t, e, "CBE", org.ID, "OTHER"); len(got) != 0 {
		t.Errorf("another application id: %d ETKs", len(got))
	}
	sig := depotJWKS(t, e, org.ID, "sig")
	enc := depotJWKS(t, e, org.ID, "enc")
	if len(sig.Keys) != 1 || len(enc.Keys) != 1 {
		t.Fatalf("jwks: sig %d enc %d", len(sig.Keys), len(enc.Keys))
	}
	checkJWK(t, sig.Keys[0], chain[0])
	encCert, _ := x509.ParseCertificate(parsed.EncryptionCertificate.Raw)
	checkJWK(t, enc.Keys[0], encCert)
	if !encCert.PublicKey.(*rsa.PublicKey).Equal(&encKey.PublicKey) {
		t.Error("the enc JWK is not the registered encryption key")
	}
	var one etkdepot.JWK
	getJSON(t, e, "/pubKeys/cacerts/jwks/"+*enc.Keys[0].Kid, http.StatusOK, &one)
	if *one.Kid != *enc.Keys[0].Kid || *one.Use != "enc" {
		t.Errorf("jwk by kid: %+v", one)
	}
	var kh etkdepot.KeyHolderToken
	getJSON(t, e, "/keyholders/"+*sig.Keys[0].Kid, http.StatusOK, &kh)
	if kh.Keyholder.Enterprise == nil || *kh.Keyholder.Enterprise.Name != "EHEALTHTEST CLINIC" {
		t.Errorf("keyholder: %+v", kh)
	}
	if v, _ := kh.Keyholder.Enterprise.Get("cbe"); v != org.ID {
		t.Errorf("keyholder cbe %v", v)
	}

	// The citizen sees it.
	list, err := c.GetCertificateInfoForCitizen(e.ctx, &gen.GetCertificateInfoForCitizenRequest{})
	if err != nil || len(list.CertificateInfo) != 1 || !bytes.Equal(list.CertificateInfo[0].PublicKeyIdentifier, h.pki) {
		t.Fatalf("GetCertificateInfoForCitizen: %v %+v", err, list)
	}

	// Revocation.
	rc, err := c.GenerateRevocationContract(e.ctx, &gen.GenerateRevocationContractRequest{PublicKeyIdentifier: h.pki,
		Signer: signerActor(eid), RevocationReason: gen.RevocationReasonTypeCessationOfOperation})
	if err != nil {
		t.Fatalf("GenerateRevocationContract: %v", err)
	}
	if rc.Contract.DN != r.contract.DN || rc.Contract.RevocationReason != gen.RevocationReasonTypeCessationOfOperation {
		t.Errorf("revocation contract: %+v", rc.Contract)
	}
	changed := *rc.Contract
	changed.RevocationReason = gen.RevocationReasonTypeKeyCompromise
	_, err = c.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: h.pki, Contract: &changed})
	wantStatusError(t, err, "contract")
	if _, err := c.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: h.pki, Contract: rc.Contract}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	info, err = ec.GetCertificateInfoForAuthenticationCertificate(e.ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil || info.CertificateInfo.AuthenticationCertificateStatus != gen.CertificateStatusTypeREVOKED ||
		info.CertificateInfo.ETKStatus != gen.ETKStatusTypeREVOKED || info.CertificateInfo.Revocable {
		t.Fatalf("after revocation: %v %+v", err, info)
	}
	if got := depotETKs(t, e, "CBE", org.ID, ""); len(got) != 0 {
		t.Errorf("depot still serves a revoked ETK")
	}
	_, err = e.etkra(h.sign).ActivateETK(e.ctx, &genetk.ActivateETKRequest{})
	wantCode(t, err, ehealth.CodeETKForAuthCertRevoked)
	ids, err = c.GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{OrganizationIdentifier: &gen.IdType{Type: org.Type, Value: org.ID}})
	if err != nil || len(ids.ApplicationId) != 0 {
		t.Fatalf("GetExistingApplicationIds after revocation: %v %+v", err, ids)
	}
}

func mustKey(t *testing.T, h *holder) sign.Key {
	t.Helper()
	k, err := sign.NewKey(h.key, h.chain)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// checkIssued checks a delivered chain: leaf = the CSR's subject and key, properties of real eHealth
// certificates, intermediates only, verifying up to the platform's root.
func checkIssued(t *testing.T, srv *ehealthtest.Server, chain []*x509.Certificate, r *request) {
	t.Helper()
	if len(chain) != 2 {
		t.Fatalf("chain of %d certificates, want leaf + issuing CA (root excluded)", len(chain))
	}
	leaf := chain[0]
	csr, err := certreq.ParseDN(r.contract.DN)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := certreq.ParseRawDN(leaf.RawSubject)
	if err != nil || !certreq.EqualDN(subject, csr) {
		t.Errorf("subject %v is not the contract DN %q", leaf.Subject, r.contract.DN)
	}
	if !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(&r.key.PublicKey) {
		t.Error("the certificate is not for the CSR's key")
	}
	want := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment
	if leaf.KeyUsage != want {
		t.Errorf("key usage %v, want %v", leaf.KeyUsage, want)
	}
	if len(leaf.ExtKeyUsage) != 2 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || leaf.ExtKeyUsage[1] != x509.ExtKeyUsageEmailProtection {
		t.Errorf("extended key usage %v", leaf.ExtKeyUsage)
	}
	if leaf.IsCA || !leaf.BasicConstraintsValid {
		t.Error("want BasicConstraints CA:FALSE")
	}
	if !bytes.Equal(leaf.SubjectKeyId, r.resp.PublicKeyIdentifier) {
		t.Errorf("SKI %X is not the PublicKeyIdentifier", leaf.SubjectKeyId)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 3*365*24*time.Hour {
		t.Errorf("validity %v, want 3 years", d)
	}
	inter := x509.NewCertPool()
	inter.AddCert(chain[1])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: srv.Roots(), Intermediates: inter, CurrentTime: clockNow(srv),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate does not verify to Roots: %v", err)
	}
}

func getJSON(t *testing.T, e *env, pathAndQuery string, wantStatus int, v any) {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.Environment().ETKDepot + pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: HTTP %d, want %d", pathAndQuery, resp.StatusCode, wantStatus)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", pathAndQuery, err)
	}
}

func depotETKs(t *testing.T, e *env, typ, id, appID string) []etkdepot.EtkInfo {
	t.Helper()
	q := url.Values{"identifier": {id}, "type": {typ}}
	if appID != "" {
		q.Set("applicationIdentifier", appID)
	}
	var out []etkdepot.EtkInfo
	getJSON(t, e, "/etks?"+q.Encode(), http.StatusOK, &out)
	return out
}

func depotJWKS(t *testing.T, e *env, cbe, use string) etkdepot.JWKSet {
	t.Helper()
	q := url.Values{"identifier": {cbe}, "type": {"CBE"}, "use": {use}}
	var out etkdepot.JWKSet
	getJSON(t, e, "/pubKeys/cacerts/jwks?"+q.Encode(), http.StatusOK, &out)
	return out
}

func checkJWK(t *testing.T, k etkdepot.JWK, cert *x509.Certificate) {
	t.Helper()
	if k.Kty != "RSA" || k.N == nil || k.E == nil || k.Kid == nil || k.X5tS256 == nil || k.X5c == nil || len(*k.X5c) == 0 {
		t.Fatalf("incomplete JWK: %+v", k)
	}
	leaf, err := base64.StdEncoding.DecodeString((*k.X5c)[0])
	if err != nil || !bytes.Equal(leaf, cert.Raw) {
		t.Errorf("x5c[0] is not the certificate")
	}
	sum := sha256.Sum256(cert.Raw)
	if *k.X5tS256 != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("x5t#S256 %s", *k.X5tS256)
	}
	n, _ := base64.RawURLEncoding.DecodeString(*k.N)
	if !bytes.Equal(n, cert.PublicKey.(*rsa.PublicKey).N.Bytes()) {
		t.Error("n is not the certificate's modulus")
	}
}

// The ETK the platform publishes is a CMS SignedData that OpenSSL verifies against the platform's roots.
func TestETKVerifiesWithOpenSSL(t *testing.T) {
	openssl := testenv.Require(t, "openssl")
	e := newEnv(t)
	h := e.newHolder(e.eid, subjectSpec{})
	complete, _, err := e.registerETK(h)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	etkPath, roots, content := filepath.Join(dir, "etk.der"), filepath.Join(dir, "roots.pem"), filepath.Join(dir, "content.der")
	if err := os.WriteFile(etkPath, complete.ETK, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(roots, e.srv.RootsPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", etkPath, "-CAfile", roots,
		"-binary", "-purpose", "any", "-out", content).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	got, err := os.ReadFile(content)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := x509.ParseCertificate(got)
	if err != nil {
		t.Fatalf("the ETK content is not a certificate: %v", err)
	}
	if !bytes.Equal(enc.RawSubject, h.chain[0].RawSubject) || enc.KeyUsage != x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment {
		t.Errorf("encryption certificate: subject %v, key usage %v", enc.Subject, enc.KeyUsage)
	}
}
