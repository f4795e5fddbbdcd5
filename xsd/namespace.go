package xsd

import "encoding/xml"

// NamespaceDecl is a prefixed namespace declaration, xmlns:Prefix="URI", written on an element.
//
// The generated types keep the declarations of an element whose content is raw XML (ds:Signature's InnerXML):
// the content usually uses a prefix declared on the element itself (<ds:Signature xmlns:ds="...">), and would
// not be well-formed without the declaration when marshalled again. A prefix declared on an ancestor of the
// element is not known to encoding/xml's Unmarshaler and is not kept.
type NamespaceDecl struct {
	Prefix string
	URI    string
}

// PrefixDecls returns the prefixed namespace declarations among the attributes of a start element as
// encoding/xml's Decoder reports them (Name.Space "xmlns"). Default namespace declarations are left out: the
// element's own name carries its namespace.
func PrefixDecls(attrs []xml.Attr) []NamespaceDecl {
	var out []NamespaceDecl
	for _, a := range attrs {
		if a.Name.Space == "xmlns" && a.Name.Local != "" {
			out = append(out, NamespaceDecl{Prefix: a.Name.Local, URI: a.Value})
		}
	}
	return out
}

// DeclAttrs returns the declarations as attributes that encoding/xml's Encoder writes as they are
// (xmlns:prefix="uri").
func DeclAttrs(decls []NamespaceDecl) []xml.Attr {
	out := make([]xml.Attr, 0, len(decls))
	for _, d := range decls {
		if d.Prefix == "" || d.Prefix == "xml" || d.Prefix == "xmlns" {
			continue
		}
		out = append(out, xml.Attr{Name: xml.Name{Local: "xmlns:" + d.Prefix}, Value: d.URI})
	}
	return out
}
