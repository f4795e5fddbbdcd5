package ehealth

import (
	"fmt"
	"strings"
)

// IdentifierType is an identifier type of the ETK depot with the length its values are padded to (FACTS §7).
type IdentifierType struct {
	Name   string // as sent on the wire: "SSIN", "CBE", "NIHII-HOSPITAL", ...
	Length int
}

var identifierTypes = func() map[string]IdentifierType {
	m := map[string]IdentifierType{}
	add := func(n string, l int) { m[n] = IdentifierType{Name: n, Length: l} }
	add("CBE", 10)
	add("CBE-TREAT_CENTER", 10)
	add("SSIN", 11)
	add("NIHII", 8)
	add("NIHII11", 11)
	add("EHP", 10)
	add("SITE", 4)
	add("SITESMUR", 10)
	add("SITEPIT", 10)
	add("CBE-CONSORTIUM", 10)
	add("EHP-CTRL_ORGANISM", 10)
	for _, s := range []string{"PHARMACY", "LABO", "RETIREMENT", "OTD_PHARMACY", "HOSPITAL", "GROUP",
		"PALLIATIVE_CARE", "OFFICE_DENTISTS", "MEDICAL_HOUSE", "OFFICE_DOCTORS", "GROUP_DOCTORS", "OF_BAND",
		"PSYCH_HOUSE", "PROT_ACC", "HOME_SERVICES", "OF_PHYSIOS", "GUARD_POST", "BELRAI", "BELRAI_SCREEN",
		"GROUP_MIDWIVES", "AMBU_SERVICE", "LEGAL_PSY", "REEDUCATION", "SORTING_CENTER"} {
		add("NIHII-"+s, 8)
	}
	return m
}()

// IdentifierTypes returns every known identifier type.
func IdentifierTypes() []IdentifierType {
	out := make([]IdentifierType, 0, len(identifierTypes))
	for _, t := range identifierTypes {
		out = append(out, t)
	}
	return out
}

// UnknownIdentifierTypeError reports an identifier type that is not in FACTS §7's table.
type UnknownIdentifierTypeError struct{ Type string }

func (e *UnknownIdentifierTypeError) Error() string {
	return fmt.Sprintf("ehealth: unknown identifier type %q", e.Type)
}

// InvalidIdentifierError reports an identifier value that cannot be of its type.
type InvalidIdentifierError struct {
	Type, Value, Reason string
}

func (e *InvalidIdentifierError) Error() string {
	return fmt.Sprintf("ehealth: invalid %s identifier %q: %s", e.Type, e.Value, e.Reason)
}

// IdentifierTypeByName looks up an identifier type. Case is ignored and "HUB" is the deprecated alias of "EHP".
func IdentifierTypeByName(name string) (IdentifierType, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "HUB" {
		n = "EHP"
	}
	t, ok := identifierTypes[n]
	if !ok {
		return IdentifierType{}, &UnknownIdentifierTypeError{Type: name}
	}
	return t, nil
}

// NormalizeIdentifier returns value left-padded with zeros to the length of its type (FACTS §7), so that
// "820563481" of type CBE becomes "0820563481". Values must be digits; a value longer than the type's length is
// an error rather than being truncated silently.
func NormalizeIdentifier(typ, value string) (string, error) {
	t, err := IdentifierTypeByName(typ)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return "", &InvalidIdentifierError{Type: t.Name, Value: value, Reason: "empty"}
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return "", &InvalidIdentifierError{Type: t.Name, Value: value, Reason: "not all digits"}
		}
	}
	if len(v) > t.Length {
		return "", &InvalidIdentifierError{Type: t.Name, Value: value, Reason: fmt.Sprintf("longer than %d digits", t.Length)}
	}
	return strings.Repeat("0", t.Length-len(v)) + v, nil
}
