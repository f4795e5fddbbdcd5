package xsd

import (
	"encoding/xml"
	"strings"
)

// XSINamespace is the XML Schema instance namespace (the xsi: prefix).
const XSINamespace = "http://www.w3.org/2001/XMLSchema-instance"

// NillableString is an element of type xs:string declared nillable="true". Nil true means the element is present
// with xsi:nil="true" (and Value is ignored when marshalling); otherwise the element holds Value, which may be
// empty. Absence of the element is expressed by the field that holds it (a slice or pointer).
type NillableString struct {
	Value string
	Nil   bool
}

// MarshalXML writes the element, with xsi:nil="true" when v.Nil.
func (v NillableString) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if !v.Nil {
		return e.EncodeElement(v.Value, start)
	}
	// encoding/xml would invent a prefix for the xsi namespace; declare the usual one ourselves.
	start.Attr = append(start.Attr,
		xml.Attr{Name: xml.Name{Local: "xmlns:xsi"}, Value: XSINamespace},
		xml.Attr{Name: xml.Name{Local: "xsi:nil"}, Value: "true"})
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads the element. An element with xsi:nil="true" (or "1") must be empty.
func (v *NillableString) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	isNil := false
	for _, a := range start.Attr {
		if a.Name.Space == XSINamespace && a.Name.Local == "nil" {
			switch trimXMLSpace(a.Value) {
			case "true", "1":
				isNil = true
			case "false", "0":
			default:
				return syntaxError("xs:boolean", a.Value, "xsi:nil must be true, false, 1 or 0")
			}
		}
	}
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	if isNil && strings.TrimSpace(s) != "" {
		return syntaxError("xs:string", s, "an element with xsi:nil=\"true\" must be empty")
	}
	if isNil {
		s = ""
	}
	*v = NillableString{Value: s, Nil: isNil}
	return nil
}
