package xsd

import "encoding/xml"

// AnyElement is an element matched by an xs:any wildcard for which the bindings have no Go type. It keeps the
// element's name, its attributes (namespace declarations excluded) and its content as raw XML.
//
// InnerXML is copied byte for byte: prefixes in it that were declared on an ancestor of the element are not
// declared again, so re-marshalling such content may need those declarations.
type AnyElement struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	InnerXML string     `xml:",innerxml"`
}

// UnmarshalXML reads the element, dropping namespace declarations from Attrs (encoding/xml writes the element's
// own namespace again when marshalling, and a copied declaration would be duplicated).
func (a *AnyElement) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var inner struct {
		InnerXML string `xml:",innerxml"`
	}
	if err := d.DecodeElement(&inner, &start); err != nil {
		return err
	}
	out := AnyElement{XMLName: start.Name, InnerXML: inner.InnerXML}
	for _, at := range start.Attr {
		if at.Name.Space == "xmlns" || (at.Name.Space == "" && at.Name.Local == "xmlns") {
			continue
		}
		out.Attrs = append(out.Attrs, at)
	}
	*a = out
	return nil
}
