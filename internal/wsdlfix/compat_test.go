package main

// Old clients stay up (issue 9): when eHealth adds elements, attributes or enumeration values to a response,
// this version's clients (generated from the current wsdl/) still parse it and the call still succeeds; status
// codes this version does not know still become *soap.StatusError. Both typed clients (packages certra and etkra)
// are called through package soap against an httptest server answering canned responses, which reach content the
// platform would not send today (every operation, every optional item). The same through the real platform, with
// its answers rewritten by an ehealthtest Rewrite fault: ehealthtest/compat_test.go. (The REST depot:
// etkdepot/compat_test.go.)

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	certraclient "github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	etkraclient "github.com/ehcert/ehcert/etkra"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/soap"
)

// markSigner stands in for sign.Keyring: it appends a ds:Signature before the request's closing tag.
type markSigner struct{}

func (markSigner) SignRequest(_ context.Context, _ ehealth.Operation, payload []byte) ([]byte, error) {
	i := bytes.LastIndex(payload, []byte("</"))
	sig := `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>`
	return append(append(append([]byte(nil), payload[:i]...), sig...), payload[i:]...), nil
}

// A future status: success, with things this version does not know everywhere around it.
const futureSuccess = `<c:Status f:origin="x"><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:Success" f:level="1">` +
	`<c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:FutureSubCode"/></c:StatusCode>` +
	`<c:StatusMessage>ok</c:StatusMessage><c:StatusDetail><f:Diagnostics><f:Took>12</f:Took></f:Diagnostics>` +
	`<e:EteeStatusDetail><Warnings>none</Warnings></e:EteeStatusDetail></c:StatusDetail><c:FutureStatusChild/></c:Status>`

// futureContent is the content of each response as a later eHealth version could send it: new elements
// (qualified in the service's namespaces and in a new one, in the middle of sequences and at the end), new
// attributes and enumeration values this version does not list.
var futureContent = map[string]string{
	"GetActorQualities": `<p:NaturalPersonAuthorization>true</p:NaturalPersonAuthorization>` +
		`<p:OrganizationAuthorization f:since="2027"><cc:Name><cc:Value xml:lang="it" Script="Latn">Ospedale</cc:Value><cc:Value xml:lang="fr">Hôpital</cc:Value></cc:Name>` +
		`<cc:LegalForm>asbl</cc:LegalForm><cc:Identifier Type="CBE" Checked="true">0123456789</cc:Identifier><cc:Sector>care</cc:Sector></p:OrganizationAuthorization>` +
		`<p:ProfessionalAuthorization>NURSE</p:ProfessionalAuthorization>`,
	"GetGenericOrganizationTypes": `<p:OrganizationType><cc:Name><cc:Value xml:lang="nl">Ziekenhuis</cc:Value></cc:Name>` +
		`<cc:IdentifierType>NIHII-HOSPITAL</cc:IdentifierType><cc:Category>hospital</cc:Category>` +
		`<cc:CheckDigitAlgorithm>MOD97</cc:CheckDigitAlgorithm><cc:CheckDigitAlgorithm>LUHN2</cc:CheckDigitAlgorithm></p:OrganizationType>`,
	"GetExistingApplicationIds": `<p:ApplicationId>APP1</p:ApplicationId><p:Retired>OLD</p:Retired><p:ApplicationId xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`,
	"GenerateCertificate": `<p:PublicKeyIdentifier>ABABABABABABABABABABABABABABABABABABABAB</p:PublicKeyIdentifier>` +
		`<p:AutomaticallyValidated>true</p:AutomaticallyValidated><p:ValidationChannel>VIDEO</p:ValidationChannel>`,
	"GetCertificate": `<p:X509Certificate>AAEC</p:X509Certificate><p:X509CertificateFingerprint>00</p:X509CertificateFingerprint>` +
		`<p:X509Certificate>AwQF</p:X509Certificate>`,
	"GetCertificateInfoForAuthenticationCertificate": `<p:CertificateInfo Source="registry">` +
		`<cc:RequestedDate>2026-11-29T10:00:00.000+01:00</cc:RequestedDate>` +
		`<cc:PublicKeyIdentifier>ABABABABABABABABABABABABABABABABABABABAB</cc:PublicKeyIdentifier>` +
		`<cc:Channel>web</cc:Channel>` +
		`<cc:CertificateEntity EntityType="Foundation"><cc:CertificateIdentifier><cc:Actor><c:Id Type="FOUNDATION">42</c:Id><c:Name>ACME</c:Name></cc:Actor></cc:CertificateIdentifier></cc:CertificateEntity>` +
		`<cc:AuthenticationCertificateStatus>ON_HOLD</cc:AuthenticationCertificateStatus>` +
		`<cc:ETKStatus>SUSPENDED</cc:ETKStatus><cc:AutomaticallyValidated>false</cc:AutomaticallyValidated>` +
		`<cc:Revocable>true</cc:Revocable><cc:Replaceable>false</cc:Replaceable>` +
		`<cc:ContactData><cc:EmailPrivate>a@example.org</cc:EmailPrivate><cc:PhonePrivate>1</cc:PhonePrivate><cc:Mobile>2</cc:Mobile></cc:ContactData>` +
		`</p:CertificateInfo><p:RenewalHint>2027-01-15T00:00:00Z</p:RenewalHint>`,
	"StartETKRegistration":    `<p:Challenge>AAEC</p:Challenge><p:ChallengeAlgorithm>RSA-OAEP</p:ChallengeAlgorithm>`,
	"CompleteETKRegistration": `<p:ETK>AwQF</p:ETK><p:ToBeActivated>true</p:ToBeActivated><p:ActivationDeadline>2027-01-01T00:00:00Z</p:ActivationDeadline>`,
}

// futureResponse returns op's response with the future status (when op has one) and content, and unknown
// attributes on the root and unknown elements after the content.
func futureResponse(op ehealth.Operation) string {
	status := ""
	if op.HasStatus {
		status = futureSuccess
	}
	return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><f:Routing xmlns:f="urn:example:future"/></soapenv:Header><soapenv:Body>` +
		fmt.Sprintf(`<p:%s xmlns:p="%s" xmlns:c="%s" xmlns:cc="%s" xmlns:e="%s" xmlns:f="urn:example:future" `+
			`Id="_resp" InResponseTo="_req" IssueInstant="2026-11-29T10:00:01.000+01:00" Version="2.1" f:trace="t-1">`,
			op.Response, op.Namespace, ehealth.NSCommonsCore, ehealth.NSCertRACore, ehealth.NSEteeCore) +
		status + futureContent[op.Name] + `<p:FutureElement Kind="new"><f:Nested>y</f:Nested></p:FutureElement><f:Extension/>` +
		fmt.Sprintf(`</p:%s>`, op.Response) + `</soapenv:Body></soapenv:Envelope>`
}

// fakeService answers each operation (by SOAPAction) with reply(op).
func fakeService(t *testing.T, reply func(op ehealth.Operation) string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		op, ok := ehealth.OperationBySOAPAction(strings.Trim(r.Header.Get("SOAPAction"), `"`))
		if !ok {
			t.Errorf("unknown SOAPAction %q", r.Header.Get("SOAPAction"))
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, reply(op))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// callEvery calls every operation of both services with the typed clients (Do, with the generated request and
// response of the operation) and returns the responses and errors by operation name.
func callEvery(t *testing.T, srv *httptest.Server) (map[string]any, map[string]error) {
	t.Helper()
	ctx := context.Background()
	cc := &certraclient.Client{SOAP: &soap.Client{}, Endpoint: srv.URL, Signer: markSigner{}}
	ec := &etkraclient.Client{SOAP: &soap.Client{}, Endpoint: srv.URL, Signer: markSigner{}}
	resps, errs := map[string]any{}, map[string]error{}
	for _, op := range ehealth.Operations() {
		var req, resp any
		var err error
		switch op.Service {
		case ehealth.CertRA:
			g, ok := gencertra.OperationByName(op.Name)
			if !ok {
				t.Fatalf("%s is not in gen/certra", op.Name)
			}
			req, resp = g.NewRequest(), g.NewResponse()
			err = cc.Do(ctx, op, req, resp)
		default:
			g, ok := genetkra.OperationByName(op.Name)
			if !ok {
				t.Fatalf("%s is not in gen/etkra", op.Name)
			}
			req, resp = g.NewRequest(), g.NewResponse()
			err = ec.Do(ctx, op, req, resp)
		}
		resps[op.Name], errs[op.Name] = resp, err
	}
	if len(resps) != 14 {
		t.Fatalf("%d operations", len(resps))
	}
	return resps, errs
}

func TestOldClientsParseFutureResponses(t *testing.T) {
	srv := fakeService(t, futureResponse)
	resps, errs := callEvery(t, srv)
	for name, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if t.Failed() {
		return
	}
	// What this version knows is still read, around what it does not know.
	aq := resps["GetActorQualities"].(*gencertra.GetActorQualitiesResponse)
	if aq.NaturalPersonAuthorization == nil || !*aq.NaturalPersonAuthorization || len(aq.OrganizationAuthorization) != 1 ||
		aq.OrganizationAuthorization[0].Identifier.Value != "0123456789" || len(aq.OrganizationAuthorization[0].Name.Value) != 2 ||
		aq.OrganizationAuthorization[0].Name.Value[0].Lang != "it" || aq.Status.StatusMessage != "ok" {
		t.Errorf("GetActorQualities: %+v", aq)
	}
	if len(aq.Status.StatusDetail.Any) != 1 || aq.Status.StatusDetail.Any[0].XMLName.Local != "Diagnostics" {
		t.Errorf("unknown status detail: %+v", aq.Status.StatusDetail)
	}
	ot := resps["GetGenericOrganizationTypes"].(*gencertra.GetGenericOrganizationTypesResponse)
	if len(ot.OrganizationType) != 1 || len(ot.OrganizationType[0].CheckDigitAlgorithm) != 2 {
		t.Errorf("GetGenericOrganizationTypes: %+v", ot)
	}
	ids := resps["GetExistingApplicationIds"].(*gencertra.GetExistingApplicationIdsResponse)
	if len(ids.ApplicationId) != 2 || ids.ApplicationId[0].Value != "APP1" || !ids.ApplicationId[1].Nil {
		t.Errorf("GetExistingApplicationIds: %+v", ids)
	}
	gc := resps["GetCertificate"].(*gencertra.GetCertificateResponse)
	if len(gc.X509Certificate) != 2 || !bytes.Equal(gc.X509Certificate[1], []byte{3, 4, 5}) {
		t.Errorf("GetCertificate: %+v", gc)
	}
	info := resps["GetCertificateInfoForAuthenticationCertificate"].(*gencertra.GetCertificateInfoForAuthenticationCertificateResponse).CertificateInfo
	switch {
	case info == nil:
		t.Fatal("no CertificateInfo")
	case info.ETKStatus != "SUSPENDED", info.AuthenticationCertificateStatus != "ON_HOLD",
		info.CertificateEntity.EntityType != "Foundation":
		t.Errorf("unknown enumeration values are not kept as they are: %q %q %q",
			info.ETKStatus, info.AuthenticationCertificateStatus, info.CertificateEntity.EntityType)
	case len(info.PublicKeyIdentifier) != 20 || !info.Revocable || info.ContactData.PhonePrivate != "1" ||
		info.CertificateEntity.CertificateIdentifier.Actor.Name != "ACME":
		t.Errorf("CertificateInfo: %+v", info)
	}
	done := resps["CompleteETKRegistration"].(*genetkra.CompleteETKRegistrationResponse)
	if !bytes.Equal(done.ETK, []byte{3, 4, 5}) || done.ToBeActivated == nil || !*done.ToBeActivated {
		t.Errorf("CompleteETKRegistration: %+v", done)
	}
	start := resps["StartETKRegistration"].(*genetkra.StartETKRegistrationResponse)
	if !bytes.Equal(start.Challenge, []byte{0, 1, 2}) || start.Id != "_resp" {
		t.Errorf("StartETKRegistration: %+v", start)
	}
}

// futureFailure is a status this version does not know: a top-level code, a nested code and an error code
// that are not in ehealth's lists, and unknown elements in the detail.
func futureFailure(top string) func(op ehealth.Operation) string {
	return func(op ehealth.Operation) string {
		if !op.HasStatus {
			return futureResponse(op)
		}
		status := fmt.Sprintf(`<c:Status><c:StatusCode Value="%s"><c:StatusCode Value="urn:be:fgov:ehealth:2.0:status:QuotaExceeded"/></c:StatusCode>`, top) +
			`<c:StatusMessage>try tomorrow</c:StatusMessage><c:StatusDetail><f:Hint>later</f:Hint>` +
			`<e:EteeStatusDetail><Errors Severity="high"><Code>FUTURE_QUOTA_EXCEEDED</Code><Message>Quota exceeded</Message>` +
			`<Parameters><Name>retryAfter</Name><Value>PT24H</Value></Parameters><Trace>x</Trace></Errors></e:EteeStatusDetail></c:StatusDetail></c:Status>`
		return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
			fmt.Sprintf(`<p:%s xmlns:p="%s" xmlns:c="%s" xmlns:e="%s" xmlns:f="urn:example:future" Id="_r" IssueInstant="2026-11-29T10:00:01Z" f:x="1">`,
				op.Response, op.Namespace, ehealth.NSCommonsCore, ehealth.NSEteeCore) +
			status + `<p:FutureElement/>` + fmt.Sprintf(`</p:%s>`, op.Response) + `</soapenv:Body></soapenv:Envelope>`
	}
}

func TestUnknownStatusCodesAreTypedErrors(t *testing.T) {
	for _, top := range []string{ehealth.StatusResponder, "urn:be:fgov:ehealth:3.0:status:Deferred"} {
		t.Run(top, func(t *testing.T) {
			_, errs := callEvery(t, fakeService(t, futureFailure(top)))
			for _, op := range ehealth.Operations() {
				err := errs[op.Name]
				if !op.HasStatus {
					if err != nil {
						t.Errorf("%s (no status): %v", op.Name, err)
					}
					continue
				}
				var se *soap.StatusError
				if !errors.As(err, &se) {
					t.Errorf("%s: %T %v, want a *soap.StatusError", op.Name, err, err)
					continue
				}
				if len(se.StatusCodes) != 2 || se.StatusCodes[0] != top || se.Message != "try tomorrow" ||
					strings.Join(se.Codes(), ",") != "FUTURE_QUOTA_EXCEEDED" || se.Details[0].Parameters[0].Value != "PT24H" ||
					se.Pending() || soap.Code(err) != "FUTURE_QUOTA_EXCEEDED" {
					t.Errorf("%s: %#v", op.Name, se)
				}
			}
		})
	}
}
