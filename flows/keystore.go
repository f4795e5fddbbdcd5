package flows

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"

	"github.com/ehcert/ehcert/keystore"
	"github.com/ehcert/ehcert/sign"
)

// AliasAuthentication is the keystore alias of the authentication key (FACTS §9).
const AliasAuthentication = keystore.AuthenticationAlias

// openPrevious opens the keystore being renewed and returns its authentication key.
func openPrevious(data []byte, password string) (sign.Key, error) {
	if len(data) == 0 {
		return nil, &RequestError{Field: "Keystore", Reason: "required"}
	}
	if password == "" {
		return nil, &MissingDependencyError{Field: "Deps.Password"}
	}
	ks, err := keystore.Decode(data, []byte(password))
	if err != nil {
		return nil, &RequestError{Field: "Keystore", Reason: err.Error(), Err: err}
	}
	return authEntry(ks)
}

func authEntry(ks *keystore.Keystore) (sign.Key, error) {
	for _, e := range ks.Keys {
		if e.Alias == AliasAuthentication {
			s, ok := e.Signer()
			if !ok {
				return nil, &RequestError{Field: "Keystore", Reason: "the authentication key cannot sign"}
			}
			k, err := sign.NewKey(s, e.Chain)
			if err != nil {
				return nil, &RequestError{Field: "Keystore", Reason: err.Error(), Err: err}
			}
			return k, nil
		}
	}
	return nil, &RequestError{Field: "Keystore", Reason: `no key under the alias "authentication"`}
}

// loadPrevious opens the copy of the keystore being renewed.
func (p *proc) loadPrevious(ctx context.Context) (sign.Key, error) {
	if p.oldAuth != nil {
		return p.oldAuth, nil
	}
	b, err := p.store.Get(ctx, FilePrevious)
	if err != nil {
		return nil, err
	}
	k, err := openPrevious(b, p.deps.Password)
	if err != nil {
		return nil, err
	}
	p.oldAuth = k
	return k, nil
}

// buildKeystore assembles the output keystore: for a renewal every entry of the previous keystore (its
// authentication key moved to "authentication-<serial>"), then the new authentication key with its chain and
// a trusted entry per chain certificate, then (withEnc) the encryption key under its decimal serial.
func (p *proc) buildKeystore(ctx context.Context, withEnc bool) (*keystore.Keystore, error) {
	ks := &keystore.Keystore{}
	if p.st.Kind == KindRenew {
		b, err := p.store.Get(ctx, FilePrevious)
		if err != nil {
			return nil, err
		}
		prev, err := keystore.Decode(b, []byte(p.deps.Password))
		if err != nil {
			return nil, err
		}
		for _, e := range prev.Keys {
			if e.Alias == AliasAuthentication {
				e.Alias = AliasAuthentication + "-" + p.st.Renewal.OldSerial
			}
			ks.Keys = append(ks.Keys, e)
		}
		ks.Trusted = append(ks.Trusted, prev.Trusted...)
	}
	authKey, err := p.loadAuthKey(ctx)
	if err != nil {
		return nil, err
	}
	chain, err := parseChain(p.st.Auth.Chain)
	if err != nil {
		return nil, &StateError{Err: err}
	}
	ks.Keys = append(ks.Keys, keystore.KeyEntry{Alias: AliasAuthentication, Key: authKey, Chain: chain})
	if err := ks.AddTrustedChain(chain); err != nil {
		return nil, err
	}
	if withEnc {
		encKey, err := p.loadEncKey(ctx)
		if err != nil {
			return nil, err
		}
		encCert, err := x509.ParseCertificate(p.st.Enc.Cert)
		if err != nil {
			return nil, &StateError{Err: err}
		}
		ks.Keys = append(ks.Keys, keystore.KeyEntry{Alias: p.st.Enc.Serial, Key: encKey, Chain: []*x509.Certificate{encCert}})
	}
	return ks, nil
}

// writeKeystore stages FileKeystore (written atomically at the next checkpoint).
func (p *proc) writeKeystore(ctx context.Context, withEnc bool) error {
	ks, err := p.buildKeystore(ctx, withEnc)
	if err != nil {
		return err
	}
	b, err := keystore.Encode(p.deps.rand(), ks, []byte(p.deps.Password))
	if err != nil {
		return err
	}
	p.stage(FileKeystore, b)
	return nil
}

// verifyKeystore checks that FileKeystore, as staged for the next checkpoint or else as stored, holds the new
// keys under their aliases.
func (p *proc) verifyKeystore(ctx context.Context) error {
	b, ok := p.stagedFile(FileKeystore)
	if !ok {
		var err error
		if b, err = p.store.Get(ctx, FileKeystore); err != nil {
			return err
		}
	}
	ks, err := keystore.Decode(b, []byte(p.deps.Password))
	if err != nil {
		return err
	}
	want := map[string][]byte{}
	if a := p.st.Auth; a != nil {
		csr, err := x509.ParseCertificateRequest(a.CSR)
		if err != nil {
			return &StateError{Err: err}
		}
		want[AliasAuthentication] = csr.RawSubjectPublicKeyInfo
	}
	if e := p.st.Enc; e != nil && e.Serial != "" {
		want[e.Serial] = e.PublicKey
	}
	for alias, spki := range want {
		found := false
		for _, e := range ks.Keys {
			s, ok := e.Signer()
			if e.Alias != alias || !ok {
				continue
			}
			got, err := x509.MarshalPKIXPublicKey(s.Public())
			if err == nil && bytes.Equal(got, spki) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("flows: keystore check: %w", &MismatchError{What: "keystore entry " + alias, Got: "missing or other key", Want: "the process's key"})
		}
	}
	return nil
}
