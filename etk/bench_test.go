package etk

import (
	"os"
	"testing"

	"github.com/smallstep/pkcs7"
)

// BenchmarkParseValidateETK parses and fully validates a real test-kit ETK (CMS signature, signer path to a
// legacy anchor, authentication path, certificate checks). The first sub-benchmark is the baseline measured in
// the same process, the bare CMS decoding of the same bytes by smallstep/pkcs7; the second reports its cost
// as a ratio to it (x-baseline).
func BenchmarkParseValidateETK(b *testing.B) {
	data, err := os.ReadFile("testdata/alice-2014-sha256.etk")
	if err != nil {
		b.Fatal(err)
	}
	opts := ValidateOptions{
		Time:              lookupTime,
		LegacyRoots:       readPEMCerts(b, "testdata/anchors"),
		LegacySignerRoots: readPEMCerts(b, "testdata/anchors"),
	}
	var baseline float64 // ns/op
	b.Run("baseline=pkcs7.Parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := pkcs7.Parse(data); err != nil {
				b.Fatal(err)
			}
		}
		baseline = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("Parse+Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, err := Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Validate(opts); err != nil {
				b.Fatal(err)
			}
		}
		if baseline > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baseline, "x-baseline")
		}
	})
}
