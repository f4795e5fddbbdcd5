package ehealthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/ehealthtest/internal/pki"
	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
)

// KeyType is the kind of key pair of a test citizen's software eID (both its Authentication and its Signature
// key).
type KeyType int

const (
	// RSA2048 is an RSA 2048-bit key pair, as on older Belgian eID cards; requests are signed with
	// rsa-sha256. It is the default.
	RSA2048 KeyType = iota
	// ECDSAP384 is an ECDSA key pair on NIST P-384, as on current Belgian eID cards (FACTS §6a, §14); requests
	// are signed with ecdsa-sha384, the SignatureValue being XML-DSig's raw r||s.
	ECDSAP384
)

// String returns "RSA-2048" or "ECDSA P-384".
func (k KeyType) String() string {
	switch k {
	case RSA2048:
		return "RSA-2048"
	case ECDSAP384:
		return "ECDSA P-384"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// valid reports whether k is one of the defined key types.
func (k KeyType) valid() bool { return k == RSA2048 || k == ECDSAP384 }

// newKey generates a key pair of this type.
func (k KeyType) newKey(r io.Reader) (crypto.Signer, error) {
	switch k {
	case RSA2048:
		return pki.NewKey(r)
	case ECDSAP384:
		return pki.NewECDSAKey(r)
	}
	return nil, fmt.Errorf("ehealthtest: unknown eID key type %v", k)
}

// keyTypeOf tells the KeyType of an eID public key: ECDSAP384 for an ECDSA key, RSA2048 otherwise.
func keyTypeOf(pub crypto.PublicKey) KeyType {
	if _, ok := pub.(*ecdsa.PublicKey); ok {
		return ECDSAP384
	}
	return RSA2048
}

// Organization is an organisation whose eHealth certificates a citizen may manage (it appears in their
// GetActorQualities answer, and certificates for it are validated automatically).
type Organization struct {
	// Type is the identifier type as sent on the wire: "CBE", "NIHII-HOSPITAL", "NIHII-PHARMACY", ...
	Type string `json:"type"`
	// ID is the identifier, digits only; it is normalised (left-padded with zeros) to the type's length.
	ID string `json:"id"`
	// Name is the organisation's name, as it appears in contracts and certificate DNs.
	Name string `json:"name"`
}

// Key is a private key with its certificate chain (leaf first, root excluded). It implements crypto.Signer and
// has the Chain method, so it is a sign.Key.
type Key struct {
	crypto.Signer
	// Certificates is the chain, leaf first, root excluded.
	Certificates []*x509.Certificate

	fullChain []*x509.Certificate // Certificates plus the root
}

// Chain returns the certificate chain, leaf first, root excluded.
func (k *Key) Chain() []*x509.Certificate { return k.Certificates }

// Certificate returns the leaf certificate.
func (k *Key) Certificate() *x509.Certificate {
	if k == nil || len(k.Certificates) == 0 {
		return nil
	}
	return k.Certificates[0]
}

// String never prints key material.
func (k *Key) String() string {
	if c := k.Certificate(); c != nil {
		return "ehealthtest.Key{" + c.Subject.CommonName + "}"
	}
	return "ehealthtest.Key{}"
}

// EID is a test citizen's software Belgian eID: an "Authentication" key and a non-repudiation "Signature"
// key, each with a certificate issued by the platform's test eID CA. Like real eID certificates, their subject
// is C=BE, CN=<first> <last> (Authentication|Signature), SN=<last>, GN=<first>, SERIALNUMBER=<SSIN>.
type EID struct {
	SSIN      string
	FirstName string
	LastName  string
	// Organizations are the organisations the citizen manages (their GetActorQualities answer).
	Organizations []Organization
	// Authentication signs GetActorQualities and GetCertificateInfoForCitizen; Signature signs
	// GenerateCertificate and Revoke.
	Authentication, Signature *Key
}

// KeyType returns the kind of the eID's keys (that of its Authentication key).
func (e *EID) KeyType() KeyType {
	if e == nil || e.Authentication == nil || e.Authentication.Signer == nil {
		return RSA2048
	}
	return keyTypeOf(e.Authentication.Public())
}

// String never prints key material.
func (e *EID) String() string {
	return fmt.Sprintf("ehealthtest.EID{%s %s, SSIN %s}", e.FirstName, e.LastName, e.SSIN)
}

// Object identifiers of the eID subject attributes.
var (
	oidCountry      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// eID certificate roles.
const (
	roleAuthentication = "Authentication"
	roleSignature      = "Signature"
)

// issueEIDCert issues one of a citizen's two eID certificates.
func issueEIDCert(r io.Reader, ca *pki.CA, pub crypto.PublicKey, ssin, first, last, role string, now time.Time) (*x509.Certificate, error) {
	rdns := pkix.RDNSequence{
		{{Type: oidCountry, Value: "BE"}},
		{{Type: oidCommonName, Value: strings.TrimSpace(first+" "+last) + " (" + role + ")"}},
		{{Type: oidSurname, Value: last}},
		{{Type: oidGivenName, Value: first}},
		{{Type: oidSerialNumber, Value: ssin}},
	}
	raw, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		RawSubject:            raw,
		NotBefore:             now.Add(-365 * 24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
	}
	if role == roleAuthentication {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.KeyUsage = x509.KeyUsageContentCommitment
	}
	return ca.Issue(r, tmpl, pub)
}

// eidRole tells an eID certificate's role from its key usage, as the platform does with Belgian eID
// certificates: non-repudiation only is the Signature certificate, digital signature the Authentication one.
// The CN suffix must agree.
func eidRole(c *x509.Certificate) (string, bool) {
	cn := c.Subject.CommonName
	switch {
	case c.KeyUsage&x509.KeyUsageContentCommitment != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		return roleSignature, strings.HasSuffix(cn, "(Signature)")
	case c.KeyUsage&x509.KeyUsageDigitalSignature != 0 && c.KeyUsage&x509.KeyUsageContentCommitment == 0:
		return roleAuthentication, strings.HasSuffix(cn, "(Authentication)")
	}
	return "", false
}

// ssinOf returns the SERIALNUMBER attribute of an eID certificate's subject.
func ssinOf(c *x509.Certificate) string { return c.Subject.SerialNumber }

// validSSIN reports whether s is 11 digits with a correct modulo-97 check (born before or after 2000).
func validSSIN(s string) bool {
	if len(s) != 11 {
		return false
	}
	var n int64
	for _, c := range s[:9] {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int64(c-'0')
	}
	var check int64
	for _, c := range s[9:] {
		if c < '0' || c > '9' {
			return false
		}
		check = check*10 + int64(c-'0')
	}
	return 97-n%97 == check || 97-(2000000000+n)%97 == check
}

// normalizeOrganization checks an organisation's type and pads its identifier.
func normalizeOrganization(o Organization) (Organization, error) {
	t, err := ehealth.IdentifierTypeByName(o.Type)
	if err != nil {
		return o, err
	}
	id, err := ehealth.NormalizeIdentifier(t.Name, o.ID)
	if err != nil {
		return o, err
	}
	if strings.TrimSpace(o.Name) == "" {
		return o, errors.New("ehealthtest: organisation without a name")
	}
	return Organization{Type: t.Name, ID: id, Name: strings.TrimSpace(o.Name)}, nil
}

// Keyring returns a sign.Keyring holding the citizen's two eID keys (for the CertRA operations signed with the
// eID). Add an eHealth authentication key with Keyring.EHealthAuthentication for the EtkRA operations.
func (e *EID) Keyring() *sign.Keyring {
	return &sign.Keyring{EIDAuthentication: e.Authentication, EIDSignature: e.Signature}
}

// PKCS#12 aliases of the software eID, as a BeID keystore names its keys.
const (
	AliasAuthentication = "Authentication"
	AliasSignature      = "Signature"
)

// ToPKCS12 encodes the citizen's two eID keys in a PKCS#12 keystore (aliases "Authentication" and "Signature",
// each with its chain up to the root) protected by password. The demo and the simulator use it as a software
// eID card.
func (e *EID) ToPKCS12(password string) ([]byte, error) {
	ks := &keystore.Keystore{}
	for _, k := range []struct {
		alias string
		key   *Key
	}{{AliasAuthentication, e.Authentication}, {AliasSignature, e.Signature}} {
		if k.key == nil || k.key.Signer == nil {
			return nil, fmt.Errorf("ehealthtest: no %s key", k.alias)
		}
		ks.Keys = append(ks.Keys, keystore.KeyEntry{Alias: k.alias, Key: k.key.Signer, Chain: k.key.fullChain})
	}
	return keystore.Encode(rand.Reader, ks, []byte(password))
}
