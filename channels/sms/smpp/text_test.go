package smpp

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// persian300 is 300 characters of Persian text.
func persian300() string {
	base := "سلام، چراغ خیابان امام رضا ۱۲ روشن نمی‌شود. لطفاً پیگیری کنید. "
	var sb strings.Builder
	for utf8.RuneCountInString(sb.String()) < 300 {
		sb.WriteString(base)
	}
	return string([]rune(sb.String())[:300])
}

func TestGSM7RoundTrip(t *testing.T) {
	t.Parallel()
	var all []rune
	for i, r := range gsmBasic {
		if i != gsmEscape {
			all = append(all, r)
		}
	}
	for _, r := range gsmExt {
		all = append(all, r)
	}
	text := string(all)
	enc, err := EncodeGSM7(text)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := GSMSeptets(text); !ok || n != len(enc) {
		t.Fatalf("GSMSeptets = %d %v, encoded %d", n, ok, len(enc))
	}
	if len(enc) != 127+2*len(gsmExt) {
		t.Fatalf("encoded %d septets", len(enc))
	}
	dec, err := DecodeGSM7(enc)
	if err != nil || dec != text {
		t.Fatalf("round trip: %q %v", dec, err)
	}
}

func TestGSM7(t *testing.T) {
	t.Parallel()
	enc, err := EncodeGSM7("a€[@")
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x61, 0x1B, 0x65, 0x1B, 0x3C, 0x00}; !bytes.Equal(enc, want) {
		t.Fatalf("got % x, want % x", enc, want)
	}
	if _, err := EncodeGSM7("سلام"); err == nil {
		t.Fatal("Persian encoded as GSM")
	}
	if _, err := EncodeGSM7("a\xffb"); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
	for _, bad := range [][]byte{{0x80}, {0x61, 0x1B}} {
		if s, err := DecodeGSM7(bad); err == nil {
			t.Errorf("% x decoded to %q", bad, s)
		}
	}
	// ESC followed by a non-extension septet shows the base character.
	if s, err := DecodeGSM7([]byte{0x1B, 0x41}); err != nil || s != "A" {
		t.Fatalf("ESC A: %q %v", s, err)
	}
}

func TestChooseCoding(t *testing.T) {
	t.Parallel()
	tests := map[string]Coding{
		"Hello {137} €5":  CodingDefault,
		"":                CodingDefault,
		"سلام":            CodingUCS2,
		"مرحبا":           CodingUCS2,
		"hello 😀":         CodingUCS2,
		"ç is not in GSM": CodingUCS2, // GSM has Ç but not ç
	}
	for text, want := range tests {
		if got := ChooseCoding(text); got != want {
			t.Errorf("%q: got %d, want %d", text, got, want)
		}
	}
}

func TestUCS2(t *testing.T) {
	t.Parallel()
	text := "سلام 😀"
	enc, err := EncodeUCS2(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 2*(5+2) {
		t.Fatalf("encoded %d octets", len(enc))
	}
	if dec, err := DecodeUCS2(enc); err != nil || dec != text {
		t.Fatalf("round trip %q %v", dec, err)
	}
	for name, bad := range map[string][]byte{
		"odd length":      {0x06, 0x33, 0x06},
		"lone high":       {0xD8, 0x3D},
		"high then BMP":   {0xD8, 0x3D, 0x00, 0x41},
		"lone low":        {0xDE, 0x00},
		"low then high":   {0xDE, 0x00, 0xD8, 0x3D},
		"high at the end": {0x00, 0x41, 0xD8, 0x3D},
	} {
		if s, err := DecodeUCS2(bad); err == nil {
			t.Errorf("%s: decoded to %q", name, s)
		}
	}
}

func TestDecodeTextCodings(t *testing.T) {
	t.Parallel()
	if s, err := DecodeText(CodingLatin1, []byte{0x63, 0xE9}); err != nil || s != "cé" {
		t.Fatalf("latin1: %q %v", s, err)
	}
	if s, err := DecodeText(CodingIA5, []byte("ok")); err != nil || s != "ok" {
		t.Fatalf("ia5: %q %v", s, err)
	}
	if _, err := DecodeText(CodingIA5, []byte{0xC0}); err == nil {
		t.Fatal("ia5 accepted 0xC0")
	}
	for _, c := range []Coding{0xF5, 0x14, 0x20, 0x04} { // 8-bit data, compressed, binary
		if _, err := DecodeText(c, []byte{1}); err == nil {
			t.Fatalf("coding 0x%02x accepted as text", byte(c))
		}
	}
	// Flash (class 0) messages in GSM 7-bit and UCS-2.
	if s, err := DecodeText(0xF0, []byte("hi")); err != nil || s != "hi" {
		t.Fatalf("0xF0: %q %v", s, err)
	}
	if s, err := DecodeText(0x18, []byte{0x06, 0x33}); err != nil || s != "س" {
		t.Fatalf("0x18: %q %v", s, err)
	}
}

func joinParts(t *testing.T, seg Segments) string {
	t.Helper()
	var all []byte
	for i, p := range seg.Parts {
		if seg.UDH {
			c, rest, err := ParseUDH(p)
			if err != nil || c == nil || int(c.Seq) != i+1 || int(c.Total) != len(seg.Parts) {
				t.Fatalf("part %d: UDH %+v %v", i, c, err)
			}
			p = rest
		}
		// Every part must stand alone: nothing cut in the middle.
		if _, err := DecodeText(seg.Coding, p); err != nil {
			t.Fatalf("part %d does not decode alone: %v", i+1, err)
		}
		all = append(all, p...)
	}
	s, err := DecodeText(seg.Coding, all)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		coding Coding
		parts  int
		// sizes are the text octets of each part (after the UDH).
		sizes []int
	}{
		{"empty", "", CodingDefault, 1, []int{0}},
		{"160 GSM", strings.Repeat("a", 160), CodingDefault, 1, []int{160}},
		{"161 GSM", strings.Repeat("a", 161), CodingDefault, 2, []int{153, 8}},
		{"80 euros is 160 septets", strings.Repeat("€", 80), CodingDefault, 1, []int{160}},
		{"escape not cut", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), CodingDefault, 2, []int{152, 12}},
		{"70 UCS-2", strings.Repeat("س", 70), CodingUCS2, 1, []int{140}},
		{"71 UCS-2", strings.Repeat("س", 71), CodingUCS2, 2, []int{134, 8}},
		{"surrogate not cut", strings.Repeat("س", 66) + "😀" + strings.Repeat("س", 5), CodingUCS2, 2, []int{132, 14}},
		{"persian 300", persian300(), CodingUCS2, 5, []int{134, 134, 134, 134, 64}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seg, err := Split(tc.text, 42)
			if err != nil {
				t.Fatal(err)
			}
			if seg.Coding != tc.coding || len(seg.Parts) != tc.parts || seg.UDH != (tc.parts > 1) {
				t.Fatalf("coding %d, %d parts, udh %v", seg.Coding, len(seg.Parts), seg.UDH)
			}
			for i, p := range seg.Parts {
				n := len(p)
				if seg.UDH {
					n -= 6
					if !bytes.Equal(p[:6], []byte{5, 0, 3, 42, byte(tc.parts), byte(i + 1)}) {
						t.Fatalf("part %d UDH % x", i+1, p[:6])
					}
				}
				if n != tc.sizes[i] {
					t.Fatalf("part %d has %d text octets, want %d", i+1, n, tc.sizes[i])
				}
			}
			if got := joinParts(t, seg); got != tc.text {
				t.Fatalf("rejoined text differs:\n got %q\nwant %q", got, tc.text)
			}
		})
	}
	if _, err := Split(strings.Repeat("س", 67*256), 1); err == nil {
		t.Fatal("256 parts accepted")
	}
	if _, err := Split("a\xff", 1); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

func TestParseUDH(t *testing.T) {
	t.Parallel()
	c, rest, err := ParseUDH([]byte{6, 0x08, 4, 0x12, 0x34, 3, 2, 'x'})
	if err != nil || *c != (Concat{Ref: 0x1234, Total: 3, Seq: 2}) || string(rest) != "x" {
		t.Fatalf("16-bit: %+v %q %v", c, rest, err)
	}
	// Another element before the concatenation one is skipped.
	c, rest, err = ParseUDH([]byte{8, 0x24, 1, 0, 0x00, 3, 9, 2, 1, 'y'})
	if err != nil || *c != (Concat{Ref: 9, Total: 2, Seq: 1}) || string(rest) != "y" {
		t.Fatalf("with other IE: %+v %q %v", c, rest, err)
	}
	for name, bad := range map[string][]byte{
		"empty":          {},
		"udhl past end":  {9, 0, 3},
		"ie past end":    {3, 0, 3, 1},
		"bad 8-bit len":  {4, 0, 2, 1, 1},
		"seq over total": {5, 0, 3, 1, 2, 3},
		"seq zero":       {5, 0, 3, 1, 2, 0},
		"bad 16-bit len": {5, 8, 3, 1, 2, 1},
	} {
		if _, _, err := ParseUDH(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReassembler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	text := persian300()
	seg, err := Split(text, 7)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := NewMemoryStore()
	r := NewReassembler(store, 5*time.Minute, clock)

	// Out of order, with a duplicate redelivery of part 2.
	var got *Incoming
	for i, k := range []int{3, 1, 2, 5, 2, 4} {
		c, rest, err := ParseUDH(seg.Parts[k-1])
		if err != nil {
			t.Fatal(err)
		}
		in, err := r.Add(ctx, Part{From: "989121234567", To: "137", Coding: seg.Coding, Data: rest}, c)
		if err != nil {
			t.Fatal(err)
		}
		if in != nil {
			if i != 5 {
				t.Fatalf("complete after %d parts", i+1)
			}
			got = in
		}
	}
	if got == nil || got.Text != text || len(got.PartsIDs) != 5 || got.Partial {
		t.Fatalf("got %+v", got)
	}
	if store.Len() != 1 {
		t.Fatal("parts dropped before Done")
	}
	if err := r.Done(ctx, got); err != nil || store.Len() != 0 {
		t.Fatalf("done: %v, %d pending", err, store.Len())
	}

	// SAR-style concatenation with GSM text, and a part that never comes.
	g, err := Split(strings.Repeat("Hello 137! ", 30), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 3} {
		_, rest, _ := ParseUDH(g.Parts[k-1])
		in, err := r.Add(ctx, Part{From: "1", To: "137", Coding: g.Coding, Data: rest}, &Concat{Ref: 300, Total: 3, Seq: uint8(k)})
		if err != nil || in != nil {
			t.Fatalf("part %d: %+v %v", k, in, err)
		}
	}
	if exp, err := r.Expired(ctx); err != nil || len(exp) != 0 {
		t.Fatalf("expired too soon: %v %v", exp, err)
	}
	now = now.Add(6 * time.Minute)
	exp, err := r.Expired(ctx)
	if err != nil || len(exp) != 1 {
		t.Fatalf("expired: %v %v", exp, err)
	}
	if !exp[0].Partial || !strings.Contains(exp[0].Text, "…") || !strings.HasPrefix(exp[0].Text, "Hello 137!") {
		t.Fatalf("partial: %+v", exp[0])
	}
	_ = r.Done(ctx, exp[0])
	if store.Len() != 0 {
		t.Fatal("expired parts kept after Done")
	}

	// An undecodable complete message is an error and forgotten.
	for k, data := range [][]byte{{0x06}, {0x33, 0x06}} {
		k++
		in, err := r.Add(ctx, Part{From: "2", To: "137", Coding: CodingUCS2, Data: data}, &Concat{Ref: 1, Total: 2, Seq: uint8(k)})
		if k == 2 && (err == nil || in != nil) {
			t.Fatalf("undecodable: %+v %v", in, err)
		}
	}
	if store.Len() != 0 {
		t.Fatal("undecodable parts kept")
	}
	// Single part, no concatenation.
	in, err := r.Add(ctx, Part{From: "3", To: "137", Coding: CodingDefault, Data: []byte("hi")}, nil)
	if err != nil || in.Text != "hi" || len(in.PartsIDs) != 1 {
		t.Fatalf("single: %+v %v", in, err)
	}
}

func TestParseReceiptText(t *testing.T) {
	t.Parallel()
	r, err := ParseReceiptText("id:5A000001 sub:001 dlvrd:001 submit date:2611271200 done date:261127120130 stat:DELIVRD err:000 Text:سلام دنیا", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Receipt{MessageID: "5A000001", Sub: 1, Dlvrd: 1,
		SubmitDate: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		DoneDate:   time.Date(2026, 11, 27, 12, 1, 30, 0, time.UTC),
		Stat:       "DELIVRD", State: StateDelivered, Err: "000", Text: "سلام دنیا"}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	if !r.Delivered() || !r.State.Final() {
		t.Fatal("delivered receipt not final")
	}
	r, err = ParseReceiptText("id:abc stat:UNDELIV err:034", time.UTC)
	if err != nil || r.State != StateUndeliverable || r.Err != "034" || !r.SubmitDate.IsZero() {
		t.Fatalf("short receipt: %+v %v", r, err)
	}
	for _, bad := range []string{"", "hello", "stat:DELIVRD", "id:1 sub:1"} {
		if _, err := ParseReceiptText(bad, nil); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseReceiptTLVs(t *testing.T) {
	t.Parallel()
	sm := &SM{Source: "989121234567", Dest: "137", ESMClass: ESMTypeDeliveryReceipt, ShortMessage: []byte("odd text")}
	sm.TLVs.SetCString(TagReceiptedMessageID, "77")
	sm.TLVs.SetUint8(TagMessageState, uint8(StateExpired))
	r, err := ParseReceipt(sm, nil)
	if err != nil || r.MessageID != "77" || r.State != StateExpired || r.Stat != "EXPIRED" || r.From != "989121234567" {
		t.Fatalf("%+v %v", r, err)
	}
	sm.TLVs = nil
	if _, err := ParseReceipt(sm, nil); err == nil {
		t.Fatal("receipt without id parsed")
	}
}

func FuzzParseReceiptText(f *testing.F) {
	f.Add("id:5A000001 sub:001 dlvrd:001 submit date:2611271200 done date:2611271201 stat:DELIVRD err:000 text:hi")
	f.Add("ID:1 STAT:UNDELIV")
	f.Add("id: sub: dlvrd: submit date:99999999999 done date: stat: err: text:")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReceiptText(s, nil)
		if err == nil && (r.MessageID == "" || r.Stat == "") {
			t.Fatalf("accepted %q as %+v", s, r)
		}
	})
}

// FuzzSplit checks that any valid text splits into parts that each decode
// alone and rejoin to the same text.
func FuzzSplit(f *testing.F) {
	f.Add("hello")
	f.Add(persian300())
	f.Add(strings.Repeat("a€", 100))
	f.Add(strings.Repeat("س😀", 60))
	f.Fuzz(func(t *testing.T, s string) {
		seg, err := Split(s, 1)
		if err != nil {
			if utf8.ValidString(s) && len(s) < 200*67 {
				t.Fatalf("split %q: %v", s, err)
			}
			return
		}
		if got := joinParts(t, seg); got != s {
			t.Fatalf("rejoined %q, want %q", got, s)
		}
	})
}
