package main

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/etkra"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/soap"
)

// opFlags are the flags of the single-operation commands. Each operation reads the ones it documents; a request
// file (--request) replaces them all.
type opFlags struct {
	request  string
	keystore string
	ssin     string
	org      string
	orgName  string
	appID    string
	pki      string
	reason   string
	email    string
	phone    string
	signer   personFlags
}

type personFlags struct{ ssin, first, last string }

// opHelp says which flags build each operation's request (without --request).
var opHelp = map[string]string{
	"GetActorQualities":                              "signed with the eID Authentication key; --ssin (default: the eID's)",
	"GetGenericOrganizationTypes":                    "unsigned; no input",
	"GetExistingApplicationIds":                      "unsigned; --org TYPE:ID",
	"GenerateContract":                               "unsigned; --org TYPE:ID [--org-name NAME] [--app-id ID] (none: a personal certificate), --email, --phone, signer from the eID or --signer-ssin/--signer-first-name/--signer-last-name",
	"GenerateCertificate":                            "signed with the eID Signature key; --request FILE only (use \"ehcert create\" for the whole process)",
	"GetCertificate":                                 "unsigned; --pki HEX (PublicKeyIdentifier)",
	"GenerateRevocationContract":                     "unsigned; --pki HEX --reason REASON, signer from the eID or --signer-*",
	"Revoke":                                         "signed with the eID Signature key; --request FILE only (use \"ehcert revoke\")",
	"SubmitCSRForForeigner":                          "unsigned; --request FILE only (use \"ehcert foreigner\")",
	"GetCertificateInfoForCitizen":                   "signed with the eID Authentication key; no input",
	"GetCertificateInfoForAuthenticationCertificate": "signed with the eHealth authentication key: --keystore FILE",
	"StartETKRegistration":                           "signed with the eHealth authentication key: --keystore FILE; --request FILE",
	"CompleteETKRegistration":                        "signed with the eHealth authentication key: --keystore FILE; --request FILE",
	"ActivateETK":                                    "signed with the eHealth authentication key: --keystore FILE",
}

func (a *app) certraCommand() *cobra.Command {
	return a.serviceCommand(ehealth.CertRA, "certra", "CertRA", "Call one CertRA v2 operation",
		`certra calls one CertRA v2 operation and prints the response: the XML as received, or --json.

The request is built from flags, or read from --request FILE (XML of the operation's request element; its Id is
kept, IssueInstant is set to now and any Signature is replaced).`)
}

func (a *app) etkraCommand() *cobra.Command {
	return a.serviceCommand(ehealth.EtkRA, "etkra", "EtkRA", "Call one EtkRA v2 operation",
		`etkra calls one EtkRA v2 operation, signed with the eHealth authentication key of --keystore, and prints
the response: the XML as received, or --json.`)
}

// serviceCommand is "ehcert certra" or "ehcert etkra": one subcommand per operation of svc.
func (a *app) serviceCommand(svc ehealth.Service, use, title, short, long string) *cobra.Command {
	c := &cobra.Command{
		Use:   use + " OPERATION",
		Short: short,
		Long:  long,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s needs an operation: %s", use, strings.Join(opNames(svc), ", "))
			}
			return usagef("unknown %s operation %q; one of: %s", title, args[0], strings.Join(opNames(svc), ", "))
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	for _, op := range ehealth.Operations() {
		if op.Service == svc {
			c.AddCommand(a.opCommand(op))
		}
	}
	return c
}

func opNames(s ehealth.Service) []string {
	var names []string
	for _, op := range ehealth.Operations() {
		if op.Service == s {
			names = append(names, op.Name)
		}
	}
	return names
}

func (a *app) opCommand(op ehealth.Operation) *cobra.Command {
	var f opFlags
	c := &cobra.Command{
		Use:     op.Name,
		Aliases: []string{strings.ToLower(op.Name)},
		Short:   opHelp[op.Name],
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runOperation(cmd.Context(), op, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.request, "request", "", "XML file holding the request element (replaces the other input flags)")
	switch op.Name {
	case "GetActorQualities":
		fl.StringVar(&f.ssin, "ssin", "", "national number of the signer (default: the eID's)")
	case "GetExistingApplicationIds":
		fl.StringVar(&f.org, "org", "", "organisation TYPE:ID, e.g. CBE:0123456749")
	case "GenerateContract":
		fl.StringVar(&f.org, "org", "", "organisation TYPE:ID (omit for a personal certificate)")
		fl.StringVar(&f.orgName, "org-name", "", "organisation name")
		fl.StringVar(&f.appID, "app-id", "", "application id of the organisation certificate")
		fl.StringVar(&f.email, "email", "", "contact e-mail (EmailPrivate)")
		fl.StringVar(&f.phone, "phone", "", "contact phone (PhonePrivate)")
		addSignerFlags(fl, &f.signer)
	case "GetCertificate":
		fl.StringVar(&f.pki, "pki", "", "PublicKeyIdentifier of the certificate (hex)")
	case "GenerateRevocationContract":
		fl.StringVar(&f.pki, "pki", "", "PublicKeyIdentifier of the certificate to revoke (hex)")
		fl.StringVar(&f.reason, "reason", "cessationOfOperation", "keyCompromise, affiliationChanged, superseded or cessationOfOperation")
		addSignerFlags(fl, &f.signer)
	}
	if op.Key == ehealth.EHealthAuthentication {
		fl.StringVar(&f.keystore, "keystore", "", "eHealth keystore (PKCS#12, alias \"authentication\") that signs the request")
	}
	return c
}

type flagSet interface {
	StringVar(p *string, name, value, usage string)
}

func addSignerFlags(fl flagSet, p *personFlags) {
	fl.StringVar(&p.ssin, "signer-ssin", "", "signer's national number (default: from the eID)")
	fl.StringVar(&p.first, "signer-first-name", "", "signer's first name (default: from the eID)")
	fl.StringVar(&p.last, "signer-last-name", "", "signer's last name (default: from the eID)")
}

// genRequest returns a new, empty generated request of op.
func genRequest(op ehealth.Operation) (req, resp any) {
	if op.Service == ehealth.EtkRA {
		g, _ := genetkra.OperationByName(op.Name)
		return g.NewRequest(), g.NewResponse()
	}
	g, _ := gencertra.OperationByName(op.Name)
	return g.NewRequest(), g.NewResponse()
}

func (a *app) runOperation(ctx context.Context, op ehealth.Operation, f *opFlags) error {
	env, err := a.environment()
	if err != nil {
		return err
	}
	req, resp := genRequest(op)
	if f.request != "" {
		data, err := os.ReadFile(f.request)
		if err != nil {
			return usagef("--request: %v", err)
		}
		if err := xml.Unmarshal(data, req); err != nil {
			return usagef("--request %s is not a %s element: %v", f.request, op.Request, err)
		}
		clearSignature(req)
	}
	keyring := &sign.Keyring{}
	switch op.Key {
	case ehealth.EIDAuthentication, ehealth.EIDSignature:
		auth, sig, err := a.eid(ctx)
		if err != nil {
			return err
		}
		keyring.EIDAuthentication, keyring.EIDSignature = auth, sig
	case ehealth.EHealthAuthentication:
		k, err := a.ehealthKey(f.keystore)
		if err != nil {
			return err
		}
		keyring.EHealthAuthentication = k
	}
	if f.request == "" {
		if err := a.fillRequest(ctx, op, req, f); err != nil {
			return err
		}
	}
	sc, err := a.soapClient()
	if err != nil {
		return err
	}
	var raw []byte
	sc.Observer = func(ex *soap.Exchange) {
		if ex.Operation.Name == op.Name {
			raw = append(raw[:0], ex.Response...)
		}
	}
	if op.Service == ehealth.EtkRA {
		c := &etkra.Client{SOAP: sc, Endpoint: env.EtkRA, Signer: keyring, Now: a.now}
		err = c.Do(ctx, op, req, resp)
	} else {
		c := &certra.Client{SOAP: sc, Endpoint: env.CertRA, Signer: keyring, Now: a.now}
		err = c.Do(ctx, op, req, resp)
	}
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(withoutXMLNames(resp))
	}
	if len(raw) == 0 {
		raw, _ = xml.MarshalIndent(resp, "", "  ")
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", raw)
	return err
}

// clearSignature drops a Signature read from a request file: the request is signed again when sent.
func clearSignature(req any) {
	v := reflect.ValueOf(req).Elem()
	if f := v.FieldByName("Signature"); f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// fillRequest builds op's request from the flags.
func (a *app) fillRequest(ctx context.Context, op ehealth.Operation, req any, f *opFlags) error {
	need := func(v, flag string) error {
		if v == "" {
			return usagef("%s needs %s (or --request FILE)", op.Name, flag)
		}
		return nil
	}
	switch r := req.(type) {
	case *gencertra.GetActorQualitiesRequest:
		ssin := f.ssin
		if ssin == "" {
			p, err := a.eidPerson(ctx)
			if err != nil {
				return err
			}
			ssin = p.ssin
		}
		r.SSIN = &gencertra.IdType{Type: "SSIN", Value: ssin}
	case *gencertra.GetExistingApplicationIdsRequest:
		if err := need(f.org, "--org TYPE:ID"); err != nil {
			return err
		}
		typ, id, err := parseOrg(f.org)
		if err != nil {
			return err
		}
		r.OrganizationIdentifier = &gencertra.IdType{Type: typ, Value: id}
	case *gencertra.GenerateContractRequest:
		if err := need(f.email, "--email"); err != nil {
			return err
		}
		if err := need(f.phone, "--phone"); err != nil {
			return err
		}
		signer, err := a.signerOf(ctx, f.signer)
		if err != nil {
			return err
		}
		r.ContactData = &gencertra.ContactDataType{EmailPrivate: f.email, PhonePrivate: f.phone}
		r.Signer = signer.actor()
		if f.org == "" {
			r.CertificateIdentifier = &gencertra.CertificateIdentifierType{Actor: signer.actor()}
		} else {
			typ, id, err := parseOrg(f.org)
			if err != nil {
				return err
			}
			if err := need(f.orgName, "--org-name"); err != nil {
				return err
			}
			r.CertificateIdentifier = &gencertra.CertificateIdentifierType{
				Actor:         &gencertra.ActorType{Id: []gencertra.IdType{{Type: typ, Value: id}}, Name: f.orgName},
				ApplicationId: f.appID,
			}
		}
	case *gencertra.GetCertificateRequest:
		pki, err := parsePKI(f.pki)
		if err != nil {
			return err
		}
		r.PublicKeyIdentifier = pki
	case *gencertra.GenerateRevocationContractRequest:
		pki, err := parsePKI(f.pki)
		if err != nil {
			return err
		}
		signer, err := a.signerOf(ctx, f.signer)
		if err != nil {
			return err
		}
		r.PublicKeyIdentifier = pki
		r.Signer = signer.actor()
		r.RevocationReason = gencertra.RevocationReasonType(f.reason)
	case *gencertra.GetGenericOrganizationTypesRequest, *gencertra.GetCertificateInfoForCitizenRequest,
		*gencertra.GetCertificateInfoForAuthenticationCertificateRequest, *genetkra.ActivateETKRequest:
		// No input.
	default:
		return usagef("%s needs --request FILE (%s)", op.Name, opHelp[op.Name])
	}
	return nil
}

type person struct{ ssin, first, last string }

func (p person) actor() *gencertra.ActorType {
	a := &gencertra.ActorType{Id: []gencertra.IdType{{Type: "SSIN", Value: p.ssin}}, Name: p.last}
	if p.first != "" {
		a.FirstName = []string{p.first}
	}
	return a
}

// signerOf completes the signer flags from the eID when they are not all given.
func (a *app) signerOf(ctx context.Context, pf personFlags) (person, error) {
	p := person{pf.ssin, pf.first, pf.last}
	if p.ssin != "" && p.last != "" {
		return p, nil
	}
	e, err := a.eidPerson(ctx)
	if err != nil {
		return p, err
	}
	if p.ssin == "" {
		p.ssin = e.ssin
	}
	if p.first == "" {
		p.first = e.first
	}
	if p.last == "" {
		p.last = e.last
	}
	return p, nil
}

// eidPerson reads the holder of the eID from its Authentication certificate.
func (a *app) eidPerson(ctx context.Context) (person, error) {
	auth, _, err := a.eid(ctx)
	if err != nil {
		return person{}, err
	}
	if auth == nil || len(auth.Chain()) == 0 {
		return person{}, &credentialError{fmt.Errorf("the eID has no Authentication certificate")}
	}
	return personOf(auth.Chain()[0]), nil
}

var (
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42}
)

// personOf reads SSIN (serialNumber), given name and surname of a Belgian eID certificate.
func personOf(c *x509.Certificate) person {
	p := person{ssin: c.Subject.SerialNumber}
	for _, n := range c.Subject.Names {
		s, _ := n.Value.(string)
		switch {
		case n.Type.Equal(oidSurname):
			p.last = s
		case n.Type.Equal(oidGivenName):
			p.first = s
		}
	}
	return p
}

// parseOrg reads TYPE:ID and pads the id to its type's length.
func parseOrg(s string) (typ, id string, err error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || typ == "" || id == "" {
		return "", "", usagef("--org %q: want TYPE:ID, e.g. CBE:0123456749", s)
	}
	typ = strings.ToUpper(typ)
	norm, err := ehealth.NormalizeIdentifier(typ, id)
	if err != nil {
		return "", "", &usageError{err}
	}
	return typ, norm, nil
}

func parsePKI(s string) (gencertra.PublicKeyIdentifier, error) {
	if s == "" {
		return nil, usagef("--pki HEX is required")
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(b) == 0 {
		return nil, usagef("--pki %q is not hexadecimal", s)
	}
	return b, nil
}

// withoutXMLNames turns a generated response into plain JSON data without the XMLName fields of encoding/xml.
func withoutXMLNames(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return v
	}
	var strip func(any)
	strip = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			delete(t, "XMLName")
			for _, e := range t {
				strip(e)
			}
		case []any:
			for _, e := range t {
				strip(e)
			}
		}
	}
	strip(m)
	return m
}
