package flows

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
)

// Pending private keys are written as standard encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo) in PEM
// ("ENCRYPTED PRIVATE KEY"), PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018), the password being the
// keystore password. `openssl pkey -in auth-key.pem` reads them, so a key can be recovered by hand.
//
// Every key file of one process uses the process's salt and iteration count (kept in the state record), so
// the password is stretched once per run however many keys are read or written; each file has its own IV.

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// defaultKDFIterations is the PBKDF2 iteration count of new processes (OWASP 2023 for PBKDF2-HMAC-SHA256).
const defaultKDFIterations = 600_000

type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// kek is a password stretched with one salt and iteration count.
type kek struct {
	salt []byte
	iter int
	key  []byte // 32 bytes, AES-256
}

// String keeps the derived key out of any formatted output.
func (k *kek) String() string { return "kek(redacted)" }

func deriveKEK(password string, salt []byte, iter int) (*kek, error) {
	if iter < 1 || len(salt) < 8 {
		return nil, errors.New("flows: invalid key derivation parameters in state")
	}
	k, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return nil, fmt.Errorf("flows: key derivation: %w", err)
	}
	return &kek{salt: salt, iter: iter, key: k}, nil
}

// ErrWrongPassword is returned when a pending key cannot be decrypted with the password given, or decrypts to
// a key other than the one the state record expects.
var ErrWrongPassword = errors.New("flows: wrong keystore password (a pending key of this process does not decrypt)")

// sealKey encrypts key as PKCS#8 PBES2 PEM.
func sealKey(rand io.Reader, k *kek, key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("flows: random IV: %w", err)
	}
	pad := aes.BlockSize - len(der)%aes.BlockSize
	plain := append(der, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(k.key)
	if err != nil {
		return nil, err
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	clear(plain)
	clear(der) // plain may be a copy of der

	kdfParams, err := asn1.Marshal(pbkdf2Params{Salt: k.salt, Iterations: k.iter, KeyLength: 32,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
	if err != nil {
		return nil, err
	}
	ivDER, _ := asn1.Marshal(iv)
	params, err := asn1.Marshal(pbes2Params{
		KDF:    pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		Scheme: pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return nil, err
	}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algo: pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		Data: ct,
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: out}), nil
}

// KeyFileError reports a key file that cannot be read as an encrypted PKCS#8 key of this package.
type KeyFileError struct {
	Name   string
	Reason string
}

func (e *KeyFileError) Error() string { return fmt.Sprintf("flows: key file %s: %s", e.Name, e.Reason) }

// openKey decrypts a key file written by sealKey. derive is called with the file's salt and iteration count
// and returns the stretched password (callers cache it).
func openKey(name string, data []byte, derive func(salt []byte, iter int) (*kek, error)) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" {
		return nil, &KeyFileError{Name: name, Reason: "not an ENCRYPTED PRIVATE KEY PEM block"}
	}
	var epki encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(block.Bytes, &epki); err != nil || len(rest) != 0 {
		return nil, &KeyFileError{Name: name, Reason: "malformed EncryptedPrivateKeyInfo"}
	}
	if !epki.Algo.Algorithm.Equal(oidPBES2) {
		return nil, &KeyFileError{Name: name, Reason: "not PBES2"}
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(epki.Algo.Parameters.FullBytes, &p); err != nil {
		return nil, &KeyFileError{Name: name, Reason: "malformed PBES2 parameters"}
	}
	if !p.KDF.Algorithm.Equal(oidPBKDF2) || !p.Scheme.Algorithm.Equal(oidAES256CBC) {
		return nil, &KeyFileError{Name: name, Reason: "unsupported PBES2 algorithms"}
	}
	var kp pbkdf2Params
	if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kp); err != nil {
		return nil, &KeyFileError{Name: name, Reason: "malformed PBKDF2 parameters"}
	}
	if !kp.PRF.Algorithm.Equal(oidHMACSHA256) || kp.Iterations < 1 || kp.Iterations > 10_000_000 {
		return nil, &KeyFileError{Name: name, Reason: "unsupported PBKDF2 parameters"}
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.Scheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, &KeyFileError{Name: name, Reason: "malformed IV"}
	}
	if len(epki.Data) == 0 || len(epki.Data)%aes.BlockSize != 0 {
		return nil, &KeyFileError{Name: name, Reason: "bad ciphertext length"}
	}
	k, err := derive(kp.Salt, kp.Iterations)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(k.key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(epki.Data))
	cipher.NewCBCDecrypter(blk, iv).CryptBlocks(plain, epki.Data)
	defer clear(plain)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize || subtle.ConstantTimeCompare(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) != 1 {
		return nil, ErrWrongPassword
	}
	key, err := x509.ParsePKCS8PrivateKey(plain[:len(plain)-pad])
	if err != nil {
		return nil, ErrWrongPassword
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, &KeyFileError{Name: name, Reason: "not a signing key"}
	}
	return s, nil
}
