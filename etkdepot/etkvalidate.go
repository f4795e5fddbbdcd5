package etkdepot

import (
	"context"
	"time"

	"github.com/ehcert/ehcert/etk"
)

// ETKValidator returns a Client.ValidateETK that accepts an ETK only when etk.Parse reads it and
// (*etk.ETK).Validate(opts) finds no problem, with opts.Expect replaced by the identity the ETK is asked for
// (type, value, application id): the ETK must be valid, chain to opts' anchors and belong to that holder. A
// zero opts.Time means the moment of each call. The error is the *etk.FormatError or *etk.ValidationError.
//
// Client.ETKOptions does the same with the client's clock (Client.Now) and lets the client keep decoded ETKs
// no longer than their certificates are valid; use ETKValidator to combine the etk checks with checks of
// your own.
func ETKValidator(opts etk.ValidateOptions) func(raw []byte, want Identity) error {
	return func(raw []byte, want Identity) error {
		_, err := validateETK(context.Background(), raw, want, opts)
		return err
	}
}

// etkCheckFunc validates one ETK of the depot for want at now and says until when the result holds (zero: not
// known).
type etkCheckFunc func(ctx context.Context, raw []byte, want Identity, now time.Time) (notAfter time.Time, err error)

// etkCheck returns the ETK check of the client: ValidateETK, else package etk with ETKOptions, else package etk
// with Roots as the only anchors; ErrNoETKValidator when there is none of them.
func (c *Client) etkCheck() (etkCheckFunc, error) {
	if v := c.ValidateETK; v != nil {
		return func(_ context.Context, raw []byte, want Identity, _ time.Time) (time.Time, error) {
			return time.Time{}, v(raw, want)
		}, nil
	}
	var opts etk.ValidateOptions
	switch {
	case c.ETKOptions != nil:
		opts = *c.ETKOptions
	case c.Roots != nil:
		opts = etk.ValidateOptions{Roots: c.Roots, SignerRoots: c.Roots}
	default:
		return nil, ErrNoETKValidator
	}
	return func(ctx context.Context, raw []byte, want Identity, now time.Time) (time.Time, error) {
		o := opts
		o.Time = now
		return validateETK(ctx, raw, want, o)
	}, nil
}

// validateETK parses raw and validates it with opts for the holder want. It returns the moment the ETK stops
// being valid: the earliest expiry of its encryption, authentication and (unless the options ignore it) ETK-RA
// certificates.
func validateETK(ctx context.Context, raw []byte, want Identity, opts etk.ValidateOptions) (time.Time, error) {
	e, err := etk.Parse(raw)
	if err != nil {
		return time.Time{}, err
	}
	opts.Expect = &want
	if err := e.ValidateContext(ctx, opts); err != nil {
		return time.Time{}, err
	}
	var notAfter time.Time
	if c := e.EncryptionCertificate; c != nil {
		notAfter = earliest(notAfter, c.NotAfter)
	}
	if c := e.AuthenticationCertificate; c != nil {
		notAfter = earliest(notAfter, c.NotAfter)
	}
	if c := e.Signer; c != nil && !opts.IgnoreSignerExpiry {
		notAfter = earliest(notAfter, c.NotAfter)
	}
	return notAfter, nil
}
