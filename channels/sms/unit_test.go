package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/channels/sms/smpp"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"09121234567", "+989121234567"},
		{"9121234567", "+989121234567"},
		{"989121234567", "+989121234567"},
		{"+989121234567", "+989121234567"},
		{"00989121234567", "+989121234567"},
		{"۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"},
		{"٠٩١٢١٢٣٤٥٦٧", "+989121234567"},
		{"+98 (0)912 123 4567", "+989121234567"},
		{"05131234567", "+985131234567"},
		{"+9647701234567", "+9647701234567"},
		{"", ""},
		{"MCI", ""},
		{"12345", ""},
		{"+98012", ""},
		{"0912123456", ""},
	} {
		got, err := NormalizePhone(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ format, want string }{
		{FormatE164, "+989121234567"}, {FormatInternational, "989121234567"}, {FormatNational, "09121234567"}, {"", "989121234567"},
	} {
		if got := formatPhone("+989121234567", tc.format); got != tc.want {
			t.Errorf("formatPhone(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
	if got := formatPhone("+9647701234567", FormatNational); got != "009647701234567" {
		t.Errorf("foreign national format = %q", got)
	}
}

func validHTTP() Settings {
	return Settings{
		Provider: "http", SourceAddr: "3000137", WebhookPath: "/sms/in", Auth: "hmac", AuthName: "X-Sig", SecretEnv: "SMS_UNIT_SECRET",
		Incoming: Fields{From: "from", Text: "text", ID: "id"},
		Send:     Send{URL: "https://panel.example/send", To: "to", Text: "text"},
		DLR:      DLR{Path: "/sms/dlr", ID: "id", Status: "status"},
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("SMS_UNIT_SECRET", "s3cret")
	t.Setenv("SMS_UNIT_EMPTY", "")
	ok := validHTTP()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid http settings: %v", err)
	}
	smppOK := Settings{Provider: "smpp", SourceAddr: "137", Addr: "127.0.0.1:2775", SystemID: "dargah", Password: "pw"}
	if err := smppOK.Validate(); err != nil {
		t.Fatalf("valid smpp settings: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(*Settings)
		want string
	}{
		"no provider":     {func(s *Settings) { s.Provider = "" }, "provider is required"},
		"bad provider":    {func(s *Settings) { s.Provider = "fax" }, "not smpp or http"},
		"no source":       {func(s *Settings) { s.SourceAddr = "" }, "source_addr"},
		"no webhook":      {func(s *Settings) { s.WebhookPath = "" }, "webhook_path is required"},
		"relative path":   {func(s *Settings) { s.WebhookPath = "sms" }, "starting with /"},
		"same paths":      {func(s *Settings) { s.DLR.Path = "/sms/in" }, "same as webhook_path"},
		"bad auth":        {func(s *Settings) { s.Auth = "magic" }, "not header, query, hmac"},
		"no auth name":    {func(s *Settings) { s.AuthName = "" }, "auth_name"},
		"empty secret":    {func(s *Settings) { s.SecretEnv = "SMS_UNIT_EMPTY" }, "empty or unset"},
		"none without ip": {func(s *Settings) { s.Auth = "none" }, "needs allow_ips"},
		"bad cidr":        {func(s *Settings) { s.AllowIPs = []string{"10.0.0/8"} }, "not a CIDR"},
		"no from field":   {func(s *Settings) { s.Incoming.From = "" }, "incoming.from"},
		"bad send url":    {func(s *Settings) { s.Send.URL = "ftp://x" }, "not an http(s) URL"},
		"get json":        {func(s *Settings) { s.Send.Method = "get"; s.Send.Format = "json" }, "GET carries form"},
		"half auth":       {func(s *Settings) { s.Send.AuthHeader = "Authorization" }, "go together"},
		"smpp keys":       {func(s *Settings) { s.Addr = "x:1" }, "for provider smpp"},
		"bad language":    {func(s *Settings) { s.Language = "de" }, "language"},
		"dlr fields":      {func(s *Settings) { s.DLR.Status = "" }, "dlr.id and dlr.status"},
	} {
		s := validHTTP()
		tc.mod(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want %q", name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		mod  func(*Settings)
		want string
	}{
		"no addr":       {func(s *Settings) { s.Addr = "" }, "addr is required"},
		"bad addr":      {func(s *Settings) { s.Addr = "smsc" }, "addr"},
		"both password": {func(s *Settings) { s.PasswordEnv = "SMS_UNIT_SECRET" }, "both set"},
		"long password": {func(s *Settings) { s.Password = "123456789" }, "password is longer"},
		"bind mode":     {func(s *Settings) { s.BindMode = "receiver" }, "bind mode"},
		"dest format":   {func(s *Settings) { s.DestFormat = "x" }, "dest_format"},
		"http keys":     {func(s *Settings) { s.WebhookPath = "/x" }, "for provider http"},
	} {
		s := smppOK
		tc.mod(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("smpp %s: Validate() = %v, want %q", name, err, tc.want)
		}
	}
}

func TestParseBody(t *testing.T) {
	t.Parallel()
	f := Fields{From: "from", To: "to", Text: "data.text", ID: "id", Timestamp: "ts"}
	recs, err := parseBody("POST", nil, "application/json; charset=utf-8", "",
		[]byte(`[{"from":"09121234567","id":12,"ts":1764230400,"data":{"text":"سلام"}},{"from":"+989350000000","id":"a","data":{"text":"x"}}]`))
	if err != nil || len(recs) != 2 {
		t.Fatalf("parseBody = %d records, %v", len(recs), err)
	}
	in, err := readIncoming(recs[0], f)
	if err != nil || in.From != "09121234567" || in.Text != "سلام" || in.ID != "12" || !in.At.Equal(time.Unix(1764230400, 0)) {
		t.Fatalf("readIncoming = %+v, %v", in, err)
	}
	recs, err = parseBody("POST", url.Values{"id": {"q1"}}, "application/x-www-form-urlencoded", "", []byte("from=0912&data.text=hi"))
	if err != nil {
		t.Fatal(err)
	}
	if in, err = readIncoming(recs[0], f); err != nil || in.ID != "q1" || in.Text != "hi" {
		t.Fatalf("form readIncoming = %+v, %v", in, err)
	}
	recs, _ = parseBody("GET", url.Values{"from": {"0912"}, "data.text": {"x"}}, "", "", nil)
	if in, err = readIncoming(recs[0], f); err != nil || in.From != "0912" {
		t.Fatalf("query readIncoming = %+v, %v", in, err)
	}
	for _, bad := range []string{`{`, `"x"`, `[]`, `[1]`, `{} {}`} {
		if _, err := parseBody("POST", nil, "application/json", "", []byte(bad)); err == nil {
			t.Errorf("parseBody(%q) accepted", bad)
		}
	}
	recs, _ = parseBody("POST", nil, "application/json", "", []byte(`{"from":"","data":{"text":"x"}}`))
	if _, err := readIncoming(recs[0], f); err == nil {
		t.Error("empty sender accepted")
	}
	for in, want := range map[string]time.Time{
		"1764230400":           time.Unix(1764230400, 0).UTC(),
		"1764230400123":        time.UnixMilli(1764230400123).UTC(),
		"2025-11-27T08:00:00Z": time.Date(2025, 11, 27, 8, 0, 0, 0, time.UTC),
		"2025-11-27 08:00:00":  time.Date(2025, 11, 27, 8, 0, 0, 0, time.UTC),
		"yesterday":            {},
	} {
		if got := parseTimestamp(in); !got.Equal(want) {
			t.Errorf("parseTimestamp(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCheckSignature(t *testing.T) {
	t.Parallel()
	secret := []byte("k")
	body := []byte(`{"a":1}`)
	const otherSig = "1b0b4ff0e1b8ce2e5dc8b5d4d8bd8c07a74b3a4a77e0f5a5c9bb4d2bd1ed4e43"
	h := func(v string) func(string) string { return func(string) string { return v } }
	good := hmacHex(secret, body)
	if !checkSignature("hmac", "X", secret, h(good), nil, body) || !checkSignature("hmac", "X", secret, h("sha256="+good), nil, body) {
		t.Error("good hex signature refused")
	}
	for _, bad := range []string{"", otherSig, "zz", good[:10]} {
		if checkSignature("hmac", "X", secret, h(bad), nil, body) {
			t.Errorf("signature %q accepted", bad)
		}
	}
	if checkSignature("header", "X", nil, h(""), nil, body) || checkSignature("hmac", "X", nil, h(hmacHex(nil, body)), nil, body) {
		t.Error("an empty secret matched")
	}
	if !checkSignature("header", "X", secret, h("k"), nil, body) || checkSignature("header", "X", secret, h("kk"), nil, body) {
		t.Error("header secret")
	}
	if !checkSignature("query", "key", secret, h(""), url.Values{"key": {"k"}}, body) || checkSignature("query", "key", secret, h("k"), nil, body) {
		t.Error("query secret")
	}
	s := validHTTP()
	s.Auth, s.AuthName, s.SecretEnv = "none", "", ""
	s.AllowIPs = []string{"10.0.0.0/8", "192.0.2.7"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for remote, want := range map[string]bool{"10.1.2.3:555": true, "192.0.2.7:1": true, "192.0.2.8:1": false, "[::ffff:10.0.0.1]:80": true, "garbage": false} {
		if got := allowedIP(s.prefixes, remote); got != want {
			t.Errorf("allowedIP(%q) = %v", remote, got)
		}
	}
}

func TestKVPartStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := casesqlite.Open(ctx, filepath.Join(t.TempDir(), "kv.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ps := NewKVPartStore(st, nil, "sms", "me")
	p2 := smpp.Part{From: "989121234567", To: "137", Ref: 7, Total: 3, Seq: 2, Coding: smpp.CodingUCS2, Data: []byte{0, 'b'}, ReceivedAt: t0.Add(time.Second)}
	p1 := p2
	p1.Seq, p1.Data, p1.ReceivedAt = 1, []byte{0, 'a'}, t0.Add(2*time.Second)
	if parts, err := ps.PartPut(ctx, "k1", p2); err != nil || len(parts) != 1 {
		t.Fatalf("PartPut = %v, %v", parts, err)
	}
	if parts, err := ps.PartPut(ctx, "k1", p1); err != nil || len(parts) != 2 {
		t.Fatalf("PartPut = %v, %v", parts, err)
	}
	// A restart: a new store over the same KV sees the parts.
	ps = NewKVPartStore(st, nil, "sms", "me")
	if parts, err := ps.PartPut(ctx, "k1", p1); err != nil || len(parts) != 2 || string(parts[0].Data) != "\x00b" {
		t.Fatalf("PartPut after restart = %v, %v", parts, err)
	}
	if _, err := ps.PartPut(ctx, "k2", smpp.Part{Seq: 1, Total: 2, ReceivedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := ps.PartsBefore(ctx, t0.Add(time.Minute))
	if err != nil || len(got) != 1 || len(got["k1"]) != 2 {
		t.Fatalf("PartsBefore = %v, %v", got, err)
	}
	if err := ps.PartDelete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := ps.Pending(ctx); n != 1 {
		t.Fatalf("pending after delete = %d", n)
	}
	// The reassembler over it joins parts across a restart.
	r := smpp.NewReassembler(ps, time.Minute, func() time.Time { return t0 })
	seg, _ := smpp.Split(strings.Repeat("سلام ", 30), 9)
	var in *smpp.Incoming
	for i := len(seg.Parts) - 1; i >= 0; i-- {
		c, body, err := smpp.ParseUDH(seg.Parts[i])
		if err != nil {
			t.Fatal(err)
		}
		r = smpp.NewReassembler(NewKVPartStore(st, nil, "sms", "me"), time.Minute, func() time.Time { return t0 })
		if in, err = r.Add(ctx, smpp.Part{From: "a", To: "137", Coding: seg.Coding, Data: body}, c); err != nil {
			t.Fatal(err)
		}
	}
	if in == nil || in.Text != strings.Repeat("سلام ", 30) {
		t.Fatalf("reassembled = %+v", in)
	}
}

func hmacHex(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
