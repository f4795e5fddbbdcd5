package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// gowsdlOutput is what wsdlfix takes from gowsdl's raw Go file: the declared type names, the enumeration
// constants and, from the generated SOAP client, each operation's method name, SOAPAction and request and
// response types.
type gowsdlOutput struct {
	file   string
	types  map[string]bool
	consts map[string]gowsdlConst
	ops    []gowsdlOp
}

type gowsdlConst struct{ typ, value string }

type gowsdlOp struct {
	Name, SOAPAction, Request, Response string
}

// readGowsdl parses gowsdl's output.
func readGowsdl(path string, src []byte) (*gowsdlOutput, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return nil, fmt.Errorf("gowsdl output %s does not parse: %v", path, err)
	}
	out := &gowsdlOutput{file: path, types: map[string]bool{}, consts: map[string]gowsdlConst{}}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					out.types[s.Name.Name] = true
				case *ast.ValueSpec:
					id, ok := s.Type.(*ast.Ident)
					if d.Tok != token.CONST || !ok || len(s.Names) != 1 || len(s.Values) != 1 {
						continue
					}
					lit, ok := s.Values[0].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						continue
					}
					out.consts[s.Names[0].Name] = gowsdlConst{id.Name, v}
				}
			}
		case *ast.FuncDecl:
			if d.Recv == nil || !strings.HasSuffix(d.Name.Name, "Context") || d.Body == nil {
				continue
			}
			op := gowsdlOp{Name: strings.TrimSuffix(d.Name.Name, "Context")}
			// func (service *x) NameContext(ctx context.Context, request *Req) (*Resp, error)
			if ps := d.Type.Params.List; len(ps) == 2 {
				op.Request = starIdent(ps[1].Type)
			}
			if rs := d.Type.Results; rs != nil && len(rs.List) == 2 {
				op.Response = starIdent(rs.List[0].Type)
			}
			ast.Inspect(d.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "CallContext" || len(call.Args) < 2 {
					return true
				}
				if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					op.SOAPAction, _ = strconv.Unquote(lit.Value)
				}
				return false
			})
			out.ops = append(out.ops, op)
		}
	}
	return out, nil
}

// sameMessage reports whether gowsdl's Go type for a message is the message element: gowsdl names it like the
// element when the element has an anonymous type, like the element's type when it has a named type (eHealth's
// published schemas: <xs:element name="GetCertificateRequest" type="GetCertificateRequestType"/>).
func sameMessage(svc *service, goType string, el qname) bool {
	if goType == el.Local {
		return true
	}
	e := svc.schemas.elements[el]
	if e == nil || e.anon != nil || e.typeName.Space == nsXSD {
		return false
	}
	name, err := exported(e.typeName.Local)
	return err == nil && goType == name
}

func starIdent(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		if id, ok := s.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}

// crossCheck compares gowsdl's reading of the WSDL with wsdlfix's: the same operations (names, SOAPActions,
// request and response types, in order), and every Go type and enumeration constant wsdlfix emits is one
// gowsdl declares too (so names stay what gowsdl users expect).
func crossCheck(g *gowsdlOutput, svc *service, decls []*goDecl) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("gowsdl output %s disagrees with wsdlfix's reading of %s: %s", g.file, svc.file, fmt.Sprintf(format, args...))
	}
	if len(g.ops) != len(svc.operations) {
		return fail("gowsdl generated %d operations, the WSDL has %d", len(g.ops), len(svc.operations))
	}
	for i, op := range svc.operations {
		gop := g.ops[i]
		name, err := exported(op.name)
		if err != nil {
			return fmt.Errorf("%s: operation %q: %v", svc.file, op.name, err)
		}
		switch {
		case gop.Name != name:
			return fail("operation %d is %s in gowsdl's output, %s in the WSDL", i+1, gop.Name, name)
		case gop.SOAPAction != op.soapAction:
			return fail("operation %s: SOAPAction %q in gowsdl's output, %q in the WSDL", name, gop.SOAPAction, op.soapAction)
		case !sameMessage(svc, gop.Request, op.request):
			return fail("operation %s: gowsdl's request type is %s, the request element is %s", name, gop.Request, op.request)
		case !sameMessage(svc, gop.Response, op.response):
			return fail("operation %s: gowsdl's response type is %s, the response element is %s", name, gop.Response, op.response)
		}
	}
	for _, d := range decls {
		if !g.types[d.name] {
			return fail("wsdlfix emits type %s, which gowsdl does not declare", d.name)
		}
		for _, c := range d.consts {
			gc, ok := g.consts[c.name]
			if !ok || gc.typ != d.name || gc.value != c.value {
				return fail("enumeration constant %s %s = %q is not in gowsdl's output", c.name, d.name, c.value)
			}
		}
	}
	return nil
}
