package email

import (
	"bytes"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// htmlToText turns an HTML mail body into readable plain text: scripts,
// styles and comments go, block elements become line breaks, list items
// get a dash, and a link keeps its text followed by its address when the
// address is not already in the text. It is a forgiving tokenizer rather
// than a full HTML5 parser (golang.org/x/net is not a dependency here):
// mail HTML is often broken, and all we need is the words in reading order.
// It never fails; arbitrary bytes give some text.
func htmlToText(s string) string {
	var (
		out      bytes.Buffer
		pre      int    // depth of <pre>, where whitespace is kept
		href     string // address of the open <a>, if any
		linkText strings.Builder
		inLink   bool
	)
	write := func(t string) {
		if inLink {
			linkText.WriteString(t)
		}
		out.WriteString(t)
	}
	// space collapses runs of whitespace outside <pre>.
	text := func(raw string) {
		t := html.UnescapeString(raw)
		if pre > 0 {
			write(t)
			return
		}
		var b strings.Builder
		lastSpace := endsWithSpace(out.Bytes())
		for _, r := range t {
			if unicode.IsSpace(r) || r == '\u00a0' {
				if !lastSpace {
					b.WriteByte(' ')
					lastSpace = true
				}
				continue
			}
			b.WriteRune(r)
			lastSpace = false
		}
		write(b.String())
	}
	// breakLine ends the current line; paragraph also leaves a blank line.
	trimLine := func() []byte {
		// Truncate in place: rewriting the buffer would make long mails
		// quadratic.
		trimmed := bytes.TrimRight(out.Bytes(), " \t")
		out.Truncate(len(trimmed))
		return trimmed
	}
	breakLine := func() {
		if t := trimLine(); len(t) > 0 && !bytes.HasSuffix(t, []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	paragraph := func() {
		breakLine()
		if t := out.Bytes(); len(t) > 0 && !bytes.HasSuffix(t, []byte("\n\n")) {
			out.WriteByte('\n')
		}
	}

	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			text(s[i:])
			break
		}
		text(s[i : i+lt])
		i += lt
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(s)
			} else {
				i += 4 + end + 3
			}
			continue
		case len(rest) > 1 && (isASCIILetter(rest[1]) || rest[1] == '/' || rest[1] == '!' || rest[1] == '?'):
		default:
			write("<")
			i++
			continue
		}
		end := tagEnd(rest)
		if end < 0 {
			// An unterminated tag: the rest is markup debris, not text.
			break
		}
		tag := rest[1:end]
		i += end + 1
		closing := strings.HasPrefix(tag, "/")
		name, attrs := tagName(strings.TrimPrefix(tag, "/"))
		switch name {
		case "script", "style", "head", "title", "noscript", "template", "svg":
			if closing || strings.HasSuffix(tag, "/") {
				continue
			}
			// Skip to the matching close tag; its content is never text.
			j := indexFold(s[i:], "</"+name)
			if j < 0 {
				i = len(s)
				continue
			}
			i += j
			if k := strings.IndexByte(s[i:], '>'); k >= 0 {
				i += k + 1
			} else {
				i = len(s)
			}
		case "br":
			trimLine()
			out.WriteByte('\n')
		case "div", "tr", "dt", "dd", "center", "form", "address", "header", "footer", "section", "article":
			breakLine()
		case "p", "table", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dl":
			paragraph()
		case "li":
			breakLine()
			if !closing {
				write("- ")
			}
		case "td", "th":
			if closing {
				write(" ")
			}
		case "pre":
			paragraph()
			if closing {
				if pre > 0 {
					pre--
				}
			} else {
				pre++
			}
		case "a":
			if closing {
				if inLink {
					inLink = false
					lt := linkText.String()
					if href != "" && !strings.Contains(lt, href) && !strings.Contains(href, strings.TrimSpace(lt)+"@") {
						if strings.TrimSpace(lt) == "" {
							out.WriteString(href)
						} else {
							out.WriteString(" (" + href + ")")
						}
					}
					href = ""
				}
				continue
			}
			href = linkAddress(attrs)
			inLink = true
			linkText.Reset()
		case "img":
			if alt := attrValue(attrs, "alt"); strings.TrimSpace(alt) != "" {
				text(alt)
			}
		}
	}
	return tidyText(out.String())
}

// tagEnd returns the index of the '>' that ends the tag starting at s[0],
// skipping quoted attribute values, or -1.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			// Quotes only open inside attribute values (after '=').
			if j := lastNonSpace(s[:i]); j >= 0 && s[j] == '=' {
				quote = c
			}
		case c == '>':
			return i
		}
	}
	return -1
}

func lastNonSpace(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
			return i
		}
	}
	return -1
}

func tagName(tag string) (name, attrs string) {
	i := 0
	for i < len(tag) && (isASCIILetter(tag[i]) || (i > 0 && tag[i] >= '0' && tag[i] <= '9')) {
		i++
	}
	return strings.ToLower(tag[:i]), tag[i:]
}

// attrValue finds attribute key in a tag's attribute text.
func attrValue(attrs, key string) string {
	lower := strings.ToLower(attrs)
	for from := 0; from < len(lower); {
		j := strings.Index(lower[from:], key)
		if j < 0 {
			return ""
		}
		j += from
		from = j + len(key)
		if j > 0 && !isSpaceByte(lower[j-1]) {
			continue
		}
		k := from
		for k < len(attrs) && isSpaceByte(attrs[k]) {
			k++
		}
		if k >= len(attrs) || attrs[k] != '=' {
			continue
		}
		k++
		for k < len(attrs) && isSpaceByte(attrs[k]) {
			k++
		}
		if k >= len(attrs) {
			return ""
		}
		if q := attrs[k]; q == '"' || q == '\'' {
			e := strings.IndexByte(attrs[k+1:], q)
			if e < 0 {
				return html.UnescapeString(attrs[k+1:])
			}
			return html.UnescapeString(attrs[k+1 : k+1+e])
		}
		e := k
		for e < len(attrs) && !isSpaceByte(attrs[e]) && attrs[e] != '/' {
			e++
		}
		return html.UnescapeString(attrs[k:e])
	}
	return ""
}

// linkAddress returns an <a>'s href when it is worth showing: web and mail
// addresses only, never javascript: or data:.
func linkAddress(attrs string) string {
	h := strings.TrimSpace(attrValue(attrs, "href"))
	lower := strings.ToLower(h)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return h
	case strings.HasPrefix(lower, "mailto:"):
		return h[len("mailto:"):]
	}
	return ""
}

func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isSpaceByte(c byte) bool   { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func endsWithSpace(s []byte) bool {
	if len(s) == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRune(s)
	return unicode.IsSpace(r)
}

// tidyText trims every line's trailing blanks, collapses runs of blank
// lines to one and trims the whole.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) == "" {
			blank++
			if blank > 1 {
				continue
			}
			l = ""
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
