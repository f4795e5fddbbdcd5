package soap

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
)

// userAgentPart is the pattern every space-separated part of a User-Agent must match (cookbook 001 §4.1.2:
// "{minimal software information}/{version} {minimal connector information}/{connector-package-version}").
//
// The cookbook prints the pattern as [[a-zA-Z0-9-\/]*\/[0-9azA-Z-_.]*, which is garbled by its typesetting. We
// read it as:
//
//   - a name of letters, digits, '-' and '/' (the cookbook's first class allows '/' inside the name),
//   - a '/',
//   - a version of digits, letters, '-', '_' and '.'; "-_" is read as two literal characters, not as the
//     character range '-'..'_' (which would allow ':', '<', '@', '[' and more).
//
// Unlike the cookbook's '*', name and version must not be empty: "x/" or "/1.0" identifies nothing.
var userAgentPart = regexp.MustCompile(`^[A-Za-z0-9/-]+/[A-Za-z0-9_.-]+$`)

// InvalidHeaderError reports a tracing header value that does not follow the cookbook.
type InvalidHeaderError struct {
	Header string // "User-Agent" or "From"
	Value  string
	Reason string
}

// Error describes the failure without request content.
func (e *InvalidHeaderError) Error() string {
	return fmt.Sprintf("soap: invalid %s header %q: %s", e.Header, e.Value, e.Reason)
}

// ValidateUserAgent checks a User-Agent value against the cookbook's pattern: one or more parts separated by
// single spaces, each `name/version`, for example "ehcert/1.2.0 Go/1.26". The empty string is valid and means
// "send no User-Agent of our own".
func ValidateUserAgent(ua string) error {
	if ua == "" {
		return nil
	}
	for _, part := range strings.Split(ua, " ") {
		if part == "" {
			return &InvalidHeaderError{Header: "User-Agent", Value: ua, Reason: "parts must be separated by exactly one space"}
		}
		if !userAgentPart.MatchString(part) {
			return &InvalidHeaderError{Header: "User-Agent", Value: ua,
				Reason: fmt.Sprintf("part %q is not name/version (name: letters, digits, '-', '/'; version: letters, digits, '-', '_', '.')", part)}
		}
	}
	return nil
}

// ValidateFrom checks a From value: empty, or a single bare e-mail address such as "info@mycompany.be".
func ValidateFrom(from string) error {
	if from == "" {
		return nil
	}
	a, err := mail.ParseAddress(from)
	if err != nil || a.Address != from || a.Name != "" {
		return &InvalidHeaderError{Header: "From", Value: from, Reason: "not a bare e-mail address"}
	}
	return nil
}
