package ehealthtest

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ehcert/ehcert/ehealthtest/internal/pki"
	"github.com/ehcert/ehcert/internal/atomicfile"
)

// The platform's state. It is kept in memory and, in durable mode, written to <StateDir>/state.json after
// every change. It never holds a private key: those live in PEM files next to it (0600).

const stateVersion = 1

// Authentication certificate statuses (CertificateStatusType).
const (
	statusInProgress  = "IN_PROGRESS"
	statusValidActive = "VALID_ACTIVE"
	statusRefused     = "REFUSED"
	statusRevoked     = "REVOKED"
	statusExpired     = "EXPIRED"
)

// ETK statuses (ETKStatusType).
const (
	etkNotRequested      = "NOT_REQUESTED"
	etkInRequest         = "IN_REQUEST"
	etkWaitForActivation = "WAIT_FOR_ACTIVATION"
	etkValidActive       = "VALID_ACTIVE"
	etkRevoked           = "REVOKED"
	etkExpired           = "EXPIRED"
)

// Entity types (EntityType).
const (
	entityNaturalPerson = "NaturalPerson"
	entityOrganization  = "Organization"
)

// identity is who a certificate is for: an identifier type and value, and an optional application id.
type identity struct {
	Type          string `json:"type"`
	Value         string `json:"value"`
	ApplicationID string `json:"applicationId,omitempty"`
}

func (id identity) String() string {
	s := id.Type + "=" + id.Value
	if id.ApplicationID != "" {
		s += ", " + id.ApplicationID
	}
	return s
}

// actor is a commons core ActorType.
type actor struct {
	IDs        []idValue `json:"ids"`
	FirstNames []string  `json:"firstNames,omitempty"`
	Name       string    `json:"name"`
}

type idValue struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type contactData struct {
	EmailPrivate string `json:"emailPrivate"`
	EmailGeneral string `json:"emailGeneral,omitempty"`
	PhonePrivate string `json:"phonePrivate"`
	PhoneGeneral string `json:"phoneGeneral,omitempty"`
}

type localized struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

// contractRecord is a contract the platform generated (GenerateContract).
type contractRecord struct {
	DN         string      `json:"dn"`
	Signer     actor       `json:"signer"`
	Text       []localized `json:"text"`
	Subject    identity    `json:"subject"`
	Name       string      `json:"name"`  // the NAME of the DN
	Actor      actor       `json:"actor"` // CertificateIdentifier/Actor of the request
	EntityType string      `json:"entityType"`
	Contact    contactData `json:"contact"`
	Created    time.Time   `json:"created"`
}

// revocationContractRecord is a revocation contract the platform generated.
type revocationContractRecord struct {
	PKI     string      `json:"pki"`
	DN      string      `json:"dn"`
	Signer  actor       `json:"signer"`
	Reason  string      `json:"reason"`
	Text    []localized `json:"text"`
	Created time.Time   `json:"created"`
}

// etkRecord is the encryption token registered for one authentication certificate.
type etkRecord struct {
	// Status is NOT_REQUESTED, IN_REQUEST (started), WAIT_FOR_ACTIVATION or VALID_ACTIVE; REVOKED and EXPIRED
	// are derived (see certRecord.etkStatus) except when a replacement superseded it (Superseded).
	Status     string    `json:"status"`
	PendingKey []byte    `json:"pendingKey,omitempty"` // SPKI DER given to StartETKRegistration
	Serial     string    `json:"serial,omitempty"`     // decimal challenge serial
	EncCert    []byte    `json:"encCert,omitempty"`    // DER encryption certificate
	ETK        []byte    `json:"etk,omitempty"`        // DER CMS SignedData
	Registered time.Time `json:"registered,omitzero"`
	Activated  time.Time `json:"activated,omitzero"`
	Superseded bool      `json:"superseded,omitempty"`
}

// certRecord is one certificate request and everything that followed it, keyed by its PublicKeyIdentifier.
type certRecord struct {
	PKI        string      `json:"pki"` // upper-case hex
	DN         string      `json:"dn"`
	Subject    identity    `json:"subject"`
	Name       string      `json:"name"`
	EntityType string      `json:"entityType"`
	Requester  string      `json:"requester,omitempty"` // SSIN of the eID signer of GenerateCertificate
	Actor      actor       `json:"actor"`               // CertificateIdentifier/Actor (ForeignPerson for foreigners)
	Contact    contactData `json:"contact"`
	Usage      []string    `json:"baseServiceUsage,omitempty"`
	CSR        []byte      `json:"csr"`
	Requested  time.Time   `json:"requested"`
	// AutoValidated is the AutomaticallyValidated answer; Approved says the request may be certified (set at
	// once for automatic validation, by Approve for manual validation, by ConfirmForeigner for foreigners).
	AutoValidated bool      `json:"autoValidated"`
	Approved      bool      `json:"approved"`
	ApprovedAt    time.Time `json:"approvedAt,omitzero"`
	Refused       bool      `json:"refused,omitempty"`
	Polls         int       `json:"polls"`
	Cert          []byte    `json:"cert,omitempty"`
	Issued        time.Time `json:"issued,omitzero"`
	Replaces      string    `json:"replaces,omitempty"`
	Revoked       bool      `json:"revoked,omitempty"`
	RevokedAt     time.Time `json:"revokedAt,omitzero"`
	RevokeReason  string    `json:"revokeReason,omitempty"`
	// Foreigner requests (SubmitCSRForForeigner).
	Foreigner        bool      `json:"foreigner,omitempty"`
	ForeignToken     string    `json:"foreignToken,omitempty"`
	ForeignExpires   time.Time `json:"foreignExpires,omitzero"`
	ForeignConfirmed bool      `json:"foreignConfirmed,omitempty"`

	ETK etkRecord `json:"etk"`

	cert *x509.Certificate // parsed Cert
}

func (c *certRecord) certificate() *x509.Certificate {
	if c.cert == nil && len(c.Cert) > 0 {
		c.cert, _ = x509.ParseCertificate(c.Cert)
	}
	return c.cert
}

// authStatus is the AuthenticationCertificateStatus at now.
func (c *certRecord) authStatus(now time.Time) string {
	switch {
	case c.Refused:
		return statusRefused
	case c.Revoked:
		return statusRevoked
	case c.certificate() == nil:
		return statusInProgress
	case now.After(c.certificate().NotAfter):
		return statusExpired
	}
	return statusValidActive
}

// etkStatus is the ETKStatus at now.
func (c *certRecord) etkStatus(now time.Time) string {
	st := c.ETK.Status
	if st == "" {
		st = etkNotRequested
	}
	switch {
	case c.Revoked && st != etkNotRequested:
		return etkRevoked
	case c.ETK.Superseded:
		return etkExpired
	case (st == etkValidActive || st == etkWaitForActivation) && c.authStatus(now) == statusExpired:
		return etkExpired
	}
	return st
}

// citizenRecord is a test citizen. Their private keys are not here (see Server.citizenKeys).
type citizenRecord struct {
	SSIN          string         `json:"ssin"`
	FirstName     string         `json:"firstName"`
	LastName      string         `json:"lastName"`
	Organizations []Organization `json:"organizations,omitempty"`
	AuthCert      []byte         `json:"authCert"`
	SignCert      []byte         `json:"signCert"`
}

// platformState is everything state.json holds.
type platformState struct {
	Version             int                         `json:"version"`
	ClockOffsetNanos    int64                       `json:"clockOffsetNanos"`
	Citizens            []*citizenRecord            `json:"citizens"`
	Contracts           []*contractRecord           `json:"contracts"`
	RevocationContracts []*revocationContractRecord `json:"revocationContracts"`
	Certificates        []*certRecord               `json:"certificates"`
}

func (st *platformState) citizen(ssin string) *citizenRecord {
	for _, c := range st.Citizens {
		if c.SSIN == ssin {
			return c
		}
	}
	return nil
}

func (st *platformState) cert(pkiHex string) *certRecord {
	pkiHex = strings.ToUpper(pkiHex)
	for _, c := range st.Certificates {
		if c.PKI == pkiHex {
			return c
		}
	}
	return nil
}

func pkiString(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// State directory layout:
//
//	<dir>/state.json                 platform state (no private keys), 0600
//	<dir>/roots.pem                  the root CA to trust for eHealth, eID and ETK-RA certificates
//	<dir>/tls-roots.pem              the CA that issued the server's TLS certificate
//	<dir>/pki/<name>.crt, <name>.key the platform's CAs and keys: root, ehealth-ca, eid-ca, etkra, tls-ca, tls
//	<dir>/citizens/<SSIN>-authentication.key, <SSIN>-signature.key   test citizens' eID keys (PKCS#8 PEM, 0600)
const (
	stateFile    = "state.json"
	rootsFile    = "roots.pem"
	tlsRootsFile = "tls-roots.pem"
	pkiDir       = "pki"
	citizensDir  = "citizens"
)

// saveLocked writes state.json when the server is durable. The caller holds s.mu.
func (s *Server) saveLocked() error {
	if s.opts.StateDir == "" {
		return nil
	}
	s.state.Version = stateVersion
	s.state.ClockOffsetNanos = int64(s.clock.Offset())
	data, err := json.MarshalIndent(&s.state, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(s.opts.StateDir, stateFile), data, 0o600)
}

// loadState reads state.json; ok is false when the directory holds no state yet.
func loadState(dir string) (st *platformState, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st = &platformState{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, false, fmt.Errorf("ehealthtest: %s: %w", stateFile, err)
	}
	if st.Version != stateVersion {
		return nil, false, fmt.Errorf("ehealthtest: %s has version %d, want %d", stateFile, st.Version, stateVersion)
	}
	return st, true, nil
}

func writeCA(dir, name string, ca *pki.CA) error {
	keyPEM, err := pki.KeyPEM(ca.Key)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, pkiDir, name+".key"), keyPEM, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, pkiDir, name+".crt"), pki.CertPEM(ca.Cert), 0o644)
}

func readCA(dir, name string) (*pki.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, pkiDir, name+".crt"))
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("ehealthtest: %s.crt: %w", name, err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, pkiDir, name+".key"))
	if err != nil {
		return nil, err
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("ehealthtest: %s.key: %w", name, err)
	}
	return &pki.CA{Cert: certs[0], Key: key}, nil
}
