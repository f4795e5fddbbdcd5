package soap_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/soap"
)

// A GetCertificate call: the payload (here hand-written; normally marshalled by the typed client and maybe
// signed) is sent unchanged, and a "not yet delivered" status comes back as a *soap.StatusError.
func ExampleClient_Call() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>`+
			`<p:GetCertificateResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" xmlns:c="urn:be:fgov:ehealth:commons:core:v2">`+
			`<c:Status><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Responder"/><c:StatusDetail>`+
			`<e:EteeStatusDetail xmlns:e="urn:be:fgov:ehealth:etee:commons:core:v2"><Errors><Code>CERT_NOT_YET_DELIVERED</Code>`+
			`<Message>The certificate is not yet delivered</Message></Errors></e:EteeStatusDetail></c:StatusDetail></c:Status>`+
			`</p:GetCertificateResponse></S:Body></S:Envelope>`)
	}))
	defer srv.Close()

	c, err := soap.NewClient(srv.Client(), "myProduct/1.0.0 ehcert/0.1.0", "info@mycompany.be")
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Observer = func(e *soap.Exchange) {
		fmt.Printf("%s %s -> HTTP %d\n", e.Method, e.Operation.SOAPAction, e.StatusCode)
	}
	payload := []byte(`<GetCertificateRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_1" IssueInstant="2026-11-29T10:00:00Z">` +
		`<PublicKeyIdentifier>3D5F12AC00000000000000000000000000001DEB</PublicKeyIdentifier></GetCertificateRequest>`)
	var resp struct {
		XMLName xml.Name
		Certs   [][]byte `xml:"urn:be:fgov:ehealth:certra:protocol:v2 X509Certificate"`
	}
	err = c.Call(context.Background(), srv.URL+"/CertRa/v2", ehealth.GetCertificate, payload, &resp)
	var se *soap.StatusError
	if errors.As(err, &se) {
		fmt.Println("pending:", se.Pending(), se.Codes())
	}
	// Output:
	// POST urn:be:fgov:ehealth:etee:certra:protocol:v2:getcertificate -> HTTP 200
	// pending: true [CERT_NOT_YET_DELIVERED]
}
