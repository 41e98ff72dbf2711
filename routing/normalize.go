package routing

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	zwnj = '\u200c' // zero-width non-joiner, the Persian "half space"
	zwsp = '\u200b' // zero-width space; some keyboards type it for the half space
)

// Normalize returns s in the one spelling Dargah matches keywords against.
// It is what intake stores as Message.NormalizedText:
//
//   - Arabic yeh (ي ى) and Urdu yeh barree (ے) become Persian ی; Arabic kaf
//     (ك) becomes Persian ک; teh marbuta and heh variants (ة ۀ ە ھ ہ) become
//     ه; hamza-carrying alef (أ إ ٱ) becomes ا and ؤ becomes و, because
//     citizens write them either way. آ and ئ are kept.
//   - Persian (۰-۹) and Arabic-Indic (٠-٩) digits become ASCII digits.
//   - Tatweel, harakat and Quranic marks (U+0610–U+061A, U+064B–U+065F,
//     U+0670, U+06D6–U+06ED) are removed; a decomposed madda after alef is
//     composed into آ first.
//   - Arabic presentation forms and fullwidth Latin are folded (NFKC).
//   - ZWNJ is kept only between two letters, once; a zero-width space counts
//     as ZWNJ; direction marks, ZWJ, BOM and other format characters are removed.
//   - Runs of whitespace become one space; the result is trimmed.
//   - Cased letters are lowercased. Control characters are dropped; invalid
//     UTF-8 becomes U+FFFD.
//
// Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	var n normalizer
	n.b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n.rune(r)
	}
	return n.b.String()
}

// normalizer writes normalized runes, deciding spaces and ZWNJs lazily: a
// pending one is written only when the next visible character shows it
// belongs (not at the edges, not next to a space, not twice).
type normalizer struct {
	b            strings.Builder
	last         rune // last rune written, 0 at start
	pendingSpace bool
	pendingZWNJ  bool
}

func (n *normalizer) rune(r rune) {
	switch {
	case r < utf8.RuneSelf:
		// ASCII fast path.
		switch {
		case r == ' ' || (r >= '\t' && r <= '\r'):
			n.space()
		case r < ' ' || r == 0x7f:
			// control character: dropped
		case r >= 'A' && r <= 'Z':
			n.emit(r + ('a' - 'A'))
		default:
			n.emit(r)
		}
	case r >= 0x06f0 && r <= 0x06f9: // Persian digits
		n.emit('0' + r - 0x06f0)
	case r >= 0x0660 && r <= 0x0669: // Arabic-Indic digits
		n.emit('0' + r - 0x0660)
	case r == 0x064a || r == 0x0649 || r == 0x06d2 || r == 0x06d3: // ي ى ے ۓ
		n.emit('ی')
	case r == 0x0643 || r == 0x06aa: // ك ڪ
		n.emit('ک')
	case r == 0x0629 || r == 0x06c0 || r == 0x06d5 || r == 0x06be || r == 0x06c1 || r == 0x06c2 || r == 0x06c3: // ة ۀ ە ھ ہ ۂ ۃ
		n.emit('ه')
	case r == 0x0623 || r == 0x0625 || r == 0x0671: // أ إ ٱ
		n.emit('ا')
	case r == 0x0624: // ؤ
		n.emit('و')
	case r == 0x0653: // madda above: ا + madda is a decomposed آ
		if n.last == 'ا' && !n.pendingSpace && !n.pendingZWNJ {
			n.replaceLast('آ')
		}
	case r == 0x0654: // hamza above: ی + hamza is a decomposed ئ
		if n.last == 'ی' && !n.pendingSpace && !n.pendingZWNJ {
			n.replaceLast('ئ')
		}
	case r == 0x0640, // tatweel
		r >= 0x0610 && r <= 0x061a,
		r >= 0x064b && r <= 0x065f,
		r == 0x0670,
		r >= 0x06d6 && r <= 0x06ed:
		// dropped
	case r == zwnj || r == zwsp:
		if !n.pendingSpace && unicode.IsLetter(n.last) {
			n.pendingZWNJ = true
		}
	case r >= 0x0606 && r <= 0x06ff && r != 0x061c && r != 0x06dd:
		// The rest of the Arabic block: letters and punctuation, kept
		// (a fast path; the cases below would keep them too).
		n.emit(r)
	case r == utf8.RuneError:
		n.emit(r) // invalid input byte, or a real U+FFFD
	case r >= 0xfb50 && r <= 0xfdff, r >= 0xfe70 && r <= 0xfefc, r >= 0xff01 && r <= 0xff5e:
		// Presentation forms and fullwidth ASCII: fold to the letters they
		// draw, then normalize those (they contain no further such forms).
		folded := norm.NFKC.String(string(r))
		if folded == string(r) { // unassigned or no compatibility mapping
			n.emit(r)
			return
		}
		for _, f := range folded {
			n.rune(f)
		}
	case unicode.IsSpace(r):
		n.space()
	case unicode.Is(unicode.Cf, r), unicode.IsControl(r):
		// format (direction marks, ZWJ, BOM…) and control characters: dropped
	default:
		n.emit(unicode.ToLower(r))
	}
}

func (n *normalizer) space() {
	n.pendingSpace = true
	n.pendingZWNJ = false
}

func (n *normalizer) emit(r rune) {
	if n.pendingSpace {
		if n.b.Len() > 0 {
			n.b.WriteByte(' ')
		}
	} else if n.pendingZWNJ && unicode.IsLetter(r) {
		n.b.WriteRune(zwnj)
	}
	n.pendingSpace, n.pendingZWNJ = false, false
	n.b.WriteRune(r)
	n.last = r
}

// replaceLast swaps the last written rune (alef or yeh, two bytes each in
// UTF-8) for r, which is also two bytes.
func (n *normalizer) replaceLast(r rune) {
	s := n.b.String()
	_, size := utf8.DecodeLastRuneInString(s)
	head := s[:len(s)-size]
	n.b.Reset()
	n.b.WriteString(head)
	n.b.WriteRune(r)
	n.last = r
}
