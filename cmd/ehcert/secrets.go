package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// secretSource says where a PIN or password comes from. Secrets never come from argv: from a file named by a
// flag, from an environment variable, or typed at a terminal without echo.
type secretSource struct {
	what    string // "eID PIN", "keystore password"
	envVar  string // e.g. EHCERT_PIN
	file    string // --pin-file
	confirm bool   // ask twice when typed (new passwords)
}

// errNoSecret is returned when a secret is needed, none is configured and there is no terminal to ask on.
var errNoSecret = errors.New("no terminal to ask on")

func (s secretSource) read(stdin *os.File, stderr io.Writer) ([]byte, error) {
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("read %s file: %w", s.what, err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if s.envVar != "" {
		if v, ok := os.LookupEnv(s.envVar); ok {
			return []byte(v), nil
		}
	}
	if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
		return nil, &usageError{fmt.Errorf("%s needed: set %s or use a file flag (%w)", s.what, s.envVar, errNoSecret)}
	}
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprintf(stderr, "%s: ", prompt)
		b, err := term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(stderr)
		return b, err
	}
	v, err := ask(s.what)
	if err != nil {
		return nil, err
	}
	if s.confirm {
		again, err := ask(s.what + " (again)")
		if err != nil {
			return nil, err
		}
		if string(again) != string(v) {
			return nil, &usageError{fmt.Errorf("the two %ss differ", s.what)}
		}
	}
	return v, nil
}

// readLine reads one answer line (not secret) from r.
func readLine(r io.Reader) (string, error) {
	s, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && s == "" {
		return "", err
	}
	return strings.TrimSpace(s), nil
}
