// Command wsdlfix turns our WSDLs (wsdl/) into the Go bindings gen/certra and gen/etkra. `go generate ./...` runs
// it after gowsdl (see generate.go at the repository root):
//
//	go run ./internal/wsdlfix -prepare gen/.gowsdl
//	go run github.com/hooklift/gowsdl/cmd/gowsdl -d gen/.gowsdl -p certra -o certra.go wsdl/certra-proxy-v2.wsdl
//	go run github.com/hooklift/gowsdl/cmd/gowsdl -d gen/.gowsdl -p etkra -o etkra.go wsdl/etkra-proxy-v2.wsdl
//	go run ./internal/wsdlfix -raw gen/.gowsdl -out gen wsdl/certra-proxy-v2.wsdl=certra wsdl/etkra-proxy-v2.wsdl=etkra
//
// # Why not patch gowsdl's output
//
// gowsdl v0.5.0's code is wrong for these schemas in ways that are not local: it drops the namespace of every
// element below the root, turns simpleContent types such as IdType into plain strings (losing the Type
// attribute), loses nested sequences (ActorType's FirstName and Name), maps xs:dateTime to a type that does not
// round-trip, cannot express a nillable string, and puts a SOAP client of its own in the package. Patching that
// code field by field would hard-code the schemas in the patcher. wsdlfix instead reads the WSDL and the XSDs
// itself and generates the types from them; gowsdl's output is used as an independent reading of the same WSDL:
//
//   - the operation list of operations.go (names, SOAPActions, request and response types) is taken from the SOAP
//     client gowsdl generates, after checking that it agrees with wsdlfix's reading of the WSDL (gowsdl names a
//     message's Go type like the element, or like the element's type when it has a named one, as eHealth's
//     published schemas do: <xs:element name="GetCertificateRequest" type="GetCertificateRequestType"/>);
//   - every Go type name and enumeration constant wsdlfix emits must be one gowsdl declares too.
//
// Any disagreement stops generation with an error that names both readings. gowsdl's SOAP client code is not
// used (the bindings must not import github.com/hooklift/gowsdl/soap; package soap is the transport).
//
// # Mapping
//
// One Go type per message element (named like the element, with an XMLName carrying namespace and local name,
// whether the element's type is anonymous or named), one per complexType the messages use (named like the type),
// one per named simpleType (a string type with constants for enumerations; a []byte type marshalling as
// xs:hexBinary or xs:base64Binary). Extension bases are flattened into the extending type, attributes first;
// attribute groups are expanded in place. Nested sequences are flattened; an optional sequence makes its
// elements optional. Element fields carry their namespace in the struct tag (the namespace of the schema that
// declares them; none for unqualified elements, whose complex types get a MarshalXML that writes xmlns="" so
// that they do not inherit their parent's default namespace). Optional string and binary values use omitempty;
// other optional values are pointers; complex elements are pointers; repeated elements are slices. xs:dateTime
// is xsd.DateTime, a nillable xs:string xsd.NillableString. A complexType whose only content is an xs:any
// (ds:Signature in wsdl/xsd/xmldsig.xsd) keeps its content as raw XML (",innerxml"); an xs:any listing known
// global elements in a <wsdlfix:element ref="..."/> appinfo (source="urn:ehcert:wsdlfix") gets a typed field
// per listed element plus an Any field for the rest. Enumeration types are string types: a value that a later
// schema adds still unmarshals.
//
// # Hints in the WSDL
//
// To use schemas that must stay exactly as published (eHealth's XSDs), the WSDL can carry hints in an
// xs:annotation of its inline xs:schema. They change the Go mapping, never the XML:
//
//	<xs:schema>
//	  <xs:annotation>
//	    <xs:appinfo source="urn:ehcert:wsdlfix">
//	      <wsdlfix:raw element="ds:Signature"/>
//	      <wsdlfix:any type="core:StatusDetailType" element="etee:EteeStatusDetail"/>
//	    </xs:appinfo>
//	  </xs:annotation>
//	  <xs:import namespace="..." schemaLocation="..."/>
//	</xs:schema>
//
// wsdlfix:raw keeps the content of a global element as raw XML, with its attributes as fields; its content
// model is not read, so it may use constructs wsdlfix does not support (the W3C xmldsig schema's xs:choice and
// mixed content). wsdlfix:any gives the wildcard of a complexType a typed field for a global element, like the
// appinfo on an xs:any. A hint that names nothing, or that no message uses, is an error.
//
// # Supported XSD subset
//
// Only the declarations that the operations' messages use are read in full: a schema may declare other things
// with any construct (the eHealth commons declare pagination attribute groups and author types that CertRA and
// EtkRA do not use). For what the messages use:
//
// xs:schema (targetNamespace, elementFormDefault, one file per namespace, xs:import with schemaLocation);
// global xs:element with a type or an anonymous complexType; local xs:element with name or ref, minOccurs,
// maxOccurs, nillable (xs:string only), form; xs:complexType with xs:sequence (nested, maxOccurs 1), xs:attribute
// (name or ref, use optional or required), xs:attributeGroup (declaration and reference),
// xs:complexContent/xs:extension, xs:simpleContent/xs:extension; xs:simpleType restricting a built-in type
// (enumeration; length, minLength, maxLength and pattern are documentation only) or a union of string types;
// xs:any (trailing); xs:annotation (documentation may contain markup; it is reduced to text). Built-in types:
// string, anyURI, ID, NCName, token, normalizedString, language, Name, NMTOKEN, boolean, int, long, dateTime,
// base64Binary, hexBinary. Anything else (xs:choice, xs:all, xs:group references, xs:anyAttribute, mixed
// content, restrictions of complex types, defaults and fixed values, substitution groups, xs:include, ...) stops
// generation with an error naming the file, line and construct, the message path that uses it, and what to do,
// so that no type silently misses an element or attribute.
//
// # Coverage check
//
// After building the Go declarations, wsdlfix reads the schemas a second time, independently of the Go mapping,
// and lists every element and attribute of every message (name, namespace, order, cardinality, value type). Each
// must have a Go field of a matching kind and cardinality, and each field must hold one; otherwise generation
// stops. `go run ./internal/wsdlfix -list wsdl/certra-proxy-v2.wsdl` prints that listing with the Go field of each
// item.
//
// The WSDL must be WSDL 1.1 with a SOAP 1.1 document/literal binding, one element part per message and a
// soapAction per operation.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wsdlfix:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wsdlfix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prepare := fs.String("prepare", "", "remove and recreate this directory for gowsdl's raw output, then exit")
	raw := fs.String("raw", "", "directory with gowsdl's raw output (`DIR/PKG/PKG.go`); removed at the end")
	out := fs.String("out", "", "directory of the generated packages (`OUT/PKG/*.go`)")
	keep := fs.Bool("keep-raw", false, "keep the raw directory (debugging)")
	list := fs.Bool("list", false, "print every element and attribute of every message of the WSDLs with its Go field, then exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wsdlfix -prepare DIR\n       wsdlfix -raw DIR -out OUT WSDL=PKG...\n       wsdlfix -list WSDL...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		if fs.NArg() == 0 || *prepare != "" || *raw != "" || *out != "" {
			return errors.New("-list takes only WSDL files")
		}
		for _, w := range fs.Args() {
			listing, err := coverageListing(filepath.ToSlash(w))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "# %s\n%s", w, listing)
		}
		return nil
	}
	if *prepare != "" {
		if fs.NArg() != 0 || *raw != "" || *out != "" {
			return errors.New("-prepare takes no other arguments")
		}
		if err := removeScratch(*prepare); err != nil {
			return err
		}
		if err := os.MkdirAll(*prepare, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(*prepare, scratchMarker), []byte("gowsdl's raw output for internal/wsdlfix; removed after generation\n"), 0o644)
	}
	if *raw == "" || *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("missing arguments")
	}
	if _, err := os.Stat(filepath.Join(*raw, scratchMarker)); err != nil {
		return fmt.Errorf("%s was not made by wsdlfix -prepare (no %s): refusing to use and remove it", *raw, scratchMarker)
	}
	if !*keep {
		defer removeScratch(*raw)
	}
	outputs := map[string]map[string][]byte{} // pkg -> file -> content
	for _, arg := range fs.Args() {
		wsdlPath, pkg, ok := strings.Cut(arg, "=")
		if !ok || wsdlPath == "" || pkg == "" {
			return fmt.Errorf("argument %q: want WSDL=PKG", arg)
		}
		if outputs[pkg] != nil {
			return fmt.Errorf("package %s named twice", pkg)
		}
		files, err := generate(filepath.ToSlash(wsdlPath), pkg, filepath.Join(*raw, pkg, pkg+".go"))
		if err != nil {
			return err
		}
		outputs[pkg] = files
	}
	// Everything generated: now write.
	for _, pkg := range sortedPkgs(outputs) {
		if err := writePackage(filepath.Join(*out, pkg), outputs[pkg]); err != nil {
			return err
		}
	}
	return nil
}

// scratchMarker marks the directory made by -prepare; wsdlfix removes only such a directory.
const scratchMarker = ".wsdlfix-scratch"

// removeScratch removes a scratch directory made by -prepare. A missing directory is fine; an existing one
// without the marker is left alone (an error), so that a wrong path never deletes anything else.
func removeScratch(dir string) error {
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, scratchMarker)); err != nil {
		return fmt.Errorf("%s exists but was not made by wsdlfix -prepare (no %s): remove it yourself", dir, scratchMarker)
	}
	return os.RemoveAll(dir)
}

func sortedPkgs(m map[string]map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// generate produces the files of one package.
func generate(wsdlPath, pkg, rawPath string) (map[string][]byte, error) {
	svc, err := loadService(wsdlPath)
	if err != nil {
		return nil, err
	}
	decls, err := build(svc)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(rawPath)
	if err != nil {
		return nil, fmt.Errorf("reading gowsdl's output (did gowsdl run? see generate.go): %w", err)
	}
	g, err := readGowsdl(filepath.ToSlash(rawPath), src)
	if err != nil {
		return nil, err
	}
	if err := crossCheck(g, svc, decls); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if files["doc.go"], err = renderDoc(pkg, wsdlPath, svc); err != nil {
		return nil, err
	}
	if files["types.go"], err = renderTypes(pkg, wsdlPath, decls); err != nil {
		return nil, err
	}
	if files["operations.go"], err = renderOperations(pkg, wsdlPath, svc, g.ops); err != nil {
		return nil, err
	}
	return files, nil
}

// coverageListing reads a WSDL and returns the coverage listing of its messages.
func coverageListing(wsdlPath string) (string, error) {
	svc, err := loadService(wsdlPath)
	if err != nil {
		return "", err
	}
	b, err := buildModel(svc)
	if err != nil {
		return "", err
	}
	return coverage(svc, b)
}

// writePackage writes the files of a package and removes files a previous run generated that are no longer
// produced. Hand-written files (tests) are left alone.
func writePackage(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || files[e.Name()] != nil {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte(generatedPrefix)) {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedKeys(files) {
		p := filepath.Join(dir, name)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
