package main

import (
	"crypto/x509"
	"embed"
	"encoding/pem"
	"io/fs"
	"path"

	"github.com/ehcert/ehcert/ehealth"
)

// anchorFiles are the public eHealth CA certificates trusted by default for acc and prod (anchors/README.md).
//
//go:embed anchors/acc/*.pem anchors/acc-legacy/*.pem anchors/prod/*.pem
var anchorFiles embed.FS

// builtinAnchors returns the default anchors of an environment: roots verified normally, and legacy roots under
// which SHA-1 is accepted (etk.ValidateOptions). A custom environment (the simulator) has none: use --ca-file.
func builtinAnchors(envName string) (roots, legacy []*x509.Certificate) {
	switch envName {
	case ehealth.Acceptance.Name:
		return readAnchors("anchors/acc"), readAnchors("anchors/acc-legacy")
	case ehealth.Production.Name:
		return readAnchors("anchors/prod"), nil
	}
	return nil, nil
}

func readAnchors(dir string) []*x509.Certificate {
	var certs []*x509.Certificate
	entries, _ := fs.ReadDir(anchorFiles, dir)
	for _, e := range entries {
		data, err := anchorFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				certs = append(certs, c)
			}
		}
	}
	return certs
}
