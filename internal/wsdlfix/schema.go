package main

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Namespaces of the languages wsdlfix reads.
const (
	nsXSD      = "http://www.w3.org/2001/XMLSchema"
	nsWSDL     = "http://schemas.xmlsoap.org/wsdl/"
	nsWSDLSOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
	nsXML      = "http://www.w3.org/XML/1998/namespace"
	nsWsdlfix  = "urn:ehcert:wsdlfix"
	soapHTTP   = "http://schemas.xmlsoap.org/soap/http"
)

const unbounded = -1

// service is a parsed WSDL: its operations, in portType order, and the schemas it imports.
type service struct {
	file       string
	name       string
	operations []*operation
	schemas    *schemaSet
}

// operation is one WSDL operation bound with SOAP 1.1 document/literal.
type operation struct {
	name       string
	soapAction string
	request    qname // the request element
	response   qname // the response element
}

// schemaSet is every schema reachable from the WSDL, indexed by qualified name.
type schemaSet struct {
	files        []*schemaFile
	elements     map[qname]*elementDecl
	complexTypes map[qname]*complexType
	simpleTypes  map[qname]*simpleType
	attributes   map[qname]*attrDecl
	attrGroups   map[qname]*attrGroup
	// broken holds the error of each global declaration that could not be read ("ct:{ns}name", "st:...",
	// "el:...", "at:...", "ag:..."). It is reported when, and only when, a message uses the declaration: schemas
	// such as the W3C xmldsig schema declare much that the messages never use.
	broken map[string]error
	// raw lists the global elements whose content is kept as raw XML (wsdlfix:raw hints of the WSDL).
	raw map[qname]*node
	// anyHints maps a complexType to the global elements its wildcard gets typed fields for (wsdlfix:any hints
	// of the WSDL).
	anyHints  map[qname][]qname
	hintNodes map[qname]*node
	// rawDecls are the global elements of raw: the declaration with a type that holds only the attributes.
	rawDecls map[qname]*elementDecl
	// nodes are the global element and complexType declarations ("el:{ns}name", "ct:{ns}name"), read or not.
	nodes map[string]nodeRef
}

type nodeRef struct {
	node *node
	file *schemaFile
}

// attrGroup is a named xs:attributeGroup: its attributes and the groups it references, in order.
type attrGroup struct {
	node  *node
	name  qname
	attrs []*attrDecl
}

type schemaFile struct {
	path      string
	tns       string
	qualified bool
}

type elementDecl struct {
	resolved bool // resolveElement ran
	node     *node
	name     qname        // the element's name in instances
	ref      bool         // declared with ref= (name and type come from the global declaration)
	typeName qname        // named type (or an xs: built-in); zero with anon
	anon     *complexType // anonymous complex type (global elements only)
	min, max int
	nillable bool
	doc      string
	global   bool
	file     *schemaFile
}

type complexType struct {
	node        *node
	name        qname // zero for an anonymous type
	doc         string
	complexBase qname // complexContent/extension base
	simpleBase  qname // simpleContent/extension base
	seq         *particle
	attrs       []*attrDecl
	file        *schemaFile
}

type particleKind int

const (
	pSequence particleKind = iota
	pElement
	pAny
)

type particle struct {
	node     *node
	kind     particleKind
	min, max int
	items    []*particle  // pSequence
	elem     *elementDecl // pElement
	anyNS    string       // pAny
	known    []qname      // pAny: global elements named in a wsdlfix:element appinfo
}

type attrDecl struct {
	node     *node
	group    qname // an xs:attributeGroup reference (no other field is set)
	name     qname
	typeName qname       // named type or built-in
	anon     *simpleType // anonymous simple type
	required bool
	doc      string
}

type simpleType struct {
	node  *node
	name  qname // zero for an anonymous type
	doc   string
	base  qname // restriction base
	enums []string
	union bool
	file  *schemaFile
}

// loadService parses a WSDL and every schema it imports.
func loadService(wsdlPath string) (*service, error) {
	root, err := parseFile(wsdlPath)
	if err != nil {
		return nil, err
	}
	if root.name != (xml.Name{Space: nsWSDL, Local: "definitions"}) {
		return nil, fmt.Errorf("%s: not a WSDL 1.1 document (root is %s)", root.pos(), root.name.Local)
	}
	if err := root.checkAttrs("name", "targetNamespace"); err != nil {
		return nil, err
	}
	svc := &service{file: wsdlPath, name: root.attrOr("name", "")}
	set := newSchemaSet()
	messages := map[qname]qname{} // message -> element
	type portOp struct {
		name          string
		input, output qname
	}
	var portOps []portOp
	bindingActions := map[string]string{}
	var bindingOps []string
	tns := root.attrOr("targetNamespace", "")

	for _, c := range root.children {
		if c.name.Space != nsWSDL {
			return nil, unsupported(c, "element "+c.name.Space+" "+c.name.Local)
		}
		switch c.name.Local {
		case "documentation":
		case "types":
			for _, s := range c.children {
				if s.name.Space != nsXSD || s.name.Local != "schema" {
					return nil, unsupported(s, "content of wsdl:types other than xs:schema")
				}
				for _, imp := range s.children {
					if imp.name.Space == nsXSD && imp.name.Local == "annotation" {
						if err := set.readHints(imp); err != nil {
							return nil, err
						}
						continue
					}
					if imp.name.Space != nsXSD || imp.name.Local != "import" {
						return nil, unsupported(imp, "an inline schema with declarations (put them in an imported .xsd file)")
					}
					if err := imp.checkAttrs("namespace", "schemaLocation"); err != nil {
						return nil, err
					}
					loc, ok := imp.attr("schemaLocation")
					if !ok {
						return nil, unsupported(imp, "xs:import without schemaLocation")
					}
					if err := set.load(filepath.Join(filepath.Dir(wsdlPath), loc), imp.attrOr("namespace", "")); err != nil {
						return nil, err
					}
				}
			}
		case "message":
			if err := c.checkAttrs("name"); err != nil {
				return nil, err
			}
			if len(c.children) != 1 || c.children[0].name.Local != "part" {
				return nil, unsupported(c, "a message without exactly one part (document/literal wrapped needs one element part)")
			}
			part := c.children[0]
			if err := part.checkAttrs("name", "element"); err != nil {
				return nil, err
			}
			el, ok := part.attr("element")
			if !ok {
				return nil, unsupported(part, "a part without element= (rpc style)")
			}
			q, err := part.qname(el)
			if err != nil {
				return nil, err
			}
			messages[qname{tns, c.attrOr("name", "")}] = q
		case "portType":
			if err := c.checkAttrs("name"); err != nil {
				return nil, err
			}
			for _, o := range c.children {
				if o.name.Local == "documentation" {
					continue
				}
				if o.name.Local != "operation" {
					return nil, unsupported(o, "portType content")
				}
				if err := o.checkAttrs("name"); err != nil {
					return nil, err
				}
				po := portOp{name: o.attrOr("name", "")}
				for _, io := range o.children {
					if err := io.checkAttrs("message", "name"); err != nil {
						return nil, err
					}
					q, err := io.qname(io.attrOr("message", ""))
					if err != nil {
						return nil, err
					}
					switch io.name.Local {
					case "input":
						po.input = q
					case "output":
						po.output = q
					case "documentation":
					default:
						return nil, unsupported(io, "operation content (faults are not supported)")
					}
				}
				if po.input == (qname{}) || po.output == (qname{}) {
					return nil, unsupported(o, "an operation without input and output (one-way or notification)")
				}
				portOps = append(portOps, po)
			}
		case "binding":
			if err := c.checkAttrs("name", "type"); err != nil {
				return nil, err
			}
			for _, b := range c.children {
				switch {
				case b.name.Space == nsWSDLSOAP && b.name.Local == "binding":
					if err := b.checkAttrs("style", "transport"); err != nil {
						return nil, err
					}
					if b.attrOr("style", "document") != "document" || b.attrOr("transport", "") != soapHTTP {
						return nil, unsupported(b, "a binding other than SOAP 1.1 document style over HTTP")
					}
				case b.name.Space == nsWSDL && b.name.Local == "operation":
					name := b.attrOr("name", "")
					action := ""
					for _, bo := range b.children {
						switch {
						case bo.name.Space == nsWSDLSOAP && bo.name.Local == "operation":
							if err := bo.checkAttrs("soapAction", "style"); err != nil {
								return nil, err
							}
							if bo.attrOr("style", "document") != "document" {
								return nil, unsupported(bo, "rpc style")
							}
							action = bo.attrOr("soapAction", "")
						case bo.name.Space == nsWSDL && (bo.name.Local == "input" || bo.name.Local == "output"):
							if len(bo.children) != 1 || bo.children[0].name != (xml.Name{Space: nsWSDLSOAP, Local: "body"}) {
								return nil, unsupported(bo, "binding input/output other than one soap:body")
							}
							body := bo.children[0]
							if err := body.checkAttrs("use"); err != nil {
								return nil, err
							}
							if body.attrOr("use", "") != "literal" {
								return nil, unsupported(body, "use other than literal")
							}
						default:
							return nil, unsupported(bo, "binding operation content")
						}
					}
					if action == "" {
						return nil, unsupported(b, "a binding operation without soapAction")
					}
					bindingActions[name] = action
					bindingOps = append(bindingOps, name)
				default:
					return nil, unsupported(b, "binding content (only SOAP 1.1 is supported)")
				}
			}
		case "service":
			for _, p := range c.children {
				for _, a := range p.children {
					if a.name.Space != nsWSDLSOAP || a.name.Local != "address" {
						return nil, unsupported(a, "a port other than a SOAP 1.1 address")
					}
				}
			}
		default:
			return nil, unsupported(c, "wsdl:"+c.name.Local)
		}
	}
	if len(portOps) == 0 {
		return nil, fmt.Errorf("%s: no operations", wsdlPath)
	}
	if len(bindingOps) != len(portOps) {
		return nil, fmt.Errorf("%s: the binding has %d operations, the portType %d", wsdlPath, len(bindingOps), len(portOps))
	}
	for _, po := range portOps {
		action, ok := bindingActions[po.name]
		if !ok {
			return nil, fmt.Errorf("%s: operation %s is not bound", wsdlPath, po.name)
		}
		req, ok1 := messages[po.input]
		resp, ok2 := messages[po.output]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: operation %s names an undeclared message", wsdlPath, po.name)
		}
		for _, el := range []qname{req, resp} {
			if set.isBroken("el", el) {
				return nil, set.missing(root, "el", el)
			}
			if set.elements[el] == nil {
				return nil, fmt.Errorf("%s: operation %s: element %s is not declared by the imported schemas", wsdlPath, po.name, el)
			}
		}
		svc.operations = append(svc.operations, &operation{name: po.name, soapAction: action, request: req, response: resp})
	}
	for q, n := range set.raw {
		if _, ok := set.nodes["el:"+q.String()]; !ok {
			return nil, fmt.Errorf("%s: wsdlfix:raw names %s, which is not a global element of the imported schemas", n.pos(), q)
		}
		e, err := set.rawElement(q)
		if err != nil {
			return nil, err
		}
		set.rawDecls[q] = e
	}
	for t, els := range set.anyHints {
		n := set.hintNodes[t]
		if set.complexTypes[t] == nil && !set.isBroken("ct", t) {
			return nil, fmt.Errorf("%s: wsdlfix:any names type %s, which is not a complexType of the imported schemas", n.pos(), t)
		}
		for _, e := range els {
			if set.elements[e] == nil && !set.isBroken("el", e) {
				return nil, fmt.Errorf("%s: wsdlfix:any names element %s, which is not a global element of the imported schemas", n.pos(), e)
			}
		}
	}
	svc.schemas = set
	return svc, nil
}

// readHints reads the wsdlfix hints of a WSDL: an xs:annotation of the inline xs:schema whose
// <xs:appinfo source="urn:ehcert:wsdlfix"> holds
//
//	<wsdlfix:raw element="ds:Signature"/>                                    keep the element's content as raw XML
//	<wsdlfix:any type="core:StatusDetailType" element="etee:EteeStatusDetail"/> a typed field in a wildcard
//
// Hints say how to map schemas that are used unchanged (eHealth's published XSDs); they never add or remove an
// element or attribute of the XML.
func (set *schemaSet) readHints(ann *node) error {
	for _, ai := range ann.children {
		switch {
		case ai.name.Space == nsXSD && ai.name.Local == "documentation":
			continue
		case ai.name.Space != nsXSD || ai.name.Local != "appinfo":
			return unsupported(ai, "annotation content")
		case ai.attrOr("source", "") != nsWsdlfix:
			continue
		}
		for _, h := range ai.children {
			if h.name.Space != nsWsdlfix {
				return unsupported(h, "a hint other than wsdlfix:raw or wsdlfix:any")
			}
			switch h.name.Local {
			case "raw":
				if err := h.checkAttrs("element"); err != nil {
					return err
				}
				q, err := h.qname(h.attrOr("element", ""))
				if err != nil {
					return err
				}
				if set.raw[q] != nil {
					return fmt.Errorf("%s: wsdlfix:raw %s given twice", h.pos(), q)
				}
				set.raw[q] = h
			case "any":
				if err := h.checkAttrs("type", "element"); err != nil {
					return err
				}
				t, err := h.qname(h.attrOr("type", ""))
				if err != nil {
					return err
				}
				e, err := h.qname(h.attrOr("element", ""))
				if err != nil {
					return err
				}
				set.anyHints[t] = append(set.anyHints[t], e)
				if set.hintNodes[t] == nil {
					set.hintNodes[t] = h
				}
			default:
				return unsupported(h, "a hint other than wsdlfix:raw or wsdlfix:any")
			}
		}
	}
	return nil
}

func newSchemaSet() *schemaSet {
	return &schemaSet{
		elements:     map[qname]*elementDecl{},
		complexTypes: map[qname]*complexType{},
		simpleTypes:  map[qname]*simpleType{},
		attributes:   map[qname]*attrDecl{},
		attrGroups:   map[qname]*attrGroup{},
		broken:       map[string]error{},
		raw:          map[qname]*node{},
		anyHints:     map[qname][]qname{},
		hintNodes:    map[qname]*node{},
		rawDecls:     map[qname]*elementDecl{},
		nodes:        map[string]nodeRef{},
	}
}

// missing returns the error for a declaration that a message uses but that is not in the schema set: the error
// that made it unreadable, or "not declared".
func (set *schemaSet) missing(n *node, kind string, q qname) error {
	if err := set.broken[kind+":"+q.String()]; err != nil {
		return err
	}
	what := map[string]string{"el": "element", "ct": "complexType", "st": "simpleType", "at": "attribute",
		"ag": "attributeGroup", "type": "type"}[kind]
	return fmt.Errorf("%s: %s %s is not declared by the imported schemas", n.pos(), what, q)
}

// isBroken reports whether a global declaration of that kind and name exists but could not be read.
func (set *schemaSet) isBroken(kind string, q qname) bool {
	return set.broken[kind+":"+q.String()] != nil
}

// declare records a global declaration, or the error that made it unreadable. A name declared twice is an error
// either way.
func (set *schemaSet) declare(c *node, kind string, q qname, taken bool, err error, add func()) error {
	if taken || set.broken[kind+":"+q.String()] != nil ||
		(kind == "ct" || kind == "st") && (set.broken["ct:"+q.String()] != nil || set.broken["st:"+q.String()] != nil) {
		return fmt.Errorf("%s: %s declared twice", c.pos(), q)
	}
	if err != nil {
		set.broken[kind+":"+q.String()] = err
		return nil
	}
	add()
	return nil
}

// globalName is the name of a global declaration (needed before it is parsed, to record a parse error).
func globalName(c *node, f *schemaFile) (qname, error) {
	name, ok := c.attr("name")
	if !ok || name == "" {
		return qname{}, fmt.Errorf("%s: global declaration without name", c.pos())
	}
	return qname{f.tns, name}, nil
}

// load parses one schema file and, recursively, the files it imports.
func (set *schemaSet) load(path, wantNS string) error {
	path = filepath.Clean(path)
	for _, f := range set.files {
		if f.path == filepath.ToSlash(path) {
			return nil
		}
	}
	root, err := parseFile(path)
	if err != nil {
		return err
	}
	root.file = filepath.ToSlash(path)
	fixFile(root, root.file)
	if root.name.Space != nsXSD || root.name.Local != "schema" {
		return fmt.Errorf("%s: not an XML Schema document", root.pos())
	}
	if err := root.checkAttrs("targetNamespace", "elementFormDefault", "attributeFormDefault", "version"); err != nil {
		return err
	}
	f := &schemaFile{path: root.file, tns: root.attrOr("targetNamespace", "")}
	if f.tns != wantNS {
		return fmt.Errorf("%s: targetNamespace %q, but it is imported for namespace %q", root.pos(), f.tns, wantNS)
	}
	for _, other := range set.files {
		if other.tns == f.tns {
			return unsupported(root, fmt.Sprintf("a second schema file for namespace %q (first: %s)", f.tns, other.path))
		}
	}
	switch root.attrOr("elementFormDefault", "unqualified") {
	case "qualified":
		f.qualified = true
	case "unqualified":
	default:
		return unsupported(root, "elementFormDefault="+root.attrOr("elementFormDefault", ""))
	}
	if root.attrOr("attributeFormDefault", "unqualified") != "unqualified" {
		return unsupported(root, "attributeFormDefault=qualified")
	}
	set.files = append(set.files, f)

	for _, c := range root.children {
		if c.name.Space != nsXSD {
			return unsupported(c, "element "+c.name.Space+" "+c.name.Local)
		}
		switch c.name.Local {
		case "annotation":
		case "import":
			if err := c.checkAttrs("namespace", "schemaLocation"); err != nil {
				return err
			}
			loc, ok := c.attr("schemaLocation")
			if !ok {
				return unsupported(c, "xs:import without schemaLocation")
			}
			if err := set.load(filepath.Join(filepath.Dir(path), loc), c.attrOr("namespace", "")); err != nil {
				return err
			}
		case "element", "complexType", "simpleType", "attribute", "attributeGroup":
			if err := set.loadGlobal(c, f); err != nil {
				return err
			}
		case "group", "notation":
			// A named model group contributes nothing until a content model references it, and xs:group
			// references are refused where they occur; a notation describes no element or attribute.
		default:
			return unsupported(c, "xs:"+c.name.Local)
		}
	}
	return nil
}

// loadGlobal reads one global declaration. An error in its content is recorded (see schemaSet.broken) and
// reported if a message uses the declaration; a missing name or a name declared twice stops loading.
func (set *schemaSet) loadGlobal(c *node, f *schemaFile) error {
	q, err := globalName(c, f)
	if err != nil {
		return err
	}
	switch c.name.Local {
	case "element":
		if _, ok := c.attr("substitutionGroup"); ok {
			// Not deferred: a member of a substitution group changes the XML of every message that uses the
			// group's head, although no message names the member.
			return unsupported(c, "substitutionGroup")
		}
		set.nodes["el:"+q.String()] = nodeRef{c, f}
	case "complexType":
		set.nodes["ct:"+q.String()] = nodeRef{c, f}
	}
	switch c.name.Local {
	case "element":
		e, err := parseElement(c, f, true)
		if err == nil && e.typeName == (qname{}) {
			for _, x := range c.children {
				if x.name.Space == nsXSD && x.name.Local == "complexType" {
					if e.anon, err = set.parseComplexType(x, f, false); err != nil {
						break
					}
				}
			}
			if err == nil && e.anon == nil {
				err = unsupported(c, "an element without type (xs:anyType)")
			}
		}
		return set.declare(c, "el", q, set.elements[q] != nil, err, func() { set.elements[q] = e })
	case "complexType":
		ct, err := set.parseComplexType(c, f, true)
		return set.declare(c, "ct", q, set.complexTypes[q] != nil || set.simpleTypes[q] != nil, err,
			func() { set.complexTypes[q] = ct })
	case "simpleType":
		st, err := parseSimpleType(c, f, true)
		return set.declare(c, "st", q, set.complexTypes[q] != nil || set.simpleTypes[q] != nil, err,
			func() { set.simpleTypes[q] = st })
	case "attribute":
		a, err := parseAttribute(c, f, true)
		return set.declare(c, "at", q, set.attributes[q] != nil, err, func() { set.attributes[q] = a })
	default: // attributeGroup
		g, err := parseAttrGroup(c, f)
		return set.declare(c, "ag", q, set.attrGroups[q] != nil, err, func() { set.attrGroups[q] = g })
	}
}

// parseAttrGroup reads a named xs:attributeGroup.
func parseAttrGroup(n *node, f *schemaFile) (*attrGroup, error) {
	if err := n.checkAttrs("name"); err != nil {
		return nil, err
	}
	g := &attrGroup{node: n, name: qname{f.tns, n.attrOr("name", "")}}
	for _, c := range n.children {
		switch {
		case c.name.Space == nsXSD && c.name.Local == "annotation":
		case c.name.Space == nsXSD && c.name.Local == "attribute":
			a, err := parseAttribute(c, f, false)
			if err != nil {
				return nil, err
			}
			g.attrs = append(g.attrs, a)
		case c.name.Space == nsXSD && c.name.Local == "attributeGroup":
			a, err := parseAttrGroupRef(c)
			if err != nil {
				return nil, err
			}
			g.attrs = append(g.attrs, a)
		default:
			return nil, unsupported(c, c.display()+" in an xs:attributeGroup")
		}
	}
	return g, nil
}

// parseAttrGroupRef reads <xs:attributeGroup ref="..."/> inside a complexType, an extension or a group.
func parseAttrGroupRef(n *node) (*attrDecl, error) {
	if err := n.checkAttrs("ref"); err != nil {
		return nil, err
	}
	ref, ok := n.attr("ref")
	if !ok {
		return nil, unsupported(n, "an xs:attributeGroup without ref inside a type")
	}
	q, err := n.qname(ref)
	if err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if c.name.Space != nsXSD || c.name.Local != "annotation" {
			return nil, unsupported(c, "content of an xs:attributeGroup reference")
		}
	}
	return &attrDecl{node: n, group: q}, nil
}

func fixFile(n *node, file string) {
	n.file = file
	for _, c := range n.children {
		fixFile(c, file)
	}
}

// documentation returns the text of the xs:annotation/xs:documentation children of n, white space collapsed.
func documentation(n *node) (string, error) {
	var parts []string
	for _, c := range n.children {
		if c.name.Space != nsXSD || c.name.Local != "annotation" {
			continue
		}
		for _, d := range c.children {
			switch {
			case d.name.Space == nsXSD && d.name.Local == "documentation":
				// Markup (the W3C schemas use XHTML) is reduced to its text.
				parts = append(parts, strings.Join(strings.Fields(allText(d)), " "))
			case d.name.Space == nsXSD && d.name.Local == "appinfo":
			default:
				return "", unsupported(d, "annotation content")
			}
		}
	}
	return strings.Join(parts, "\n\n"), nil
}

// allText returns the character data of n and its descendants, in document order.
func allText(n *node) string {
	if len(n.children) == 0 {
		return n.text
	}
	var b strings.Builder
	for i, c := range n.children {
		if i < len(n.textParts) {
			b.WriteString(n.textParts[i])
		}
		b.WriteString(allText(c))
	}
	if len(n.textParts) > len(n.children) {
		b.WriteString(n.textParts[len(n.children)])
	}
	return b.String()
}

func parseOccurs(n *node) (min, max int, err error) {
	min, max = 1, 1
	if v, ok := n.attr("minOccurs"); ok {
		min, err = strconv.Atoi(v)
		if err != nil || min < 0 {
			return 0, 0, unsupported(n, "minOccurs="+strconv.Quote(v))
		}
	}
	if v, ok := n.attr("maxOccurs"); ok {
		if v == "unbounded" {
			max = unbounded
		} else {
			max, err = strconv.Atoi(v)
			if err != nil || max < 1 {
				return 0, 0, unsupported(n, "maxOccurs="+strconv.Quote(v))
			}
		}
	}
	if min > 1 && max == 1 || max != unbounded && min > max {
		return 0, 0, fmt.Errorf("%s: minOccurs %d greater than maxOccurs %d", n.pos(), min, max)
	}
	return min, max, nil
}

// parseElement reads a global element declaration or a local one (name= or ref=).
func parseElement(n *node, f *schemaFile, global bool) (*elementDecl, error) {
	e := &elementDecl{node: n, global: global, min: 1, max: 1, file: f}
	var err error
	if global {
		err = n.checkAttrs("name", "type")
	} else {
		err = n.checkAttrs("name", "ref", "type", "minOccurs", "maxOccurs", "nillable", "form")
	}
	if err != nil {
		return nil, err
	}
	if e.doc, err = documentation(n); err != nil {
		return nil, err
	}
	if !global {
		if e.min, e.max, err = parseOccurs(n); err != nil {
			return nil, err
		}
		switch n.attrOr("nillable", "false") {
		case "true":
			e.nillable = true
		case "false":
		default:
			return nil, unsupported(n, "nillable="+n.attrOr("nillable", ""))
		}
	}
	if ref, ok := n.attr("ref"); ok {
		if _, hasName := n.attr("name"); hasName {
			return nil, fmt.Errorf("%s: both name and ref", n.pos())
		}
		if _, hasType := n.attr("type"); hasType {
			return nil, fmt.Errorf("%s: both ref and type", n.pos())
		}
		if e.nillable {
			return nil, unsupported(n, "nillable on an element reference")
		}
		if e.name, err = n.qname(ref); err != nil {
			return nil, err
		}
		e.ref = true
		for _, c := range n.children {
			if c.name.Local != "annotation" {
				return nil, unsupported(c, "content of an element reference")
			}
		}
		return e, nil
	}
	name, ok := n.attr("name")
	if !ok {
		return nil, fmt.Errorf("%s: element without name or ref", n.pos())
	}
	ns := f.tns
	if !global {
		form := n.attrOr("form", "")
		switch {
		case form == "qualified":
		case form == "unqualified", form == "" && !f.qualified:
			ns = ""
		case form != "":
			return nil, unsupported(n, "form="+form)
		}
	}
	e.name = qname{ns, name}
	if t, ok := n.attr("type"); ok {
		if e.typeName, err = n.qname(t); err != nil {
			return nil, err
		}
	}
	for _, c := range n.children {
		switch {
		case c.name.Space == nsXSD && c.name.Local == "annotation":
		case c.name.Space == nsXSD && c.name.Local == "complexType" && global && e.typeName == (qname{}):
			// parsed by the caller through parseAnon (needs the schema set)
		case c.name.Space == nsXSD && c.name.Local == "complexType":
			return nil, unsupported(c, "an anonymous complexType on a local element (give the type a name)")
		default:
			return nil, unsupported(c, "xs:"+c.name.Local+" inside xs:element")
		}
	}
	return e, nil
}

// typeHeader checks the attributes of a complexType or simpleType declaration (only "name", and only when named)
// and returns its name and documentation.
func typeHeader(n *node, f *schemaFile, named bool) (qname, string, error) {
	var name qname
	if named {
		if err := n.checkAttrs("name"); err != nil {
			return qname{}, "", err
		}
		name = qname{f.tns, n.attrOr("name", "")}
	} else if err := n.checkAttrs(); err != nil {
		return qname{}, "", err
	}
	doc, err := documentation(n)
	return name, doc, err
}

// parseComplexType reads a named complexType or the anonymous one of a global element.
func (set *schemaSet) parseComplexType(n *node, f *schemaFile, named bool) (*complexType, error) {
	ct := &complexType{node: n, file: f}
	var err error
	if ct.name, ct.doc, err = typeHeader(n, f, named); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if c.name.Space != nsXSD {
			return nil, unsupported(c, "element "+c.name.Local)
		}
		switch c.name.Local {
		case "annotation":
		case "sequence":
			if ct.seq != nil {
				return nil, unsupported(c, "a second xs:sequence")
			}
			if ct.seq, err = set.parseSequence(c, f); err != nil {
				return nil, err
			}
		case "attribute":
			a, err := parseAttribute(c, f, false)
			if err != nil {
				return nil, err
			}
			ct.attrs = append(ct.attrs, a)
		case "attributeGroup":
			a, err := parseAttrGroupRef(c)
			if err != nil {
				return nil, err
			}
			ct.attrs = append(ct.attrs, a)
		case "complexContent", "simpleContent":
			if err := c.checkAttrs(); err != nil {
				return nil, err
			}
			var ext *node
			for _, x := range c.children {
				switch {
				case x.name.Space == nsXSD && x.name.Local == "annotation":
				case x.name.Space == nsXSD && x.name.Local == "extension" && ext == nil:
					ext = x
				default:
					return nil, unsupported(x, "xs:"+x.name.Local+" inside xs:"+c.name.Local+" (only xs:extension is supported)")
				}
			}
			if ext == nil {
				return nil, unsupported(c, "xs:"+c.name.Local+" without xs:extension")
			}
			if err := ext.checkAttrs("base"); err != nil {
				return nil, err
			}
			base, err := ext.qname(ext.attrOr("base", ""))
			if err != nil {
				return nil, err
			}
			if c.name.Local == "complexContent" {
				ct.complexBase = base
			} else {
				ct.simpleBase = base
			}
			for _, x := range ext.children {
				switch {
				case x.name.Space == nsXSD && x.name.Local == "annotation":
				case x.name.Space == nsXSD && x.name.Local == "sequence" && c.name.Local == "complexContent" && ct.seq == nil:
					if ct.seq, err = set.parseSequence(x, f); err != nil {
						return nil, err
					}
				case x.name.Space == nsXSD && x.name.Local == "attribute":
					a, err := parseAttribute(x, f, false)
					if err != nil {
						return nil, err
					}
					ct.attrs = append(ct.attrs, a)
				case x.name.Space == nsXSD && x.name.Local == "attributeGroup":
					a, err := parseAttrGroupRef(x)
					if err != nil {
						return nil, err
					}
					ct.attrs = append(ct.attrs, a)
				default:
					return nil, unsupported(x, "xs:"+x.name.Local+" inside xs:extension of xs:"+c.name.Local)
				}
			}
		default:
			return nil, unsupported(c, "xs:"+c.name.Local+" in a complexType")
		}
	}
	return ct, nil
}

func (set *schemaSet) parseSequence(n *node, f *schemaFile) (*particle, error) {
	if err := n.checkAttrs("minOccurs", "maxOccurs"); err != nil {
		return nil, err
	}
	p := &particle{node: n, kind: pSequence}
	var err error
	if p.min, p.max, err = parseOccurs(n); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if c.name.Space != nsXSD {
			return nil, unsupported(c, "element "+c.name.Local)
		}
		switch c.name.Local {
		case "annotation":
		case "element":
			e, err := parseElement(c, f, false)
			if err != nil {
				return nil, err
			}
			p.items = append(p.items, &particle{node: c, kind: pElement, min: e.min, max: e.max, elem: e})
		case "sequence":
			s, err := set.parseSequence(c, f)
			if err != nil {
				return nil, err
			}
			p.items = append(p.items, s)
		case "any":
			a, err := parseAny(c)
			if err != nil {
				return nil, err
			}
			p.items = append(p.items, a)
		default:
			return nil, unsupported(c, "xs:"+c.name.Local+" in a sequence")
		}
	}
	return p, nil
}

func parseAny(n *node) (*particle, error) {
	if err := n.checkAttrs("namespace", "processContents", "minOccurs", "maxOccurs"); err != nil {
		return nil, err
	}
	p := &particle{node: n, kind: pAny, anyNS: n.attrOr("namespace", "##any")}
	var err error
	if p.min, p.max, err = parseOccurs(n); err != nil {
		return nil, err
	}
	switch n.attrOr("processContents", "strict") {
	case "strict", "lax", "skip":
	default:
		return nil, unsupported(n, "processContents="+n.attrOr("processContents", ""))
	}
	for _, c := range n.children {
		if c.name.Space != nsXSD || c.name.Local != "annotation" {
			return nil, unsupported(c, "content of xs:any")
		}
		for _, ai := range c.children {
			if ai.name.Space != nsXSD || ai.name.Local != "appinfo" {
				continue
			}
			if ai.attrOr("source", "") != nsWsdlfix {
				continue
			}
			for _, k := range ai.children {
				if k.name.Space != nsWsdlfix || k.name.Local != "element" {
					return nil, unsupported(k, "wsdlfix appinfo other than <wsdlfix:element ref=\"...\"/>")
				}
				if err := k.checkAttrs("ref"); err != nil {
					return nil, err
				}
				q, err := k.qname(k.attrOr("ref", ""))
				if err != nil {
					return nil, err
				}
				p.known = append(p.known, q)
			}
		}
	}
	return p, nil
}

func parseAttribute(n *node, f *schemaFile, global bool) (*attrDecl, error) {
	var err error
	if global {
		err = n.checkAttrs("name", "type")
	} else {
		err = n.checkAttrs("name", "ref", "type", "use")
	}
	if err != nil {
		return nil, err
	}
	a := &attrDecl{node: n}
	if a.doc, err = documentation(n); err != nil {
		return nil, err
	}
	switch n.attrOr("use", "optional") {
	case "optional":
	case "required":
		a.required = true
	default:
		return nil, unsupported(n, "use="+n.attrOr("use", ""))
	}
	if ref, ok := n.attr("ref"); ok {
		if a.name, err = n.qname(ref); err != nil {
			return nil, err
		}
		// type comes from the global declaration (resolve)
	} else {
		name, ok := n.attr("name")
		if !ok {
			return nil, fmt.Errorf("%s: attribute without name or ref", n.pos())
		}
		a.name = qname{"", name}
		if global {
			a.name = qname{f.tns, name}
		}
		if t, ok := n.attr("type"); ok {
			if a.typeName, err = n.qname(t); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range n.children {
		switch {
		case c.name.Space == nsXSD && c.name.Local == "annotation":
		case c.name.Space == nsXSD && c.name.Local == "simpleType" && a.typeName == (qname{}):
			if a.anon, err = parseSimpleType(c, f, false); err != nil {
				return nil, err
			}
		default:
			return nil, unsupported(c, "xs:"+c.name.Local+" inside xs:attribute")
		}
	}
	if _, isRef := n.attr("ref"); !isRef && a.typeName == (qname{}) && a.anon == nil {
		return nil, unsupported(n, "an attribute without a type (xs:anySimpleType)")
	}
	return a, nil
}

func parseSimpleType(n *node, f *schemaFile, named bool) (*simpleType, error) {
	st := &simpleType{node: n, file: f}
	var err error
	if st.name, st.doc, err = typeHeader(n, f, named); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if c.name.Space != nsXSD {
			return nil, unsupported(c, "element "+c.name.Local)
		}
		switch c.name.Local {
		case "annotation":
		case "restriction":
			if err := c.checkAttrs("base"); err != nil {
				return nil, err
			}
			if st.base, err = c.qname(c.attrOr("base", "")); err != nil {
				return nil, err
			}
			if st.base.Space != nsXSD {
				return nil, unsupported(c, "a restriction of a non-built-in type")
			}
			for _, fc := range c.children {
				if fc.name.Space != nsXSD {
					return nil, unsupported(fc, "element "+fc.name.Local)
				}
				switch fc.name.Local {
				case "annotation":
				case "enumeration":
					v, ok := fc.attr("value")
					if !ok {
						return nil, fmt.Errorf("%s: enumeration without value", fc.pos())
					}
					st.enums = append(st.enums, v)
				case "length", "minLength", "maxLength", "pattern":
					// Facets constrain values, not the shape of the XML: they are documented, not enforced.
				default:
					return nil, unsupported(fc, "facet xs:"+fc.name.Local)
				}
			}
		case "union":
			if err := c.checkAttrs("memberTypes"); err != nil {
				return nil, err
			}
			st.union = true
			for _, m := range strings.Fields(c.attrOr("memberTypes", "")) {
				q, err := c.qname(m)
				if err != nil {
					return nil, err
				}
				if goBuiltin(q).kind != kString {
					return nil, unsupported(c, "a union with non-string member "+m)
				}
			}
			for _, m := range c.children {
				if m.name.Local == "annotation" {
					continue
				}
				if m.name.Local != "simpleType" {
					return nil, unsupported(m, "union content")
				}
				mt, err := parseSimpleType(m, f, false)
				if err != nil {
					return nil, err
				}
				if mt.union || goBuiltin(mt.base).kind != kString {
					return nil, unsupported(m, "a union member that is not a restriction of a string type")
				}
			}
		default:
			return nil, unsupported(c, "xs:"+c.name.Local+" in a simpleType")
		}
	}
	if st.base == (qname{}) && !st.union {
		return nil, unsupported(n, "a simpleType without restriction or union")
	}
	return st, nil
}

// rawElement reads a global element named by a wsdlfix:raw hint: its name and, from its type, only the
// attributes and the extension base. Its content model is not read at all (it may use any construct).
func (set *schemaSet) rawElement(q qname) (*elementDecl, error) {
	ref := set.nodes["el:"+q.String()]
	n := ref.node
	e := &elementDecl{node: n, name: q, global: true, min: 1, max: 1, file: ref.file, resolved: true}
	e.doc, _ = documentation(n) // documentation only
	if t, ok := n.attr("type"); ok {
		tq, err := n.qname(t)
		if err != nil {
			return nil, err
		}
		if tq.Space == nsXSD || set.simpleTypes[tq] != nil || set.isBroken("st", tq) {
			return nil, unsupported(n, "wsdlfix:raw on an element of a simple type")
		}
		if e.anon, err = set.attrsOnlyType(n, tq); err != nil {
			return nil, err
		}
		return e, nil
	}
	for _, c := range n.children {
		if c.name.Space == nsXSD && c.name.Local == "complexType" {
			var err error
			if e.anon, err = parseTypeAttrs(c, ref.file); err != nil {
				return nil, err
			}
			return e, nil
		}
	}
	return nil, unsupported(n, "wsdlfix:raw on an element without a complex type")
}

// attrsOnlyType returns a named complexType as far as its attributes are concerned: the parsed type, or, when
// its content could not be read, the type read again without its content model.
func (set *schemaSet) attrsOnlyType(n *node, q qname) (*complexType, error) {
	if ct := set.complexTypes[q]; ct != nil {
		return ct, nil
	}
	if ref, ok := set.nodes["ct:"+q.String()]; ok {
		return parseTypeAttrs(ref.node, ref.file)
	}
	return nil, set.missingType(n, q)
}

// parseTypeAttrs reads a complexType's attributes, attribute group references and extension base, and nothing
// of its content model (elements, wildcards, mixed content).
func parseTypeAttrs(n *node, f *schemaFile) (*complexType, error) {
	ct := &complexType{node: n, file: f}
	if name, ok := n.attr("name"); ok {
		ct.name = qname{f.tns, name}
	}
	ct.doc, _ = documentation(n)
	collect := func(parent *node) error {
		for _, c := range parent.children {
			if c.name.Space != nsXSD {
				continue
			}
			switch c.name.Local {
			case "attribute":
				a, err := parseAttribute(c, f, false)
				if err != nil {
					return err
				}
				ct.attrs = append(ct.attrs, a)
			case "attributeGroup":
				a, err := parseAttrGroupRef(c)
				if err != nil {
					return err
				}
				ct.attrs = append(ct.attrs, a)
			case "anyAttribute":
				return unsupported(c, "xs:anyAttribute (attributes without a Go field would be lost)")
			}
		}
		return nil
	}
	if err := collect(n); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if c.name.Space != nsXSD || c.name.Local != "complexContent" && c.name.Local != "simpleContent" {
			continue
		}
		for _, x := range c.children {
			switch {
			case x.name.Space != nsXSD || x.name.Local == "annotation":
			case x.name.Local == "extension":
				base, err := x.qname(x.attrOr("base", ""))
				if err != nil {
					return nil, err
				}
				if c.name.Local == "complexContent" {
					ct.complexBase = base
				} else {
					ct.simpleBase = base
				}
				if err := collect(x); err != nil {
					return nil, err
				}
			default:
				return nil, unsupported(x, "xs:"+x.name.Local+" inside xs:"+c.name.Local+" (only xs:extension is supported)")
			}
		}
	}
	return ct, nil
}

// globalElement returns the global element declaration for q: the attributes-only one of a raw element.
func (set *schemaSet) globalElement(q qname) *elementDecl {
	if e := set.rawDecls[q]; e != nil {
		return e
	}
	return set.elements[q]
}

// resolveElement completes a local element declaration when a message uses it: an element reference takes the
// type of the global element; a named type must be declared.
func (set *schemaSet) resolveElement(e *elementDecl) error {
	if e.resolved {
		return nil
	}
	if e.ref {
		g := set.globalElement(e.name)
		if g == nil {
			if set.isBroken("el", e.name) {
				return set.missing(e.node, "el", e.name)
			}
			return fmt.Errorf("%s: element reference %s: no such global element", e.node.pos(), e.name)
		}
		e.typeName, e.anon = g.typeName, g.anon
		if e.doc == "" {
			e.doc = g.doc
		}
	}
	if e.anon == nil {
		if err := set.checkType(e.node, e.typeName); err != nil {
			return err
		}
	}
	e.resolved = true
	return nil
}

// missingType is missing for a type name (complex or simple).
func (set *schemaSet) missingType(n *node, t qname) error {
	for _, k := range []string{"ct", "st"} {
		if set.isBroken(k, t) {
			return set.missing(n, k, t)
		}
	}
	return set.missing(n, "type", t)
}

func (set *schemaSet) checkType(n *node, t qname) error {
	if t.Space == nsXSD {
		if goBuiltin(t).expr == "" {
			return unsupported(n, "built-in type xs:"+t.Local)
		}
		return nil
	}
	if set.complexTypes[t] == nil && set.simpleTypes[t] == nil {
		return set.missingType(n, t)
	}
	return nil
}
