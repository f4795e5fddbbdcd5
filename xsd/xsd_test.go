package xsd_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"reflect"
	"testing"

	"github.com/ehcert/ehcert/xsd"
)

func TestBase64Binary(t *testing.T) {
	type msg struct {
		XMLName xml.Name           `xml:"m"`
		B       xsd.Base64Binary   `xml:"b"`
		Opt     xsd.Base64Binary   `xml:"opt,omitempty"`
		Many    []xsd.Base64Binary `xml:"many"`
	}
	in := msg{B: []byte{0, 1, 2, 0xff}, Many: []xsd.Base64Binary{{1}, {2, 3}}}
	out, err := xml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<m><b>AAEC/w==</b><many>AQ==</many><many>AgM=</many></m>`; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
	var back msg
	// Wrapped base64 (76 columns, CRLF) as servers send it.
	wrapped := bytes.Replace(out, []byte("AAEC/w=="), []byte("\r\n  AAE\r\nC/w==\n"), 1)
	if err := xml.Unmarshal(wrapped, &back); err != nil {
		t.Fatal(err)
	}
	back.XMLName = xml.Name{}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("round trip: %+v", back)
	}
	var se *xsd.SyntaxError
	if err := xml.Unmarshal([]byte(`<m><b>not base64!</b></m>`), &back); !errors.As(err, &se) {
		t.Errorf("bad base64: %v", err)
	}
}

func TestHexBinary(t *testing.T) {
	var h xsd.HexBinary
	if err := h.UnmarshalText([]byte(" 3d5f12AC\n")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h, []byte{0x3d, 0x5f, 0x12, 0xac}) || h.String() != "3D5F12AC" {
		t.Errorf("got %x %s", []byte(h), h)
	}
	text, _ := h.MarshalText()
	if string(text) != "3D5F12AC" {
		t.Errorf("MarshalText = %s", text)
	}
	for _, bad := range []string{"ABC", "XY", "3D 5F"} {
		var se *xsd.SyntaxError
		if err := h.UnmarshalText([]byte(bad)); !errors.As(err, &se) {
			t.Errorf("UnmarshalText(%q) = %v", bad, err)
		}
	}
}

func TestNillableString(t *testing.T) {
	type msg struct {
		XMLName xml.Name             `xml:"urn:x m"`
		A       []xsd.NillableString `xml:"urn:x a"`
		One     *xsd.NillableString  `xml:"urn:x one"`
	}
	in := msg{A: []xsd.NillableString{{Value: "x"}, {Nil: true}, {}}, One: &xsd.NillableString{Nil: true}}
	out, err := xml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back msg
	if err := xml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	back.XMLName = xml.Name{}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("round trip of %s: %+v", out, back)
	}
	// Other spellings and prefixes.
	doc := `<m xmlns="urn:x" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
		`<a i:nil="1"/><a i:nil="false">v</a><a i:nil=" true "></a></m>`
	back = msg{}
	if err := xml.Unmarshal([]byte(doc), &back); err != nil {
		t.Fatal(err)
	}
	if want := []xsd.NillableString{{Nil: true}, {Value: "v"}, {Nil: true}}; !reflect.DeepEqual(back.A, want) {
		t.Errorf("got %+v, want %+v", back.A, want)
	}
	for _, bad := range []string{
		`<m xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><a xsi:nil="true">content</a></m>`,
		`<m xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><a xsi:nil="yes"/></m>`,
	} {
		var se *xsd.SyntaxError
		if err := xml.Unmarshal([]byte(bad), &back); !errors.As(err, &se) {
			t.Errorf("%s: %v, want *SyntaxError", bad, err)
		}
	}
}

func TestAnyElement(t *testing.T) {
	type holder struct {
		XMLName xml.Name         `xml:"urn:x h"`
		Known   string           `xml:"urn:x known"`
		Any     []xsd.AnyElement `xml:",any"`
	}
	doc := `<h xmlns="urn:x"><known>k</known><other xmlns="urn:y" xmlns:p="urn:p" p:a="1" b="2"><c>t</c></other></h>`
	var h holder
	if err := xml.Unmarshal([]byte(doc), &h); err != nil {
		t.Fatal(err)
	}
	want := xsd.AnyElement{XMLName: xml.Name{Space: "urn:y", Local: "other"},
		Attrs:    []xml.Attr{{Name: xml.Name{Space: "urn:p", Local: "a"}, Value: "1"}, {Name: xml.Name{Local: "b"}, Value: "2"}},
		InnerXML: "<c>t</c>"}
	if len(h.Any) != 1 || !reflect.DeepEqual(h.Any[0], want) {
		t.Fatalf("got %+v", h.Any)
	}
	out, err := xml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var again holder
	if err := xml.Unmarshal(out, &again); err != nil {
		t.Fatalf("re-marshalled document does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again, h) {
		t.Errorf("second round trip: %+v", again)
	}
}

func TestNamespaceDecls(t *testing.T) {
	attrs := []xml.Attr{
		{Name: xml.Name{Local: "xmlns"}, Value: "urn:default"},
		{Name: xml.Name{Space: "xmlns", Local: "ds"}, Value: "urn:ds"},
		{Name: xml.Name{Local: "Id"}, Value: "x"},
	}
	decls := xsd.PrefixDecls(attrs)
	if want := []xsd.NamespaceDecl{{Prefix: "ds", URI: "urn:ds"}}; !reflect.DeepEqual(decls, want) {
		t.Errorf("PrefixDecls = %+v", decls)
	}
	got := xsd.DeclAttrs(append(decls, xsd.NamespaceDecl{Prefix: "xml", URI: "urn:bad"}, xsd.NamespaceDecl{URI: "urn:d"}))
	if want := []xml.Attr{{Name: xml.Name{Local: "xmlns:ds"}, Value: "urn:ds"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("DeclAttrs = %+v", got)
	}
}
