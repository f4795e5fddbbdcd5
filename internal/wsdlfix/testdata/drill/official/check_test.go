// Package check is copied by internal/wsdlfix's TestDrill next to the bindings it generated from eHealth's
// published XSDs (the import path github.com/ehcert/ehcert/_drill/... is rewritten to that directory). It runs in
// the repository module, with `go test`, after `go vet` of the generated packages.
package check

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"reflect"
	"testing"

	gencertra "github.com/ehcert/ehcert/gen/certra"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/internal/testenv"
	"github.com/ehcert/ehcert/xsd"

	certra "github.com/ehcert/ehcert/_drill/official/certra"
	etkra "github.com/ehcert/ehcert/_drill/official/etkra"
)

// operation has the fields of the generated Operation types, so that both packages' values convert to it.
type operation struct {
	Name                    string
	SOAPAction              string
	Request, Response       xml.Name
	NewRequest, NewResponse func() any
}

func convert[T any](ops []T) []operation {
	out := make([]operation, len(ops))
	for i, op := range ops {
		out[i] = reflect.ValueOf(op).Convert(reflect.TypeFor[operation]()).Interface().(operation)
	}
	return out
}

// For every operation of CertRA and EtkRA: the bindings generated from the official XSDs and gen/ list the same
// operations, and a value with every field filled in marshals to the same bytes with both, which are valid
// against the official XSDs and unmarshal back to the same value.
func TestSameXMLAsGen(t *testing.T) {
	testenv.Require(t, "xmllint")
	services := []struct {
		name          string
		official, gen []operation
	}{
		{"certra", convert(certra.Operations()), convert(gencertra.Operations())},
		{"etkra", convert(etkra.Operations()), convert(genetkra.Operations())},
	}
	total := 0
	for _, s := range services {
		if len(s.official) != len(s.gen) {
			t.Fatalf("%s: %d operations from the official XSDs, %d in gen/", s.name, len(s.official), len(s.gen))
		}
		for i, o := range s.official {
			g := s.gen[i]
			if o.Name != g.Name || o.SOAPAction != g.SOAPAction || o.Request != g.Request || o.Response != g.Response {
				t.Errorf("%s operation %d: official %+v, gen %+v", s.name, i, o, g)
				continue
			}
			for _, m := range []struct {
				kind        string
				official, g func() any
			}{{"request", o.NewRequest, g.NewRequest}, {"response", o.NewResponse, g.NewResponse}} {
				t.Run(o.Name+"/"+m.kind, func(t *testing.T) {
					off, gen := m.official(), m.g()
					if reflect.TypeOf(off).Elem().Name() != reflect.TypeOf(gen).Elem().Name() {
						t.Errorf("Go type %T from the official XSDs, %T in gen/", off, gen)
					}
					(&filler{}).fill(reflect.ValueOf(off).Elem(), reflect.StructField{}, nil)
					(&filler{}).fill(reflect.ValueOf(gen).Elem(), reflect.StructField{}, nil)
					xo, err := xml.Marshal(off)
					if err != nil {
						t.Fatal(err)
					}
					xg, err := xml.Marshal(gen)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(xo, xg) {
						t.Errorf("the same values marshal differently:\nofficial: %s\ngen:      %s", xo, xg)
					}
					testenv.MustValidateXSD(t, xo)
					back := m.official()
					if err := xml.Unmarshal(xo, back); err != nil {
						t.Fatal(err)
					}
					again, err := xml.Marshal(back)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(again, xo) {
						t.Errorf("round trip changed the XML:\nbefore: %s\nafter:  %s", xo, again)
					}
				})
				total++
			}
		}
	}
	if total != 28 {
		t.Errorf("checked %d messages, want 28 (14 operations)", total)
	}
}

// filler sets every field of a generated value to a value that is valid against the official XSDs,
// deterministically: two packages with the same XML shape get the same XML.
type filler struct{ ids int }

// enumValues gives a valid value for each enumeration type (by Go type name).
var enumValues = map[string]string{
	"EntityType":            "Organization",
	"RevocationReasonType":  "superseded",
	"CertificateStatusType": "VALID_ACTIVE",
	"ETKStatusType":         "WAIT_FOR_ACTIVATION",
}

const dsig = "http://www.w3.org/2000/09/xmldsig#"

// signatureContent is the content of a minimal ds:Signature that the official xmldsig schema accepts.
const signatureContent = `<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="">` +
	`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue>` +
	`</ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue>`

var (
	dateTimeType = reflect.TypeFor[xsd.DateTime]()
	nillableType = reflect.TypeFor[xsd.NillableString]()
)

func (f *filler) fill(v reflect.Value, sf reflect.StructField, open []reflect.Type) {
	t := v.Type()
	switch {
	case t == dateTimeType:
		v.Set(reflect.ValueOf(xsd.MustParseDateTime("2026-11-29T10:00:00.123+01:00")))
		return
	case t == nillableType:
		v.Set(reflect.ValueOf(xsd.NillableString{Value: "app"}))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			field := t.Field(i)
			switch field.Name {
			case "XMLName", "Any":
			case "NamespaceDecls":
				v.Field(i).Set(reflect.ValueOf([]xsd.NamespaceDecl{{Prefix: "ds", URI: dsig}}))
			case "InnerXML":
				v.Field(i).SetString(signatureContent)
			default:
				f.fill(v.Field(i), field, append(open, t))
			}
		}
	case reflect.Pointer:
		n := 0
		for _, o := range open {
			if o == t.Elem() {
				n++
			}
		}
		if n >= 2 { // a recursive type (StatusCode in StatusCode): two levels are enough
			return
		}
		v.Set(reflect.New(t.Elem()))
		f.fill(v.Elem(), sf, open)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // xs:base64Binary, xs:hexBinary (PublicKeyIdentifier: 20 bytes)
			b := make([]byte, 20)
			for i := range b {
				b[i] = byte(i + 1)
			}
			v.SetBytes(b)
			return
		}
		s := reflect.MakeSlice(t, 2, 2)
		for i := 0; i < 2; i++ {
			f.fill(s.Index(i), sf, open)
		}
		if t.Elem() == nillableType {
			s.Index(1).Set(reflect.ValueOf(xsd.NillableString{Nil: true}))
		}
		v.Set(s)
	case reflect.String:
		v.SetString(f.text(t, sf))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32, reflect.Int64:
		v.SetInt(7)
	default:
		panic(fmt.Sprintf("filler: no value for %s (%s)", t, sf.Name))
	}
}

func (f *filler) text(t reflect.Type, sf reflect.StructField) string {
	if e, ok := enumValues[t.Name()]; ok {
		return e
	}
	switch sf.Tag.Get("xml") {
	case "Id,attr", "Id,attr,omitempty": // xs:ID: an NCName, unique in the document
		f.ids++
		return fmt.Sprintf("_id%d", f.ids)
	case "http://www.w3.org/XML/1998/namespace lang,attr":
		return "fr"
	case "Value,attr": // the status code URI
		return "urn:be:fgov:ehealth:2.0:status:Success"
	}
	return "v-" + sf.Name
}
