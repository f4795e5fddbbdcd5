package certra_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	gen "github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/soap"
)

// Polling for a certificate: GetCertificate is unsigned, so no Signer is needed. While the certificate is not
// delivered, the error is a *soap.StatusError with Pending() true.
func ExampleClient_GetCertificate() {
	// A stand-in for CertRA that always answers "not yet delivered".
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>`+
			`<p:GetCertificateResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:c="urn:be:fgov:ehealth:commons:core:v2" Id="_r" IssueInstant="2026-11-29T10:00:00Z">`+
			`<c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Responder"/><c:StatusDetail>`+
			`<e:EteeStatusDetail xmlns:e="urn:be:fgov:ehealth:etee:commons:core:v2"><Errors><Code>CERT_NOT_YET_DELIVERED</Code></Errors></e:EteeStatusDetail>`+
			`</c:StatusDetail></c:Status></p:GetCertificateResponse></S:Body></S:Envelope>`)
	}))
	defer srv.Close()

	sc, err := soap.NewClient(srv.Client(), "myProduct/1.0.0 ehcert/0.1.0", "info@mycompany.be")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &certra.Client{SOAP: sc, Endpoint: ehealth.CustomEnvironment(srv.URL).CertRA}
	req := &gen.GetCertificateRequest{PublicKeyIdentifier: make([]byte, 20)}
	resp, err := c.GetCertificate(context.Background(), req)
	switch {
	case soap.IsPending(err):
		fmt.Println("not delivered yet; ask again later with the same public key identifier")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(len(resp.X509Certificate), "certificates")
	}
	// Output:
	// not delivered yet; ask again later with the same public key identifier
}
