package routing

import (
	"strings"

	"github.com/dargah137/dargah/cases"
)

// codeCandidate is a 10-digit number found in a message.
type codeCandidate struct {
	code  string
	valid bool // check digit correct
	// start and end are its byte range in the text, separators included.
	start, end int
}

// findCodes returns the 10-digit numbers in t (normalized, so digits are
// ASCII), in order. Citizens copy codes as "12345 67890" or "123-456-7890",
// so digit groups joined by one space or dash are read together; a longer
// number (a phone number) is not cut into a code. Numbers starting with 0
// are never tracking codes and are skipped: Mashhad national ids (09…) are
// 10 digits too.
func findCodes(t string) []codeCandidate {
	var out []codeCandidate
	for i := 0; i < len(t); {
		if !isDigit(t[i]) || (i > 0 && isDigit(t[i-1])) {
			i++
			continue
		}
		// A run of digit groups from i.
		type group struct{ start, end int }
		var groups []group
		j := i
		for {
			k := j
			for k < len(t) && isDigit(t[k]) {
				k++
			}
			groups = append(groups, group{j, k})
			if k+1 < len(t) && (t[k] == ' ' || t[k] == '-') && isDigit(t[k+1]) {
				j = k + 1
				continue
			}
			j = k
			break
		}
		// Any window of consecutive groups with exactly 10 digits.
		for a := range groups {
			n := 0
			for b := a; b < len(groups) && n < cases.TrackingCodeLen; b++ {
				n += groups[b].end - groups[b].start
				if n != cases.TrackingCodeLen {
					continue
				}
				var sb strings.Builder
				for _, g := range groups[a : b+1] {
					sb.WriteString(t[g.start:g.end])
				}
				code := sb.String()
				if code[0] != '0' {
					out = append(out, codeCandidate{code: code, valid: cases.ValidTrackingCode(code), start: groups[a].start, end: groups[b].end})
				}
			}
		}
		i = j
	}
	return out
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// statusIntent reports whether a message with a code at c asks about a
// case: it says so (a status keyword), or it is little more than the code.
func (r *Rules) statusIntent(t string, found found, c codeCandidate) bool {
	if found.any(r.statusWords) {
		return true
	}
	rest := t[:c.start] + " " + t[c.end:]
	return len(strings.Fields(rest)) <= 3
}
