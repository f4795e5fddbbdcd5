package flows

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// validateIdentifier checks an organisation identifier against the rules GetGenericOrganizationTypes gives
// for its type: the validation regex (Java syntax, whole-input match as Java's Matcher.matches) and every check
// digit algorithm. A rule that cannot be applied here (a regex feature RE2 lacks, an algorithm not known) is
// skipped and reported in skipped: the platform checks the identifier anyway.
func validateIdentifier(t orgType, id string) (skipped []string, err error) {
	if t.ValidationRegEx != "" {
		re, terr := compileJavaRegex(t.ValidationRegEx)
		if terr != nil {
			skipped = append(skipped, "regex: "+terr.Error())
		} else if !re.MatchString(id) {
			return skipped, &InvalidIdentifierError{Type: t.IdentifierType, ID: id,
				Reason: "does not match the platform's pattern " + t.ValidationRegEx}
		}
	}
	for _, alg := range t.CheckDigits {
		ok, known := checkDigits(alg, id)
		if !known {
			skipped = append(skipped, "check digit algorithm "+alg)
			continue
		}
		if !ok {
			return skipped, &InvalidIdentifierError{Type: t.IdentifierType, ID: id, Reason: "wrong check digits (" + alg + ")"}
		}
	}
	return skipped, nil
}

// checkDigits applies a check digit algorithm by name. "modulo 97" (also MOD97, MODULO_97, ...) is the Belgian
// scheme of CBE and NIHII numbers: the last two digits equal 97 - (the number formed by the other digits mod 97).
func checkDigits(alg, id string) (ok, known bool) {
	n := strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' || r == '-' {
			return -1
		}
		return r
	}, alg))
	switch n {
	case "MODULO97", "MOD97", "MODULUS97", "97":
	default:
		return false, false
	}
	if len(id) < 3 {
		return false, true
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false, true
		}
	}
	base, _ := new(big.Int).SetString(id[:len(id)-2], 10)
	check, _ := new(big.Int).SetString(id[len(id)-2:], 10)
	want := new(big.Int).Sub(big.NewInt(97), new(big.Int).Mod(base, big.NewInt(97)))
	return want.Cmp(check) == 0, true
}

// Java's POSIX character classes (ASCII, as without UNICODE_CHARACTER_CLASS), as class contents.
var javaPOSIX = map[string]string{
	"Lower": `a-z`, "Upper": `A-Z`, "ASCII": `\x00-\x7F`, "Alpha": `a-zA-Z`, "Digit": `0-9`,
	"Alnum": `a-zA-Z0-9`, "Punct": `!-/:-@\[-` + "`" + `{-~`, "Graph": `!-~`, "Print": ` -~`,
	"Blank": ` \t`, "Cntrl": `\x00-\x1F\x7F`, "XDigit": `0-9a-fA-F`, "Space": ` \t\n\x0B\f\r`,
	"javaLowerCase": `a-z`, "javaUpperCase": `A-Z`, "IsAlphabetic": `\pL`, "IsDigit": `\p{Nd}`,
	"IsLetter": `\pL`,
}

// compileJavaRegex translates the parts of Java regex syntax that RE2 spells differently and compiles the
// result anchored at both ends (Matcher.matches). Possessive quantifiers become greedy ones (same language for
// the patterns identifiers use); lookaround and backreferences are refused.
func compileJavaRegex(src string) (*regexp.Regexp, error) {
	var b strings.Builder
	inClass := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			n := src[i+1]
			switch {
			case n == 'p' || n == 'P':
				if i+2 < len(src) && src[i+2] == '{' {
					end := strings.IndexByte(src[i+3:], '}')
					if end < 0 {
						return nil, errors.New("unterminated \\p{")
					}
					name := src[i+3 : i+3+end]
					name = strings.TrimPrefix(name, "Is")
					cls, ok := javaPOSIX[name]
					if !ok {
						cls, ok = javaPOSIX["Is"+name]
					}
					if ok {
						neg := n == 'P'
						switch {
						case inClass > 0 && !neg:
							b.WriteString(cls)
						case inClass > 0:
							return nil, errors.New("negated POSIX class inside a class")
						case neg:
							b.WriteString("[^" + cls + "]")
						default:
							b.WriteString("[" + cls + "]")
						}
					} else {
						// Unicode categories and scripts (\p{L}, \p{IsLatin}) are the same in RE2.
						b.WriteString(src[i : i+3+end+1])
					}
					i += 3 + end
					continue
				}
				b.WriteString(src[i : i+2])
				i++
			case n >= '1' && n <= '9' && inClass == 0:
				return nil, errors.New("backreferences are not supported")
			case n == 'Z':
				b.WriteString(`\z`)
				i++
			case n == 'h':
				b.WriteString(`[ \t\xA0\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]`)
				i++
			default:
				b.WriteString(src[i : i+2])
				i++
			}
		case c == '[':
			inClass++
			b.WriteByte(c)
			if i+1 < len(src) && src[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			// A ']' right after '[' or '[^' is a literal in both syntaxes.
			if i+1 < len(src) && src[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case c == ']' && inClass > 0:
			inClass--
			b.WriteByte(c)
		case c == '&' && inClass > 0 && i+1 < len(src) && src[i+1] == '&':
			return nil, errors.New("class intersection (&&) is not supported")
		case c == '(' && (strings.HasPrefix(src[i:], "(?=") || strings.HasPrefix(src[i:], "(?!") ||
			strings.HasPrefix(src[i:], "(?<=") || strings.HasPrefix(src[i:], "(?<!")):
			if inClass == 0 {
				return nil, errors.New("lookaround is not supported")
			}
			b.WriteByte(c)
		case c == '(' && inClass == 0 && strings.HasPrefix(src[i:], "(?>"):
			b.WriteString("(?:") // atomic group: same language for these patterns
			i += 2
		case (c == '+') && inClass == 0 && i > 0 && isQuantifierEnd(src, i):
			// Possessive quantifier: drop the '+'.
		default:
			b.WriteByte(c)
		}
	}
	if inClass != 0 {
		return nil, errors.New("unterminated character class")
	}
	re, err := regexp.Compile(`^(?:` + b.String() + `)$`)
	if err != nil {
		return nil, fmt.Errorf("not expressible in RE2: %w", err)
	}
	return re, nil
}

// isQuantifierEnd reports whether src[i] == '+' follows a quantifier (*, +, ?, {n,m}), which makes it possessive.
func isQuantifierEnd(src string, i int) bool {
	p := src[i-1]
	if i >= 2 && src[i-2] == '\\' {
		return false // an escaped character, e.g. \+ followed by +
	}
	return p == '*' || p == '+' || p == '?' || p == '}'
}
