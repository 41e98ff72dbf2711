// Package phone normalizes the phone numbers citizens type, and that SMS
// operators and panels deliver, into E.164 — the one form Dargah stores.
package phone

import (
	"errors"
	"strings"
)

// ErrInvalid is returned by Normalize for input that is not a phone number.
var ErrInvalid = errors.New("not a valid phone number")

// Normalize turns a phone number as citizens type it into E.164.
//
// Iranian numbers are accepted in every common shape — 09121234567,
// 9121234567, 989121234567, +989121234567, 00989121234567, landlines such
// as 05131234567 — with Persian (۰-۹) or Arabic-Indic (٠-٩) digits and
// spaces, dashes, dots or parentheses between them; all become
// +98 followed by the 10-digit national number. Foreign numbers are
// accepted only with an explicit + or 00 international prefix (Mashhad
// receives pilgrims from Iraq, Afghanistan, Pakistan…), 8 to 15 digits.
func Normalize(s string) (string, error) {
	var b strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '۰' && r <= '۹': // Extended Arabic-Indic (Persian)
			b.WriteRune('0' + (r - '۰'))
		case r >= '٠' && r <= '٩': // Arabic-Indic
			b.WriteRune('0' + (r - '٠'))
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u200c' || r == '\u00a0':
			// separators people type or paste
		default:
			return "", ErrInvalid
		}
		if b.Len() > 20 {
			return "", ErrInvalid
		}
	}
	d := b.String()
	if !plus && strings.HasPrefix(d, "00") {
		plus, d = true, d[2:]
	}
	var national string
	switch {
	case plus && strings.HasPrefix(d, "98"):
		national = strings.TrimPrefix(d[2:], "0") // "+98 (0)912…" is common
	case plus:
		if len(d) < 8 || len(d) > 15 || d[0] == '0' {
			return "", ErrInvalid
		}
		return "+" + d, nil
	case len(d) == 12 && strings.HasPrefix(d, "98"):
		national = d[2:]
	case len(d) == 11 && d[0] == '0':
		national = d[1:]
	case len(d) == 10 && d[0] == '9':
		national = d
	default:
		return "", ErrInvalid
	}
	// The Iranian national significant number is 10 digits: a mobile
	// number starting with 9, or a 2-digit area code and 8 digits.
	if len(national) != 10 || national[0] == '0' {
		return "", ErrInvalid
	}
	return "+98" + national, nil
}
