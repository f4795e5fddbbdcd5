package ehealthtest

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"
)

// Registration is a snapshot of one certificate request and what followed it (test assertions, the
// simulator's listing).
type Registration struct {
	PublicKeyIdentifier []byte
	DN                  string
	// SubjectType, SubjectID and ApplicationID identify the holder ("SSIN"/"CBE"/..., the id, the app id).
	SubjectType, SubjectID, ApplicationID string
	// EntityType is "NaturalPerson" or "Organization".
	EntityType string
	// Status is the AuthenticationCertificateStatus now (IN_PROGRESS, VALID_ACTIVE, REFUSED, REVOKED,
	// EXPIRED); ETKStatus the ETKStatus (NOT_REQUESTED, IN_REQUEST, WAIT_FOR_ACTIVATION, VALID_ACTIVE, REVOKED,
	// EXPIRED).
	Status, ETKStatus      string
	AutomaticallyValidated bool
	// Approved says the request may be certified (automatic validation, Approve or ConfirmForeigner).
	Approved bool
	// Requester is the SSIN of the eID signer of GenerateCertificate ("" for foreigners).
	Requester string
	Requested time.Time
	// Certificate is the issued authentication certificate (nil while in progress).
	Certificate *x509.Certificate
	// EncryptionCertificate and ETK are set once CompleteETKRegistration succeeded.
	EncryptionCertificate *x509.Certificate
	ETK                   []byte
	// Replaces is the PublicKeyIdentifier of the certificate this one renews.
	Replaces []byte
	// Foreigner requests carry their validation URL.
	Foreigner     bool
	ValidationURL string
}

// Registrations returns every certificate request, oldest first.
func (s *Server) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	out := make([]Registration, 0, len(s.state.Certificates))
	for _, c := range s.state.Certificates {
		out = append(out, s.snapshotLocked(c, now))
	}
	return out
}

// Registration returns the request with the given PublicKeyIdentifier.
func (s *Server) Registration(publicKeyIdentifier []byte) (Registration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.state.cert(pkiString(publicKeyIdentifier))
	if c == nil {
		return Registration{}, false
	}
	return s.snapshotLocked(c, s.clock.Now()), true
}

func (s *Server) snapshotLocked(c *certRecord, now time.Time) Registration {
	pk, _ := hex.DecodeString(c.PKI)
	r := Registration{
		PublicKeyIdentifier: pk, DN: c.DN, SubjectType: c.Subject.Type, SubjectID: c.Subject.Value,
		ApplicationID: c.Subject.ApplicationID, EntityType: c.EntityType, Status: c.authStatus(now),
		ETKStatus: c.etkStatus(now), AutomaticallyValidated: c.AutoValidated, Approved: c.Approved,
		Requester: c.Requester, Requested: c.Requested, Certificate: c.certificate(),
		Foreigner: c.Foreigner,
	}
	if len(c.ETK.EncCert) > 0 {
		r.EncryptionCertificate, _ = x509.ParseCertificate(c.ETK.EncCert)
		r.ETK = append([]byte(nil), c.ETK.ETK...)
	}
	if c.Replaces != "" {
		r.Replaces, _ = hex.DecodeString(c.Replaces)
	}
	if c.Foreigner && c.ForeignToken != "" {
		r.ValidationURL = validationURL(s.URL, c.ForeignToken)
	}
	return r
}

// Approve validates a request that waits for manual validation (AutomaticallyValidated false), as an eHealth
// operator does. The certificate is then delivered by GetCertificate (after Options.IssueAfterPolls and
// IssueDelay).
func (s *Server) Approve(publicKeyIdentifier []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.state.cert(pkiString(publicKeyIdentifier))
	switch {
	case c == nil:
		return fmt.Errorf("ehealthtest: no certificate request %X", publicKeyIdentifier)
	case c.Refused:
		return fmt.Errorf("ehealthtest: request %s was refused", c.PKI)
	case c.Foreigner:
		return fmt.Errorf("ehealthtest: request %s is a foreigner's; use ConfirmForeigner", c.PKI)
	case c.Approved:
		return nil
	}
	c.Approved = true
	c.ApprovedAt = s.clock.Now()
	return s.saveLocked()
}

// Refuse refuses a request that waits for manual validation: its status becomes REFUSED.
func (s *Server) Refuse(publicKeyIdentifier []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.state.cert(pkiString(publicKeyIdentifier))
	switch {
	case c == nil:
		return fmt.Errorf("ehealthtest: no certificate request %X", publicKeyIdentifier)
	case c.Cert != nil:
		return fmt.Errorf("ehealthtest: request %s is already certified", c.PKI)
	}
	c.Refused = true
	return s.saveLocked()
}
