package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The coverage check reads the schemas a second time, independently of the Go mapping (builder), and lists every
// element and attribute of every message: its name, namespace, place in the order, cardinality and value type. It
// then finds the Go field that holds each one in the declarations the builder made. A message item without a
// field, a field that holds no item, or a field whose Go type cannot hold the item's cardinality stops
// generation: nothing in the XML is silently left out of the bindings.

type shapeKind int

const (
	sElement shapeKind = iota
	sAttribute
	sText
	sAny
)

// shape is one item of a message as the schemas describe it.
type shape struct {
	kind      shapeKind
	name      qname // elements and attributes
	min, max  int
	value     string // simple content: "xs:string", "xs:string{a|b}", "union(xs:language|xs:string{})"
	nillable  bool
	raw       bool // the content is kept as raw XML (wsdlfix:raw)
	anyNS     string
	recursive bool // the element's type is already open on this path: its content is listed further up
	children  []*shape
	pos       string // where the item is declared
	goField   string // coverage: the Go field that holds it ("GetCertificateResponse.X509Certificate")
}

// shaper builds shapes from the schema set.
type shaper struct{ set *schemaSet }

// messageShape returns the shape of a global message element.
func (s *shaper) messageShape(el qname) (*shape, error) {
	e := s.set.elements[el]
	if e == nil {
		return nil, s.set.missing(&node{file: "?"}, "el", el)
	}
	return s.element(e, 1, 1, map[string]bool{})
}

func (s *shaper) element(e *elementDecl, min, max int, open map[string]bool) (*shape, error) {
	if !e.global {
		if err := s.set.resolveElement(e); err != nil {
			return nil, err
		}
	}
	sh := &shape{kind: sElement, name: e.name, min: min, max: max, nillable: e.nillable, pos: e.node.pos()}
	var ct *complexType
	key := ""
	switch {
	case e.anon != nil:
		ct, key = e.anon, "anon "+e.anon.node.pos()
	case s.set.complexTypes[e.typeName] != nil:
		ct, key = s.set.complexTypes[e.typeName], "type "+e.typeName.String()
	default:
		v, err := s.simpleValue(e.node, e.typeName)
		if err != nil {
			return nil, err
		}
		sh.value = v
		return sh, nil
	}
	if (e.global || e.ref) && s.set.raw[e.name] != nil || s.onlyWildcard(ct) {
		sh.raw = true
		attrs, err := s.attributes(ct, nil, map[*node]bool{})
		sh.children = attrs
		return sh, err
	}
	if open[key] {
		sh.recursive = true
		return sh, nil
	}
	open[key] = true
	defer delete(open, key)
	return sh, s.content(sh, ct, open)
}

// onlyWildcard reports whether ct's content is a single xs:any without typed elements, which the builder keeps
// as raw XML.
func (s *shaper) onlyWildcard(ct *complexType) bool {
	if ct.complexBase != (qname{}) || ct.simpleBase != (qname{}) || ct.seq == nil || len(ct.seq.items) != 1 {
		return false
	}
	p := ct.seq.items[0]
	return p.kind == pAny && len(p.known) == 0 && (ct.name == (qname{}) || len(s.set.anyHints[ct.name]) == 0)
}

// attributes lists the attributes of ct and of its bases (bases first), attribute groups expanded.
func (s *shaper) attributes(ct *complexType, out []*shape, active map[*node]bool) ([]*shape, error) {
	if active[ct.node] {
		return nil, unsupported(ct.node, "a type that extends itself")
	}
	active[ct.node] = true
	defer delete(active, ct.node)
	if ct.complexBase != (qname{}) {
		base, err := s.set.attrsOnlyType(ct.node, ct.complexBase)
		if err != nil {
			return nil, err
		}
		if out, err = s.attributes(base, out, active); err != nil {
			return nil, err
		}
	}
	return s.attrList(ct.attrs, out, map[qname]bool{})
}

func (s *shaper) attrList(list []*attrDecl, out []*shape, active map[qname]bool) ([]*shape, error) {
	for _, a := range list {
		if a.group != (qname{}) {
			g := s.set.attrGroups[a.group]
			if g == nil || active[a.group] {
				return nil, s.set.missing(a.node, "ag", a.group)
			}
			active[a.group] = true
			var err error
			out, err = s.attrList(g.attrs, out, active)
			delete(active, a.group)
			if err != nil {
				return nil, err
			}
			continue
		}
		decl := a
		if _, isRef := a.node.attr("ref"); isRef {
			if decl = s.set.attributes[a.name]; decl == nil {
				return nil, s.set.missing(a.node, "at", a.name)
			}
		}
		sh := &shape{kind: sAttribute, name: a.name, max: 1, pos: a.node.pos()}
		if a.required {
			sh.min = 1
		}
		var err error
		if decl.anon != nil {
			sh.value, err = s.describeSimple(decl.anon)
		} else {
			sh.value, err = s.simpleValue(decl.node, decl.typeName)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, nil
}

// content appends the attributes, text and child elements of an element of type ct.
func (s *shaper) content(sh *shape, ct *complexType, open map[string]bool) error {
	attrs, err := s.attributes(ct, nil, map[*node]bool{})
	if err != nil {
		return err
	}
	sh.children = append(sh.children, attrs...)
	return s.elements(sh, ct, open, map[*complexType]bool{})
}

// elements appends the text and element items of ct, its bases' first.
func (s *shaper) elements(sh *shape, ct *complexType, open map[string]bool, active map[*complexType]bool) error {
	if active[ct] {
		return unsupported(ct.node, "a type that extends itself")
	}
	active[ct] = true
	defer delete(active, ct)
	if ct.complexBase != (qname{}) {
		base := s.set.complexTypes[ct.complexBase]
		if base == nil {
			return s.set.missingType(ct.node, ct.complexBase)
		}
		if err := s.elements(sh, base, open, active); err != nil {
			return err
		}
	}
	if ct.simpleBase != (qname{}) {
		v, err := s.simpleValue(ct.node, ct.simpleBase)
		if err != nil {
			return err
		}
		sh.children = append(sh.children, &shape{kind: sText, min: 0, max: 1, value: v, pos: ct.node.pos()})
	}
	if ct.seq != nil {
		return s.particle(sh, ct, ct.seq, false, open)
	}
	return nil
}

func (s *shaper) particle(sh *shape, ct *complexType, p *particle, optional bool, open map[string]bool) error {
	switch p.kind {
	case pSequence:
		if p.max != 1 {
			return unsupported(p.node, "a repeated xs:sequence (maxOccurs other than 1)")
		}
		for _, it := range p.items {
			if err := s.particle(sh, ct, it, optional || p.min == 0, open); err != nil {
				return err
			}
		}
		return nil
	case pElement:
		min := p.elem.min
		if optional {
			min = 0
		}
		c, err := s.element(p.elem, min, p.elem.max, open)
		if err != nil {
			return err
		}
		sh.children = append(sh.children, c)
		return nil
	case pAny:
		min := p.min
		if optional {
			min = 0
		}
		a := &shape{kind: sAny, min: min, max: p.max, anyNS: p.anyNS, pos: p.node.pos()}
		known := append([]qname(nil), p.known...)
		if ct.name != (qname{}) {
			known = append(known, s.set.anyHints[ct.name]...)
		}
		for _, k := range known {
			g := s.set.elements[k]
			if g == nil {
				return s.set.missing(p.node, "el", k)
			}
			c, err := s.element(g, 0, p.max, open)
			if err != nil {
				return err
			}
			a.children = append(a.children, c)
		}
		sh.children = append(sh.children, a)
		return nil
	}
	return fmt.Errorf("%s: internal error: unknown particle", p.node.pos())
}

// simpleValue describes a simple type by its built-in base and enumeration values.
func (s *shaper) simpleValue(n *node, t qname) (string, error) {
	if t.Space == nsXSD {
		if goBuiltin(t).expr == "" {
			return "", unsupported(n, "built-in type xs:"+t.Local)
		}
		return "xs:" + t.Local, nil
	}
	st := s.set.simpleTypes[t]
	if st == nil {
		if s.set.complexTypes[t] != nil {
			return "", unsupported(n, "a complex type "+t.String()+" where a simple type is needed")
		}
		return "", s.set.missingType(n, t)
	}
	return s.describeSimple(st)
}

func (s *shaper) describeSimple(st *simpleType) (string, error) {
	if st.union {
		var members []string
		for _, c := range st.node.children {
			if c.name.Space != nsXSD || c.name.Local != "union" {
				continue
			}
			for _, m := range strings.Fields(c.attrOr("memberTypes", "")) {
				q, err := c.qname(m)
				if err != nil {
					return "", err
				}
				v, err := s.simpleValue(c, q)
				if err != nil {
					return "", err
				}
				members = append(members, v)
			}
			for _, m := range c.children {
				if m.name.Space == nsXSD && m.name.Local == "simpleType" {
					mt, err := parseSimpleType(m, st.file, false)
					if err != nil {
						return "", err
					}
					v, err := s.describeSimple(mt)
					if err != nil {
						return "", err
					}
					members = append(members, v)
				}
			}
		}
		return "union(" + strings.Join(members, "|") + ")", nil
	}
	if goBuiltin(st.base).expr == "" {
		return "", unsupported(st.node, "a restriction of xs:"+st.base.Local)
	}
	v := "xs:" + st.base.Local
	if len(st.enums) > 0 {
		v += "{" + strings.Join(st.enums, "|") + "}"
	}
	return v, nil
}

// label names an item in listings: {namespace}Name for elements, @Name for attributes.
func (sh *shape) label() string {
	switch sh.kind {
	case sAttribute:
		return "@" + sh.name.String()
	case sText:
		return "#text"
	case sAny:
		return "#any(" + sh.anyNS + ")"
	}
	return sh.name.String()
}

func cardinality(min, max int) string {
	hi := "*"
	if max != unbounded {
		hi = strconv.Itoa(max)
	}
	return "[" + strconv.Itoa(min) + ".." + hi + "]"
}

// write appends the shape as indented lines; withGo adds the Go field of each item.
func (sh *shape) write(b *strings.Builder, indent string, withGo bool) {
	line := indent + sh.label()
	if sh.kind != sText {
		line += " " + cardinality(sh.min, sh.max)
	}
	if sh.value != "" {
		line += " " + sh.value
	}
	if sh.nillable {
		line += " nillable"
	}
	if sh.raw {
		line += " raw-content"
	}
	if sh.recursive {
		line += " (recursive: content as above)"
	}
	if withGo && sh.goField != "" {
		line += "  -> " + sh.goField
	}
	b.WriteString(line + "\n")
	for _, c := range sh.children {
		c.write(b, indent+"  ", withGo)
	}
}

// messageShapes returns the shapes of every operation's request and response, in WSDL order.
func messageShapes(svc *service) ([]*shape, error) {
	s := &shaper{set: svc.schemas}
	var out []*shape
	for _, op := range svc.operations {
		for _, el := range []qname{op.request, op.response} {
			sh, err := s.messageShape(el)
			if err != nil {
				return nil, err
			}
			out = append(out, sh)
		}
	}
	return out, nil
}

// coverage checks that every item of every message has a Go field in the builder's declarations and returns
// the listing of items with their fields.
func coverage(svc *service, b *builder) (string, error) {
	shapes, err := messageShapes(svc)
	if err != nil {
		return "", err
	}
	c := &coverer{b: b, matched: map[string]bool{}}
	for _, sh := range shapes {
		d := b.byKey["el:"+sh.name.String()]
		if d == nil {
			c.fail(sh.name.Local, sh, "has no Go type")
			continue
		}
		sh.goField = d.name
		c.check(sh.name.Local, sh, d)
	}
	// Every field of a declaration that a message reaches must hold an item.
	for _, d := range b.decls {
		if !d.isStruct || !c.visited[d.name] {
			continue
		}
		for _, f := range d.fields {
			switch f.name {
			case "NamespaceDecls", "InnerXML", "Any":
				continue
			}
			if !c.matched[d.name+"."+f.name] {
				c.problems = append(c.problems, fmt.Sprintf("Go field %s.%s (%s) holds no element or attribute of the schemas", d.name, f.name, f.tag))
			}
		}
	}
	var listing strings.Builder
	for _, sh := range shapes {
		sh.write(&listing, "", true)
	}
	if len(c.problems) > 0 {
		sort.Strings(c.problems)
		return listing.String(), fmt.Errorf("coverage check of %s failed (the generated types would not describe "+
			"the messages completely; this is a bug in internal/wsdlfix, or a construct it must refuse):\n  %s",
			svc.file, strings.Join(c.problems, "\n  "))
	}
	return listing.String(), nil
}

type coverer struct {
	b        *builder
	matched  map[string]bool // "Type.Field" that hold an item
	visited  map[string]bool
	problems []string
}

func (c *coverer) fail(path string, sh *shape, msg string) {
	c.problems = append(c.problems, fmt.Sprintf("%s (%s, declared at %s) %s", path, sh.label(), sh.pos, msg))
}

// check finds the fields of d that hold the children of sh.
func (c *coverer) check(path string, sh *shape, d *goDecl) {
	if c.visited == nil {
		c.visited = map[string]bool{}
	}
	c.visited[d.name] = true
	for _, ch := range sh.children {
		p := path + "/" + ch.label()
		switch ch.kind {
		case sAttribute:
			f := findField(d, xmlTagName(ch.name), true)
			if f == nil {
				c.fail(p, ch, "has no Go field in "+d.name)
				continue
			}
			c.use(d, f, ch)
			optional := strings.HasPrefix(f.typ, "*") || strings.Contains(f.tag, ",omitempty")
			if ch.min == 0 && !optional || ch.min == 1 && optional {
				c.fail(p, ch, fmt.Sprintf("is %s but its Go field %s.%s is %s %s", cardinality(ch.min, ch.max), d.name, f.name, f.typ, f.tag))
			}
		case sText:
			f := fieldWithTag(d, `xml:",chardata"`)
			if f == nil {
				c.fail(p, ch, "has no Go field in "+d.name)
				continue
			}
			c.use(d, f, ch)
		case sAny:
			if f := fieldWithTag(d, `xml:",innerxml"`); f != nil {
				c.use(d, f, ch)
				continue
			}
			f := fieldWithTag(d, `xml:",any"`)
			if f == nil {
				c.fail(p, ch, "has no Any or InnerXML field in "+d.name)
				continue
			}
			c.use(d, f, ch)
			for _, k := range ch.children {
				c.element(p+"/"+k.label(), k, d)
			}
		case sElement:
			c.element(p, ch, d)
		}
	}
}

func (c *coverer) element(p string, ch *shape, d *goDecl) {
	if d.raw || fieldWithTag(d, `xml:",innerxml"`) != nil && findField(d, xmlTagName(ch.name), false) == nil {
		c.fail(p, ch, "is inside raw XML content of "+d.name+" but is listed as an element")
		return
	}
	f := findField(d, xmlTagName(ch.name), false)
	if f == nil {
		c.fail(p, ch, "has no Go field in "+d.name)
		return
	}
	c.use(d, f, ch)
	many := strings.HasPrefix(f.typ, "[]")
	optional := many || strings.HasPrefix(f.typ, "*") || strings.Contains(f.tag, ",omitempty")
	switch {
	case (ch.max != 1) != many:
		c.fail(p, ch, fmt.Sprintf("is %s but its Go field %s.%s is %s", cardinality(ch.min, ch.max), d.name, f.name, f.typ))
	case ch.min == 0 && !optional:
		c.fail(p, ch, fmt.Sprintf("is optional but its Go field %s.%s (%s %s) cannot be absent", d.name, f.name, f.typ, f.tag))
	case ch.min > 0 && ch.max == 1 && ch.value != "" && !ch.nillable && optional:
		c.fail(p, ch, fmt.Sprintf("is required but its Go field %s.%s (%s %s) may be left out", d.name, f.name, f.typ, f.tag))
	}
	if ch.value != "" || ch.recursive {
		return
	}
	sub := c.b.byName(f.typeDecl)
	if sub == nil || !sub.isStruct {
		c.fail(p, ch, fmt.Sprintf("has complex content but its Go field %s.%s is %s", d.name, f.name, f.typ))
		return
	}
	if ch.raw {
		if fieldWithTag(sub, `xml:",innerxml"`) == nil {
			c.fail(p, ch, "is raw XML but "+sub.name+" has no InnerXML field")
		} else {
			c.matched[sub.name+".InnerXML"] = true
		}
	}
	c.check(p, ch, sub)
}

func (c *coverer) use(d *goDecl, f *goField, sh *shape) {
	c.matched[d.name+"."+f.name] = true
	sh.goField = d.name + "." + f.name + " " + f.typ
}

// xmlTagName is the name part of a struct tag for an element or attribute: "ns local" or "local".
func xmlTagName(q qname) string {
	if q.Space == "" {
		return q.Local
	}
	return q.Space + " " + q.Local
}

// findField returns the field of d whose struct tag names the element or attribute.
func findField(d *goDecl, name string, attr bool) *goField {
	for i := range d.fields {
		f := &d.fields[i]
		tag, ok := strings.CutPrefix(f.tag, `xml:"`)
		if !ok {
			continue
		}
		tag = strings.TrimSuffix(tag, `"`)
		parts := strings.Split(tag, ",")
		if parts[0] != name {
			continue
		}
		isAttr := false
		for _, o := range parts[1:] {
			if o == "attr" {
				isAttr = true
			}
		}
		if isAttr == attr {
			return f
		}
	}
	return nil
}

func fieldWithTag(d *goDecl, tag string) *goField {
	for i := range d.fields {
		if d.fields[i].tag == tag {
			return &d.fields[i]
		}
	}
	return nil
}
