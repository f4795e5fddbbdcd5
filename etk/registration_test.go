package etk

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"slices"
	"testing"
	"time"
)

func TestChallengeRoundTrip(t *testing.T) {
	key := rsaKey(t, 5)
	for i := 0; i < 5; i++ {
		ch, serial, err := NewChallenge(rand.Reader, &key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch) != 256+32 {
			t.Fatalf("challenge of %d bytes, want 288", len(ch))
		}
		if serial.Sign() < 0 || serial.BitLen() > 128 {
			t.Fatalf("serial %X out of range", serial)
		}
		got, err := SolveChallenge(key, ch)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cmp(serial) != 0 {
			t.Fatalf("solved %X, want %X", got, serial)
		}
	}
}

// challengeFor builds a challenge by hand from a fixed serial, as FACTS §8 describes it.
func challengeFor(t *testing.T, pub *rsa.PublicKey, serial []byte) []byte {
	t.Helper()
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, serial)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(serial)
	return append(ct, sum[:]...)
}

func TestSolveChallengeUnsigned(t *testing.T) {
	key := rsaKey(t, 5)
	for _, raw := range [][]byte{
		bytes.Repeat([]byte{0xff}, 16),                                // high bit set: still positive
		append([]byte{0x00, 0x00}, bytes.Repeat([]byte{0x42}, 14)...), // leading zeros are part of the hash
	} {
		got, err := SolveChallenge(key, challengeFor(t, &key.PublicKey, raw))
		if err != nil {
			t.Fatal(err)
		}
		if want := new(big.Int).SetBytes(raw); got.Cmp(want) != 0 || got.Sign() <= 0 {
			t.Errorf("serial %X, want %X", got, want)
		}
	}
}

func TestSolveChallengeSeveralBlocks(t *testing.T) {
	key := rsaKey(t, 5)
	raw := bytes.Repeat([]byte{0x17}, 16)
	ch := challengeFor(t, &key.PublicKey, raw)
	second, err := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, []byte("more"))
	if err != nil {
		t.Fatal(err)
	}
	multi := slices.Concat(ch[:256], second, ch[256:])
	got, err := SolveChallenge(key, multi)
	if err != nil || got.Cmp(new(big.Int).SetBytes(raw)) != 0 {
		t.Fatalf("SolveChallenge = %v, %v", got, err)
	}
}

func TestSolveChallengeErrors(t *testing.T) {
	key := rsaKey(t, 5)
	good := challengeFor(t, &key.PublicKey, bytes.Repeat([]byte{1}, 16))
	badHash := bytes.Clone(good)
	badHash[len(badHash)-1] ^= 1
	tests := map[string]struct {
		key crypto.Decrypter
		ch  []byte
	}{
		"empty":                     {key, nil},
		"hash only":                 {key, good[256:]},
		"hash mismatch":             {key, badHash},
		"other key":                 {rsaKey(t, 6), good},
		"not a multiple of k":       {key, append([]byte{0}, good...)},
		"plaintext shorter than 16": {key, challengeFor(t, &key.PublicKey, []byte("short"))},
		"non-RSA key":               {nil, good},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := tc.key
			if k == nil && name == "non-RSA key" {
				k = ecDecrypter{ecKey(t, elliptic.P256())}
			}
			_, err := SolveChallenge(k, tc.ch)
			var ce *ChallengeError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ChallengeError", err)
			}
		})
	}
}

// ecDecrypter pretends to be a Decrypter with an EC key.
type ecDecrypter struct{ crypto.Signer }

func (ecDecrypter) Decrypt(_ io.Reader, _ []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("no")
}

func TestNewEncryptionCertificate(t *testing.T) {
	p := getPKI(t)
	ecAuthKey := ecKey(t, elliptic.P384())
	tests := []struct {
		name    string
		key     crypto.Signer
		ca      *x509.Certificate
		caKey   crypto.Signer
		sha1    bool
		wantAlg x509.SignatureAlgorithm
	}{
		{"RSA", rsaKey(t, 4), p.ca, p.caKey, false, x509.SHA256WithRSA},
		{"RSA SHA-1 authentication certificate", rsaKey(t, 4), p.ca, p.caKey, true, x509.SHA1WithRSA},
		{"ECDSA P-384 under an ECDSA CA", ecAuthKey, p.ecCA, p.ecCAKey, false, x509.ECDSAWithSHA384},
		{"ECDSA under an RSA CA", ecAuthKey, p.ca, p.caKey, false, x509.ECDSAWithSHA256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := authTemplate(t)
			// Validity with odd seconds, and a DN in the new order with UTF8Strings: both must be copied exactly.
			tmpl.NotBefore = time.Date(2024, 3, 5, 7, 9, 11, 0, time.UTC)
			tmpl.RawSubject = rawDN(t, true, reversed(holderDNPairs("SSIN", "85073003328", "DOE JOHN"))...)
			if tc.sha1 {
				tmpl.SignatureAlgorithm = x509.SHA1WithRSA
			}
			auth := issue(t, tmpl, tc.ca, tc.key.Public(), tc.caKey)
			encKey := rsaKey(t, 5)
			serial, _ := new(big.Int).SetString("F1E2D3C4B5A697887766554433221100", 16)
			der, err := NewEncryptionCertificate(rand.Reader, tc.key, auth, &encKey.PublicKey, serial)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if c.Version != 3 || c.SerialNumber.Cmp(serial) != 0 {
				t.Errorf("version %d serial %X", c.Version, c.SerialNumber)
			}
			if !bytes.Equal(c.RawSubject, auth.RawSubject) || !bytes.Equal(c.RawIssuer, auth.RawSubject) {
				t.Error("subject/issuer are not the authentication subject's bytes")
			}
			if !c.NotBefore.Equal(auth.NotBefore) || !c.NotAfter.Equal(auth.NotAfter) {
				t.Errorf("validity %v..%v, want %v..%v", c.NotBefore, c.NotAfter, auth.NotBefore, auth.NotAfter)
			}
			if len(c.Extensions) != 1 || !c.Extensions[0].Id.Equal(oidKeyUsage) || !c.Extensions[0].Critical {
				t.Errorf("extensions %v, want only a critical KeyUsage", c.Extensions)
			}
			if c.KeyUsage != x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment {
				t.Errorf("key usage %v", c.KeyUsage)
			}
			if c.BasicConstraintsValid || len(c.SubjectKeyId) > 0 || len(c.AuthorityKeyId) > 0 {
				t.Error("basic constraints, SKI or AKI present")
			}
			if c.SignatureAlgorithm != tc.wantAlg {
				t.Errorf("signature algorithm %v, want %v", c.SignatureAlgorithm, tc.wantAlg)
			}
			if err := auth.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
				t.Errorf("not signed by the authentication key: %v", err)
			}
			if !encKey.PublicKey.Equal(c.PublicKey) {
				t.Error("wrong public key")
			}
			err = CheckEncryptionCertificate(der, auth, serial)
			if tc.sha1 {
				var ve *ValidationError
				if !errors.As(err, &ve) || !slices.Equal(ve.Codes(), []string{CodeEncryptionCertSignatureNotValid}) {
					t.Errorf("CheckEncryptionCertificate of a SHA-1 certificate: %v", err)
				}
			} else if err != nil {
				t.Errorf("CheckEncryptionCertificate: %v", err)
			}
		})
	}
}

func TestNewEncryptionCertificateErrors(t *testing.T) {
	p := getPKI(t)
	key := rsaKey(t, 4)
	auth := issue(t, authTemplate(t), p.ca, &key.PublicKey, p.caKey)
	enc := &rsaKey(t, 5).PublicKey
	if _, err := NewEncryptionCertificate(nil, key, auth, enc, big.NewInt(0)); err == nil {
		t.Error("zero serial accepted")
	}
	if _, err := NewEncryptionCertificate(nil, key, auth, nil, big.NewInt(1)); err == nil {
		t.Error("nil public key accepted")
	}
	if _, err := NewEncryptionCertificate(nil, rsaKey(t, 6), auth, enc, big.NewInt(1)); err == nil {
		t.Error("key not matching the authentication certificate accepted")
	}
}

func TestCheckEncryptionCertificate(t *testing.T) {
	p := getPKI(t)
	key := rsaKey(t, 4)
	auth := issue(t, authTemplate(t), p.ca, &key.PublicKey, p.caKey)
	serial := big.NewInt(0x1234)
	encPub := &rsaKey(t, 5).PublicKey

	// mk creates a certificate like NewEncryptionCertificate, changed by mod, signed by signer.
	mk := func(mod func(*x509.Certificate), pub crypto.PublicKey, signer crypto.Signer) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			RawSubject:   auth.RawSubject,
			NotBefore:    auth.NotBefore,
			NotAfter:     auth.NotAfter,
			KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		}
		if mod != nil {
			mod(tmpl)
		}
		parent := auth
		if signer != key {
			parent = issue(t, authTemplate(t), p.ca, signer.Public(), p.caKey)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	tests := []struct {
		name string
		der  []byte
		want []string
	}{
		{"valid", mk(nil, encPub, key), nil},
		{"unreadable", []byte("garbage"), []string{CodeCertsInvalid}},
		{"other serial", mk(func(c *x509.Certificate) { c.SerialNumber = big.NewInt(1) }, encPub, key), []string{CodeEncryptionCertSerialMismatch}},
		{"other subject", mk(func(c *x509.Certificate) { c.RawSubject = rawDN(t, true, [2]string{"CN", "x"}) }, encPub, key), []string{CodeCertsDoNotMatch}},
		{"other validity", mk(func(c *x509.Certificate) { c.NotAfter = c.NotAfter.Add(time.Second) }, encPub, key), []string{CodeEncryptionCertValidityMismatch}},
		{"key usage", mk(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature }, encPub, key), []string{CodeEncryptionCertInvalidKeyUsage}},
		{"CA", mk(func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }, encPub, key), []string{CodeEncryptionCertInvalidKeyUsage}},
		{"EC key", mk(nil, ecKey(t, elliptic.P256()).Public(), key), []string{CodeEncryptionCertInvalidKey}},
		{"small RSA key", mk(nil, &rsa1024(t).PublicKey, key), []string{CodeEncryptionCertInvalidKey}},
		{"signed by another key", mk(nil, encPub, rsaKey(t, 6)), []string{CodeEncryptionCertSignatureNotValid}},
		{"SHA-1", mk(func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA }, encPub, key), []string{CodeEncryptionCertSignatureNotValid}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEncryptionCertificate(tc.der, auth, serial)
			var got []string
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err %T %v, want *ValidationError", err, err)
				}
				got = ve.Codes()
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("codes %v, want %v (%v)", got, want, err)
			}
		})
	}
}
