package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// goKind says how a Go type behaves for optional values: string-like and slice-like types use omitempty (the
// empty value means absent); the others become pointers when optional.
type goKind int

const (
	kString goKind = iota + 1
	kBytes
	kBool
	kNumber
	kStruct
)

type goRef struct {
	expr string // Go type expression
	kind goKind
}

// goBuiltin maps the XML Schema built-in types wsdlfix supports to Go. The zero goRef means unsupported.
func goBuiltin(t qname) goRef {
	if t.Space != nsXSD {
		return goRef{}
	}
	switch t.Local {
	case "string", "anyURI", "ID", "NCName", "token", "normalizedString", "language", "Name", "NMTOKEN":
		return goRef{"string", kString}
	case "boolean":
		return goRef{"bool", kBool}
	case "int":
		return goRef{"int32", kNumber}
	case "long":
		return goRef{"int64", kNumber}
	case "dateTime":
		return goRef{"xsd.DateTime", kStruct}
	case "base64Binary":
		return goRef{"xsd.Base64Binary", kBytes}
	case "hexBinary":
		return goRef{"xsd.HexBinary", kBytes}
	}
	return goRef{}
}

// goDecl is one Go type declaration to emit.
type goDecl struct {
	name   string
	doc    string
	origin string // "{ns}local" and file, for the doc comment
	// struct types
	isStruct bool
	xmlName  *qname
	fields   []goField
	resetNS  bool // MarshalXML adds xmlns="" (the type of unqualified elements)
	opaque   bool // content kept as raw XML; Marshal/UnmarshalXML keep its namespace declarations
	// simple types
	underlying string // Go underlying type
	delegate   string // xsd type whose text methods the type forwards to
	consts     []goConst
	ct         *complexType
	raw        bool   // the element's content is kept as raw XML (wsdlfix:raw)
	via        string // the first message path that uses the declaration (for error messages)
}

type goField struct {
	name, typ, tag, doc string
	elem                *elementDecl // element fields
	ns                  string       // element namespace
	simple              bool         // element of a simple type
	typeDecl            string       // generated type the field refers to, if any
}

type goConst struct{ name, value string }

// builder turns the schema set into Go declarations for one service.
type builder struct {
	set   *schemaSet
	decls []*goDecl
	byKey map[string]*goDecl // key: "ct:{ns}name", "st:{ns}name", "el:{ns}name"
	names map[string]string  // Go name -> key, to catch collisions
	queue []*goDecl
	path  string          // message path being filled (GetCertificateResponse/Status/StatusCode), for errors
	used  map[string]bool // hints that were applied ("raw:{ns}name", "any:{ns}type {ns}element")
}

func exported(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty name")
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	for i, c := range r {
		if !(unicode.IsLetter(c) || c == '_' || (i > 0 && unicode.IsDigit(c))) {
			return "", fmt.Errorf("name %q is not a Go identifier", s)
		}
	}
	return string(r), nil
}

// build creates the declarations reachable from the operations' messages and checks with coverage that every
// element and attribute of every message has a Go field.
func build(svc *service) ([]*goDecl, error) {
	b, err := buildModel(svc)
	if err != nil {
		return nil, err
	}
	if _, err := coverage(svc, b); err != nil {
		return nil, err
	}
	return b.decls, nil
}

// buildModel creates the declarations reachable from the operations' messages.
func buildModel(svc *service) (*builder, error) {
	b := &builder{set: svc.schemas, byKey: map[string]*goDecl{}, names: map[string]string{}, used: map[string]bool{}}
	for _, op := range svc.operations {
		for _, el := range []qname{op.request, op.response} {
			b.path = el.Local
			if _, err := b.elementDecl(svc.schemas.elements[el]); err != nil {
				return nil, b.where(err)
			}
		}
	}
	for len(b.queue) > 0 {
		d := b.queue[0]
		b.queue = b.queue[1:]
		b.path = d.via
		if err := b.fill(d); err != nil {
			return nil, b.where(err)
		}
	}
	if err := b.checkNamespaces(); err != nil {
		return nil, err
	}
	if err := b.checkHintsUsed(); err != nil {
		return nil, err
	}
	return b, nil
}

// where adds the message path being generated to an unsupported-construct error.
func (b *builder) where(err error) error {
	var ue *unsupportedError
	if errors.As(err, &ue) && ue.Via == "" {
		ue.Via = b.path
	}
	return err
}

// checkHintsUsed fails for a WSDL hint that changed nothing (a typo, or a schema change that moved the wildcard).
func (b *builder) checkHintsUsed() error {
	for q, n := range b.set.raw {
		if !b.used["raw:"+q.String()] {
			return fmt.Errorf("%s: wsdlfix:raw %s: no message uses this element; remove the hint", n.pos(), q)
		}
	}
	for t, els := range b.set.anyHints {
		for _, e := range els {
			if !b.used["any:"+t.String()+" "+e.String()] {
				return fmt.Errorf("%s: wsdlfix:any type %s element %s: no message uses a wildcard of this type; remove the hint",
					b.set.hintNodes[t].pos(), t, e)
			}
		}
	}
	return nil
}

func (b *builder) register(key, name string, d *goDecl, n *node) error {
	if other, ok := b.names[name]; ok && other != key {
		return fmt.Errorf("%s: Go type name %s is used by both %s and %s", n.pos(), name, other, key)
	}
	b.names[name] = key
	b.byKey[key] = d
	d.via = b.path
	b.decls = append(b.decls, d)
	return nil
}

// elementDecl returns the declaration of a global element with an anonymous type (a message or ds:Signature),
// or of a message element with a named type.
func (b *builder) elementDecl(e *elementDecl) (*goDecl, error) {
	key := "el:" + e.name.String()
	if d := b.byKey[key]; d != nil {
		return d, nil
	}
	name, err := exported(e.name.Local)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", e.node.pos(), err)
	}
	ct := e.anon
	if ct == nil {
		ct = b.set.complexTypes[e.typeName]
		if ct == nil {
			if b.set.isBroken("ct", e.typeName) {
				return nil, b.set.missing(e.node, "ct", e.typeName)
			}
			return nil, unsupported(e.node, "a global element of a simple type used as a message or a raw element")
		}
	}
	q := e.name
	d := &goDecl{name: name, isStruct: true, xmlName: &q, ct: ct, doc: e.doc, raw: b.set.raw[e.name] != nil,
		origin: fmt.Sprintf("the element %s (%s)", e.name, e.file.path)}
	if d.raw {
		b.used["raw:"+e.name.String()] = true
	}
	if e.doc == "" {
		d.doc = ct.doc
	}
	if err := b.register(key, name, d, e.node); err != nil {
		return nil, err
	}
	b.queue = append(b.queue, d)
	return d, nil
}

// typeRef returns the Go type of a named (or built-in) type, declaring it if needed.
func (b *builder) typeRef(n *node, t qname) (goRef, string, error) {
	if t.Space == nsXSD {
		r := goBuiltin(t)
		if r.expr == "" {
			return goRef{}, "", unsupported(n, "built-in type xs:"+t.Local)
		}
		return r, "", nil
	}
	if ct := b.set.complexTypes[t]; ct != nil {
		key := "ct:" + t.String()
		d := b.byKey[key]
		if d == nil {
			name, err := exported(t.Local)
			if err != nil {
				return goRef{}, "", fmt.Errorf("%s: %v", ct.node.pos(), err)
			}
			d = &goDecl{name: name, isStruct: true, ct: ct, doc: ct.doc,
				origin: fmt.Sprintf("the complexType %s (%s)", t, ct.file.path)}
			if err := b.register(key, name, d, ct.node); err != nil {
				return goRef{}, "", err
			}
			b.queue = append(b.queue, d)
		}
		return goRef{d.name, kStruct}, d.name, nil
	}
	if st := b.set.simpleTypes[t]; st != nil {
		key := "st:" + t.String()
		d := b.byKey[key]
		if d == nil {
			var err error
			if d, err = b.simpleDecl(st); err != nil {
				return goRef{}, "", err
			}
			if err := b.register(key, d.name, d, st.node); err != nil {
				return goRef{}, "", err
			}
		}
		kind := kString
		if d.underlying == "[]byte" {
			kind = kBytes
		} else if d.underlying != "string" {
			kind = kStruct
		}
		return goRef{d.name, kind}, d.name, nil
	}
	return goRef{}, "", b.set.missingType(n, t)
}

func (b *builder) simpleDecl(st *simpleType) (*goDecl, error) {
	name, err := exported(st.name.Local)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", st.node.pos(), err)
	}
	d := &goDecl{name: name, doc: st.doc, origin: fmt.Sprintf("the simpleType %s (%s)", st.name, st.file.path)}
	if st.union {
		d.underlying = "string"
		return d, nil
	}
	base := goBuiltin(st.base)
	switch base.expr {
	case "":
		return nil, unsupported(st.node, "a restriction of xs:"+st.base.Local)
	case "xsd.Base64Binary", "xsd.HexBinary":
		d.underlying, d.delegate = "[]byte", base.expr
	case "xsd.DateTime":
		d.underlying, d.delegate = "xsd.DateTime", base.expr
	default:
		d.underlying = base.expr
	}
	if len(st.enums) > 0 {
		if base.kind != kString {
			return nil, unsupported(st.node, "an enumeration of a non-string type")
		}
		seen := map[string]bool{}
		for _, v := range st.enums {
			// gowsdl's naming: type name + the value with its first letter in upper case.
			cn, err := exported(v)
			if err != nil {
				return nil, unsupported(st.node, fmt.Sprintf("enumeration value %q (no Go constant name)", v))
			}
			cn = name + cn
			if seen[cn] {
				return nil, fmt.Errorf("%s: two enumeration values give the constant %s", st.node.pos(), cn)
			}
			seen[cn] = true
			d.consts = append(d.consts, goConst{cn, v})
		}
	}
	return d, nil
}

// fill computes the fields of a struct declaration.
func (b *builder) fill(d *goDecl) error {
	var attrs, elems []goField
	var err error
	if d.raw {
		// wsdlfix:raw: the attributes as fields, the content as raw XML; the content model is not read.
		if attrs, err = b.rawAttrs(d.ct, attrs, map[*node]bool{}); err != nil {
			return err
		}
		elems = rawFields()
	} else if attrs, elems, err = b.flatten(d.ct, attrs, elems, map[*complexType]bool{}); err != nil {
		return err
	}
	seen := map[string]bool{"XMLName": true}
	for _, f := range append(attrs, elems...) {
		if seen[f.name] {
			return fmt.Errorf("%s: two fields named %s in Go type %s (an attribute and an element, or two elements, with the same name)",
				d.ct.node.pos(), f.name, d.name)
		}
		seen[f.name] = true
	}
	d.fields = append(attrs, elems...)
	for _, f := range d.fields {
		if f.name == "InnerXML" && f.tag == `xml:",innerxml"` {
			d.opaque = true
		}
	}
	return nil
}

// flatten appends the attribute and element fields of ct (its base type's first).
func (b *builder) flatten(ct *complexType, attrs, elems []goField, active map[*complexType]bool) ([]goField, []goField, error) {
	if active[ct] {
		return nil, nil, unsupported(ct.node, "a type that extends itself")
	}
	active[ct] = true
	defer delete(active, ct)
	var err error
	if ct.complexBase != (qname{}) {
		base := b.set.complexTypes[ct.complexBase]
		if base == nil {
			if b.set.isBroken("ct", ct.complexBase) {
				return nil, nil, b.set.missing(ct.node, "ct", ct.complexBase)
			}
			return nil, nil, unsupported(ct.node, "an extension of "+ct.complexBase.String()+" (not a declared complexType)")
		}
		if base.simpleBase != (qname{}) {
			return nil, nil, unsupported(ct.node, "complexContent extending a simpleContent type")
		}
		if attrs, elems, err = b.flatten(base, attrs, elems, active); err != nil {
			return nil, nil, err
		}
	}
	if ct.simpleBase != (qname{}) {
		if b.set.complexTypes[ct.simpleBase] != nil {
			return nil, nil, unsupported(ct.node, "simpleContent extending a complexType")
		}
		r, decl, err := b.typeRef(ct.node, ct.simpleBase)
		if err != nil {
			return nil, nil, err
		}
		elems = append(elems, goField{name: "Value", typ: r.expr, tag: `xml:",chardata"`, typeDecl: decl,
			doc: "Value is the element's text."})
	}
	if attrs, err = b.attrFields(ct.attrs, attrs, map[qname]bool{}); err != nil {
		return nil, nil, err
	}
	if ct.seq != nil {
		if elems, err = b.walk(ct, ct.seq, false, elems); err != nil {
			return nil, nil, err
		}
	}
	return attrs, elems, nil
}

// rawAttrs appends the attribute fields of a raw element's type and of its bases.
func (b *builder) rawAttrs(ct *complexType, attrs []goField, active map[*node]bool) ([]goField, error) {
	if active[ct.node] {
		return nil, unsupported(ct.node, "a type that extends itself")
	}
	active[ct.node] = true
	defer delete(active, ct.node)
	if ct.complexBase != (qname{}) {
		base, err := b.set.attrsOnlyType(ct.node, ct.complexBase)
		if err != nil {
			return nil, err
		}
		if attrs, err = b.rawAttrs(base, attrs, active); err != nil {
			return nil, err
		}
	}
	if ct.simpleBase != (qname{}) {
		return nil, unsupported(ct.node, "wsdlfix:raw on an element with simple content")
	}
	return b.attrFields(ct.attrs, attrs, map[qname]bool{})
}

// rawFields are the fields that keep an element's content as raw XML.
func rawFields() []goField {
	return []goField{
		{name: "NamespaceDecls", typ: "[]xsd.NamespaceDecl", tag: `xml:"-"`,
			doc: "NamespaceDecls are the prefixed namespace declarations written on the element (xmlns:ds=...), which InnerXML may use. Prefixes declared on ancestors are not kept."},
		{name: "InnerXML", typ: "string", tag: `xml:",innerxml"`,
			doc: "InnerXML is the element's content, byte for byte as read (xs:any: not interpreted)."},
	}
}

// attrFields appends the fields of attribute declarations, expanding attribute group references.
func (b *builder) attrFields(list []*attrDecl, attrs []goField, active map[qname]bool) ([]goField, error) {
	for _, a := range list {
		if a.group != (qname{}) {
			g := b.set.attrGroups[a.group]
			if g == nil {
				return nil, b.set.missing(a.node, "ag", a.group)
			}
			if active[a.group] {
				return nil, unsupported(a.node, "an attribute group that references itself")
			}
			active[a.group] = true
			var err error
			attrs, err = b.attrFields(g.attrs, attrs, active)
			delete(active, a.group)
			if err != nil {
				return nil, err
			}
			continue
		}
		f, err := b.attrField(a)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, f)
	}
	return attrs, nil
}

func (b *builder) attrField(a *attrDecl) (goField, error) {
	decl := a
	if _, isRef := a.node.attr("ref"); isRef {
		decl = b.set.attributes[a.name]
		if decl == nil {
			if b.set.isBroken("at", a.name) {
				return goField{}, b.set.missing(a.node, "at", a.name)
			}
			return goField{}, fmt.Errorf("%s: attribute reference %s: no such global attribute", a.node.pos(), a.name)
		}
	}
	var r goRef
	var typeDecl string
	var err error
	switch {
	case decl.anon != nil:
		if !decl.anon.union && len(decl.anon.enums) > 0 {
			return goField{}, unsupported(a.node, "an anonymous enumeration (give the simpleType a name)")
		}
		if decl.anon.union {
			r = goRef{"string", kString}
		} else if r = goBuiltin(decl.anon.base); r.expr == "" {
			return goField{}, unsupported(a.node, "an anonymous restriction of xs:"+decl.anon.base.Local)
		}
	default:
		if r, typeDecl, err = b.typeRef(a.node, decl.typeName); err != nil {
			return goField{}, err
		}
		if b.set.complexTypes[decl.typeName] != nil {
			return goField{}, fmt.Errorf("%s: attribute of complex type %s", a.node.pos(), decl.typeName)
		}
	}
	name, err := exported(a.name.Local)
	if err != nil {
		return goField{}, fmt.Errorf("%s: %v", a.node.pos(), err)
	}
	xmlName := a.name.Local
	if a.name.Space != "" {
		xmlName = a.name.Space + " " + a.name.Local
	}
	f := goField{name: name, typ: r.expr, typeDecl: typeDecl, doc: docOr(a.doc, decl.doc)}
	switch {
	case a.required:
		f.tag = fmt.Sprintf(`xml:"%s,attr"`, xmlName)
	case r.kind == kString || r.kind == kBytes:
		f.tag = fmt.Sprintf(`xml:"%s,attr,omitempty"`, xmlName)
	default:
		f.typ = "*" + r.expr
		f.tag = fmt.Sprintf(`xml:"%s,attr"`, xmlName)
	}
	return f, nil
}

func docOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// walk flattens a sequence into element fields. opt is true inside an optional sequence.
func (b *builder) walk(ct *complexType, p *particle, opt bool, elems []goField) ([]goField, error) {
	var err error
	switch p.kind {
	case pSequence:
		if p.max != 1 {
			return nil, unsupported(p.node, "a repeated xs:sequence (maxOccurs other than 1)")
		}
		for i, it := range p.items {
			if it.kind == pAny && i != len(p.items)-1 {
				return nil, unsupported(it.node, "xs:any before other particles (only a trailing xs:any keeps the order)")
			}
			if elems, err = b.walk(ct, it, opt || p.min == 0, elems); err != nil {
				return nil, err
			}
		}
		return elems, nil
	case pElement:
		f, err := b.elementField(p.elem, opt || p.elem.min == 0)
		if err != nil {
			return nil, err
		}
		return append(elems, f), nil
	case pAny:
		return b.anyFields(ct, p, elems)
	}
	return nil, fmt.Errorf("%s: internal error: unknown particle", p.node.pos())
}

func (b *builder) elementField(e *elementDecl, optional bool) (_ goField, err error) {
	outer := b.path
	b.path += "/" + e.name.Local
	defer func() {
		if err != nil {
			err = b.where(err)
		}
		b.path = outer
	}()
	if err := b.set.resolveElement(e); err != nil {
		return goField{}, err
	}
	name, err := exported(e.name.Local)
	if err != nil {
		return goField{}, fmt.Errorf("%s: %v", e.node.pos(), err)
	}
	f := goField{name: name, doc: e.doc, elem: e, ns: e.name.Space}
	xmlName := e.name.Local
	if e.name.Space != "" {
		xmlName = e.name.Space + " " + e.name.Local
	}
	many := e.max != 1
	var r goRef
	if e.anon != nil {
		d, err := b.elementDecl(b.set.globalElement(e.name))
		if err != nil {
			return goField{}, err
		}
		r, f.typeDecl = goRef{d.name, kStruct}, d.name
	} else {
		if r, f.typeDecl, err = b.typeRef(e.node, e.typeName); err != nil {
			return goField{}, err
		}
		f.simple = b.set.complexTypes[e.typeName] == nil
	}
	if e.nillable {
		if r.expr != "string" {
			return goField{}, unsupported(e.node, "nillable on an element of type "+e.typeName.String()+" (only xs:string is supported)")
		}
		r = goRef{"xsd.NillableString", kStruct}
		if !many {
			// A single nillable element: pointer (nil = absent).
			optional = true
		}
	}
	switch {
	case many:
		f.typ = "[]" + r.expr
		f.tag = fmt.Sprintf(`xml:"%s"`, xmlName)
	case !f.simple || e.nillable:
		f.typ = "*" + r.expr
		f.tag = fmt.Sprintf(`xml:"%s"`, xmlName)
	case !optional:
		f.typ = r.expr
		f.tag = fmt.Sprintf(`xml:"%s"`, xmlName)
	case r.kind == kString || r.kind == kBytes:
		f.typ = r.expr
		f.tag = fmt.Sprintf(`xml:"%s,omitempty"`, xmlName)
	default:
		f.typ = "*" + r.expr
		f.tag = fmt.Sprintf(`xml:"%s"`, xmlName)
	}
	return f, nil
}

// anyFields maps an xs:any wildcard. The only particle of a type, without wsdlfix hints: the content is kept as
// raw XML (InnerXML). Otherwise: a typed field per global element named in a wsdlfix:element appinfo, then Any
// for every other element.
func (b *builder) anyFields(ct *complexType, p *particle, elems []goField) ([]goField, error) {
	known := b.knownElements(ct, p)
	only := ct.complexBase == (qname{}) && ct.simpleBase == (qname{}) && len(ct.seq.items) == 1 && ct.seq.items[0] == p
	if only && len(known) == 0 {
		return append(elems, rawFields()...), nil
	}
	for _, k := range known {
		g := b.set.elements[k]
		if g == nil {
			return nil, fmt.Errorf("%s: wsdlfix:element ref %s: no such global element", p.node.pos(), k)
		}
		e := *g
		e.min, e.max, e.global = 0, p.max, false
		f, err := b.elementField(&e, true)
		if err != nil {
			return nil, err
		}
		elems = append(elems, f)
	}
	typ := "*xsd.AnyElement"
	if p.max != 1 {
		typ = "[]xsd.AnyElement"
	}
	return append(elems, goField{name: "Any", typ: typ, tag: `xml:",any"`,
		doc: "Any holds the elements matched by the wildcard that have no field of their own."}), nil
}

// knownElements lists the global elements that a wildcard gets typed fields for: those of a wsdlfix:element
// appinfo on the xs:any, then those of wsdlfix:any hints of the WSDL for the enclosing named type.
func (b *builder) knownElements(ct *complexType, p *particle) []qname {
	known := append([]qname(nil), p.known...)
	if ct.name != (qname{}) {
		for _, e := range b.set.anyHints[ct.name] {
			b.used["any:"+ct.name.String()+" "+e.String()] = true
			known = append(known, e)
		}
	}
	return known
}

// checkNamespaces handles unqualified local elements. encoding/xml writes every namespaced element with a
// default namespace declaration (xmlns="..."), so an unqualified child of a qualified element would inherit the
// parent's namespace. The type of an unqualified complex element inside a qualified one therefore gets a
// MarshalXML that adds xmlns="" (its own unqualified children then inherit no namespace). An unqualified element
// of a simple type directly inside a qualified element cannot be written correctly and is refused.
func (b *builder) checkNamespaces() error {
	usedQ := map[string]bool{} // type of a qualified element
	for _, d := range b.decls {
		if d.isStruct && d.xmlName != nil && d.xmlName.Space != "" {
			usedQ[d.name] = true
		}
		for _, f := range d.fields {
			if f.elem != nil && f.typeDecl != "" && !f.simple && f.ns != "" {
				usedQ[f.typeDecl] = true
			}
		}
	}
	for _, d := range b.decls {
		if !d.isStruct || !usedQ[d.name] {
			continue
		}
		for _, f := range d.fields {
			if f.elem == nil || f.ns != "" {
				continue
			}
			if f.simple {
				return unsupported(f.elem.node, fmt.Sprintf("the unqualified element %s of a simple type inside %s, "+
					"which is the type of a qualified element (encoding/xml cannot undeclare the default namespace for it)",
					f.elem.name.Local, d.name))
			}
			t := b.byName(f.typeDecl)
			if usedQ[t.name] {
				return unsupported(t.ct.node, "a complexType used by both qualified and unqualified elements")
			}
			if t.opaque {
				return unsupported(t.ct.node, "an unqualified element whose content is raw XML")
			}
			t.resetNS = true
		}
	}
	return nil
}

func (b *builder) byName(name string) *goDecl {
	for _, d := range b.decls {
		if d.name == name {
			return d
		}
	}
	return nil
}

// wrap formats text as comment lines of at most width columns.
func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			lines = append(lines, "")
			continue
		}
		line := words[0]
		for _, w := range words[1:] {
			if len(line)+1+len(w) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			line += " " + w
		}
		lines = append(lines, line)
	}
	return lines
}
