package soap

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
)

// fuzzResponse is a response type with the kinds of fields the generated types have.
type fuzzResponse struct {
	Id    string   `xml:"Id,attr"`
	Flag  bool     `xml:"urn:be:fgov:ehealth:certra:protocol:v2 NaturalPersonAuthorization"`
	Certs [][]byte `xml:"urn:be:fgov:ehealth:certra:protocol:v2 X509Certificate"`
	Count int      `xml:"urn:be:fgov:ehealth:certra:protocol:v2 Count"`
	Infos []struct {
		Name  string `xml:"urn:be:fgov:ehealth:commons:core:v2 Name"`
		Value []struct {
			Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
			Text string `xml:",chardata"`
		} `xml:"urn:be:fgov:ehealth:commons:core:v2 Value"`
	} `xml:"urn:be:fgov:ehealth:certra:protocol:v2 OrganizationAuthorization"`
	Signature *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
}

// FuzzParseResponse feeds arbitrary response bodies to the envelope, fault and status parsing. It must never
// panic, must return one of the package's error types, and must keep excerpts bounded and the Body child a part
// of the input.
func FuzzParseResponse(f *testing.F) {
	f.Add(200, true, false, []byte(envelope(successResponse(ehealth.GetCertificate))))
	f.Add(200, true, false, []byte(envelope(statusErrorResponse)))
	f.Add(500, true, false, []byte(envelope(`<soap:Fault><faultcode>SOA-03001</faultcode><faultstring>x</faultstring><detail><a>SOA-03003</a></detail></soap:Fault>`)))
	f.Add(503, false, true, []byte("<html><body>down</body></html>"))
	f.Fuzz(func(t *testing.T, status int, hasStatus, anyRoot bool, body []byte) {
		op := ehealth.GetCertificate
		op.HasStatus = hasStatus
		if anyRoot {
			op.Response = ""
		}
		header := http.Header{"Content-Type": {"text/xml"}}
		var resp fuzzResponse
		raw, err := interpret(op, status, header, body, &resp)
		if len(raw) > len(body) {
			t.Fatalf("raw (%d bytes) longer than the body (%d)", len(raw), len(body))
		}
		if len(raw) > 0 && !bytes.Contains(body, raw) {
			t.Fatalf("raw is not part of the body")
		}
		if err == nil {
			return
		}
		var (
			f  *Fault
			he *HTTPError
			se *StatusError
			pe *ProtocolError
		)
		switch {
		case errors.As(err, &he):
			if len(he.Excerpt) > maxExcerpt {
				t.Fatalf("excerpt of %d bytes", len(he.Excerpt))
			}
		case errors.As(err, &f):
			_ = f.EHealthCode()
		case errors.As(err, &se):
			_ = se.Pending()
			_ = se.Retryable()
		case errors.As(err, &pe):
		default:
			t.Fatalf("untyped error %T: %v", err, err)
		}
		_ = err.Error()
		_ = Code(err)
	})
}
