package flows

import (
	"context"
	"errors"
	"strings"

	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/soap"
)

// ForeignerRequest asks for a certificate and ETK for a person without a Belgian eID (cookbook 001 §4.3.7).
type ForeignerRequest struct {
	// SSINBis is the person's SSIN-bis number.
	SSINBis string
	// FirstName and LastName as the person is known to the platform.
	FirstName, LastName string
	Contact             Contact
}

// Foreigner starts a process that obtains a certificate and ETK for a foreigner. Nothing is signed with an
// eID: the CSR (DN built locally, FACTS §7) is submitted, the person confirms the request in a browser at the
// URL given to Deps.ShowValidation, and the process waits (resumably) for the certificate. Steps
// (Steps(KindForeigner)):
//
//	auth-key → submit → show-validation → certificate → keystore → enc-key → start-etk →
//	encryption-certificate → complete-etk → keystore-etk → finish
func Foreigner(ctx context.Context, store Store, req ForeignerRequest, deps *Deps) (*Result, error) {
	if deps == nil {
		deps = &Deps{}
	}
	return start(ctx, store, deps, KindForeigner, func(st *State) error {
		ssin, err := ehealth.NormalizeIdentifier("SSIN", req.SSINBis)
		if err != nil {
			return &RequestError{Field: "SSINBis", Reason: err.Error()}
		}
		if strings.TrimSpace(req.LastName) == "" || strings.TrimSpace(req.FirstName) == "" {
			return &RequestError{Field: "FirstName/LastName", Reason: "required"}
		}
		if err := checkContact(req.Contact); err != nil {
			return err
		}
		st.Signer = Person{SSIN: ssin, FirstName: strings.TrimSpace(req.FirstName), LastName: strings.TrimSpace(req.LastName)}
		st.Subject = Subject{Type: "SSIN", ID: ssin}
		st.Contact = req.Contact
		st.Foreigner = &ForeignerRecord{}
		return nil
	})
}

func foreignerSteps() []step {
	steps := []step{
		{"auth-key", stepAuthKey},
		{"submit", stepSubmitForeigner},
		{"show-validation", stepShowValidation},
	}
	steps = append(steps, registrationSteps()...)
	return append(steps, step{"finish", stepFinish})
}

// stepSubmitForeigner sends SubmitCSRForForeigner. A re-send after a crash answered CSR_PUB_KEY_NOT_UNIQUE
// means the platform has the CSR; its validation URL was then lost (the platform also e-mails it).
func stepSubmitForeigner(ctx context.Context, p *proc) error {
	a, f := p.st.Auth, p.st.Foreigner
	if a.AcceptedAt != nil {
		return nil
	}
	a.SentAt = p.nowPtr() // saved by the checkpoint before the request
	url, exp, err := p.plat.SubmitCSRForForeigner(ctx, a.RequestID, p.st.Signer, p.st.Contact, a.CSR)
	var se *soap.StatusError
	switch {
	case err == nil:
		f.ValidationURL, f.ExpirationDate = url, exp
	case errors.As(err, &se) && se.Has(ehealth.CodeCSRPubKeyNotUnique):
		p.log.Warn("CSR already submitted; the validation URL of the first submission was not saved")
	default:
		return err
	}
	a.AcceptedAt = p.nowPtr()
	return nil
}

// stepShowValidation hands the validation URL to the user once.
func stepShowValidation(ctx context.Context, p *proc) error {
	f := p.st.Foreigner
	if f.ShownAt != nil || f.ValidationURL == "" {
		return nil
	}
	if p.deps.ShowValidation != nil {
		v := Validation{URL: f.ValidationURL}
		if f.ExpirationDate != nil {
			v.Expires = *f.ExpirationDate
		}
		if err := p.deps.ShowValidation(ctx, v); err != nil {
			return err
		}
	}
	f.ShownAt = p.nowPtr()
	p.log.Info("validation URL shown")
	return nil
}
