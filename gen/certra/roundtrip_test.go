package certra_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/xsd"
)

// A syntactically valid ds:Signature content (the official xmldsig schema requires SignedInfo and
// SignatureValue). Its children inherit the ds default namespace that encoding/xml declares on Signature.
const dummySignature = `<SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
	`<Reference URI="#_4f1c2a9e-0b7d-4c1e-9a53-2f0c8e7d6b11"><Transforms>` +
	`<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
	`<Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>` +
	`<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>AAAA</DigestValue></Reference>` +
	`</SignedInfo><SignatureValue>AAAA</SignatureValue>` +
	`<KeyInfo><X509Data><X509Certificate>AAAA</X509Certificate><X509Certificate>BBBB</X509Certificate></X509Data></KeyInfo>`

const (
	nsCommonsCore = "urn:be:fgov:ehealth:commons:core:v2"
	requestID     = "_4f1c2a9e-0b7d-4c1e-9a53-2f0c8e7d6b11"
)

func signature() *certra.Signature {
	return &certra.Signature{Id: "xmldsig-5c0e5b3c-1f0a-4a53-9a2b-0a1b2c3d4e5f", InnerXML: dummySignature}
}

func pki(b byte) certra.PublicKeyIdentifier {
	return bytes.Repeat([]byte{b}, 20)
}

func actor(first ...string) *certra.ActorType {
	return &certra.ActorType{
		Id:        []certra.IdType{{Type: "SSIN", Value: "85073003328"}, {Type: "NIHII", Value: "12345678"}},
		FirstName: first,
		Name:      "DOE",
	}
}

func contact() *certra.ContactDataType {
	return &certra.ContactDataType{EmailPrivate: "john@example.org", EmailGeneral: "info@example.org",
		PhonePrivate: "+3220000000", PhoneGeneral: "+3221111111"}
}

func text() *certra.TextType {
	return &certra.TextType{Value: []certra.LocalizedString{
		{Lang: "fr", Value: "<p>contrat</p>"}, {Lang: "nl", Value: "<p>contract</p>"}, {Lang: "", Value: "neutral"}}}
}

func status() *certra.StatusType {
	return &certra.StatusType{
		StatusCode: &certra.StatusCodeType{Value: "urn:be:fgov:ehealth:2.0:status:Requester",
			StatusCode: &certra.StatusCodeType{Value: "urn:be:fgov:ehealth:2.0:status:InvalidInput"}},
		StatusMessage: "not yet delivered",
		StatusDetail: &certra.StatusDetailType{
			EteeStatusDetail: []certra.EteeStatusDetailType{
				{Errors: []certra.EteeErrorType{
					{Code: "CERT_NOT_YET_DELIVERED", Message: "not yet", Parameters: []certra.EteeErrorParameterType{
						{Name: "retryAfter", Value: "10"}, {Name: "x", Value: "y"}}},
					{Code: "CSR_INVALID", Message: "bad csr"},
				}},
				{Errors: []certra.EteeErrorType{{Code: "AUTH_X", Message: "m"}}},
			},
			Any: []xsd.AnyElement{{XMLName: xml.Name{Space: nsCommonsCore, Local: "StatusMessage"}, InnerXML: "extra detail"}},
		},
	}
}

func certInfo(b byte) certra.CertificateInfoType {
	return certra.CertificateInfoType{
		RequestedDate:       xsd.MustParseDateTime("2024-01-02T03:04:05.123456789+01:00"),
		PublicKeyIdentifier: pki(b),
		CertificateEntity: &certra.CertificateEntityType{EntityType: certra.EntityTypeOrganization,
			CertificateIdentifier: &certra.CertificateIdentifierType{Actor: actor("JOHN"), ApplicationId: "APP-1"}},
		AuthenticationCertificateStatus: certra.CertificateStatusTypeVALID_ACTIVE,
		ETKStatus:                       certra.ETKStatusTypeWAIT_FOR_ACTIVATION,
		AutomaticallyValidated:          true,
		AuthenticationCertificateDetails: &certra.CertificateDetailsType{SerialNumber: "1234", DN: "CN=x",
			IssuerDN: "CN=ca", ValidNotBefore: xsd.MustParseDateTime("2024-01-01T00:00:00Z"),
			ValidNotAfter: xsd.MustParseDateTime("2027-01-01T00:00:00-05:30")},
		Revocable:                  true,
		Replaceable:                false,
		ReplacementPeriodStartDate: ptr(xsd.MustParseDateTime("2026-10-01T00:00:00")),
		ContactData:                contact(),
		BaseServiceUsage:           []string{"tsa", "codage"},
	}
}

func ptr[T any](v T) *T { return &v }

var (
	issue    = xsd.MustParseDateTime("2024-01-01T12:00:00.000+01:00")
	issueUTC = xsd.NewDateTime(issue.Time().UTC())
)

// messages returns a fully populated value of every request and response type: every optional element and
// attribute set, several values for repeated elements.
func messages() map[string]any {
	return map[string]any{
		"GetActorQualitiesRequest": &certra.GetActorQualitiesRequest{Id: requestID, IssueInstant: issue,
			SSIN: &certra.IdType{Type: "SSIN", Value: "85073003328"}, Signature: signature()},
		"GetActorQualitiesResponse": &certra.GetActorQualitiesResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issueUTC,
			Status: status(), NaturalPersonAuthorization: ptr(true),
			OrganizationAuthorization: []certra.OrganizationType{
				{Name: text(), Identifier: &certra.IdType{Type: "CBE", Value: "0809394427"}},
				{Name: text(), Identifier: &certra.IdType{Type: "NIHII-HOSPITAL", Value: "71000436"}}}},
		"GetGenericOrganizationTypesRequest": &certra.GetGenericOrganizationTypesRequest{Id: requestID, IssueInstant: issue},
		"GetGenericOrganizationTypesResponse": &certra.GetGenericOrganizationTypesResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), OrganizationType: []certra.OrganizationIdentifierType{
				{Name: text(), IdentifierType: "NIHII-HOSPITAL", ValidationRegEx: "^710[0-9]{5}$",
					CheckDigitAlgorithm: []string{"modulo97", "luhn"}, AvailableBaseService: []string{"tsa", "consultrn"}},
				{Name: text(), IdentifierType: "CBE", ValidationRegEx: "^[0-9]{10}$",
					CheckDigitAlgorithm: []string{"modulo97"}, AvailableBaseService: []string{"other"}}}},
		"GetExistingApplicationIdsRequest": &certra.GetExistingApplicationIdsRequest{Id: requestID, IssueInstant: issue,
			OrganizationIdentifier: &certra.IdType{Type: "CBE", Value: "0809394427"}},
		"GetExistingApplicationIdsResponse": &certra.GetExistingApplicationIdsResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			ApplicationId: []xsd.NillableString{{Value: "APP-1"}, {Nil: true}, {Value: ""}, {Value: "IAMACC"}}},
		"GenerateContractRequest": &certra.GenerateContractRequest{Id: requestID, IssueInstant: issue,
			ContactData: contact(), Signer: actor("JOHN", "PAUL"),
			CertificateIdentifier: &certra.CertificateIdentifierType{Actor: actor("JOHN"), ApplicationId: "APP-1"}},
		"GenerateContractResponse": &certra.GenerateContractResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), Contract: &certra.ContractType{DN: `CN=SSIN\=85073003328,OU=eHealth-platform Belgium,C=BE`,
				Signer: actor("JOHN"), Text: text()}},
		"GenerateCertificateRequest": &certra.GenerateCertificateRequest{Id: requestID, IssueInstant: issue,
			EHealthCSR: &certra.EHealthCertificateSigningRequestType{ContactData: contact(), CSR: []byte{0x30, 0x82, 0x01, 0x02, 0xff},
				Contract:         &certra.ContractType{DN: `CN=SSIN\=85073003328,C=BE`, Signer: actor("JOHN"), Text: text()},
				BaseServiceUsage: []string{"tsa", "consultrn", "codage", "other"}},
			Signature: signature()},
		"GenerateCertificateResponse": &certra.GenerateCertificateResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), PublicKeyIdentifier: pki(0x3d), AutomaticallyValidated: ptr(false), ReplacesCertificate: pki(0xab)},
		"GetCertificateRequest": &certra.GetCertificateRequest{Id: requestID, IssueInstant: issue, PublicKeyIdentifier: pki(0x3d)},
		"GetCertificateResponse": &certra.GetCertificateResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), X509Certificate: []xsd.Base64Binary{{1, 2, 3}, {4, 5, 6, 7}, {8}}},
		"GenerateRevocationContractRequest": &certra.GenerateRevocationContractRequest{Id: requestID, IssueInstant: issue,
			PublicKeyIdentifier: pki(1), Signer: actor("JOHN"), RevocationReason: certra.RevocationReasonTypeKeyCompromise},
		"GenerateRevocationContractResponse": &certra.GenerateRevocationContractResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), Contract: &certra.RevocationContractType{DN: "CN=x", Signer: actor("JOHN", "PAUL"),
				RevocationReason: certra.RevocationReasonTypeCessationOfOperation, Text: text()}},
		"RevokeRequest": &certra.RevokeRequest{Id: requestID, IssueInstant: issue, PublicKeyIdentifier: pki(2),
			Contract: &certra.RevocationContractType{DN: "CN=x", Signer: actor("JOHN"),
				RevocationReason: certra.RevocationReasonTypeSuperseded, Text: text()},
			Signature: signature()},
		"RevokeResponse": &certra.RevokeResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue, Status: status()},
		"SubmitCSRForForeignerRequest": &certra.SubmitCSRForForeignerRequest{Id: requestID, IssueInstant: issue,
			ForeignPerson: actor("JANE"), ContactData: contact(), CSR: []byte("csr")},
		"SubmitCSRForForeignerResponse": &certra.SubmitCSRForForeignerResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), ValidationUrl: "https://example.org/validate?x=1&y=2",
			ExpirationDate: ptr(xsd.MustParseDateTime("2024-02-01T12:00:00.5Z"))},
		"GetCertificateInfoForCitizenRequest": &certra.GetCertificateInfoForCitizenRequest{Id: requestID, IssueInstant: issue, Signature: signature()},
		"GetCertificateInfoForCitizenResponse": &certra.GetCertificateInfoForCitizenResponse{Id: "_r1", InResponseTo: requestID, IssueInstant: issue,
			Status: status(), CertificateInfo: []certra.CertificateInfoType{certInfo(1), certInfo(2)}},
		"GetCertificateInfoForAuthenticationCertificateRequest": &certra.GetCertificateInfoForAuthenticationCertificateRequest{
			Id: requestID, IssueInstant: issue, Signature: signature()},
		"GetCertificateInfoForAuthenticationCertificateResponse": &certra.GetCertificateInfoForAuthenticationCertificateResponse{
			Id: "_r1", InResponseTo: requestID, IssueInstant: issue, Status: status(), CertificateInfo: ptr(certInfo(3))},
	}
}

// validateOurs validates doc against our own schemas (wsdl/xsd), returning xmllint's complaint or "".
func validateOurs(t *testing.T, schema string, doc []byte) string {
	t.Helper()
	xmllint := testenv.Require(t, "xmllint")
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--nonet", "--noout", "--schema",
		filepath.Join(testenv.RepoRoot(t), "wsdl", "xsd", schema), f).CombinedOutput()
	if err == nil {
		return ""
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		return strings.TrimSpace(string(out))
	}
	t.Fatalf("xmllint could not check against our schema %s: %v\n%s", schema, err, out)
	return ""
}

// clearXMLNames zeroes the XMLName fields of generated types (set by Unmarshal, usually left zero by callers).
func clearXMLNames(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearXMLNames(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearXMLNames(v.Index(i))
		}
	case reflect.Struct:
		if v.Type().PkgPath() != "github.com/ehcert/ehcert/gen/certra" {
			return // xsd.AnyElement's XMLName is data
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Name == "XMLName" {
				v.Field(i).Set(reflect.Zero(v.Field(i).Type()))
				continue
			}
			clearXMLNames(v.Field(i))
		}
	}
}

func TestRoundTripAllMessages(t *testing.T) {
	testenv.Require(t, "xmllint")
	msgs := messages()
	ops := certra.Operations()
	if len(ops) != 11 {
		t.Fatalf("%d operations, want 11", len(ops))
	}
	if len(msgs) != 2*len(ops) {
		t.Fatalf("test covers %d messages, want %d", len(msgs), 2*len(ops))
	}
	for _, op := range ops {
		for _, m := range []struct {
			name xml.Name
			new  func() any
		}{{op.Request, op.NewRequest}, {op.Response, op.NewResponse}} {
			t.Run(m.name.Local, func(t *testing.T) {
				v, ok := msgs[m.name.Local]
				if !ok {
					t.Fatalf("no fixture for %s", m.name.Local)
				}
				if reflect.TypeOf(v) != reflect.TypeOf(m.new()) {
					t.Fatalf("fixture is %T, operation table says %T", v, m.new())
				}
				doc, err := xml.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				testenv.MustValidateXSD(t, doc)
				if msg := validateOurs(t, "certra-protocol-v2.xsd", doc); msg != "" {
					t.Fatalf("our XSDs reject what the official ones accept:\n%s\n%s", msg, doc)
				}
				got := m.new()
				if err := xml.Unmarshal(doc, got); err != nil {
					t.Fatalf("unmarshal: %v\n%s", err, doc)
				}
				if n := reflect.ValueOf(got).Elem().FieldByName("XMLName").Interface().(xml.Name); n != m.name {
					t.Errorf("XMLName after unmarshal = %v, want %v", n, m.name)
				}
				clearXMLNames(reflect.ValueOf(got))
				want := reflect.New(reflect.TypeOf(v).Elem())
				want.Elem().Set(reflect.ValueOf(v).Elem())
				clearXMLNames(want)
				if !reflect.DeepEqual(got, want.Interface()) {
					t.Errorf("round trip changed the value\n got: %+v\nwant: %+v\nxml: %s", got, want.Interface(), doc)
				}
				again, err := xml.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, doc) {
					t.Errorf("re-marshalled XML differs:\n%s\n%s", doc, again)
				}
			})
		}
	}
}

// TestSchemaRejectsBrokenMessages breaks valid documents in ways the bindings must never produce and checks that
// both the official XSDs and ours reject them (the validation in TestRoundTripAllMessages can fail).
func TestSchemaRejectsBrokenMessages(t *testing.T) {
	testenv.Require(t, "xmllint")
	marshal := func(v any) string {
		b, err := xml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	msgs := messages()
	statusDoc := marshal(msgs["GetCertificateResponse"])
	contractDoc := marshal(msgs["GenerateContractRequest"])
	certDoc := marshal(msgs["GetCertificateRequest"])
	cases := []struct {
		name, doc, old, new string
	}{
		{"EteeStatusDetail children in the etee namespace", statusDoc,
			`<Errors xmlns="">`, `<Errors xmlns="urn:be:fgov:ehealth:etee:commons:core:v2">`},
		{"EteeStatusDetail children in the commons namespace", statusDoc,
			`<Errors xmlns="">`, `<Errors xmlns="urn:be:fgov:ehealth:commons:core:v2">`},
		{"missing IssueInstant", certDoc, ` IssueInstant="2024-01-01T12:00:00.000+01:00"`, ``},
		{"IssueInstant not a dateTime", certDoc, `2024-01-01T12:00:00.000+01:00`, `yesterday`},
		{"wrong order", contractDoc, `<Signer`, `<SignerX`},
		{"actor name in the certra core namespace", contractDoc,
			`<Name xmlns="urn:be:fgov:ehealth:commons:core:v2">DOE</Name>`, `<Name xmlns="urn:be:fgov:ehealth:certra:core:v2">DOE</Name>`},
		{"ContactData children in the protocol namespace", contractDoc,
			`<EmailPrivate xmlns="urn:be:fgov:ehealth:certra:core:v2">`, `<EmailPrivate xmlns="urn:be:fgov:ehealth:certra:protocol:v2">`},
		{"PublicKeyIdentifier of 19 bytes", certDoc, strings.Repeat("3D", 20), strings.Repeat("3D", 19)},
		{"missing xml:lang", marshal(msgs["GenerateContractResponse"]), ` xml:lang="fr"`, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(c.doc, c.old) {
				t.Fatalf("fixture lacks %q:\n%s", c.old, c.doc)
			}
			doc := c.doc
			if c.name == "wrong order" {
				// move Signer in front of ContactData
				i := strings.Index(doc, `<ContactData`)
				j := strings.Index(doc, `<Signer`)
				k := strings.Index(doc, `<CertificateIdentifier`)
				doc = doc[:i] + doc[j:k] + doc[i:j] + doc[k:]
			} else {
				doc = strings.Replace(doc, c.old, c.new, 1)
			}
			if msg := testenv.ValidateXSD(t, []byte(doc)); msg == "" {
				t.Errorf("official XSDs accept the broken document:\n%s", doc)
			}
			if msg := validateOurs(t, "certra-protocol-v2.xsd", []byte(doc)); msg == "" {
				t.Errorf("our XSDs accept the broken document:\n%s", doc)
			}
		})
	}
}

func TestZeroIssueInstantDoesNotMarshal(t *testing.T) {
	_, err := xml.Marshal(&certra.GetCertificateRequest{PublicKeyIdentifier: pki(1)})
	if err == nil {
		t.Fatal("a request without IssueInstant marshalled")
	}
}

func TestUnsignedRequestHasNoSignature(t *testing.T) {
	req := &certra.GenerateCertificateRequest{Id: requestID, IssueInstant: issue,
		EHealthCSR: messages()["GenerateCertificateRequest"].(*certra.GenerateCertificateRequest).EHealthCSR}
	doc, err := xml.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte("Signature")) || bytes.Contains(doc, []byte("xmldsig")) {
		t.Errorf("request without Signature marshals one:\n%s", doc)
	}
	if !bytes.HasSuffix(doc, []byte("</EHealthCSR></GenerateCertificateRequest>")) {
		t.Errorf("EHealthCSR is not the last child:\n%s", doc)
	}
}

// A signed request read from XML keeps its signature.
func TestSignedRequestKeepsSignature(t *testing.T) {
	doc, err := os.ReadFile(testenv.Shared(t, "reference/xsd-check/sample-GenerateCertificateRequest-skeleton.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var req certra.GenerateCertificateRequest
	if err := xml.Unmarshal(doc, &req); err != nil {
		t.Fatal(err)
	}
	if req.Signature == nil || !strings.Contains(req.Signature.InnerXML, "<ds:SignatureValue>AA==</ds:SignatureValue>") {
		t.Fatalf("signature lost: %+v", req.Signature)
	}
	if req.Id != "_x" || req.IssueInstant.String() != "2024-01-01T12:00:00Z" {
		t.Errorf("attributes: Id %q IssueInstant %q", req.Id, req.IssueInstant)
	}
	csr := req.EHealthCSR
	if csr == nil || csr.Contract == nil || csr.Contract.Signer == nil || len(csr.Contract.Signer.Id) != 1 ||
		csr.Contract.Signer.Id[0] != (certra.IdType{Type: "SSIN", Value: "12345678901"}) ||
		csr.Contract.Signer.FirstName[0] != "JOHN" || csr.Contract.Signer.Name != "DOE" ||
		csr.Contract.Text.Value[0] != (certra.LocalizedString{Lang: "fr", Value: "x"}) ||
		csr.ContactData.EmailPrivate != "a@b.c" || csr.BaseServiceUsage[0] != "tsa" {
		t.Errorf("content not read: %+v", csr)
	}
}

// The official sample error response (prefixed etee, Errors with xmlns="") is read completely.
func TestStatusDetailFromSample(t *testing.T) {
	doc, err := os.ReadFile(testenv.Shared(t, "reference/xsd-check/sample-GetCertificateResponse-error.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var resp certra.GetCertificateResponse
	if err := xml.Unmarshal(doc, &resp); err != nil {
		t.Fatal(err)
	}
	want := &certra.StatusType{
		StatusCode:    &certra.StatusCodeType{Value: "urn:be:fgov:ehealth:2.0:status:Requester"},
		StatusMessage: "not yet",
		StatusDetail: &certra.StatusDetailType{EteeStatusDetail: []certra.EteeStatusDetailType{{Errors: []certra.EteeErrorType{{
			Code: "CERT_NOT_YET_DELIVERED", Message: "m", Parameters: []certra.EteeErrorParameterType{{Name: "n", Value: "v"}}}}}}},
	}
	if !reflect.DeepEqual(resp.Status, want) {
		t.Errorf("status = %+v, want %+v", resp.Status, want)
	}
	if resp.Id != "_r1" || resp.InResponseTo != "_4f1c" || len(resp.X509Certificate) != 0 {
		t.Errorf("response: %+v", resp)
	}
}

// The generated operation table agrees with package ehealth (written by hand from FACTS §3).
func TestOperationsMatchEhealth(t *testing.T) {
	n := 0
	for _, op := range ehealth.Operations() {
		if op.Service != ehealth.CertRA {
			continue
		}
		n++
		g, ok := certra.OperationByName(op.Name)
		if !ok {
			t.Errorf("%s missing", op.Name)
			continue
		}
		if g.SOAPAction != op.SOAPAction || g.Request != (xml.Name{Space: op.Namespace, Local: op.Request}) ||
			g.Response != (xml.Name{Space: op.Namespace, Local: op.Response}) {
			t.Errorf("%s: generated %+v, ehealth %+v", op.Name, g, op)
		}
		if g2, ok := certra.OperationBySOAPAction(op.SOAPAction); !ok || g2.Name != op.Name {
			t.Errorf("OperationBySOAPAction(%q) = %v, %v", op.SOAPAction, g2.Name, ok)
		}
		if g3, ok := certra.OperationByRequest(g.Request); !ok || g3.Name != op.Name {
			t.Errorf("OperationByRequest(%v) = %v, %v", g.Request, g3.Name, ok)
		}
	}
	if n != len(certra.Operations()) {
		t.Errorf("ehealth has %d CertRA operations, gen/certra %d", n, len(certra.Operations()))
	}
	if certra.SOAPActionGenerateCertificate != "urn:be:fgov:ehealth:etee:certra:protocol:v2:generatecertificate" {
		t.Errorf("SOAPActionGenerateCertificate = %q", certra.SOAPActionGenerateCertificate)
	}
}

// Our XSDs (wsdl/xsd) accept the reference samples that the official ones accept.
func TestOurSchemasAcceptReferenceSamples(t *testing.T) {
	for _, s := range []string{"sample-GetCertificateRequest.xml", "sample-GetCertificateResponse-error.xml",
		"sample-GenerateCertificateRequest-skeleton.xml"} {
		doc, err := os.ReadFile(testenv.Shared(t, "reference/xsd-check/"+s))
		if err != nil {
			t.Fatal(err)
		}
		testenv.MustValidateXSD(t, doc)
		if msg := validateOurs(t, "certra-protocol-v2.xsd", doc); msg != "" {
			t.Errorf("%s: %s", s, msg)
		}
	}
}
