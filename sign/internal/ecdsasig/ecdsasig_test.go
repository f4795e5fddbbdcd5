package ecdsasig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		k, _ := ecdsa.GenerateKey(c, rand.Reader)
		d := sha256.Sum256([]byte("x"))
		for i := 0; i < 50; i++ { // some r, s with leading zero bytes
			der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
			if err != nil {
				t.Fatal(err)
			}
			raw, err := DERToRaw(der, Size(c))
			if err != nil || len(raw) != 2*Size(c) {
				t.Fatalf("DERToRaw: %v, %d bytes", err, len(raw))
			}
			back, err := RawToDER(raw)
			if err != nil || !bytes.Equal(back, der) {
				t.Fatalf("RawToDER does not give the DER back: %v", err)
			}
			if !ecdsa.VerifyASN1(&k.PublicKey, d[:], back) {
				t.Fatal("verification failed")
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x01}, {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01},
		append([]byte{0x30, 0x26, 0x02, 0x21}, make([]byte, 0x21+3)...)} {
		if _, err := DERToRaw(der, 32); err == nil {
			t.Errorf("DERToRaw(%x) accepted", der)
		}
	}
	for _, raw := range [][]byte{nil, {1}, make([]byte, 64)} {
		if _, err := RawToDER(raw); err == nil {
			t.Errorf("RawToDER(%x) accepted", raw)
		}
	}
}
