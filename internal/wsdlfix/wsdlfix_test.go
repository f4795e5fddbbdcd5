package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ehcert/ehcert/internal/testenv"
)

// gowsdl builds the pinned gowsdl once per test run.
var (
	gowsdlOnce sync.Once
	gowsdlBin  string
	gowsdlErr  error
)

func buildGowsdl(t *testing.T) string {
	t.Helper()
	goTool := testenv.Require(t, "go")
	gowsdlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wsdlfix-gowsdl-")
		if err != nil {
			gowsdlErr = err
			return
		}
		gowsdlBin = filepath.Join(dir, "gowsdl")
		cmd := exec.Command(goTool, "build", "-o", gowsdlBin, "github.com/hooklift/gowsdl/cmd/gowsdl")
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			gowsdlErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if gowsdlErr != nil {
		t.Fatalf("building gowsdl: %v", gowsdlErr)
	}
	return gowsdlBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if gowsdlBin != "" {
		os.RemoveAll(filepath.Dir(gowsdlBin))
	}
	os.Exit(code)
}

// runGowsdl runs gowsdl like generate.go does, from dir, writing raw/pkg/pkg.go.
func runGowsdl(t *testing.T, dir, raw, pkg, wsdl string) {
	t.Helper()
	cmd := exec.Command(buildGowsdl(t), "-d", raw, "-p", pkg, "-o", pkg+".go", wsdl)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gowsdl %s: %v\n%s", wsdl, err, out)
	}
}

const tinyWSDL = `<?xml version="1.0"?>
<wsdl:definitions name="Tiny" targetNamespace="urn:tiny"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:p="urn:tiny">
  <wsdl:types><xs:schema><xs:import namespace="urn:tiny" schemaLocation="tiny.xsd"/></xs:schema></wsdl:types>
  <wsdl:message name="PingRequest"><wsdl:part name="body" element="p:PingRequest"/></wsdl:message>
  <wsdl:message name="PingResponse"><wsdl:part name="body" element="p:PingResponse"/></wsdl:message>
  <wsdl:portType name="TinyPortType">
    <wsdl:operation name="Ping"><wsdl:input message="p:PingRequest"/><wsdl:output message="p:PingResponse"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="TinyBinding" type="p:TinyPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Ping">
      <soap:operation soapAction="urn:tiny:ping"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="TinyService"><wsdl:port name="TinyPort" binding="p:TinyBinding"><soap:address location="https://example.org/tiny"/></wsdl:port></wsdl:service>
</wsdl:definitions>
`

// tinyXSD declares the two messages; content goes inside PingRequest's sequence.
func tinyXSD(content string) string {
	return `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:p="urn:tiny" targetNamespace="urn:tiny" elementFormDefault="qualified">
  <xs:element name="PingRequest">
    <xs:complexType>
      <xs:sequence>
` + content + `
      </xs:sequence>
      <xs:attribute name="Id" type="xs:ID"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="PingResponse">
    <xs:complexType>
      <xs:sequence><xs:element name="Pong" type="xs:string"/></xs:sequence>
    </xs:complexType>
  </xs:element>
  <xs:complexType name="PairType">
    <xs:sequence><xs:element name="A" type="xs:string"/><xs:element name="B" type="xs:boolean" minOccurs="0"/></xs:sequence>
  </xs:complexType>
</xs:schema>
`
}

func writeTiny(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.wsdl"), []byte(tinyWSDL), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiny.xsd"), []byte(tinyXSD(content)), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chdir runs f in dir (run takes paths relative to the working directory, as go generate does).
func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

// The whole pipeline on gowsdl's real output for a WSDL with an xs:choice: wsdlfix stops with an error that
// names the file, the line and the construct, writes nothing and removes gowsdl's raw output.
func TestUnsupportedConstructFailsClearly(t *testing.T) {
	dir := writeTiny(t, `        <xs:element name="Name" type="xs:string"/>
        <xs:choice>
          <xs:element name="Email" type="xs:string"/>
          <xs:element name="Phone" type="xs:string"/>
        </xs:choice>`)
	chdir(t, dir)
	if err := run([]string{"-prepare", "raw"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	runGowsdl(t, dir, "raw", "tiny", "tiny.wsdl")
	if _, err := os.Stat(filepath.Join("raw", "tiny", "tiny.go")); err != nil {
		t.Fatalf("gowsdl wrote nothing: %v", err)
	}
	err := run([]string{"-raw", "raw", "-out", "gen", "tiny.wsdl=tiny"}, os.Stdout, os.Stderr)
	var ue *unsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("run = %v, want an *unsupportedError", err)
	}
	msg := err.Error()
	for _, want := range []string{"tiny.xsd:7:", "xs:choice", "not supported by wsdlfix", "internal/wsdlfix"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	for _, p := range []string{"gen", "raw"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed run (%v)", p, err)
		}
	}
}

// The same pipeline succeeds on a supported schema and writes compilable-looking, gofmt'ed files.
func TestTinyServiceGenerates(t *testing.T) {
	dir := writeTiny(t, `        <xs:element name="Pair" type="p:PairType" maxOccurs="unbounded"/>
        <xs:sequence minOccurs="0"><xs:element name="When" type="xs:dateTime"/></xs:sequence>`)
	chdir(t, dir)
	if err := run([]string{"-prepare", "raw"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	runGowsdl(t, dir, "raw", "tiny", "tiny.wsdl")
	if err := run([]string{"-raw", "raw", "-out", "gen", "tiny.wsdl=tiny"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	types, err := os.ReadFile(filepath.Join("gen", "tiny", "types.go"))
	if err != nil {
		t.Fatal(err)
	}
	flat := []byte(strings.Join(strings.Fields(string(types)), " ")) // gofmt aligns fields
	for _, want := range []string{
		"// Code generated by internal/wsdlfix from tiny.wsdl",
		"DO NOT EDIT.",
		"XMLName xml.Name `xml:\"urn:tiny PingRequest\"`",
		"Id string `xml:\"Id,attr,omitempty\"`",
		"Pair []PairType `xml:\"urn:tiny Pair\"`",
		"When *xsd.DateTime `xml:\"urn:tiny When\"`",
		"B *bool `xml:\"urn:tiny B\"`",
	} {
		if !bytes.Contains(flat, []byte(want)) {
			t.Errorf("types.go lacks %q:\n%s", want, types)
		}
	}
	ops, err := os.ReadFile(filepath.Join("gen", "tiny", "operations.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ops, []byte(`SOAPActionPing = "urn:tiny:ping"`)) || bytes.Contains(ops, []byte("gowsdl/soap")) {
		t.Errorf("operations.go:\n%s", ops)
	}
	if _, err := os.Stat("raw"); !os.IsNotExist(err) {
		t.Errorf("raw output left behind (%v)", err)
	}
	// A second run that changes nothing leaves the files alone; a stale generated file is removed, a hand-written
	// one kept.
	os.WriteFile(filepath.Join("gen", "tiny", "old.go"), []byte(generatedPrefix+" from x. DO NOT EDIT.\n\npackage tiny\n"), 0o600)
	os.WriteFile(filepath.Join("gen", "tiny", "mine_test.go"), []byte("package tiny\n"), 0o600)
	if err := run([]string{"-prepare", "raw"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	runGowsdl(t, dir, "raw", "tiny", "tiny.wsdl")
	if err := run([]string{"-raw", "raw", "-out", "gen", "tiny.wsdl=tiny"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("gen", "tiny", "old.go")); !os.IsNotExist(err) {
		t.Error("stale generated file kept")
	}
	if _, err := os.Stat(filepath.Join("gen", "tiny", "mine_test.go")); err != nil {
		t.Error("hand-written file removed")
	}
}

// When gowsdl's output and the WSDL disagree (here: a SOAPAction edited in the raw output), generation stops.
func TestCrossCheckWithGowsdl(t *testing.T) {
	dir := writeTiny(t, `        <xs:element name="Name" type="xs:string"/>`)
	chdir(t, dir)
	if err := run([]string{"-prepare", "raw"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	runGowsdl(t, dir, "raw", "tiny", "tiny.wsdl")
	raw := filepath.Join("raw", "tiny", "tiny.go")
	src, _ := os.ReadFile(raw)
	if !bytes.Contains(src, []byte(`"urn:tiny:ping"`)) {
		t.Fatalf("gowsdl output without the SOAPAction:\n%s", src)
	}
	os.WriteFile(raw, bytes.Replace(src, []byte(`"urn:tiny:ping"`), []byte(`"urn:tiny:Ping"`), 1), 0o600)
	err := run([]string{"-raw", "raw", "-out", "gen", "tiny.wsdl=tiny"}, os.Stdout, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "disagrees") || !strings.Contains(err.Error(), "SOAPAction") {
		t.Fatalf("run = %v, want a disagreement about the SOAPAction", err)
	}
}

// Constructs that must stop generation, checked without gowsdl (the schema is read before gowsdl's output).
func TestUnsupportedConstructs(t *testing.T) {
	cases := []struct{ name, content, want string }{
		{"all", `<xs:element name="X" type="p:T"/></xs:sequence></xs:complexType></xs:element>
  <xs:complexType name="T"><xs:all><xs:element name="Y" type="xs:string"/></xs:all></xs:complexType>
  <xs:element name="Z"><xs:complexType><xs:sequence>`, "xs:all"},
		{"group", `<xs:group ref="p:G"/>`, "xs:group"},
		{"repeated sequence", `<xs:sequence maxOccurs="unbounded"><xs:element name="X" type="xs:string"/></xs:sequence>`, "repeated xs:sequence"},
		{"nillable int", `<xs:element name="X" type="xs:int" nillable="true"/>`, "nillable"},
		{"unknown built-in", `<xs:element name="X" type="xs:duration"/>`, "xs:duration"},
		{"default value", `<xs:element name="X" type="xs:string" default="a"/>`, `attribute "default"`},
		{"local anonymous type", `<xs:element name="X"><xs:complexType/></xs:element>`, "anonymous complexType on a local element"},
		{"any before elements", `<xs:any/><xs:element name="X" type="xs:string"/>`, "xs:any before other particles"},
		{"substitution group", `<xs:element ref="p:PingResponse" minOccurs="0"/><xs:element name="X" type="xs:string" block="all"/>`, `attribute "block"`},
		{"substitution group member", `<xs:element name="X" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="Head" type="xs:string"/><xs:element name="Member" type="xs:string" substitutionGroup="p:Head"/>
  <xs:element name="Z"><xs:complexType><xs:sequence>`, "substitutionGroup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTiny(t, c.content)
			svc, err := loadService(filepath.Join(dir, "tiny.wsdl"))
			if err == nil {
				_, err = build(svc)
			}
			var ue *unsupportedError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "tiny.xsd:") {
				t.Errorf("got %v, want an unsupported-construct error about %q with its position", err, c.want)
			}
		})
	}
}

// An unqualified element of a simple type directly inside a qualified element cannot be written by
// encoding/xml (it would inherit the parent's default namespace): refused.
func TestUnqualifiedSimpleChildRefused(t *testing.T) {
	dir := writeTiny(t, `<xs:element name="X" type="xs:string" form="unqualified"/>`)
	svc, err := loadService(filepath.Join(dir, "tiny.wsdl"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = build(svc)
	var ue *unsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unqualified element X") {
		t.Errorf("got %v", err)
	}
}

// go generate's output equals the committed files: the real WSDLs, run through the real gowsdl and wsdlfix in a
// scratch directory, give gen/certra and gen/etkra byte for byte (scripts/check-generate.sh checks the same
// through `go generate ./...`).
func TestCommittedBindingsAreUpToDate(t *testing.T) {
	root := testenv.RepoRoot(t)
	scratch := t.TempDir()
	raw := filepath.Join(scratch, "raw")
	out := filepath.Join(scratch, "gen")
	chdir(t, root)
	if err := run([]string{"-prepare", raw}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"certra", "etkra"} {
		runGowsdl(t, root, raw, pkg, "wsdl/"+pkg+"-proxy-v2.wsdl")
	}
	if err := run([]string{"-raw", raw, "-out", out,
		"wsdl/certra-proxy-v2.wsdl=certra", "wsdl/etkra-proxy-v2.wsdl=etkra"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"certra", "etkra"} {
		for _, f := range []string{"doc.go", "types.go", "operations.go"} {
			want, err := os.ReadFile(filepath.Join(out, pkg, f))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(root, "gen", pkg, f))
			if err != nil {
				t.Fatalf("committed file missing: %v (run go generate ./...)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("gen/%s/%s is not what go generate produces; run go generate ./...", pkg, f)
			}
		}
	}
}

// wsdlfix removes only a directory that -prepare made: a wrong path never deletes anything.
func TestScratchDirectoryMustBeOurs(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(precious, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-raw", dir, "-out", filepath.Join(dir, "gen"), "x.wsdl=x"}, os.Stdout, os.Stderr); err == nil {
		t.Error("-raw accepted a directory -prepare did not make")
	}
	if err := run([]string{"-prepare", dir}, os.Stdout, os.Stderr); err == nil {
		t.Error("-prepare removed a directory it did not make")
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("file deleted: %v", err)
	}
	scratch := filepath.Join(dir, "scratch")
	for i := 0; i < 2; i++ { // a second -prepare replaces the first
		if err := run([]string{"-prepare", scratch}, os.Stdout, os.Stderr); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeScratch(scratch); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("scratch directory not removed: %v", err)
	}
}
