package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ehcert/ehcert/internal/testenv"
)

// writeTinyWith writes tiny.wsdl (with extra content in its inline schema) and tiny.xsd (with content inside
// PingRequest's sequence and extra global declarations).
func writeTinyWith(t *testing.T, wsdlExtra, content, globals string) string {
	t.Helper()
	dir := writeTiny(t, content)
	w := strings.Replace(tinyWSDL, `<xs:schema>`, `<xs:schema>`+wsdlExtra, 1)
	w = strings.Replace(w, `xmlns:p="urn:tiny">`, `xmlns:p="urn:tiny" xmlns:wsdlfix="urn:ehcert:wsdlfix">`, 1)
	x := strings.Replace(tinyXSD(content), `</xs:schema>`, globals+`</xs:schema>`, 1)
	for name, data := range map[string]string{"tiny.wsdl": w, "tiny.xsd": x} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "tiny.wsdl")
}

func buildTiny(t *testing.T, wsdlPath string) (*service, *builder, error) {
	t.Helper()
	svc, err := loadService(wsdlPath)
	if err != nil {
		return nil, nil, err
	}
	b, err := buildModel(svc)
	return svc, b, err
}

// A declaration that no message uses is not read beyond its name: an unsupported construct in it does not stop
// generation. The same declaration, once a message uses it, does, with the message path.
func TestUnusedDeclarationsAreNotRead(t *testing.T) {
	globals := `<xs:complexType name="Odd" mixed="true"><xs:choice><xs:element name="A" type="xs:string"/></xs:choice></xs:complexType>
  <xs:group name="G"><xs:sequence><xs:element name="B" type="xs:string"/></xs:sequence></xs:group>
  <xs:attributeGroup name="AG"><xs:anyAttribute/></xs:attributeGroup>`
	p := writeTinyWith(t, "", `<xs:element name="Name" type="xs:string"/>`, globals)
	if _, _, err := buildTiny(t, p); err != nil {
		t.Fatalf("unused unsupported declarations stopped generation: %v", err)
	}
	p = writeTinyWith(t, "", `<xs:element name="Name" type="p:Odd"/>`, globals)
	_, _, err := buildTiny(t, p)
	var ue *unsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `attribute "mixed"`) ||
		!strings.Contains(err.Error(), "(used by PingRequest/Name)") || !strings.Contains(err.Error(), "tiny.xsd:") {
		t.Errorf("got %v", err)
	}
}

// Attribute groups (the eHealth commons use them) are expanded in place; xml:lang on the schema and markup in
// documentation are accepted.
func TestAttributeGroupsAndDocumentationMarkup(t *testing.T) {
	globals := `<xs:attributeGroup name="Paging"><xs:attribute name="Offset" type="xs:int" use="required"/><xs:attributeGroup ref="p:More"/></xs:attributeGroup>
  <xs:attributeGroup name="More"><xs:attribute name="MaxElements" type="xs:int"/></xs:attributeGroup>
  <xs:complexType name="Page"><xs:annotation><xs:documentation>A <b>page</b> of results.</xs:documentation></xs:annotation>
    <xs:sequence><xs:element name="Item" type="xs:string"/></xs:sequence><xs:attributeGroup ref="p:Paging"/></xs:complexType>`
	p := writeTinyWith(t, "", `<xs:element name="Page" type="p:Page"/>`, globals)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(p), "tiny.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(filepath.Dir(p), "tiny.xsd"), bytes.Replace(src, []byte(`<xs:schema `), []byte(`<xs:schema xml:lang="en" `), 1), 0o600)
	svc, b, err := buildTiny(t, p)
	if err != nil {
		t.Fatal(err)
	}
	d := b.byName("Page")
	if d == nil || len(d.fields) != 3 || d.fields[0].tag != `xml:"Offset,attr"` || d.fields[1].typ != "*int32" ||
		d.fields[2].name != "Item" || d.doc != "A page of results." {
		t.Errorf("Page = %+v", d)
	}
	listing, err := coverage(svc, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@Offset [1..1] xs:int  -> Page.Offset int32", "@MaxElements [0..1] xs:int  -> Page.MaxElements *int32"} {
		if !strings.Contains(listing, want) {
			t.Errorf("listing lacks %q:\n%s", want, listing)
		}
	}
}

// The coverage check fails when a message item has no Go field or a field of the wrong cardinality, and when a
// field holds nothing of the schema. (The builder never produces such declarations; the check guards against a
// builder bug, so the declarations are damaged by hand here.)
func TestCoverageFindsMissingFields(t *testing.T) {
	p := writeTinyWith(t, "", `<xs:element name="Pair" type="p:PairType" maxOccurs="unbounded"/>
        <xs:element name="Note" type="xs:string" minOccurs="0"/>`, "")
	svc, b, err := buildTiny(t, p)
	if err != nil {
		t.Fatal(err)
	}
	listing, err := coverage(svc, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"{urn:tiny}PingRequest [1..1]  -> PingRequest",
		"  @Id [0..1] xs:ID  -> PingRequest.Id string",
		"  {urn:tiny}Pair [1..*]  -> PingRequest.Pair []PairType",
		"    {urn:tiny}B [0..1] xs:boolean  -> PairType.B *bool",
		"  {urn:tiny}Note [0..1] xs:string  -> PingRequest.Note string",
		"{urn:tiny}PingResponse [1..1]  -> PingResponse",
	} {
		if !strings.Contains(listing, want+"\n") {
			t.Errorf("listing lacks %q:\n%s", want, listing)
		}
	}

	damage := []struct {
		name  string
		edit  func(d *goDecl)
		decl  string
		wants []string
	}{
		{"dropped element", func(d *goDecl) { d.fields = d.fields[:len(d.fields)-1] }, "PairType",
			[]string{"PingRequest/{urn:tiny}Pair/{urn:tiny}B", "has no Go field in PairType"}},
		{"dropped attribute", func(d *goDecl) { d.fields = d.fields[1:] }, "PingRequest",
			[]string{"PingRequest/@Id", "has no Go field in PingRequest"}},
		{"single for repeated", func(d *goDecl) { d.fields[1].typ = "*PairType" }, "PingRequest",
			[]string{"PingRequest/{urn:tiny}Pair", "is [1..*] but its Go field PingRequest.Pair is *PairType"}},
		{"required for optional", func(d *goDecl) { d.fields[2].tag = `xml:"urn:tiny Note"` }, "PingRequest",
			[]string{"PingRequest/{urn:tiny}Note", "is optional but its Go field"}},
		{"extra field", func(d *goDecl) {
			d.fields = append(d.fields, goField{name: "Extra", typ: "string", tag: `xml:"urn:tiny Extra"`})
		}, "PairType", []string{"Go field PairType.Extra", "holds no element or attribute"}},
	}
	for _, c := range damage {
		t.Run(c.name, func(t *testing.T) {
			svc, b, err := buildTiny(t, p)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(b.byName(c.decl))
			_, err = coverage(svc, b)
			if err == nil {
				t.Fatal("coverage passed")
			}
			for _, w := range append(c.wants, "coverage check of", "failed") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// WSDL hints: wsdlfix:raw keeps an element's content as raw XML without reading its content model;
// wsdlfix:any gives a wildcard a typed field. A hint that names nothing, or that no message uses, is an error.
func TestHints(t *testing.T) {
	globals := `<xs:element name="Blob" type="p:BlobType"/>
  <xs:complexType name="BlobType"><xs:choice><xs:element name="X" type="xs:string"/></xs:choice><xs:attribute name="Id" type="xs:ID"/></xs:complexType>
  <xs:element name="Extra" type="xs:string"/>
  <xs:element name="Unused" type="p:PairType"/>
  <xs:complexType name="OpenType"><xs:sequence><xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>`
	content := `<xs:element ref="p:Blob"/><xs:element name="Open" type="p:OpenType"/>`
	hints := `<xs:annotation><xs:appinfo source="urn:ehcert:wsdlfix"><wsdlfix:raw element="p:Blob"/>` +
		`<wsdlfix:any type="p:OpenType" element="p:Extra"/></xs:appinfo></xs:annotation>`
	svc, b, err := buildTiny(t, writeTinyWith(t, hints, content, globals))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coverage(svc, b); err != nil {
		t.Fatal(err)
	}
	blob, open := b.byName("Blob"), b.byName("OpenType")
	if blob == nil || !blob.opaque || blob.xmlName == nil || len(blob.fields) != 3 || blob.fields[0].name != "Id" {
		t.Errorf("Blob = %+v", blob)
	}
	if open == nil || len(open.fields) != 2 || open.fields[0].name != "Extra" || open.fields[0].typ != "[]string" || open.fields[1].name != "Any" {
		t.Errorf("OpenType = %+v", open)
	}

	// Without the raw hint, the xs:choice in BlobType stops generation.
	noRaw := strings.Replace(hints, `<wsdlfix:raw element="p:Blob"/>`, "", 1)
	if _, _, err := buildTiny(t, writeTinyWith(t, noRaw, content, globals)); err == nil || !strings.Contains(err.Error(), "xs:choice") {
		t.Errorf("without the raw hint: %v", err)
	}
	for _, c := range []struct{ hints, want string }{ // each error names the position (tiny.wsdl or tiny.xsd)
		{`<xs:annotation><xs:appinfo source="urn:ehcert:wsdlfix"><wsdlfix:raw element="p:Nothing"/></xs:appinfo></xs:annotation>`, "not a global element"},
		{`<xs:annotation><xs:appinfo source="urn:ehcert:wsdlfix"><wsdlfix:raw element="p:Unused"/><wsdlfix:raw element="p:Blob"/></xs:appinfo></xs:annotation>`, "no message uses this element"},
		{`<xs:annotation><xs:appinfo source="urn:ehcert:wsdlfix"><wsdlfix:raw element="p:Extra"/><wsdlfix:raw element="p:Blob"/></xs:appinfo></xs:annotation>`, "raw on an element of a simple type"},
		{`<xs:annotation><xs:appinfo source="urn:ehcert:wsdlfix"><wsdlfix:raw element="p:Blob"/><wsdlfix:any type="p:PairType" element="p:Extra"/></xs:appinfo></xs:annotation>`, "no message uses a wildcard of this type"},
		{`<xs:annotation><xs:appinfo source="urn:ehcert:wsdlfix"><wsdlfix:rename element="p:Blob"/></xs:appinfo></xs:annotation>`, "a hint other than"},
	} {
		_, _, err := buildTiny(t, writeTinyWith(t, c.hints, content, globals))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "tiny.wsdl:") && !strings.Contains(err.Error(), "tiny.xsd:") {
			t.Errorf("hints %s: got %v, want %q", c.hints, err, c.want)
		}
	}
}

// wsdlfix -list prints the coverage listing of our WSDLs: every message item with its Go field.
func TestListOurWSDLs(t *testing.T) {
	root := testenv.RepoRoot(t)
	var out bytes.Buffer
	err := run([]string{"-list", filepath.Join(root, "wsdl", "certra-proxy-v2.wsdl"), filepath.Join(root, "wsdl", "etkra-proxy-v2.wsdl")}, &out, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"{urn:be:fgov:ehealth:certra:protocol:v2}GetCertificateResponse [1..1]  -> GetCertificateResponse\n",
		"  {urn:be:fgov:ehealth:certra:protocol:v2}X509Certificate [0..*] xs:base64Binary  -> GetCertificateResponse.X509Certificate []xsd.Base64Binary\n",
		"      @{http://www.w3.org/XML/1998/namespace}lang [1..1] union(xs:language|xs:string{})  -> LocalizedString.Lang string\n",
		"  {http://www.w3.org/2000/09/xmldsig#}Signature [0..1] raw-content  -> CompleteETKRegistrationRequest.Signature *Signature\n",
		"{urn:be:fgov:ehealth:etkra:protocol:v2}ActivateETKResponse [1..1]",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	if strings.Count(s, "Request [1..1]  -> ") != 14 || strings.Count(s, "Response [1..1]  -> ") != 14 {
		t.Errorf("listing does not have 14 requests and 14 responses:\n%s", s)
	}
}
