// Package digits converts between the digit scripts Iranian citizens type:
// ASCII, Persian (۰–۹) and Arabic-Indic (٠–٩). Codes, phone numbers and
// dates are read in ASCII and shown in Persian.
package digits

import "strings"

// ToASCII maps Persian and Arabic-Indic digits in s to ASCII.
func ToASCII(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '۰' && r <= '۹':
			return '0' + (r - '۰')
		case r >= '٠' && r <= '٩':
			return '0' + (r - '٠')
		}
		return r
	}, s)
}

// ToPersian maps ASCII digits in s to Persian ones.
func ToPersian(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}
