package etkdepot

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// forgeEncCert makes a certificate shaped like an encryption certificate (keyEncipherment, dataEncipherment,
// the validity of auth), with the given subject and issuer names, signed by signer. edit may change the
// template further.
func forgeEncCert(t *testing.T, subject, issuer []byte, auth *x509.Certificate, signer crypto.Signer, pub crypto.PublicKey, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		RawSubject:   subject,
		NotBefore:    auth.NotBefore, NotAfter: auth.NotAfter,
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	if edit != nil {
		edit(tmpl)
	}
	// The parent gives the issuer name; its public key must be the signer's for CreateCertificate.
	parent := *auth
	parent.RawSubject = issuer
	parent.PublicKey = signer.Public()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reencodedName returns name with its RDNs in reverse order, every string as a UTF8String, lower case, with
// extra spaces: the same DN for LdapName, different bytes.
func reencodedName(t *testing.T, name []byte) []byte {
	t.Helper()
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(name, &rdns); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rdns)
	for _, rdn := range rdns {
		for i := range rdn {
			if s, ok := rdn[i].Value.(string); ok {
				v := "  " + strings.ReplaceAll(strings.ToLower(s), " ", "   ") + " "
				rdn[i].Value = asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(v)}
			}
		}
	}
	der, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestEncryptionKeyChains checks the x5c chains of encryption keys: [encryption certificate, authentication
// certificate, CAs], the encryption certificate signed by the holder's (non-CA) authentication key. Each rule
// has a chain that breaks it and the typed reason.
func TestEncryptionKeyChains(t *testing.T) {
	p := getPKI(t)
	encPub := &p.rsaEncKey.PublicKey
	leafSubject := p.rsaLeaf.RawSubject
	reencoded := reencodedName(t, leafSubject)
	if string(reencoded) == string(leafSubject) {
		t.Fatal("the re-encoded name has the same bytes")
	}

	for _, tc := range []struct {
		name  string
		use   string // the JWK's "use"
		chain []*x509.Certificate
		want  EncryptionKeyProblem // "" for accepted
	}{
		{"eHealth encryption certificate", "enc", []*x509.Certificate{p.rsaEnc, p.rsaLeaf, p.inter}, ""},
		{"ECDSA holder", "enc", []*x509.Certificate{p.ecEnc, p.ecLeaf, p.inter}, ""},
		{"no use, inferred from the key usage", "", []*x509.Certificate{p.rsaEnc, p.rsaLeaf, p.inter}, ""},
		{"subject in another RDN order and encoding", "enc", []*x509.Certificate{
			forgeEncCert(t, reencoded, reencoded, p.rsaLeaf, p.rsaKey, encPub, nil), p.rsaLeaf, p.inter}, ""},
		{"root in x5c too", "enc", []*x509.Certificate{p.rsaEnc, p.rsaLeaf, p.inter, p.root}, ""},

		{"only the encryption certificate", "enc", []*x509.Certificate{p.rsaEnc}, EncNoAuthCertificate},
		{"an authentication certificate as encryption key", "enc", []*x509.Certificate{p.rsaLeaf, p.inter}, EncInvalidKeyUsage},
		{"keyCertSign", "enc", []*x509.Certificate{forgeEncCert(t, leafSubject, leafSubject, p.rsaLeaf, p.rsaKey, encPub,
			func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign }), p.rsaLeaf, p.inter}, EncInvalidKeyUsage},
		{"a CA", "enc", []*x509.Certificate{forgeEncCert(t, leafSubject, leafSubject, p.rsaLeaf, p.rsaKey, encPub,
			func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }), p.rsaLeaf, p.inter}, EncIsCA},
		{"expired", "enc", []*x509.Certificate{p.expiredEnc, p.expiredLeaf, p.inter}, EncNotValidAtTime},
		{"not yet valid", "enc", []*x509.Certificate{forgeEncCert(t, leafSubject, leafSubject, p.rsaLeaf, p.rsaKey, encPub,
			func(c *x509.Certificate) { c.NotBefore = refTime.Add(time.Hour) }), p.rsaLeaf, p.inter}, EncNotValidAtTime},
		{"signed by another holder's key", "enc", []*x509.Certificate{p.ecEnc, p.rsaLeaf, p.inter}, EncSignatureNotValid},
		{"another subject", "enc", []*x509.Certificate{forgeEncCert(t, p.ecLeaf.RawSubject, leafSubject, p.rsaLeaf, p.rsaKey, encPub, nil),
			p.rsaLeaf, p.inter}, EncSubjectMismatch},
		{"another issuer", "enc", []*x509.Certificate{forgeEncCert(t, leafSubject, p.ecLeaf.RawSubject, p.rsaLeaf, p.rsaKey, encPub, nil),
			p.rsaLeaf, p.inter}, EncSubjectMismatch},
		{"issued by a CA in its own name", "enc", []*x509.Certificate{forgeEncCert(t, p.inter.RawSubject, p.inter.RawSubject, p.inter, p.interKey, encPub, nil),
			p.inter}, EncAuthIsCA},
		{"authentication certificate without its CA", "enc", []*x509.Certificate{p.rsaEnc, p.rsaLeaf}, EncAuthUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := jwkJSON(t, "k", tc.use, tc.chain[0].PublicKey, tc.chain...)
			k, err := ParseJWK(mustJSON(t, key), VerifyOptions{Roots: p.roots, Time: refTime})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !k.Chain[0].Equal(tc.chain[0]) || !k.Chain[1].Equal(tc.chain[1]) || !k.Chain[len(k.Chain)-1].Equal(p.root) {
					t.Errorf("verified chain %v", k.Chain)
				}
				return
			}
			var ee *EncryptionKeyError
			if !errors.As(err, &ee) || ee.Problem != tc.want {
				t.Fatalf("err %v, want %s", err, tc.want)
			}
			if !strings.Contains(err.Error(), string(tc.want)) {
				t.Errorf("error text %q lacks the problem", err)
			}
			var re *RejectedError
			if !errors.As(err, &re) {
				t.Errorf("err %T, want a *RejectedError around it", err)
			}
		})
	}
}

// An encryption certificate is not accepted as the leaf of a signature key: sig keys keep the X.509 path rules.
func TestSignatureKeyWithEncryptionChain(t *testing.T) {
	p := getPKI(t)
	key := jwkJSON(t, "k", "sig", &p.rsaEncKey.PublicKey, p.rsaEnc, p.rsaLeaf, p.inter)
	_, err := ParseJWK(mustJSON(t, key), VerifyOptions{Roots: p.roots, Time: refTime})
	var ee *EncryptionKeyError
	var re *RejectedError
	if !errors.As(err, &re) || errors.As(err, &ee) || !strings.Contains(err.Error(), "x5c chain") {
		t.Fatalf("err %v, want an X.509 path failure", err)
	}
	// The expiry of an encryption certificate is reported as a crypto/x509 error too.
	key = jwkJSON(t, "k", "enc", &p.expiredEncKey.PublicKey, p.expiredEnc, p.expiredLeaf, p.inter)
	_, err = ParseJWK(mustJSON(t, key), VerifyOptions{Roots: p.roots, Time: refTime})
	var ie x509.CertificateInvalidError
	if !errors.As(err, &ie) || ie.Reason != x509.Expired {
		t.Fatalf("err %v, want x509.CertificateInvalidError", err)
	}
}

func TestDNEqual(t *testing.T) {
	p := getPKI(t)
	name := p.rsaLeaf.RawSubject
	if !dnEqual(name, name) || !dnEqual(name, reencodedName(t, name)) {
		t.Error("the same DN is not equal to itself re-encoded")
	}
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(name, &rdns); err != nil {
		t.Fatal(err)
	}
	marshal := func(r pkix.RDNSequence) []byte {
		der, err := asn1.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	fewer := marshal(rdns[1:])
	changed := slices.Clone(rdns)
	changed[0] = []pkix.AttributeTypeAndValue{{Type: rdns[0][0].Type, Value: "NL"}}
	merged := pkix.RDNSequence{append(slices.Clone(rdns[0]), rdns[1]...)}
	merged = append(merged, rdns[2:]...)
	for name2, other := range map[string][]byte{
		"one RDN fewer": fewer, "another value": marshal(changed), "two RDNs in one": marshal(merged),
		"another DN": p.ecLeaf.RawSubject, "garbage": []byte{0x30, 0x03, 0x01}, "trailing data": append(slices.Clone(name), 0),
	} {
		if dnEqual(name, other) || dnEqual(other, name) {
			t.Errorf("%s: equal", name2)
		}
	}
}
