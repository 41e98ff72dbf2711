package routing

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// matchForm turns normalized text into what keywords are matched against:
// ZWNJ becomes a space, so "پیاده‌رو" and "پیاده رو", or "چاله‌ها" and
// "چاله ها", are the same words.
func matchForm(normalized string) string {
	if !strings.ContainsRune(normalized, zwnj) {
		return normalized
	}
	return strings.ReplaceAll(normalized, string(zwnj), " ")
}

// contains reports whether keyword k occurs in t (match form) at the start
// of a word. It may end inside a word, so Persian suffixes still match
// ("آسفالتش", "لامپها"), unless k is whole-word. A word may also start
// after the Arabic article "ال" ("الاسفلت" matches "اسفلت").
func (k keyword) matchIn(t string) bool {
	for from := 0; ; {
		i := strings.Index(t[from:], k.s)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(k.s)
		if wordStart(t, i) && (!k.whole || wordEnd(t, end)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(t[i:])
		from = i + size
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func wordStart(t string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(t[:i])
	if !isWordRune(r) {
		return true
	}
	if head, ok := strings.CutSuffix(t[:i], "ال"); ok {
		r, _ := utf8.DecodeLastRuneInString(head)
		return head == "" || !isWordRune(r)
	}
	return false
}

func wordEnd(t string, end int) bool {
	if end == len(t) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(t[end:])
	return !isWordRune(r)
}

// score sums the weights of the keywords found in t; each keyword counts once.
func score(t string, kws []keyword) int {
	n := 0
	for _, k := range kws {
		if k.matchIn(t) {
			n += k.weight
		}
	}
	return n
}

// matchAll reports whether every keyword of the set occurs in t.
func matchAll(t string, set []keyword) bool {
	for _, k := range set {
		if !k.matchIn(t) {
			return false
		}
	}
	return true
}

// matchAny reports whether any keyword occurs in t.
func matchAny(t string, kws []keyword) bool {
	for _, k := range kws {
		if k.matchIn(t) {
			return true
		}
	}
	return false
}
