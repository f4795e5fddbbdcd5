package ehealthtest_test

// Old clients stay up (issue 9), through the platform: every CertRA and EtkRA operation runs against ehealthtest
// while a Rewrite fault makes every answer look like a later eHealth version's (new elements in the protocol
// namespace, in the parent's namespace and in a foreign one, new attributes, enumeration values and nested status
// codes this version does not list). The calls must succeed and read what this version knows exactly as the
// platform sent it; statuses this version does not know must still be *soap.StatusError. (Canned responses for
// the same, without the platform: internal/wsdlfix/compat_test.go; the REST depot: etkdepot/compat_test.go.)

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
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

const (
	nsFuture = "urn:example:future"
	// The values a later version could send for this version's enumerations and status codes.
	futureAuthStatus  = "SUSPENDED"      // AuthenticationCertificateStatus
	futureETKStatus   = "PENDING_REVIEW" // ETKStatus
	futureEntityType  = "Foundation"     // CertificateEntity/@EntityType
	futureSubStatus   = "urn:be:fgov:ehealth:2.0:status:FutureSubCode"
	futureTopStatus   = "urn:be:fgov:ehealth:3.0:status:Deferred"
	futureErrorCode   = "FUTURE_QUOTA_EXCEEDED"
	futureStatusText  = "try tomorrow"
	futureMarkerAttr  = "FutureAttr"
	futureMarkerElem  = "FutureElement"
	futureMarkerOther = "Extension"
)

// futurePlatform is the Rewrite function that makes ehealthtest's answers look like a later version's. It
// rewrites in two steps: known items get values this version does not list (enumeration values, a nested status
// code; with unknownStatus, a success becomes a status no version lists), and then unknown items are added
// everywhere. The answer after the first step is kept by operation: it is what a client must read.
type futurePlatform struct {
	t             *testing.T
	mu            sync.Mutex
	known         map[string][]byte // by operation: the last answer after the first step
	unknownStatus bool
}

func newFuturePlatform(t *testing.T) *futurePlatform {
	return &futurePlatform{t: t, known: map[string][]byte{}}
}

func (f *futurePlatform) setUnknownStatus(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unknownStatus = on
}

func (f *futurePlatform) rewrite(target string, body []byte) []byte {
	op, ok := operationByName(target)
	if !ok {
		return body // a REST endpoint
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		f.t.Errorf("%s: the platform's answer does not parse: %v", target, err)
		return body
	}
	root := doc.Root()
	if root.Tag == "Fault" && root.NamespaceURI() == ehealth.NSSOAP11 {
		return body
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	// Step 1: values this version does not list, in items it knows.
	all := descendants(root)
	for _, el := range all {
		switch {
		case el.Tag == "AuthenticationCertificateStatus":
			el.SetText(futureAuthStatus)
		case el.Tag == "ETKStatus":
			el.SetText(futureETKStatus)
		case el.Tag == "CertificateEntity" && el.SelectAttr("EntityType") != nil:
			el.CreateAttr("EntityType", futureEntityType)
		}
	}
	if st := child(root, ehealth.NSCommonsCore, "Status"); st != nil {
		code := child(st, ehealth.NSCommonsCore, "StatusCode")
		if code == nil {
			f.t.Errorf("%s: a Status without StatusCode", target)
			return body
		}
		if code.SelectAttrValue("Value", "") == ehealth.StatusSuccess {
			if f.unknownStatus {
				code.CreateAttr("Value", futureTopStatus)
				msg := st.CreateElement("StatusMessage")
				msg.SetText(futureStatusText)
				detail := st.CreateElement("StatusDetail")
				etee := detail.CreateElement("EteeStatusDetail")
				etee.CreateAttr("xmlns", ehealth.NSEteeCore)
				errs := etee.CreateElement("Errors")
				errs.CreateAttr("xmlns", "")
				errs.CreateElement("Code").SetText(futureErrorCode)
				errs.CreateElement("Message").SetText("Quota exceeded")
			}
			if child(code, ehealth.NSCommonsCore, "StatusCode") == nil {
				code.CreateElement("StatusCode").CreateAttr("Value", futureSubStatus)
			}
		}
	}
	known, err := doc.WriteToBytes()
	if err != nil {
		f.t.Errorf("%s: %v", target, err)
		return body
	}
	f.known[op.Name] = known

	// Step 2: elements and attributes this version does not know, on and in every element.
	root.CreateAttr("xmlns:f", nsFuture)
	for _, el := range descendants(root) { // the elements before anything is added
		el.CreateAttr("f:trace", "t-1")
		el.CreateAttr(futureMarkerAttr, "1")
		kids := el.ChildElements()
		if len(kids) == 0 && el != root {
			continue // simple content: a new child would change its type, not extend it
		}
		if len(kids) > 0 {
			// In the middle of the sequence, in the parent's namespace.
			mid := etree.NewElement(futureMarkerElem)
			mid.CreateAttr("xmlns", el.NamespaceURI())
			mid.SetText("new")
			el.InsertChildAt(kids[0].Index()+1, mid)
		}
		// At the end: one in the protocol namespace, with content, and one in a foreign namespace.
		end := el.CreateElement(futureMarkerElem)
		end.CreateAttr("xmlns", op.Namespace)
		end.CreateAttr("Kind", "new")
		end.CreateElement("f:Nested").SetText("y")
		el.CreateElement("f:" + futureMarkerOther)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		f.t.Errorf("%s: %v", target, err)
		return body
	}
	return out
}

// check fails unless the call succeeded and resp holds exactly what the platform sent that this version knows:
// the operation's last answer after the first step, decoded by the same generated type.
func (f *futurePlatform) check(t *testing.T, resp any, err error) {
	t.Helper()
	typ := reflect.TypeOf(resp).Elem()
	name := strings.TrimSuffix(typ.Name(), "Response")
	if err != nil {
		t.Fatalf("%s with a later version's answer: %v", name, err)
	}
	f.mu.Lock()
	known := f.known[name]
	delete(f.known, name)
	f.mu.Unlock()
	if known == nil {
		t.Fatalf("%s: the answer was not rewritten", name)
	}
	want := reflect.New(typ).Interface()
	if err := xml.Unmarshal(known, want); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !reflect.DeepEqual(resp, want) {
		got, _ := xml.Marshal(resp)
		exp, _ := xml.Marshal(want)
		t.Errorf("%s: the client did not read what it knows as the platform sent it\ngot:  %s\nwant: %s", name, got, exp)
	}
}

func operationByName(name string) (ehealth.Operation, bool) {
	for _, op := range ehealth.Operations() {
		if op.Name == name {
			return op, true
		}
	}
	return ehealth.Operation{}, false
}

// descendants returns el and the elements under it, in document order.
func descendants(el *etree.Element) []*etree.Element {
	out := []*etree.Element{el}
	for _, c := range el.ChildElements() {
		out = append(out, descendants(c)...)
	}
	return out
}

func child(el *etree.Element, space, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == space {
			return c
		}
	}
	return nil
}

// compatHolder is an issued eHealth certificate with its key.
type compatHolder struct {
	pki  []byte
	key  sign.Key
	rsa  *rsa.PrivateKey
	auth *x509.Certificate
}

// issue runs GenerateContract, GenerateCertificate and GetCertificate for a certificate of the citizen, checking
// each answer.
func (f *futurePlatform) issue(t *testing.T, e *env, s subjectSpec) *compatHolder {
	t.Helper()
	c := e.certra(e.eid.Keyring())
	cr, err := c.GenerateContract(e.ctx, e.contractRequest(e.eid, s))
	f.check(t, cr, err)
	if cr.Contract == nil || cr.Contract.DN == "" {
		t.Fatalf("GenerateContract: %+v", cr)
	}
	rsaKey := newRSAKey(t)
	csr, err := certreq.NewCSR(rand.Reader, rsaKey, cr.Contract.DN)
	if err != nil {
		t.Fatal(err)
	}
	contract := *cr.Contract
	contract.DN = certreq.EscapeContractDN(contract.DN)
	gc, err := c.GenerateCertificate(e.ctx, &gen.GenerateCertificateRequest{EHealthCSR: &gen.EHealthCertificateSigningRequestType{
		ContactData: contact, CSR: csr, Contract: &contract, BaseServiceUsage: []string{"tsa"}}})
	f.check(t, gc, err)
	if want := pkiOf(t, rsaKey); !slices.Equal(gc.PublicKeyIdentifier, want) {
		t.Fatalf("GenerateCertificate: PublicKeyIdentifier %X, want %X", gc.PublicKeyIdentifier, want)
	}
	got, err := c.GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: gc.PublicKeyIdentifier})
	f.check(t, got, err)
	var chain []*x509.Certificate
	for _, der := range got.X509Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("GetCertificate: %v", err)
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 || !slices.Equal(chain[0].SubjectKeyId, gc.PublicKeyIdentifier) {
		t.Fatalf("GetCertificate: a chain of %d certificates, not for the key", len(chain))
	}
	key, err := sign.NewKey(rsaKey, chain)
	if err != nil {
		t.Fatal(err)
	}
	return &compatHolder{pki: gc.PublicKeyIdentifier, key: key, rsa: rsaKey, auth: chain[0]}
}

// registerETK runs StartETKRegistration and CompleteETKRegistration for h, checking each answer, and returns
// whether the ETK waits for activation.
func (f *futurePlatform) registerETK(t *testing.T, e *env, h *compatHolder) bool {
	t.Helper()
	ec := e.etkra(h.key)
	encKey := newRSAKey(t)
	spki, err := x509.MarshalPKIXPublicKey(&encKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	start, err := ec.StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	f.check(t, start, err)
	serial, err := etk.SolveChallenge(encKey, start.Challenge)
	if err != nil {
		t.Fatalf("the challenge read from a later version's answer: %v", err)
	}
	encCert, err := etk.NewEncryptionCertificate(rand.Reader, h.rsa, h.auth, &encKey.PublicKey, serial)
	if err != nil {
		t.Fatal(err)
	}
	done, err := ec.CompleteETKRegistration(e.ctx, &genetk.CompleteETKRegistrationRequest{ToBeRegistered: encCert})
	f.check(t, done, err)
	if _, err := etk.Parse(done.ETK); err != nil || done.ToBeActivated == nil {
		t.Fatalf("CompleteETKRegistration: %v %+v", err, done)
	}
	return *done.ToBeActivated
}

func TestOldClientsThroughTheFuturePlatform(t *testing.T) {
	e := newEnv(t)
	fp := newFuturePlatform(t)
	e.srv.Inject(ehealthtest.TargetAll, ehealthtest.Fault{Kind: ehealthtest.Rewrite, Times: -1, Rewrite: fp.rewrite})
	eid := e.eid
	c := e.certra(eid.Keyring())
	org := ehealthtest.DefaultOrganization

	q, err := c.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN}})
	fp.check(t, q, err)
	if q.NaturalPersonAuthorization == nil || !*q.NaturalPersonAuthorization || len(q.OrganizationAuthorization) != 1 ||
		q.OrganizationAuthorization[0].Identifier.Value != org.ID || q.Status.StatusCode.StatusCode.Value != futureSubStatus {
		t.Errorf("GetActorQualities: %+v", q)
	}
	types, err := c.GetGenericOrganizationTypes(e.ctx, &gen.GetGenericOrganizationTypesRequest{})
	fp.check(t, types, err)
	ids, err := c.GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{OrganizationIdentifier: &gen.IdType{Type: org.Type, Value: org.ID}})
	fp.check(t, ids, err)

	// A certificate and its ETK, and what the platform says about it.
	old := fp.issue(t, e, subjectSpec{})
	if fp.registerETK(t, e, old) {
		t.Error("the first ETK waits for activation")
	}
	list, err := c.GetCertificateInfoForCitizen(e.ctx, &gen.GetCertificateInfoForCitizenRequest{})
	fp.check(t, list, err)
	if len(list.CertificateInfo) != 1 || !slices.Equal(list.CertificateInfo[0].PublicKeyIdentifier, old.pki) ||
		list.CertificateInfo[0].AuthenticationCertificateStatus != futureAuthStatus || list.CertificateInfo[0].ETKStatus != futureETKStatus {
		t.Errorf("GetCertificateInfoForCitizen: %+v", list.CertificateInfo)
	}
	byCert := e.certra(&sign.Keyring{EHealthAuthentication: old.key})
	info, err := byCert.GetCertificateInfoForAuthenticationCertificate(e.ctx, &gen.GetCertificateInfoForAuthenticationCertificateRequest{})
	fp.check(t, info, err)
	if ci := info.CertificateInfo; ci == nil || ci.AuthenticationCertificateStatus != futureAuthStatus || ci.ETKStatus != futureETKStatus ||
		ci.CertificateEntity == nil || ci.CertificateEntity.EntityType != futureEntityType || !ci.Revocable ||
		ci.AuthenticationCertificateDetails == nil || !ci.AuthenticationCertificateDetails.ValidNotAfter.Time().Equal(old.auth.NotAfter) {
		t.Errorf("GetCertificateInfoForAuthenticationCertificate: %+v", ci)
	}

	// In the replacement period: a new certificate whose ETK waits for ActivateETK.
	e.srv.Clock().Advance(3*365*24*time.Hour - 60*24*time.Hour)
	renewed := fp.issue(t, e, subjectSpec{})
	if !fp.registerETK(t, e, renewed) {
		t.Error("the replacement ETK does not wait for activation")
	}
	act, err := e.etkra(renewed.key).ActivateETK(e.ctx, &genetk.ActivateETKRequest{})
	fp.check(t, act, err)
	if reg, _ := e.srv.Registration(renewed.pki); reg.ETKStatus != "VALID_ACTIVE" {
		t.Errorf("after ActivateETK: %s", reg.ETKStatus)
	}

	// Revocation: the contract read from a later version's answer is accepted back.
	rc, err := c.GenerateRevocationContract(e.ctx, &gen.GenerateRevocationContractRequest{PublicKeyIdentifier: old.pki,
		Signer: signerActor(eid), RevocationReason: gen.RevocationReasonTypeSuperseded})
	fp.check(t, rc, err)
	rv, err := c.Revoke(e.ctx, &gen.RevokeRequest{PublicKeyIdentifier: old.pki, Contract: rc.Contract})
	fp.check(t, rv, err)
	if reg, _ := e.srv.Registration(old.pki); reg.Status != "REVOKED" {
		t.Errorf("after Revoke: %s", reg.Status)
	}

	// A foreigner: the answer, then a real "not yet delivered" status with unknown items around it.
	const ssinBis = "85273003371"
	fkey := newRSAKey(t)
	person := &gen.ActorType{Id: []gen.IdType{{Type: "SSIN", Value: ssinBis}}, FirstName: []string{"John"}, Name: "Smith"}
	fr, err := e.certra(nil).SubmitCSRForForeigner(e.ctx, &gen.SubmitCSRForForeignerRequest{ForeignPerson: person, ContactData: contact,
		CSR: foreignerCSR(t, fkey, ssinBis, "Smith", "John")})
	fp.check(t, fr, err)
	if fr.ValidationUrl == "" || fr.ExpirationDate == nil {
		t.Errorf("SubmitCSRForForeigner: %+v", fr)
	}
	_, err = e.certra(nil).GetCertificate(e.ctx, &gen.GetCertificateRequest{PublicKeyIdentifier: pkiOf(t, fkey)})
	if !soap.IsPending(err) {
		t.Errorf("GetCertificate before the foreigner confirmed: %v, want CERT_NOT_YET_DELIVERED", err)
	}

	// Status codes no version lists, around a success: typed errors, whatever the service. (An organisation's
	// certificate, without an ETK yet, for StartETKRegistration.)
	orgHolder := fp.issue(t, e, subjectSpec{Org: &org, AppID: "future"})
	fp.setUnknownStatus(true)
	for _, call := range []struct {
		name string
		do   func() error
	}{
		{"GetActorQualities", func() error {
			_, err := c.GetActorQualities(e.ctx, &gen.GetActorQualitiesRequest{SSIN: &gen.IdType{Type: "SSIN", Value: eid.SSIN}})
			return err
		}},
		{"GetGenericOrganizationTypes", func() error {
			_, err := c.GetGenericOrganizationTypes(e.ctx, &gen.GetGenericOrganizationTypesRequest{})
			return err
		}},
		{"GetCertificateInfoForAuthenticationCertificate", func() error {
			_, err := e.certra(&sign.Keyring{EHealthAuthentication: orgHolder.key}).GetCertificateInfoForAuthenticationCertificate(e.ctx,
				&gen.GetCertificateInfoForAuthenticationCertificateRequest{})
			return err
		}},
		{"StartETKRegistration", func() error {
			spki, err := x509.MarshalPKIXPublicKey(&newRSAKey(t).PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.etkra(orgHolder.key).StartETKRegistration(e.ctx, &genetk.StartETKRegistrationRequest{PublicEncryptionKey: spki})
			return err
		}},
	} {
		err := call.do()
		var se *soap.StatusError
		if !errors.As(err, &se) {
			t.Errorf("%s with an unknown status: %T %v, want a *soap.StatusError", call.name, err, err)
			continue
		}
		if len(se.StatusCodes) != 2 || se.StatusCodes[0] != futureTopStatus || se.StatusCodes[1] != futureSubStatus ||
			se.Message != futureStatusText || !se.Has(futureErrorCode) || se.Pending() || soap.Code(err) != futureErrorCode {
			t.Errorf("%s: %#v", call.name, se)
		}
	}
	// An operation without a status is not affected.
	ids, err = c.GetExistingApplicationIds(e.ctx, &gen.GetExistingApplicationIdsRequest{OrganizationIdentifier: &gen.IdType{Type: org.Type, Value: org.ID}})
	fp.check(t, ids, err)
	if len(ids.ApplicationId) != 1 || ids.ApplicationId[0].Value != "FUTURE" {
		t.Errorf("GetExistingApplicationIds: %+v", ids.ApplicationId)
	}
	fp.setUnknownStatus(false)

	// Every operation of both services answered through the rewrite, with the unknown items in what was sent,
	// which the official XSDs do not describe.
	rewritten := map[string]bool{}
	for _, r := range e.srv.Requests() {
		if r.Injected != ehealthtest.Rewrite || r.IsFault() {
			continue
		}
		rewritten[r.Target] = true
		if !strings.Contains(string(r.Payload), `xmlns:f="`+nsFuture+`"`) || !strings.Contains(string(r.Payload), "<f:"+futureMarkerOther) ||
			!strings.Contains(string(r.Payload), futureMarkerAttr+`="1"`) {
			t.Errorf("%s: the answer sent has no unknown items:\n%s", r.Target, r.Payload)
		}
	}
	for _, op := range ehealth.Operations() {
		if !rewritten[op.Name] {
			t.Errorf("%s was not called with a later version's answer", op.Name)
		}
	}
	if len(ehealth.Operations()) != 14 {
		t.Errorf("%d operations", len(ehealth.Operations()))
	}
	testenv.Require(t, "xmllint")
	for _, r := range e.srv.Requests() {
		if r.Target == "GetCertificateInfoForAuthenticationCertificate" && r.Injected == ehealthtest.Rewrite {
			if testenv.ValidateXSD(t, r.Payload) == "" {
				t.Errorf("the official XSDs accept the rewritten answer: the test does not send anything unknown\n%s", r.Payload)
			}
			break
		}
	}
}
