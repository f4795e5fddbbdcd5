package keystore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"software.sslmate.com/src/go-pkcs12"
)

const testPassword = "s3cret-Passw0rd!"

// fixture is a keystore shaped like the connector's after a full registration: the authentication key with its
// delivered chain (auth certificate, issuing CA), the chain as trusted entries, and one ETK key under its serial.
type fixture struct {
	root, ca, auth, enc *x509.Certificate
	authKey, etkKey     *rsa.PrivateKey
	ks                  *Keystore
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func newRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		f := &fixture{}
		now := time.Now()
		rootKey, caKey := newRSA(t), newRSA(t)
		f.authKey, f.etkKey = newRSA(t), newRSA(t)
		rootTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test eHealth root CA", Organization: []string{"ZETES SA"}, Country: []string{"BE"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		f.root = mustCert(t, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
		caName, err := certreq.ParseDN("CN=Test eHealth issuing CA 001,SERIALNUMBER=001,O=ZETES SA,C=BE")
		if err != nil {
			fixErr = err
			return
		}
		caSubject, err := certreq.MarshalDN(caName, certreq.EncodingX500Principal)
		if err != nil {
			fixErr = err
			return
		}
		f.ca = mustCert(t, &x509.Certificate{
			SerialNumber: big.NewInt(2), RawSubject: caSubject,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign,
		}, f.root, caKey.Public(), rootKey)
		dn, err := certreq.OrganizationSubject("CBE", "0809394427", "eHealth-platform", "iamacc").RDNs()
		if err != nil {
			fixErr = err
			return
		}
		subject, err := certreq.MarshalDN(dn, certreq.EncodingUTF8)
		if err != nil {
			fixErr = err
			return
		}
		f.auth = mustCert(t, &x509.Certificate{
			SerialNumber: big.NewInt(0x5eed), RawSubject: subject, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, f.ca, f.authKey.Public(), caKey)
		// The encryption certificate of FACTS §8: subject = issuer = the auth subject, signed by the auth key,
		// serial from the challenge, only KeyUsage keyEncipherment|dataEncipherment.
		serial, _ := new(big.Int).SetString("8f2c9a3b1d4e5f60718293a4b5c6d7e8", 16)
		f.enc = mustCert(t, &x509.Certificate{
			SerialNumber: serial, RawSubject: f.auth.RawSubject, NotBefore: f.auth.NotBefore, NotAfter: f.auth.NotAfter,
			KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		}, &x509.Certificate{RawSubject: f.auth.RawSubject, PublicKey: f.authKey.Public()}, f.etkKey.Public(), f.authKey)

		ks := &Keystore{}
		if fixErr = ks.SetAuthentication(f.authKey, []*x509.Certificate{f.auth, f.ca}); fixErr != nil {
			return
		}
		if fixErr = ks.AddTrustedChain([]*x509.Certificate{f.auth, f.ca}); fixErr != nil {
			return
		}
		if fixErr = ks.AddEncryptionKey(f.etkKey, f.enc); fixErr != nil {
			return
		}
		f.ks = ks
		fix = f
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	if fix == nil {
		t.Fatal("fixture failed")
	}
	return fix
}

const (
	wantAuthAlias = `CN=CBE\=0809394427\, IAMACC,OU=eHealth-platform Belgium,OU=EHEALTH-PLATFORM,OU=CBE\=0809394427,OU=IAMACC,O=Federal Government,C=BE`
	wantCAAlias   = `CN=Test eHealth issuing CA 001,2.5.4.5=#1303303031,O=ZETES SA,C=BE`
	wantEncAlias  = "190311192633628864842372471324315932648"
)

func TestFixtureAliases(t *testing.T) {
	f := getFixture(t)
	if f.enc.SerialNumber.String() != wantEncAlias {
		t.Fatalf("serial %s", f.enc.SerialNumber)
	}
	var got []string
	for _, e := range f.ks.Keys {
		got = append(got, e.Alias)
	}
	for _, e := range f.ks.Trusted {
		got = append(got, e.Alias)
	}
	want := []string{"authentication", wantEncAlias, wantAuthAlias, wantCAAlias}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("aliases\n got %q\nwant %q", got, want)
	}
}

func encodeFixture(t testing.TB) []byte {
	t.Helper()
	data, err := Encode(rand.Reader, getFixture(t).ks, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func checkLikeFixture(t *testing.T, ks *Keystore, authChainLen int) {
	t.Helper()
	f := getFixture(t)
	auth, ok := ks.Authentication()
	if !ok {
		t.Fatal("no authentication entry")
	}
	if k, ok := auth.Key.(*rsa.PrivateKey); !ok || !k.Equal(f.authKey) {
		t.Errorf("authentication key differs")
	}
	if len(auth.Chain) != authChainLen || !auth.Chain[0].Equal(f.auth) || (authChainLen > 1 && !auth.Chain[1].Equal(f.ca)) {
		t.Errorf("authentication chain: %d certificates", len(auth.Chain))
	}
	encs := ks.EncryptionKeys()
	if len(encs) != 1 || encs[0].Alias != wantEncAlias {
		t.Fatalf("EncryptionKeys = %v", encs)
	}
	e, ok := ks.EncryptionKey(f.enc.SerialNumber)
	if !ok || !e.Key.(*rsa.PrivateKey).Equal(f.etkKey) || len(e.Chain) != 1 || !e.Chain[0].Equal(f.enc) {
		t.Errorf("EncryptionKey(serial) = %v, %v", e, ok)
	}
	trusted := map[string]*x509.Certificate{}
	for _, te := range ks.Trusted {
		trusted[strings.ToLower(te.Alias)] = te.Certificate
	}
	if c := trusted[strings.ToLower(wantAuthAlias)]; c == nil || !c.Equal(f.auth) {
		t.Errorf("trusted auth certificate missing: %v", ks.Trusted)
	}
	if c := trusted[strings.ToLower(wantCAAlias)]; c == nil || !c.Equal(f.ca) {
		t.Errorf("trusted CA certificate missing: %v", ks.Trusted)
	}
	if len(ks.Trusted) != 2 || len(ks.Keys) != 2 {
		t.Errorf("%d keys, %d trusted", len(ks.Keys), len(ks.Trusted))
	}
}

func TestRoundTrip(t *testing.T) {
	data := encodeFixture(t)
	ks, err := Decode(data, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeFixture(t, ks, 2)
	for i, e := range ks.Keys {
		if e.Alias != getFixture(t).ks.Keys[i].Alias {
			t.Errorf("key %d alias %q", i, e.Alias)
		}
	}
	for i, e := range ks.Trusted {
		if e.Alias != getFixture(t).ks.Trusted[i].Alias {
			t.Errorf("trusted %d alias %q (case must survive)", i, e.Alias)
		}
	}
	// Salts and IVs are fresh on every encoding.
	if bytes.Equal(data, encodeFixture(t)) {
		t.Error("two encodings are identical")
	}
}

func TestRoundTripECDSAAndEmpty(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	c, err := PlaceholderCertificate(rand.Reader, k, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ks := &Keystore{}
	if err := ks.SetAuthentication(k, []*x509.Certificate{c}); err != nil {
		t.Fatal(err)
	}
	data, err := Encode(rand.Reader, ks, []byte(""))
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := back.Authentication()
	if !ok || !a.Key.(*ecdsa.PrivateKey).Equal(k) {
		t.Error("ECDSA key lost")
	}
	empty, err := Encode(rand.Reader, &Keystore{}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Decode(empty, []byte("x"))
	if err != nil || len(e.Keys) != 0 || len(e.Trusted) != 0 {
		t.Errorf("empty keystore: %v %v", e, err)
	}
}

func TestWrongPassword(t *testing.T) {
	data := encodeFixture(t)
	for _, pw := range []string{"", "wrong", testPassword + " ", strings.ToUpper(testPassword)} {
		if _, err := Decode(data, []byte(pw)); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("password %q: %v, want ErrWrongPassword", pw, err)
		}
	}
	if _, err := Decode(data, []byte{0xff, 0xfe}); err == nil {
		t.Error("invalid UTF-8 password accepted")
	}
}

func TestCorruptFiles(t *testing.T) {
	data := encodeFixture(t)
	for _, bad := range [][]byte{nil, {}, []byte("not a keystore"), data[:len(data)/2], data[:10], append(bytes.Clone(data), 0)} {
		_, err := Decode(bad, []byte(testPassword))
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("len %d: %v, want *FormatError", len(bad), err)
		}
	}
	// Flipping any byte must never give a keystore back, nor panic.
	for i := 0; i < len(data); i += 37 {
		d := bytes.Clone(data)
		d[i] ^= 0x5a
		ks, err := Decode(d, []byte(testPassword))
		if err == nil {
			// A flip inside an unsigned part (e.g. the MAC salt length byte) may still decode to a different file,
			// but it must not be the same keystore silently.
			if len(ks.Keys) == 2 {
				t.Errorf("byte %d flipped: decoded without error", i)
			}
		}
	}
}

func TestEncodeValidation(t *testing.T) {
	f := getFixture(t)
	cases := map[string]*Keystore{
		"duplicate alias ignoring case": {Keys: []KeyEntry{
			{Alias: "authentication", Key: f.authKey, Chain: []*x509.Certificate{f.auth}},
			{Alias: "Authentication", Key: f.etkKey, Chain: []*x509.Certificate{f.enc}},
		}},
		"key and trusted alias clash": {
			Keys:    []KeyEntry{{Alias: "x", Key: f.authKey, Chain: []*x509.Certificate{f.auth}}},
			Trusted: []TrustedEntry{{Alias: "X", Certificate: f.ca}},
		},
		"key does not match certificate": {Keys: []KeyEntry{{Alias: "a", Key: f.etkKey, Chain: []*x509.Certificate{f.auth}}}},
		"no chain":                       {Keys: []KeyEntry{{Alias: "a", Key: f.authKey}}},
		"no key":                         {Keys: []KeyEntry{{Alias: "a", Chain: []*x509.Certificate{f.auth}}}},
		"no alias":                       {Keys: []KeyEntry{{Key: f.authKey, Chain: []*x509.Certificate{f.auth}}}},
		"trusted without certificate":    {Trusted: []TrustedEntry{{Alias: "t"}}},
	}
	for name, ks := range cases {
		if _, err := Encode(rand.Reader, ks, []byte("pw")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (&Keystore{}).SetKey(KeyEntry{Alias: "a", Key: f.etkKey, Chain: []*x509.Certificate{f.auth}}); err == nil {
		t.Error("SetKey accepted a mismatched key")
	}
}

func TestSetKeyReplaces(t *testing.T) {
	f := getFixture(t)
	ks := &Keystore{}
	placeholder, err := PlaceholderCertificate(rand.Reader, f.authKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.SetAuthentication(f.authKey, []*x509.Certificate{placeholder}); err != nil {
		t.Fatal(err)
	}
	if err := ks.SetAuthentication(f.authKey, []*x509.Certificate{f.auth, f.ca}); err != nil {
		t.Fatal(err)
	}
	if len(ks.Keys) != 1 || ks.Keys[0].Certificate() != f.auth {
		t.Errorf("SetAuthentication did not replace: %v", ks.Keys)
	}
	if err := ks.AddTrustedChain([]*x509.Certificate{f.auth, f.ca}); err != nil {
		t.Fatal(err)
	}
	if err := ks.AddTrustedChain([]*x509.Certificate{f.ca}); err != nil {
		t.Fatal(err)
	}
	if len(ks.Trusted) != 2 {
		t.Errorf("AddTrustedChain duplicated entries: %d", len(ks.Trusted))
	}
}

func TestPlaceholderCertificate(t *testing.T) {
	k := getFixture(t).authKey
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	c, err := PlaceholderCertificate(rand.Reader, k, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.String() != "C=Dummy" || c.Issuer.String() != "C=Dummy" || c.SerialNumber.Sign() != 0 {
		t.Errorf("subject %s issuer %s serial %s", c.Subject, c.Issuer, c.SerialNumber)
	}
	if !c.NotBefore.Equal(now.Add(-24*time.Hour)) || !c.NotAfter.Equal(now.Add(-24*time.Hour+time.Minute)) {
		t.Errorf("validity %s - %s", c.NotBefore, c.NotAfter)
	}
	if c.KeyUsage != x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment || c.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("key usage %v, signature %v", c.KeyUsage, c.SignatureAlgorithm)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("self-signature: %v", err)
	}
}

func TestSuggestedFileName(t *testing.T) {
	at := time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC)
	cases := map[string]certreq.Identity{
		"SSIN=12345678901 20240309-140507.p12":      {Type: "SSIN", Value: "12345678901"},
		"CBE=0809394427,IAMACC 20240309-140507.p12": {Type: "CBE", Value: "0809394427", ApplicationID: "iamacc"},
	}
	for want, id := range cases {
		if got := SuggestedFileName(id, at); got != want {
			t.Errorf("SuggestedFileName(%v) = %q, want %q", id, got, want)
		}
	}
}

func TestWriteReadFile(t *testing.T) {
	f := getFixture(t)
	p := filepath.Join(t.TempDir(), SuggestedFileName(certreq.Identity{Type: "CBE", Value: "0809394427", ApplicationID: "IAMACC"}, time.Now()))
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, rand.Reader, f.ks, []byte(testPassword)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	ks, err := ReadFile(p, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeFixture(t, ks, 2)
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.p12"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNoSecretsInText(t *testing.T) {
	f := getFixture(t)
	d := f.authKey.D.String()
	dHex := hex.EncodeToString(f.authKey.D.Bytes())
	for _, s := range []string{
		fmt.Sprintf("%v", f.ks), fmt.Sprintf("%+v", f.ks), fmt.Sprintf("%#v", f.ks),
		fmt.Sprintf("%v", f.ks.Keys[0]), fmt.Sprintf("%+v", *f.ks), fmt.Sprint(f.ks.Keys),
	} {
		if strings.Contains(s, d) || strings.Contains(s, dHex) || strings.Contains(s, f.authKey.Primes[0].String()) {
			t.Fatalf("key material printed: %.200s", s)
		}
	}
	_, err := Decode(encodeFixture(t), []byte("hunter2-wrong"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error text %v", err)
	}
}

// go-pkcs12's ToPEM reads what we write (without trusted entries), with friendlyName headers = aliases and
// localKeyId headers linking each key to its certificate.
func TestGoPKCS12ReadsOurOutput(t *testing.T) {
	f := getFixture(t)
	ks := &Keystore{Keys: f.ks.Keys}
	data, err := Encode(rand.Reader, ks, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := pkcs12.ToPEM(data, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	keyIDs := map[string]string{} // alias -> localKeyId of the key
	certIDs := map[string]string{}
	var keys, certs int
	for _, b := range blocks {
		switch b.Type {
		case "PRIVATE KEY":
			keys++
			keyIDs[b.Headers["friendlyName"]] = b.Headers["localKeyId"]
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			want := f.authKey
			if b.Headers["friendlyName"] == wantEncAlias {
				want = f.etkKey
			}
			if !k.Equal(want) {
				t.Errorf("key %q differs", b.Headers["friendlyName"])
			}
		case "CERTIFICATE":
			certs++
			if n := b.Headers["friendlyName"]; n != "" {
				certIDs[n] = b.Headers["localKeyId"]
			}
		}
	}
	if keys != 2 || certs != 3 {
		t.Errorf("%d keys, %d certificates", keys, certs)
	}
	for _, alias := range []string{"authentication", wantEncAlias} {
		if keyIDs[alias] == "" || keyIDs[alias] != certIDs[alias] {
			t.Errorf("alias %q: key id %q, cert id %q", alias, keyIDs[alias], certIDs[alias])
		}
	}

	// Why Decode is our own: ToPEM refuses the JDK trusted-certificate attribute that keytool and the connector
	// write (and that we must write for keytool to list trusted entries).
	if _, err := pkcs12.ToPEM(encodeFixture(t), testPassword); err == nil || !strings.Contains(err.Error(), "2.16.840.1.113894.746875.1.1") {
		t.Errorf("go-pkcs12 ToPEM with trusted entries: %v (if this now works, Decode could delegate to it)", err)
	}
}

// We read what go-pkcs12 writes, in its modern and legacy (RC2-40 + 3DES, SHA-1 MAC) encodings.
func TestDecodeGoPKCS12Output(t *testing.T) {
	f := getFixture(t)
	for name, enc := range map[string]*pkcs12.Encoder{"Modern": pkcs12.Modern, "LegacyRC2": pkcs12.LegacyRC2, "Legacy": pkcs12.Legacy} {
		data, err := enc.WithRand(rand.Reader).Encode(f.authKey, f.auth, []*x509.Certificate{f.ca}, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := Decode(data, []byte(testPassword))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ks.Keys) != 1 || !ks.Keys[0].Key.(*rsa.PrivateKey).Equal(f.authKey) || len(ks.Keys[0].Chain) != 2 {
			t.Errorf("%s: %v", name, ks.Keys)
		}
		if _, err := Decode(data, []byte("nope")); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s wrong password: %v", name, err)
		}
	}
	// A trust store written by go-pkcs12 (JDK trusted attribute, no MAC key entries).
	data, err := pkcs12.Modern.WithRand(rand.Reader).EncodeTrustStoreEntries([]pkcs12.TrustStoreEntry{{Cert: f.ca, FriendlyName: "eHealth CA"}}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := Decode(data, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Trusted) != 1 || ks.Trusted[0].Alias != "eHealth CA" || !ks.Trusted[0].Certificate.Equal(f.ca) {
		t.Errorf("trust store: %v", ks.Trusted)
	}
}

func TestPKCS12KDFAndRC2(t *testing.T) {
	// RFC 2268 §5 test vectors: key, effective bits, plaintext, ciphertext.
	vectors := []struct {
		key, pt, ct string
		bits        int
	}{
		{"0000000000000000", "0000000000000000", "ebb773f993278eff", 63},
		{"ffffffffffffffff", "ffffffffffffffff", "278b27e42e2f0d49", 64},
		{"3000000000000000", "1000000000000001", "30649edf9be7d2c2", 64},
		{"88", "0000000000000000", "61a8a244adacccf0", 64},
		{"88bca90e90875a", "0000000000000000", "6ccf4308974c267f", 64},
		{"88bca90e90875a7f0f79c384627bafb2", "0000000000000000", "1a807d272bbe5db1", 64},
		{"88bca90e90875a7f0f79c384627bafb2", "0000000000000000", "2269552ab0f85ca6", 128},
	}
	for _, v := range vectors {
		key, _ := hex.DecodeString(v.key)
		pt, _ := hex.DecodeString(v.pt)
		ct, _ := hex.DecodeString(v.ct)
		c, err := newRC2(key, v.bits)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 8)
		c.Encrypt(got, pt)
		if !bytes.Equal(got, ct) {
			t.Errorf("RC2 encrypt key %s/%d = %x, want %x", v.key, v.bits, got, ct)
		}
		c.Decrypt(got, ct)
		if !bytes.Equal(got, pt) {
			t.Errorf("RC2 decrypt key %s/%d = %x, want %x", v.key, v.bits, got, pt)
		}
	}
	// The PKCS#12 KDF must give the MAC key OpenSSL and the JDK derive; checked end to end by the interop tests.
	// Here: output longer than one hash block, and the empty salt, do not break it.
	pw, _ := bmpPassword([]byte("pw"))
	long := pkcs12KDF(sha256.New, 1, pw, []byte("salt"), 3, 100)
	short := pkcs12KDF(sha256.New, 1, pw, []byte("salt"), 3, 32)
	if !bytes.Equal(long[:32], short) || bytes.Equal(long[32:64], long[:32]) {
		t.Error("KDF blocks inconsistent")
	}
	if len(pkcs12KDF(sha256.New, 3, pw, nil, 1, 32)) != 32 {
		t.Error("empty salt")
	}
}
