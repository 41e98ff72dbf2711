package smpp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MessageState is the message_state TLV (§5.3.2.35).
type MessageState uint8

// Message states.
const (
	StateUnknownNone   MessageState = 0 // not given
	StateEnroute       MessageState = 1
	StateDelivered     MessageState = 2
	StateExpired       MessageState = 3
	StateDeleted       MessageState = 4
	StateUndeliverable MessageState = 5
	StateAccepted      MessageState = 6
	StateUnknown       MessageState = 7
	StateRejected      MessageState = 8
)

var statByText = map[string]MessageState{
	"ENROUTE": StateEnroute, "DELIVRD": StateDelivered, "EXPIRED": StateExpired,
	"DELETED": StateDeleted, "UNDELIV": StateUndeliverable, "ACCEPTD": StateAccepted,
	"UNKNOWN": StateUnknown, "REJECTD": StateRejected,
}

// Final reports whether no further receipt is expected for the message.
func (s MessageState) Final() bool {
	switch s {
	case StateDelivered, StateExpired, StateDeleted, StateUndeliverable, StateRejected:
		return true
	}
	return false
}

// Receipt is an SMSC delivery receipt for a message we submitted, parsed
// from the short_message text (SMPP 3.4 Appendix B) and the
// receipted_message_id / message_state TLVs, which win when present.
type Receipt struct {
	// MessageID is the id the SMSC gave in submit_sm_resp.
	MessageID string
	// Sub and Dlvrd are the submitted and delivered counts (distribution
	// lists; 1 for a plain message).
	Sub, Dlvrd int
	// SubmitDate and DoneDate are zero when missing or unparsable.
	SubmitDate, DoneDate time.Time
	// Stat is the state text: DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD,
	// UNKNOWN, REJECTD, ENROUTE.
	Stat  string
	State MessageState
	// Err is the network-specific error code as sent.
	Err string
	// Text is the start of the original message, as sent in the receipt.
	Text string
	// From is the receipt's source (the handset), To our address.
	From, To   string
	ReceivedAt time.Time
}

// Delivered reports whether the message reached the handset.
func (r Receipt) Delivered() bool { return r.State == StateDelivered }

var receiptKeys = []string{"id:", "sub:", "dlvrd:", "submit date:", "done date:", "stat:", "err:", "text:"}

// ParseReceiptText parses "id:… sub:… dlvrd:… submit date:YYMMDDhhmm done
// date:YYMMDDhhmm stat:DELIVRD err:… text:…". Keys match case-insensitively
// and may be missing, except id and stat. Dates are read in loc (UTC when
// nil); ten or twelve digits (with seconds) are accepted.
func ParseReceiptText(s string, loc *time.Location) (Receipt, error) {
	if loc == nil {
		loc = time.UTC
	}
	lower := asciiLower(s)
	type span struct{ key, start, end int } // value s[start:end]
	var found []span
	pos := 0
	for k, key := range receiptKeys {
		i := indexKey(lower, key, pos)
		if i < 0 {
			continue
		}
		if n := len(found); n > 0 {
			found[n-1].end = i
		}
		found = append(found, span{key: k, start: i + len(key), end: len(s)})
		pos = i + len(key)
	}
	var r Receipt
	for _, f := range found {
		v := strings.TrimSpace(s[f.start:f.end])
		switch receiptKeys[f.key] {
		case "id:":
			r.MessageID = v
		case "sub:":
			r.Sub, _ = strconv.Atoi(v)
		case "dlvrd:":
			r.Dlvrd, _ = strconv.Atoi(v)
		case "submit date:":
			r.SubmitDate = parseReceiptDate(v, loc)
		case "done date:":
			r.DoneDate = parseReceiptDate(v, loc)
		case "stat:":
			r.Stat = strings.ToUpper(v)
		case "err:":
			r.Err = v
		case "text:":
			r.Text = s[f.start:f.end]
			r.Text = strings.TrimPrefix(r.Text, " ")
		}
	}
	if r.MessageID == "" {
		return r, fmt.Errorf("smpp: delivery receipt without id: %q", truncate(s, 80))
	}
	if r.Stat == "" {
		return r, fmt.Errorf("smpp: delivery receipt %s without stat", r.MessageID)
	}
	r.State = statByText[r.Stat]
	return r, nil
}

// ParseReceipt builds a Receipt from a deliver_sm whose esm_class marks a
// delivery receipt. The receipted_message_id and message_state TLVs, when
// present, are preferred to the text, which may then be absent or odd.
func ParseReceipt(sm *SM, loc *time.Location) (Receipt, error) {
	payload, err := sm.Payload()
	if err != nil {
		return Receipt{}, err
	}
	text, derr := DecodeText(Coding(sm.DataCoding), payload)
	r, perr := ParseReceiptText(text, loc)
	if derr != nil {
		perr = derr
	}
	id, hasID := sm.TLVs.CString(TagReceiptedMessageID)
	st, hasState := sm.TLVs.Uint8(TagMessageState)
	if hasID && id != "" {
		r.MessageID = id
	}
	if hasState {
		r.State = MessageState(st)
		if r.Stat == "" {
			for k, v := range statByText {
				if v == r.State {
					r.Stat = k
				}
			}
		}
	}
	if perr != nil && (r.MessageID == "" || r.State == StateUnknownNone) {
		return r, perr
	}
	r.From, r.To = sm.Source, sm.Dest
	return r, nil
}

func parseReceiptDate(v string, loc *time.Location) time.Time {
	layout := ""
	switch len(v) {
	case 10:
		layout = "0601021504"
	case 12:
		layout = "060102150405"
	default:
		return time.Time{}
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

// indexKey finds key at or after from where it starts a word, so "id:"
// does not match inside "sid:".
func indexKey(lower, key string, from int) int {
	for from <= len(lower) {
		i := strings.Index(lower[from:], key)
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || lower[i-1] == ' ' || lower[i-1] == '\t' {
			return i
		}
		from = i + 1
	}
	return -1
}

// asciiLower lowercases ASCII letters only, keeping byte offsets intact.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
