package gateway

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

func valid() Message {
	return Message{Portal: "web", PortalKind: "webform", PortalMessageID: "1", Text: "چاله", ReceivedAt: time.Now()}
}

func TestMessageValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Message)
		field string // "" = valid
	}{
		{"valid", func(*Message) {}, ""},
		{"location only", func(m *Message) { m.Text = ""; m.Location = &Location{Lat: 36.29, Long: 59.6} }, ""},
		{"attachment only", func(m *Message) { m.Text = ""; m.Attachments = []Attachment{{ID: "a"}} }, ""},
		{"no portal", func(m *Message) { m.Portal = "" }, "portal is required"},
		{"no kind", func(m *Message) { m.PortalKind = "" }, "portal_kind"},
		{"no portal id", func(m *Message) { m.PortalMessageID = "" }, "portal_message_id"},
		{"blank", func(m *Message) { m.Text = " \n" }, "text, attachment or location"},
		{"bad utf8", func(m *Message) { m.Text = "a\xffb" }, "UTF-8"},
		{"NUL in a name", func(m *Message) { m.Contact.Name = "a\x00" }, "contact.name contains a NUL"},
		{"too long", func(m *Message) { m.Text = strings.Repeat("x", MaxTextBytes+1) }, "more than"},
		{"language", func(m *Message) { m.Language = "de" }, "language"},
		{"lat range", func(m *Message) { m.Location = &Location{Lat: 91, Long: 1} }, "out of range"},
		{"empty location", func(m *Message) { m.Location = &Location{} }, "lat/long or an address"},
		{"no time", func(m *Message) { m.ReceivedAt = time.Time{} }, "received_at"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := valid()
			c.edit(&m)
			err := m.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %v, want one naming %q", err, c.field)
			}
		})
	}
}

func TestNewIDSortsByTimeAndIsUnique(t *testing.T) {
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	var ids []string
	for i := 0; i < 1000; i++ {
		id := NewID(base.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || seen[id] {
			t.Fatalf("id %q: length %d, repeated %v", id, len(id), seen[id])
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Error("ids made later do not sort later")
	}
}

func TestPermanent(t *testing.T) {
	base := errors.New("unknown service")
	err := fmt.Errorf("route: %w", Permanent(base))
	if !IsPermanent(err) || !errors.Is(err, base) {
		t.Errorf("wrapped permanent error lost its mark or cause: %v", err)
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Error("plain errors are not permanent; Permanent(nil) is nil")
	}
}
