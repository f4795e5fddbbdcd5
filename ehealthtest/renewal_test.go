package ehealthtest_test

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
	gen "github.com/ehcert/ehcert/gen/certra"
	genetk "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/soap"
)

// A personal certificate is renewed in its replacement period: the new ETK waits for ActivateETK, and the depot
// switches to it only then.
func TestPersonRenewal(t *testing.T) {
	e := newEnv(t)
	eid := e.eid
	old := e.newHolder(eid, subjectSpec{})
	if reg, _ := e.srv.Registration(old.pki); reg.EntityType != "NaturalPerson" || reg.SubjectID != eid.SSIN || !reg.AutomaticallyValidated {
		t.Fatalf("registration: %+v", reg)
	}
	first, _, err := e.registerETK(old)
	if err != nil {
		t.Fatal(err)
	}

	// Too early: the certificate is valid and not in its replacement period.
	_, err = e.requestCertificate(eid, subjectSpec{})
	wantCode(t, err, ehealth.CodeCSRValidAuthCertAlreadyExists)
	_, err = e.certra(nil).GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: old.pki})
	if err != nil {
		t.Fatalf("GetCertificate of a delivered certificate: %v", err)
	}

	// 3 years minus 60 days later: replaceable.
	e.srv.Clock().Advance(3*365*24*time.Hour - 60*24*time.Hour)
	ec := e.certra(e.etkra(old.sign).Signer)
	info, err := ec.GetCertificateInfoForAuthenticationCertificate(e.ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil || !info.CertificateInfo.Replaceable {
		t.Fatalf("in the replacement period: %v %+v", err, info)
	}
	r, err := e.requestCertificate(eid, subjectSpec{})
	if err != nil {
		t.Fatalf("renewal GenerateCertificate: %v", err)
	}
	if !bytes.Equal(r.resp.ReplacesCertificate, old.pki) {
		t.Fatalf("ReplacesCertificate %X, want %X", r.resp.ReplacesCertificate, old.pki)
	}
	// A second request for the same DN while the first is in progress.
	_, err = e.requestCertificate(eid, subjectSpec{})
	wantCode(t, err, ehealth.CodeCSRApprovedCSRInProcess)

	chain := e.getCertificate(r.resp.PublicKeyIdentifier)
	renewed := &holder{pki: r.resp.PublicKeyIdentifier, key: r.key, chain: chain}
	renewed.sign = mustKey(t, renewed)
	complete, _, err := e.registerETK(renewed)
	if err != nil {
		t.Fatal(err)
	}
	if complete.ToBeActivated == nil || !*complete.ToBeActivated {
		t.Fatal("the replacement ETK should wait for activation")
	}
	reg, _ := e.srv.Registration(renewed.pki)
	if reg.ETKStatus != "WAIT_FOR_ACTIVATION" {
		t.Errorf("ETK status %s", reg.ETKStatus)
	}
	if got := depotETKs(t, e, "SSIN", eid.SSIN, ""); len(got) != 1 || !sameETK(got[0].Value, first.ETK) {
		t.Fatalf("before activation the depot must serve the old ETK")
	}
	if _, err := e.etkra(renewed.sign).ActivateETK(e.ctx, &genetk.ActivateETKRequest{}); err != nil {
		t.Fatalf("ActivateETK: %v", err)
	}
	if got := depotETKs(t, e, "SSIN", eid.SSIN, ""); len(got) != 1 || !sameETK(got[0].Value, complete.ETK) {
		t.Fatalf("after activation the depot must serve the new ETK")
	}
	if reg, _ := e.srv.Registration(old.pki); reg.ETKStatus != "EXPIRED" || reg.Status != "VALID_ACTIVE" {
		t.Errorf("old registration: %+v", reg)
	}
	_, err = e.etkra(renewed.sign).ActivateETK(e.ctx, &genetk.ActivateETKRequest{})
	wantCode(t, err, ehealth.CodeRenewActivationETKAlreadyActive)

	// The person as keyholder.
	jwks := struct{ Keys []struct{ Kid string } }{}
	getJSON(t, e, "/pubKeys/cacerts/jwks?"+url.Values{"identifier": {eid.SSIN}, "type": {"SSIN"}, "use": {"enc"}}.Encode(), http.StatusOK, &jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %+v", jwks)
	}
	var kh map[string]any
	getJSON(t, e, "/keyholders/"+jwks.Keys[0].Kid, http.StatusOK, &kh)
	if p, ok := kh["keyholder"].(map[string]any)["person"].(map[string]any); !ok || p["ssin"] != eid.SSIN {
		t.Errorf("keyholder: %v", kh)
	}

	// Past the old certificate's expiry: its ETK operations are refused.
	e.srv.Clock().Advance(61 * 24 * time.Hour)
	if reg, _ := e.srv.Registration(old.pki); reg.Status != "EXPIRED" {
		t.Errorf("old certificate status %s, want EXPIRED", reg.Status)
	}
	_, err = e.etkra(old.sign).ActivateETK(e.ctx, &genetk.ActivateETKRequest{})
	wantCode(t, err, ehealth.CodeETKForAuthCertExpired)
	// The date parameter looks up keys at another time.
	q := url.Values{"identifier": {eid.SSIN}, "type": {"SSIN"}, "use": {"sig"}, "date": {clockNow(e.srv).Add(10 * 365 * 24 * time.Hour).Format(time.RFC3339)}}
	getJSON(t, e, "/pubKeys/cacerts/jwks?"+q.Encode(), http.StatusOK, &jwks)
	if len(jwks.Keys) != 0 {
		t.Errorf("keys valid in 10 years: %d", len(jwks.Keys))
	}
}

func sameETK(b64 string, der []byte) bool {
	return b64 == encodeB64(der)
}

// An organisation the signer does not manage needs an operator's approval.
func TestManualValidation(t *testing.T) {
	e := newEnv(t)
	hospital := ehealthtest.Organization{Type: "NIHII-HOSPITAL", ID: "71000436", Name: "Test Hospital"}
	r, err := e.requestCertificate(e.eid, subjectSpec{Org: &hospital})
	if err != nil {
		t.Fatal(err)
	}
	if *r.resp.AutomaticallyValidated {
		t.Fatal("an organisation the signer does not manage was validated automatically")
	}
	c := e.certra(nil)
	for i := 0; i < 3; i++ {
		_, err := c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: r.resp.PublicKeyIdentifier})
		if !soap.IsPending(err) {
			t.Fatalf("before approval: %v", err)
		}
	}
	list, err := e.certra(e.eid.Keyring()).GetCertificateInfoForCitizen(e.ctx, &gen.GetCertificateInfoForCitizenRequest{})
	if err != nil || len(list.CertificateInfo) != 1 || list.CertificateInfo[0].AuthenticationCertificateStatus != gen.CertificateStatusTypeIN_PROGRESS ||
		list.CertificateInfo[0].AutomaticallyValidated || list.CertificateInfo[0].AuthenticationCertificateDetails != nil {
		t.Fatalf("GetCertificateInfoForCitizen: %v %+v", err, list)
	}
	if err := e.srv.Approve(r.resp.PublicKeyIdentifier); err != nil {
		t.Fatal(err)
	}
	e.getCertificate(r.resp.PublicKeyIdentifier)

	// A bad NIHII-HOSPITAL number fails the organisation type's rules.
	bad := ehealthtest.Organization{Type: "NIHII-HOSPITAL", ID: "71000437", Name: "Test Hospital"}
	_, err = e.certra(nil).GenerateContract(e.ctx, e.contractRequest(e.eid, subjectSpec{Org: &bad}))
	wantCode(t, err, ehealth.CodeCSRInvalidDN)

	// ManualValidation forces approval even for a managed organisation; Refuse ends the request.
	e2 := newEnv(t, ehealthtest.WithManualValidation(func(typ, id string) bool { return typ == "CBE" }))
	org := ehealthtest.DefaultOrganization
	r2, err := e2.requestCertificate(e2.eid, subjectSpec{Org: &org})
	if err != nil || *r2.resp.AutomaticallyValidated {
		t.Fatalf("ManualValidation: %v %+v", err, r2)
	}
	if err := e2.srv.Refuse(r2.resp.PublicKeyIdentifier); err != nil {
		t.Fatal(err)
	}
	_, err = e2.certra(nil).GetCertificate(e2.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: r2.resp.PublicKeyIdentifier})
	wantStatusError(t, err, "refused")
	if reg, _ := e2.srv.Registration(r2.resp.PublicKeyIdentifier); reg.Status != "REFUSED" {
		t.Errorf("status %s", reg.Status)
	}
}

// Foreigners submit a CSR and confirm on the validation page.
func TestForeigner(t *testing.T) {
	e := newEnv(t)
	c := e.certra(nil)
	const ssinBis = "85273003371" // month + 20: a bis number
	key := newRSAKey(t)
	csr := foreignerCSR(t, key, ssinBis, "Smith", "John")
	person := &gen.ActorType{Id: []gen.IdType{{Type: "SSIN", Value: ssinBis}}, FirstName: []string{"John"}, Name: "Smith"}
	resp, err := c.SubmitCSRForForeigner(e.ctx, &gen.SubmitCSRForForeignerRequest{ForeignPerson: person, ContactData: contact, CSR: csr})
	if err != nil {
		t.Fatalf("SubmitCSRForForeigner: %v", err)
	}
	if resp.ValidationUrl == "" || resp.ExpirationDate == nil || !resp.ExpirationDate.Time().After(clockNow(e.srv)) {
		t.Fatalf("response: %+v", resp)
	}
	pki := pkiOf(t, key)
	_, err = c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: pki})
	if !soap.IsPending(err) {
		t.Fatalf("before confirmation: %v", err)
	}
	// The same key again.
	_, err = c.SubmitCSRForForeigner(e.ctx, &gen.SubmitCSRForForeignerRequest{ForeignPerson: person, ContactData: contact, CSR: csr})
	wantCode(t, err, ehealth.CodeCSRPubKeyNotUnique)
	// A CSR whose subject is not the foreigner's DN.
	other := newRSAKey(t)
	_, err = c.SubmitCSRForForeigner(e.ctx, &gen.SubmitCSRForForeignerRequest{ForeignPerson: person, ContactData: contact,
		CSR: foreignerCSR(t, other, ssinBis, "John", "Smith")})
	wantCode(t, err, ehealth.CodeCSRInvalidDN)

	// The page: GET shows it, POST confirms.
	hc := e.srv.Client()
	page, err := hc.Get(resp.ValidationUrl)
	if err != nil || page.StatusCode != http.StatusOK {
		t.Fatalf("GET validation page: %v %v", err, page)
	}
	page.Body.Close()
	post, err := hc.Post(resp.ValidationUrl, "application/x-www-form-urlencoded", nil)
	if err != nil || post.StatusCode != http.StatusOK {
		t.Fatalf("POST validation page: %v %v", err, post)
	}
	post.Body.Close()
	chain := e.getCertificate(pki)
	if chain[0].Subject.CommonName != "SSIN="+ssinBis {
		t.Errorf("subject %v", chain[0].Subject)
	}
	if err := e.srv.ConfirmForeigner(resp.ValidationUrl); err != nil {
		t.Errorf("confirming twice: %v", err)
	}
	if err := e.srv.ConfirmForeigner("https://example.invalid/foreigner/validate/nope"); err == nil {
		t.Error("an unknown validation URL was accepted")
	}
}
