// Package ecdsasig converts ECDSA signatures between the ASN.1 DER form that crypto.Signer returns and the
// fixed-size r||s form that XML-DSig (RFC 4050, RFC 6931, XMLDSig 1.1 §6.4.3) and PKCS#11 CKM_ECDSA use.
package ecdsasig

import (
	"crypto/elliptic"
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformed is returned for a signature that is not in the expected form.
var ErrMalformed = errors.New("ecdsasig: malformed ECDSA signature")

// Size returns the byte length of one of r or s for the curve.
func Size(c elliptic.Curve) int { return (c.Params().BitSize + 7) / 8 }

// DERToRaw converts an ASN.1 DER ECDSA-Sig-Value to r||s, each left-padded to size bytes.
func DERToRaw(der []byte, size int) ([]byte, error) {
	var (
		inner cryptobyte.String
		r, s  big.Int
	)
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() {
		return nil, ErrMalformed
	}
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*size || s.BitLen() > 8*size {
		return nil, ErrMalformed
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

// RawToDER converts r||s (two halves of equal length) to an ASN.1 DER ECDSA-Sig-Value.
func RawToDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, ErrMalformed
	}
	half := len(raw) / 2
	r := new(big.Int).SetBytes(raw[:half])
	s := new(big.Int).SetBytes(raw[half:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, ErrMalformed
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}
