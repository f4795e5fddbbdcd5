package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// StateVersion is the version of the state record this package writes. A record with a newer version is
// refused (*StateVersionError); older versions are upgraded on read.
const StateVersion = 1

// Names of the files a process keeps in its Store.
const (
	FileState    = "process.json"  // the State record
	FileAuthKey  = "auth-key.pem"  // the new authentication key, encrypted PKCS#8
	FileEncKey   = "enc-key.pem"   // the new encryption key, encrypted PKCS#8
	FileKeystore = "keystore.p12"  // the output keystore (connector-compatible PKCS#12)
	FileETK      = "etk.der"       // the ETK returned by CompleteETKRegistration (CMS, DER)
	FileContract = "contract.html" // the contract text the user accepted (first language), for the record
	FilePrevious = "previous.p12"  // renew: a copy of the keystore being renewed, as given
)

// Kind is the kind of a process.
type Kind string

// The kinds of process.
const (
	KindCreate    Kind = "create"
	KindRenew     Kind = "renew"
	KindRevoke    Kind = "revoke"
	KindForeigner Kind = "foreigner"
)

// State is the durable record of one process, stored as JSON under FileState. It never holds a private key,
// PIN or password; keys live in their own encrypted files. Byte slices are DER (certificates, CSR) and appear
// base64-encoded in the JSON.
type State struct {
	Version int       `json:"version"`
	Kind    Kind      `json:"kind"`
	ID      string    `json:"id"`   // random process id, for logs
	Step    string    `json:"step"` // last completed step; "" before the first
	Done    bool      `json:"done"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`

	// LastError is the text of the error that stopped the last run, if any (never secrets).
	LastError string `json:"lastError,omitempty"`

	// Identity of the certificate holder and of the person signing contracts.
	Subject Subject `json:"subject"`
	Signer  Person  `json:"signer"`
	Contact Contact `json:"contact"`
	// BaseServiceUsage lists the base services asked for in the CSR (tsa, consultrn, codage, other).
	BaseServiceUsage []string `json:"baseServiceUsage,omitempty"`

	// KDF holds the parameters that stretch the keystore password for the encrypted key files.
	KDF KDFParams `json:"kdf"`

	Qualities  *QualitiesRecord  `json:"qualities,omitempty"`
	Contract   *ContractRecord   `json:"contract,omitempty"`
	Auth       *AuthRecord       `json:"auth,omitempty"`
	Enc        *EncRecord        `json:"enc,omitempty"`
	Foreigner  *ForeignerRecord  `json:"foreigner,omitempty"`
	Renewal    *RenewalRecord    `json:"renewal,omitempty"`
	Revocation *RevocationRecord `json:"revocation,omitempty"`
}

// KDFParams are the PBKDF2 parameters of the process's key files.
type KDFParams struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
}

// Person is a natural person as the platform names them.
type Person struct {
	SSIN      string `json:"ssin"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// Subject is the holder of the certificate being requested: the signer themself (a natural person, identifier
// type SSIN) or an organisation.
type Subject struct {
	// Type is the identifier type: "SSIN" for a natural person, an organisation's ETK type otherwise
	// ("CBE", "NIHII-HOSPITAL", ...).
	Type string `json:"type"`
	// ID is the identifier value, zero-padded to its type's length.
	ID string `json:"id"`
	// Name is the organisation name (empty for a natural person: the contract uses the signer's name).
	Name string `json:"name,omitempty"`
	// ApplicationID is the optional application id of an organisation certificate.
	ApplicationID string `json:"applicationId,omitempty"`
}

// IsPerson reports whether the subject is a natural person.
func (s Subject) IsPerson() bool { return s.Type == "SSIN" }

// Contact is the contact data sent with the contract and the CSR.
type Contact struct {
	EmailPrivate string `json:"emailPrivate"`
	EmailGeneral string `json:"emailGeneral,omitempty"`
	PhonePrivate string `json:"phonePrivate"`
	PhoneGeneral string `json:"phoneGeneral,omitempty"`
}

// QualitiesRecord is what GetActorQualities said.
type QualitiesRecord struct {
	NaturalPerson bool           `json:"naturalPerson"`
	Organizations []Organization `json:"organizations,omitempty"`
	// Authorized is true when the subject is among the qualities (automatic validation expected).
	Authorized bool `json:"authorized"`
}

// Organization is an organisation the signer is authorised to manage certificates for.
type Organization struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// ContractRecord is a contract as the platform returned it. XML is the contract element exactly as received;
// it is sent back unchanged.
type ContractRecord struct {
	XML        []byte     `json:"xml"`
	DN         string     `json:"dn"`
	AcceptedAt *time.Time `json:"acceptedAt,omitempty"`
}

// AuthRecord follows the new authentication key from generation to its delivered certificate.
type AuthRecord struct {
	// PublicKeyIdentifier is the hex SHA-1 key id of the key (FACTS §3).
	PublicKeyIdentifier string `json:"publicKeyIdentifier"`
	CSR                 []byte `json:"csr"`
	// RequestID is the Id of the GenerateCertificate (or SubmitCSRForForeigner) request, fixed before the
	// first send and reused by every re-send.
	RequestID string     `json:"requestId"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
	// Accepted is set when the platform acknowledged the CSR (or said it already had it).
	AcceptedAt             *time.Time `json:"acceptedAt,omitempty"`
	AutomaticallyValidated *bool      `json:"automaticallyValidated,omitempty"`
	PendingSince           *time.Time `json:"pendingSince,omitempty"`
	Polls                  int        `json:"polls,omitempty"`
	// Chain is the delivered chain, leaf first.
	Chain [][]byte `json:"chain,omitempty"`
}

// EncRecord follows the new encryption key through the ETK registration.
type EncRecord struct {
	PublicKey      []byte     `json:"publicKey"` // SubjectPublicKeyInfo DER
	Challenge      []byte     `json:"challenge,omitempty"`
	Serial         string     `json:"serial,omitempty"` // decimal, the keystore alias
	Cert           []byte     `json:"cert,omitempty"`   // the self-built encryption certificate
	CompleteSentAt *time.Time `json:"completeSentAt,omitempty"`
	// ETKSHA256 is the hex SHA-256 of the ETK saved under FileETK ("" when the platform reported the ETK as
	// already registered and it could not be fetched).
	ETKSHA256     string `json:"etkSha256,omitempty"`
	ToBeActivated bool   `json:"toBeActivated,omitempty"`
	Activated     bool   `json:"activated,omitempty"`
}

// ForeignerRecord holds what SubmitCSRForForeigner answered.
type ForeignerRecord struct {
	ValidationURL  string     `json:"validationUrl,omitempty"`
	ExpirationDate *time.Time `json:"expirationDate,omitempty"`
	ShownAt        *time.Time `json:"shownAt,omitempty"`
}

// RenewalRecord describes the certificate being replaced.
type RenewalRecord struct {
	OldSerial              string     `json:"oldSerial"` // decimal
	OldPublicKeyIdentifier string     `json:"oldPublicKeyIdentifier"`
	DN                     string     `json:"dn"`
	NotAfter               time.Time  `json:"notAfter"`
	ReplacementPeriodStart *time.Time `json:"replacementPeriodStart,omitempty"`
	Replaceable            bool       `json:"replaceable"`
	DeferActivation        bool       `json:"deferActivation,omitempty"`
}

// RevocationRecord describes a revocation.
type RevocationRecord struct {
	PublicKeyIdentifier string     `json:"publicKeyIdentifier"`
	Reason              string     `json:"reason"`
	RequestID           string     `json:"requestId,omitempty"`
	SentAt              *time.Time `json:"sentAt,omitempty"`
	RevokedAt           *time.Time `json:"revokedAt,omitempty"`
}

// StateVersionError reports a state record written by a newer version of this package.
type StateVersionError struct{ Version int }

func (e *StateVersionError) Error() string {
	return fmt.Sprintf("flows: state record version %d is newer than this program understands (%d)", e.Version, StateVersion)
}

// StateError reports a state record that cannot be read.
type StateError struct{ Err error }

func (e *StateError) Error() string { return "flows: unreadable state record: " + e.Err.Error() }
func (e *StateError) Unwrap() error { return e.Err }

// ErrNoProcess is returned by Resume and Status when the store holds no process.
var ErrNoProcess = errors.New("flows: no process in this store")

func loadState(ctx context.Context, s Store) (*State, error) {
	b, err := s.Get(ctx, FileState)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoProcess
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, &StateError{Err: err}
	}
	if st.Version > StateVersion {
		return nil, &StateVersionError{Version: st.Version}
	}
	if st.Version < 1 || st.Kind == "" {
		return nil, &StateError{Err: errors.New("missing version or kind")}
	}
	if _, ok := flowSteps[st.Kind]; !ok {
		return nil, &StateError{Err: fmt.Errorf("unknown process kind %q", st.Kind)}
	}
	return &st, nil
}

// marshalState returns the bytes of FileState.
func marshalState(st *State) ([]byte, error) {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ReadState returns the state record of the process in store, for tools that show more than Status (the
// contract as returned, the delivered chain). It needs no password, sends nothing and changes nothing.
func ReadState(ctx context.Context, store Store) (*State, error) { return loadState(ctx, store) }
