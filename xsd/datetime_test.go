package xsd_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/xsd"
)

var validDateTimes = []struct {
	in   string
	want time.Time
	tz   bool
}{
	{"2024-01-01T12:00:00Z", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), true},
	{"2024-01-01T12:00:00.000+01:00", time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC), true},
	{"2024-01-01T12:00:00.5+00:00", time.Date(2024, 1, 1, 12, 0, 0, 5e8, time.UTC), true},
	{"2024-01-01T12:00:00-00:00", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), true},
	{"2024-06-30T23:59:59.123456789-05:30", time.Date(2024, 7, 1, 5, 29, 59, 123456789, time.UTC), true},
	{"2024-01-01T12:00:00.1234567891234Z", time.Date(2024, 1, 1, 12, 0, 0, 123456789, time.UTC), true},
	{"2024-01-01T12:00:00", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), false},
	{"2024-01-01T12:00:00.250", time.Date(2024, 1, 1, 12, 0, 0, 25e7, time.UTC), false},
	{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
	{"2000-02-29T00:00:00Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), true},
	{"2024-12-31T24:00:00Z", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), true},
	{"2024-12-31T24:00:00.000+01:00", time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC), true},
	{"2024-01-01T12:00:00+14:00", time.Date(2023, 12, 31, 22, 0, 0, 0, time.UTC), true},
	{"2024-01-01T12:00:00-14:00", time.Date(2024, 1, 2, 2, 0, 0, 0, time.UTC), true},
	{"0001-01-01T00:00:00Z", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true},
	{"-0001-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), true},
	{"-0044-03-15T12:00:00Z", time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC), true},
	{"12024-01-01T00:00:00Z", time.Date(12024, 1, 1, 0, 0, 0, 0, time.UTC), true},
}

var invalidDateTimes = []string{
	"",
	"   ",
	"2024-01-01",
	"2024-01-01T12:00Z",
	"2024-1-01T12:00:00Z",
	"24-01-01T12:00:00Z",
	"0000-01-01T00:00:00Z",
	"02024-01-01T00:00:00Z",
	"2023-02-29T00:00:00Z",
	"1900-02-29T00:00:00Z",
	"2024-04-31T00:00:00Z",
	"2024-13-01T00:00:00Z",
	"2024-00-01T00:00:00Z",
	"2024-01-00T00:00:00Z",
	"2024-01-01T24:00:01Z",
	"2024-01-01T24:00:00.1Z",
	"2024-01-01T25:00:00Z",
	"2024-01-01T23:60:00Z",
	"2024-01-01T12:00:60Z",
	"2024-01-01T12:00:00+15:00",
	"2024-01-01T12:00:00+14:30",
	"2024-01-01T12:00:00+01:60",
	"2024-01-01T12:00:00+0100",
	"2024-01-01T12:00:00.Z",
	"2024-01-01T12:00:00.",
	"2024-01-01 12:00:00Z",
	"2024-01-01t12:00:00Z",
	"2024-01-01T12:00:00z",
	"2024-01-01T12:00:00ZZ",
	"+2024-01-01T12:00:00Z",
	"2024-01-01T1a:00:00Z",
	"yesterday",
}

func TestParseDateTime(t *testing.T) {
	for _, c := range validDateTimes {
		for _, in := range []string{c.in, " \t\n" + c.in + "\r\n "} {
			d, err := xsd.ParseDateTime(in)
			if err != nil {
				t.Errorf("ParseDateTime(%q): %v", in, err)
				continue
			}
			if d.String() != c.in {
				t.Errorf("ParseDateTime(%q).String() = %q, want the lexical form as given", in, d.String())
			}
			if !d.Time().Equal(c.want) {
				t.Errorf("ParseDateTime(%q).Time() = %v, want %v", in, d.Time(), c.want)
			}
			if d.HasTimezone() != c.tz {
				t.Errorf("ParseDateTime(%q).HasTimezone() = %v", in, d.HasTimezone())
			}
			text, err := d.MarshalText()
			if err != nil || string(text) != c.in {
				t.Errorf("MarshalText = %q, %v; want %q", text, err, c.in)
			}
		}
	}
	for _, in := range invalidDateTimes {
		_, err := xsd.ParseDateTime(in)
		var se *xsd.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseDateTime(%q) = %v, want a *SyntaxError", in, err)
			continue
		}
		if se.Type != "xs:dateTime" || !strings.Contains(err.Error(), "xs:dateTime") {
			t.Errorf("error %q does not name the type", err)
		}
	}
}

// libxml2 (xmllint) must agree with ParseDateTime on what is an xs:dateTime.
func TestParseDateTimeAgreesWithXmllint(t *testing.T) {
	xmllint := testenv.Require(t, "xmllint")
	dir := t.TempDir()
	schema := filepath.Join(dir, "dt.xsd")
	if err := os.WriteFile(schema, []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">`+
		`<xs:element name="d" type="xs:dateTime"/></xs:schema>`), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(value string) bool {
		f := filepath.Join(dir, "d.xml")
		doc := fmt.Sprintf("<d>%s</d>", value)
		if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		err := exec.Command(xmllint, "--nonet", "--noout", "--schema", schema, f).Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 3 {
			t.Fatalf("xmllint: %v", err)
		}
		return err == nil
	}
	for _, c := range validDateTimes {
		if !check(c.in) {
			t.Errorf("xmllint rejects %q, ParseDateTime accepts it", c.in)
		}
	}
	for _, in := range invalidDateTimes {
		if strings.TrimSpace(in) == "" {
			continue
		}
		if check(in) {
			t.Errorf("xmllint accepts %q, ParseDateTime rejects it", in)
		}
	}
}

func TestNewDateTime(t *testing.T) {
	brussels, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		brussels = time.FixedZone("CET", 3600)
	}
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), "2024-01-01T12:00:00Z"},
		{time.Date(2024, 1, 1, 12, 0, 0, 120000000, time.UTC), "2024-01-01T12:00:00.12Z"},
		{time.Date(2024, 1, 1, 12, 0, 0, 1, time.UTC), "2024-01-01T12:00:00.000000001Z"},
		{time.Date(2024, 1, 1, 12, 0, 0, 0, brussels), "2024-01-01T12:00:00+01:00"},
		{time.Date(2024, 7, 1, 12, 0, 0, 0, brussels), "2024-07-01T12:00:00+02:00"},
		{time.Date(2024, 7, 1, 12, 0, 0, 0, time.FixedZone("X", -(3*3600+30*60))), "2024-07-01T12:00:00-03:30"},
		{time.Date(2024, 7, 1, 12, 0, 0, 0, time.FixedZone("GMT", 0)), "2024-07-01T12:00:00Z"},
	}
	for _, c := range cases {
		d := xsd.NewDateTime(c.t)
		if d.String() != c.want {
			t.Errorf("NewDateTime(%v) = %q, want %q", c.t, d.String(), c.want)
		}
		if !d.Time().Equal(c.t) || !d.HasTimezone() || d.IsZero() {
			t.Errorf("NewDateTime(%v): Time %v HasTimezone %v IsZero %v", c.t, d.Time(), d.HasTimezone(), d.IsZero())
		}
		back, err := xsd.ParseDateTime(d.String())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, d) {
			t.Errorf("ParseDateTime(NewDateTime(t).String()) = %#v, want %#v", back, d)
		}
	}
	// The monotonic clock reading does not survive (it would break ==, DeepEqual and round trips).
	now := time.Now()
	d := xsd.NewDateTime(now)
	back, _ := xsd.ParseDateTime(d.String())
	if !reflect.DeepEqual(back, d) || !d.Time().Equal(now) {
		t.Errorf("NewDateTime(time.Now()) does not round-trip: %#v vs %#v", back, d)
	}
}

func TestDateTimeEqual(t *testing.T) {
	a := xsd.MustParseDateTime("2024-01-01T12:00:00+01:00")
	b := xsd.MustParseDateTime("2024-01-01T11:00:00.000Z")
	c := xsd.MustParseDateTime("2024-01-01T11:00:00")
	if !a.Equal(b) || a == b {
		t.Error("same instant, different lexical forms: Equal must be true, == false")
	}
	if a.Equal(c) || c.Equal(b) {
		t.Error("a value without timezone equals one with a timezone")
	}
	if !c.Equal(xsd.MustParseDateTime("2024-01-01T11:00:00.0")) {
		t.Error("values without timezone and the same wall clock differ")
	}
	var zero xsd.DateTime
	if !zero.Equal(xsd.DateTime{}) || zero.Equal(a) || a.Equal(zero) || !zero.IsZero() || !zero.Time().IsZero() {
		t.Error("zero value comparisons")
	}
}

func TestDateTimeXML(t *testing.T) {
	type msg struct {
		XMLName xml.Name      `xml:"m"`
		At      xsd.DateTime  `xml:"at,attr"`
		Opt     *xsd.DateTime `xml:"opt,attr"`
		El      xsd.DateTime  `xml:"el"`
		OptEl   *xsd.DateTime `xml:"optEl"`
	}
	in := `<m at="2024-01-01T12:00:00.000+01:00"><el>2024-01-01T12:00:00</el></m>`
	var m msg
	if err := xml.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if m.Opt != nil || m.OptEl != nil {
		t.Error("absent optional values are set")
	}
	out, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip:\n got %s\nwant %s", out, in)
	}
	if _, err := xml.Marshal(msg{El: m.El}); err == nil {
		t.Error("a zero required attribute marshalled")
	}
	var se *xsd.SyntaxError
	if err := xml.Unmarshal([]byte(`<m at="tomorrow"/>`), &m); !errors.As(err, &se) {
		t.Errorf("bad attribute: %v, want *SyntaxError", err)
	}
	if err := xml.Unmarshal([]byte(`<m at="2024-01-01T12:00:00Z"><el></el></m>`), &m); !errors.As(err, &se) {
		t.Errorf("empty element: %v, want *SyntaxError", err)
	}
}

func TestSyntaxErrorIsBounded(t *testing.T) {
	long := strings.Repeat("é", 1000)
	_, err := xsd.ParseDateTime(long)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long value: %d bytes", len(err.Error()))
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, c := range validDateTimes {
		f.Add(c.in)
	}
	for _, s := range invalidDateTimes {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := xsd.ParseDateTime(s)
		if err != nil {
			return
		}
		again, err := xsd.ParseDateTime(d.String())
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("%q: accepted, but its lexical form %q does not parse back the same (%v)", s, d.String(), err)
		}
		if text, err := d.MarshalText(); err != nil || string(text) != d.String() {
			t.Fatalf("%q: MarshalText %q, %v", s, text, err)
		}
	})
}

func ExampleNewDateTime() {
	issue := xsd.NewDateTime(time.Date(2024, 5, 17, 9, 30, 0, 0, time.FixedZone("CEST", 2*3600)))
	fmt.Println(issue)
	// Output: 2024-05-17T09:30:00+02:00
}

func ExampleParseDateTime() {
	d, err := xsd.ParseDateTime("2024-01-01T12:00:00.000+01:00")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d, d.Time().UTC())
	// Output: 2024-01-01T12:00:00.000+01:00 2024-01-01 11:00:00 +0000 UTC
}
