package flows

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/ehcert/ehcert/certra"
	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/etkra"
	gencertra "github.com/ehcert/ehcert/gen/certra"
	genetkra "github.com/ehcert/ehcert/gen/etkra"
	"github.com/ehcert/ehcert/sign"
	"github.com/ehcert/ehcert/xsd"
)

// genPlatform implements platform with the typed clients and the generated request types.
type genPlatform struct {
	deps *Deps
	kr   *sign.Keyring
}

func newPlatform(d *Deps, kr *sign.Keyring) platform { return &genPlatform{deps: d, kr: kr} }

func (g *genPlatform) certra(id string) *certra.Client {
	c := &certra.Client{SOAP: g.deps.soap(), Endpoint: g.deps.Environment.CertRA, Signer: g.kr, Now: g.deps.Now}
	if id != "" {
		c.NewID = func() string { return id }
	}
	return c
}

func (g *genPlatform) etkra() *etkra.Client {
	return &etkra.Client{SOAP: g.deps.soap(), Endpoint: g.deps.Environment.EtkRA, Signer: g.kr, Now: g.deps.Now}
}

func actor(p Person) *gencertra.ActorType {
	a := &gencertra.ActorType{Id: []gencertra.IdType{{Type: "SSIN", Value: p.SSIN}}, Name: p.LastName}
	if p.FirstName != "" {
		a.FirstName = []string{p.FirstName}
	}
	return a
}

func personOf(a *gencertra.ActorType) Person {
	var p Person
	if a == nil {
		return p
	}
	for _, id := range a.Id {
		if strings.EqualFold(id.Type, "SSIN") {
			p.SSIN = strings.TrimSpace(id.Value)
		}
	}
	p.FirstName = strings.Join(a.FirstName, " ")
	p.LastName = a.Name
	return p
}

func contactData(c Contact) *gencertra.ContactDataType {
	return &gencertra.ContactDataType{EmailPrivate: c.EmailPrivate, EmailGeneral: c.EmailGeneral,
		PhonePrivate: c.PhonePrivate, PhoneGeneral: c.PhoneGeneral}
}

func textOf(t *gencertra.TextType) map[string]string {
	out := map[string]string{}
	if t == nil {
		return out
	}
	for _, v := range t.Value {
		out[v.Lang] = v.Value
	}
	return out
}

// firstText returns the English text, else any.
func firstText(t *gencertra.TextType) string {
	m := textOf(t)
	if s, ok := m["en"]; ok {
		return s
	}
	for _, v := range t.Value {
		return v.Value
	}
	return ""
}

func parsePKI(s string) (gencertra.PublicKeyIdentifier, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 20 {
		return nil, fmt.Errorf("flows: invalid PublicKeyIdentifier %q", s)
	}
	return b, nil
}

func timePtr(d *xsd.DateTime) *time.Time {
	if d == nil || d.IsZero() {
		return nil
	}
	t := d.Time().UTC()
	return &t
}

// The contract is kept as the XML of the element the platform returned, and sent back from that XML.
type storedContract struct {
	XMLName xml.Name `xml:"urn:be:fgov:ehealth:certra:protocol:v2 Contract"`
	gencertra.ContractType
}

type storedRevocationContract struct {
	XMLName xml.Name `xml:"urn:be:fgov:ehealth:certra:protocol:v2 Contract"`
	gencertra.RevocationContractType
}

func (g *genPlatform) ActorQualities(ctx context.Context, ssin string) (bool, []Organization, error) {
	resp, err := g.certra("").GetActorQualities(ctx, &gencertra.GetActorQualitiesRequest{SSIN: &gencertra.IdType{Type: "SSIN", Value: ssin}})
	if err != nil {
		return false, nil, err
	}
	var orgs []Organization
	for _, o := range resp.OrganizationAuthorization {
		if o.Identifier == nil {
			continue
		}
		orgs = append(orgs, Organization{Type: o.Identifier.Type, ID: strings.TrimSpace(o.Identifier.Value), Name: firstText(o.Name)})
	}
	return resp.NaturalPersonAuthorization != nil && *resp.NaturalPersonAuthorization, orgs, nil
}

func (g *genPlatform) OrganizationTypes(ctx context.Context) ([]orgType, error) {
	resp, err := g.certra("").GetGenericOrganizationTypes(ctx, &gencertra.GetGenericOrganizationTypesRequest{})
	if err != nil {
		return nil, err
	}
	var out []orgType
	for _, t := range resp.OrganizationType {
		out = append(out, orgType{Name: textOf(t.Name), IdentifierType: strings.TrimSpace(t.IdentifierType),
			ValidationRegEx: t.ValidationRegEx, CheckDigits: t.CheckDigitAlgorithm, BaseServices: t.AvailableBaseService})
	}
	return out, nil
}

func (g *genPlatform) ExistingApplicationIDs(ctx context.Context, typ, id string) ([]string, bool, error) {
	resp, err := g.certra("").GetExistingApplicationIds(ctx, &gencertra.GetExistingApplicationIdsRequest{
		OrganizationIdentifier: &gencertra.IdType{Type: typ, Value: id}})
	if err != nil {
		return nil, false, err
	}
	var ids []string
	without := false
	for _, a := range resp.ApplicationId {
		if a.Nil || strings.TrimSpace(a.Value) == "" {
			without = true
			continue
		}
		ids = append(ids, strings.TrimSpace(a.Value))
	}
	return ids, without, nil
}

func (g *genPlatform) GenerateContract(ctx context.Context, signer Person, subject Subject, contact Contact) (*ContractRecord, error) {
	req := &gencertra.GenerateContractRequest{ContactData: contactData(contact), Signer: actor(signer)}
	ci := &gencertra.CertificateIdentifierType{}
	if subject.IsPerson() {
		ci.Actor = actor(signer)
	} else {
		ci.Actor = &gencertra.ActorType{Id: []gencertra.IdType{{Type: subject.Type, Value: subject.ID}}, Name: subject.Name}
		if signer.FirstName != "" {
			ci.Actor.FirstName = []string{signer.FirstName}
		}
		ci.ApplicationId = subject.ApplicationID
	}
	req.CertificateIdentifier = ci
	resp, err := g.certra("").GenerateContract(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.Contract == nil {
		return nil, &MismatchError{What: "GenerateContract response", Got: "no contract", Want: "a contract"}
	}
	b, err := xml.Marshal(storedContract{ContractType: *resp.Contract})
	if err != nil {
		return nil, err
	}
	return &ContractRecord{XML: b, DN: strings.TrimSpace(resp.Contract.DN)}, nil
}

func (g *genPlatform) ContractText(rec *ContractRecord, revocation bool) (Contract, error) {
	if revocation {
		var c storedRevocationContract
		if err := xml.Unmarshal(rec.XML, &c); err != nil {
			return Contract{}, &StateError{Err: err}
		}
		return Contract{Revocation: true, DN: c.DN, Signer: personOf(c.Signer), RevocationReason: string(c.RevocationReason), Text: textOf(c.Text)}, nil
	}
	var c storedContract
	if err := xml.Unmarshal(rec.XML, &c); err != nil {
		return Contract{}, &StateError{Err: err}
	}
	return Contract{DN: c.DN, Signer: personOf(c.Signer), Text: textOf(c.Text)}, nil
}

func (g *genPlatform) GenerateCertificate(ctx context.Context, requestID string, csr, contractXML []byte, contact Contact, usage []string) (string, bool, error) {
	var c storedContract
	if err := xml.Unmarshal(contractXML, &c); err != nil {
		return "", false, &StateError{Err: err}
	}
	contract := c.ContractType
	// As the connector: the DN goes back with TYPE= escaped as TYPE\= (idempotent); Signer and Text unchanged.
	contract.DN = certreq.EscapeContractDN(contract.DN)
	resp, err := g.certra(requestID).GenerateCertificate(ctx, &gencertra.GenerateCertificateRequest{
		EHealthCSR: &gencertra.EHealthCertificateSigningRequestType{ContactData: contactData(contact), CSR: csr,
			Contract: &contract, BaseServiceUsage: usage}})
	if err != nil {
		return "", false, err
	}
	auto := resp.AutomaticallyValidated != nil && *resp.AutomaticallyValidated
	return resp.PublicKeyIdentifier.String(), auto, nil
}

func (g *genPlatform) GetCertificate(ctx context.Context, pki string) ([][]byte, error) {
	id, err := parsePKI(pki)
	if err != nil {
		return nil, &StateError{Err: err}
	}
	resp, err := g.certra("").GetCertificate(ctx, &gencertra.GetCertificateRequest{PublicKeyIdentifier: id})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, c := range resp.X509Certificate {
		out = append(out, c)
	}
	return out, nil
}

func (g *genPlatform) CertificateInfo(ctx context.Context) (*certInfo, error) {
	resp, err := g.certra("").GetCertificateInfoForAuthenticationCertificate(ctx, &gencertra.GetCertificateInfoForAuthenticationCertificateRequest{})
	if err != nil {
		return nil, err
	}
	if resp.CertificateInfo == nil {
		return nil, &MismatchError{What: "GetCertificateInfoForAuthenticationCertificate response", Got: "no CertificateInfo", Want: "CertificateInfo"}
	}
	return certificateInfoOf(resp.CertificateInfo), nil
}

func certificateInfoOf(ci *gencertra.CertificateInfoType) *certInfo {
	info := &certInfo{
		PublicKeyIdentifier: ci.PublicKeyIdentifier.String(), Status: string(ci.AuthenticationCertificateStatus),
		ETKStatus: string(ci.ETKStatus), Replaceable: ci.Replaceable, Revocable: ci.Revocable,
		ReplacementPeriodStart: timePtr(ci.ReplacementPeriodStartDate), BaseServiceUsage: ci.BaseServiceUsage,
	}
	if d := ci.AuthenticationCertificateDetails; d != nil {
		info.DN, info.Serial = d.DN, d.SerialNumber
		info.NotAfter = timePtr(&d.ValidNotAfter)
	}
	if c := ci.ContactData; c != nil {
		info.Contact = Contact{EmailPrivate: c.EmailPrivate, EmailGeneral: c.EmailGeneral, PhonePrivate: c.PhonePrivate, PhoneGeneral: c.PhoneGeneral}
	}
	return info
}

func (g *genPlatform) CertificatesForCitizen(ctx context.Context) ([]certInfo, error) {
	resp, err := g.certra("").GetCertificateInfoForCitizen(ctx, &gencertra.GetCertificateInfoForCitizenRequest{})
	if err != nil {
		return nil, err
	}
	var out []certInfo
	for i := range resp.CertificateInfo {
		out = append(out, *certificateInfoOf(&resp.CertificateInfo[i]))
	}
	return out, nil
}

func (g *genPlatform) GenerateRevocationContract(ctx context.Context, requestID, pki string, signer Person, reason string) (*ContractRecord, error) {
	id, err := parsePKI(pki)
	if err != nil {
		return nil, &StateError{Err: err}
	}
	resp, err := g.certra(requestID).GenerateRevocationContract(ctx, &gencertra.GenerateRevocationContractRequest{
		PublicKeyIdentifier: id, Signer: actor(signer), RevocationReason: gencertra.RevocationReasonType(reason)})
	if err != nil {
		return nil, err
	}
	if resp.Contract == nil {
		return nil, &MismatchError{What: "GenerateRevocationContract response", Got: "no contract", Want: "a contract"}
	}
	b, err := xml.Marshal(storedRevocationContract{RevocationContractType: *resp.Contract})
	if err != nil {
		return nil, err
	}
	return &ContractRecord{XML: b, DN: strings.TrimSpace(resp.Contract.DN)}, nil
}

func (g *genPlatform) Revoke(ctx context.Context, requestID, pki string, contractXML []byte) error {
	id, err := parsePKI(pki)
	if err != nil {
		return &StateError{Err: err}
	}
	var c storedRevocationContract
	if err := xml.Unmarshal(contractXML, &c); err != nil {
		return &StateError{Err: err}
	}
	contract := c.RevocationContractType
	_, err = g.certra(requestID).Revoke(ctx, &gencertra.RevokeRequest{PublicKeyIdentifier: id, Contract: &contract})
	return err
}

func (g *genPlatform) SubmitCSRForForeigner(ctx context.Context, requestID string, person Person, contact Contact, csr []byte) (string, *time.Time, error) {
	resp, err := g.certra(requestID).SubmitCSRForForeigner(ctx, &gencertra.SubmitCSRForForeignerRequest{
		ForeignPerson: actor(person), ContactData: contactData(contact), CSR: csr})
	if err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(resp.ValidationUrl), timePtr(resp.ExpirationDate), nil
}

func (g *genPlatform) StartETKRegistration(ctx context.Context, spki []byte) ([]byte, error) {
	resp, err := g.etkra().StartETKRegistration(ctx, &genetkra.StartETKRegistrationRequest{PublicEncryptionKey: spki})
	if err != nil {
		return nil, err
	}
	if len(resp.Challenge) == 0 {
		return nil, &MismatchError{What: "StartETKRegistration response", Got: "no challenge", Want: "a challenge"}
	}
	return resp.Challenge, nil
}

func (g *genPlatform) CompleteETKRegistration(ctx context.Context, cert []byte) ([]byte, bool, error) {
	resp, err := g.etkra().CompleteETKRegistration(ctx, &genetkra.CompleteETKRegistrationRequest{ToBeRegistered: cert})
	if err != nil {
		return nil, false, err
	}
	if len(resp.ETK) == 0 {
		return nil, false, &MismatchError{What: "CompleteETKRegistration response", Got: "no ETK", Want: "an ETK"}
	}
	return resp.ETK, resp.ToBeActivated != nil && *resp.ToBeActivated, nil
}

func (g *genPlatform) ActivateETK(ctx context.Context) error {
	_, err := g.etkra().ActivateETK(ctx, &genetkra.ActivateETKRequest{})
	return err
}
