package etk

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

// spec describes one ETK fixture. newSpec fills the defaults (a valid RSA ETK for CBE=0123456789); a case
// changes what it needs before build runs.
type spec struct {
	authKey  crypto.Signer
	authTmpl *x509.Certificate
	authCA   *x509.Certificate // issuer of the authentication certificate
	authCAK  crypto.Signer
	auth     *x509.Certificate // set by build

	encPub  crypto.PublicKey
	makeEnc func(t *testing.T, s *spec) []byte // nil: NewEncryptionCertificate
	encDER  []byte                             // set by build

	chain      func(s *spec) []*x509.Certificate // ETK certificates after the signer; nil: auth, CA, root
	signerKey  crypto.Signer
	signerCert *x509.Certificate
	digest     []int // CMS digest algorithm OID; nil: SHA-256 through Build
	postBuild  func(t *testing.T, s *spec, etk []byte) []byte

	opts ValidateOptions
}

func newSpec(t *testing.T) *spec {
	p := getPKI(t)
	return &spec{
		authKey:    rsaKey(t, 4),
		authTmpl:   authTemplate(t),
		authCA:     p.ca,
		authCAK:    p.caKey,
		encPub:     &rsaKey(t, 5).PublicKey,
		signerKey:  p.raKey,
		signerCert: p.ra,
		opts: ValidateOptions{
			Time:        fixtureTime,
			Roots:       poolOf(p.root),
			SignerRoots: poolOf(p.raRoot),
		},
	}
}

// build issues the authentication and encryption certificates and the ETK.
func (s *spec) build(t *testing.T) []byte {
	t.Helper()
	p := getPKI(t)
	s.auth = issue(t, s.authTmpl, s.authCA, s.authKey.Public(), s.authCAK)
	if s.makeEnc != nil {
		s.encDER = s.makeEnc(t, s)
	} else {
		der, err := NewEncryptionCertificate(rand.Reader, s.authKey, s.auth, s.encPub, big.NewInt(424242))
		if err != nil {
			t.Fatalf("NewEncryptionCertificate: %v", err)
		}
		s.encDER = der
	}
	chain := []*x509.Certificate{s.auth, s.authCA, p.root}
	if s.authCA == p.ecCA {
		chain = []*x509.Certificate{s.auth, p.ecCA, p.ecRoot}
	}
	if s.chain != nil {
		chain = s.chain(s)
	}
	var etk []byte
	var err error
	if s.digest == nil {
		etk, err = Build(s.encDER, chain, s.signerKey, s.signerCert)
	} else {
		etk, err = buildWithDigest(s.encDER, chain, s.signerKey, s.signerCert, s.digest)
	}
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if s.postBuild != nil {
		etk = s.postBuild(t, s, etk)
	}
	return etk
}

// buildWithDigest is Build with another CMS digest algorithm (SHA-1 for the legacy cases).
func buildWithDigest(enc []byte, chain []*x509.Certificate, key crypto.Signer, cert *x509.Certificate, digest []int) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(enc)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(digest)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, err
	}
	for _, c := range chain {
		sd.AddCertificate(c)
	}
	return sd.Finish()
}

// encFrom returns an encryption certificate made by NewEncryptionCertificate from a stand-in authentication
// certificate: same key as the spec's unless key is given, the template's subject and validity.
func encFrom(t *testing.T, s *spec, tmpl *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	if key == nil {
		key = s.authKey
	}
	p := getPKI(t)
	standIn := issue(t, tmpl, p.ca, key.Public(), p.caKey)
	der, err := NewEncryptionCertificate(rand.Reader, key, standIn, s.encPub, big.NewInt(424242))
	if err != nil {
		t.Fatalf("NewEncryptionCertificate: %v", err)
	}
	return der
}

// encRaw creates an encryption certificate from an arbitrary template, signed by the spec's auth key.
func encRaw(t *testing.T, s *spec, mod func(*x509.Certificate)) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(424242),
		RawSubject:   s.auth.RawSubject,
		NotBefore:    s.auth.NotBefore,
		NotAfter:     s.auth.NotAfter,
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	mod(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.auth, s.encPub, s.authKey)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	return der
}

var (
	weakKeyOnce sync.Once
	weakKey     *rsa.PrivateKey
)

func rsa1024(t *testing.T) *rsa.PrivateKey {
	weakKeyOnce.Do(func() { weakKey, _ = rsa.GenerateKey(rand.Reader, 1024) })
	if weakKey == nil {
		t.Fatal("cannot generate a 1024-bit key")
	}
	return weakKey
}

// fakeRevocation answers every Check with status and err, recording the calls.
type fakeRevocation struct {
	mu     sync.Mutex
	status RevocationStatus
	err    error
	calls  [][2]string // subject CN of cert and issuer
}

func (f *fakeRevocation) Check(_ context.Context, cert, issuer *x509.Certificate) (RevocationStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, [2]string{cert.Subject.CommonName, issuer.Subject.CommonName})
	return f.status, f.err
}

func TestValidateFixtures(t *testing.T) {
	p := getPKI(t)
	cases := []struct {
		name string
		mod  func(t *testing.T, s *spec)
		want []string // exact set of codes; empty means valid
	}{
		{name: "valid RSA holder"},
		{name: "valid ECDSA P-384 holder", mod: func(t *testing.T, s *spec) {
			s.authKey, s.authCA, s.authCAK = ecKey(t, elliptic.P384()), p.ecCA, p.ecCAKey
			s.encPub = ecKey(t, elliptic.P384()).Public()
			s.opts.Roots = poolOf(p.ecRoot)
		}},
		{name: "valid ECDSA holder with an RSA CA", mod: func(t *testing.T, s *spec) {
			s.authKey = ecKey(t, elliptic.P384())
		}},
		{name: "valid when the subjects differ only in RDN order and string types", mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				tmpl := authTemplate(t)
				tmpl.RawSubject = rawDN(t, false, reversed(holderDNPairs("CBE", "0123456789", "testholder"))...)
				return encFrom(t, s, tmpl, nil)
			}
		}},
		{name: "valid with the expected holder (leading zeros ignored)", mod: func(t *testing.T, s *spec) {
			s.opts.Expect = &Identity{Type: "CBE", Value: "123456789"}
		}},
		{name: "valid with application id", mod: func(t *testing.T, s *spec) {
			s.authTmpl.RawSubject = rawDN(t, true, [][2]string{{"C", "BE"}, {"O", "Federal Government"}, {"OU", "MYAPP"},
				{"OU", "CBE=0123456789"}, {"OU", "TESTHOLDER"}, {"OU", "eHealth-platform Belgium"}, {"CN", "CBE=0123456789, MYAPP"}}...)
			s.opts.Expect = &Identity{Type: "CBE", Value: "0123456789", ApplicationID: "myapp"}
		}},
		{name: "valid with revocation good", mod: func(t *testing.T, s *spec) {
			s.opts.Revocation = &fakeRevocation{status: RevocationGood}
		}},
		{name: "valid with an expired signer when IgnoreSignerExpiry", mod: func(t *testing.T, s *spec) {
			s.signerCert = issue(t, raTemplate(caFrom, authFrom), p.raRoot, &p.raKey.PublicKey, p.raRootKey)
			s.opts.IgnoreSignerExpiry = true
		}},
		{name: "valid SHA-1 CMS signature below a legacy signer anchor", mod: func(t *testing.T, s *spec) {
			s.digest = pkcs7.OIDDigestAlgorithmSHA1
			s.opts.SignerRoots, s.opts.LegacySignerRoots = nil, []*x509.Certificate{p.raRoot}
		}},
		{name: "valid SHA-1 encryption certificate below a legacy anchor", mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				return encRaw(t, s, func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA })
			}
			s.opts.Roots, s.opts.LegacyRoots = nil, []*x509.Certificate{p.root}
		}},

		// The ETK-RA signature and signer.
		{name: "CMS signature altered", want: []string{CodeSignatureNotValid}, mod: func(t *testing.T, s *spec) {
			s.postBuild = func(t *testing.T, s *spec, etk []byte) []byte {
				e, err := Parse(etk)
				if err != nil {
					t.Fatal(err)
				}
				i := bytes.Index(etk, e.signer.signature)
				if i < 0 {
					t.Fatal("signature not found in the ETK")
				}
				out := bytes.Clone(etk)
				out[i+10] ^= 0x01
				return out
			}
		}},
		{name: "content altered after signing", want: []string{CodeSignatureNotValid, CodeEncryptionCertSignatureNotValid}, mod: func(t *testing.T, s *spec) {
			s.postBuild = func(t *testing.T, s *spec, etk []byte) []byte {
				i := bytes.Index(etk, s.encDER)
				if i < 0 {
					t.Fatal("content not found in the ETK")
				}
				out := bytes.Clone(etk)
				out[i+len(s.encDER)-1] ^= 0x01 // last byte of the encryption certificate's signature
				return out
			}
		}},
		{name: "signer not under the signer anchors", want: []string{CodeSignerUntrusted}, mod: func(t *testing.T, s *spec) {
			s.opts.SignerRoots = poolOf(p.root)
		}},
		{name: "no signer anchors configured", want: []string{CodeSignerUntrusted}, mod: func(t *testing.T, s *spec) {
			s.opts.SignerRoots = nil
		}},
		{name: "signer expired", want: []string{CodeSignerExpired}, mod: func(t *testing.T, s *spec) {
			s.signerCert = issue(t, raTemplate(caFrom, authFrom), p.raRoot, &p.raKey.PublicKey, p.raRootKey)
		}},
		{name: "signer not yet valid", want: []string{CodeSignerNotYetValid}, mod: func(t *testing.T, s *spec) {
			s.signerCert = issue(t, raTemplate(fixtureTime.AddDate(0, 1, 0), caUntil), p.raRoot, &p.raKey.PublicKey, p.raRootKey)
		}},
		{name: "SHA-1 CMS signature below a modern signer anchor", want: []string{CodeSignatureNotValid}, mod: func(t *testing.T, s *spec) {
			s.digest = pkcs7.OIDDigestAlgorithmSHA1
		}},

		// The certificates.
		{name: "no authentication certificate", want: []string{CodeCertsInvalid}, mod: func(t *testing.T, s *spec) {
			s.chain = func(s *spec) []*x509.Certificate { return []*x509.Certificate{s.authCA, p.root} }
		}},
		{name: "encryption certificate signed by another key", want: []string{CodeEncryptionCertSignatureNotValid}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte { return encFrom(t, s, authTemplate(t), rsaKey(t, 6)) }
		}},
		{name: "SHA-1 encryption certificate below a modern anchor", want: []string{CodeEncryptionCertSignatureNotValid}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				return encRaw(t, s, func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA })
			}
		}},
		{name: "subjects differ", want: []string{CodeCertsDoNotMatch}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				tmpl := authTemplate(t)
				tmpl.RawSubject = rawDN(t, true, holderDNPairs("CBE", "0123456789", "OTHER NAME")...)
				return encFrom(t, s, tmpl, nil)
			}
		}},
		{name: "encryption certificate expired", want: []string{CodeEncryptionCertExpired}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				tmpl := authTemplate(t)
				tmpl.NotAfter = fixtureTime.AddDate(0, -1, 0)
				return encFrom(t, s, tmpl, nil)
			}
		}},
		{name: "encryption certificate not yet valid", want: []string{CodeEncryptionCertNotYetValid}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				tmpl := authTemplate(t)
				tmpl.NotBefore = fixtureTime.AddDate(0, 1, 0)
				return encFrom(t, s, tmpl, nil)
			}
		}},
		{name: "authentication certificate expired", want: []string{CodeAuthCertExpired}, mod: func(t *testing.T, s *spec) {
			s.authTmpl.NotAfter = fixtureTime.AddDate(0, -1, 0)
			s.makeEnc = func(t *testing.T, s *spec) []byte { return encFrom(t, s, authTemplate(t), nil) }
		}},
		{name: "both certificates expired", want: []string{CodeAuthCertExpired, CodeEncryptionCertExpired}, mod: func(t *testing.T, s *spec) {
			s.opts.Time = authUntil.Add(time.Hour)
		}},
		{name: "authentication certificate not yet valid", want: []string{CodeAuthCertNotYetValid}, mod: func(t *testing.T, s *spec) {
			s.authTmpl.NotBefore = fixtureTime.AddDate(0, 1, 0)
			s.makeEnc = func(t *testing.T, s *spec) []byte { return encFrom(t, s, authTemplate(t), nil) }
		}},
		{name: "encryption key usage lacks dataEncipherment", want: []string{CodeEncryptionCertInvalidKeyUsage}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				return encRaw(t, s, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })
			}
		}},
		{name: "encryption certificate is a CA", want: []string{CodeEncryptionCertInvalidKeyUsage}, mod: func(t *testing.T, s *spec) {
			s.makeEnc = func(t *testing.T, s *spec) []byte {
				return encRaw(t, s, func(c *x509.Certificate) {
					c.IsCA, c.BasicConstraintsValid = true, true
					c.KeyUsage |= x509.KeyUsageCertSign
				})
			}
		}},
		{name: "authentication key usage lacks digitalSignature", want: []string{CodeAuthCertInvalidKeyUsage}, mod: func(t *testing.T, s *spec) {
			s.authTmpl.KeyUsage = x509.KeyUsageKeyEncipherment
		}},
		{name: "authentication key too small", want: []string{CodeAuthCertInvalidKey}, mod: func(t *testing.T, s *spec) {
			s.authKey = rsa1024(t)
		}},
		{name: "encryption key too small", want: []string{CodeEncryptionCertInvalidKey}, mod: func(t *testing.T, s *spec) {
			s.encPub = &rsa1024(t).PublicKey
		}},
		{name: "encryption key on an unsupported curve", want: []string{CodeEncryptionCertInvalidKey}, mod: func(t *testing.T, s *spec) {
			s.encPub = ecKey(t, elliptic.P224()).Public()
		}},
		{name: "authentication certificate not under the anchors", want: []string{CodeAuthCertUntrusted}, mod: func(t *testing.T, s *spec) {
			s.opts.Roots = poolOf(p.raRoot)
		}},
		{name: "no anchors configured", want: []string{CodeAuthCertUntrusted}, mod: func(t *testing.T, s *spec) {
			s.opts.Roots = nil
		}},
		{name: "authentication certificate revoked", want: []string{CodeAuthCertRevoked}, mod: func(t *testing.T, s *spec) {
			s.opts.Revocation = &fakeRevocation{status: RevocationRevoked}
		}},
		{name: "revocation status unknown", want: []string{CodeAuthCertStatusUnknown}, mod: func(t *testing.T, s *spec) {
			s.opts.Revocation = &fakeRevocation{status: RevocationUnknown}
		}},
		{name: "revocation check failed", want: []string{CodeAuthCertStatusUnknown}, mod: func(t *testing.T, s *spec) {
			s.opts.Revocation = &fakeRevocation{err: errors.New("responder down")}
		}},
		{name: "another holder expected", want: []string{CodeHolderMismatch}, mod: func(t *testing.T, s *spec) {
			s.opts.Expect = &Identity{Type: "CBE", Value: "0999999999"}
		}},
		{name: "application id expected but absent", want: []string{CodeHolderMismatch}, mod: func(t *testing.T, s *spec) {
			s.opts.Expect = &Identity{Type: "CBE", Value: "0123456789", ApplicationID: "MYAPP"}
		}},
		{name: "every problem is reported", want: []string{CodeSignerUntrusted, CodeAuthCertInvalidKeyUsage, CodeAuthCertUntrusted, CodeHolderMismatch, CodeEncryptionCertInvalidKey},
			mod: func(t *testing.T, s *spec) {
				s.opts.SignerRoots, s.opts.Roots = nil, nil
				s.authTmpl.KeyUsage = x509.KeyUsageKeyEncipherment
				s.encPub = &rsa1024(t).PublicKey
				s.opts.Expect = &Identity{Type: "SSIN", Value: "1"}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSpec(t)
			if tc.mod != nil {
				tc.mod(t, s)
			}
			etk := s.build(t)
			e, err := Parse(etk)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = e.Validate(s.opts)
			var got []string
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Validate: %T %v, want *ValidationError", err, err)
				}
				got = ve.Codes()
			}
			want := slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("codes = %v, want %v\nerror: %v", got, want, err)
			}
			if len(tc.want) > 0 {
				var ve *ValidationError
				if errors.As(err, &ve) && !ve.Has(tc.want[0]) {
					t.Errorf("Has(%s) = false", tc.want[0])
				}
			}
		})
	}
}

func TestValidateRevocationCalls(t *testing.T) {
	s := newSpec(t)
	rc := &fakeRevocation{status: RevocationGood}
	s.opts.Revocation = rc
	e, err := Parse(s.build(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(s.opts); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"", "Test Holder CA"}, {"Test Holder CA", "Test Holder Root"}}
	want[0][0] = e.AuthenticationCertificate.Subject.CommonName
	if !slices.Equal(rc.calls, want) {
		t.Errorf("revocation calls = %v, want %v", rc.calls, want)
	}

	// Revocation is not asked about an untrusted path.
	rc.calls = nil
	s.opts.Roots = poolOf(getPKI(t).raRoot)
	if err := e.Validate(s.opts); err == nil {
		t.Fatal("untrusted path accepted")
	}
	if len(rc.calls) != 0 {
		t.Errorf("revocation asked about an untrusted path: %v", rc.calls)
	}
}

// cancelRevocation cancels the context during the check.
type cancelRevocation struct{ cancel context.CancelFunc }

func (c cancelRevocation) Check(ctx context.Context, _, _ *x509.Certificate) (RevocationStatus, error) {
	c.cancel()
	return RevocationUnknown, ctx.Err()
}

func TestValidateContextCancelled(t *testing.T) {
	s := newSpec(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.opts.Revocation = cancelRevocation{cancel}
	e, err := Parse(s.build(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ValidateContext(ctx, s.opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestParseFields(t *testing.T) {
	p := getPKI(t)
	s := newSpec(t)
	etk := s.build(t)
	e, err := Parse(etk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.EncryptionCertificate.Raw, s.encDER) {
		t.Error("EncryptionCertificate is not the encapsulated certificate")
	}
	if e.AuthenticationCertificate == nil || !bytes.Equal(e.AuthenticationCertificate.Raw, s.auth.Raw) {
		t.Error("wrong AuthenticationCertificate")
	}
	if e.Signer == nil || !bytes.Equal(e.Signer.Raw, p.ra.Raw) {
		t.Error("wrong Signer")
	}
	if len(e.CACertificates) != 2 || !bytes.Equal(e.CACertificates[0].Raw, p.ca.Raw) || !bytes.Equal(e.CACertificates[1].Raw, p.root.Raw) {
		t.Errorf("CACertificates = %d certificates", len(e.CACertificates))
	}
	if len(e.Certificates) != 4 {
		t.Errorf("Certificates = %d, want 4", len(e.Certificates))
	}
	if e.SigningTime.IsZero() {
		t.Error("SigningTime not read")
	}
	if !bytes.Equal(e.Raw, etk) {
		t.Error("Raw is not the input")
	}
	id, err := e.Identity()
	if err != nil || id != (Identity{Type: "CBE", Value: "0123456789"}) {
		t.Errorf("Identity() = %+v, %v", id, err)
	}
}
