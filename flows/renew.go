package flows

import (
	"context"
	"log/slog"
	"slices"

	"github.com/ehcert/ehcert/certreq"
)

// RenewRequest asks to replace a certificate in its replacement period (cookbook 001 §4.3.5).
type RenewRequest struct {
	// Keystore is the keystore holding the certificate to replace under the alias "authentication", as a
	// PKCS#12 file; its password is Deps.Password. It is copied into the store (FilePrevious); the new keystore
	// keeps all its entries (old encryption keys are needed to read older messages), the replaced
	// authentication key moving to the alias "authentication-<serial>".
	Keystore []byte
	// Signer is the eID holder signing the contract; empty fields come from the eID certificates.
	Signer Person
	// Contact and BaseServiceUsage default to those the platform holds for the certificate replaced.
	Contact          *Contact
	BaseServiceUsage []string
	// DeferActivation leaves the new ETK waiting for activation when the process ends: senders keep
	// encrypting to the old ETK until Activate is called ("decide when to activate", cookbook §4.3.5).
	DeferActivation bool
}

// Renew starts a process that replaces the certificate of req.Keystore with a new one of the same DN and
// registers and activates its ETK. Steps (Steps(KindRenew)):
//
//	certificate-info → contract → accept → auth-key → generate-certificate → certificate → keystore →
//	enc-key → start-etk → encryption-certificate → complete-etk → keystore-etk → activate → finish
//
// certificate-info asks GetCertificateInfoForAuthenticationCertificate, signed with the key being replaced;
// unless it says Replaceable the process stops with a *NotReplaceableError.
func Renew(ctx context.Context, store Store, req RenewRequest, deps *Deps) (*Result, error) {
	if deps == nil {
		deps = &Deps{}
	}
	return start(ctx, store, deps, KindRenew, func(st *State) error {
		old, err := openPrevious(req.Keystore, deps.Password)
		if err != nil {
			return err
		}
		cert := old.Chain()[0]
		subj, err := certreq.SubjectOf(cert)
		if err != nil {
			return &RequestError{Field: "Keystore", Reason: "the authentication certificate has no eHealth identity: " + err.Error()}
		}
		signer, err := signerOf(req.Signer, deps.EIDAuthentication, deps.EIDSignature)
		if err != nil {
			return err
		}
		st.Signer = signer
		st.Subject = Subject{Type: subj.Type, ID: subj.Value, ApplicationID: subj.ApplicationID}
		if !st.Subject.IsPerson() {
			st.Subject.Name = subj.Name
		}
		dn, err := certreq.FormatRawDN(cert.RawSubject)
		if err != nil {
			return &RequestError{Field: "Keystore", Reason: err.Error()}
		}
		pki, err := certreq.PublicKeyIdentifier(cert.PublicKey)
		if err != nil {
			return &RequestError{Field: "Keystore", Reason: err.Error()}
		}
		st.Renewal = &RenewalRecord{OldSerial: cert.SerialNumber.String(), OldPublicKeyIdentifier: hexPKI(pki), DN: dn,
			NotAfter: cert.NotAfter.UTC(), DeferActivation: req.DeferActivation}
		if req.Contact != nil {
			if err := checkContact(*req.Contact); err != nil {
				return err
			}
			st.Contact = *req.Contact
		}
		st.BaseServiceUsage = slices.Clone(req.BaseServiceUsage)
		return storePrevious(ctx, store, req.Keystore)
	})
}

func storePrevious(ctx context.Context, store Store, b []byte) error {
	return store.Put(ctx, FilePrevious, b)
}

func renewSteps() []step {
	steps := []step{
		{"certificate-info", stepCertificateInfo},
		{"contract", stepContract},
		{"accept", stepAccept},
		{"auth-key", stepAuthKey},
		{"generate-certificate", stepGenerateCertificate},
	}
	steps = append(steps, registrationSteps()...)
	return append(steps, step{"activate", stepActivate}, step{"finish", stepFinish})
}

// stepCertificateInfo asks the platform, with the key being replaced, whether the certificate is replaceable.
func stepCertificateInfo(ctx context.Context, p *proc) error {
	r := p.st.Renewal
	old, err := p.loadPrevious(ctx)
	if err != nil {
		return err
	}
	p.keyring.EHealthAuthentication = old
	info, err := p.plat.CertificateInfo(ctx)
	if err != nil {
		return err
	}
	r.Replaceable = info.Replaceable
	r.ReplacementPeriodStart = info.ReplacementPeriodStart
	if !info.Replaceable || (info.Status != "" && info.Status != "VALID_ACTIVE") {
		ne := &NotReplaceableError{Status: info.Status, ReplacementPeriodStart: info.ReplacementPeriodStart}
		na := r.NotAfter
		ne.NotAfter = &na
		return ne
	}
	if info.PublicKeyIdentifier != "" && !samePKI(info.PublicKeyIdentifier, r.OldPublicKeyIdentifier) {
		return &MismatchError{What: "certificate info PublicKeyIdentifier", Got: info.PublicKeyIdentifier, Want: r.OldPublicKeyIdentifier}
	}
	if p.st.Contact.EmailPrivate == "" {
		p.st.Contact = info.Contact
		if err := checkContact(p.st.Contact); err != nil {
			return err
		}
	}
	if p.st.BaseServiceUsage == nil {
		p.st.BaseServiceUsage = slices.Clone(info.BaseServiceUsage)
	}
	p.log.Info("certificate replaceable", slog.String("serial", r.OldSerial))
	return nil
}

// Activate sends ActivateETK for a finished renewal whose activation was deferred (RenewRequest.DeferActivation),
// signed with the new authentication key from the process's keystore. An ETK already active is not an error.
// Activating a process that is already activated sends nothing.
func Activate(ctx context.Context, store Store, deps *Deps) (*Result, error) {
	p, unlock, err := openProc(ctx, store, deps)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st := p.st
	if st.Kind != KindRenew || !st.Done || st.Enc == nil {
		return nil, &RequestError{Field: "store", Reason: "Activate needs a finished renewal"}
	}
	if !st.Enc.ToBeActivated || st.Enc.Activated {
		return p.result(ctx)
	}
	fail := func(err error) (*Result, error) { return nil, p.fail(ctx, "activate", err) }
	b, err := store.Get(ctx, FileKeystore)
	if err != nil {
		return fail(err)
	}
	key, err := openPrevious(b, deps.Password)
	if err != nil {
		return fail(err)
	}
	p.keyring.EHealthAuthentication = key
	if err := p.activate(ctx); err != nil {
		return fail(err)
	}
	if err := p.save(ctx); err != nil {
		return fail(err)
	}
	return p.result(ctx)
}
