package flows

import (
	"crypto"
	"crypto/rand"
)

// OpenKeyFile decrypts a pending key file (tests check that every key the platform knows is on disk).
func OpenKeyFile(data []byte, password string) (crypto.Signer, error) {
	return openKey("test", data, func(salt []byte, iter int) (*kek, error) { return deriveKEK(password, salt, iter) })
}

// SealKeys does what a process does to its pending keys: stretch the password once, encrypt each key
// (the crypto-only benchmark's share of the at-rest protection).
func SealKeys(password string, iter int, keys ...crypto.Signer) error {
	salt := make([]byte, 16)
	rand.Read(salt)
	k, err := deriveKEK(password, salt, iter)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if _, err := sealKey(rand.Reader, k, key); err != nil {
			return err
		}
	}
	return nil
}
