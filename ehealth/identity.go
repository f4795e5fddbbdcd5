package ehealth

import "strings"

// Identity identifies the holder of an eHealth certificate or ETK as the ETK depot does: an identifier type
// ("SSIN", "CBE", "NIHII-HOSPITAL", ...), its value, and an optional application id. certreq reads it from a
// certificate, etk checks an ETK against it, etkdepot looks ETKs up by it.
type Identity struct {
	Type          string // identifier type, e.g. "CBE"
	Value         string // identifier value (digits)
	ApplicationID string // application id, "" when there is none
}

// String renders the identity as the connector names keystore files: TYPE=value[,APPID].
func (id Identity) String() string {
	s := id.Type + "=" + id.Value
	if id.ApplicationID != "" {
		s += "," + id.ApplicationID
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
		trimZeros(id.Value) == trimZeros(other.Value) &&
		strings.EqualFold(strings.TrimSpace(id.ApplicationID), strings.TrimSpace(other.ApplicationID))
}

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

func trimZeros(v string) string {
	v = strings.TrimSpace(v)
	t := strings.TrimLeft(v, "0")
	if t == "" && v != "" {
		return "0"
	}
	return t
}
