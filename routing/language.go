package routing

import (
	"strings"
	"unicode"
)

// DetectLanguage guesses the language of text written by a citizen and
// returns fa, ar, ur or en. It looks at letters, not words, so it works on
// one-word messages, and it must see the text as typed (before Normalize,
// which erases the Arabic and Urdu letter forms it relies on):
//
//   - Urdu-only letters (ٹ ڈ ڑ ں ے) → ur; Urdu also uses پ چ گ, so this is
//     checked first.
//   - Persian-only letters (پ چ ژ گ, Persian ک and ی) → fa.
//   - Arabic-only forms (ة ي ك ى) with no Persian letters → ar, unless
//     common Persian words show it is Persian typed on an Arabic keyboard.
//   - More Latin letters than Arabic-script letters → en.
//   - Anything else (digits only, empty, Arabic script without telling
//     letters) → fa, the language of most of Mashhad's citizens.
func DetectLanguage(text string) string {
	var latin, arabicScript, persian, arabic, urdu int
	for _, r := range text {
		switch {
		case r < 0x80:
			if r|0x20 >= 'a' && r|0x20 <= 'z' {
				latin++
			}
		case r == 'پ' || r == 'چ' || r == 'ژ' || r == 'گ' || r == 'ک' || r == 'ی':
			persian++
			arabicScript++
		case r == 'ة' || r == 'ي' || r == 'ك' || r == 'ى':
			arabic++
			arabicScript++
		case r == 'ٹ' || r == 'ڈ' || r == 'ڑ' || r == 'ں' || r == 'ے' || r == 'ۓ':
			urdu++
			arabicScript++
		case isArabicLetter(r):
			arabicScript++
		case unicode.IsLetter(r) && unicode.Is(unicode.Latin, r):
			latin++
		}
	}
	switch {
	case latin > arabicScript:
		return "en"
	case urdu > 0:
		return "ur"
	case persian > 0:
		return "fa"
	case arabic > 0:
		if looksPersian(text) {
			return "fa"
		}
		return "ar"
	default:
		return "fa"
	}
}

// persianWords are frequent Persian words that Arabic does not use; they
// give away Persian typed on an Arabic keyboard layout (ي and ك).
var persianWords = []string{"است", "را", "این", "آن", "برای", "شده", "کنید", "های", "می", "نمی", "هست", "خیلی", "چرا", "کجا"}

func looksPersian(text string) bool {
	// Only the keyboard letters are mapped: Normalize would also turn the
	// Arabic "أين" into the Persian "این".
	text = strings.NewReplacer("ي", "ی", "ى", "ی", "ك", "ک").Replace(text)
	for w := range strings.FieldsFuncSeq(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		for _, p := range persianWords {
			if w == p {
				return true
			}
		}
	}
	return false
}
