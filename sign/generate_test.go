package sign_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestGenerateTestdata regenerates the committed test data when run with -update:
//
//	go test ./sign -run TestGenerateTestdata -update
//
// It writes testdata/pki (new keys), then testdata/wrapping and the FuzzVerify seed corpus from them.
func TestGenerateTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate sign/testdata")
	}
	if os.Getenv("EHCERT_REGENERATE_PKI") == "1" || !exists(filepath.Join("testdata", "pki", "root.pem")) {
		generatePKI(t)
	}
	p := loadPKI(t)
	generateWrappingCorpus(t, p)
	generateFuzzSeeds(t, p)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// requestFiles returns the sample requests of testdata/requests, by operation name.
func requestFiles(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*Request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), "Request.xml")] = b
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
