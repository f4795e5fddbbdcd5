package ehealthtest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/ehealth"
	"github.com/ehcert/ehcert/gen/certra"
	"github.com/ehcert/ehcert/xsd"
)

// CertRA v2. Each handler runs with s.mu held and answers with the generated response type.

// orgType is one of the generic organisation types of GetGenericOrganizationTypes.
type orgType struct {
	Type     string
	Names    [3]string // en, fr, nl
	RegEx    string    // Java syntax (also valid RE2)
	Mod97    bool      // "modulo 97": the last two digits are 97 - (the others mod 97)
	Services []string
}

var orgTypes = []orgType{
	{Type: "CBE", Names: [3]string{"Enterprise (CBE)", "Entreprise (BCE)", "Onderneming (KBO)"},
		RegEx: "^[01][0-9]{9}$", Mod97: true, Services: []string{"tsa", "consultrn", "codage", "other"}},
	{Type: "NIHII-HOSPITAL", Names: [3]string{"Hospital", "Hôpital", "Ziekenhuis"},
		RegEx: "^710[0-9]{5}|719[0-9]{5}|720[0-9]{5}$", Mod97: true, Services: []string{"tsa", "consultrn", "codage"}},
	{Type: "NIHII-PHARMACY", Names: [3]string{"Pharmacy", "Pharmacie", "Apotheek"},
		RegEx: "^[0-9]{8}$", Mod97: true, Services: []string{"tsa", "other"}},
	{Type: "NIHII-LABO", Names: [3]string{"Laboratory", "Laboratoire", "Laboratorium"},
		RegEx: "^8[0-9]{7}$", Mod97: true},
	{Type: "NIHII-RETIREMENT", Names: [3]string{"Retirement home", "Maison de repos", "Rusthuis"},
		RegEx: "^[0-9]{8}$", Mod97: true},
	{Type: "EHP", Names: [3]string{"eHealth partner", "Partenaire eHealth", "eHealth-partner"},
		RegEx: "^[0-9]{10}$"},
}

// checkOrgIdentifier applies the validation rules of the generic organisation types to an identifier (types
// not in the list are only checked for digits and length by ehealth.NormalizeIdentifier).
func checkOrgIdentifier(typ, value string) error {
	for _, t := range orgTypes {
		if t.Type != typ {
			continue
		}
		if ok, _ := regexp.MatchString(t.RegEx, value); !ok {
			return errors.New("identifier does not match " + t.RegEx)
		}
		if t.Mod97 && !mod97(value) {
			return errors.New("wrong check digits (modulo 97)")
		}
	}
	return nil
}

func mod97(v string) bool {
	if len(v) < 3 {
		return false
	}
	n, ok := new(big.Int).SetString(v[:len(v)-2], 10)
	c, ok2 := new(big.Int).SetString(v[len(v)-2:], 10)
	if !ok || !ok2 {
		return false
	}
	r := new(big.Int).Mod(n, big.NewInt(97))
	return 97-r.Int64() == c.Int64()
}

// --- conversions between the generated types and the state ---

func actorOf(a *certra.ActorType) actor {
	if a == nil {
		return actor{}
	}
	out := actor{Name: strings.TrimSpace(a.Name)}
	for _, id := range a.Id {
		out.IDs = append(out.IDs, idValue{Type: strings.TrimSpace(id.Type), Value: strings.TrimSpace(id.Value)})
	}
	for _, f := range a.FirstName {
		out.FirstNames = append(out.FirstNames, strings.TrimSpace(f))
	}
	return out
}

func (a actor) gen() *certra.ActorType {
	out := &certra.ActorType{Name: a.Name, FirstName: append([]string(nil), a.FirstNames...)}
	for _, id := range a.IDs {
		out.Id = append(out.Id, certra.IdType{Type: id.Type, Value: id.Value})
	}
	return out
}

func textOf(t *certra.TextType) []localized {
	if t == nil {
		return nil
	}
	var out []localized
	for _, v := range t.Value {
		out = append(out, localized{Lang: v.Lang, Value: v.Value})
	}
	return out
}

func genText(l []localized) *certra.TextType {
	t := &certra.TextType{}
	for _, v := range l {
		t.Value = append(t.Value, certra.LocalizedString{Lang: v.Lang, Value: v.Value})
	}
	return t
}

func contactOf(c *certra.ContactDataType) contactData {
	if c == nil {
		return contactData{}
	}
	return contactData{EmailPrivate: strings.TrimSpace(c.EmailPrivate), EmailGeneral: strings.TrimSpace(c.EmailGeneral),
		PhonePrivate: strings.TrimSpace(c.PhonePrivate), PhoneGeneral: strings.TrimSpace(c.PhoneGeneral)}
}

func (c contactData) gen() *certra.ContactDataType {
	return &certra.ContactDataType{EmailPrivate: c.EmailPrivate, EmailGeneral: c.EmailGeneral,
		PhonePrivate: c.PhonePrivate, PhoneGeneral: c.PhoneGeneral}
}

func (c contactData) missing() bool { return c.EmailPrivate == "" || c.PhonePrivate == "" }

func dt(t time.Time) xsd.DateTime { return xsd.NewDateTime(t.UTC()) }

func boolp(b bool) *bool { return &b }

// --- GetActorQualities ---

func (s *Server) getActorQualities(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.GetActorQualitiesRequest)
	if r.SSIN == nil || strings.TrimSpace(r.SSIN.Value) == "" {
		return nil, reject("SSIN is missing")
	}
	ssin := strings.TrimSpace(r.SSIN.Value)
	if !strings.EqualFold(strings.TrimSpace(r.SSIN.Type), "SSIN") {
		return nil, reject("SSIN must have Type=\"SSIN\"")
	}
	if ssin != ssinOf(req.signer) {
		return nil, reject("The NISS number of the eID card used for signer does not belong to the NISS referenced in the request.")
	}
	out := &certra.GetActorQualitiesResponse{NaturalPersonAuthorization: boolp(false)}
	if c := s.state.citizen(ssin); c != nil {
		out.NaturalPersonAuthorization = boolp(true)
		for _, o := range c.Organizations {
			out.OrganizationAuthorization = append(out.OrganizationAuthorization, certra.OrganizationType{
				Name:       genText([]localized{{Lang: "fr", Value: o.Name}, {Lang: "nl", Value: o.Name}}),
				Identifier: &certra.IdType{Type: o.Type, Value: o.ID},
			})
		}
	}
	return out, nil
}

// --- GetGenericOrganizationTypes ---

func (s *Server) getGenericOrganizationTypes(req *soapRequest, in any) (any, *opError) {
	out := &certra.GetGenericOrganizationTypesResponse{}
	for _, t := range orgTypes {
		ot := certra.OrganizationIdentifierType{
			Name:                 genText([]localized{{Lang: "en", Value: t.Names[0]}, {Lang: "fr", Value: t.Names[1]}, {Lang: "nl", Value: t.Names[2]}}),
			IdentifierType:       t.Type,
			ValidationRegEx:      t.RegEx,
			AvailableBaseService: append([]string(nil), t.Services...),
		}
		if t.Mod97 {
			ot.CheckDigitAlgorithm = []string{"modulo 97"}
		}
		out.OrganizationType = append(out.OrganizationType, ot)
	}
	return out, nil
}

// --- GetExistingApplicationIds ---

func (s *Server) getExistingApplicationIds(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.GetExistingApplicationIdsRequest)
	if r.OrganizationIdentifier == nil {
		return nil, reject("OrganizationIdentifier is missing")
	}
	t, err := ehealth.IdentifierTypeByName(r.OrganizationIdentifier.Type)
	if err != nil {
		return nil, reject("unknown identifier type %q", truncate(r.OrganizationIdentifier.Type, 64))
	}
	id, err := ehealth.NormalizeIdentifier(t.Name, r.OrganizationIdentifier.Value)
	if err != nil {
		return nil, reject("invalid %s identifier", t.Name)
	}
	now := req.now
	out := &certra.GetExistingApplicationIdsResponse{}
	seen := map[string]bool{}
	for _, c := range s.state.Certificates {
		if c.Subject.Type != t.Name || c.Subject.Value != id {
			continue
		}
		if st := c.authStatus(now); st != statusInProgress && st != statusValidActive {
			continue
		}
		if seen[c.Subject.ApplicationID] {
			continue
		}
		seen[c.Subject.ApplicationID] = true
		if c.Subject.ApplicationID == "" {
			out.ApplicationId = append(out.ApplicationId, xsd.NillableString{Nil: true})
		} else {
			out.ApplicationId = append(out.ApplicationId, xsd.NillableString{Value: c.Subject.ApplicationID})
		}
	}
	return out, nil
}

// --- GenerateContract ---

// subjectOf works out the certificate subject a CertificateIdentifier asks for.
func subjectOf(ci *certra.CertificateIdentifierType) (certreq.Subject, string, *opError) {
	if ci == nil || ci.Actor == nil || len(ci.Actor.Id) == 0 {
		return certreq.Subject{}, "", reject("CertificateIdentifier/Actor/Id is missing")
	}
	a := actorOf(ci.Actor)
	id := a.IDs[0]
	t, err := ehealth.IdentifierTypeByName(id.Type)
	if err != nil {
		return certreq.Subject{}, "", fail(ehealth.CodeCSRInvalidDN, "unknown identifier type "+truncate(id.Type, 64))
	}
	value, err := ehealth.NormalizeIdentifier(t.Name, id.Value)
	if err != nil {
		return certreq.Subject{}, "", fail(ehealth.CodeCSRInvalidDN, err.Error())
	}
	appID := strings.TrimSpace(ci.ApplicationId)
	if t.Name == "SSIN" {
		if appID != "" {
			return certreq.Subject{}, "", fail(ehealth.CodeCSRInvalidDN, "an application id is only allowed for organisations")
		}
		if !validSSIN(value) {
			return certreq.Subject{}, "", fail(ehealth.CodeCSRInvalidDN, "invalid SSIN")
		}
		first := strings.Join(a.FirstNames, " ")
		if first == "" || a.Name == "" {
			return certreq.Subject{}, "", reject("the natural person's FirstName and Name are required")
		}
		return certreq.NaturalPersonSubject(value, first, a.Name), entityNaturalPerson, nil
	}
	if a.Name == "" {
		return certreq.Subject{}, "", reject("the organisation's Name is required")
	}
	if err := checkOrgIdentifier(t.Name, value); err != nil {
		return certreq.Subject{}, "", fail(ehealth.CodeCSRInvalidDN, t.Name+" "+err.Error())
	}
	if err := certreq.ValidateApplicationID(appID); err != nil {
		return certreq.Subject{}, "", fail(ehealth.CodeCSRInvalidDN, err.Error())
	}
	return certreq.OrganizationSubject(t.Name, value, a.Name, certreq.NormalizeName(appID)), entityOrganization, nil
}

func (s *Server) generateContract(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.GenerateContractRequest)
	contact := contactOf(r.ContactData)
	if contact.missing() {
		return nil, reject("ContactData/EmailPrivate and PhonePrivate are required")
	}
	signer := actorOf(r.Signer)
	if !validSSIN(signer.ssin()) || signer.Name == "" {
		return nil, reject("Signer must carry a valid SSIN and a Name")
	}
	subj, entity, oerr := subjectOf(r.CertificateIdentifier)
	if oerr != nil {
		return nil, oerr
	}
	dn, err := subj.DN()
	if err != nil {
		return nil, fail(ehealth.CodeCSRInvalidDN, err.Error())
	}
	rec := &contractRecord{
		DN: dn, Signer: signer, Text: contractText(dn, signer.displayName(), identity(subj.Identity), contact),
		Subject: identity(subj.Identity), Name: certreq.NormalizeName(subj.Name), Actor: actorOf(r.CertificateIdentifier.Actor),
		EntityType: entity, Contact: contact, Created: req.now,
	}
	rec.Subject.ApplicationID = subj.ApplicationID
	s.state.Contracts = append(s.state.Contracts, rec)
	return &certra.GenerateContractResponse{Contract: &certra.ContractType{DN: dn, Signer: signer.gen(), Text: genText(rec.Text)}}, nil
}

// findContract returns the contract the platform generated that c is an unchanged copy of. The DN may come
// back escaped differently (the connector rewrites TYPE= to TYPE\=), so DNs are compared parsed.
func (s *Server) findContract(c *certra.ContractType) *contractRecord {
	if c == nil {
		return nil
	}
	got, err := certreq.ParseDN(c.DN)
	if err != nil {
		return nil
	}
	signer, text := actorOf(c.Signer), textOf(c.Text)
	for i := len(s.state.Contracts) - 1; i >= 0; i-- {
		rec := s.state.Contracts[i]
		want, err := certreq.ParseDN(rec.DN)
		if err != nil || !certreq.EqualDN(got, want) {
			continue
		}
		if sameActor(signer, rec.Signer) && sameText(text, rec.Text) {
			return rec
		}
	}
	return nil
}

// --- GenerateCertificate ---

// replacementCheck applies the rules on existing certificates of the same holder (same identifier and
// application id): an approved request not yet certified blocks a new one; a valid certificate blocks it until
// its replacement period, and is then the one replaced.
func (s *Server) replacementCheck(id identity, now time.Time) (replaces string, oerr *opError) {
	var latest *certRecord
	for _, c := range s.state.Certificates {
		if c.Subject.Type != id.Type || c.Subject.Value != id.Value || !strings.EqualFold(c.Subject.ApplicationID, id.ApplicationID) {
			continue
		}
		switch c.authStatus(now) {
		case statusInProgress:
			// Only an approved request blocks (the code's name says so); one waiting for manual validation or
			// for a foreigner's confirmation does not.
			if c.Approved {
				return "", fail(ehealth.CodeCSRApprovedCSRInProcess, "")
			}
		case statusValidActive:
			if latest == nil || c.certificate().NotAfter.After(latest.certificate().NotAfter) {
				latest = c
			}
		}
	}
	if latest == nil {
		return "", nil
	}
	if now.Before(latest.certificate().NotAfter.Add(-s.opts.ReplacementPeriod)) {
		return "", fail(ehealth.CodeCSRValidAuthCertAlreadyExists, "")
	}
	return latest.PKI, nil
}

func csrFailure(err error) *opError {
	var ce *certreq.CSRError
	if errors.As(err, &ce) {
		detail := ""
		if ce.Err != nil {
			detail = ce.Err.Error()
		}
		return fail(ce.Code, detail)
	}
	return fail(ehealth.CodeCSRNotValid, err.Error())
}

func (s *Server) generateCertificate(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.GenerateCertificateRequest)
	csr := r.EHealthCSR
	if csr == nil {
		return nil, fail(ehealth.CodeCSRInputNotUnmarshallable, "EHealthCSR is missing")
	}
	contact := contactOf(csr.ContactData)
	if contact.missing() {
		return nil, reject("ContactData/EmailPrivate and PhonePrivate are required")
	}
	if len(csr.CSR) == 0 {
		return nil, fail(ehealth.CodeCSRInputNotParseable, "CSR is missing")
	}
	contract := s.findContract(csr.Contract)
	if contract == nil {
		return nil, reject("The contract is not the one generated by the platform (GenerateContract), or it was changed")
	}
	signerSSIN := ssinOf(req.signer)
	if contract.Signer.ssin() != signerSSIN {
		return nil, reject("The request must be signed by the signer of the contract")
	}
	pk, oerr := s.checkNewCSRLocked(csr.CSR, contract.DN)
	if oerr != nil {
		return nil, oerr
	}
	pkiHex := pkiString(pk)
	auto := true
	if contract.EntityType == entityNaturalPerson {
		if contract.Subject.Value != signerSSIN {
			return nil, fail(ehealth.CodeCSRInvalidDN, "a personal certificate can only be requested by that person")
		}
	} else {
		auto = s.managesLocked(signerSSIN, contract.Subject)
		if auto && s.opts.ManualValidation != nil && s.opts.ManualValidation(contract.Subject.Type, contract.Subject.Value) {
			auto = false
		}
	}
	replaces, oerr := s.replacementCheck(contract.Subject, req.now)
	if oerr != nil {
		return nil, oerr
	}
	rec := &certRecord{
		PKI: pkiHex, DN: contract.DN, Subject: contract.Subject, Name: contract.Name, EntityType: contract.EntityType,
		Requester: signerSSIN, Actor: contract.Actor, Contact: contact, Usage: append([]string(nil), csr.BaseServiceUsage...),
		CSR: append([]byte(nil), csr.CSR...), Requested: req.now, AutoValidated: auto, Approved: auto, Replaces: replaces,
		ETK: etkRecord{Status: etkNotRequested},
	}
	if auto {
		rec.ApprovedAt = req.now
	}
	s.state.Certificates = append(s.state.Certificates, rec)
	out := &certra.GenerateCertificateResponse{PublicKeyIdentifier: pk, AutomaticallyValidated: boolp(auto)}
	if replaces != "" {
		out.ReplacesCertificate = mustHex(replaces)
	}
	return out, nil
}

// checkNewCSRLocked checks a CSR against the DN it must carry and that its key was never submitted, and returns
// the key's PublicKeyIdentifier.
func (s *Server) checkNewCSRLocked(der []byte, dn string) ([]byte, *opError) {
	parsed, err := certreq.CheckCSR(der, dn)
	if err != nil {
		return nil, csrFailure(err)
	}
	pk, err := certreq.PublicKeyIdentifier(parsed.PublicKey)
	if err != nil {
		return nil, fail(ehealth.CodeCSRPublicKeyInvalid, err.Error())
	}
	if s.keyUsedLocked(pkiString(pk)) {
		return nil, fail(ehealth.CodeCSRPubKeyNotUnique, "")
	}
	return pk, nil
}

// keyUsedLocked reports whether a public key (by its identifier) was already submitted, as an authentication
// key or as an encryption key.
func (s *Server) keyUsedLocked(pkiHex string) bool {
	for _, c := range s.state.Certificates {
		if c.PKI == pkiHex {
			return true
		}
		if len(c.ETK.PendingKey) > 0 {
			if id, err := certreq.PublicKeyIdentifierFromSPKI(c.ETK.PendingKey); err == nil && pkiString(id) == pkiHex {
				return true
			}
		}
	}
	return false
}

// managesLocked reports whether the citizen manages the organisation (their GetActorQualities answer).
func (s *Server) managesLocked(ssin string, id identity) bool {
	c := s.state.citizen(ssin)
	if c == nil {
		return false
	}
	for _, o := range c.Organizations {
		if o.Type == id.Type && o.ID == id.Value {
			return true
		}
	}
	return false
}

// mayManageLocked reports whether the citizen may see and revoke the certificate: their own, one of an
// organisation they manage, or one they requested.
func (s *Server) mayManageLocked(ssin string, c *certRecord) bool {
	if c.EntityType == entityNaturalPerson && c.Subject.Type == "SSIN" && c.Subject.Value == ssin {
		return true
	}
	if c.Requester != "" && c.Requester == ssin {
		return true
	}
	return c.EntityType == entityOrganization && s.managesLocked(ssin, c.Subject)
}

// --- GetCertificate ---

func (s *Server) getCertificate(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.GetCertificateRequest)
	if len(r.PublicKeyIdentifier) != 20 {
		return nil, reject("PublicKeyIdentifier must be 20 bytes")
	}
	c := s.state.cert(pkiString(r.PublicKeyIdentifier))
	if c == nil {
		return nil, failMsg(ehealth.CodeAuthCertNotFound, "No certificate request has this PublicKeyIdentifier.")
	}
	if c.Refused {
		return nil, reject("The certificate request was refused")
	}
	if c.Cert == nil {
		if !c.Approved {
			return nil, fail(ehealth.CodeCertNotYetDelivered, "")
		}
		c.Polls++
		if c.Polls < s.opts.IssueAfterPolls || req.now.Before(c.ApprovedAt.Add(s.opts.IssueDelay)) {
			return nil, fail(ehealth.CodeCertNotYetDelivered, "")
		}
		if err := s.issueLocked(c, req.now); err != nil {
			s.logf("issue %s: %v", c.PKI, err)
			return nil, fail(ehealth.CodeCSRDeliverySigningFailed, "")
		}
	}
	cert := c.certificate()
	if req.now.Before(cert.NotBefore) {
		return nil, fail(ehealth.CodeAuthCertNotYetValid, "", [2]string{"validFrom", cert.NotBefore.UTC().Format(time.RFC3339)})
	}
	return &certra.GetCertificateResponse{X509Certificate: []xsd.Base64Binary{c.Cert, s.ehealthCA.Cert.Raw}}, nil
}

var (
	oidExtBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
)

// issueLocked certifies an approved request: subject copied from the CSR, 3-year validity, the key usages of
// real eHealth certificates (digitalSignature, nonRepudiation, keyEncipherment; clientAuth, emailProtection).
func (s *Server) issueLocked(c *certRecord, now time.Time) error {
	csr, err := x509.ParseCertificateRequest(c.CSR)
	if err != nil {
		return err
	}
	notBefore := now.UTC().Truncate(time.Second)
	// A critical BasicConstraints CA:FALSE (an empty SEQUENCE), as on real eHealth certificates.
	bc := []byte{0x30, 0x00}
	cert, err := s.ehealthCA.Issue(s.opts.Rand, &x509.Certificate{
		RawSubject:      csr.RawSubject,
		NotBefore:       notBefore,
		NotAfter:        notBefore.Add(s.opts.CertificateValidity),
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection},
		ExtraExtensions: []pkix.Extension{{Id: oidExtBasicConstraints, Critical: true, Value: bc}},
		SubjectKeyId:    mustHex(c.PKI),
	}, csr.PublicKey)
	if err != nil {
		return err
	}
	c.Cert, c.cert, c.Issued = cert.Raw, cert, now
	return nil
}

// --- GenerateRevocationContract and Revoke ---

func (s *Server) generateRevocationContract(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.GenerateRevocationContractRequest)
	if len(r.PublicKeyIdentifier) != 20 {
		return nil, reject("PublicKeyIdentifier must be 20 bytes")
	}
	signer := actorOf(r.Signer)
	if !validSSIN(signer.ssin()) || signer.Name == "" {
		return nil, reject("Signer must carry a valid SSIN and a Name")
	}
	switch r.RevocationReason {
	case certra.RevocationReasonTypeKeyCompromise, certra.RevocationReasonTypeAffiliationChanged,
		certra.RevocationReasonTypeSuperseded, certra.RevocationReasonTypeCessationOfOperation:
	default:
		return nil, reject("RevocationReason %q is not one of keyCompromise, affiliationChanged, superseded, cessationOfOperation", truncate(string(r.RevocationReason), 40))
	}
	c := s.state.cert(pkiString(r.PublicKeyIdentifier))
	if c == nil || c.Cert == nil {
		return nil, failMsg(ehealth.CodeAuthCertNotFound, "No certificate has this PublicKeyIdentifier.")
	}
	rec := &revocationContractRecord{PKI: c.PKI, DN: c.DN, Signer: signer, Reason: string(r.RevocationReason),
		Text: revocationText(c.DN, signer.displayName(), string(r.RevocationReason)), Created: req.now}
	s.state.RevocationContracts = append(s.state.RevocationContracts, rec)
	return &certra.GenerateRevocationContractResponse{Contract: &certra.RevocationContractType{
		DN: rec.DN, Signer: signer.gen(), RevocationReason: r.RevocationReason, Text: genText(rec.Text)}}, nil
}

func (s *Server) revoke(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.RevokeRequest)
	if len(r.PublicKeyIdentifier) != 20 || r.Contract == nil {
		return nil, reject("PublicKeyIdentifier and Contract are required")
	}
	pkiHex := pkiString(r.PublicKeyIdentifier)
	c := s.state.cert(pkiHex)
	if c == nil || c.Cert == nil {
		return nil, failMsg(ehealth.CodeAuthCertNotFound, "No certificate has this PublicKeyIdentifier.")
	}
	var contract *revocationContractRecord
	if got, err := certreq.ParseDN(r.Contract.DN); err == nil {
		signer, text := actorOf(r.Contract.Signer), textOf(r.Contract.Text)
		for _, rc := range s.state.RevocationContracts {
			want, err := certreq.ParseDN(rc.DN)
			if err != nil || rc.PKI != pkiHex || !certreq.EqualDN(got, want) || rc.Reason != string(r.Contract.RevocationReason) {
				continue
			}
			if sameActor(signer, rc.Signer) && sameText(text, rc.Text) {
				contract = rc
			}
		}
	}
	if contract == nil {
		return nil, reject("The contract is not the revocation contract generated for this certificate, or it was changed")
	}
	signerSSIN := ssinOf(req.signer)
	if contract.Signer.ssin() != signerSSIN {
		return nil, reject("The request must be signed by the signer of the contract")
	}
	if !s.mayManageLocked(signerSSIN, c) {
		return nil, reject("The signer is not allowed to revoke this certificate")
	}
	if c.Revoked {
		return nil, reject("The certificate is already revoked")
	}
	c.Revoked, c.RevokedAt, c.RevokeReason = true, req.now, contract.Reason
	return &certra.RevokeResponse{}, nil
}

// --- SubmitCSRForForeigner ---

func (s *Server) submitCSRForForeigner(req *soapRequest, in any) (any, *opError) {
	r := in.(*certra.SubmitCSRForForeignerRequest)
	person := actorOf(r.ForeignPerson)
	if len(person.IDs) == 0 || !strings.EqualFold(person.IDs[0].Type, "SSIN") {
		return nil, reject("ForeignPerson must carry an Id of Type SSIN (the SSIN-bis number)")
	}
	ssinBis := person.IDs[0].Value
	if !validSSIN(ssinBis) {
		return nil, fail(ehealth.CodeCSRInvalidDN, "invalid SSIN-bis number")
	}
	if len(person.FirstNames) == 0 || person.Name == "" {
		return nil, reject("ForeignPerson FirstName and Name are required")
	}
	contact := contactOf(r.ContactData)
	if contact.missing() {
		return nil, reject("ContactData/EmailPrivate and PhonePrivate are required")
	}
	subj := certreq.ForeignerSubject(ssinBis, person.Name, strings.Join(person.FirstNames, " "))
	dn, err := subj.DN()
	if err != nil {
		return nil, fail(ehealth.CodeCSRInvalidDN, err.Error())
	}
	if len(r.CSR) == 0 {
		return nil, fail(ehealth.CodeCSRInputNotParseable, "CSR is missing")
	}
	pk, oerr := s.checkNewCSRLocked(r.CSR, dn)
	if oerr != nil {
		return nil, oerr
	}
	pkiHex := pkiString(pk)
	id := identity{Type: "SSIN", Value: ssinBis}
	replaces, oerr := s.replacementCheck(id, req.now)
	if oerr != nil {
		return nil, oerr
	}
	token, err := newForeignToken()
	if err != nil {
		return nil, &opError{status: ehealth.StatusResponder, message: "cannot create the validation URL"}
	}
	expires := req.now.Add(s.opts.ForeignerURLValidity).UTC().Truncate(time.Second)
	s.state.Certificates = append(s.state.Certificates, &certRecord{
		PKI: pkiHex, DN: dn, Subject: id, Name: certreq.NormalizeName(subj.Name), EntityType: entityNaturalPerson,
		Actor: person, Contact: contact, CSR: append([]byte(nil), r.CSR...), Requested: req.now, Replaces: replaces,
		Foreigner: true, ForeignToken: token, ForeignExpires: expires, ETK: etkRecord{Status: etkNotRequested},
	})
	exp := dt(expires)
	return &certra.SubmitCSRForForeignerResponse{ValidationUrl: validationURL(req.base, token), ExpirationDate: &exp}, nil
}

// --- GetCertificateInfoForCitizen / ForAuthenticationCertificate ---

func (s *Server) certificateInfo(c *certRecord, now time.Time) certra.CertificateInfoType {
	status := c.authStatus(now)
	ci := &certra.CertificateIdentifierType{Actor: c.Actor.gen(), ApplicationId: c.Subject.ApplicationID}
	if len(c.Actor.IDs) == 0 {
		ci.Actor = actor{IDs: []idValue{{Type: c.Subject.Type, Value: c.Subject.Value}}, Name: c.Name}.gen()
	}
	info := certra.CertificateInfoType{
		RequestedDate:                   dt(c.Requested),
		PublicKeyIdentifier:             mustHex(c.PKI),
		CertificateEntity:               &certra.CertificateEntityType{EntityType: certra.EntityType(c.EntityType), CertificateIdentifier: ci},
		AuthenticationCertificateStatus: certra.CertificateStatusType(status),
		ETKStatus:                       certra.ETKStatusType(c.etkStatus(now)),
		AutomaticallyValidated:          c.AutoValidated,
		Revocable:                       status == statusValidActive,
		ContactData:                     c.Contact.gen(),
		BaseServiceUsage:                append([]string(nil), c.Usage...),
	}
	if cert := c.certificate(); cert != nil {
		dn, err := certreq.FormatRawDN(cert.RawSubject)
		if err != nil {
			dn = cert.Subject.String()
		}
		issuer, err := certreq.FormatRawDN(cert.RawIssuer)
		if err != nil {
			issuer = cert.Issuer.String()
		}
		info.AuthenticationCertificateDetails = &certra.CertificateDetailsType{
			SerialNumber: cert.SerialNumber.String(), DN: dn, IssuerDN: issuer,
			ValidNotBefore: dt(cert.NotBefore), ValidNotAfter: dt(cert.NotAfter),
		}
		start := cert.NotAfter.Add(-s.opts.ReplacementPeriod)
		sd := dt(start)
		info.ReplacementPeriodStartDate = &sd
		info.Replaceable = status == statusValidActive && !now.Before(start)
	}
	return info
}

func (s *Server) getCertificateInfoForCitizen(req *soapRequest, in any) (any, *opError) {
	ssin := ssinOf(req.signer)
	out := &certra.GetCertificateInfoForCitizenResponse{}
	for _, c := range s.state.Certificates {
		if c.Foreigner || !s.mayManageLocked(ssin, c) {
			continue
		}
		out.CertificateInfo = append(out.CertificateInfo, s.certificateInfo(c, req.now))
	}
	return out, nil
}

// authRecordLocked finds the registered certificate that signed a request (eHealth authentication key).
func (s *Server) authRecordLocked(signer *x509.Certificate) (*certRecord, *opError) {
	pk, err := certreq.PublicKeyIdentifier(signer.PublicKey)
	if err != nil {
		return nil, fail(ehealth.CodeAuthCertNotFound, "")
	}
	c := s.state.cert(pkiString(pk))
	if c == nil || c.Cert == nil {
		return nil, fail(ehealth.CodeAuthCertNotFound, "")
	}
	if !c.certificate().Equal(signer) {
		return nil, fail(ehealth.CodeAuthCertNotValid, "")
	}
	return c, nil
}

func (s *Server) getCertificateInfoForAuthenticationCertificate(req *soapRequest, in any) (any, *opError) {
	c, oerr := s.authRecordLocked(req.signer)
	if oerr != nil {
		return nil, oerr
	}
	info := s.certificateInfo(c, req.now)
	return &certra.GetCertificateInfoForAuthenticationCertificateResponse{CertificateInfo: &info}, nil
}

func mustHex(h string) []byte {
	b, _ := hex.DecodeString(h)
	return b
}
