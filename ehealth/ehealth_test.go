package ehealth

import (
	"errors"
	"strings"
	"testing"
)

// The SOAPActions are copied from the connector, mixed prefixes and case included (FACTS §3–4).
func TestSOAPActionsExact(t *testing.T) {
	want := map[string]string{
		"GetActorQualities":                              "urn:be:fgov:ehealth:certra:protocol:v2:getActorQualities",
		"GenerateContract":                               "urn:be:fgov:ehealth:certra:protocol:v2:generateContract",
		"GenerateCertificate":                            "urn:be:fgov:ehealth:etee:certra:protocol:v2:generatecertificate",
		"GetCertificate":                                 "urn:be:fgov:ehealth:etee:certra:protocol:v2:getcertificate",
		"GenerateRevocationContract":                     "urn:be:fgov:ehealth:certra:protocol:v2:generateRevocationContract",
		"Revoke":                                         "urn:be:fgov:ehealth:etee:certra:protocol:v2:revoke",
		"SubmitCSRForForeigner":                          "urn:be:fgov:ehealth:certra:protocol:v2:submitCSRForForeigner",
		"GetGenericOrganizationTypes":                    "urn:be:fgov:ehealth:certra:protocol:v2:getGenericOrganizationTypes",
		"GetExistingApplicationIds":                      "urn:be:fgov:ehealth:etee:certra:protocol:v2:getexistingapplicationids",
		"GetCertificateInfoForCitizen":                   "urn:be:fgov:ehealth:certra:protocol:v2:getCertificateInfoForCitizen",
		"GetCertificateInfoForAuthenticationCertificate": "urn:be:fgov:ehealth:etee:certra:protocol:v2:getCertificateInfoForAuthenticationCertificate",
		"StartETKRegistration":                           "urn:be:fgov:ehealth:etee:etkra:protocol:v2:startETKRegistration",
		"CompleteETKRegistration":                        "urn:be:fgov:ehealth:etee:etkra:protocol:v2:completeETKregistration",
		"ActivateETK":                                    "urn:be:fgov:ehealth:etee:etkra:protocol:v2:activateETK",
	}
	ops := Operations()
	if len(ops) != len(want) {
		t.Fatalf("%d operations, want %d", len(ops), len(want))
	}
	for _, op := range ops {
		if want[op.Name] != op.SOAPAction {
			t.Errorf("%s: SOAPAction %q, want %q", op.Name, op.SOAPAction, want[op.Name])
		}
		got, ok := OperationBySOAPAction(`"` + op.SOAPAction + `"`)
		if !ok || got.Name != op.Name {
			t.Errorf("OperationBySOAPAction(%q) = %v, %v", op.SOAPAction, got.Name, ok)
		}
		got, ok = OperationByRequest(op.Namespace, op.Request)
		if !ok || got.Name != op.Name {
			t.Errorf("OperationByRequest(%s) = %v, %v", op.Request, got.Name, ok)
		}
	}
}

// Which key signs which operation (FACTS §12.3).
func TestKeyPerOperation(t *testing.T) {
	cases := map[KeyKind][]Operation{
		EIDAuthentication:     {GetActorQualities, GetCertificateInfoForCitizen},
		EIDSignature:          {GenerateCertificate, Revoke},
		EHealthAuthentication: {GetCertificateInfoForAuthenticationCertificate, StartETKRegistration, CompleteETKRegistration, ActivateETK},
		Unsigned:              {GenerateContract, GetCertificate, GenerateRevocationContract, SubmitCSRForForeigner, GetGenericOrganizationTypes, GetExistingApplicationIds},
	}
	n := 0
	for k, ops := range cases {
		for _, op := range ops {
			n++
			if op.Key != k {
				t.Errorf("%s signed with %v, want %v", op.Name, op.Key, k)
			}
		}
	}
	if n != 14 {
		t.Fatalf("table covers %d operations", n)
	}
	if GetExistingApplicationIds.HasStatus {
		t.Error("GetExistingApplicationIdsResponse has no Status")
	}
}

func TestNormalizeIdentifier(t *testing.T) {
	for _, c := range []struct{ typ, in, want string }{
		{"CBE", "820563481", "0820563481"},
		{"cbe", "0820563481", "0820563481"},
		{"NIHII-HOSPITAL", "71000436", "71000436"},
		{"SSIN", "1234567890", "01234567890"},
		{"HUB", "1990000035", "1990000035"},
	} {
		got, err := NormalizeIdentifier(c.typ, c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeIdentifier(%s, %s) = %q, %v; want %q", c.typ, c.in, got, err, c.want)
		}
	}
	var unk *UnknownIdentifierTypeError
	if _, err := NormalizeIdentifier("NIHII-MARS", "1"); !errors.As(err, &unk) {
		t.Errorf("unknown type: %v", err)
	}
	var inv *InvalidIdentifierError
	for _, bad := range []string{"", "12a", "123456789012"} {
		if _, err := NormalizeIdentifier("SSIN", bad); !errors.As(err, &inv) {
			t.Errorf("NormalizeIdentifier(SSIN, %q): %v", bad, err)
		}
	}
}

func TestEnvironmentPresets(t *testing.T) {
	// FACTS §1 (UDDI) and §13.
	if Acceptance.CertRA != "https://services-acpt.ehealth.fgov.be/CertRa/v2" || Acceptance.EtkRA != "https://services-acpt.ehealth.fgov.be/EtkRa/v2" || Acceptance.ETKDepot != "https://api-acpt.ehealth.fgov.be/etee/v1" {
		t.Errorf("acceptance: %+v", Acceptance)
	}
	if Production.CertRA != "https://services.ehealth.fgov.be/CertRa/v2" || Production.EtkRA != "https://services.ehealth.fgov.be/EtkRa/v2" || Production.ETKDepot != "https://api.ehealth.fgov.be/etee/v1" {
		t.Errorf("production: %+v", Production)
	}
	if Production.Endpoint(EtkRA) != Production.EtkRA || Production.Endpoint(CertRA) != Production.CertRA {
		t.Error("Endpoint picks the wrong service")
	}
}

func TestCustomEnvironment(t *testing.T) {
	e := CustomEnvironment("https://127.0.0.1:8443/")
	if e.CertRA != "https://127.0.0.1:8443/CertRa/v2" || e.EtkRA != "https://127.0.0.1:8443/EtkRa/v2" || !strings.HasSuffix(e.ETKDepot, "/etee/v1") {
		t.Errorf("%+v", e)
	}
}

func TestIdentityMatches(t *testing.T) {
	for _, c := range []struct {
		a, b Identity
		want bool
	}{
		{Identity{Type: "CBE", Value: "0820563481"}, Identity{Type: "cbe", Value: "820563481"}, true},
		{Identity{Type: "CBE", Value: "1", ApplicationID: "APP"}, Identity{Type: "CBE", Value: "1", ApplicationID: "app"}, true},
		{Identity{Type: "CBE", Value: "1", ApplicationID: "APP"}, Identity{Type: "CBE", Value: "1"}, false},
		{Identity{Type: "NIHII11", Value: "101"}, Identity{Type: "NIHII", Value: "00000000101"}, true},
		{Identity{Type: "NIHII11", Value: "101"}, Identity{Type: "NIHII", Value: "00000101"}, false},
		{Identity{Type: "SSIN", Value: "00000000101"}, Identity{Type: "NIHII", Value: "00000000101"}, false},
		{Identity{Type: "CBE", Value: "1"}, Identity{Type: "CBE", Value: "2"}, false},
	} {
		if got := c.a.Matches(c.b); got != c.want {
			t.Errorf("%v.Matches(%v) = %v", c.a, c.b, got)
		}
		if got := c.b.Matches(c.a); got != c.want {
			t.Errorf("%v.Matches(%v) = %v (not symmetric)", c.b, c.a, got)
		}
	}
	if s := (Identity{Type: "CBE", Value: "0123456749", ApplicationID: "APP1"}).String(); s != "CBE=0123456749,APP1" {
		t.Errorf("String = %q", s)
	}
}
