package etk

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"
)

// Build makes an ETK the way the ETK-RA does: a CMS SignedData whose encapsulated content (id-data) is
// encCertDER, signed by signer (whose certificate is signerCert) with SHA-256 and the signed attributes
// contentType, messageDigest and signingTime, carrying the certificates signerCert, then authChain (the
// holder's authentication certificate first, then its CA certificates). It is meant for local simulators and
// tests; the result parses with Parse and verifies with `openssl cms -verify`.
func Build(encCertDER []byte, authChain []*x509.Certificate, signer crypto.Signer, signerCert *x509.Certificate) ([]byte, error) {
	if _, err := x509.ParseCertificate(encCertDER); err != nil {
		return nil, fmt.Errorf("etk: build: encryption certificate: %w", err)
	}
	if len(authChain) == 0 || authChain[0] == nil {
		return nil, errors.New("etk: build: no authentication certificate")
	}
	if signer == nil || signerCert == nil {
		return nil, errors.New("etk: build: no signer")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := signer.Public().(equaler); !ok || !pub.Equal(signerCert.PublicKey) {
		return nil, errors.New("etk: build: the signer key does not match the signer certificate")
	}
	sd, err := pkcs7.NewSignedData(encCertDER)
	if err != nil {
		return nil, fmt.Errorf("etk: build: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(signerCert, signer, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("etk: build: signing: %w", err)
	}
	for _, c := range authChain {
		if c == nil {
			return nil, errors.New("etk: build: nil certificate in the authentication chain")
		}
		sd.AddCertificate(c)
	}
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("etk: build: %w", err)
	}
	return der, nil
}
