package expiry

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// WriteJSON writes the report as one indented JSON document, as described by Schema.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people: a first line "STATUS: summary" (the format monitoring systems show),
// the sentence saying what to do next, then each entry. It holds no secret.
func (r *Report) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "%s: %s\n", r.Status, r.Summary)
	fmt.Fprintf(b, "Next: %s\n", r.Action)
	if len(r.Findings) > 1 {
		fmt.Fprintln(b, "\nFindings:")
		for _, f := range r.Findings {
			fmt.Fprintf(b, "  %-8s %s\n", f.Status, f.Message)
			if f.Action != r.Action {
				fmt.Fprintf(b, "           -> %s\n", f.Action)
			}
		}
	}

	fmt.Fprintln(b)
	ks := r.Keystore
	if ks == "" {
		ks = "(given in memory)"
	}
	fmt.Fprintf(b, "keystore:   %s\n", ks)
	online := "no (dates from the keystore; replacement period estimated)"
	switch {
	case r.Online.CertRA && r.Online.Depot:
		online = "CertRA and ETK Depot"
	case r.Online.CertRA:
		online = "CertRA"
	case r.Online.Depot:
		online = "ETK Depot"
	}
	fmt.Fprintf(b, "checked:    %s, online: %s\n", r.CheckedAt.Format("2006-01-02 15:04 MST"), online)
	fmt.Fprintf(b, "thresholds: warning under %s, critical under %s\n", threshold(r.Thresholds.WarningDays), threshold(r.Thresholds.CriticalDays))

	var previous []Item
	for _, it := range r.Items {
		if !it.Current {
			previous = append(previous, it)
			continue
		}
		fmt.Fprintln(b)
		writeItem(b, it, r.CheckedAt)
	}
	if r.Depot != nil {
		fmt.Fprintln(b)
		d := r.Depot
		switch {
		case d.Error != "":
			fmt.Fprintf(b, "ETK Depot:  %s: not checked (%s)\n", d.Holder, d.Error)
		case !d.Published:
			fmt.Fprintf(b, "ETK Depot:  %s: no ETK published\n", d.Holder)
		case d.MatchesAlias == "":
			fmt.Fprintf(b, "ETK Depot:  %s: ETK serial %s, NOT a key of this keystore\n", d.Holder, d.ETKSerial)
		default:
			fmt.Fprintf(b, "ETK Depot:  %s: ETK serial %s, matches key %s%s\n", d.Holder, d.ETKSerial, d.MatchesAlias, map[bool]string{true: "", false: " (a previous key)"}[d.MatchesCurrent])
		}
		if d.Stale {
			fmt.Fprintln(b, "            (answer from the cache: the depot could not be reached)")
		}
	}
	if c := r.CertRA; c != nil {
		if c.Error != "" {
			fmt.Fprintf(b, "CertRA:     not checked (%s)\n", c.Error)
		} else {
			fmt.Fprintf(b, "CertRA:     certificate %s, ETK %s, replaceable %t\n", c.CertificateStatus, c.ETKStatus, c.Replaceable)
		}
	}
	if len(previous) > 0 {
		fmt.Fprintln(b, "\nPrevious entries (kept to decrypt older messages; they do not affect the status):")
		for _, it := range previous {
			fmt.Fprintf(b, "  %-12s %-14s serial %s, not after %s\n", it.Kind, it.Alias, it.Serial, day(it.NotAfter))
		}
	}
	return b.Flush()
}

func writeItem(b *bufio.Writer, it Item, now time.Time) {
	name := "authentication"
	if it.Kind == KindEncryption {
		name = "encryption key " + it.Alias
	}
	fmt.Fprintf(b, "%-10s  %s\n", it.Status, name)
	fmt.Fprintf(b, "  subject:     %s\n", it.Subject)
	fmt.Fprintf(b, "  serial:      %s\n", it.Serial)
	if it.Placeholder {
		fmt.Fprintln(b, "  certificate: placeholder (not delivered yet)")
		return
	}
	left := plural(it.DaysLeft, "day") + " left"
	if it.Expired {
		left = "EXPIRED"
	}
	fmt.Fprintf(b, "  not after:   %s (%s)\n", it.NotAfter.Format(time.DateTime+" MST"), left)
	if rp := it.Replacement; rp != nil {
		state := "opens"
		if rp.Open {
			state = "open since"
		} else if !now.Before(rp.StartsAt) {
			state = "closed (not replaceable), from"
		}
		src := "estimated: about 3 months before expiry"
		if rp.Source == SourceCertRA {
			src = "from CertRA"
		}
		fmt.Fprintf(b, "  replacement: %s %s (%s)\n", state, day(rp.StartsAt), src)
	}
	if it.PublishedInDepot != nil {
		fmt.Fprintf(b, "  in depot:    %t\n", *it.PublishedInDepot)
	}
}

func threshold(n int) string {
	if n < 0 {
		return "(disabled)"
	}
	return plural(n, "day")
}
