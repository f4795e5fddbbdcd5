package certra_test

import (
	"encoding/xml"
	"fmt"
	"time"

	"github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/xsd"
)

// Build a request and marshal it: the bytes a signer would sign and the transport would send.
func ExampleGetCertificateRequest() {
	req := &certra.GetCertificateRequest{
		Id:                  "_4f1c2a9e-0b7d-4c1e-9a53-2f0c8e7d6b11",
		IssueInstant:        xsd.NewDateTime(time.Date(2024, 1, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))),
		PublicKeyIdentifier: []byte{0x3d, 0x5f, 0x12, 0xac, 0x23, 0xd1, 0x0d, 0x83, 0xa2, 0xe1, 0x3a, 0x9b, 0x44, 0x39, 0xa5, 0xf5, 0x62, 0x1a, 0x1d, 0xeb},
	}
	out, err := xml.Marshal(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	op, _ := certra.OperationByName("GetCertificate")
	fmt.Println(op.Name, op.SOAPAction)
	// Output:
	// <GetCertificateRequest xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_4f1c2a9e-0b7d-4c1e-9a53-2f0c8e7d6b11" IssueInstant="2024-01-01T12:00:00+01:00"><PublicKeyIdentifier xmlns="urn:be:fgov:ehealth:certra:protocol:v2">3D5F12AC23D10D83A2E13A9B4439A5F5621A1DEB</PublicKeyIdentifier></GetCertificateRequest>
	// GetCertificate urn:be:fgov:ehealth:etee:certra:protocol:v2:getcertificate
}

// Read the error codes of a non-success status.
func ExampleStatusType() {
	doc := `<GetCertificateResponse xmlns="urn:be:fgov:ehealth:certra:protocol:v2" Id="_r" IssueInstant="2024-01-01T12:00:01Z">` +
		`<Status xmlns="urn:be:fgov:ehealth:commons:core:v2"><StatusCode Value="urn:be:fgov:ehealth:2.0:status:Requester"/>` +
		`<StatusDetail><EteeStatusDetail xmlns="urn:be:fgov:ehealth:etee:commons:core:v2"><Errors xmlns="">` +
		`<Code>CERT_NOT_YET_DELIVERED</Code><Message>not yet</Message></Errors></EteeStatusDetail></StatusDetail>` +
		`</Status></GetCertificateResponse>`
	var resp certra.GetCertificateResponse
	if err := xml.Unmarshal([]byte(doc), &resp); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status.StatusCode.Value)
	for _, d := range resp.Status.StatusDetail.EteeStatusDetail {
		for _, e := range d.Errors {
			fmt.Println(e.Code, e.Message)
		}
	}
	// Output:
	// urn:be:fgov:ehealth:2.0:status:Requester
	// CERT_NOT_YET_DELIVERED not yet
}
