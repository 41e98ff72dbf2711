package smpp

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// gsmBasic is the GSM 03.38 (3GPP TS 23.038 §6.2.1) default alphabet,
// indexed by septet. 0x1B is the escape to the extension table.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExt is the extension table (§6.2.1.1): characters sent as ESC + septet.
var gsmExt = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\',
	0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

const gsmEscape = 0x1B

// gsmTable maps runes below gsmTableLen to one septet or, for extension
// characters, the septet that follows ESC (flagged with 0x100); gsmNone
// marks runes outside the alphabet. Every GSM character but € is below
// U+03AA, so a flat table beats a map; € is handled apart. Built once from
// the tables above; read-only afterwards.
const (
	gsmTableLen = 0x3AA
	gsmNone     = 0xFFFF
	gsmEuroExt  = 0x65
)

var gsmTable = func() *[gsmTableLen]uint16 {
	var t [gsmTableLen]uint16
	for i := range t {
		t[i] = gsmNone
	}
	for i, r := range gsmBasic {
		if i != gsmEscape {
			t[r] = uint16(i)
		}
	}
	for s, r := range gsmExt {
		if r < gsmTableLen {
			t[r] = 0x100 | uint16(s)
		}
	}
	return &t
}()

// gsmLookup returns the septet code of r (0x100 set for ESC + septet).
func gsmLookup(r rune) (uint16, bool) {
	if r >= 0 && r < gsmTableLen {
		c := gsmTable[r]
		return c, c != gsmNone
	}
	if r == '€' {
		return 0x100 | gsmEuroExt, true
	}
	return 0, false
}

// GSMSeptets returns how many septets text needs in the GSM 7-bit default
// alphabet, and false when some character is not representable.
func GSMSeptets(text string) (int, bool) {
	n := 0
	for _, r := range text {
		c, ok := gsmLookup(r)
		if !ok {
			return 0, false
		}
		if c&0x100 != 0 {
			n += 2
		} else {
			n++
		}
	}
	return n, true
}

// EncodeGSM7 encodes text in the GSM 7-bit default alphabet, one septet per
// octet (unpacked, as SMPP carries data_coding 0).
func EncodeGSM7(text string) ([]byte, error) {
	return appendGSM7(nil, text)
}

func appendGSM7(out []byte, text string) ([]byte, error) {
	if !utf8.ValidString(text) {
		return nil, errors.New("smpp: text is not valid UTF-8")
	}
	for i, r := range text {
		c, ok := gsmLookup(r)
		if !ok {
			return nil, fmt.Errorf("smpp: character %q at offset %d is not in the GSM 7-bit alphabet", r, i)
		}
		if c&0x100 != 0 {
			out = append(out, gsmEscape, byte(c))
		} else {
			out = append(out, byte(c))
		}
	}
	return out, nil
}

// DecodeGSM7 decodes unpacked GSM 7-bit septets. An octet over 0x7F or a
// trailing lone ESC is an error. ESC followed by a septet outside the
// extension table decodes as that septet's default character, as TS 23.038
// tells receivers to do.
func DecodeGSM7(b []byte) (string, error) {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c > 0x7F {
			return "", fmt.Errorf("smpp: octet 0x%02x at %d is not a GSM septet", c, i)
		}
		if c != gsmEscape {
			sb.WriteRune(gsmBasic[c])
			continue
		}
		if i+1 >= len(b) {
			return "", errors.New("smpp: GSM text ends with a lone escape")
		}
		i++
		n := b[i]
		if n > 0x7F {
			return "", fmt.Errorf("smpp: octet 0x%02x at %d is not a GSM septet", n, i)
		}
		if r, ok := gsmExt[n]; ok {
			sb.WriteRune(r)
		} else if n == gsmEscape {
			sb.WriteRune(' ') // reserved double escape: shown as space
		} else {
			sb.WriteRune(gsmBasic[n])
		}
	}
	return sb.String(), nil
}
