package etk

import (
	"crypto/x509"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
)

// Identity identifies the holder of an eHealth certificate or ETK (see ehealth.Identity, and its Matches for the
// rule that compares a holder with the identity asked for).
type Identity = ehealth.Identity

// IdentityError reports a certificate from which no eHealth identity can be read.
type IdentityError struct {
	Subject string // the certificate subject, RFC 4514 style
	Reason  string
}

// Error describes the certificate and why no identity was found.
func (e *IdentityError) Error() string {
	if e.Subject == "" {
		return "etk: no holder identity: " + e.Reason
	}
	return "etk: no holder identity in " + e.Subject + ": " + e.Reason
}

// IdentityOf reads the holder identity from an eHealth certificate subject with certreq.IdentityOf (FACTS §7):
//   - a subject with a SERIALNUMBER attribute is an eID certificate: type SSIN, value the serial number;
//   - otherwise the type and value come from the OU of the form TYPE=digits, and the application id is another
//     OU (not "eHealth-platform Belgium" or "Federal Government", without "=") that a CN ends with,
//     after ", " (CN=TYPE=id, APPID).
//
// It fails with an *IdentityError when the subject has neither.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	if cert == nil {
		return Identity{}, &IdentityError{Reason: "no certificate"}
	}
	id, err := certreq.IdentityOf(cert)
	if err != nil {
		return Identity{}, &IdentityError{Subject: cert.Subject.String(), Reason: err.Error()}
	}
	return id, nil
}

// dnEqual reports whether two encoded distinguished names are equal in the sense of Java's LdapName
// (certreq.EquivalentRawDN): the order of the RDNs, the string types, case and spaces do not matter (old and new
// eHealth certificates encode the same DN in opposite orders, FACTS §14).
func dnEqual(a, b []byte) bool { return certreq.EquivalentRawDN(a, b) }
