// Package flows runs the eHealth certificate processes of cookbook 001 §4.3 (create, renew and activate,
// revoke, foreigner) as durable processes that survive a crash at any point and never lose a private key the
// platform knows about.
//
// The Java connector runs these steps imperatively and keeps nothing between them: a crash after
// GenerateCertificate loses the private key of a certificate that will still be issued. Here a process is a
// versioned JSON state record plus a few files in a work directory the user chooses (a Store; DirStore for a
// directory):
//
//	<work dir>/            0700, one process per directory
//	├── process.json       State: kind, last completed step, identity, contract, CSR, request Ids, chain,
//	│                      challenge, encryption certificate, … (no key, PIN or password, ever)
//	├── auth-key.pem       the new authentication key  ┐ encrypted PKCS#8 (PBES2: PBKDF2-HMAC-SHA256 and
//	├── enc-key.pem        the new encryption key      ┘ AES-256-CBC) under the keystore password; written
//	│                      before any request carrying the public key is sent; deleted by the last step
//	├── contract.html      the contract text the user accepted
//	├── previous.p12       renew only: a copy of the keystore being renewed
//	├── keystore.p12       the output: PKCS#12 the Java connector loads (FACTS §9): "authentication" with the
//	│                      delivered chain, encryption keys under their decimal serial, trusted entries
//	├── etk.der            the ETK returned by CompleteETKRegistration
//	└── .lock              flock held while a run is active
//
// Every file is written atomically (temporary file, fsync, rename, directory fsync) with mode 0600; files
// written together share one directory fsync (BatchStore).
//
// # Steps
//
// A process is a list of named steps (Steps). Each step is idempotent: its intent (a key, the request Id) is
// saved before a request that changes the platform's state, and it recognises the answers that mean "already
// done" when it re-sends after a crash. Resume continues after the last step whose outcome was saved.
//
// Outcomes are saved at checkpoints rather than after every step, because each durable write costs fsyncs.
// The files a step produces are staged and written, before the state record that names them, at the next
// checkpoint; checkpoints come
//
//   - before every request: the staged files (a new key is on disk before any request is sent, in particular the
//     one that carries its public key);
//   - before a request that changes the platform's state (GenerateCertificate, SubmitCSRForForeigner,
//     StartETKRegistration, CompleteETKRegistration, ActivateETK, Revoke) and before the request that follows
//     one: also the state record, if its content changed (the intent is on disk before the platform can accept
//     it; whatever it accepted is recorded before the next request);
//   - when the process ends, fails or waits, and after every step when Hooks.AfterStep is set.
//
// Read-only requests that follow read-only requests save nothing: after a crash, the steps whose outcome was
// not saved run again, and those requests change nothing when sent twice. A create process makes nine durable
// writes to its work directory (twelve files), in six store calls.
//
// The answers recognised as "already done":
//
//   - GenerateCertificate answered CSR_PUB_KEY_NOT_UNIQUE: the platform has this key's CSR (the key never left
//     the process otherwise), so the process polls GetCertificate with the saved key's PublicKeyIdentifier;
//   - CompleteETKRegistration answered VALID_ETK_ALREADY_EXISTS: the process confirms with
//     GetCertificateInfoForAuthenticationCertificate that the ETK is registered, fetches it from the ETK depot
//     (kept only if it holds the process's encryption certificate) and goes on;
//   - ActivateETK answered RENEW_ACTIVATION_ETK_ALREADY_ACTIF: done.
//
// Create (cookbook §4.3.4, its 13 steps):
//
//	qualities ─► organization-types ─► application-ids ─► contract ─► accept ─► auth-key ─►
//	  (eID auth)   (org only)            (org only)                    (user)     key+CSR saved
//	generate-certificate ─► certificate ─► keystore ─► enc-key ─► start-etk ─► encryption-certificate ─►
//	  (eID signature)       poll, pending   "authentication"  saved   challenge      FACTS §8
//	complete-etk ─► keystore-etk ─► finish
//	  ETK saved      alias=serial    verify keystore; once done is saved, delete pending keys
//
// Renew replaces the first steps with certificate-info (signed with the key being replaced; it must say
// Replaceable) and adds activate before finish; the contract DN must be the DN of the replaced certificate.
// Activate sends a deferred activation later (RenewRequest.DeferActivation). Revoke is revocation-contract ─►
// accept ─► revoke; a re-sent Revoke that fails is checked with GetCertificateInfoForCitizen. Foreigner is
// auth-key (DN built locally) ─► submit ─► show-validation ─► certificate ─► … as create.
//
// Renew skips GetActorQualities and the organisation checks of create: the certificate being replaced was
// authorised already, its application id is in use by definition, and the eID Authentication PIN is spared.
//
// # Waiting
//
// GetCertificate answers CERT_NOT_YET_DELIVERED until the certificate is issued; manual validation can take
// days. The process polls with exponential backoff (Deps.PollInterval, Deps.MaxPollInterval) until ctx ends,
// or, with Deps.StopWhenPending, stops at once; both return a *PendingError and Resume picks up later.
//
// # Errors
//
// A failed step returns a *StepError with the step, the eHealth code and whether resuming can help; the state
// on disk is that of the last completed step. Other typed errors: *PendingError, *ContractNotAcceptedError,
// *NotReplaceableError, *NotAuthorizedError, *InvalidIdentifierError, *ApplicationIDInUseError,
// *MismatchError, *ProcessExistsError, ErrWrongPassword, ErrNoProcess.
//
// # Secrets
//
// The keystore password (Deps.Password) encrypts the pending keys and the output keystore; it is never stored,
// logged or put in an error. The eID keys are given once in Deps and each is used for at most one signature
// per run, so a token asks for each PIN at most once.
package flows
