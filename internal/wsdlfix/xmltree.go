package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
)

// node is an element of a parsed WSDL or XSD document with what the checks need: its attributes, children, text,
// in-scope namespace prefixes (to resolve QName values such as type="core:IdType") and its position.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	text     string
	// textParts[i] is the character data before children[i]; the last one follows the last child.
	textParts []string
	ns        map[string]string // prefix -> namespace; "" is the default namespace
	file      string
	line      int
}

// parseFile reads an XML document into a tree.
func parseFile(path string) (*node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseTree(path, data)
}

func parseTree(file string, data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name, file: file, line: line, ns: map[string]string{}}
			if len(stack) > 0 {
				for k, v := range stack[len(stack)-1].ns {
					n.ns[k] = v
				}
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					n.ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					n.ns[""] = a.Value
				default:
					n.attrs = append(n.attrs, a)
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.growText()
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.text += string(t)
				p.growText()
				p.textParts[len(p.children)] += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no root element", file)
	}
	return root, nil
}

// growText makes room in textParts for the text that follows the last child so far.
func (n *node) growText() {
	for len(n.textParts) < len(n.children)+1 {
		n.textParts = append(n.textParts, "")
	}
}

// pos names the node's place for error messages: "wsdl/xsd/x.xsd:12: xs:element".
func (n *node) pos() string {
	return fmt.Sprintf("%s:%d: %s", n.file, n.line, n.display())
}

func (n *node) display() string {
	switch n.name.Space {
	case nsXSD:
		return "xs:" + n.name.Local
	case nsWSDL:
		return "wsdl:" + n.name.Local
	case nsWSDLSOAP:
		return "soap:" + n.name.Local
	}
	return n.name.Local
}

// attr returns the value of an unqualified attribute.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// attrOr returns the value of an unqualified attribute or def.
func (n *node) attrOr(name, def string) string {
	if v, ok := n.attr(name); ok {
		return v
	}
	return def
}

// checkAttrs fails when the node has an attribute other than the allowed ones (namespace declarations excluded).
func (n *node) checkAttrs(allowed ...string) error {
	for _, a := range n.attrs {
		if a.Name.Space == nsXML && a.Name.Local == "lang" {
			continue // the language of the schema's own documentation (W3C's xml.xsd)
		}
		ok := false
		if a.Name.Space == "" {
			for _, x := range allowed {
				if a.Name.Local == x {
					ok = true
					break
				}
			}
		}
		if !ok {
			name := a.Name.Local
			if a.Name.Space != "" {
				name = a.Name.Space + " " + name
			}
			return unsupported(n, fmt.Sprintf("attribute %q", name))
		}
	}
	return nil
}

// qname resolves a QName attribute value ("prefix:local" or "local") against the in-scope namespaces.
func (n *node) qname(value string) (qname, error) {
	prefix, local, found := strings.Cut(value, ":")
	if !found {
		prefix, local = "", value
	}
	if prefix == "xml" {
		return qname{nsXML, local}, nil
	}
	ns, ok := n.ns[prefix]
	if !ok && prefix != "" {
		return qname{}, fmt.Errorf("%s: prefix %q of %q is not declared", n.pos(), prefix, value)
	}
	return qname{ns, local}, nil
}

// qname is a namespace-qualified name.
type qname struct{ Space, Local string }

func (q qname) String() string {
	if q.Space == "" {
		return q.Local
	}
	return "{" + q.Space + "}" + q.Local
}

// unsupportedError is the error for an XSD or WSDL construct wsdlfix does not handle.
type unsupportedError struct {
	Pos       string // file:line: construct
	Construct string
	Via       string // the message path that uses it, e.g. GetActorQualitiesRequest/Signature/SignedInfo
}

func (e *unsupportedError) Error() string {
	via := ""
	if e.Via != "" {
		via = " (used by " + e.Via + ")"
	}
	return fmt.Sprintf("%s: %s is not supported by wsdlfix%s. What to do: rewrite the schema with the constructs listed in "+
		"internal/wsdlfix's package documentation; or, if the content of an element may stay raw XML, name the element "+
		"in a <wsdlfix:raw element=\"...\"/> hint of the WSDL; or teach internal/wsdlfix this construct. Never hand-edit gen/.",
		e.Pos, e.Construct, via)
}

func unsupported(n *node, construct string) error {
	return &unsupportedError{Pos: n.pos(), Construct: construct}
}
