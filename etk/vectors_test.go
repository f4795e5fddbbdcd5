package etk

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/internal/testenv"
)

// lookupTime lies inside the validity of every test-kit ETK and of the 2008 ETK-RA chain.
var lookupTime = time.Date(2015, 6, 1, 12, 0, 0, 0, time.UTC)

// readPEMCerts reads every certificate of the PEM files in dir.
func readPEMCerts(t testing.TB, dir string) []*x509.Certificate {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no PEM files in %s: %v", dir, err)
	}
	var certs []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			certs = append(certs, c)
		}
	}
	return certs
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

type manifestCert struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

type manifestEntry struct {
	File                  string         `json:"file"`
	SHA256                string         `json:"sha256"`
	Expected              string         `json:"expected"`
	Parse                 string         `json:"parse"`
	CertificatesCount     int            `json:"certificates_count"`
	Certificates          []manifestCert `json:"certificates"`
	SignerCertSubject     string         `json:"signer_cert_subject"`
	SignedAttributes      []string       `json:"signed_attributes"`
	EncryptionCert        *manifestCert  `json:"encryption_certificate"`
	HolderAuthCertSubject *string        `json:"holder_auth_certificate_subject"`
}

func readManifest(t testing.TB) (string, []manifestEntry) {
	dir := testenv.Shared(t, "reference/etk-vectors/etk")
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m []manifestEntry
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// vectorOptions trusts the test-kit PKIs the way the manifest says: the test-kit roots and the ETK-RA chain,
// as legacy (SHA-1) anchors.
func vectorOptions(t testing.TB) ValidateOptions {
	certs := testenv.Shared(t, "reference/etk-vectors/certs")
	signers := readPEMCerts(t, filepath.Join(certs, "etk-ra-signers"))
	testkit := readPEMCerts(t, filepath.Join(certs, "testkit"))
	return ValidateOptions{
		Time:              lookupTime,
		LegacyRoots:       append(append([]*x509.Certificate{}, testkit...), signers...),
		LegacySignerRoots: signers,
	}
}

// negativeCodes is the code each test-kit negative must be rejected with.
var negativeCodes = map[string]string{
	"negative/expired_auth.etk":              CodeAuthCertExpired,
	"negative/invalid_key_size.etk":          CodeAuthCertInvalidKey,
	"negative/invalid_encrkey_usage.etk":     CodeEncryptionCertInvalidKeyUsage,
	"negative/auth_and_encr_not_same_DN.etk": CodeCertsDoNotMatch,
	"negative/invalid_cert_chain.etk":        CodeAuthCertUntrusted,
}

func TestVectors(t *testing.T) {
	dir, manifest := readManifest(t)
	opts := vectorOptions(t)
	if len(manifest) < 11 {
		t.Fatalf("manifest lists %d ETKs, want at least 11", len(manifest))
	}
	for _, m := range manifest {
		t.Run(m.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.File)))
			if err != nil {
				t.Fatal(err)
			}
			if got := hexSHA256(data); got != m.SHA256 {
				t.Fatalf("file sha256 %s, manifest says %s", got, m.SHA256)
			}
			e, err := Parse(data)
			if m.Parse == "FAIL" {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("Parse: got %v, want *FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkAgainstManifest(t, e, m)
			err = e.Validate(opts)
			switch {
			case strings.HasPrefix(m.File, "testkit/"):
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
			default:
				want, ok := negativeCodes[m.File]
				if !ok {
					t.Fatalf("no expected code for %s (%s)", m.File, m.Expected)
				}
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Validate: %v, want *ValidationError with %s", err, want)
				}
				if !ve.Has(want) {
					t.Fatalf("Validate: codes %v, want %s (%s)", ve.Codes(), want, m.Expected)
				}
				t.Logf("rejected: %v", err)
			}
		})
	}
}

// checkAgainstManifest compares what Parse found with the manifest's description of the file.
func checkAgainstManifest(t *testing.T, e *ETK, m manifestEntry) {
	t.Helper()
	if m.EncryptionCert == nil || hexSHA256(e.EncryptionCertificate.Raw) != m.EncryptionCert.SHA256 {
		t.Errorf("encryption certificate sha256 %s, manifest %+v", hexSHA256(e.EncryptionCertificate.Raw), m.EncryptionCert)
	}
	var want []string
	for _, c := range m.Certificates {
		if !slices.Contains(want, c.SHA256) {
			want = append(want, c.SHA256)
		}
	}
	var got []string
	for _, c := range e.Certificates {
		got = append(got, hexSHA256(c.Raw))
	}
	if !slices.Equal(got, want) {
		t.Errorf("certificates %v, manifest (deduplicated) %v", got, want)
	}
	if e.Signer == nil {
		t.Fatal("no signer found")
	}
	if got := e.Signer.Subject.CommonName; got != "ETK-RA" {
		t.Errorf("signer CN %q, want ETK-RA (%s)", got, m.SignerCertSubject)
	}
	if e.AuthenticationCertificate == nil {
		t.Fatal("no authentication certificate found")
	}
	if e.AuthenticationCertificate == e.Signer || isCA(e.AuthenticationCertificate) {
		t.Error("authentication certificate is the signer or a CA")
	}
	if m.HolderAuthCertSubject != nil && !dnEqual(e.AuthenticationCertificate.RawSubject, e.EncryptionCertificate.RawSubject) {
		t.Error("the manifest names a holder whose subject is the encryption subject; ours differs")
	}
	for _, c := range e.CACertificates {
		if !isCA(c) {
			t.Errorf("non-CA %q among CACertificates", c.Subject)
		}
	}
	if len(m.SignedAttributes) == 0 && !e.SigningTime.IsZero() {
		t.Error("signing time found in an ETK without signed attributes")
	}
}

func readVector(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "reference/etk-vectors/etk/"+rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// SHA-1 is accepted for the legacy anchors only: the same anchors given as ordinary roots do not validate the
// test-kit ETKs.
func TestVectorsSHA1NotGlobal(t *testing.T) {
	legacy := vectorOptions(t)
	opts := ValidateOptions{
		Time:        lookupTime,
		Roots:       poolOf(legacy.LegacyRoots...),
		SignerRoots: poolOf(legacy.LegacySignerRoots...),
	}
	for _, tc := range []struct {
		file string
		want []string
	}{
		// SHA-1 certificate signatures in the holder path.
		{"testkit/alice-2014-sha256.etk", []string{CodeAuthCertUntrusted}},
		// The ETK-RA certificate is itself one of the anchors here, so its path is trivially valid; its CMS
		// signature uses SHA-1 and must then be refused.
		{"testkit/alice-nihii-00000000101-sha1.etk", []string{CodeSignatureNotValid, CodeAuthCertUntrusted}},
	} {
		e, err := Parse(readVector(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		err = e.Validate(opts)
		var ve *ValidationError
		if !errors.As(err, &ve) || !slices.Equal(ve.Codes(), tc.want) {
			t.Errorf("%s with ordinary roots: %v, want codes %v", tc.file, err, tc.want)
		}
	}
}

// The 2008 ETK-RA certificate expired in 2023: at a later time it is reported, unless IgnoreSignerExpiry.
func TestVectorsSignerExpiry(t *testing.T) {
	opts := vectorOptions(t)
	opts.Time = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // the 2014 holder chain is valid until 2033
	e, err := Parse(readVector(t, "testkit/bob-2014-sha256.etk"))
	if err != nil {
		t.Fatal(err)
	}
	err = e.Validate(opts)
	var ve *ValidationError
	if !errors.As(err, &ve) || !slices.Equal(ve.Codes(), []string{CodeSignerExpired}) {
		t.Fatalf("Validate in 2025: %v, want only %s", err, CodeSignerExpired)
	}
	opts.IgnoreSignerExpiry = true
	if err := e.Validate(opts); err != nil {
		t.Fatalf("Validate in 2025 with IgnoreSignerExpiry: %v", err)
	}
}

func TestVectorsIdentity(t *testing.T) {
	opts := vectorOptions(t)
	e, err := Parse(readVector(t, "testkit/alice-nihii-00000000101-sha1.etk"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.Identity()
	if err != nil || id != (Identity{Type: "NIHII", Value: "00000000101"}) {
		t.Fatalf("Identity() = %+v, %v", id, err)
	}
	opts.Expect = &Identity{Type: "nihii", Value: "101"}
	if err := e.Validate(opts); err != nil {
		t.Errorf("Validate expecting Alice: %v", err)
	}
	opts.Expect = &Identity{Type: "NIHII", Value: "00000000202"}
	var ve *ValidationError
	if err := e.Validate(opts); !errors.As(err, &ve) || !ve.Has(CodeHolderMismatch) {
		t.Errorf("Validate expecting Bob: %v, want %s", err, CodeHolderMismatch)
	}

	// The 2014 test-kit certificates carry no identifier (CN=Alice only).
	e, err = Parse(readVector(t, "testkit/alice-2014-sha256.etk"))
	if err != nil {
		t.Fatal(err)
	}
	var ie *IdentityError
	if _, err := e.Identity(); !errors.As(err, &ie) {
		t.Errorf("Identity() of CN=Alice: %v, want *IdentityError", err)
	}

	// An eID-style authentication certificate (SERIALNUMBER) is an SSIN.
	e, err = Parse(readVector(t, "negative/invalid_key_size.etk"))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := e.Identity(); err != nil || id != (Identity{Type: "SSIN", Value: "740906124"}) {
		t.Errorf("Identity() of the eID-style certificate = %+v, %v", id, err)
	}
}

// The test-kit ETKs of individuals carry OU=NIHII=<11 digits>: looked up as NIHII11 (the depot's name for that
// identifier), they validate; another holder's number, an 8-digit reading of it or an SSIN are still refused.
func TestVectorsNIHII11(t *testing.T) {
	for _, tc := range []struct {
		file, value, other string
	}{
		{"testkit/alice-nihii-00000000101-sha1.etk", "00000000101", "00000000202"},
		{"testkit/bob-nihii-00000000202-sha1.etk", "00000000202", "00000000101"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			e, err := Parse(readVector(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if id, err := e.Identity(); err != nil || id != (Identity{Type: "NIHII", Value: tc.value}) {
				t.Fatalf("Identity() = %+v, %v; want the certificate's NIHII=%s", id, err, tc.value)
			}
			opts := vectorOptions(t)
			for _, ok := range []Identity{
				{Type: "NIHII11", Value: tc.value},
				{Type: "nihii11", Value: strings.TrimLeft(tc.value, "0")}, // unpadded, as a user types it
				{Type: "NIHII", Value: tc.value},
			} {
				opts.Expect = &ok
				if err := e.Validate(opts); err != nil {
					t.Errorf("Validate expecting %v: %v", ok, err)
				}
			}
			for _, bad := range []Identity{
				{Type: "NIHII11", Value: tc.other},
				{Type: "NIHII11", Value: tc.value, ApplicationID: "APP"},
				{Type: "SSIN", Value: tc.value},
				{Type: "NIHII-HOSPITAL", Value: tc.value},
			} {
				opts.Expect = &bad
				var ve *ValidationError
				err := e.Validate(opts)
				if !errors.As(err, &ve) || !slices.Equal(ve.Codes(), []string{CodeHolderMismatch}) {
					t.Errorf("Validate expecting %v: %v, want only %s", bad, err, CodeHolderMismatch)
				}
			}
		})
	}
}

func hexSHA256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
