package etk

import (
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and, when they parse, to Validate and Identity: none may panic.
// The seed corpus (testdata/fuzz/FuzzParse) holds real test-kit ETKs, a base64 one, a broken one and garbage.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/alice-2014-sha256.etk"); err == nil {
		f.Add(data)
	}
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Add([]byte("MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwGggCSABIID"))
	opts := ValidateOptions{Time: lookupTime}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			if e != nil {
				t.Fatal("Parse returned both an ETK and an error")
			}
			return
		}
		if e.EncryptionCertificate == nil {
			t.Fatal("Parse succeeded without an encryption certificate")
		}
		_ = e.Validate(opts)
		_, _ = e.Identity()
	})
}
