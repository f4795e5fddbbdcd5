package flows

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"

	"github.com/cenkalti/backoff/v5"
	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// errNotYet is the retryable outcome of one poll.
var errNotYet = errors.New("flows: certificate not yet delivered")

// stepCertificate polls GetCertificate until the certificate is delivered (CERT_NOT_YET_DELIVERED means keep
// waiting), backing off exponentially from Deps.PollInterval to Deps.MaxPollInterval. With
// Deps.StopWhenPending it returns a *PendingError at the first "not yet"; when ctx ends the wait it also
// returns a *PendingError (wrapping ctx.Err()). The delivered certificate must carry the process's key and DN.
func stepCertificate(ctx context.Context, p *proc) error {
	a := p.st.Auth
	if len(a.Chain) > 0 {
		return nil
	}
	poll := func() ([][]byte, error) {
		chain, err := p.plat.GetCertificate(ctx, a.PublicKeyIdentifier)
		if err == nil {
			return chain, nil
		}
		if !notYet(err) {
			return nil, backoff.Permanent(err)
		}
		a.Polls++
		if a.PendingSince == nil {
			a.PendingSince = p.nowPtr()
		}
		if err := p.save(ctx); err != nil {
			return nil, backoff.Permanent(err)
		}
		p.log.Debug("certificate not yet delivered", slog.Int("polls", a.Polls))
		if p.deps.StopWhenPending {
			return nil, backoff.Permanent(p.pending(nil))
		}
		return nil, errNotYet
	}
	var b backoff.BackOff = &backoff.ZeroBackOff{}
	if iv := p.deps.pollInterval(); iv > 0 {
		eb := backoff.NewExponentialBackOff()
		eb.InitialInterval = iv
		eb.MaxInterval = max(iv, p.deps.maxPollInterval())
		eb.Multiplier = 1.5
		eb.RandomizationFactor = 0.1
		b = eb
	}
	chain, err := backoff.Retry(ctx, poll, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0))
	if err != nil {
		if isContextErr(err) && ctx.Err() != nil && a.PendingSince != nil {
			return p.pending(ctx.Err())
		}
		return err
	}
	certs, err := parseChain(chain)
	if err != nil {
		return &MismatchError{What: "delivered certificate", Got: err.Error(), Want: "DER X.509 certificates"}
	}
	csr, err := x509.ParseCertificateRequest(a.CSR)
	if err != nil {
		return &StateError{Err: err}
	}
	if !bytes.Equal(certs[0].RawSubjectPublicKeyInfo, csr.RawSubjectPublicKeyInfo) {
		return &MismatchError{What: "delivered certificate key", Got: hexPKIOf(certs[0]), Want: a.PublicKeyIdentifier}
	}
	want, err1 := certreq.ParseRawDN(csr.RawSubject)
	got, err2 := certreq.ParseRawDN(certs[0].RawSubject)
	if err1 != nil || err2 != nil || !certreq.EqualDN(got, want) {
		return &MismatchError{What: "delivered certificate subject", Got: certs[0].Subject.String(), Want: csr.Subject.String()}
	}
	a.Chain = chain
	a.PendingSince = nil
	p.log.Info("certificate delivered", slog.String("serial", certs[0].SerialNumber.String()), slog.Int("polls", a.Polls))
	return nil
}

func hexPKIOf(c *x509.Certificate) string {
	b, err := certreq.PublicKeyIdentifier(c.PublicKey)
	if err != nil {
		return "?"
	}
	return hexPKI(b)
}

// notYet reports whether a GetCertificate error means "wait": CERT_NOT_YET_DELIVERED, or a certificate whose
// validity has not started yet (AUTH_CERT_NOT_YET_VALID).
func notYet(err error) bool {
	var se *soap.StatusError
	return errors.As(err, &se) && (se.Pending() || se.Has(ehealth.CodeAuthCertNotYetValid))
}

// pending builds the *PendingError of the process's wait.
func (p *proc) pending(ctxErr error) error {
	a := p.st.Auth
	e := &PendingError{Process: p.st.ID, Kind: p.st.Kind, Step: "certificate", AutomaticallyValidated: a.AutomaticallyValidated, Err: ctxErr}
	if a.PendingSince != nil {
		e.Since = *a.PendingSince
	}
	if f := p.st.Foreigner; f != nil {
		e.ValidationURL, e.ValidationExpires = f.ValidationURL, f.ExpirationDate
	}
	return e
}

// authSigner makes the new authentication key (with its delivered chain) the eHealth authentication key that
// signs EtkRA requests.
func (p *proc) authSigner(ctx context.Context) (sign.Key, *x509.Certificate, error) {
	key, err := p.loadAuthKey(ctx)
	if err != nil {
		return nil, nil, err
	}
	chain, err := parseChain(p.st.Auth.Chain)
	if err != nil {
		return nil, nil, &StateError{Err: err}
	}
	k, err := sign.NewKey(key, chain)
	if err != nil {
		return nil, nil, err
	}
	p.keyring.EHealthAuthentication = k
	return k, chain[0], nil
}

// stepKeystore writes the keystore with the new key under "authentication" and its chain (plus trusted
// entries), so that the certificate is usable even if the ETK registration never finishes.
func stepKeystore(ctx context.Context, p *proc) error {
	return p.writeKeystore(ctx, false)
}

// stepEncKey generates the encryption key and stages it, encrypted: the checkpoint before
// StartETKRegistration, which sends its public key, writes it.
func stepEncKey(ctx context.Context, p *proc) error {
	if p.st.Enc != nil {
		return nil
	}
	key, err := p.deps.generateKey()
	if err != nil {
		return err
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := p.writeKey(FileEncKey, key); err != nil {
		return err
	}
	p.encKey = key
	p.st.Enc = &EncRecord{PublicKey: spki}
	return nil
}

// stepStartETK sends StartETKRegistration (eHealth authentication key) and keeps the challenge. Sending it
// again after a crash only draws a new challenge.
func stepStartETK(ctx context.Context, p *proc) error {
	e := p.st.Enc
	if e.Cert != nil {
		return nil
	}
	if _, _, err := p.authSigner(ctx); err != nil {
		return err
	}
	ch, err := p.plat.StartETKRegistration(ctx, e.PublicKey)
	if err != nil {
		return err
	}
	e.Challenge = ch
	return nil
}

// stepEncryptionCertificate decrypts and checks the challenge with the encryption key and builds the
// encryption certificate (FACTS §8), signed with the authentication key.
func stepEncryptionCertificate(ctx context.Context, p *proc) error {
	e := p.st.Enc
	if e.Cert != nil {
		return nil
	}
	encKey, err := p.loadEncKey(ctx)
	if err != nil {
		return err
	}
	dec, ok := encKey.(*rsa.PrivateKey)
	if !ok {
		return &StateError{Err: errors.New("encryption key is not RSA")}
	}
	serial, err := etk.SolveChallenge(dec, e.Challenge)
	if err != nil {
		return err
	}
	authKey, authCert, err := p.authSigner(ctx)
	if err != nil {
		return err
	}
	cert, err := etk.NewEncryptionCertificate(p.deps.rand(), authKey, authCert, encKey.Public(), serial)
	if err != nil {
		return err
	}
	e.Serial = serial.String()
	e.Cert = cert
	return nil
}

// stepCompleteETK sends CompleteETKRegistration and saves the ETK. After a crash between sending and saving,
// the re-send is answered VALID_ETK_ALREADY_EXISTS: the process then asks
// GetCertificateInfoForAuthenticationCertificate whether the ETK is registered and goes on.
func stepCompleteETK(ctx context.Context, p *proc) error {
	e := p.st.Enc
	if e.ETKSHA256 != "" {
		return nil
	}
	if _, _, err := p.authSigner(ctx); err != nil {
		return err
	}
	// The checkpoint before the request saves the certificate it registers; a re-send is recognised by its
	// answer (VALID_ETK_ALREADY_EXISTS) whether or not this one got through.
	e.CompleteSentAt = p.nowPtr()
	raw, toBeActivated, err := p.plat.CompleteETKRegistration(ctx, e.Cert)
	var se *soap.StatusError
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Has(ehealth.CodeValidETKAlreadyExists):
		return p.confirmETK(ctx)
	default:
		return err
	}
	parsed, err := etk.Parse(raw)
	if err != nil {
		return err
	}
	if !bytes.Equal(parsed.EncryptionCertificate.Raw, e.Cert) {
		return &MismatchError{What: "ETK encryption certificate", Got: parsed.EncryptionCertificate.SerialNumber.String(), Want: e.Serial}
	}
	p.stage(FileETK, raw)
	sum := sha256.Sum256(raw)
	e.ETKSHA256 = hex.EncodeToString(sum[:])
	e.ToBeActivated = toBeActivated
	p.log.Info("ETK registered", slog.String("serial", e.Serial), slog.Bool("toBeActivated", toBeActivated))
	return nil
}

// etkConfirmed is the ETKSHA256 value of an ETK the platform confirmed but did not return again.
const etkConfirmed = "confirmed"

func (e *EncRecord) confirmed() bool { return e.ETKSHA256 == etkConfirmed }

// confirmETK checks, after VALID_ETK_ALREADY_EXISTS, that the platform holds an ETK for the new certificate.
func (p *proc) confirmETK(ctx context.Context) error {
	info, err := p.plat.CertificateInfo(ctx)
	if err != nil {
		return err
	}
	e := p.st.Enc
	switch info.ETKStatus {
	case "VALID_ACTIVE":
		e.ToBeActivated = false
	case "WAIT_FOR_ACTIVATION":
		e.ToBeActivated = true
	default:
		return &MismatchError{What: "ETK status after VALID_ETK_ALREADY_EXISTS", Got: info.ETKStatus, Want: "VALID_ACTIVE or WAIT_FOR_ACTIVATION"}
	}
	e.ETKSHA256 = etkConfirmed
	p.log.Info("ETK already registered", slog.String("serial", e.Serial), slog.String("etkStatus", info.ETKStatus))
	if !e.ToBeActivated {
		p.fetchETK(ctx)
	}
	return nil
}

// fetchETK gets an ETK that the platform registered but whose CompleteETKRegistration answer was lost from the
// ETK depot, keeping it only if it holds this process's encryption certificate. It is best effort: without
// it the keystore is complete and only the ETK file is missing.
func (p *proc) fetchETK(ctx context.Context) {
	e := p.st.Enc
	if p.deps.Environment.ETKDepot == "" {
		return
	}
	if err := p.beforeSend(ctx, false); err != nil {
		p.log.Warn("ETK not fetched from the depot", slog.Any("error", err))
		return
	}
	var found []byte
	c := &etkdepot.Client{BaseURL: p.deps.Environment.ETKDepot, HTTPClient: p.deps.soap().HTTPClient, Now: p.deps.Now,
		ValidateETK: func(raw []byte, _ etkdepot.Identity) error {
			parsed, err := etk.Parse(raw)
			if err != nil {
				return err
			}
			if !bytes.Equal(parsed.EncryptionCertificate.Raw, e.Cert) {
				return errors.New("not this process's ETK")
			}
			found = raw
			return nil
		}}
	s := p.st.Subject
	if _, err := c.ETKs(ctx, s.Type, s.ID, s.ApplicationID); err != nil || found == nil {
		p.log.Warn("ETK not found in the depot; the keystore is complete, the ETK file is missing", slog.Any("error", err))
		return
	}
	p.stage(FileETK, found)
	sum := sha256.Sum256(found)
	e.ETKSHA256 = hex.EncodeToString(sum[:])
	p.log.Info("ETK fetched from the depot", slog.String("serial", e.Serial))
}

// stepKeystoreETK adds the encryption key under its decimal serial to the keystore.
func stepKeystoreETK(ctx context.Context, p *proc) error {
	return p.writeKeystore(ctx, true)
}

// stepActivate sends ActivateETK for a replacement ETK. RENEW_ACTIVATION_ETK_ALREADY_ACTIF means done.
func stepActivate(ctx context.Context, p *proc) error {
	e := p.st.Enc
	if !e.ToBeActivated || e.Activated {
		return nil
	}
	if r := p.st.Renewal; r != nil && r.DeferActivation {
		p.log.Info("activation deferred", slog.String("serial", e.Serial))
		return nil
	}
	if _, _, err := p.authSigner(ctx); err != nil {
		return err
	}
	return p.activate(ctx)
}

// activate sends ActivateETK with the keyring's eHealth authentication key.
func (p *proc) activate(ctx context.Context) error {
	e := p.st.Enc
	err := p.plat.ActivateETK(ctx)
	var se *soap.StatusError
	if err != nil && !(errors.As(err, &se) && se.Has(ehealth.CodeRenewActivationETKAlreadyActive)) {
		return err
	}
	e.Activated = true
	p.log.Info("ETK activated", slog.String("serial", e.Serial))
	if e.confirmed() {
		p.fetchETK(ctx)
	}
	return nil
}

// stepFinish checks that the keystore (staged, or on disk when an earlier checkpoint wrote it) holds every new
// key. The engine then saves the finished state, the files still staged first (the keystore, the ETK), and only
// once that is durable deletes the encrypted pending key files (removePendingKeys).
func stepFinish(ctx context.Context, p *proc) error {
	return p.verifyKeystore(ctx)
}

// removePendingKeys deletes the encrypted pending key files of a finished process: the keystore holds their
// keys (checked by finish, on disk before the finished state was saved).
func (p *proc) removePendingKeys(ctx context.Context) error {
	for _, n := range []string{FileAuthKey, FileEncKey} {
		if err := p.store.Delete(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
