package keystore

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

// berify rewrites DER as BouncyCastle-style BER: every constructed element with an indefinite length, and every
// primitive OCTET STRING or [0] IMPLICIT octet string longer than chunk split into a constructed string of
// chunks. It does not look inside octet strings.
func berify(t testing.TB, der []byte, chunk int) []byte {
	t.Helper()
	var out []byte
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			t.Fatal(err)
		}
		hdr := v.FullBytes[:len(v.FullBytes)-len(v.Bytes)]
		id := hdr[0]
		switch {
		case v.IsCompound:
			out = append(out, id, 0x80)
			out = append(out, berify(t, v.Bytes, chunk)...)
			out = append(out, 0, 0)
		case len(v.Bytes) > chunk && ((v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString) || (v.Class == asn1.ClassContextSpecific && v.Tag == 0)):
			out = append(out, id|0x20, 0x80)
			for b := v.Bytes; len(b) > 0; {
				n := min(chunk, len(b))
				seg, _ := asn1.Marshal(b[:n])
				out = append(out, seg...)
				b = b[n:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, v.FullBytes...)
		}
		der = rest
	}
	return out
}

func TestBERConversion(t *testing.T) {
	der := encodeFixture(t)
	ber := berify(t, der, 100)
	if bytes.Equal(ber, der) {
		t.Fatal("berify changed nothing")
	}
	back, err := berToDER(ber)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, der) {
		t.Error("berToDER(berify(x)) != x")
	}
	for _, bad := range [][]byte{{0x30, 0x80}, {0x30, 0x80, 0x04, 0x01, 0x00}, {0x04, 0x80, 0, 0}, {0x24, 0x80, 0x02, 0x01, 0x00, 0, 0}, {0x30, 0x85, 1, 2, 3, 4, 5}, {0x1f}} {
		if _, err := berToDER(bad); err == nil {
			t.Errorf("berToDER(%x) accepted", bad)
		}
	}
	deep := bytes.Repeat([]byte{0x30, 0x80}, 100)
	if _, err := berToDER(deep); err == nil {
		t.Error("deep nesting accepted")
	}
}

// A keystore in BER throughout, as BouncyCastle writes one (the connector's KeyStoreManager), decodes: indefinite
// lengths, the authSafe and the encrypted content split into chunks, the MAC over the BER AuthenticatedSafe.
func TestDecodeBERKeystore(t *testing.T) {
	der := encodeFixture(t)
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(der, &pfx); err != nil {
		t.Fatal(err)
	}
	var authSafe []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		t.Fatal(err)
	}
	berSafe := berify(t, authSafe, 64)
	bmp, _ := bmpPassword([]byte(testPassword))
	pfx.MacData.Mac.Digest = computeMAC(sha256.New, bmp, pfx.MacData.MacSalt, pfx.MacData.Iterations, berSafe)
	os, _ := asn1.Marshal(berSafe)
	pfx.AuthSafe.Content = explicit0(os)
	rebuilt, err := asn1.Marshal(pfx)
	if err != nil {
		t.Fatal(err)
	}
	ber := berify(t, rebuilt, 500)
	ks, err := Decode(ber, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeFixture(t, ks, 2)
	if _, err := Decode(ber, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	fx := getFixture(f)
	f.Add(encodeFixture(f))
	small := &Keystore{Keys: fx.ks.Keys[1:]}
	if d, err := Encode(rand.Reader, small, []byte(testPassword)); err == nil {
		f.Add(d)
		f.Add(berify(f, d, 200))
	}
	if d, err := pkcs12.LegacyRC2.Encode(fx.etkKey, fx.enc, nil, testPassword); err == nil {
		f.Add(d)
	}
	if d, err := pkcs12.Modern.EncodeTrustStoreEntries([]pkcs12.TrustStoreEntry{{Cert: fx.ca, FriendlyName: "ca"}}, testPassword); err == nil {
		f.Add(d)
	}
	// Without a MAC the fuzzer gets past the integrity check into the bag parsers.
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(encodeFixture(f), &pfx); err == nil {
		pfx.MacData = macData{}
		if d, err := asn1.Marshal(pfx); err == nil {
			f.Add(d)
		}
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := Decode(data, []byte(testPassword))
		if err != nil {
			var fe *FormatError
			var ue *UnsupportedError
			if !errors.Is(err, ErrWrongPassword) && !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		for _, e := range ks.Keys {
			if e.Key == nil {
				t.Fatal("key entry without key")
			}
		}
	})
}

// Without a MAC (integrity mode "none"), a wrong password shows only as failed decryption.
func TestDecodeWithoutMAC(t *testing.T) {
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(encodeFixture(t), &pfx); err != nil {
		t.Fatal(err)
	}
	pfx.MacData = macData{}
	d, err := asn1.Marshal(pfx)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := Decode(d, []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	checkLikeFixture(t, ks, 2)
	if _, err := Decode(d, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
}
