package flows

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"regexp"
	"strings"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/soap"
	"github.com/google/uuid"
)

// The revocation reasons the platform accepts (RevocationReasonType).
const (
	ReasonKeyCompromise        = "keyCompromise"
	ReasonAffiliationChanged   = "affiliationChanged"
	ReasonSuperseded           = "superseded"
	ReasonCessationOfOperation = "cessationOfOperation"
)

// RevokeRequest asks to revoke a certificate and its ETK (cookbook 001 §4.3.6).
type RevokeRequest struct {
	// PublicKeyIdentifier is the hex key id of the certificate to revoke; or give Certificate.
	PublicKeyIdentifier string
	Certificate         *x509.Certificate
	// Reason is one of ReasonKeyCompromise, ReasonAffiliationChanged, ReasonSuperseded,
	// ReasonCessationOfOperation.
	Reason string
	// Signer is the eID holder who signs the revocation; empty fields come from the eID certificates.
	Signer Person
}

var hexPKIPattern = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)

// Revoke starts a process that revokes a certificate. Steps (Steps(KindRevoke)):
//
//	revocation-contract → accept → revoke
//
// The revocation is signed with Deps.EIDSignature, after Deps.Accept accepted the revocation contract.
func Revoke(ctx context.Context, store Store, req RevokeRequest, deps *Deps) (*Result, error) {
	if deps == nil {
		deps = &Deps{}
	}
	return start(ctx, store, deps, KindRevoke, func(st *State) error {
		pki := strings.TrimSpace(req.PublicKeyIdentifier)
		if req.Certificate != nil {
			b, err := certreq.PublicKeyIdentifier(req.Certificate.PublicKey)
			if err != nil {
				return &RequestError{Field: "Certificate", Reason: err.Error()}
			}
			if pki != "" && !samePKI(pki, hexPKI(b)) {
				return &RequestError{Field: "PublicKeyIdentifier", Reason: "does not match Certificate"}
			}
			pki = hexPKI(b)
		}
		if !hexPKIPattern.MatchString(pki) {
			return &RequestError{Field: "PublicKeyIdentifier", Reason: "must be 40 hex digits (20 bytes)"}
		}
		switch req.Reason {
		case ReasonKeyCompromise, ReasonAffiliationChanged, ReasonSuperseded, ReasonCessationOfOperation:
		default:
			return &RequestError{Field: "Reason", Reason: "must be keyCompromise, affiliationChanged, superseded or cessationOfOperation"}
		}
		signer, err := signerOf(req.Signer, deps.EIDAuthentication, deps.EIDSignature)
		if err != nil {
			return err
		}
		st.Signer = signer
		st.Revocation = &RevocationRecord{PublicKeyIdentifier: strings.ToUpper(pki), Reason: req.Reason, RequestID: "_" + uuid.NewString()}
		return nil
	})
}

func revokeSteps() []step {
	return []step{
		{"revocation-contract", stepRevocationContract},
		{"accept", stepAccept},
		{"revoke", stepRevoke},
	}
}

func stepRevocationContract(ctx context.Context, p *proc) error {
	if p.st.Contract != nil {
		return nil
	}
	r := p.st.Revocation
	c, err := p.plat.GenerateRevocationContract(ctx, "_"+uuid.NewString(), r.PublicKeyIdentifier, p.st.Signer, r.Reason)
	if err != nil {
		return err
	}
	p.st.Contract = c
	return nil
}

// stepRevoke sends Revoke with the accepted contract, signed with the eID Signature key.
func stepRevoke(ctx context.Context, p *proc) error {
	r := p.st.Revocation
	if r.RevokedAt != nil {
		return nil
	}
	if p.deps.EIDSignature == nil {
		return &MissingDependencyError{Field: "Deps.EIDSignature"}
	}
	if p.st.Contract == nil || p.st.Contract.AcceptedAt == nil {
		return &StateError{Err: errors.New("revocation contract not accepted")}
	}
	resend := r.SentAt != nil
	r.SentAt = p.nowPtr() // saved by the checkpoint before the request
	if err := p.plat.Revoke(ctx, r.RequestID, r.PublicKeyIdentifier, p.st.Contract.XML); err != nil {
		var se *soap.StatusError
		if !resend || !errors.As(err, &se) || p.deps.EIDAuthentication == nil {
			return err
		}
		// A re-send after a crash: the first Revoke may have gone through. Ask the platform.
		infos, ierr := p.plat.CertificatesForCitizen(ctx)
		if ierr != nil {
			return err
		}
		revoked := false
		for _, i := range infos {
			if samePKI(i.PublicKeyIdentifier, r.PublicKeyIdentifier) && i.Status == "REVOKED" {
				revoked = true
			}
		}
		if !revoked {
			return err
		}
		p.log.Info("certificate already revoked", slog.String("publicKeyIdentifier", r.PublicKeyIdentifier))
	}
	r.RevokedAt = p.nowPtr()
	p.log.Info("certificate revoked", slog.String("publicKeyIdentifier", r.PublicKeyIdentifier))
	return nil
}
