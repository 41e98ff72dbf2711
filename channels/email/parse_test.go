package email

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func encode(t testing.TB, cm *charmap.Charmap, s string) string {
	t.Helper()
	b, err := cm.NewEncoder().String(s)
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

// Windows-1256 has no Persian yeh (U+06CC); Persian mail in it uses the
// Arabic yeh (U+064A), which intake's normalization maps back.
const persian1256 = "سلام، چراغ خيابان خاموش است. گزارش از کوچه 12"

func windows1256Mail(t testing.TB, id string) string {
	name := "=?windows-1256?B?" + base64.StdEncoding.EncodeToString([]byte(encode(t, charmap.Windows1256, "علي رضايي"))) + "?="
	subj := "=?windows-1256?B?" + base64.StdEncoding.EncodeToString([]byte(encode(t, charmap.Windows1256, "چراغ خاموش"))) + "?="
	return "From: " + name + " <Ali@Example.com>\r\n" +
		"To: 137@localhost\r\n" +
		"Subject: " + subj + "\r\n" +
		"Message-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=windows-1256\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\n" +
		encode(t, charmap.Windows1256, persian1256) + "\r\n"
}

func TestParse(t *testing.T) {
	t.Parallel()
	arabic := "مرحبا، الشارع مظلم."
	tests := []struct {
		name  string
		raw   string
		check func(t *testing.T, p Parsed)
	}{
		{
			name: "windows-1256 body and encoded-word headers",
			raw:  windows1256Mail(t, "w1256@example.com"),
			check: func(t *testing.T, p Parsed) {
				want(t, "text", p.Text, persian1256)
				want(t, "name", p.FromName, "علي رضايي")
				want(t, "email", p.FromEmail, "ali@example.com")
				want(t, "subject", p.Subject, "چراغ خاموش")
				want(t, "id", p.MessageID, "w1256@example.com")
				want(t, "root", p.ThreadRoot(), "w1256@example.com")
			},
		},
		{
			name: "iso-8859-6 base64",
			raw: "From: sami@example.com\r\nSubject: =?ISO-8859-6?Q?" + qEncode(encode(t, charmap.ISO8859_6, "شارع")) + "?=\r\nMessage-ID: <iso6@example.com>\r\n" +
				"Content-Type: text/plain; charset=ISO-8859-6-I\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				base64.StdEncoding.EncodeToString([]byte(encode(t, charmap.ISO8859_6, arabic))) + "\r\n",
			check: func(t *testing.T, p Parsed) {
				want(t, "text", p.Text, arabic)
				want(t, "subject", p.Subject, "شارع")
			},
		},
		{
			name: "utf-8 quoted-printable",
			raw: "From: \"Zahra\" <z@example.com>\r\nMessage-ID: <u8@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				"=D8=B3=D9=84=D8=A7=D9=85\r\n",
			check: func(t *testing.T, p Parsed) { want(t, "text", p.Text, "سلام") },
		},
		{
			name: "alternative prefers plain",
			raw: mimeMail("multipart/alternative", "",
				part("text/plain; charset=utf-8", "", "plain words"),
				part("text/html; charset=utf-8", "", "<p>html words</p>")),
			check: func(t *testing.T, p Parsed) {
				want(t, "text", p.Text, "plain words")
				if p.FromHTML {
					t.Error("FromHTML set")
				}
			},
		},
		{
			name: "html only becomes text",
			raw: mimeMail("multipart/alternative", "",
				part("text/html; charset=utf-8", "", "<html><head><style>p{color:red}</style><title>t</title></head><body><script>alert(1)</script><p>خط اول</p><p>Line&nbsp;two <a href=\"https://map.example/x\">map</a></p><ul><li>a</li><li>b</li></ul>x<br>y</body></html>")),
			check: func(t *testing.T, p Parsed) {
				want(t, "text", p.Text, "خط اول\n\nLine two map (https://map.example/x)\n\n- a\n- b\n\nx\ny")
			},
		},
		{
			name: "attachment kept, oversize dropped",
			raw: mimeMail("multipart/mixed", "",
				part("text/plain", "", "see photo"),
				part("image/jpeg", "attachment; filename=\"=?utf-8?B?2LnaqdizLmpwZw==?=\"", base64.StdEncoding.EncodeToString([]byte("JPEGDATA")), "base64"),
				part("application/pdf", "attachment; filename=big.pdf", strings.Repeat("A", 2000))),
			check: func(t *testing.T, p Parsed) {
				want(t, "text", p.Text, "see photo")
				if len(p.Attachments) != 1 || p.Attachments[0].Filename != "عکس.jpg" || string(p.Attachments[0].Data) != "JPEGDATA" {
					t.Errorf("attachments = %+v", p.Attachments)
				}
				if len(p.Dropped) != 1 || !strings.HasPrefix(p.Dropped[0], "big.pdf") {
					t.Errorf("dropped = %v", p.Dropped)
				}
			},
		},
		{
			name: "reply threading ids",
			raw:  "From: a@b.c\r\nMessage-ID: <r2@b.c>\r\nIn-Reply-To: <case-1234567890.ab@dargah>\r\nReferences: <root@b.c> <case-1234567890.ab@dargah>\r\n\r\nthanks\r\n",
			check: func(t *testing.T, p Parsed) {
				want(t, "root", p.ThreadRoot(), "root@b.c")
				want(t, "in-reply-to", strings.Join(p.InReplyTo, ","), "case-1234567890.ab@dargah")
			},
		},
		{
			name: "no message-id hashes raw bytes",
			raw:  "From: a@b.c\r\n\r\nhello\r\n",
			check: func(t *testing.T, p Parsed) {
				if !strings.HasPrefix(p.MessageID, "sha256:") {
					t.Errorf("id = %q", p.MessageID)
				}
			},
		},
		{
			name:  "unknown charset keeps the bytes",
			raw:   "From: a@b.c\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nhello \xff\r\n",
			check: func(t *testing.T, p Parsed) { want(t, "text", p.Text, "hello \uFFFD") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tt.raw), Limits{MaxAttachmentBytes: 1000})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, p)
		})
	}
}

func TestParseAutomated(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"Auto-Submitted: auto-replied",
		"Precedence: bulk",
		"Precedence: junk",
		"Precedence: list",
		"List-Id: <news.example.com>",
		"List-Unsubscribe: <mailto:u@example.com>",
		"X-Autoreply: yes",
		"X-Autorespond: on",
		"Return-Path: <>",
	} {
		p, err := Parse([]byte("From: a@b.c\r\n"+h+"\r\n\r\nout of office\r\n"), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Automated == "" {
			t.Errorf("%s: not recognized as automated", h)
		}
	}
	for _, from := range []string{"MAILER-DAEMON@example.com", "postmaster@example.com"} {
		p, _ := Parse([]byte("From: "+from+"\r\n\r\nbounce\r\n"), Limits{})
		if p.Automated == "" {
			t.Errorf("%s: not recognized as automated", from)
		}
	}
	p, _ := Parse([]byte("From: a@b.c\r\nAuto-Submitted: no\r\nReturn-Path: <a@b.c>\r\n\r\nhi\r\n"), Limits{})
	if p.Automated != "" {
		t.Errorf("a person's mail flagged automated: %s", p.Automated)
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	nest := func(n int) string {
		s := "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
		for i := 1; i <= n; i++ {
			s += "--b" + itoa(i-1) + "\r\nContent-Type: multipart/mixed; boundary=b" + itoa(i) + "\r\n\r\n"
		}
		s += "--b" + itoa(n) + "\r\nContent-Type: text/plain\r\n\r\ndeep\r\n"
		for i := n; i >= 0; i-- {
			s += "--b" + itoa(i) + "--\r\n"
		}
		return s
	}
	for name, raw := range map[string]string{
		"broken header":        "From a@b.c\r\nno colon here\r\n\r\nbody",
		"multipart no parts":   "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno boundary ever\r\n",
		"multipart unclosed":   "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhalf",
		"no boundary":          "From: a@b.c\r\nContent-Type: multipart/mixed\r\n\r\n--zz\r\n\r\nx\r\n--zz--\r\n",
		"nesting beyond limit": nest(15),
	} {
		if _, err := Parse([]byte(raw), Limits{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if p, err := Parse([]byte(nest(5)), Limits{}); err != nil || p.Text != "deep" {
		t.Errorf("nesting within limit: %q, %v", p.Text, err)
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	for in, out := range map[string]string{
		"a<b>b</b>c":                                   "abc",
		"<p>one</p><p>two</p>":                         "one\n\ntwo",
		"x &lt; y &amp;&amp; <b>z</b>":                 "x < y && z",
		"5 < 6 and 7 > 3":                              "5 < 6 and 7 > 3",
		"<a href='javascript:evil()'>click</a>":        "click",
		"<a href=\"mailto:a@b.c\">a@b.c</a>":           "a@b.c",
		"<pre>a\n  b</pre>":                            "a\n  b",
		"<!-- hidden -->shown<style>.x{}</style>":      "shown",
		"<SCRIPT>bad()</SCRIPT >ok":                    "ok",
		"<img alt=\"نقشه\" src=x>":                     "نقشه",
		"<table><tr><td>a</td><td>b</td></tr></table>": "a b",
		"<div title=\"a>b\">q</div>":                   "q",
		"unterminated <b":                              "unterminated",
	} {
		if got := htmlToText(in); got != out {
			t.Errorf("htmlToText(%q) = %q, want %q", in, got, out)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(windows1256Mail(f, "seed@x")))
	f.Add([]byte(mimeMail("multipart/alternative", "", part("text/plain", "", "a"), part("text/html", "", "<p>b</p>"))))
	f.Add([]byte(mimeMail("multipart/mixed", "", part("text/plain", "", "a"), part("image/png", "attachment; filename=a.png", "AAAA", "base64"))))
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nx"))
	f.Add([]byte("From: =?utf-8?q?=D8=B3?= <a@b.c>\r\nReferences: <a@b> <c@d>\r\n\r\n<html><a href=x>y"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw, Limits{MaxMessageBytes: 1 << 20, MaxAttachmentBytes: 1 << 16})
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if p.MessageID == "" {
			t.Fatal("empty MessageID")
		}
		for name, s := range map[string]string{"text": p.Text, "subject": p.Subject, "name": p.FromName, "id": p.MessageID} {
			if !isValidUTF8(s) {
				t.Fatalf("%s is not valid UTF-8: %q", name, s)
			}
		}
		_ = htmlToText(string(raw))
	})
}

// Helpers building MIME by hand, so tests show the exact bytes.

func mimeMail(ct, extraHeaders string, parts ...string) string {
	s := "From: Citizen <c@example.com>\r\nMessage-ID: <m-" + itoa(len(parts)) + "@x>\r\nMIME-Version: 1.0\r\n" + extraHeaders +
		"Content-Type: " + ct + "; boundary=BOUND\r\n\r\npreamble\r\n"
	for _, p := range parts {
		s += "--BOUND\r\n" + p + "\r\n"
	}
	return s + "--BOUND--\r\n"
}

func part(ct, disp, body string, cte ...string) string {
	s := "Content-Type: " + ct + "\r\n"
	if disp != "" {
		s += "Content-Disposition: " + disp + "\r\n"
	}
	if len(cte) > 0 {
		s += "Content-Transfer-Encoding: " + cte[0] + "\r\n"
	}
	return s + "\r\n" + body
}

func qEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("=" + strings.ToUpper(hexByte(s[i])))
	}
	return b.String()
}

func hexByte(c byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[c>>4], h[c&15]})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "") == s }

func want(t *testing.T, what, got, wantS string) {
	t.Helper()
	if got != wantS {
		t.Errorf("%s = %q, want %q", what, got, wantS)
	}
}
