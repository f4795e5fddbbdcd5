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
	// locals lists every local element declaration (to find how a type is used).
	locals []*elementDecl
}

type schemaFile struct {
	path      string
	tns       string
	qualified bool
}

type elementDecl struct {
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
			if set.elements[el] == nil {
				return nil, fmt.Errorf("%s: operation %s: element %s is not declared by the imported schemas", wsdlPath, po.name, el)
			}
		}
		svc.operations = append(svc.operations, &operation{name: po.name, soapAction: action, request: req, response: resp})
	}
	if err := set.resolve(); err != nil {
		return nil, err
	}
	svc.schemas = set
	return svc, nil
}

func newSchemaSet() *schemaSet {
	return &schemaSet{
		elements:     map[qname]*elementDecl{},
		complexTypes: map[qname]*complexType{},
		simpleTypes:  map[qname]*simpleType{},
		attributes:   map[qname]*attrDecl{},
	}
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
		case "element":
			e, err := parseElement(c, f, true)
			if err != nil {
				return err
			}
			if set.elements[e.name] != nil {
				return fmt.Errorf("%s: element %s declared twice", c.pos(), e.name)
			}
			set.elements[e.name] = e
		case "complexType":
			ct, err := set.parseComplexType(c, f, true)
			if err != nil {
				return err
			}
			if set.complexTypes[ct.name] != nil || set.simpleTypes[ct.name] != nil {
				return fmt.Errorf("%s: type %s declared twice", c.pos(), ct.name)
			}
			set.complexTypes[ct.name] = ct
		case "simpleType":
			st, err := parseSimpleType(c, f, true)
			if err != nil {
				return err
			}
			if set.complexTypes[st.name] != nil || set.simpleTypes[st.name] != nil {
				return fmt.Errorf("%s: type %s declared twice", c.pos(), st.name)
			}
			set.simpleTypes[st.name] = st
		case "attribute":
			a, err := parseAttribute(c, f, true)
			if err != nil {
				return err
			}
			set.attributes[a.name] = a
		default:
			return unsupported(c, "xs:"+c.name.Local)
		}
	}
	return nil
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
				if len(d.children) > 0 {
					return "", unsupported(d, "markup inside xs:documentation")
				}
				parts = append(parts, strings.Join(strings.Fields(d.text), " "))
			case d.name.Space == nsXSD && d.name.Local == "appinfo":
			default:
				return "", unsupported(d, "annotation content")
			}
		}
	}
	return strings.Join(parts, "\n\n"), nil
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

// parseComplexType reads a named complexType or the anonymous one of a global element.
func (set *schemaSet) parseComplexType(n *node, f *schemaFile, named bool) (*complexType, error) {
	ct := &complexType{node: n, file: f}
	if named {
		if err := n.checkAttrs("name"); err != nil {
			return nil, err
		}
		ct.name = qname{f.tns, n.attrOr("name", "")}
	} else if err := n.checkAttrs(); err != nil {
		return nil, err
	}
	var err error
	if ct.doc, err = documentation(n); err != nil {
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
			set.locals = append(set.locals, e)
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
	if named {
		if err := n.checkAttrs("name"); err != nil {
			return nil, err
		}
		st.name = qname{f.tns, n.attrOr("name", "")}
	} else if err := n.checkAttrs(); err != nil {
		return nil, err
	}
	var err error
	if st.doc, err = documentation(n); err != nil {
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

// resolve completes references: anonymous types of global elements, element and attribute references, and
// checks that every named type exists.
func (set *schemaSet) resolve() error {
	// Anonymous complex types of global elements.
	for _, e := range set.elements {
		if e.typeName != (qname{}) {
			continue
		}
		for _, c := range e.node.children {
			if c.name.Space == nsXSD && c.name.Local == "complexType" {
				ct, err := set.parseComplexType(c, e.file, false)
				if err != nil {
					return err
				}
				e.anon = ct
			}
		}
		if e.anon == nil {
			return unsupported(e.node, "an element without type (xs:anyType)")
		}
	}
	for _, e := range set.locals {
		if err := set.resolveElement(e); err != nil {
			return err
		}
	}
	return nil
}

func (set *schemaSet) resolveElement(e *elementDecl) error {
	if e.ref {
		g := set.elements[e.name]
		if g == nil {
			return fmt.Errorf("%s: element reference %s: no such global element", e.node.pos(), e.name)
		}
		e.typeName, e.anon = g.typeName, g.anon
		if e.doc == "" {
			e.doc = g.doc
		}
		if g.anon != nil {
			return nil
		}
	}
	return set.checkType(e.node, e.typeName)
}

func (set *schemaSet) checkType(n *node, t qname) error {
	if t.Space == nsXSD {
		if goBuiltin(t).expr == "" {
			return unsupported(n, "built-in type xs:"+t.Local)
		}
		return nil
	}
	if set.complexTypes[t] == nil && set.simpleTypes[t] == nil {
		return fmt.Errorf("%s: type %s is not declared by the imported schemas", n.pos(), t)
	}
	return nil
}
