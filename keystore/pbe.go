package keystore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	oidPBES2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC  = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidSHA1        = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidPBE3DES     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3} // pbeWithSHAAnd3-KeyTripleDES-CBC
	oidPBE2DES     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 4} // pbeWithSHAAnd2-KeyTripleDES-CBC
	oidPBERC2128   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5} // pbeWithSHAAnd128BitRC2-CBC
	oidPBERC240    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6} // pbeWithSHAAnd40BitRC2-CBC
	asn1NULL       = asn1.RawValue{FullBytes: []byte{5, 0}}
	hmacSHA256Algo = pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1NULL}
)

const (
	// encodeIterations is the PBKDF2 and MAC iteration count we write (the JDK 17 default).
	encodeIterations = 10000
	// maxIterations bounds what we accept from a file, so that a hostile file cannot make us spin (the JDK's
	// limit is the same).
	maxIterations = 5000000
	saltLen       = 16
)

// errDecrypt is a decryption that produced bad padding: with the MAC verified it means a corrupt file, without a
// MAC a wrong password.
var errDecrypt = errors.New("decryption failed (bad padding)")

// bmpPassword is the PKCS#12 password encoding (RFC 7292 B.1): UTF-16 big endian with a two-byte NUL terminator.
func bmpPassword(password []byte) ([]byte, error) {
	if !utf8.Valid(password) {
		return nil, errors.New("keystore: password is not valid UTF-8")
	}
	u := utf16.Encode([]rune(string(password)))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return append(out, 0, 0), nil
}

// pkcs12KDF is the PKCS#12 key derivation of RFC 7292 appendix B.2 (id 1 = key, 2 = IV, 3 = MAC key).
func pkcs12KDF(newHash func() hash.Hash, id byte, password, salt []byte, iterations, n int) []byte {
	h := newHash()
	u, v := h.Size(), h.BlockSize()
	d := bytes.Repeat([]byte{id}, v)
	i := append(fillBlocks(salt, v), fillBlocks(password, v)...)
	c := (n + u - 1) / u
	out := make([]byte, 0, c*u)
	a := make([]byte, 0, u)
	for block := 0; block < c; block++ {
		h.Reset()
		h.Write(d)
		h.Write(i)
		a = h.Sum(a[:0])
		for r := 1; r < iterations; r++ {
			h.Reset()
			h.Write(a)
			a = h.Sum(a[:0])
		}
		out = append(out, a...)
		if block == c-1 {
			break
		}
		b := fillBlocks(a, v)
		for j := 0; j < len(i); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(i[j+k]) + int(b[k]) + carry
				i[j+k] = byte(sum)
				carry = sum >> 8
			}
		}
	}
	return out[:n]
}

// fillBlocks repeats b to fill a whole number of v-byte blocks (nothing for an empty b).
func fillBlocks(b []byte, v int) []byte {
	if len(b) == 0 {
		return nil
	}
	out := make([]byte, v*((len(b)+v-1)/v))
	for k := range out {
		out[k] = b[k%len(b)]
	}
	return out
}

func hashForDigest(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return sha1.New, true
	case oid.Equal(oidSHA224):
		return sha256.New224, true
	case oid.Equal(oidSHA256):
		return sha256.New, true
	case oid.Equal(oidSHA384):
		return sha512.New384, true
	case oid.Equal(oidSHA512):
		return sha512.New, true
	}
	return nil, false
}

func hashForHMAC(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidHMACSHA1):
		return sha1.New, true
	case oid.Equal(oidHMACSHA224):
		return sha256.New224, true
	case oid.Equal(oidHMACSHA256):
		return sha256.New, true
	case oid.Equal(oidHMACSHA384):
		return sha512.New384, true
	case oid.Equal(oidHMACSHA512):
		return sha512.New, true
	}
	return nil, false
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type macData struct {
	Mac        digestInfo
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

func computeMAC(newHash func() hash.Hash, bmpPass, salt []byte, iterations int, content []byte) []byte {
	key := pkcs12KDF(newHash, 3, bmpPass, salt, iterations, newHash().Size())
	m := hmac.New(newHash, key)
	m.Write(content)
	return m.Sum(nil)
}

// verifyMAC checks the PFX MAC. It returns ErrWrongPassword on mismatch.
func verifyMAC(md *macData, content, bmpPass []byte) error {
	newHash, ok := hashForDigest(md.Mac.Algorithm.Algorithm)
	if !ok {
		return &UnsupportedError{What: "MAC algorithm " + md.Mac.Algorithm.Algorithm.String()}
	}
	if md.Iterations < 1 || md.Iterations > maxIterations {
		return &FormatError{Msg: fmt.Sprintf("MAC iteration count %d out of range", md.Iterations)}
	}
	want := computeMAC(newHash, bmpPass, md.MacSalt, md.Iterations, content)
	if subtle.ConstantTimeCompare(want, md.Mac.Digest) == 1 {
		return nil
	}
	// Some writers derive the MAC key of an empty password from no bytes at all instead of the NUL terminator.
	if len(bmpPass) == 2 && bmpPass[0] == 0 && bmpPass[1] == 0 {
		want = computeMAC(newHash, nil, md.MacSalt, md.Iterations, content)
		if subtle.ConstantTimeCompare(want, md.Mac.Digest) == 1 {
			return nil
		}
	}
	return ErrWrongPassword
}

func newMAC(rand io.Reader, bmpPass, content []byte) (macData, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return macData{}, fmt.Errorf("keystore: random: %w", err)
	}
	return macData{
		Mac: digestInfo{
			Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1NULL},
			Digest:    computeMAC(sha256.New, bmpPass, salt, encodeIterations, content),
		},
		MacSalt:    salt,
		Iterations: encodeIterations,
	}, nil
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

type pkcs12PBEParams struct {
	Salt       []byte
	Iterations int
}

// decrypt decrypts data encrypted with a PBES2 or a PKCS#12 PBE scheme. password is the UTF-8 password; bmpPass
// its PKCS#12 form.
func decrypt(alg pkix.AlgorithmIdentifier, data, password, bmpPass []byte) ([]byte, error) {
	var (
		block cipher.Block
		iv    []byte
		err   error
	)
	switch {
	case alg.Algorithm.Equal(oidPBES2):
		block, iv, err = pbes2Cipher(alg.Parameters.FullBytes, password)
	case alg.Algorithm.Equal(oidPBE3DES), alg.Algorithm.Equal(oidPBE2DES), alg.Algorithm.Equal(oidPBERC2128), alg.Algorithm.Equal(oidPBERC240):
		block, iv, err = pkcs12Cipher(alg, bmpPass)
	default:
		return nil, &UnsupportedError{What: "encryption algorithm " + alg.Algorithm.String()}
	}
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, &FormatError{Msg: "encrypted data is not a whole number of blocks"}
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, errDecrypt
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errDecrypt
		}
	}
	return out[:len(out)-pad], nil
}

func pkcs12Cipher(alg pkix.AlgorithmIdentifier, bmpPass []byte) (cipher.Block, []byte, error) {
	var params pkcs12PBEParams
	if err := unmarshalDER(alg.Parameters.FullBytes, &params); err != nil {
		return nil, nil, &FormatError{Msg: "PKCS#12 PBE parameters", Err: err}
	}
	if params.Iterations < 1 || params.Iterations > maxIterations {
		return nil, nil, &FormatError{Msg: fmt.Sprintf("iteration count %d out of range", params.Iterations)}
	}
	derive := func(id byte, n int) []byte {
		return pkcs12KDF(sha1.New, id, bmpPass, params.Salt, params.Iterations, n)
	}
	iv := derive(2, 8)
	switch {
	case alg.Algorithm.Equal(oidPBE3DES):
		b, err := des.NewTripleDESCipher(derive(1, 24))
		return b, iv, err
	case alg.Algorithm.Equal(oidPBE2DES):
		k := derive(1, 16)
		b, err := des.NewTripleDESCipher(append(k, k[:8]...))
		return b, iv, err
	case alg.Algorithm.Equal(oidPBERC2128):
		b, err := newRC2(derive(1, 16), 128)
		return b, iv, err
	default: // 40-bit RC2
		b, err := newRC2(derive(1, 5), 40)
		return b, iv, err
	}
}

func pbes2Cipher(paramBytes, password []byte) (cipher.Block, []byte, error) {
	var params pbes2Params
	if err := unmarshalDER(paramBytes, &params); err != nil {
		return nil, nil, &FormatError{Msg: "PBES2 parameters", Err: err}
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, &UnsupportedError{What: "PBES2 key derivation " + params.KeyDerivationFunc.Algorithm.String()}
	}
	var kdf pbkdf2Params
	if err := unmarshalDER(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, nil, &FormatError{Msg: "PBKDF2 parameters", Err: err}
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxIterations {
		return nil, nil, &FormatError{Msg: fmt.Sprintf("iteration count %d out of range", kdf.Iterations)}
	}
	prf := sha1.New
	if len(kdf.PRF.Algorithm) != 0 {
		var ok bool
		if prf, ok = hashForHMAC(kdf.PRF.Algorithm); !ok {
			return nil, nil, &UnsupportedError{What: "PBKDF2 PRF " + kdf.PRF.Algorithm.String()}
		}
	}
	var keyLen int
	var newBlock func([]byte) (cipher.Block, error)
	scheme := params.EncryptionScheme.Algorithm
	switch {
	case scheme.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case scheme.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case scheme.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case scheme.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, nil, &UnsupportedError{What: "PBES2 encryption scheme " + scheme.String()}
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, nil, &FormatError{Msg: "PBKDF2 key length does not match the cipher"}
	}
	var iv []byte
	if err := unmarshalDER(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, &FormatError{Msg: "cipher IV", Err: err}
	}
	key, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, nil, &FormatError{Msg: "PBKDF2", Err: err}
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, nil, err
	}
	if len(iv) != block.BlockSize() {
		return nil, nil, &FormatError{Msg: "cipher IV has the wrong length"}
	}
	return block, iv, nil
}

// encryptPBES2 encrypts data with PBES2: PBKDF2-HMAC-SHA256 (10000 iterations, 16-byte salt) and AES-256-CBC,
// the JDK 17 and OpenSSL 3 default. The password is used as UTF-8 bytes, as both of them do.
func encryptPBES2(rand io.Reader, data, password []byte) (pkix.AlgorithmIdentifier, []byte, error) {
	salt := make([]byte, saltLen)
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("keystore: random: %w", err)
	}
	if _, err := io.ReadFull(rand, iv); err != nil {
		return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("keystore: random: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, string(password), salt, encodeIterations, 32)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("keystore: PBKDF2: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	pad := aes.BlockSize - len(data)%aes.BlockSize
	plain := append(append(make([]byte, 0, len(data)+pad), data...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plain)
	clear(plain) // a copy of the private key

	kdfParams, err := asn1.Marshal(pbkdf2Params{Salt: salt, Iterations: encodeIterations, PRF: hmacSHA256Algo})
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	ivBytes, err := asn1.Marshal(iv)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	params, err := asn1.Marshal(pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivBytes}},
	})
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	return pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}}, out, nil
}
