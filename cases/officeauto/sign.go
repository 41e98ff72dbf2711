package officeauto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Header names of a webhook request.
const (
	HeaderSignature = "X-Dargah-Signature"
	HeaderEventID   = "X-Dargah-Event-Id"
	HeaderTimestamp = "X-Dargah-Timestamp"
	HeaderAttempt   = "X-Dargah-Attempt"
)

const sigPrefix = "sha256="

// Sign returns the X-Dargah-Signature value for body: "sha256=" and the
// lowercase hex HMAC-SHA256 of the raw body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return sigPrefix + hex.EncodeToString(m.Sum(nil))
}

// Verification errors; Verify wraps none of them further, compare with errors.Is.
var (
	ErrNoSignature       = errors.New("officeauto: no signature")
	ErrMalformedHeader   = errors.New("officeauto: malformed signature header")
	ErrSignatureMismatch = errors.New("officeauto: signature mismatch")
	ErrEmptySecret       = errors.New("officeauto: empty secret")
)

// maxSignatureHeader bounds the header Verify parses: a few signatures
// during a secret rotation, never kilobytes.
const maxSignatureHeader = 1024

// Verify checks an X-Dargah-Signature header against body for receivers.
// The header is one or more comma-separated "sha256=<64 hex digits>"
// values (several while a secret rotates); any match passes. Hex is
// case-insensitive, surrounding spaces are ignored, other schemes are
// skipped, and the comparison is constant-time.
func Verify(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return ErrEmptySecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrNoSignature
	}
	if len(header) > maxSignatureHeader {
		return ErrMalformedHeader
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	want := m.Sum(nil)
	seen := false
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		scheme, value, ok := strings.Cut(part, "=")
		if !ok {
			return ErrMalformedHeader
		}
		if !strings.EqualFold(scheme, "sha256") {
			continue // a future scheme next to ours
		}
		if len(value) != 2*sha256.Size {
			return ErrMalformedHeader
		}
		got, err := hex.DecodeString(value)
		if err != nil {
			return ErrMalformedHeader
		}
		seen = true
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if !seen {
		return ErrNoSignature
	}
	return ErrSignatureMismatch
}
