package sms

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxWebhookBody bounds a webhook body; a panel batching messages stays
// far below it.
const maxWebhookBody = 256 << 10

// maxRecords bounds the messages in one JSON array body.
const maxRecords = 100

// errMalformed wraps webhook bodies that cannot be read (answered 400).
var errMalformed = errors.New("malformed webhook body")

// record is one message or report of a webhook body; get looks a field
// up by name (dotted for nested JSON).
type record interface {
	get(name string) (string, bool)
}

type formRecord struct{ body, query url.Values }

func (f formRecord) get(name string) (string, bool) {
	if v, ok := f.body[name]; ok && len(v) > 0 {
		return v[0], true
	}
	if v, ok := f.query[name]; ok && len(v) > 0 {
		return v[0], true
	}
	return "", false
}

type jsonRecord struct {
	obj   map[string]any
	query url.Values
}

func (j jsonRecord) get(name string) (string, bool) {
	if v, ok := jsonPath(j.obj, name); ok {
		return v, true
	}
	return formRecord{query: j.query}.get(name)
}

// jsonPath follows a dotted path ("entries.0.messageid") through decoded
// JSON and returns the scalar it ends on.
func jsonPath(v any, path string) (string, bool) {
	cur := v
	for _, k := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			x, ok := c[k]
			if !ok {
				return "", false
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return "", false
			}
			cur = c[i]
		default:
			return "", false
		}
	}
	switch x := cur.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// parseBody reads a webhook body into records. format is "form", "json" or
// empty to go by contentType (JSON when it says json, else a form; a GET
// carries its fields in the query). A JSON body is one object or an array
// of objects (panels that batch).
func parseBody(method string, query url.Values, contentType, format string, body []byte) ([]record, error) {
	if format == "" {
		mt, _, _ := mime.ParseMediaType(contentType)
		switch {
		case strings.Contains(mt, "json"):
			format = "json"
		default:
			format = "form"
		}
	}
	if format == "form" {
		if method == "GET" || len(bytes.TrimSpace(body)) == 0 {
			return []record{formRecord{query: query}}, nil
		}
		if !utf8.Valid(body) {
			return nil, fmt.Errorf("%w: form is not UTF-8", errMalformed)
		}
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		return []record{formRecord{body: vals, query: query}}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after JSON", errMalformed)
	}
	switch x := v.(type) {
	case map[string]any:
		return []record{jsonRecord{obj: x, query: query}}, nil
	case []any:
		if len(x) == 0 || len(x) > maxRecords {
			return nil, fmt.Errorf("%w: JSON array of %d items (want 1 to %d)", errMalformed, len(x), maxRecords)
		}
		out := make([]record, 0, len(x))
		for i, e := range x {
			obj, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: item %d is not an object", errMalformed, i)
			}
			out = append(out, jsonRecord{obj: obj, query: query})
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: JSON is not an object or array", errMalformed)
}

// incomingSMS is one message read from a webhook record.
type incomingSMS struct {
	From, To, Text, ID string
	At                 time.Time // zero when absent or unreadable
}

// readIncoming takes the configured fields out of rec.
func readIncoming(rec record, f Fields) (incomingSMS, error) {
	var in incomingSMS
	var ok bool
	if in.From, ok = rec.get(f.From); !ok || strings.TrimSpace(in.From) == "" {
		return in, fmt.Errorf("%w: field %q (sender) is missing", errMalformed, f.From)
	}
	if in.Text, ok = rec.get(f.Text); !ok {
		return in, fmt.Errorf("%w: field %q (text) is missing", errMalformed, f.Text)
	}
	if !utf8.ValidString(in.Text) || !utf8.ValidString(in.From) {
		return in, fmt.Errorf("%w: text is not UTF-8", errMalformed)
	}
	if f.To != "" {
		in.To, _ = rec.get(f.To)
	}
	if f.ID != "" {
		in.ID, _ = rec.get(f.ID)
		in.ID = strings.TrimSpace(in.ID)
		if len(in.ID) > 128 || !utf8.ValidString(in.ID) {
			return in, fmt.Errorf("%w: message id is longer than 128 bytes or not UTF-8", errMalformed)
		}
	}
	if f.Timestamp != "" {
		if v, ok := rec.get(f.Timestamp); ok {
			in.At = parseTimestamp(v)
		}
	}
	return in, nil
}

// parseTimestamp reads Unix seconds or milliseconds, RFC 3339, or
// "2006-01-02 15:04:05" (taken as UTC); anything else is zero.
func parseTimestamp(v string) time.Time {
	v = strings.TrimSpace(asciiDigits(v))
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		if n > 1e12 {
			return time.UnixMilli(n).UTC()
		}
		if n < 1e11 {
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// checkSignature verifies a webhook's secret the configured way.
func checkSignature(mode, name string, secret []byte, header func(string) string, query url.Values, body []byte) bool {
	if mode != "none" && len(secret) == 0 {
		return false // an unset secret must not match an absent one
	}
	switch mode {
	case "none":
		return true
	case "header":
		return subtle.ConstantTimeCompare([]byte(header(name)), secret) == 1
	case "query":
		return subtle.ConstantTimeCompare([]byte(query.Get(name)), secret) == 1
	case "hmac":
		got := strings.TrimSpace(header(name))
		got = strings.TrimPrefix(got, "sha256=")
		if got == "" {
			return false
		}
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		want := m.Sum(nil)
		for _, dec := range []func(string) ([]byte, error){
			hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, base64.URLEncoding.DecodeString,
		} {
			if b, err := dec(got); err == nil && hmac.Equal(b, want) {
				return true
			}
		}
		return false
	}
	return false
}

// allowedIP reports whether remote (host:port) is in one of prefixes; no
// prefixes allow every address.
func allowedIP(prefixes []netip.Prefix, remote string) bool {
	if len(prefixes) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(remote)
	var a netip.Addr
	if err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remote); err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
