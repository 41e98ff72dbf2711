package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dargah137/dargah/internal/digits"
	"io"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dargah137/dargah/cases"
)

// findTrackingCode returns the first valid tracking code in text, written
// with any digits and possibly split by spaces or dashes ("۱۲۳ ۴۵۶-۷۸۹۰").
// Digit runs of another length, or with a wrong check digit, are not codes.
func findTrackingCode(text string) (string, bool) {
	var run []byte
	flush := func() (string, bool) {
		s := string(run)
		run = run[:0]
		if cases.ValidTrackingCode(s) {
			return s, true
		}
		return "", false
	}
	for _, r := range digits.ToASCII(text) {
		switch {
		case r >= '0' && r <= '9':
			run = append(run, byte(r))
		case (r == ' ' || r == '-' || r == '\u200c') && len(run) > 0 && len(run) < cases.TrackingCodeLen:
			// separators inside a code typed in groups
		default:
			if code, ok := flush(); ok {
				return code, true
			}
		}
	}
	return flush()
}

// errBadPhone is returned by normalizePhone for input that is no phone number.
var errBadPhone = errors.New("not a phone number")

// normalizePhone turns what Telegram reports as a contact's phone (digits
// with or without "+", sometimes with spaces) into E.164. Iranian numbers
// written nationally ("0912…") get +98. The result has 8 to 15 digits.
func normalizePhone(raw string) (string, error) {
	s := digits.ToASCII(strings.TrimSpace(raw))
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", fmt.Errorf("%w: %q", errBadPhone, raw)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(s, "+"):
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case strings.HasPrefix(d, "09") && len(d) == 11:
		d = "98" + d[1:]
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: %q", errBadPhone, raw)
	}
	return "+" + d, nil
}

// Callback data of the rating buttons: "rate:<tracking code>:<1-5>".
const ratePrefix = "rate:"

func rateData(code string, n int) string { return fmt.Sprintf("%s%s:%d", ratePrefix, code, n) }

// parseRateData reads a rating button's callback data. Anything else, or a
// code or rating out of range, is rejected: callback data comes back from
// the client and is not to be trusted.
func parseRateData(data string) (code string, rating int, ok bool) {
	rest, ok := strings.CutPrefix(data, ratePrefix)
	if !ok {
		return "", 0, false
	}
	code, n, ok := strings.Cut(rest, ":")
	if !ok || !cases.ValidTrackingCode(code) || len(n) != 1 {
		return "", 0, false
	}
	rating, err := strconv.Atoi(n)
	if err != nil || rating < 1 || rating > 5 {
		return "", 0, false
	}
	return code, rating, true
}

// maxUpdateBytes bounds a webhook body; real updates are a few KiB.
const maxUpdateBytes = 1 << 20

// decodeUpdate reads one webhook update. An update without an id is
// rejected, since idempotency depends on it.
func decodeUpdate(r io.Reader) (tgbotapi.Update, error) {
	var u tgbotapi.Update
	dec := json.NewDecoder(io.LimitReader(r, maxUpdateBytes))
	if err := dec.Decode(&u); err != nil {
		return tgbotapi.Update{}, fmt.Errorf("decode update: %w", err)
	}
	if u.UpdateID <= 0 {
		return tgbotapi.Update{}, errors.New("decode update: update_id is missing")
	}
	return u, nil
}
