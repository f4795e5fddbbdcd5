package soap

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
)

// BenchmarkInterpret compares the full response handling (envelope split, status check, decode) with a plain
// xml.Unmarshal of the same Body child, the baseline; the ratio of the two is what matters.
func BenchmarkInterpret(b *testing.B) {
	child := `<p:GetCertificateResponse xmlns:p="urn:be:fgov:ehealth:certra:protocol:v2" Id="_r">` + successStatus +
		strings.Repeat(`<p:X509Certificate>`+strings.Repeat("QUJD", 400)+`</p:X509Certificate>`, 3) + `</p:GetCertificateResponse>`
	body := []byte(envelope(child))
	type certs struct {
		C [][]byte `xml:"urn:be:fgov:ehealth:certra:protocol:v2 X509Certificate"`
	}
	h := http.Header{}
	b.Run("baseline-unmarshal-child", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v certs
			if err := xml.Unmarshal([]byte(child), &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("interpret", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v certs
			if _, err := interpret(ehealth.GetCertificate, 200, h, body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
