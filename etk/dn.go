package etk

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Identity identifies the holder of an eHealth certificate or ETK, as the ETK depot does: an identifier type
// ("SSIN", "CBE", "NIHII-HOSPITAL", ...), its value and an optional application id.
type Identity struct {
	Type          string // identifier type as in the certificate, e.g. "CBE"
	Value         string // identifier value as in the certificate (digits)
	ApplicationID string // application id, "" when the certificate has none
}

// String renders the identity as TYPE=value[/APPID].
func (id Identity) String() string {
	s := id.Type + "=" + id.Value
	if id.ApplicationID != "" {
		s += "/" + id.ApplicationID
	}
	return s
}

// Matches reports whether id designates the same holder as other: the same type, the same value once leading
// zeros are ignored (the ETK depot pads values to the type's length), and the same application id
// (case-insensitive; both empty counts as the same).
//
// Types are compared case-insensitively, with one equivalence: NIHII11 and NIHII are the same type when the
// NIHII side's value has exactly 11 digits. Individual (11-digit) NIHII certificates carry "OU=NIHII=<11 digits>"
// while the ETK depot and the connector name that identifier NIHII11 (FACTS §7), so an ETK looked up as NIHII11
// must match its NIHII certificate. An 8-digit (organisation) NIHII value is a different identifier and does not
// match NIHII11, and no other types are related (an SSIN never matches a NIHII).
func (id Identity) Matches(other Identity) bool {
	return sameIdentifierType(id, other) &&
		normalizeValue(id.Value) == normalizeValue(other.Value) &&
		strings.EqualFold(strings.TrimSpace(id.ApplicationID), strings.TrimSpace(other.ApplicationID))
}

// sameIdentifierType compares the types of two identities (see Identity.Matches).
func sameIdentifierType(a, b Identity) bool {
	ta, tb := strings.TrimSpace(a.Type), strings.TrimSpace(b.Type)
	if strings.EqualFold(ta, tb) {
		return true
	}
	return strings.EqualFold(ta, "NIHII11") && isNIHII11(b) || strings.EqualFold(tb, "NIHII11") && isNIHII11(a)
}

// isNIHII11 reports whether id is a NIHII identifier with an 11-digit value: an individual's NIHII11.
func isNIHII11(id Identity) bool {
	if !strings.EqualFold(strings.TrimSpace(id.Type), "NIHII") {
		return false
	}
	v := strings.TrimSpace(id.Value)
	if len(v) != 11 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func normalizeValue(v string) string {
	v = strings.TrimSpace(v)
	t := strings.TrimLeft(v, "0")
	if t == "" && v != "" {
		return "0"
	}
	return t
}

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

var (
	oidCN           = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidOU           = asn1.ObjectIdentifier{2, 5, 4, 11}

	// identifierOU is the connector's TYPE=id pattern (FACTS §7): letters and the characters ( ) | _ - for the
	// type, digits for the value.
	identifierOU = regexp.MustCompile(`^([A-Z()|_-]+)=([0-9]+)$`)
)

// IdentityOf reads the holder identity from an eHealth certificate subject, the way the eHealth connector does
// (FACTS §7):
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
	var ous, cns []string
	for _, atv := range cert.Subject.Names {
		s, ok := atv.Value.(string)
		if !ok {
			continue
		}
		switch {
		case atv.Type.Equal(oidSerialNumber):
			if v := strings.TrimSpace(s); v != "" {
				return Identity{Type: "SSIN", Value: v}, nil
			}
		case atv.Type.Equal(oidOU):
			ous = append(ous, strings.TrimSpace(s))
		case atv.Type.Equal(oidCN):
			cns = append(cns, strings.TrimSpace(s))
		}
	}
	var id Identity
	var idOU string
	for _, ou := range ous {
		if m := identifierOU.FindStringSubmatch(ou); m != nil {
			id.Type, id.Value, idOU = m[1], m[2], ou
			break
		}
	}
	if idOU == "" {
		return Identity{}, &IdentityError{Subject: cert.Subject.String(), Reason: "no SERIALNUMBER and no OU of the form TYPE=digits"}
	}
	for _, ou := range ous {
		if ou == idOU || ou == "" || strings.Contains(ou, "=") ||
			strings.EqualFold(ou, "eHealth-platform Belgium") || strings.EqualFold(ou, "Federal Government") {
			continue
		}
		for _, cn := range cns {
			if strings.HasSuffix(cn, ", "+ou) {
				id.ApplicationID = ou
				return id, nil
			}
		}
	}
	return id, nil
}

// dnEqual reports whether two encoded distinguished names are equal in the sense of Java's LdapName: the same
// RDNs, each with the same attribute types and values, where values are compared after trimming and case
// folding, whatever their ASN.1 string type. The order of the RDNs does not matter: old and new eHealth
// certificates encode the same DN in opposite orders (FACTS §14).
func dnEqual(a, b []byte) bool {
	ka, err := dnKey(a)
	if err != nil {
		return false
	}
	kb, err := dnKey(b)
	if err != nil {
		return false
	}
	return slices.Equal(ka, kb)
}

// dnKey is a canonical, order-independent form of an encoded DN: one sorted string per RDN, sorted.
func dnKey(raw []byte) ([]string, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(raw, &seq)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("trailing data after DN")
	}
	keys := make([]string, 0, len(seq))
	for _, rdn := range seq {
		avas := make([]string, 0, len(rdn))
		for _, atv := range rdn {
			avas = append(avas, atv.Type.String()+"="+normalizeDNValue(atv.Value))
		}
		slices.Sort(avas)
		keys = append(keys, strings.Join(avas, "+"))
	}
	slices.Sort(keys)
	return keys, nil
}

func normalizeDNValue(v any) string {
	if s, ok := v.(string); ok {
		return strings.ToUpper(strings.TrimSpace(s))
	}
	der, err := asn1.Marshal(v)
	if err != nil {
		return fmt.Sprintf("#%v", v)
	}
	return "#" + hex.EncodeToString(der)
}
