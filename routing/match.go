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

// matcher finds every keyword of a rules file in a text in one pass.
// Keywords match at the start of a word and may end inside a word, so
// Persian suffixes still match ("آسفالتش", "لامپها"), unless whole-word.
// A word may also start after the Arabic article "ال" ("الاسفلت" matches
// "اسفلت"). Only word starts are tried, and only against the keywords
// beginning with the rune found there: a message is checked against a
// few hundred keywords in a few microseconds.
type matcher struct {
	kws     []keyword
	byFirst map[rune][]int
	ids     map[keyword]int
}

// add registers k and returns it with its id set; the same keyword used
// twice (in a service and a FAQ set) is looked for once.
func (m *matcher) add(k keyword) keyword {
	k.id = 0
	if id, ok := m.ids[k]; ok {
		k.id = id
		return k
	}
	if m.ids == nil {
		m.ids, m.byFirst = map[keyword]int{}, map[rune][]int{}
	}
	id := len(m.kws)
	m.ids[k] = id
	k.id = id
	m.kws = append(m.kws, k)
	first, _ := utf8.DecodeRuneInString(k.s)
	m.byFirst[first] = append(m.byFirst[first], id)
	return k
}

// found is the set of keyword ids a text contains.
type found []uint64

func (f found) has(id int) bool { return f[id/64]&(1<<(id%64)) != 0 }

// find returns the keywords that occur in t (match form).
func (m *matcher) find(t string) found {
	f := make(found, (len(m.kws)+63)/64)
	prevWord := false
	for i := 0; i < len(t); {
		r, size := utf8.DecodeRuneInString(t[i:])
		word := isWordRune(r)
		if word && !prevWord {
			m.tryAt(f, t, i, r)
			if rest, ok := strings.CutPrefix(t[i:], "ال"); ok && rest != "" {
				j := len(t) - len(rest)
				r2, _ := utf8.DecodeRuneInString(rest)
				m.tryAt(f, t, j, r2)
			}
		}
		prevWord = word
		i += size
	}
	return f
}

func (m *matcher) tryAt(f found, t string, i int, first rune) {
	for _, id := range m.byFirst[first] {
		k := &m.kws[id]
		if strings.HasPrefix(t[i:], k.s) && (!k.whole || wordEnd(t, i+len(k.s))) {
			f[id/64] |= 1 << (id % 64)
		}
	}
}

// isWordRune reports whether r is a letter or digit, with fast paths for
// ASCII and Persian letters, which make up nearly all messages.
func isWordRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r >= '0' && r <= '9' || (r|0x20) >= 'a' && (r|0x20) <= 'z'
	case r >= 0x0600 && r <= 0x06ff:
		return isArabicLetter(r) || r >= 0x0660 && r <= 0x0669 || r >= 0x06f0 && r <= 0x06f9
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isArabicLetter reports whether r is a letter of the Arabic block
// (U+0600–U+06FF); outside it, it defers to package unicode.
func isArabicLetter(r rune) bool {
	switch {
	case r >= 0x0620 && r <= 0x064a, r == 0x066e, r == 0x066f, r >= 0x0671 && r <= 0x06d3, r == 0x06d5,
		r == 0x06e5, r == 0x06e6, r == 0x06ee, r == 0x06ef, r >= 0x06fa && r <= 0x06fc, r == 0x06ff:
		return true
	case r >= 0x0600 && r <= 0x06ff:
		return false
	}
	return unicode.Is(unicode.Arabic, r) && unicode.IsLetter(r)
}

func wordEnd(t string, end int) bool {
	if end == len(t) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(t[end:])
	return !isWordRune(r)
}

// score sums the weights of the keywords found; each counts once.
func (f found) score(kws []keyword) int {
	n := 0
	for _, k := range kws {
		if f.has(k.id) {
			n += k.weight
		}
	}
	return n
}

// all reports whether every keyword of the set was found.
func (f found) all(set []keyword) bool {
	for _, k := range set {
		if !f.has(k.id) {
			return false
		}
	}
	return true
}

// any reports whether any of the keywords was found.
func (f found) any(kws []keyword) bool {
	for _, k := range kws {
		if f.has(k.id) {
			return true
		}
	}
	return false
}
