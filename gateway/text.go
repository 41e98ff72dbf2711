package gateway

import (
	"strings"
	"unicode/utf8"
)

// BadText says which field of m holds text no backend can keep as given,
// or "". PostgreSQL text and jsonb cannot store NUL, and JSON would
// silently replace invalid UTF-8: Validate refuses such a message at
// intake, and both case stores refuse it too, so one backend never
// accepts what the other rejects and nothing is changed behind the
// sender's back.
func BadText(m Message) string {
	for _, f := range []struct{ name, v string }{
		{"id", m.ID}, {"portal", m.Portal}, {"portal_kind", m.PortalKind},
		{"portal_message_id", m.PortalMessageID}, {"contact.phone", m.Contact.Phone},
		{"contact.telegram_id", m.Contact.TelegramID}, {"contact.email", m.Contact.Email},
		{"contact.name", m.Contact.Name}, {"contact.language", m.Contact.Language},
		{"thread_key", m.ThreadKey}, {"text", m.Text}, {"normalized_text", m.NormalizedText},
		{"service_code", m.ServiceCode}, {"language", m.Language},
	} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return f.name + " contains a NUL byte"
		}
		if !utf8.ValidString(f.v) {
			return f.name + " is not valid UTF-8"
		}
	}
	bad := func(v string) bool { return strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) }
	if m.Location != nil && bad(m.Location.Address) {
		return "location.address contains a NUL byte or invalid UTF-8"
	}
	for _, a := range m.Attachments {
		if bad(a.ID) || bad(a.ContentType) || bad(a.Filename) {
			return "an attachment contains a NUL byte or invalid UTF-8"
		}
	}
	for k, v := range m.Metadata {
		if bad(k) || bad(v) {
			return "metadata contains a NUL byte or invalid UTF-8"
		}
	}
	return ""
}
