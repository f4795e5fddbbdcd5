package ehealthtest

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/gen/etkra"
)

// EtkRA v2: the three operations are signed with the eHealth authentication key of the certificate the ETK is
// for. Each handler runs with s.mu held.

// etkHolderLocked finds the registered, unrevoked authentication certificate that signed an EtkRA request.
func (s *Server) etkHolderLocked(req *soapRequest) (*certRecord, *opError) {
	c, oerr := s.authRecordLocked(req.signer)
	if oerr != nil {
		return nil, oerr
	}
	switch c.authStatus(req.now) {
	case statusRevoked:
		return nil, fail(ehealth.CodeETKForAuthCertRevoked, "")
	case statusExpired:
		return nil, fail(ehealth.CodeETKForAuthCertExpired, "")
	}
	if req.now.Before(c.certificate().NotBefore) {
		return nil, fail(ehealth.CodeETKForAuthCertNotYetValid, "")
	}
	return c, nil
}

func (s *Server) startETKRegistration(req *soapRequest, in any) (any, *opError) {
	r := in.(*etkra.StartETKRegistrationRequest)
	c, oerr := s.etkHolderLocked(req)
	if oerr != nil {
		return nil, oerr
	}
	switch c.etkStatus(req.now) {
	case etkValidActive, etkWaitForActivation:
		return nil, fail(ehealth.CodeValidETKAlreadyExists, "this authentication certificate already has an ETK")
	}
	if len(r.PublicEncryptionKey) == 0 {
		return nil, reject("PublicEncryptionKey is missing")
	}
	pub, err := x509.ParsePKIXPublicKey(r.PublicEncryptionKey)
	if err != nil {
		return nil, fail(ehealth.CodeCSRPublicKeyInvalid, "PublicEncryptionKey is not a DER SubjectPublicKeyInfo")
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok || rsaPub.N.BitLen() < 2048 {
		return nil, fail(ehealth.CodeCSRPublicKeyInvalid, "the encryption key must be RSA of at least 2048 bits")
	}
	id, err := certreq.PublicKeyIdentifier(pub)
	if err != nil {
		return nil, fail(ehealth.CodeCSRPublicKeyInvalid, err.Error())
	}
	if s.encKeyUsedLocked(c, pkiString(id)) {
		return nil, fail(ehealth.CodeValidETKAlreadyExists, "")
	}
	challenge, serial, err := etk.NewChallenge(s.opts.Rand, rsaPub)
	if err != nil {
		return nil, &opError{status: ehealth.StatusResponder, message: "cannot create the challenge"}
	}
	c.ETK = etkRecord{Status: etkInRequest, PendingKey: append([]byte(nil), r.PublicEncryptionKey...), Serial: serial.String()}
	return &etkra.StartETKRegistrationResponse{Challenge: challenge}, nil
}

// encKeyUsedLocked reports whether an encryption key is registered (or being registered) for a certificate
// other than c, or is an authentication key.
func (s *Server) encKeyUsedLocked(c *certRecord, idHex string) bool {
	for _, o := range s.state.Certificates {
		if o.PKI == idHex {
			return true
		}
		if o == c {
			continue
		}
		if len(o.ETK.PendingKey) > 0 {
			if id, err := certreq.PublicKeyIdentifierFromSPKI(o.ETK.PendingKey); err == nil && pkiString(id) == idHex {
				return true
			}
		}
	}
	return false
}

func (s *Server) completeETKRegistration(req *soapRequest, in any) (any, *opError) {
	r := in.(*etkra.CompleteETKRegistrationRequest)
	c, oerr := s.etkHolderLocked(req)
	if oerr != nil {
		return nil, oerr
	}
	switch c.etkStatus(req.now) {
	case etkValidActive, etkWaitForActivation:
		return nil, fail(ehealth.CodeValidETKAlreadyExists, "")
	case etkInRequest:
	default:
		return nil, fail(ehealth.CodePublicKeyNotYetRegistered, "call StartETKRegistration first")
	}
	if len(r.ToBeRegistered) == 0 {
		return nil, reject("ToBeRegistered is missing")
	}
	serial, ok := new(big.Int).SetString(c.ETK.Serial, 10)
	if !ok {
		return nil, fail(ehealth.CodePublicKeyNotYetRegistered, "")
	}
	auth := c.certificate()
	if err := etk.CheckEncryptionCertificate(r.ToBeRegistered, auth, serial); err != nil {
		oerr := &opError{message: "The encryption certificate (ToBeRegistered) is not valid: " + err.Error()}
		var ve *etk.ValidationError
		if errors.As(err, &ve) {
			for _, code := range ve.Codes() {
				oerr.errors = append(oerr.errors, eteeError{Code: code, Message: "The encryption certificate is not valid (" + code + ")"})
			}
		}
		return nil, oerr
	}
	enc, err := x509.ParseCertificate(r.ToBeRegistered)
	if err != nil {
		return nil, fail(ehealth.CodeRequestHasNoValidCMSFormat, "")
	}
	if string(enc.RawSubjectPublicKeyInfo) != string(c.ETK.PendingKey) {
		return nil, fail(ehealth.CodePublicKeyNotYetRegistered, "the key of ToBeRegistered is not the one given to StartETKRegistration")
	}
	der, err := etk.Build(r.ToBeRegistered, []*x509.Certificate{auth, s.ehealthCA.Cert, s.root.Cert}, s.etkra.Key, s.etkra.Cert)
	if err != nil {
		s.logf("build ETK: %v", err)
		return nil, &opError{status: ehealth.StatusResponder, message: "cannot build the ETK"}
	}
	// A holder with an active ETK gets the new one waiting for ActivateETK (a renewal).
	toBeActivated := false
	for _, o := range s.state.Certificates {
		if o != c && o.Subject == c.Subject && o.etkStatus(req.now) == etkValidActive {
			toBeActivated = true
		}
	}
	c.ETK.EncCert = append([]byte(nil), r.ToBeRegistered...)
	c.ETK.ETK = der
	c.ETK.Registered = req.now
	if toBeActivated {
		c.ETK.Status = etkWaitForActivation
	} else {
		c.ETK.Status = etkValidActive
		c.ETK.Activated = req.now
	}
	return &etkra.CompleteETKRegistrationResponse{ETK: der, ToBeActivated: boolp(toBeActivated)}, nil
}

func (s *Server) activateETK(req *soapRequest, in any) (any, *opError) {
	c, oerr := s.etkHolderLocked(req)
	if oerr != nil {
		return nil, oerr
	}
	switch c.etkStatus(req.now) {
	case etkValidActive:
		return nil, fail(ehealth.CodeRenewActivationETKAlreadyActive, "")
	case etkWaitForActivation:
	default:
		return nil, fail(ehealth.CodePublicKeyNotYetRegistered, "this authentication certificate has no registered ETK")
	}
	for _, o := range s.state.Certificates {
		if o != c && o.Subject == c.Subject && o.etkStatus(req.now) == etkValidActive {
			o.ETK.Superseded = true
		}
	}
	c.ETK.Status = etkValidActive
	c.ETK.Activated = req.now
	return &etkra.ActivateETKResponse{}, nil
}
