package sign

import (
	"context"
	"fmt"

	"github.com/ehcert/ehcert/ehealth"
)

// Keyring holds the keys of one user and signs each operation's request with the key the platform demands
// for it (FACTS §3–4, §12.3): the eID Authentication key for GetActorQualities and
// GetCertificateInfoForCitizen, the eID Signature key for GenerateCertificate and Revoke, the eHealth
// authentication key for GetCertificateInfoForAuthenticationCertificate and the EtkRA operations; the other
// operations are sent unsigned.
//
// A nil field means the user does not have that key at hand. *Keyring implements ehealth.RequestSigner.
type Keyring struct {
	EIDAuthentication     Key
	EIDSignature          Key
	EHealthAuthentication Key
}

var _ ehealth.RequestSigner = (*Keyring)(nil)

// MissingKeyError reports that an operation needs a key the Keyring does not hold. It is returned before
// anything is signed or sent.
type MissingKeyError struct {
	Operation string          // "GenerateCertificate"
	Need      ehealth.KeyKind // the key the operation must be signed with
}

// Error describes the problem; it holds no secret.
func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("sign: %s must be signed with the %s, and none is configured", e.Operation, e.Need)
}

// Key returns the key of the given kind, or nil.
func (k *Keyring) Key(kind ehealth.KeyKind) Key {
	if k == nil {
		return nil
	}
	switch kind {
	case ehealth.EIDAuthentication:
		return k.EIDAuthentication
	case ehealth.EIDSignature:
		return k.EIDSignature
	case ehealth.EHealthAuthentication:
		return k.EHealthAuthentication
	}
	return nil
}

// Check reports whether the Keyring can sign op's request: nil for an unsigned operation or when the key is
// present, *MissingKeyError otherwise. A flow calls it for every step before its first call, so that a
// missing key stops it before it changes anything at the platform.
func (k *Keyring) Check(op ehealth.Operation) error {
	if op.Key == ehealth.Unsigned {
		return nil
	}
	if k.Key(op.Key) == nil {
		return &MissingKeyError{Operation: op.Name, Need: op.Key}
	}
	return nil
}

// SignRequest signs payload, the marshalled request of op, with the key op needs, using EnvelopedContext.
// For an unsigned operation the payload is returned unchanged (the same slice).
func (k *Keyring) SignRequest(ctx context.Context, op ehealth.Operation, payload []byte) ([]byte, error) {
	if op.Key == ehealth.Unsigned {
		return payload, nil
	}
	if err := k.Check(op); err != nil {
		return nil, err
	}
	out, err := EnvelopedContext(ctx, k.Key(op.Key), payload)
	if err != nil {
		return nil, fmt.Errorf("sign %s request with the %s: %w", op.Name, op.Key, err)
	}
	return out, nil
}
