package certreq

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/ehcert/ehcert/ehealth"
)

// Fixed parts of every eHealth distinguished name (FACTS §7).
const (
	OUEHealthPlatform   = "eHealth-platform Belgium"
	OrgFederalGov       = "Federal Government"
	CountryBelgium      = "BE"
	IdentifierTypeSSIN  = "SSIN"
	maxApplicationIDLen = 30
)

// Errors returned when a Subject cannot be turned into a distinguished name.
var (
	// ErrInvalidApplicationID: the application id does not match [0-9A-Z-_]{1,30} after normalisation.
	ErrInvalidApplicationID = errors.New("certreq: application id must match [0-9A-Z-_]{1,30} after normalisation")
	// ErrInvalidIdentifier: the identifier type is not an ETK type string or the value is not digits.
	ErrInvalidIdentifier = errors.New("certreq: invalid identifier")
	// ErrEmptyName: the subject has no name.
	ErrEmptyName = errors.New("certreq: empty name")
	// ErrNoIdentity: a certificate subject carries no eHealth identifier (no TYPE=digits OU, no SERIALNUMBER).
	ErrNoIdentity = errors.New("certreq: certificate subject carries no eHealth identifier")
)

// Identity identifies the holder of an eHealth certificate: identifier type, value and optional application id
// (an alias of ehealth.Identity, shared with packages etk and etkdepot).
type Identity = ehealth.Identity

// Subject is the holder of an eHealth certificate: its identity and its NAME OU. For a person the connector
// uses "<FirstName> <LastName>" from the eID (NaturalPersonSubject); for a foreigner "<LASTNAME> <FIRSTNAME>"
// (ForeignerSubject); for an organisation the organisation name. Name and ApplicationID are normalised by DN.
type Subject struct {
	Identity
	Name string
}

// NaturalPersonSubject returns the subject the connector builds for a Belgian eID holder: type SSIN and NAME
// "<firstName> <lastName>".
func NaturalPersonSubject(ssin, firstName, lastName string) Subject {
	return Subject{Identity: Identity{Type: IdentifierTypeSSIN, Value: ssin}, Name: firstName + " " + lastName}
}

// ForeignerSubject returns the subject the connector builds locally for SubmitCSRForForeigner (FACTS §7): type
// SSIN with the SSIN-bis number and NAME "<lastName> <firstName>" (last name first).
func ForeignerSubject(ssinBis, lastName, firstName string) Subject {
	return Subject{Identity: Identity{Type: IdentifierTypeSSIN, Value: ssinBis}, Name: lastName + " " + firstName}
}

// OrganizationSubject returns the subject of an organisation certificate: its ETK identifier type and value, its
// name and an optional application id.
func OrganizationSubject(typ, id, name, applicationID string) Subject {
	return Subject{Identity: Identity{Type: typ, Value: id, ApplicationID: applicationID}, Name: name}
}

var (
	typePattern  = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*$`)
	digits       = regexp.MustCompile(`^[0-9]+$`)
	appIDPattern = regexp.MustCompile(`^[0-9A-Z_-]{1,30}$`)
)

// NormalizeName normalises a NAME or application id as the connector does (DistinguishedName.normalize): upper
// case (Java's full mapping, so ß becomes SS), canonical decomposition, combining diacritical marks (U+0300 to
// U+036F) removed. "Élodie Müller-Strauß" becomes "ELODIE MULLER-STRAUSS". Space is kept as it is.
func NormalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0x300 && r <= 0x36F {
			continue
		}
		if f, ok := foldTable[r]; ok {
			b.WriteString(f)
			continue
		}
		u := unicode.ToUpper(r)
		if f, ok := foldTable[u]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(u)
	}
	return b.String()
}

// ValidateApplicationID checks an application id against the connector's rule: after NormalizeName it must match
// [0-9A-Z-_]{1,30}. The empty string (no application id) is valid.
func ValidateApplicationID(appID string) error {
	if appID == "" {
		return nil
	}
	if !appIDPattern.MatchString(NormalizeName(appID)) {
		return ErrInvalidApplicationID
	}
	return nil
}

// DN returns the distinguished name the connector builds for s (DistinguishedName.asNormalizedEhealthDN), an RFC
// 2253 string:
//
//	CN=<TYPE>\=<id>[\, <APPID>],OU=eHealth-platform Belgium,OU=<NAME>,OU=<TYPE>\=<id>[,OU=<APPID>],O=Federal Government,C=BE
//
// NAME and APPID are normalised (NormalizeName); equal OU values collapse into one, as in the connector's
// LinkedHashSet. Unlike the connector, which pastes NAME in unescaped, characters of NAME that RFC 2253 reserves
// (, = + < > # ; " \) are escaped, so the string always parses back to the same name; leading and trailing spaces
// of NAME are dropped, as X500Principal drops them when it parses the connector's string. The identifier value is used as given: pad it to the type's length first (ehealth.NormalizeIdentifier).
func (s Subject) DN() (string, error) {
	if !typePattern.MatchString(s.Type) {
		return "", fmt.Errorf("%w: type %q is not an ETK identifier type", ErrInvalidIdentifier, s.Type)
	}
	if !digits.MatchString(s.Value) {
		return "", fmt.Errorf("%w: %s value must be digits", ErrInvalidIdentifier, s.Type)
	}
	// The connector pastes NAME in as is and X500Principal then drops its leading and trailing spaces; trimming
	// here gives the same name and a DN string without escaped spaces.
	name := strings.Trim(NormalizeName(s.Name), " ")
	if name == "" {
		return "", ErrEmptyName
	}
	appID := NormalizeName(s.ApplicationID)
	if err := ValidateApplicationID(appID); err != nil {
		return "", err
	}
	id := s.Type + `\=` + s.Value
	ous := []string{OUEHealthPlatform}
	add := func(v string) {
		for _, o := range ous {
			if o == v {
				return
			}
		}
		ous = append(ous, v)
	}
	add(EscapeValue(name))
	add(id)
	cn := id
	if appID != "" {
		add(appID)
		cn += `\, ` + appID
	}
	var b strings.Builder
	b.WriteString("CN=" + cn)
	for _, ou := range ous {
		b.WriteString(",OU=" + ou)
	}
	b.WriteString(",O=" + OrgFederalGov + ",C=" + CountryBelgium)
	return b.String(), nil
}

// RDNs returns the subject's name in DER order (C, O, [OU=APPID], OU=TYPE=id, OU=NAME, OU=eHealth-platform
// Belgium, CN), as ParseDN(s.DN()) would.
func (s Subject) RDNs() (pkix.RDNSequence, error) {
	dn, err := s.DN()
	if err != nil {
		return nil, err
	}
	return ParseDN(dn)
}

var contractTypeRE = regexp.MustCompile(`(?:^|[,;+])\s*(?:CN|OU|cn|ou|Cn|cN|Ou|oU)\s*=\s*([A-Z][A-Z0-9_-]*)=[0-9]`)

// EscapeContractDN rewrites a Contract/DN as the connector does before sending it back in GenerateCertificate
// (NewCertificateContract): every "<TYPE>=" becomes "<TYPE>\=", where TYPE is the identifier type found at the
// start of the CN or TYPE=id OU value. A DN that is already escaped, or that holds no TYPE=id value, is returned
// unchanged, so the rewrite is idempotent.
func EscapeContractDN(dn string) string {
	m := contractTypeRE.FindStringSubmatch(dn)
	if m == nil {
		return dn
	}
	t := m[1]
	return strings.ReplaceAll(dn, t+"=", t+`\=`)
}

var identifierOU = regexp.MustCompile(`^([A-Z][A-Z0-9_-]*)=([0-9]+)$`)

// IdentityOf returns the eHealth identity of a certificate as the connector's CertificateParser reads it
// (FACTS §7), for either RDN order:
//   - a SERIALNUMBER attribute makes it an eID certificate: type SSIN, value = the serial number;
//   - otherwise the type and value come from the OU that is exactly TYPE=digits (the last one wins);
//   - the application id is the OU (other than eHealth-platform Belgium, Federal Government and the identifier)
//     that a CN ends with after ", ".
//
// Unlike the connector, a type may contain digits after its first letter (NIHII11), and the application id must
// follow ", " in the CN (the connector only checks the CN suffix, so a NAME that ends the CN would be mistaken for
// it). A certificate without identifier gives ErrNoIdentity.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	s, err := SubjectOf(cert)
	return s.Identity, err
}

// SubjectOf is IdentityOf plus the NAME OU: the first OU, in DER order, that is neither eHealth-platform Belgium,
// Federal Government, the identifier nor the application id. For an eID certificate Name is empty.
func SubjectOf(cert *x509.Certificate) (Subject, error) {
	if cert == nil {
		return Subject{}, ErrNoIdentity
	}
	seq, err := ParseRawDN(cert.RawSubject)
	if err != nil {
		return Subject{}, err
	}
	return subjectOfRDNs(seq)
}

// SubjectOfDN is SubjectOf for a parsed name (DER order).
func SubjectOfDN(seq pkix.RDNSequence) (Subject, error) { return subjectOfRDNs(seq) }

func subjectOfRDNs(seq pkix.RDNSequence) (Subject, error) {
	var ous, cns []string
	for _, rdn := range seq {
		for _, atv := range rdn {
			v, ok := valueText(atv.Value)
			if !ok {
				continue
			}
			switch {
			case atv.Type.Equal(OIDSerialNumber):
				return Subject{Identity: Identity{Type: IdentifierTypeSSIN, Value: v}}, nil
			case atv.Type.Equal(OIDOrganizationalUnit):
				ous = append(ous, v)
			case atv.Type.Equal(OIDCommonName):
				cns = append(cns, v)
			}
		}
	}
	var s Subject
	idOU := ""
	for _, ou := range ous {
		if m := identifierOU.FindStringSubmatch(ou); m != nil {
			s.Type, s.Value, idOU = m[1], m[2], ou
		}
	}
	if idOU == "" {
		return Subject{}, ErrNoIdentity
	}
	for _, ou := range ous {
		if ou == OUEHealthPlatform || ou == OrgFederalGov || ou == idOU {
			continue
		}
		for _, cn := range cns {
			if strings.HasSuffix(cn, ", "+ou) {
				s.ApplicationID = ou
			}
		}
	}
	for _, ou := range ous {
		if ou != OUEHealthPlatform && ou != OrgFederalGov && ou != idOU && ou != s.ApplicationID {
			s.Name = ou
			break
		}
	}
	if s.Name == "" {
		// NAME equal to the application id: the connector's OU set collapsed them into one.
		s.Name = s.ApplicationID
	}
	return s, nil
}
