// Package keystore reads and writes the PKCS#12 keystores of the eHealth Java connector (FACTS §9): several
// private-key entries with aliases ("authentication" for the eHealth authentication key, the decimal serial
// number for each encryption key) and trusted-certificate entries named by their subject DN.
//
// Encode writes what the JDK 17 writes by default, so that keytool, OpenSSL 3, the connector (BouncyCastle) and
// go-pkcs12 read it: a PFX v3 whose AuthenticatedSafe holds the certificates in an encryptedData and the keys as
// pkcs8ShroudedKeyBags, both encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC, 10000 iterations), an
// HMAC-SHA256 MAC with the PKCS#12 key derivation, and one password for the store and every key. Key bags and
// their leaf certificate carry friendlyName (the alias) and localKeyId attributes; trusted certificates carry
// friendlyName and the JDK's trusted-key-usage attribute (anyExtendedKeyUsage), which keytool needs to list them
// as trustedCertEntry.
//
// Decode is our own reader rather than go-pkcs12's ToPEM: ToPEM refuses the JDK's trusted-key-usage attribute
// (so it cannot read a keystore with trusted entries written by keytool, the connector or Encode), and cannot
// read BER, which BouncyCastle writes. Decode also reads the legacy algorithms of older keystores
// (pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd40BitRC2-CBC, SHA-1 MAC).
package keystore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/internal/atomicfile"
)

// AuthenticationAlias is the alias of the eHealth authentication key entry.
const AuthenticationAlias = "authentication"

// ErrWrongPassword is returned when the password does not open the keystore (the MAC does not verify) or one of
// its keys.
var ErrWrongPassword = errors.New("keystore: wrong password")

// ErrPasswordNotASCII is returned by Encode for a password with characters outside printable ASCII, which the
// JDK cannot use with PBES2. Decode accepts any UTF-8 password.
var ErrPasswordNotASCII = errors.New("keystore: the password must be printable ASCII for the JDK to open the keystore")

// FormatError reports a file that is not a well-formed PKCS#12 keystore.
type FormatError struct {
	Msg string
	Err error
}

// Error implements the error interface.
func (e *FormatError) Error() string {
	s := "keystore: malformed PKCS#12: " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *FormatError) Unwrap() error { return e.Err }

// UnsupportedError reports a well-formed keystore that uses something this package does not implement (for
// example public-key privacy mode or an unknown cipher).
type UnsupportedError struct{ What string }

// Error implements the error interface.
func (e *UnsupportedError) Error() string { return "keystore: unsupported: " + e.What }

// Keystore is the content of a keystore.
type Keystore struct {
	Keys    []KeyEntry
	Trusted []TrustedEntry
}

// KeyEntry is a private key with its certificate chain, leaf first. Key is *rsa.PrivateKey, *ecdsa.PrivateKey or
// ed25519.PrivateKey.
type KeyEntry struct {
	Alias string
	Key   crypto.PrivateKey
	Chain []*x509.Certificate
}

// Certificate returns the leaf certificate, or nil.
func (e *KeyEntry) Certificate() *x509.Certificate {
	if len(e.Chain) == 0 {
		return nil
	}
	return e.Chain[0]
}

// Signer returns the key as a crypto.Signer.
func (e *KeyEntry) Signer() (crypto.Signer, bool) {
	s, ok := e.Key.(crypto.Signer)
	return s, ok
}

// String describes the entry without its key material.
func (e KeyEntry) String() string {
	subject := "no certificate"
	if len(e.Chain) > 0 && e.Chain[0] != nil {
		subject = e.Chain[0].Subject.String()
		if s, err := certreq.FormatRawDN(e.Chain[0].RawSubject); err == nil {
			subject = s
		}
	}
	return fmt.Sprintf("KeyEntry{%q, %s, chain of %d, key redacted}", e.Alias, subject, len(e.Chain))
}

// GoString is String, so that %#v does not print the key either.
func (e KeyEntry) GoString() string { return e.String() }

// TrustedEntry is a trusted certificate.
type TrustedEntry struct {
	Alias       string
	Certificate *x509.Certificate
}

// Key returns the key entry with the given alias. An exact match wins; otherwise the comparison ignores case, as
// the JDK's PKCS12 keystore does.
func (ks *Keystore) Key(alias string) (*KeyEntry, bool) {
	for i := range ks.Keys {
		if ks.Keys[i].Alias == alias {
			return &ks.Keys[i], true
		}
	}
	for i := range ks.Keys {
		if strings.EqualFold(ks.Keys[i].Alias, alias) {
			return &ks.Keys[i], true
		}
	}
	return nil, false
}

// Authentication returns the eHealth authentication key entry (alias "authentication").
func (ks *Keystore) Authentication() (*KeyEntry, bool) { return ks.Key(AuthenticationAlias) }

// IsEncryptionCertificate reports whether etee-crypto-lib treats a certificate as an encryption certificate: its
// KeyUsage has both keyEncipherment and dataEncipherment (FACTS §9).
func IsEncryptionCertificate(c *x509.Certificate) bool {
	const want = x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	return c != nil && c.KeyUsage&want == want
}

// EncryptionKeys returns the entries that etee-crypto-lib uses to decrypt: those whose certificate has
// keyEncipherment and dataEncipherment. Their alias is the decimal serial number of that certificate, which is
// how a CMS recipient is looked up (see EncryptionKey).
//
// The placeholder certificate of an authentication key that is still waiting for its certificate has these key
// usages too, as in the connector; callers looking for ETK keys can skip the "authentication" alias.
func (ks *Keystore) EncryptionKeys() []KeyEntry {
	var out []KeyEntry
	for _, e := range ks.Keys {
		if IsEncryptionCertificate(e.Certificate()) {
			out = append(out, e)
		}
	}
	return out
}

// EncryptionKey returns the encryption key entry for a CMS recipient's serial number: the entry whose alias is
// serial in decimal and whose certificate is an encryption certificate.
func (ks *Keystore) EncryptionKey(serial *big.Int) (*KeyEntry, bool) {
	if serial == nil {
		return nil, false
	}
	e, ok := ks.Key(serial.String())
	if !ok || !IsEncryptionCertificate(e.Certificate()) {
		return nil, false
	}
	return e, true
}

// SetKey adds a key entry, or replaces the one with the same alias (ignoring case). The key must match the
// leaf certificate.
func (ks *Keystore) SetKey(e KeyEntry) error {
	if err := checkKeyEntry(&e); err != nil {
		return err
	}
	for i := range ks.Keys {
		if strings.EqualFold(ks.Keys[i].Alias, e.Alias) {
			ks.Keys[i] = e
			return nil
		}
	}
	ks.Keys = append(ks.Keys, e)
	return nil
}

// SetAuthentication stores the authentication key under "authentication" with chain (leaf first; the
// placeholder certificate before delivery, the GetCertificate chain after), replacing any previous entry. As the
// connector does once the certificate is delivered, call AddTrustedChain(chain) as well.
func (ks *Keystore) SetAuthentication(key crypto.PrivateKey, chain []*x509.Certificate) error {
	return ks.SetKey(KeyEntry{Alias: AuthenticationAlias, Key: key, Chain: chain})
}

// AddEncryptionKey stores an ETK key with its self-built encryption certificate (FACTS §8) under the alias the
// connector uses: the certificate's serial number in decimal.
func (ks *Keystore) AddEncryptionKey(key crypto.PrivateKey, cert *x509.Certificate) error {
	if cert == nil || cert.SerialNumber == nil {
		return errors.New("keystore: encryption key without certificate")
	}
	return ks.SetKey(KeyEntry{Alias: cert.SerialNumber.String(), Key: key, Chain: []*x509.Certificate{cert}})
}

// SetTrusted adds a trusted certificate entry, or replaces the one with the same alias (ignoring case).
func (ks *Keystore) SetTrusted(alias string, cert *x509.Certificate) error {
	if alias == "" || cert == nil {
		return errors.New("keystore: trusted entry needs an alias and a certificate")
	}
	for i := range ks.Trusted {
		if strings.EqualFold(ks.Trusted[i].Alias, alias) {
			ks.Trusted[i] = TrustedEntry{Alias: alias, Certificate: cert}
			return nil
		}
	}
	ks.Trusted = append(ks.Trusted, TrustedEntry{Alias: alias, Certificate: cert})
	return nil
}

// TrustedAlias is the alias the connector gives a trusted certificate: its subject as
// X500Principal.getName("RFC2253") prints it, for example
// `CN=SSIN\=12345678901,OU=eHealth-platform Belgium,OU=JOHN DOE,OU=SSIN\=12345678901,O=Federal Government,C=BE`.
func TrustedAlias(cert *x509.Certificate) (string, error) {
	return certreq.FormatRawDN(cert.RawSubject)
}

// AddTrustedChain adds every certificate of chain as a trusted entry named by TrustedAlias, as the connector does
// when it stores the delivered authentication chain (KeyStoreManager.addCertificates).
func (ks *Keystore) AddTrustedChain(chain []*x509.Certificate) error {
	for _, c := range chain {
		if c == nil {
			return errors.New("keystore: nil certificate in chain")
		}
		alias, err := TrustedAlias(c)
		if err != nil {
			return err
		}
		if err := ks.SetTrusted(alias, c); err != nil {
			return err
		}
	}
	return nil
}

func checkKeyEntry(e *KeyEntry) error {
	if e.Alias == "" {
		return errors.New("keystore: key entry without alias")
	}
	if e.Key == nil {
		return fmt.Errorf("keystore: key entry %q has no key", e.Alias)
	}
	if len(e.Chain) == 0 || e.Chain[0] == nil {
		return fmt.Errorf("keystore: key entry %q has no certificate", e.Alias)
	}
	for _, c := range e.Chain {
		if c == nil {
			return fmt.Errorf("keystore: key entry %q has a nil certificate in its chain", e.Alias)
		}
	}
	s, ok := e.Key.(crypto.Signer)
	if !ok {
		return fmt.Errorf("keystore: key entry %q: unsupported key type %T", e.Alias, e.Key)
	}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return fmt.Errorf("keystore: key entry %q: %w", e.Alias, err)
	}
	if !bytes.Equal(pub, e.Chain[0].RawSubjectPublicKeyInfo) {
		return fmt.Errorf("keystore: key entry %q: the key does not match its certificate", e.Alias)
	}
	return nil
}

// WriteFile encodes ks and writes it to path atomically with mode 0600 (a crash leaves the old file or the new
// one, never a truncated keystore).
func WriteFile(path string, rand io.Reader, ks *Keystore, password []byte) error {
	data, err := Encode(rand, ks, password)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o600)
}

// ReadFile reads and decodes the keystore at path.
func ReadFile(path string, password []byte) (*Keystore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(data, password)
}

// SuggestedFileName is the connector's name for a new keystore (DistinguishedName.asNormalisedBaseFileName):
// "<TYPE>=<id>[,<APPID>] yyyyMMdd-HHmmss.p12", with the application id normalised, at time t (in t's location).
func SuggestedFileName(id certreq.Identity, t time.Time) string {
	id.ApplicationID = certreq.NormalizeName(id.ApplicationID)
	return id.String() + " " + t.Format("20060102-150405") + ".p12"
}

// PlaceholderCertificate builds the certificate the connector stores with a new authentication key until
// eHealth delivers the real one (FACTS §9): self-signed, subject and issuer C=Dummy, serial 0, valid from
// now-1 day for one minute, KeyUsage critical keyEncipherment|dataEncipherment, signed SHA256withRSA (ECDSA with
// SHA-256 for an EC key).
func PlaceholderCertificate(rand io.Reader, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	name := pkix.Name{Country: []string{"Dummy"}}
	start := now.Add(-24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0),
		Subject:      name,
		Issuer:       name,
		NotBefore:    start,
		NotAfter:     start.Add(time.Minute),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("keystore: placeholder certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
