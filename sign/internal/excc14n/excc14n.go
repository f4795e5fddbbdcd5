// Package excc14n is the signing fast path of package sign: one pass over the bytes of a request that
// yields the Exclusive XML Canonicalization 1.0 form (without comments, empty InclusiveNamespaces prefix
// list) of its root element, plus what the signer needs to know about the root (its Id, whether it is
// already signed, where its end tag is).
//
// It handles the XML that requests are made of: UTF-8, an optional XML declaration, comments and processing
// instructions, elements, attributes, namespace declarations, character and predefined entity references,
// CDATA sections. Anything else (a DOCTYPE, a non-UTF-8 encoding, non-ASCII names,
// unusual namespace declarations, anything not well-formed) returns ErrUnsupported, and package sign falls
// back to etree + goxmldsig, which either handle the document or report the error. The output is checked
// against goxmldsig's canonicalizer by a differential fuzz test and against xmlsec1 by the interop tests.
//
// Where goxmldsig v1.6.1 deviates from the C14N specification this package follows the specification (and
// xmlsec1): attributes are sorted by namespace URI then local name (goxmldsig sorts prefixed attributes by
// local name first), and literal tab, newline and carriage return characters in attribute values are
// normalized to spaces (encoding/xml keeps them).
package excc14n

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrUnsupported reports input that the fast path leaves to the general implementation.
var ErrUnsupported = errors.New("excc14n: input not handled by the fast path")

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"

	maxDepth = 256
	maxAttrs = 64 // more attributes on one element go to the general path
)

// Result describes the root element of the canonicalized document.
type Result struct {
	// RootQName is the root element's qualified name as written ("p:GenerateCertificateRequest").
	RootQName string
	// RootID is the value of the root's unprefixed Id attribute; HasID tells whether it exists.
	RootID string
	HasID  bool
	// SignatureChild reports a child element {http://www.w3.org/2000/09/xmldsig#}Signature of the root.
	SignatureChild bool
	// End is the offset of the root's end tag ("</"), or of the "/>" of a self-closing root element.
	End         int
	SelfClosing bool
}

type nsBinding struct {
	prefix, uri []byte
}

type attr struct {
	qname, prefix, local, uri, value []byte
}

type frame struct {
	qname               []byte
	scopeMark, rendMark int
}

type parser struct {
	doc  []byte
	pos  int
	out  []byte
	res  Result
	ns   []nsBinding
	rend []nsBinding
	st   []frame
	at   []attr
	decl []nsBinding
}

// AppendRoot appends the exclusive canonical form of doc's root element to dst.
func AppendRoot(dst, doc []byte) ([]byte, Result, error) {
	if !utf8.Valid(doc) {
		return dst, Result{}, ErrUnsupported
	}
	p := &parser{doc: doc, out: dst}
	if p.has("\xEF\xBB\xBF") { // UTF-8 byte-order mark
		p.pos = 3
	}
	if err := p.document(); err != nil {
		return dst, Result{}, err
	}
	return p.out, p.res, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (p *parser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.doc) && isSpace(p.doc[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func (p *parser) has(s string) bool {
	return len(p.doc)-p.pos >= len(s) && string(p.doc[p.pos:p.pos+len(s)]) == s
}

func (p *parser) document() error {
	if p.has("<?xml") && p.pos+5 < len(p.doc) && (isSpace(p.doc[p.pos+5]) || p.doc[p.pos+5] == '?') {
		if err := p.xmlDecl(); err != nil {
			return err
		}
	}
	// Prolog: Misc*, then the root element.
	for {
		p.skipSpace()
		switch {
		case p.pos >= len(p.doc):
			return ErrUnsupported
		case p.has("<!--"):
			if err := p.comment(); err != nil {
				return err
			}
		case p.has("<?"):
			if _, _, err := p.pi(); err != nil {
				return err
			}
		case p.has("<!"):
			return ErrUnsupported // DOCTYPE
		case p.doc[p.pos] == '<':
			if err := p.root(); err != nil {
				return err
			}
			// Trailing Misc*.
			for {
				p.skipSpace()
				switch {
				case p.pos >= len(p.doc):
					return nil
				case p.has("<!--"):
					if err := p.comment(); err != nil {
						return err
					}
				case p.has("<?"):
					if _, _, err := p.pi(); err != nil {
						return err
					}
				default:
					return ErrUnsupported
				}
			}
		default:
			return ErrUnsupported
		}
	}
}

// xmlDecl checks the XML declaration: version 1.0, encoding UTF-8 if given.
func (p *parser) xmlDecl() error {
	end := bytes.Index(p.doc[p.pos:], []byte("?>"))
	if end < 0 {
		return ErrUnsupported
	}
	decl := p.doc[p.pos+5 : p.pos+end]
	p.pos += end + 2
	for {
		decl = bytes.TrimLeft(decl, " \t\r\n")
		if len(decl) == 0 {
			return nil
		}
		eq := bytes.IndexByte(decl, '=')
		if eq < 0 {
			return ErrUnsupported
		}
		name := string(bytes.TrimRight(decl[:eq], " \t\r\n"))
		decl = bytes.TrimLeft(decl[eq+1:], " \t\r\n")
		if len(decl) == 0 || (decl[0] != '"' && decl[0] != '\'') {
			return ErrUnsupported
		}
		q := bytes.IndexByte(decl[1:], decl[0])
		if q < 0 {
			return ErrUnsupported
		}
		val := string(decl[1 : 1+q])
		decl = decl[q+2:]
		switch name {
		case "version":
			if val != "1.0" {
				return ErrUnsupported
			}
		case "encoding":
			if !equalFoldASCII(val, "utf-8") && !equalFoldASCII(val, "utf8") {
				return ErrUnsupported
			}
		case "standalone":
		default:
			return ErrUnsupported
		}
	}
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// comment skips "<!--" ... "-->"; the content may not contain "--".
func (p *parser) comment() error {
	start := p.pos + 4
	end := bytes.Index(p.doc[start:], []byte("--"))
	if end < 0 || start+end+2 >= len(p.doc) || p.doc[start+end+2] != '>' {
		return ErrUnsupported
	}
	if err := checkChars(p.doc[start : start+end]); err != nil {
		return err
	}
	p.pos = start + end + 3
	return nil
}

// pi reads "<?target data?>" and returns target and data (with leading white space removed and line ends
// normalized into p.tmp).
func (p *parser) pi() ([]byte, []byte, error) {
	p.pos += 2
	target, err := p.name()
	if err != nil {
		return nil, nil, err
	}
	if equalFoldASCII(string(target), "xml") || bytes.IndexByte(target, ':') >= 0 {
		return nil, nil, ErrUnsupported
	}
	if p.has("?>") {
		p.pos += 2
		return target, nil, nil
	}
	if !p.skipSpace() {
		return nil, nil, ErrUnsupported
	}
	end := bytes.Index(p.doc[p.pos:], []byte("?>"))
	if end < 0 {
		return nil, nil, ErrUnsupported
	}
	data := p.doc[p.pos : p.pos+end]
	if err := checkChars(data); err != nil {
		return nil, nil, err
	}
	p.pos += end + 2
	return target, normalizeNewlines(data), nil
}

func normalizeNewlines(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\r' {
			out = append(out, '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, b[i])
	}
	return out
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

func isNameChar(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// name reads an ASCII XML name. Non-ASCII names are left to the general implementation.
func (p *parser) name() ([]byte, error) {
	start := p.pos
	if p.pos >= len(p.doc) || !isNameStart(p.doc[p.pos]) {
		return nil, ErrUnsupported
	}
	p.pos++
	for p.pos < len(p.doc) && isNameChar(p.doc[p.pos]) {
		p.pos++
	}
	if p.pos < len(p.doc) && p.doc[p.pos] >= 0x80 {
		return nil, ErrUnsupported
	}
	return p.doc[start:p.pos], nil
}

// splitQName splits prefix:local; a QName has at most one colon, not at either end.
func splitQName(q []byte) (prefix, local []byte, err error) {
	i := bytes.IndexByte(q, ':')
	if i < 0 {
		return nil, q, nil
	}
	if i == 0 || i == len(q)-1 || bytes.IndexByte(q[i+1:], ':') >= 0 {
		return nil, nil, ErrUnsupported
	}
	local = q[i+1:]
	if !isNameStart(local[0]) {
		return nil, nil, ErrUnsupported
	}
	return q[:i], local, nil
}

func (p *parser) lookup(prefix []byte) ([]byte, bool) {
	if string(prefix) == "xml" {
		return []byte(nsXML), true
	}
	for i := len(p.ns) - 1; i >= 0; i-- {
		if bytes.Equal(p.ns[i].prefix, prefix) {
			return p.ns[i].uri, true
		}
	}
	if len(prefix) == 0 {
		return nil, true // no default namespace
	}
	return nil, false
}

func (p *parser) rendered(prefix []byte) ([]byte, bool) {
	for i := len(p.rend) - 1; i >= 0; i-- {
		if bytes.Equal(p.rend[i].prefix, prefix) {
			return p.rend[i].uri, true
		}
	}
	return nil, false
}

// root parses the root element and its content.
func (p *parser) root() error {
	selfClosing, err := p.startTag()
	if err != nil {
		return err
	}
	if selfClosing {
		p.res.End = p.pos - 2
		p.res.SelfClosing = true
		return nil
	}
	for len(p.st) > 0 {
		if err := p.text(); err != nil {
			return err
		}
		switch {
		case p.pos >= len(p.doc):
			return ErrUnsupported
		case p.has("</"):
			endAt := p.pos
			p.pos += 2
			q, err := p.name()
			if err != nil {
				return err
			}
			p.skipSpace()
			if !p.has(">") {
				return ErrUnsupported
			}
			p.pos++
			top := p.st[len(p.st)-1]
			if !bytes.Equal(q, top.qname) {
				return ErrUnsupported
			}
			p.out = append(p.out, "</"...)
			p.out = append(p.out, q...)
			p.out = append(p.out, '>')
			p.st = p.st[:len(p.st)-1]
			p.ns = p.ns[:top.scopeMark]
			p.rend = p.rend[:top.rendMark]
			if len(p.st) == 0 {
				p.res.End = endAt
			}
		case p.has("<!--"):
			if err := p.comment(); err != nil {
				return err
			}
		case p.has("<![CDATA["):
			p.pos += 9
			end := bytes.Index(p.doc[p.pos:], []byte("]]>"))
			if end < 0 {
				return ErrUnsupported
			}
			data := p.doc[p.pos : p.pos+end]
			if err := checkChars(data); err != nil {
				return err
			}
			p.out = appendText(p.out, normalizeNewlines(data))
			p.pos += end + 3
		case p.has("<?"):
			target, data, err := p.pi()
			if err != nil {
				return err
			}
			p.out = append(p.out, "<?"...)
			p.out = append(p.out, target...)
			if len(data) > 0 {
				p.out = append(p.out, ' ')
				p.out = append(p.out, data...)
			}
			p.out = append(p.out, "?>"...)
		case p.has("<!"):
			return ErrUnsupported
		default: // a child start tag
			if _, err := p.startTag(); err != nil {
				return err
			}
		}
	}
	return nil
}

// text copies character data up to the next '<', decoding references and escaping for C14N.
func (p *parser) text() error {
	start := p.pos
	for p.pos < len(p.doc) && p.doc[p.pos] != '<' {
		p.pos++
	}
	raw := p.doc[start:p.pos]
	if len(raw) == 0 {
		return nil
	}
	if bytes.Contains(raw, []byte("]]>")) {
		return ErrUnsupported
	}
	if err := checkChars(raw); err != nil {
		return err
	}
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		p.out = appendText(p.out, raw)
		return nil
	}
	v, err := p.decode(raw, false)
	if err != nil {
		return err
	}
	p.out = appendText(p.out, v)
	return nil
}

// startTag parses a start tag at p.pos and writes its canonical form.
func (p *parser) startTag() (selfClosing bool, err error) {
	if len(p.st) >= maxDepth {
		return false, ErrUnsupported
	}
	p.pos++ // '<'
	qname, err := p.name()
	if err != nil {
		return false, err
	}
	prefix, _, err := splitQName(qname)
	if err != nil {
		return false, err
	}
	p.at = p.at[:0]
	p.decl = p.decl[:0]
	var rawNames [][]byte
	for {
		sp := p.skipSpace()
		if p.pos >= len(p.doc) {
			return false, ErrUnsupported
		}
		if p.has("/>") {
			p.pos += 2
			selfClosing = true
			break
		}
		if p.doc[p.pos] == '>' {
			p.pos++
			break
		}
		if !sp {
			return false, ErrUnsupported
		}
		an, err := p.name()
		if err != nil {
			return false, err
		}
		if len(rawNames) >= maxAttrs {
			return false, ErrUnsupported
		}
		for _, r := range rawNames {
			if bytes.Equal(r, an) {
				return false, ErrUnsupported // duplicate attribute
			}
		}
		rawNames = append(rawNames, an)
		p.skipSpace()
		if !p.has("=") {
			return false, ErrUnsupported
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.doc) || (p.doc[p.pos] != '"' && p.doc[p.pos] != '\'') {
			return false, ErrUnsupported
		}
		quote := p.doc[p.pos]
		p.pos++
		vend := bytes.IndexByte(p.doc[p.pos:], quote)
		if vend < 0 {
			return false, ErrUnsupported
		}
		rawVal := p.doc[p.pos : p.pos+vend]
		p.pos += vend + 1
		if bytes.IndexByte(rawVal, '<') >= 0 {
			return false, ErrUnsupported
		}
		if err := checkChars(rawVal); err != nil {
			return false, err
		}
		val, err := p.decode(rawVal, true)
		if err != nil {
			return false, err
		}
		apfx, alocal, err := splitQName(an)
		if err != nil {
			return false, err
		}
		switch {
		case apfx == nil && string(alocal) == "xmlns":
			if string(val) == nsXML || string(val) == nsXMLNS {
				return false, ErrUnsupported
			}
			p.decl = append(p.decl, nsBinding{prefix: nil, uri: val})
		case string(apfx) == "xmlns":
			switch {
			case string(alocal) == "xmlns", len(val) == 0:
				return false, ErrUnsupported
			case string(alocal) == "xml":
				if string(val) != nsXML {
					return false, ErrUnsupported
				}
				continue // the xml prefix is never rendered
			case string(val) == nsXML || string(val) == nsXMLNS:
				return false, ErrUnsupported
			}
			p.decl = append(p.decl, nsBinding{prefix: alocal, uri: val})
		default:
			p.at = append(p.at, attr{qname: an, prefix: apfx, local: alocal, value: val})
		}
	}

	f := frame{qname: qname, scopeMark: len(p.ns), rendMark: len(p.rend)}
	p.ns = append(p.ns, p.decl...)

	uri, ok := p.lookup(prefix)
	if !ok || string(prefix) == "xml" || string(prefix) == "xmlns" {
		return false, ErrUnsupported
	}
	for i := range p.at {
		a := &p.at[i]
		if a.prefix == nil {
			continue
		}
		if string(a.prefix) == "xmlns" {
			return false, ErrUnsupported
		}
		u, ok := p.lookup(a.prefix)
		if !ok || len(u) == 0 {
			return false, ErrUnsupported
		}
		a.uri = u
	}
	// Duplicate expanded attribute names are not namespace-well-formed.
	for i := range p.at {
		for j := 0; j < i; j++ {
			if bytes.Equal(p.at[i].local, p.at[j].local) && bytes.Equal(p.at[i].uri, p.at[j].uri) && (p.at[i].prefix == nil) == (p.at[j].prefix == nil) {
				return false, ErrUnsupported
			}
		}
	}

	depth := len(p.st)
	if depth == 0 {
		p.res.RootQName = string(qname)
		for _, a := range p.at {
			if a.prefix == nil && string(a.local) == "Id" {
				p.res.RootID, p.res.HasID = string(a.value), true
			}
		}
	} else if depth == 1 {
		_, local, _ := splitQName(qname)
		if string(local) == "Signature" && string(uri) == nsDSig {
			p.res.SignatureChild = true
		}
	}

	// Namespace nodes to render: the visibly utilized prefixes whose binding differs from the one the
	// nearest output ancestor rendered.
	p.decl = p.decl[:0]
	p.visit(prefix, uri)
	for _, a := range p.at {
		if a.prefix != nil && string(a.prefix) != "xml" {
			p.visit(a.prefix, a.uri)
		}
	}
	sortNS(p.decl)
	sortAttrs(p.at)

	p.out = append(p.out, '<')
	p.out = append(p.out, qname...)
	for _, d := range p.decl {
		if d.prefix == nil {
			p.out = append(p.out, ` xmlns="`...)
		} else {
			p.out = append(p.out, ` xmlns:`...)
			p.out = append(p.out, d.prefix...)
			p.out = append(p.out, `="`...)
		}
		p.out = appendAttrValue(p.out, d.uri)
		p.out = append(p.out, '"')
		p.rend = append(p.rend, d)
	}
	for _, a := range p.at {
		p.out = append(p.out, ' ')
		p.out = append(p.out, a.qname...)
		p.out = append(p.out, `="`...)
		p.out = appendAttrValue(p.out, a.value)
		p.out = append(p.out, '"')
	}
	p.out = append(p.out, '>')
	if selfClosing {
		p.out = append(p.out, "</"...)
		p.out = append(p.out, qname...)
		p.out = append(p.out, '>')
		p.ns = p.ns[:f.scopeMark]
		p.rend = p.rend[:f.rendMark]
		return true, nil
	}
	p.st = append(p.st, f)
	return false, nil
}

// visit adds the binding of prefix to the namespace nodes to render when it is not rendered yet.
func (p *parser) visit(prefix, uri []byte) {
	for _, d := range p.decl {
		if bytes.Equal(d.prefix, prefix) && (d.prefix == nil) == (prefix == nil) {
			return
		}
	}
	r, ok := p.rendered(prefix)
	if prefix == nil {
		// Default namespace: xmlns="" is rendered only to undo a non-empty rendered default.
		if bytes.Equal(r, uri) {
			return
		}
	} else if ok && bytes.Equal(r, uri) {
		return
	}
	p.decl = append(p.decl, nsBinding{prefix: prefix, uri: uri})
}

func sortNS(d []nsBinding) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && nsLess(d[j], d[j-1]); j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

func nsLess(a, b nsBinding) bool {
	if a.prefix == nil {
		return b.prefix != nil
	}
	if b.prefix == nil {
		return false
	}
	return bytes.Compare(a.prefix, b.prefix) < 0
}

func sortAttrs(a []attr) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && attrLess(a[j], a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// attrLess orders attributes by namespace URI (no namespace first), then local name (C14N §2.2).
func attrLess(a, b attr) bool {
	if c := bytes.Compare(a.uri, b.uri); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.local, b.local) < 0
}

// decode resolves character and predefined entity references and normalizes line ends; in an attribute
// value (attr) it also normalizes each literal white space character to a space (XML 1.0 §3.3.3, CDATA
// attribute type). The result may alias raw when nothing changes.
func (p *parser) decode(raw []byte, attrValue bool) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 &&
		(!attrValue || (bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\t') < 0)) {
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			if attrValue {
				out = append(out, ' ')
			} else {
				out = append(out, '\n')
			}
		case '\n', '\t':
			if attrValue {
				out = append(out, ' ')
			} else {
				out = append(out, c)
			}
		case '&':
			semi := bytes.IndexByte(raw[i:], ';')
			if semi < 0 {
				return nil, ErrUnsupported
			}
			ref := raw[i+1 : i+semi]
			i += semi
			switch string(ref) {
			case "amp":
				out = append(out, '&')
			case "lt":
				out = append(out, '<')
			case "gt":
				out = append(out, '>')
			case "quot":
				out = append(out, '"')
			case "apos":
				out = append(out, '\'')
			default:
				if len(ref) < 2 || ref[0] != '#' {
					return nil, ErrUnsupported
				}
				var (
					n   uint64
					err error
				)
				if ref[1] == 'x' {
					if len(ref) < 3 || len(ref) > 10 {
						return nil, ErrUnsupported
					}
					n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
				} else {
					if len(ref) > 12 {
						return nil, ErrUnsupported
					}
					n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
				}
				if err != nil || !isChar(rune(n)) {
					return nil, ErrUnsupported
				}
				out = utf8.AppendRune(out, rune(n))
			}
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// isChar reports whether r is an XML 1.0 Char.
func isChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// checkChars refuses characters outside the XML Char production (input is valid UTF-8).
func checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return ErrUnsupported
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if !isChar(r) {
			return ErrUnsupported
		}
		i += n
	}
	return nil
}

// appendText escapes character data for C14N: & < > and carriage return.
func appendText(dst, s []byte) []byte {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// appendAttrValue escapes an attribute value for C14N: & < " tab, newline and carriage return.
func appendAttrValue(dst, s []byte) []byte {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '"':
			esc = "&quot;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}
