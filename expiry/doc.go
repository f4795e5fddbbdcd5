// Package expiry watches the expiry of an eHealth keystore: the authentication certificate and every encryption
// key (ETK) in it, for monitoring systems and for people.
//
// eHealth certificates last three years and the most common production incident is one that expired unnoticed.
// Check reads a keystore (or the keystore.p12 of a flows work directory) and reports, for each entry: subject,
// serial, not-after, days left, whether the replacement period is open, and whether the ETK the ETK Depot
// publishes is the one whose private key is in the keystore. Online, the replacement period comes from CertRA's
// GetCertificateInfoForAuthenticationCertificate (signed with the keystore's own authentication key); offline it
// is estimated from the dates (see DefaultReplacementPeriod).
//
// The Report's Status follows the conventions of monitoring checks (Nagios, Icinga, Zabbix agents): exit code 0
// OK, 1 WARNING (fewer than Options.WarningDays left), 2 CRITICAL (fewer than Options.CriticalDays left, expired,
// revoked, or the depot publishes an ETK this keystore cannot decrypt), 3 UNKNOWN (the keystore could not be read,
// or an online check asked for could not be made). WriteText prints it for people, ending with one sentence that
// says what to do next (such as "ehcert renew --keystore …"); WriteJSON prints the document described by the JSON
// Schema in report.schema.json (Schema).
//
// # Which entries count
//
// A keystore written by a renewal keeps the previous entries, so that messages encrypted for the old ETK can
// still be read: the old authentication key moves to the alias "authentication-<serial>" and its encryption key
// stays under its serial. Only the current entries decide the status: the "authentication" entry and the
// encryption keys whose certificate was signed by its key (FACTS §8: the encryption certificate is signed with
// the authentication key). The other entries are listed as previous, for information.
//
// Nothing secret ever appears in a report: no key, password or certificate body, only subjects, serials and dates.
package expiry
