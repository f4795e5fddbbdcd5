package etk_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/ehcert/ehcert/etk"
)

func readCert(path string) *x509.Certificate {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		log.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	return cert
}

// Parse an ETK of the eHealth test kit and validate it at a time inside its validity. The test kit's PKIs sign
// with SHA-1, so their anchors are given as legacy anchors.
func ExampleParse() {
	data, err := os.ReadFile("testdata/alice-2014-sha256.etk")
	if err != nil {
		log.Fatal(err)
	}
	e, err := etk.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("encryption certificate:", e.EncryptionCertificate.Subject)
	fmt.Println("signed by:", e.Signer.Subject.CommonName)
	fmt.Println("CA certificates:", len(e.CACertificates))

	err = e.Validate(etk.ValidateOptions{
		Time:              time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC),
		LegacyRoots:       []*x509.Certificate{readCert("testdata/anchors/eH-Root-CA-2014-testkit.pem")},
		LegacySignerRoots: []*x509.Certificate{readCert("testdata/anchors/eH-CA-2008.pem"), readCert("testdata/anchors/eH-Root-CA-2008.pem")},
	})
	fmt.Println("validation:", err)
	// Output:
	// encryption certificate: CN=Alice,OU=eHealth-platform Belgium,O=Federal Government,C=BE
	// signed by: ETK-RA
	// CA certificates: 1
	// validation: <nil>
}

// The registration challenge: the EtkRA encrypts a serial to the new ETK key, the holder decrypts it.
func ExampleSolveChallenge() {
	etkKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	challenge, serial, err := etk.NewChallenge(rand.Reader, &etkKey.PublicKey) // EtkRA side
	if err != nil {
		log.Fatal(err)
	}
	solved, err := etk.SolveChallenge(etkKey, challenge) // holder side
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(challenge), solved.Cmp(serial) == 0)
	// Output: 288 true
}
