package sms

import (
	phonenum "github.com/dargah137/dargah/channels/phone"
	"github.com/dargah137/dargah/internal/digits"
	"strings"
)

// ErrPhone is returned by NormalizePhone for input that is not a phone
// number, such as an alphanumeric operator sender.
var ErrPhone = phonenum.ErrInvalid

// NormalizePhone turns a sender address as operators and panels deliver it
// into E.164; the rules are shared by every portal (channels/phone).
func NormalizePhone(s string) (string, error) { return phonenum.Normalize(s) }

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
func asciiDigits(s string) string { return digits.ToASCII(strings.TrimSpace(s)) }
