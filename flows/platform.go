package flows

import (
	"context"
	"time"
)

// platform is what the steps ask of CertRA and EtkRA, in the process's own terms. The one implementation
// (gen.go) builds the generated request types, and the typed clients sign and send them; keeping this seam
// narrow keeps the steps readable and lets the engine be tested without a server.
type platform interface {
	// ActorQualities sends GetActorQualities (eID Authentication).
	ActorQualities(ctx context.Context, ssin string) (naturalPerson bool, orgs []Organization, err error)
	// OrganizationTypes sends GetGenericOrganizationTypes.
	OrganizationTypes(ctx context.Context) ([]orgType, error)
	// ExistingApplicationIDs sends GetExistingApplicationIds; withoutAppID reports a nil entry (a certificate
	// without application id).
	ExistingApplicationIDs(ctx context.Context, typ, id string) (ids []string, withoutAppID bool, err error)
	// GenerateContract sends GenerateContract for subject, signed later by signer.
	GenerateContract(ctx context.Context, signer Person, subject Subject, contact Contact) (*ContractRecord, error)
	// GenerateCertificate sends GenerateCertificate (eID Signature) with the given request Id.
	GenerateCertificate(ctx context.Context, requestID string, csr []byte, contractXML []byte, contact Contact, usage []string) (pki string, auto bool, err error)
	// GetCertificate sends GetCertificate; the chain is DER, leaf first.
	GetCertificate(ctx context.Context, pki string) ([][]byte, error)
	// CertificateInfo sends GetCertificateInfoForAuthenticationCertificate (eHealth authentication key).
	CertificateInfo(ctx context.Context) (*certInfo, error)
	// CertificatesForCitizen sends GetCertificateInfoForCitizen (eID Authentication).
	CertificatesForCitizen(ctx context.Context) ([]certInfo, error)
	// GenerateRevocationContract sends GenerateRevocationContract.
	GenerateRevocationContract(ctx context.Context, requestID, pki string, signer Person, reason string) (*ContractRecord, error)
	// Revoke sends Revoke (eID Signature).
	Revoke(ctx context.Context, requestID, pki string, contractXML []byte) error
	// SubmitCSRForForeigner sends SubmitCSRForForeigner.
	SubmitCSRForForeigner(ctx context.Context, requestID string, person Person, contact Contact, csr []byte) (url string, expires *time.Time, err error)
	// StartETKRegistration, CompleteETKRegistration and ActivateETK are signed with the eHealth
	// authentication key.
	StartETKRegistration(ctx context.Context, spki []byte) (challenge []byte, err error)
	CompleteETKRegistration(ctx context.Context, cert []byte) (etk []byte, toBeActivated bool, err error)
	ActivateETK(ctx context.Context) error
	// ContractText returns the contract of a record for the user.
	ContractText(rec *ContractRecord, revocation bool) (Contract, error)
}

// orgType is one entry of GetGenericOrganizationTypes.
type orgType struct {
	Name            map[string]string // language -> name
	IdentifierType  string
	ValidationRegEx string // Java syntax
	CheckDigits     []string
	BaseServices    []string
}

// certInfo is the part of a CertificateInfoType the processes use.
type certInfo struct {
	PublicKeyIdentifier    string
	Status                 string // AuthenticationCertificateStatus
	ETKStatus              string
	Replaceable            bool
	Revocable              bool
	ReplacementPeriodStart *time.Time
	DN                     string
	Serial                 string
	NotAfter               *time.Time
	Contact                Contact
	BaseServiceUsage       []string
}
