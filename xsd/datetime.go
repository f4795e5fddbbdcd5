package xsd

import (
	"encoding/xml"
	"strconv"
	"time"
)

// DateTime is an xs:dateTime value that round-trips: a value read from XML marshals back to exactly the lexical
// form it was read from (fractional seconds as given, "Z", "+00:00" or no timezone as given). A value made with
// NewDateTime marshals as RFC 3339 with "Z" for UTC or a numeric offset, and as many fractional digits as the
// time needs (none for whole seconds).
//
// The zero DateTime has no value: IsZero reports true and marshalling it fails, so that a required attribute
// such as IssueInstant is never sent empty. DateTime values can be compared with == only when they come from the
// same source; use Equal to compare instants.
type DateTime struct {
	t   time.Time
	lex string
}

// NewDateTime returns the DateTime of t. The monotonic clock reading and the time zone name are dropped; the
// offset is kept.
func NewDateTime(t time.Time) DateTime {
	t = t.Round(0)
	_, off := t.Zone()
	if off == 0 {
		t = t.UTC()
	} else {
		t = t.In(time.FixedZone("", off))
	}
	return DateTime{t: t, lex: t.Format(time.RFC3339Nano)}
}

// ParseDateTime parses any lexical form of xs:dateTime (XML Schema 1.0): an optional minus sign, a year of at
// least four digits, fractional seconds of any length, "24:00:00" for the end of a day, and an optional timezone
// ("Z" or ±hh:mm). Leading and trailing white space is ignored. Fractional digits beyond nanoseconds are kept in
// the lexical form but not in Time. Errors are *SyntaxError.
func ParseDateTime(s string) (DateTime, error) {
	lex := trimXMLSpace(s)
	t, err := parseDateTime(lex)
	if err != nil {
		return DateTime{}, err
	}
	return DateTime{t: t, lex: lex}, nil
}

// MustParseDateTime is like ParseDateTime but panics on error. It is meant for constants in tests and examples.
func MustParseDateTime(s string) DateTime {
	d, err := ParseDateTime(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Time returns the instant. A value without timezone is returned as that wall-clock time in UTC (see
// HasTimezone); the zero DateTime returns the zero time.Time.
func (d DateTime) Time() time.Time { return d.t }

// IsZero reports whether d holds no value.
func (d DateTime) IsZero() bool { return d.lex == "" }

// HasTimezone reports whether the value carries a timezone ("Z" or an offset).
func (d DateTime) HasTimezone() bool {
	_, _, ok := splitTimezone(d.lex)
	return ok
}

// String returns the lexical form, or "" for the zero DateTime.
func (d DateTime) String() string { return d.lex }

// Equal reports whether d and u are the same instant. Values without timezone are equal only to values without
// timezone that show the same wall-clock time. Two zero values are equal.
func (d DateTime) Equal(u DateTime) bool {
	if d.IsZero() || u.IsZero() {
		return d.IsZero() == u.IsZero()
	}
	if d.HasTimezone() != u.HasTimezone() {
		return false
	}
	return d.t.Equal(u.t)
}

// MarshalText returns the lexical form. It fails for the zero DateTime.
func (d DateTime) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return nil, &SyntaxError{Type: "xs:dateTime", Reason: "zero DateTime has no value (set it with NewDateTime)"}
	}
	return []byte(d.lex), nil
}

// MarshalXMLAttr writes d as an attribute value; a nil *DateTime (an absent optional attribute) writes no
// attribute. (Without it, encoding/xml would call MarshalText on a nil pointer.)
func (d *DateTime) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	if d == nil {
		return xml.Attr{}, nil
	}
	text, err := d.MarshalText()
	if err != nil {
		return xml.Attr{}, err
	}
	return xml.Attr{Name: name, Value: string(text)}, nil
}

// UnmarshalText parses text with ParseDateTime.
func (d *DateTime) UnmarshalText(text []byte) error {
	v, err := ParseDateTime(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// splitTimezone splits a lexical dateTime into the part before the timezone and the timezone; ok is false when
// there is no timezone.
func splitTimezone(s string) (head, tz string, ok bool) {
	if n := len(s); n > 0 && s[n-1] == 'Z' {
		return s[:n-1], "Z", true
	}
	// ±hh:mm at the end, after the 'T' (a leading '-' belongs to the year).
	if n := len(s); n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':' {
		if t := lastIndexByte(s, 'T'); t >= 0 && t < n-6 {
			return s[:n-6], s[n-6:], true
		}
	}
	return s, "", false
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi2(s string) (int, bool) {
	if len(s) != 2 || !digits(s) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func parseDateTime(s string) (time.Time, error) {
	bad := func(reason string) (time.Time, error) { return time.Time{}, syntaxError("xs:dateTime", s, reason) }
	if s == "" {
		return bad("empty value")
	}
	head, tz, hasTZ := splitTimezone(s)

	// Date: -?YYYY+-MM-DD
	neg := false
	rest := head
	if rest != "" && rest[0] == '-' {
		neg, rest = true, rest[1:]
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	ys := rest[:i]
	if len(ys) < 4 {
		return bad("year must have at least four digits")
	}
	if len(ys) > 4 && ys[0] == '0' {
		return bad("a year of more than four digits must not start with 0")
	}
	if len(ys) > 9 {
		return bad("year out of range")
	}
	year, _ := strconv.Atoi(ys)
	if year == 0 {
		return bad("year 0000 is not allowed")
	}
	rest = rest[i:]
	if len(rest) < 6 || rest[0] != '-' || rest[3] != '-' {
		return bad("want YYYY-MM-DD")
	}
	month, ok1 := atoi2(rest[1:3])
	day, ok2 := atoi2(rest[4:6])
	if !ok1 || !ok2 {
		return bad("want YYYY-MM-DD")
	}
	rest = rest[6:]
	// XML Schema 1.0 has no year zero: -0001 is the year before 0001 (astronomical year 0).
	astroYear := year
	if neg {
		astroYear = 1 - year
	}
	if month < 1 || month > 12 {
		return bad("month out of range")
	}
	if day < 1 || day > daysIn(month, astroYear) {
		return bad("day out of range")
	}

	// Time: Thh:mm:ss(.s+)?
	if len(rest) < 9 || rest[0] != 'T' || rest[3] != ':' || rest[6] != ':' {
		return bad("want Thh:mm:ss after the date")
	}
	hour, ok1 := atoi2(rest[1:3])
	minute, ok2 := atoi2(rest[4:6])
	sec, ok3 := atoi2(rest[7:9])
	if !ok1 || !ok2 || !ok3 {
		return bad("want Thh:mm:ss after the date")
	}
	rest = rest[9:]
	nsec := 0
	fracZero := true
	if rest != "" {
		if rest[0] != '.' || !digits(rest[1:]) {
			return bad("unexpected text after the seconds")
		}
		frac := rest[1:]
		for k := 0; k < len(frac); k++ {
			if frac[k] != '0' {
				fracZero = false
			}
			if k < 9 {
				nsec = nsec*10 + int(frac[k]-'0')
			}
		}
		for k := len(frac); k < 9; k++ {
			nsec *= 10
		}
	}
	endOfDay := false
	switch {
	case hour == 24 && minute == 0 && sec == 0 && fracZero:
		endOfDay, hour = true, 0
	case hour > 23:
		return bad("hour out of range")
	case minute > 59:
		return bad("minute out of range")
	case sec > 59:
		return bad("second out of range")
	}

	loc := time.UTC
	if hasTZ && tz != "Z" {
		hh, ok1 := atoi2(tz[1:3])
		mm, ok2 := atoi2(tz[4:6])
		if !ok1 || !ok2 || mm > 59 || hh > 14 || (hh == 14 && mm != 0) {
			return bad("timezone out of range")
		}
		off := hh*3600 + mm*60
		if tz[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(astroYear, time.Month(month), day, hour, minute, sec, nsec, loc)
	if endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
