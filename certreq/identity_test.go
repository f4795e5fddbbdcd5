package certreq

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/smallstep/pkcs7"
)

// etkCertificates returns the certificates of an ETK of the reference vectors (FACTS §14).
func etkCertificates(t *testing.T, name string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(testenv.Shared(t, "reference/etk-vectors/etk/"+name))
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p7.Certificates
}

// holderCert returns the holder's authentication certificate: the certificate that is neither a CA nor the ETK-RA.
func holderCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	for _, c := range etkCertificates(t, name) {
		if !c.IsCA && c.Subject.CommonName != "ETK-RA" {
			return c
		}
	}
	t.Fatalf("%s: no holder certificate", name)
	return nil
}

func TestIdentityOfRealETKHolders(t *testing.T) {
	cases := []struct {
		etk  string
		want Identity
		name string
	}{
		// 2008 test PKI: RDNs encoded CN first.
		{"testkit/alice-nihii-00000000101-sha1.etk", Identity{Type: "NIHII", Value: "00000000101"}, "Alice"},
		{"testkit/bob-nihii-00000000202-sha1.etk", Identity{Type: "NIHII", Value: "00000000202"}, "Bob"},
		// CN "Niala Reitromed Expired Auth,,NIHII=98745632109": commas in the CN, no application id.
		{"negative/expired_auth.etk", Identity{Type: "NIHII", Value: "98745632109"}, "Niala Reitromed Expired Auth"},
		// eID-style subject with SERIALNUMBER: type SSIN.
		{"negative/invalid_key_size.etk", Identity{Type: "SSIN", Value: "740906124"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.etk, func(t *testing.T) {
			cert := holderCert(t, tc.etk)
			got, err := IdentityOf(cert)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("IdentityOf = %+v, want %+v", got, tc.want)
			}
			s, err := SubjectOf(cert)
			if err != nil || s.Name != tc.name {
				t.Errorf("SubjectOf name = %q, %v; want %q", s.Name, err, tc.name)
			}
		})
	}
	// 2014 test kit holders (C first) have no TYPE=id OU.
	if _, err := IdentityOf(holderCert(t, "testkit/alice-2014-sha256.etk")); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("alice-2014: %v, want ErrNoIdentity", err)
	}
}

// Certificates issued with the connector's DN in both RDN orders and both string encodings identify the same way.
func TestIdentityOfBothOrders(t *testing.T) {
	key := testKey(t)
	subject := OrganizationSubject("NIHII-HOSPITAL", "71000436", "Hôpital Saint-Luc", "my_app")
	seq, err := subject.RDNs()
	if err != nil {
		t.Fatal(err)
	}
	reversed := slices.Clone(seq)
	slices.Reverse(reversed)
	for _, order := range []struct {
		name string
		seq  pkix.RDNSequence
	}{{"C first", seq}, {"CN first", reversed}} {
		for _, enc := range []Encoding{EncodingX500Principal, EncodingUTF8} {
			raw, err := MarshalDN(order.seq, enc)
			if err != nil {
				t.Fatal(err)
			}
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), RawSubject: raw, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
			if err != nil {
				t.Fatal(err)
			}
			cert, _ := x509.ParseCertificate(der)
			got, err := SubjectOf(cert)
			if err != nil {
				t.Fatalf("%s/%d: %v", order.name, enc, err)
			}
			want := Subject{Identity: Identity{Type: "NIHII-HOSPITAL", Value: "71000436", ApplicationID: "MY_APP"}, Name: "HOPITAL SAINT-LUC"}
			if got != want {
				t.Errorf("%s/%d: %+v, want %+v", order.name, enc, got, want)
			}
			// Rebuilding the DN from what was read gives the same name (renewal keeps the subject).
			again, _ := got.RDNs()
			parsed, _ := ParseRawDN(cert.RawSubject)
			if !EquivalentDN(again, parsed) {
				t.Errorf("%s/%d: rebuilt DN differs", order.name, enc)
			}
		}
	}
	if _, err := IdentityOf(nil); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("nil certificate: %v", err)
	}
}
