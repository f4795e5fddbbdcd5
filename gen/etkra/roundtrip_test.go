package etkra_test

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
	"github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/xsd"
)

// A syntactically valid ds:Signature content, written with a ds: prefix declared on the content itself.
const dummySignature = `<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` +
	`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
	`<ds:Reference URI="#_a"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>` +
	`<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>` +
	`<SignatureValue>AAAA</SignatureValue>`

func signature() *etkra.Signature { return &etkra.Signature{Id: "xmldsig-1", InnerXML: dummySignature} }

func ptr[T any](v T) *T { return &v }

var issue = xsd.NewDateTime(xsd.MustParseDateTime("2024-03-31T02:30:00.25+02:00").Time())

func status() *etkra.StatusType {
	return &etkra.StatusType{
		StatusCode: &etkra.StatusCodeType{Value: "urn:be:fgov:ehealth:2.0:status:Responder",
			StatusCode: &etkra.StatusCodeType{Value: "urn:be:fgov:ehealth:2.0:status:Other"}},
		StatusMessage: "refused",
		StatusDetail: &etkra.StatusDetailType{
			EteeStatusDetail: []etkra.EteeStatusDetailType{{Errors: []etkra.EteeErrorType{
				{Code: "ETK_AUTH_CERT_REVOKED", Message: "revoked", Parameters: []etkra.EteeErrorParameterType{{Name: "a", Value: "b"}, {Name: "c", Value: ""}}},
				{Code: "ETK_X", Message: "y"}}}},
			Any: []xsd.AnyElement{{XMLName: xml.Name{Space: "urn:be:fgov:ehealth:commons:core:v2", Local: "StatusMessage"}, InnerXML: "more"}},
		},
	}
}

func messages() map[string]any {
	return map[string]any{
		"StartETKRegistrationRequest": &etkra.StartETKRegistrationRequest{Id: "_a", IssueInstant: issue,
			PublicEncryptionKey: []byte{0x30, 0x82, 1, 0x22}, Signature: signature()},
		"StartETKRegistrationResponse": &etkra.StartETKRegistrationResponse{Id: "_r", InResponseTo: "_a", IssueInstant: issue,
			Status: status(), Challenge: bytes.Repeat([]byte{0xa5}, 288)},
		"CompleteETKRegistrationRequest": &etkra.CompleteETKRegistrationRequest{Id: "_b", IssueInstant: issue,
			ToBeRegistered: []byte{0x30, 0x82, 2, 0}, Signature: signature()},
		"CompleteETKRegistrationResponse": &etkra.CompleteETKRegistrationResponse{Id: "_r", InResponseTo: "_b", IssueInstant: issue,
			Status: status(), ETK: []byte("etk"), ToBeActivated: ptr(true)},
		"ActivateETKRequest":  &etkra.ActivateETKRequest{Id: "_c", IssueInstant: issue, Signature: signature()},
		"ActivateETKResponse": &etkra.ActivateETKResponse{Id: "_r", InResponseTo: "_c", IssueInstant: issue, Status: status()},
	}
}

func validateOurs(t *testing.T, doc []byte) string {
	t.Helper()
	xmllint := testenv.Require(t, "xmllint")
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--nonet", "--noout", "--schema",
		filepath.Join(testenv.RepoRoot(t), "wsdl", "xsd", "etkra-protocol-v2.xsd"), f).CombinedOutput()
	if err == nil {
		return ""
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		return strings.TrimSpace(string(out))
	}
	t.Fatalf("xmllint could not check against our schema: %v\n%s", err, out)
	return ""
}

func clearXMLNames(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearXMLNames(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearXMLNames(v.Index(i))
		}
	case reflect.Struct:
		if v.Type().PkgPath() != "github.com/ehcert/ehcert/gen/etkra" {
			return
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
	ops := etkra.Operations()
	if len(ops) != 3 || len(msgs) != 6 {
		t.Fatalf("%d operations, %d fixtures", len(ops), len(msgs))
	}
	for _, op := range ops {
		for _, m := range []struct {
			name xml.Name
			new  func() any
		}{{op.Request, op.NewRequest}, {op.Response, op.NewResponse}} {
			t.Run(m.name.Local, func(t *testing.T) {
				v := msgs[m.name.Local]
				if reflect.TypeOf(v) != reflect.TypeOf(m.new()) {
					t.Fatalf("fixture is %T, operation table says %T", v, m.new())
				}
				doc, err := xml.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				testenv.MustValidateXSD(t, doc)
				if msg := validateOurs(t, doc); msg != "" {
					t.Fatalf("our XSDs reject what the official ones accept:\n%s\n%s", msg, doc)
				}
				got := m.new()
				if err := xml.Unmarshal(doc, got); err != nil {
					t.Fatalf("unmarshal: %v\n%s", err, doc)
				}
				clearXMLNames(reflect.ValueOf(got))
				want := reflect.New(reflect.TypeOf(v).Elem())
				want.Elem().Set(reflect.ValueOf(v).Elem())
				clearXMLNames(want)
				if !reflect.DeepEqual(got, want.Interface()) {
					t.Errorf("round trip changed the value\n got: %+v\nwant: %+v\nxml: %s", got, want.Interface(), doc)
				}
			})
		}
	}
}

func TestSchemaRejectsBrokenMessages(t *testing.T) {
	testenv.Require(t, "xmllint")
	marshal := func(name string) string {
		b, err := xml.Marshal(messages()[name])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct{ name, doc, old, new string }{
		{"EteeStatusDetail children qualified", marshal("ActivateETKResponse"),
			`<Errors xmlns="">`, `<Errors xmlns="urn:be:fgov:ehealth:etee:commons:core:v2">`},
		{"missing IssueInstant", marshal("ActivateETKRequest"), ` IssueInstant="` + issue.String() + `"`, ``},
		{"Signature before PublicEncryptionKey", marshal("StartETKRegistrationRequest"),
			`<PublicEncryptionKey xmlns="urn:be:fgov:ehealth:etkra:protocol:v2">MIIBIg==</PublicEncryptionKey>`, ``},
		{"response without Status", marshal("CompleteETKRegistrationResponse"), `<Status xmlns`, ``},
		{"response without Id", marshal("ActivateETKResponse"), ` Id="_r"`, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(c.doc, c.old) {
				t.Fatalf("fixture lacks %q:\n%s", c.old, c.doc)
			}
			doc := strings.Replace(c.doc, c.old, c.new, 1)
			if c.name == "response without Status" {
				i := strings.Index(c.doc, `<Status xmlns`)
				j := strings.Index(c.doc, `</Status>`) + len(`</Status>`)
				doc = c.doc[:i] + c.doc[j:]
			}
			if c.name == "Signature before PublicEncryptionKey" {
				doc = strings.Replace(doc, `</StartETKRegistrationRequest>`, c.old+`</StartETKRegistrationRequest>`, 1)
			}
			if msg := testenv.ValidateXSD(t, []byte(doc)); msg == "" {
				t.Errorf("official XSDs accept the broken document:\n%s", doc)
			}
			if msg := validateOurs(t, []byte(doc)); msg == "" {
				t.Errorf("our XSDs accept the broken document:\n%s", doc)
			}
		})
	}
}

// The official skeleton (ds declared on the Signature element) is read with its signature.
func TestSignedRequestKeepsSignature(t *testing.T) {
	doc, err := os.ReadFile(testenv.Shared(t, "reference/xsd-check/sample-StartETKRegistrationRequest-skeleton.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var req etkra.StartETKRegistrationRequest
	if err := xml.Unmarshal(doc, &req); err != nil {
		t.Fatal(err)
	}
	if req.Signature == nil || req.Signature.Id != "xmldsig-1" ||
		!strings.Contains(req.Signature.InnerXML, `<ds:Reference URI="#_a">`) {
		t.Fatalf("signature lost: %+v", req.Signature)
	}
	if string(req.PublicEncryptionKey) != "\x00\x00\x00" || req.Id != "_a" {
		t.Errorf("request: %+v", req)
	}
	// Re-marshalled, the kept signature still validates: its content declares nothing but uses the ds prefix of
	// the original root, so this only works because the skeleton declares ds on Signature itself.
	out, err := xml.Marshal(&req)
	if err != nil {
		t.Fatal(err)
	}
	testenv.MustValidateXSD(t, out)
}

func TestUnsignedRequestHasNoSignature(t *testing.T) {
	for _, v := range []any{
		&etkra.StartETKRegistrationRequest{Id: "_a", IssueInstant: issue, PublicEncryptionKey: []byte{1}},
		&etkra.CompleteETKRegistrationRequest{Id: "_a", IssueInstant: issue, ToBeRegistered: []byte{1}},
		&etkra.ActivateETKRequest{Id: "_a", IssueInstant: issue},
	} {
		doc, err := xml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(doc, []byte("Signature")) {
			t.Errorf("%T marshals a Signature:\n%s", v, doc)
		}
	}
}

func TestOperationsMatchEhealth(t *testing.T) {
	n := 0
	for _, op := range ehealth.Operations() {
		if op.Service != ehealth.EtkRA {
			continue
		}
		n++
		g, ok := etkra.OperationBySOAPAction(op.SOAPAction)
		if !ok || g.Name != op.Name || g.Request != (xml.Name{Space: op.Namespace, Local: op.Request}) ||
			g.Response != (xml.Name{Space: op.Namespace, Local: op.Response}) {
			t.Errorf("%s: generated %+v, ehealth %+v", op.Name, g, op)
		}
	}
	if n != 3 || etkra.SOAPActionCompleteETKRegistration != "urn:be:fgov:ehealth:etee:etkra:protocol:v2:completeETKregistration" {
		t.Errorf("n=%d, CompleteETKRegistration action %q", n, etkra.SOAPActionCompleteETKRegistration)
	}
}
