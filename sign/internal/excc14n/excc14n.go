// Package excc14n is the exclusive canonicalizer of package sign, for signing and for verifying: one pass
// over the bytes of a document that yields the Exclusive XML Canonicalization 1.0 form (without comments)
// of one of its elements, plus what the signer needs to know about the document element (its Id, whether
// it is already signed, where its end tag is).
//
// By default the canonicalized element is the document element, with an empty InclusiveNamespaces prefix
// list: what the Reference of an eHealth signature covers. Options select another element (a SignedInfo
// inside the Signature), leave an element out (the enveloped-signature transform) and give a prefix list.
//
// It follows the C14N specification as libxml2 (xmllint --exc-c14n, xmlsec1) and Apache Santuario do, also
// where goxmldsig v1.6.1 does not: attributes are sorted by namespace URI then local name (goxmldsig sorts
// prefixed attributes by local name first), literal tab, newline and carriage return characters in attribute
// values are normalized to spaces (encoding/xml keeps them, so no implementation working on an encoding/xml
// tree can do this), and xmlns="" is rendered only to undo a rendered non-empty default namespace.
//
// It accepts well-formed, namespace-well-formed XML 1.0 in UTF-8: an optional XML declaration, comments and
// processing instructions, elements, attributes, namespace declarations, character and predefined entity
// references, CDATA sections. Anything else is refused with an *Error (errors.Is(err, ErrUnsupported)):
// not well-formed input, a DOCTYPE (and so any other entity), another encoding, more than 256 nested
// elements or 256 attributes on one element. Nothing is ever canonicalized approximately.
package excc14n

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ErrUnsupported is matched (errors.Is) by every error of this package: the input is not canonicalized.
var ErrUnsupported = errors.New("excc14n: input not canonicalized")

// Error describes input that is refused: Reason says why, Offset is the byte offset where it was noticed.
type Error struct {
	Offset int
	Reason string
}

// Error returns the reason and the offset.
func (e *Error) Error() string { return e.Reason + " (at byte " + strconv.Itoa(e.Offset) + ")" }

// Is makes every *Error match ErrUnsupported.
func (e *Error) Is(target error) bool { return target == ErrUnsupported }

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"

	maxDepth = 256
	maxAttrs = 256
)

// Options selects what Canonicalize writes. The zero value (or a nil *Options) canonicalizes the document
// element with an empty prefix list.
type Options struct {
	// Apex is the path of the element to canonicalize: from the document element down, the index of each
	// element among the element children of its parent. Empty means the document element; []int{2, 0} is
	// the first child element of the third child element of the document element.
	Apex []int
	// Omit, when not nil, is the path (same form as Apex) of an element that is left out of the output with
	// everything inside it: the enveloped-signature transform. The white space around it stays.
	Omit []int
	// InclusivePrefixes is the InclusiveNamespaces PrefixList: the prefixes whose namespace declarations are
	// rendered as inclusive canonicalization renders them; "#default" stands for the default namespace.
	InclusivePrefixes []string
}

// Result describes the document element of the canonicalized document, and what Options selected.
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
	// ApexQName is the qualified name of the element Options.Apex designates; "" when there is none (and
	// then the output is empty).
	ApexQName string
	// OmittedQName is the qualified name of the element Options.Omit designates, when Omit is set and such
	// an element exists inside the apex; "" otherwise.
	OmittedQName string
}

type nsBinding struct {
	prefix, uri []byte
}

type attr struct {
	qname, prefix, local, uri, value []byte
}

// frame is an open element.
type frame struct {
	qname               []byte
	scopeMark, rendMark int
	children            int  // element children seen so far
	depth               int  // length of the element's path (0 for the document element)
	onApex, onOmit      bool // the element's path is a prefix of Options.Apex / Options.Omit
	inApex, inOmit      bool // the element is the apex / the omitted element, or inside it
}

func (f *frame) emit() bool { return f.inApex && !f.inOmit }

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

	all        bool // the whole document element is output: no Apex below it, no Omit, no prefix list
	apex, omit []int
	hasOmit    bool
	incl       [][]byte // InclusivePrefixes without #default
	inclDef    bool     // #default is in InclusivePrefixes
	seen       map[string]bool
}

// AppendRoot appends the exclusive canonical form of doc's root element to dst (Canonicalize without
// options).
func AppendRoot(dst, doc []byte) ([]byte, Result, error) {
	return Canonicalize(dst, doc, nil)
}

// Canonicalize appends to dst the exclusive canonical form of the element of doc that opts selects. The
// whole document is parsed and must be acceptable, whichever element is selected. On error dst is returned
// unchanged.
func Canonicalize(dst, doc []byte, opts *Options) ([]byte, Result, error) {
	if !utf8.Valid(doc) {
		return dst, Result{}, &Error{Offset: invalidUTF8At(doc), Reason: "not UTF-8"}
	}
	p := &parser{doc: doc, out: dst, all: true}
	if opts != nil {
		p.apex = opts.Apex
		if opts.Omit != nil {
			p.omit, p.hasOmit = opts.Omit, true
		}
		for _, pfx := range opts.InclusivePrefixes {
			if pfx == "#default" {
				p.inclDef = true
			} else if pfx != "" {
				p.incl = append(p.incl, []byte(pfx))
			}
		}
		p.all = len(p.apex) == 0 && !p.hasOmit && !p.inclDef && len(p.incl) == 0
	}
	if p.has("\xEF\xBB\xBF") { // UTF-8 byte-order mark
		p.pos = 3
	}
	if err := p.document(); err != nil {
		return dst, Result{}, err
	}
	return p.out, p.res, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func (p *parser) fail(reason string) error { return &Error{Offset: p.pos, Reason: reason} }

func (p *parser) failAt(off int, reason string) error { return &Error{Offset: off, Reason: reason} }

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
			return p.fail("no root element")
		case p.has("<!--"):
			if err := p.comment(); err != nil {
				return err
			}
		case p.has("<?"):
			if _, _, err := p.pi(); err != nil {
				return err
			}
		case p.has("<!DOCTYPE"):
			return p.fail("a DOCTYPE is not allowed")
		case p.has("<!"):
			return p.fail("not well-formed: markup declaration outside a DOCTYPE")
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
					return p.fail("not well-formed: content after the root element")
				}
			}
		default:
			return p.fail("not well-formed: text before the root element")
		}
	}
}

// xmlDecl checks the XML declaration: version 1.0, encoding UTF-8 if given.
func (p *parser) xmlDecl() error {
	end := bytes.Index(p.doc[p.pos:], []byte("?>"))
	if end < 0 {
		return p.fail("not well-formed: unterminated XML declaration")
	}
	start := p.pos
	decl := p.doc[p.pos+5 : p.pos+end]
	p.pos += end + 2
	for {
		decl = bytes.TrimLeft(decl, " \t\r\n")
		if len(decl) == 0 {
			return nil
		}
		eq := bytes.IndexByte(decl, '=')
		if eq < 0 {
			return p.failAt(start, "malformed XML declaration")
		}
		name := string(bytes.TrimRight(decl[:eq], " \t\r\n"))
		decl = bytes.TrimLeft(decl[eq+1:], " \t\r\n")
		if len(decl) == 0 || (decl[0] != '"' && decl[0] != '\'') {
			return p.failAt(start, "malformed XML declaration")
		}
		q := bytes.IndexByte(decl[1:], decl[0])
		if q < 0 {
			return p.failAt(start, "malformed XML declaration")
		}
		val := string(decl[1 : 1+q])
		decl = decl[q+2:]
		switch name {
		case "version":
			if val != "1.0" {
				return p.failAt(start, "XML version "+strconv.Quote(val)+" is not supported (1.0 only)")
			}
		case "encoding":
			if !equalFoldASCII(val, "utf-8") && !equalFoldASCII(val, "utf8") {
				return p.failAt(start, "encoding "+strconv.Quote(val)+" is not supported (UTF-8 only)")
			}
		case "standalone":
		default:
			return p.failAt(start, "malformed XML declaration")
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
		return p.fail("not well-formed: unterminated comment or \"--\" inside a comment")
	}
	if err := p.checkChars(start, p.doc[start:start+end]); err != nil {
		return err
	}
	p.pos = start + end + 3
	return nil
}

// pi reads "<?target data?>" and returns target and data (with leading white space removed and line ends
// normalized).
func (p *parser) pi() ([]byte, []byte, error) {
	p.pos += 2
	target, err := p.name()
	if err != nil {
		return nil, nil, err
	}
	if equalFoldASCII(string(target), "xml") {
		return nil, nil, p.fail("not well-formed: misplaced XML declaration")
	}
	if bytes.IndexByte(target, ':') >= 0 {
		return nil, nil, p.fail("not namespace-well-formed: colon in a processing instruction target")
	}
	if p.has("?>") {
		p.pos += 2
		return target, nil, nil
	}
	if !p.skipSpace() {
		return nil, nil, p.fail("not well-formed: processing instruction")
	}
	end := bytes.Index(p.doc[p.pos:], []byte("?>"))
	if end < 0 {
		return nil, nil, p.fail("not well-formed: unterminated processing instruction")
	}
	data := p.doc[p.pos : p.pos+end]
	if err := p.checkChars(p.pos, data); err != nil {
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

// isNameStartRune is NameStartChar of XML 1.0 (fifth edition) for non-ASCII runes.
func isNameStartRune(r rune) bool {
	return r >= 0xC0 && r <= 0xD6 || r >= 0xD8 && r <= 0xF6 || r >= 0xF8 && r <= 0x2FF ||
		r >= 0x370 && r <= 0x37D || r >= 0x37F && r <= 0x1FFF || r >= 0x200C && r <= 0x200D ||
		r >= 0x2070 && r <= 0x218F || r >= 0x2C00 && r <= 0x2FEF || r >= 0x3001 && r <= 0xD7FF ||
		r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFFD || r >= 0x10000 && r <= 0xEFFFF
}

// isNameRune is NameChar of XML 1.0 (fifth edition) for non-ASCII runes.
func isNameRune(r rune) bool {
	return isNameStartRune(r) || r == 0xB7 || r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// name reads an XML name.
func (p *parser) name() ([]byte, error) {
	start := p.pos
	if p.pos >= len(p.doc) {
		return nil, p.fail("not well-formed: unexpected end of input, a name was expected")
	}
	if c := p.doc[p.pos]; c < 0x80 {
		if !isNameStart(c) {
			return nil, p.fail("not well-formed: a name was expected")
		}
		p.pos++
	} else {
		r, n := utf8.DecodeRune(p.doc[p.pos:])
		if !isNameStartRune(r) {
			return nil, p.fail("not well-formed: a name was expected")
		}
		p.pos += n
	}
	for p.pos < len(p.doc) {
		c := p.doc[p.pos]
		if c < 0x80 {
			if !isNameChar(c) {
				break
			}
			p.pos++
			continue
		}
		r, n := utf8.DecodeRune(p.doc[p.pos:])
		if !isNameRune(r) {
			break
		}
		p.pos += n
	}
	return p.doc[start:p.pos], nil
}

// splitQName splits prefix:local; a QName has at most one colon, not at either end.
func splitQName(q []byte) (prefix, local []byte, ok bool) {
	i := bytes.IndexByte(q, ':')
	if i < 0 {
		return nil, q, true
	}
	if i == 0 || i == len(q)-1 || bytes.IndexByte(q[i+1:], ':') >= 0 {
		return nil, nil, false
	}
	local = q[i+1:]
	if c := local[0]; c < 0x80 {
		if !isNameStart(c) {
			return nil, nil, false
		}
	} else if r, _ := utf8.DecodeRune(local); !isNameStartRune(r) {
		return nil, nil, false
	}
	return q[:i], local, true
}

func (p *parser) lookup(prefix []byte) ([]byte, bool) {
	if string(prefix) == "xml" {
		return []byte(nsXML), true
	}
	for i := len(p.ns) - 1; i >= 0; i-- {
		if bytes.Equal(p.ns[i].prefix, prefix) && (p.ns[i].prefix == nil) == (prefix == nil) {
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
		if bytes.Equal(p.rend[i].prefix, prefix) && (p.rend[i].prefix == nil) == (prefix == nil) {
			return p.rend[i].uri, true
		}
	}
	return nil, false
}

// emitting reports whether content at the current position is output.
func (p *parser) emitting() bool { return len(p.st) > 0 && p.st[len(p.st)-1].emit() }

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
			return p.fail("not well-formed: unexpected end of input inside an element")
		case p.has("</"):
			endAt := p.pos
			p.pos += 2
			q, err := p.name()
			if err != nil {
				return err
			}
			p.skipSpace()
			if !p.has(">") {
				return p.fail("not well-formed: end tag")
			}
			p.pos++
			top := p.st[len(p.st)-1]
			if !bytes.Equal(q, top.qname) {
				return p.failAt(endAt, "not well-formed: end tag </"+string(q)+"> does not match <"+string(top.qname)+">")
			}
			if top.emit() {
				p.out = append(p.out, "</"...)
				p.out = append(p.out, q...)
				p.out = append(p.out, '>')
			}
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
				return p.fail("not well-formed: unterminated CDATA section")
			}
			data := p.doc[p.pos : p.pos+end]
			if err := p.checkChars(p.pos, data); err != nil {
				return err
			}
			if p.emitting() {
				p.out = appendText(p.out, normalizeNewlines(data))
			}
			p.pos += end + 3
		case p.has("<?"):
			target, data, err := p.pi()
			if err != nil {
				return err
			}
			if p.emitting() {
				p.out = append(p.out, "<?"...)
				p.out = append(p.out, target...)
				if len(data) > 0 {
					p.out = append(p.out, ' ')
					p.out = append(p.out, data...)
				}
				p.out = append(p.out, "?>"...)
			}
		case p.has("<!"):
			return p.fail("not well-formed: markup declaration inside an element")
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
	if i := bytes.IndexByte(p.doc[p.pos:], '<'); i >= 0 {
		p.pos += i
	} else {
		p.pos = len(p.doc)
	}
	raw := p.doc[start:p.pos]
	if len(raw) == 0 {
		return nil
	}
	if i := bytes.Index(raw, []byte("]]>")); i >= 0 {
		return p.failAt(start+i, "not well-formed: \"]]>\" in character data")
	}
	if err := p.checkChars(start, raw); err != nil {
		return err
	}
	emit := p.emitting()
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		if emit {
			p.out = appendText(p.out, raw)
		}
		return nil
	}
	v, err := p.decode(start, raw, false)
	if err != nil {
		return err
	}
	if emit {
		p.out = appendText(p.out, v)
	}
	return nil
}

// startTag parses a start tag at p.pos and writes its canonical form when it is output.
func (p *parser) startTag() (selfClosing bool, err error) {
	tagAt := p.pos
	if len(p.st) >= maxDepth {
		return false, p.fail("more than 256 nested elements")
	}
	p.pos++ // '<'
	qname, err := p.name()
	if err != nil {
		return false, err
	}
	prefix, _, ok := splitQName(qname)
	if !ok {
		return false, p.failAt(tagAt, "not namespace-well-formed: element name "+strconv.Quote(string(qname)))
	}
	p.at = p.at[:0]
	p.decl = p.decl[:0]
	nRaw := 0
	for {
		sp := p.skipSpace()
		if p.pos >= len(p.doc) {
			return false, p.fail("not well-formed: unexpected end of input in a start tag")
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
			return false, p.fail("not well-formed: white space expected between attributes")
		}
		anAt := p.pos
		an, err := p.name()
		if err != nil {
			return false, err
		}
		if nRaw++; nRaw > maxAttrs {
			return false, p.failAt(anAt, "more than 256 attributes on one element")
		}
		p.skipSpace()
		if !p.has("=") {
			return false, p.fail("not well-formed: '=' expected after an attribute name")
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.doc) || (p.doc[p.pos] != '"' && p.doc[p.pos] != '\'') {
			return false, p.fail("not well-formed: quoted attribute value expected")
		}
		quote := p.doc[p.pos]
		p.pos++
		vend := bytes.IndexByte(p.doc[p.pos:], quote)
		if vend < 0 {
			return false, p.fail("not well-formed: unterminated attribute value")
		}
		valAt := p.pos
		rawVal := p.doc[p.pos : p.pos+vend]
		p.pos += vend + 1
		if i := bytes.IndexByte(rawVal, '<'); i >= 0 {
			return false, p.failAt(valAt+i, "not well-formed: '<' in an attribute value")
		}
		if err := p.checkChars(valAt, rawVal); err != nil {
			return false, err
		}
		val, err := p.decode(valAt, rawVal, true)
		if err != nil {
			return false, err
		}
		apfx, alocal, ok := splitQName(an)
		if !ok {
			return false, p.failAt(anAt, "not namespace-well-formed: attribute name "+strconv.Quote(string(an)))
		}
		switch {
		case apfx == nil && string(alocal) == "xmlns":
			if string(val) == nsXML || string(val) == nsXMLNS {
				return false, p.failAt(anAt, "not namespace-well-formed: reserved namespace as the default namespace")
			}
			if len(val) > 0 && !isAbsoluteURI(val) {
				return false, p.failAt(anAt, "namespace name "+strconv.Quote(truncate(val))+" is not an absolute URI (canonical XML refuses relative namespace URIs)")
			}
			p.decl = append(p.decl, nsBinding{prefix: nil, uri: val})
		case string(apfx) == "xmlns":
			switch {
			case string(alocal) == "xmlns":
				return false, p.failAt(anAt, "not namespace-well-formed: the xmlns prefix is declared")
			case len(val) == 0:
				return false, p.failAt(anAt, "not namespace-well-formed: xmlns:"+string(alocal)+"=\"\" (prefixes cannot be undeclared in XML 1.0)")
			case string(alocal) == "xml":
				if string(val) != nsXML {
					return false, p.failAt(anAt, "not namespace-well-formed: the xml prefix is bound to another namespace")
				}
				p.at = append(p.at, attr{qname: an}) // counted for the duplicate check, never rendered
				continue
			case string(val) == nsXML || string(val) == nsXMLNS:
				return false, p.failAt(anAt, "not namespace-well-formed: a prefix is bound to a reserved namespace")
			case !isAbsoluteURI(val):
				return false, p.failAt(anAt, "namespace name "+strconv.Quote(truncate(val))+" is not an absolute URI (canonical XML refuses relative namespace URIs)")
			}
			p.decl = append(p.decl, nsBinding{prefix: alocal, uri: val})
		default:
			p.at = append(p.at, attr{qname: an, prefix: apfx, local: alocal, value: val})
		}
	}
	// Duplicate attributes (as written), namespace declarations included.
	if dup := p.duplicateRaw(); dup != "" {
		return false, p.failAt(tagAt, "not well-formed: attribute "+dup+" appears twice")
	}
	// Drop the placeholders of xmlns:xml declarations.
	if n := len(p.at); n > 0 {
		k := 0
		for _, a := range p.at {
			if a.local != nil {
				p.at[k] = a
				k++
			}
		}
		p.at = p.at[:k]
	}

	f := frame{qname: qname, scopeMark: len(p.ns), rendMark: len(p.rend)}
	p.ns = append(p.ns, p.decl...)

	uri, ok := p.lookup(prefix)
	if !ok {
		return false, p.failAt(tagAt, "not namespace-well-formed: undeclared prefix "+strconv.Quote(string(prefix)))
	}
	if string(prefix) == "xmlns" || string(prefix) == "xml" {
		return false, p.failAt(tagAt, "not namespace-well-formed: element with the reserved prefix "+string(prefix))
	}
	for i := range p.at {
		a := &p.at[i]
		if a.prefix == nil {
			continue
		}
		u, ok := p.lookup(a.prefix)
		if !ok || len(u) == 0 {
			return false, p.failAt(tagAt, "not namespace-well-formed: undeclared prefix "+strconv.Quote(string(a.prefix)))
		}
		a.uri = u
	}
	// Duplicate expanded attribute names are not namespace-well-formed.
	if p.duplicateExpanded() {
		return false, p.failAt(tagAt, "not namespace-well-formed: two attributes with the same expanded name")
	}

	// Where the element sits relative to the apex and the omitted element.
	depth := len(p.st)
	if depth == 0 {
		f.depth = 0
		f.onApex, f.inApex = true, len(p.apex) == 0
		f.onOmit, f.inOmit = p.hasOmit, p.hasOmit && len(p.omit) == 0
	} else {
		parent := &p.st[depth-1]
		idx := parent.children
		parent.children++
		d := parent.depth
		f.depth = d + 1
		f.onApex = parent.onApex && d < len(p.apex) && p.apex[d] == idx
		f.inApex = parent.inApex || (f.onApex && f.depth == len(p.apex))
		f.onOmit = parent.onOmit && d < len(p.omit) && p.omit[d] == idx
		f.inOmit = parent.inOmit || (f.onOmit && f.depth == len(p.omit))
	}
	if f.onApex && f.depth == len(p.apex) {
		p.res.ApexQName = string(qname)
	}
	if f.inApex && f.onOmit && f.depth == len(p.omit) {
		p.res.OmittedQName = string(qname)
	}

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

	if f.emit() {
		p.writeStartTag(qname, prefix, uri)
	}
	if selfClosing {
		if f.emit() {
			p.out = append(p.out, "</"...)
			p.out = append(p.out, qname...)
			p.out = append(p.out, '>')
		}
		p.ns = p.ns[:f.scopeMark]
		p.rend = p.rend[:f.rendMark]
		return true, nil
	}
	p.st = append(p.st, f)
	return false, nil
}

// writeStartTag writes the canonical start tag of the element whose attributes are in p.at; it records the
// namespace declarations it renders in p.rend.
func (p *parser) writeStartTag(qname, prefix, uri []byte) {
	// Namespace nodes to render: the visibly utilized prefixes (and those of the inclusive prefix list that
	// are in scope) whose binding differs from the one the nearest output ancestor rendered.
	p.decl = p.decl[:0]
	p.visit(prefix, uri)
	for _, a := range p.at {
		if a.prefix != nil && string(a.prefix) != "xml" {
			p.visit(a.prefix, a.uri)
		}
	}
	if !p.all {
		for _, pfx := range p.incl {
			if u, ok := p.lookup(pfx); ok && len(u) > 0 && string(pfx) != "xml" {
				p.visit(pfx, u)
			}
		}
		if p.inclDef {
			u, _ := p.lookup(nil)
			p.visit(nil, u)
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
}

// duplicateRaw returns the name of an attribute written twice on the current start tag (namespace
// declarations included), or "".
func (p *parser) duplicateRaw() string {
	n := len(p.at) + len(p.decl)
	if n < 2 {
		return ""
	}
	name := func(i int) string {
		if i < len(p.at) {
			return string(p.at[i].qname)
		}
		d := p.decl[i-len(p.at)]
		if d.prefix == nil {
			return "xmlns"
		}
		return "xmlns:" + string(d.prefix)
	}
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if p.rawEqual(i, j) {
					return name(i)
				}
			}
		}
		return ""
	}
	if p.seen == nil {
		p.seen = make(map[string]bool, n)
	} else {
		clear(p.seen)
	}
	for i := 0; i < n; i++ {
		k := name(i)
		if p.seen[k] {
			return k
		}
		p.seen[k] = true
	}
	return ""
}

func (p *parser) rawEqual(i, j int) bool {
	na, nd := len(p.at), p.decl
	switch {
	case i < na && j < na:
		return bytes.Equal(p.at[i].qname, p.at[j].qname)
	case i >= na && j >= na:
		a, b := nd[i-na], nd[j-na]
		return bytes.Equal(a.prefix, b.prefix) && (a.prefix == nil) == (b.prefix == nil)
	}
	return false // an attribute is never written like a namespace declaration
}

// duplicateExpanded reports two attributes of the current start tag with the same namespace URI and local
// name.
func (p *parser) duplicateExpanded() bool {
	n := len(p.at)
	if n < 2 {
		return false
	}
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if bytes.Equal(p.at[i].local, p.at[j].local) && bytes.Equal(p.at[i].uri, p.at[j].uri) &&
					(p.at[i].prefix == nil) == (p.at[j].prefix == nil) {
					return true
				}
			}
		}
		return false
	}
	if p.seen == nil {
		p.seen = make(map[string]bool, n)
	} else {
		clear(p.seen)
	}
	for _, a := range p.at {
		k := string(a.uri) + " " + string(a.local)
		if a.prefix == nil {
			k = " " + string(a.local)
		}
		if p.seen[k] {
			return true
		}
		p.seen[k] = true
	}
	return false
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
	if len(d) > 16 {
		slices.SortFunc(d, func(a, b nsBinding) int {
			if nsLess(a, b) {
				return -1
			}
			if nsLess(b, a) {
				return 1
			}
			return 0
		})
		return
	}
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
	if len(a) > 16 {
		slices.SortFunc(a, func(x, y attr) int {
			if c := bytes.Compare(x.uri, y.uri); c != 0 {
				return c
			}
			return bytes.Compare(x.local, y.local)
		})
		return
	}
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
// attribute type). The result may alias raw when nothing changes. off is the offset of raw in the document.
func (p *parser) decode(off int, raw []byte, attrValue bool) ([]byte, error) {
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
				return nil, p.failAt(off+i, "not well-formed: '&' that starts no reference")
			}
			ref := raw[i+1 : i+semi]
			refAt := off + i
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
					return nil, p.failAt(refAt, "not well-formed: undefined entity &"+truncate(ref)+";")
				}
				var (
					n   uint64
					err error
				)
				if ref[1] == 'x' {
					if len(ref) < 3 || len(ref) > 10 {
						return nil, p.failAt(refAt, "not well-formed: character reference")
					}
					n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
				} else {
					if len(ref) > 12 {
						return nil, p.failAt(refAt, "not well-formed: character reference")
					}
					n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
				}
				if err != nil || !isChar(rune(n)) {
					return nil, p.failAt(refAt, "not well-formed: character reference to a non-character")
				}
				out = utf8.AppendRune(out, rune(n))
			}
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

func truncate(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}

// isAbsoluteURI reports whether b is an absolute URI (RFC 3986: a scheme, then only URI characters and
// well-formed percent escapes), which is what libxml2 requires of a namespace name to canonicalize it.
func isAbsoluteURI(b []byte) bool {
	colon := bytes.IndexByte(b, ':')
	if colon < 1 || !(b[0] >= 'a' && b[0] <= 'z' || b[0] >= 'A' && b[0] <= 'Z') {
		return false
	}
	for _, c := range b[1:colon] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	for i := colon + 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("-._~:/?#@!$'()*+,;="), c) >= 0:
			// RFC 3986 also allows '[' and ']' (in a host) and '&'; libxml2 refuses the first two in
			// namespace names and writes '&' unescaped, against the C14N specification, so they are refused.
		case c == '%':
			if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isChar reports whether r is an XML 1.0 Char.
func isChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// checkChars refuses characters outside the XML Char production (input is valid UTF-8). off is the offset
// of b in the document.
func (p *parser) checkChars(off int, b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return p.failAt(off+i, "not well-formed: control character")
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if !isChar(r) {
			return p.failAt(off+i, "not well-formed: character outside the XML character range")
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
