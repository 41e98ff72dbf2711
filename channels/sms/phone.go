package sms

import (
	"errors"
	"strings"
)

// ErrPhone is returned by NormalizePhone for input that is not a phone number.
var ErrPhone = errors.New("not a valid phone number")

// NormalizePhone turns a sender address as operators and panels deliver it
// into E.164. Iranian numbers come in every shape — 09121234567,
// 9121234567, 989121234567, +989121234567, 00989121234567 — sometimes
// with Persian (۰-۹) or Arabic-Indic (٠-٩) digits and separators; all
// become +98 and the 10-digit national number. Other numbers need an
// explicit + or 00 prefix (8 to 15 digits); anything else, such as an
// alphanumeric operator sender, is ErrPhone.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	plus := false
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '۰' && r <= '۹':
			b.WriteRune('0' + (r - '۰'))
		case r >= '٠' && r <= '٩':
			b.WriteRune('0' + (r - '٠'))
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u200c' || r == '\u00a0':
		default:
			return "", ErrPhone
		}
		if b.Len() > 20 {
			return "", ErrPhone
		}
	}
	d := b.String()
	if !plus && strings.HasPrefix(d, "00") {
		plus, d = true, d[2:]
	}
	var national string
	switch {
	case plus && strings.HasPrefix(d, "98"):
		national = strings.TrimPrefix(d[2:], "0") // "+98 (0)912…"
	case plus:
		if len(d) < 8 || len(d) > 15 || d[0] == '0' {
			return "", ErrPhone
		}
		return "+" + d, nil
	case len(d) == 12 && strings.HasPrefix(d, "98"):
		national = d[2:]
	case len(d) == 11 && d[0] == '0':
		national = d[1:]
	case len(d) == 10 && d[0] == '9':
		national = d
	default:
		return "", ErrPhone
	}
	if len(national) != 10 || national[0] == '0' {
		return "", ErrPhone
	}
	return "+98" + national, nil
}

// Destination number formats for outgoing messages.
const (
	FormatE164          = "e164"          // +989121234567
	FormatInternational = "international" // 989121234567
	FormatNational      = "national"      // 09121234567 (Iranian numbers only)
)

// formatPhone writes an E.164 number the way a provider wants it.
func formatPhone(e164, format string) string {
	switch format {
	case FormatE164:
		return e164
	case FormatNational:
		if strings.HasPrefix(e164, "+98") {
			return "0" + e164[3:]
		}
		return "00" + strings.TrimPrefix(e164, "+")
	default:
		return strings.TrimPrefix(e164, "+")
	}
}

// asciiDigits maps Persian and Arabic-Indic digits to ASCII and trims
// space, so "۳ " reads as "3".
func asciiDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '۰' && r <= '۹':
			return '0' + (r - '۰')
		case r >= '٠' && r <= '٩':
			return '0' + (r - '٠')
		}
		return r
	}, strings.TrimSpace(s))
}
