package sign_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/sign"
)

// TestKeyringPicksTheKey: each operation is signed with the key FACTS §12.3 assigns to it, unsigned
// operations pass through untouched, and a missing key fails before signing with a typed error naming it.
func TestKeyringPicksTheKey(t *testing.T) {
	p := loadPKI(t)
	full := &sign.Keyring{EIDAuthentication: p.Keys["rsa"], EIDSignature: p.Keys["p384"], EHealthAuthentication: p.Keys["rsa2"]}
	want := map[string]sign.Key{
		"GetActorQualities":            full.EIDAuthentication,
		"GetCertificateInfoForCitizen": full.EIDAuthentication,
		"GenerateCertificate":          full.EIDSignature,
		"Revoke":                       full.EIDSignature,
		"GetCertificateInfoForAuthenticationCertificate": full.EHealthAuthentication,
		"StartETKRegistration":                           full.EHealthAuthentication,
		"CompleteETKRegistration":                        full.EHealthAuthentication,
		"ActivateETK":                                    full.EHealthAuthentication,
	}
	reqs := requestFiles(t)
	v := p.verifier()
	for _, op := range ehealth.Operations() {
		payload := reqs[op.Name]
		if payload == nil {
			payload = []byte(`<` + op.Request + ` xmlns="` + op.Namespace + `" Id="_u" IssueInstant="2026-01-01T00:00:00Z"/>`)
		}
		out, err := full.SignRequest(context.Background(), op, payload)
		if err != nil {
			t.Fatalf("%s: %v", op.Name, err)
		}
		key, signed := want[op.Name]
		if !signed {
			if op.Key != ehealth.Unsigned || &out[0] != &payload[0] || len(out) != len(payload) {
				t.Errorf("%s: unsigned operation changed", op.Name)
			}
			continue
		}
		got, err := v.Verify(out)
		if err != nil {
			t.Fatalf("%s: %v", op.Name, err)
		}
		if !got.Signer.Equal(key.Chain()[0]) {
			t.Errorf("%s signed by %s, want %s", op.Name, got.Signer.Subject, key.Chain()[0].Subject)
		}

		// Without that key: a typed error that says which key is needed, and nothing signed.
		var empty sign.Keyring
		_, err = empty.SignRequest(context.Background(), op, payload)
		var mk *sign.MissingKeyError
		if !errors.As(err, &mk) || mk.Need != op.Key || mk.Operation != op.Name {
			t.Fatalf("%s without key: %v", op.Name, err)
		}
		if !strings.Contains(err.Error(), op.Key.String()) || !strings.Contains(err.Error(), op.Name) {
			t.Errorf("message %q does not name the operation and key", err)
		}
		if err := empty.Check(op); !errors.As(err, &mk) {
			t.Errorf("Check(%s) = %v", op.Name, err)
		}
		if err := full.Check(op); err != nil {
			t.Errorf("full keyring Check(%s) = %v", op.Name, err)
		}
	}
	var nilRing *sign.Keyring
	if _, err := nilRing.SignRequest(context.Background(), ehealth.Revoke, reqs["Revoke"]); !errorsAs[*sign.MissingKeyError](err) {
		t.Errorf("nil keyring: %v", err)
	}
}
