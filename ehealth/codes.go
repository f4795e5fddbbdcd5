package ehealth

// StatusSuccess is the only status code value that means success.
const StatusSuccess = "urn:be:fgov:ehealth:2.0:status:Success"

// Other status code values seen on the platform.
const (
	StatusRequester    = "urn:be:fgov:ehealth:2.0:status:Requester"
	StatusResponder    = "urn:be:fgov:ehealth:2.0:status:Responder"
	StatusDataNotFound = "urn:be:fgov:ehealth:2.0:status:DataNotFound"
)

// Error codes carried in EteeStatusDetail (cookbook 001 §7.1).
const (
	CodeCSRNotValid                        = "CSR_NOT_VALID"
	CodeCSRSignatureNotValid               = "CSR_SIGNATURE_NOT_VALID"
	CodeCSRNoSubject                       = "CSR_INVALID_NO_SUBJECT_PRESENT"
	CodeCSRPublicKeyInvalid                = "CSR_INVALID_PUBLIC_KEY_INVALID"
	CodeCSRDeliverySigningFailed           = "CSR__CSR_DELIVERY_TO_CA_FAILED__SIGNING_FAILED"
	CodeCSRDeliveryInvalidSignKeyPwd       = "CSR__CSR_DELIVERY_TO_CA_FAILED__INVALID_SIGN_KEY_PWD"
	CodeCSRInputNotParseable               = "CSR__INPUT_NOT_PARSEBLE_INTO_CSR"
	CodeCSRInputNotUnmarshallable          = "CSR__INPUT_NOT_UNMARSHALLABLE_INTO_EHCSR"
	CodeCSRValidAuthCertAlreadyExists      = "CSR_A_VALID_AUTH_CERT_ALREADY_EXISTS"
	CodeCSRApprovedCSRInProcess            = "CSR_AN_APPROVED_CSR_FOR_GIVEN_DN_IS_IN_PROCESS_OF_BEING_CERTIFIED"
	CodeCSRInvalidDN                       = "CSR_INVALID_DN_INVALID"
	CodeCSRPubKeyNotUnique                 = "CSR_PUB_KEY_NOT_UNIQUE"
	CodeCSRAlreadyValidated                = "CSR_ALREADY_VALIDATED"
	CodeCertNotYetDelivered                = "CERT_NOT_YET_DELIVERED"
	CodeAuthCertNotYetValid                = "AUTH_CERT_NOT_YET_VALID"
	CodeETKForAuthCertNotIssuedByEHealthCA = "ETK_REQUESTED_FOR_AUTH_CERT_NOT_ISSUED_BY_EHEALTH_CA"
	CodeETKForAuthCertRevoked              = "ETK_REQUESTED_FOR_AUTH_CERT_REVOKED"
	CodeETKForAuthCertExpired              = "ETK_REQUESTED_FOR_AUTH_CERT_EXPIRED"
	CodeETKForAuthCertNotYetValid          = "ETK_REQUESTED_FOR_AUTH_CERT_NOT_YET_VALID"
	CodeRequestHasNoValidCMSFormat         = "REQUEST_HAS_NO_VALID_CMS_FORMAT"
	CodeAuthCertNotFound                   = "AUTH_CERT_NOT_FOUND"
	CodePublicKeyNotYetRegistered          = "PUBLIC_KEY_NOT_YET_REGISTERED"
	CodeNoValidAuthCertFound               = "NO_VALID_AUTH_CERT_FOUND"
	CodeAuthCertNotValid                   = "AUTH_CERT_NOT_VALID"
	CodeValidETKAlreadyExists              = "VALID_ETK_ALREADY_EXISTS"
	CodeRenewActivationETKAlreadyActive    = "RENEW_ACTIVATION_ETK_ALREADY_ACTIF"
	CodeRenewNotYetInExpirationPeriod      = "RENEW_REQUEST_NOT_YET_IN_EXPIRATION_PERIOD"
	CodeEHCSRSignedDataHasNoContent        = "EHCSR__SIGNED_DATA_HAS_NO_CONTENT"
)

// SOAP fault codes for messages that are not WS-I Basic Profile 1.1 compliant (cookbook 001 §7.2).
const (
	FaultMalformed   = "SOA-03001" // content error, no more detail known
	FaultNotSOAP     = "SOA-03002" // not a SOAP message
	FaultMissingBody = "SOA-03003" // SOAP, but no Body
)

// Retryable reports whether an eHealth error code describes a state that may change by itself, so that sending
// the same request later can succeed.
func Retryable(code string) bool {
	switch code {
	case CodeCertNotYetDelivered, CodeAuthCertNotYetValid, CodeCSRDeliverySigningFailed, CodeCSRDeliveryInvalidSignKeyPwd:
		return true
	}
	return false
}
