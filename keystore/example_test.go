package keystore_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ehcert/ehcert/certreq"
	"github.com/ehcert/ehcert/keystore"
)

// A new authentication key is stored with the connector's placeholder certificate until eHealth delivers the
// real one; the file is named as the connector names it.
func Example() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	placeholder, err := keystore.PlaceholderCertificate(rand.Reader, key, time.Now())
	if err != nil {
		panic(err)
	}
	ks := &keystore.Keystore{}
	if err := ks.SetAuthentication(key, []*x509.Certificate{placeholder}); err != nil {
		panic(err)
	}

	id := certreq.Identity{Type: "CBE", Value: "0809394427", ApplicationID: "iamacc"}
	name := keystore.SuggestedFileName(id, time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC))
	fmt.Println(name)

	dir, err := os.MkdirTemp("", "keystore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	password := []byte("change it")
	if err := keystore.WriteFile(path, rand.Reader, ks, password); err != nil {
		panic(err)
	}

	back, err := keystore.ReadFile(path, password)
	if err != nil {
		panic(err)
	}
	auth, _ := back.Authentication()
	fmt.Println(auth.Alias, auth.Certificate().Subject)
	_, err = keystore.ReadFile(path, []byte("guess"))
	fmt.Println(err)
	// Output:
	// CBE=0809394427,IAMACC 20240309-140507.p12
	// authentication C=Dummy
	// keystore: wrong password
}
