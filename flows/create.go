package flows

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/soap"
	"github.com/google/uuid"
)

// CreateRequest asks for a new eHealth certificate and ETK (cookbook 001 §4.3.4).
type CreateRequest struct {
	// Signer is the eID holder who signs the contract. Empty fields are read from the eID Authentication
	// certificate (serialNumber, givenName, surname).
	Signer Person
	// Organization is the organisation the certificate is for; nil asks for a personal certificate.
	Organization *OrganizationRequest
	// ApplicationID is the optional application id of an organisation certificate ([0-9A-Z-_]{1,30} after
	// upper-casing and removing accents).
	ApplicationID string
	// Contact is the contact data of the person responsible for the certificate. EmailPrivate and PhonePrivate
	// are required.
	Contact Contact
	// BaseServiceUsage optionally lists eHealth base services the certificate will use ("tsa", "consultrn",
	// "codage", "other").
	BaseServiceUsage []string
}

// OrganizationRequest identifies an organisation.
type OrganizationRequest struct {
	// Type is the ETK identifier type ("CBE", "NIHII-HOSPITAL", ...).
	Type string
	// ID is the identifier; it is zero-padded to its type's length.
	ID string
	// Name is the organisation name; empty means the name GetActorQualities gives for it.
	Name string
}

// Create starts a process that obtains a new authentication certificate and ETK, in store (a new, empty
// work directory), and runs it as far as it can: to the end, or to a *PendingError while the platform has not
// delivered the certificate, or to a *StepError. Steps (Steps(KindCreate)):
//
//	qualities → organization-types → application-ids → contract → accept → auth-key → generate-certificate →
//	certificate → keystore → enc-key → start-etk → encryption-certificate → complete-etk → keystore-etk → finish
//
// The two organisation steps do nothing for a personal certificate.
func Create(ctx context.Context, store Store, req CreateRequest, deps *Deps) (*Result, error) {
	if deps == nil {
		deps = &Deps{}
	}
	return start(ctx, store, deps, KindCreate, func(st *State) error {
		signer, err := signerOf(req.Signer, deps.EIDAuthentication, deps.EIDSignature)
		if err != nil {
			return err
		}
		st.Signer = signer
		if err := checkContact(req.Contact); err != nil {
			return err
		}
		st.Contact = req.Contact
		st.BaseServiceUsage = slices.Clone(req.BaseServiceUsage)
		subj, err := subjectOf(signer, req.Organization, req.ApplicationID)
		if err != nil {
			return err
		}
		st.Subject = subj
		return nil
	})
}

func checkContact(c Contact) error {
	if strings.TrimSpace(c.EmailPrivate) == "" {
		return &RequestError{Field: "Contact.EmailPrivate", Reason: "required"}
	}
	if strings.TrimSpace(c.PhonePrivate) == "" {
		return &RequestError{Field: "Contact.PhonePrivate", Reason: "required"}
	}
	return nil
}

func subjectOf(signer Person, org *OrganizationRequest, appID string) (Subject, error) {
	if org == nil {
		if appID != "" {
			return Subject{}, &RequestError{Field: "ApplicationID", Reason: "only organisation certificates have an application id"}
		}
		return Subject{Type: "SSIN", ID: signer.SSIN}, nil
	}
	t, err := ehealth.IdentifierTypeByName(org.Type)
	if err != nil {
		return Subject{}, &RequestError{Field: "Organization.Type", Reason: err.Error()}
	}
	if t.Name == "SSIN" {
		return Subject{}, &RequestError{Field: "Organization.Type", Reason: "SSIN is not an organisation type"}
	}
	id, err := ehealth.NormalizeIdentifier(t.Name, org.ID)
	if err != nil {
		return Subject{}, &RequestError{Field: "Organization.ID", Reason: err.Error()}
	}
	app := certreq.NormalizeName(strings.TrimSpace(appID))
	if err := certreq.ValidateApplicationID(app); err != nil {
		return Subject{}, &RequestError{Field: "ApplicationID", Reason: err.Error()}
	}
	return Subject{Type: t.Name, ID: id, Name: strings.TrimSpace(org.Name), ApplicationID: app}, nil
}

var (
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// signerOf completes p with the identity in the eID certificates (Belgian eID: serialNumber = SSIN, givenName,
// surname).
func signerOf(p Person, keys ...interface{ Chain() []*x509.Certificate }) (Person, error) {
	for _, k := range keys {
		if p.SSIN != "" && p.FirstName != "" && p.LastName != "" {
			break
		}
		if k == nil || len(k.Chain()) == 0 {
			continue
		}
		name := k.Chain()[0].Subject
		get := func(oid asn1.ObjectIdentifier) string {
			for _, atv := range name.Names {
				if atv.Type.Equal(oid) {
					if s, ok := atv.Value.(string); ok {
						return s
					}
				}
			}
			return ""
		}
		if p.SSIN == "" {
			p.SSIN = get(oidSerialNumber)
		}
		if p.FirstName == "" {
			p.FirstName = get(oidGivenName)
		}
		if p.LastName == "" {
			p.LastName = get(oidSurname)
		}
	}
	if p.SSIN == "" {
		return p, &RequestError{Field: "Signer.SSIN", Reason: "not given and not found in the eID certificate"}
	}
	ssin, err := ehealth.NormalizeIdentifier("SSIN", p.SSIN)
	if err != nil {
		return p, &RequestError{Field: "Signer.SSIN", Reason: err.Error()}
	}
	p.SSIN = ssin
	if p.LastName == "" {
		return p, &RequestError{Field: "Signer.LastName", Reason: "not given and not found in the eID certificate"}
	}
	return p, nil
}

func createSteps() []step {
	steps := []step{
		{"qualities", stepQualities},
		{"organization-types", stepOrganizationTypes},
		{"application-ids", stepApplicationIDs},
		{"contract", stepContract},
		{"accept", stepAccept},
		{"auth-key", stepAuthKey},
		{"generate-certificate", stepGenerateCertificate},
	}
	steps = append(steps, registrationSteps()...)
	return append(steps, step{"finish", stepFinish})
}

// registrationSteps are the steps every process that obtains a certificate shares, from polling for the
// certificate to the keystore holding the registered encryption key (cookbook §4.3.4 steps 9–13).
func registrationSteps() []step {
	return []step{
		{"certificate", stepCertificate},
		{"keystore", stepKeystore},
		{"enc-key", stepEncKey},
		{"start-etk", stepStartETK},
		{"encryption-certificate", stepEncryptionCertificate},
		{"complete-etk", stepCompleteETK},
		{"keystore-etk", stepKeystoreETK},
	}
}

// stepQualities: GetActorQualities with the eID Authentication key. A personal certificate needs the natural
// person quality; an organisation certificate is validated automatically when the signer manages it, else by
// an operator (manual validation).
func stepQualities(ctx context.Context, p *proc) error {
	if p.deps.EIDAuthentication == nil {
		return &MissingDependencyError{Field: "Deps.EIDAuthentication"}
	}
	natural, orgs, err := p.plat.ActorQualities(ctx, p.st.Signer.SSIN)
	if err != nil {
		return err
	}
	q := &QualitiesRecord{NaturalPerson: natural, Organizations: orgs}
	s := &p.st.Subject
	if s.IsPerson() {
		if !natural {
			return &NotAuthorizedError{SSIN: p.st.Signer.SSIN}
		}
		q.Authorized = true
	} else {
		for _, o := range orgs {
			id, err := ehealth.NormalizeIdentifier(s.Type, o.ID)
			if err != nil {
				id = o.ID
			}
			if strings.EqualFold(o.Type, s.Type) && id == s.ID {
				q.Authorized = true
				if s.Name == "" {
					s.Name = o.Name
				}
			}
		}
		p.log.Info("qualities", slog.Bool("authorized", q.Authorized), slog.Int("organizations", len(orgs)))
	}
	p.st.Qualities = q
	return nil
}

// stepOrganizationTypes: GetGenericOrganizationTypes, and the identifier checked with the type's regex and
// check digits before anything is requested.
func stepOrganizationTypes(ctx context.Context, p *proc) error {
	s := p.st.Subject
	if s.IsPerson() {
		return nil
	}
	types, err := p.plat.OrganizationTypes(ctx)
	if err != nil {
		return err
	}
	for _, t := range types {
		if !sameType(t.IdentifierType, s.Type) {
			continue
		}
		skipped, err := validateIdentifier(t, s.ID)
		for _, sk := range skipped {
			p.log.Warn("identifier rule not applied locally", slog.String("rule", sk))
		}
		if err != nil {
			return err
		}
		if len(t.BaseServices) > 0 {
			for _, u := range p.st.BaseServiceUsage {
				if !slices.ContainsFunc(t.BaseServices, func(b string) bool { return strings.EqualFold(b, u) }) {
					return &RequestError{Field: "BaseServiceUsage", Reason: "base service " + u + " is not available to " + s.Type}
				}
			}
		}
		return requireName(s)
	}
	if p.st.Qualities != nil && p.st.Qualities.Authorized {
		return requireName(s)
	}
	return &UnknownOrganizationTypeError{Type: s.Type}
}

func requireName(s Subject) error {
	if strings.TrimSpace(s.Name) == "" {
		return &RequestError{Field: "Organization.Name", Reason: "required (the signer has no quality for this organisation that names it)"}
	}
	return nil
}

// sameType compares an IdentifierType of GetGenericOrganizationTypes (an anyURI, perhaps a URN ending in the
// type) with an ETK type string.
func sameType(uri, typ string) bool {
	if strings.EqualFold(uri, typ) {
		return true
	}
	if i := strings.LastIndexAny(uri, ":/#"); i >= 0 {
		return strings.EqualFold(uri[i+1:], typ)
	}
	return false
}

// stepApplicationIDs: GetExistingApplicationIds; an application id already used (or, without one, an existing
// certificate without application id) is refused.
func stepApplicationIDs(ctx context.Context, p *proc) error {
	s := p.st.Subject
	if s.IsPerson() {
		return nil
	}
	ids, without, err := p.plat.ExistingApplicationIDs(ctx, s.Type, s.ID)
	if err != nil {
		return err
	}
	org := s.Type + "=" + s.ID
	if s.ApplicationID == "" {
		if without && p.st.Kind == KindCreate {
			return &ApplicationIDInUseError{Organization: org}
		}
		return nil
	}
	for _, id := range ids {
		if strings.EqualFold(strings.TrimSpace(id), s.ApplicationID) && p.st.Kind == KindCreate {
			return &ApplicationIDInUseError{Organization: org, ApplicationID: s.ApplicationID}
		}
	}
	return nil
}

// stepContract: GenerateContract. Renewals check that the contract DN is the DN of the certificate replaced.
func stepContract(ctx context.Context, p *proc) error {
	if p.st.Contract != nil {
		return nil
	}
	c, err := p.plat.GenerateContract(ctx, p.st.Signer, p.st.Subject, p.st.Contact)
	if err != nil {
		return err
	}
	if _, err := certreq.ParseDN(c.DN); err != nil {
		return &MismatchError{What: "contract DN", Got: c.DN, Want: "an RFC 2253 name"}
	}
	if r := p.st.Renewal; r != nil && !sameDN(c.DN, r.DN) {
		return &MismatchError{What: "renewal contract DN", Got: c.DN, Want: r.DN}
	}
	p.st.Contract = c
	p.log.Debug("contract", slog.String("dn", c.DN))
	return nil
}

// sameDN compares two RFC 2253 names RDN by RDN, string types ignored.
func sameDN(a, b string) bool {
	x, err1 := certreq.ParseDN(a)
	y, err2 := certreq.ParseDN(b)
	return err1 == nil && err2 == nil && certreq.EqualDN(x, y)
}

// stepAccept shows the contract and records the user's acceptance. Nothing is signed before.
func stepAccept(ctx context.Context, p *proc) error {
	if p.deps.Accept == nil {
		return &MissingDependencyError{Field: "Deps.Accept"}
	}
	rec := p.st.Contract
	c, err := p.plat.ContractText(rec, p.st.Kind == KindRevoke)
	if err != nil {
		return err
	}
	ok, err := p.deps.Accept(ctx, c)
	if err != nil {
		return err
	}
	if !ok {
		return &ContractNotAcceptedError{DN: rec.DN}
	}
	p.stage(FileContract, []byte(c.HTML()))
	rec.AcceptedAt = p.nowPtr()
	return nil
}

// stepAuthKey generates the authentication key and its CSR (subject = the contract DN exactly) and stages the
// key, encrypted: it is on disk before anything that carries its public key is sent (checkpoint.go).
func stepAuthKey(ctx context.Context, p *proc) error {
	if p.st.Auth != nil {
		return nil
	}
	dn := ""
	switch {
	case p.st.Kind == KindForeigner:
		d, err := certreq.ForeignerSubject(p.st.Subject.ID, p.st.Signer.LastName, p.st.Signer.FirstName).DN()
		if err != nil {
			return &RequestError{Field: "foreigner", Reason: err.Error()}
		}
		dn = d
	case p.st.Contract != nil:
		dn = p.st.Contract.DN
	default:
		return &StateError{Err: errors.New("no contract")}
	}
	key, err := p.deps.generateKey()
	if err != nil {
		return err
	}
	csr, err := certreq.NewCSR(p.deps.rand(), key, dn)
	if err != nil {
		return err
	}
	pki, err := certreq.PublicKeyIdentifier(key.Public())
	if err != nil {
		return err
	}
	if err := p.writeKey(FileAuthKey, key); err != nil {
		return err
	}
	p.authKey = key
	p.st.Auth = &AuthRecord{PublicKeyIdentifier: hexPKI(pki), CSR: csr, RequestID: "_" + uuid.NewString()}
	p.log.Info("authentication key", slog.String("publicKeyIdentifier", p.st.Auth.PublicKeyIdentifier))
	return nil
}

// stepGenerateCertificate sends the CSR with the accepted contract, signed with the eID Signature key. A
// re-send after a crash is recognised: CSR_PUB_KEY_NOT_UNIQUE means the platform already has this key (it
// never left this process otherwise), so the process goes on to poll for it.
func stepGenerateCertificate(ctx context.Context, p *proc) error {
	a := p.st.Auth
	if a.AcceptedAt != nil {
		return nil
	}
	if p.deps.EIDSignature == nil {
		return &MissingDependencyError{Field: "Deps.EIDSignature"}
	}
	resend := a.SentAt != nil
	// The intent (SentAt, with the key and CSR of step auth-key) is saved by the checkpoint before the request.
	a.SentAt = p.nowPtr()
	pki, auto, err := p.plat.GenerateCertificate(ctx, a.RequestID, a.CSR, p.st.Contract.XML, p.st.Contact, p.st.BaseServiceUsage)
	var se *soap.StatusError
	switch {
	case err == nil:
		if !samePKI(pki, a.PublicKeyIdentifier) {
			return &MismatchError{What: "PublicKeyIdentifier", Got: pki, Want: a.PublicKeyIdentifier}
		}
		a.AutomaticallyValidated = &auto
	case errors.As(err, &se) && se.Has(ehealth.CodeCSRPubKeyNotUnique):
		p.log.Info("CSR already submitted", slog.String("publicKeyIdentifier", a.PublicKeyIdentifier))
	case resend && errors.As(err, &se) && se.Has(ehealth.CodeCSRApprovedCSRInProcess):
		p.log.Info("CSR already in process", slog.String("publicKeyIdentifier", a.PublicKeyIdentifier))
	default:
		return err
	}
	a.AcceptedAt = p.nowPtr()
	return nil
}
