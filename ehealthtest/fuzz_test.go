package ehealthtest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest"
)

// The SOAP endpoints answer any body with a response (never a panic): a SOAP Fault or a status.
func FuzzSOAPRequest(f *testing.F) {
	srv, err := ehealthtest.NewUnstartedServer(ehealthtest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	h := srv.Handler()
	types := `<GetGenericOrganizationTypesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" IssueInstant="2024-01-01T00:00:00Z"/>`
	f.Add(envStart+types+envEnd, ehealth.GetGenericOrganizationTypes.SOAPAction)
	f.Add(envStart+`<GetCertificateRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" IssueInstant="2024-01-01T00:00:00Z"><PublicKeyIdentifier>00</PublicKeyIdentifier></GetCertificateRequest>`+envEnd, ehealth.GetCertificate.SOAPAction)
	f.Add(envStart+`<GetActorQualitiesRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" IssueInstant="2024-01-01T00:00:00Z"><SSIN Type="SSIN">1</SSIN><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></GetActorQualitiesRequest>`+envEnd, ehealth.GetActorQualities.SOAPAction)
	f.Add(envStart+`<GenerateContractRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" IssueInstant="2024-01-01T00:00:00Z"><CertificateIdentifier/></GenerateContractRequest>`+envEnd, ehealth.GenerateContract.SOAPAction)
	f.Add("<", "")
	f.Fuzz(func(t *testing.T, body, action string) {
		req := httptest.NewRequest(http.MethodPost, "/CertRa/v2", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		req.Header.Set("SOAPAction", action)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusInternalServerError {
			t.Fatalf("HTTP %d", w.Code)
		}
		if !strings.Contains(w.Body.String(), "Envelope") {
			t.Fatalf("no envelope: %s", w.Body.String())
		}
	})
}
