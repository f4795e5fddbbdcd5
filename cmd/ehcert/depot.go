package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ehcert/ehcert/etk"
	"github.com/ehcert/ehcert/etkdepot"
	"github.com/ehcert/ehcert/internal/atomicfile"
)

// idFlags name a holder in the depot.
type idFlags struct {
	org, ssin, typ, id, appID string
}

func addIDFlags(c *cobra.Command, f *idFlags) {
	c.Flags().StringVar(&f.org, "org", "", "organisation TYPE:ID, e.g. CBE:0123456749")
	c.Flags().StringVar(&f.ssin, "ssin", "", "a person's national number (type SSIN)")
	c.Flags().StringVar(&f.typ, "type", "", "identifier type (SSIN, CBE, NIHII-HOSPITAL, ...), with --id")
	c.Flags().StringVar(&f.id, "id", "", "identifier value, with --type")
	c.Flags().StringVar(&f.appID, "app-id", "", "application id")
}

func (f idFlags) identity() (typ, id string, err error) {
	n := 0
	for _, s := range []string{f.org, f.ssin, f.typ + f.id} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return "", "", usagef("name the holder with exactly one of --org TYPE:ID, --ssin N or --type T --id V")
	}
	switch {
	case f.org != "":
		t, v, ok := strings.Cut(f.org, ":")
		if !ok || t == "" || v == "" {
			return "", "", usagef("--org %q: want TYPE:ID, e.g. CBE:0123456749", f.org)
		}
		return strings.ToUpper(t), v, nil
	case f.ssin != "":
		return "SSIN", f.ssin, nil
	}
	if f.typ == "" || f.id == "" {
		return "", "", usagef("--type and --id go together")
	}
	return strings.ToUpper(f.typ), f.id, nil
}

// validateOptions are the ETK checks for the selected environment at time t.
func (a *app) validateOptions(t time.Time) (etk.ValidateOptions, error) {
	pool, legacy, err := a.platformRoots()
	if err != nil {
		return etk.ValidateOptions{}, err
	}
	opts := etk.ValidateOptions{Time: t, Roots: pool, SignerRoots: pool, LegacyRoots: legacy, LegacySignerRoots: legacy}
	if a.isReal() {
		// The acceptance ETK-RA signed ETKs long after its certificate expired (etk.ValidateOptions).
		opts.IgnoreSignerExpiry = true
	}
	return opts, nil
}

// depotClient is the ETK Depot client of the selected environment; every ETK is validated before it is shown.
func (a *app) depotClient() (*etkdepot.Client, error) {
	env, err := a.environment()
	if err != nil {
		return nil, err
	}
	hc, err := a.depotHTTPClient()
	if err != nil {
		return nil, err
	}
	pool, _, err := a.platformRoots()
	if err != nil {
		return nil, err
	}
	c := &etkdepot.Client{
		BaseURL:    env.ETKDepot,
		HTTPClient: hc,
		UserAgent:  a.sentUserAgent(),
		From:       a.from,
		Roots:      pool,
		Now:        a.now,
	}
	if cache := a.etkCache(); cache != nil {
		c.Cache = cache
	}
	c.ValidateETK = func(raw []byte, want etkdepot.Identity) error {
		e, err := etk.Parse(raw)
		if err != nil {
			return err
		}
		opts, err := a.validateOptions(a.clock())
		if err != nil {
			return err
		}
		opts.Expect = &etk.Identity{Type: want.Type, Value: want.Value, ApplicationID: want.ApplicationID}
		return e.Validate(opts)
	}
	return c, nil
}

// etkSummary is what ehcert prints about an ETK.
type etkSummary struct {
	Holder          string    `json:"holder"`
	ApplicationID   string    `json:"applicationId,omitempty"`
	Subject         string    `json:"subject"`
	Serial          string    `json:"encryptionSerial"`
	NotBefore       time.Time `json:"notBefore"`
	NotAfter        time.Time `json:"notAfter"`
	AuthCertificate string    `json:"authenticationCertificate,omitempty"`
	Signer          string    `json:"signer,omitempty"`
	SHA256          string    `json:"sha256"`
	File            string    `json:"file,omitempty"`
	Valid           bool      `json:"valid"`
	Problems        []string  `json:"problems,omitempty"`
}

func summarize(e *etk.ETK) etkSummary {
	s := etkSummary{SHA256: sha256Hex(e.Raw)}
	if id, err := e.Identity(); err == nil {
		s.Holder = id.Type + "=" + id.Value
		s.ApplicationID = id.ApplicationID
	}
	if c := e.EncryptionCertificate; c != nil {
		s.Subject = dnString(c)
		s.Serial = c.SerialNumber.String()
		s.NotBefore, s.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	}
	if c := e.AuthenticationCertificate; c != nil {
		s.AuthCertificate = dnString(c)
	}
	if c := e.Signer; c != nil {
		s.Signer = dnString(c)
	}
	return s
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (a *app) printETK(s etkSummary) error {
	if a.jsonOut {
		return a.printJSON(s)
	}
	w := a.stdout
	fmt.Fprintf(w, "holder:          %s", s.Holder)
	if s.ApplicationID != "" {
		fmt.Fprintf(w, " (application %s)", s.ApplicationID)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "subject:         %s\n", s.Subject)
	fmt.Fprintf(w, "serial:          %s\n", s.Serial)
	fmt.Fprintf(w, "valid:           %s to %s\n", s.NotBefore.Format(time.DateOnly), s.NotAfter.Format(time.DateOnly))
	if s.Signer != "" {
		fmt.Fprintf(w, "signed by:       %s\n", s.Signer)
	}
	fmt.Fprintf(w, "sha256:          %s\n", s.SHA256)
	if s.File != "" {
		fmt.Fprintf(w, "written to:      %s\n", s.File)
	}
	if s.Valid {
		fmt.Fprintln(w, "validation:      OK")
	}
	return nil
}

func (a *app) etkCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "etk",
		Short: "Look up and verify ETKs (encryption tokens)",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("etk needs a subcommand: get or verify")
			}
			return usagef("unknown etk subcommand %q: get or verify", args[0])
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(a.etkGetCommand(), a.etkVerifyCommand())
	return c
}

func (a *app) etkGetCommand() *cobra.Command {
	var f idFlags
	var out string
	c := &cobra.Command{
		Use:   "get",
		Short: "Fetch a holder's ETK from the ETK Depot (GET /etks), validated",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			typ, id, err := f.identity()
			if err != nil {
				return err
			}
			dc, err := a.depotClient()
			if err != nil {
				return err
			}
			entries, err := dc.ETKs(cmd.Context(), typ, id, f.appID)
			if err != nil {
				return err
			}
			var sums []etkSummary
			for i, en := range entries {
				e, err := etk.Parse(en.ETK)
				if err != nil {
					return err
				}
				s := summarize(e)
				s.Valid = true
				if out != "" {
					name := out
					if len(entries) > 1 {
						name = fmt.Sprintf("%s.%d", out, i+1)
					}
					if err := atomicfile.WriteFile(name, en.ETK, 0o644); err != nil {
						return err
					}
					s.File = name
				}
				sums = append(sums, s)
			}
			if a.jsonOut {
				return a.printJSON(sums)
			}
			for i, s := range sums {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if err := a.printETK(s); err != nil {
					return err
				}
			}
			return nil
		},
	}
	addIDFlags(c, &f)
	c.Flags().StringVarP(&out, "out", "o", "", "write the ETK (DER) to this file")
	return c
}

func (a *app) etkVerifyCommand() *cobra.Command {
	var expect, at string
	c := &cobra.Command{
		Use:   "verify FILE",
		Short: "Validate an ETK file (DER, base64 or PEM) against the environment's anchors and --ca-file",
		Long: `verify parses and validates an ETK: the ETK-RA signature, the encryption certificate, the holder's
authentication chain to the trusted roots (the built-in ones of --env acc/prod, plus --ca-file). Exit code 7 when
it is not valid.`,
		Args: exactArgs(1, "one ETK file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			t := a.clock()
			if at != "" {
				t, err = time.Parse(time.RFC3339, at)
				if err != nil {
					return usagef("--at %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", at)
				}
			}
			e, err := etk.Parse(data)
			if err != nil {
				return &invalidError{fmt.Errorf("%s is not an ETK: %w", args[0], err)}
			}
			opts, err := a.validateOptions(t)
			if err != nil {
				return err
			}
			if expect != "" {
				id, err := parseExpect(expect)
				if err != nil {
					return err
				}
				opts.Expect = &id
			}
			s := summarize(e)
			verr := e.ValidateContext(cmd.Context(), opts)
			s.Valid = verr == nil
			if verr != nil {
				if ve, ok := verr.(*etk.ValidationError); ok {
					for _, p := range ve.Problems {
						s.Problems = append(s.Problems, p.Error())
					}
				}
			}
			if a.jsonOut {
				if err := a.printJSON(s); err != nil {
					return err
				}
			} else if err := a.printETK(s); err != nil {
				return err
			}
			if verr != nil {
				return &invalidError{fmt.Errorf("%s: the ETK is not valid: %w", args[0], verr)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&expect, "expect", "", "required holder TYPE:VALUE[/APPID], e.g. CBE:0123456749/MYAPP")
	c.Flags().StringVar(&at, "at", "", "validation time (RFC 3339; default now)")
	return c
}

func parseExpect(s string) (etk.Identity, error) {
	body, app, _ := strings.Cut(s, "/")
	t, v, ok := strings.Cut(body, ":")
	if !ok || t == "" || v == "" {
		return etk.Identity{}, usagef("--expect %q: want TYPE:VALUE[/APPID]", s)
	}
	return etk.Identity{Type: strings.ToUpper(t), Value: v, ApplicationID: app}, nil
}

// jwkSummary is what ehcert prints about a JWK.
type jwkSummary struct {
	KID        string    `json:"kid"`
	Use        string    `json:"use,omitempty"`
	Thumbprint string    `json:"x5t#S256"`
	Subject    string    `json:"subject,omitempty"`
	NotAfter   time.Time `json:"notAfter,omitzero"`
	Stale      bool      `json:"stale,omitempty"`
}

func summarizeKey(k *etkdepot.Key) jwkSummary {
	s := jwkSummary{KID: k.KID, Use: k.Use, Thumbprint: k.Thumbprint(), Stale: k.Stale}
	if l := k.Leaf(); l != nil {
		s.Subject = dnString(l)
		s.NotAfter = l.NotAfter.UTC()
	}
	return s
}

func (a *app) printKeys(keys []jwkSummary, rejected []string) error {
	if a.jsonOut {
		return a.printJSON(struct {
			Keys     []jwkSummary `json:"keys"`
			Rejected []string     `json:"rejected,omitempty"`
		}{keys, rejected})
	}
	for _, k := range keys {
		fmt.Fprintf(a.stdout, "kid %s  use=%s  x5t#S256=%s\n  %s (until %s)\n", k.KID, k.Use, k.Thumbprint, k.Subject, k.NotAfter.Format(time.DateOnly))
	}
	for _, r := range rejected {
		fmt.Fprintf(a.stdout, "rejected: %s\n", r)
	}
	return nil
}

func (a *app) jwksCommand() *cobra.Command {
	var f idFlags
	var use, kid, at string
	c := &cobra.Command{
		Use:   "jwks",
		Short: "Fetch a holder's JWK set (GET /pubKeys/cacerts/jwks), or one key with --kid (GET .../jwks/{kid})",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dc, err := a.depotClient()
			if err != nil {
				return err
			}
			if kid != "" {
				if f != (idFlags{}) {
					return usagef("--kid looks a key up by its id alone; drop the holder flags")
				}
				k, err := dc.JWK(cmd.Context(), kid)
				if err != nil {
					return err
				}
				return a.printKeys([]jwkSummary{summarizeKey(k)}, nil)
			}
			typ, id, err := f.identity()
			if err != nil {
				return err
			}
			q := etkdepot.Query{Type: typ, Value: id, ApplicationID: f.appID, Use: use}
			if at != "" {
				q.At, err = time.Parse(time.RFC3339, at)
				if err != nil {
					return usagef("--at %q: want RFC 3339", at)
				}
			}
			set, err := dc.JWKS(cmd.Context(), q)
			if err != nil {
				return err
			}
			var keys []jwkSummary
			for _, k := range set.Keys {
				keys = append(keys, summarizeKey(k))
			}
			var rej []string
			for _, r := range set.Rejected {
				rej = append(rej, r.Error())
			}
			return a.printKeys(keys, rej)
		},
	}
	addIDFlags(c, &f)
	c.Flags().StringVar(&use, "use", "enc", "key use: enc (encryption) or sig (authentication)")
	c.Flags().StringVar(&kid, "kid", "", "fetch only the key with this kid")
	c.Flags().StringVar(&at, "at", "", "lookup time (RFC 3339)")
	return c
}

func (a *app) keyholderCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "keyholder KID",
		Short: "Show the holder of a key (GET /keyholders/{kid})",
		Args:  exactArgs(1, "a kid"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dc, err := a.depotClient()
			if err != nil {
				return err
			}
			h, err := dc.KeyHolder(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printKeyHolder(h)
		},
	}
}

type keyHolderSummary struct {
	Kind     string    `json:"kind"`
	Holder   string    `json:"holder,omitempty"`
	Name     string    `json:"name,omitempty"`
	Issuer   string    `json:"iss,omitempty"`
	Audience string    `json:"aud,omitempty"`
	IssuedAt time.Time `json:"iat,omitzero"`
	Expires  time.Time `json:"exp,omitzero"`
}

func (a *app) printKeyHolder(h *etkdepot.KeyHolder) error {
	s := keyHolderSummary{Kind: h.Kind, Name: h.Name, Issuer: h.Issuer, Audience: h.Audience, IssuedAt: h.IssuedAt, Expires: h.Expires}
	if h.Type != "" {
		s.Holder = h.Type + "=" + h.Value
	}
	if a.jsonOut {
		return a.printJSON(s)
	}
	fmt.Fprintf(a.stdout, "%s %s %q\n", s.Kind, s.Holder, s.Name)
	return nil
}

// lookupDepot runs the four depot lookups for a holder (used by the demo): ETKs, JWKS, one JWK and its holder.
func (a *app) lookupDepot(ctx context.Context, typ, id, appID string, step func(string)) (etkSummary, jwkSummary, *etkdepot.KeyHolder, error) {
	dc, err := a.depotClient()
	if err != nil {
		return etkSummary{}, jwkSummary{}, nil, err
	}
	step("ETK Depot: GET /etks")
	entries, err := dc.ETKs(ctx, typ, id, appID)
	if err != nil {
		return etkSummary{}, jwkSummary{}, nil, fmt.Errorf("etks: %w", err)
	}
	en, err := etkdepot.Select(entries, appID)
	if err != nil {
		return etkSummary{}, jwkSummary{}, nil, err
	}
	e, err := etk.Parse(en.ETK)
	if err != nil {
		return etkSummary{}, jwkSummary{}, nil, err
	}
	es := summarize(e)
	es.Valid = true
	step("ETK Depot: GET /pubKeys/cacerts/jwks (use=enc)")
	set, err := dc.JWKS(ctx, etkdepot.Query{Type: typ, Value: id, ApplicationID: appID, Use: "enc"})
	if err != nil {
		return es, jwkSummary{}, nil, fmt.Errorf("jwks: %w", err)
	}
	if len(set.Keys) == 0 {
		return es, jwkSummary{}, nil, fmt.Errorf("jwks: no key")
	}
	kid := set.Keys[0].KID
	for _, k := range set.Keys {
		if l := k.Leaf(); l != nil && e.EncryptionCertificate != nil && l.Equal(e.EncryptionCertificate) {
			kid = k.KID
		}
	}
	step("ETK Depot: GET /pubKeys/cacerts/jwks/{kid}")
	k, err := dc.JWK(ctx, kid)
	if err != nil {
		return es, jwkSummary{}, nil, fmt.Errorf("jwks/%s: %w", kid, err)
	}
	step("ETK Depot: GET /keyholders/{kid}")
	h, err := dc.KeyHolder(ctx, kid)
	if err != nil {
		return es, summarizeKey(k), nil, fmt.Errorf("keyholders/%s: %w", kid, err)
	}
	return es, summarizeKey(k), h, nil
}
