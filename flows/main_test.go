package flows_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	code := m.Run()
	if serverTemplate.dir != "" {
		os.RemoveAll(filepath.Dir(serverTemplate.dir))
	}
	os.Exit(code)
}
