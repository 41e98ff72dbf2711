// Package gateway holds Dargah's normalized message, the stream that carries
// it, and the orchestration from intake through routing to a recorded decision.
//
// Every portal adapter turns what it receives into a Message; nothing
// portal-specific leaks past channels/. A Message is not mutated after publish.
package gateway

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is one citizen message, normalized from any portal.
type Message struct {
	// ID is Dargah's own id, time-sortable; assigned at intake when empty.
	ID string `json:"id"`
	// Portal is the configured portal name (e.g. "web", "telegram-137").
	Portal string `json:"portal"`
	// PortalKind is the adapter type (e.g. "webform", "telegram").
	PortalKind string `json:"portal_kind"`
	// PortalMessageID is the portal's own id for the message; together with
	// Portal it is the idempotency key.
	PortalMessageID string  `json:"portal_message_id"`
	Contact         Contact `json:"contact"`
	// ThreadKey groups messages of one conversation so replies and follow-ups
	// land on the same case (a chat id, an email References root, a phone).
	ThreadKey string `json:"thread_key,omitempty"`
	// Text is what the citizen wrote, unchanged.
	Text string `json:"text"`
	// NormalizedText is Text after Persian normalization (set at intake).
	NormalizedText string       `json:"normalized_text,omitempty"`
	Attachments    []Attachment `json:"attachments,omitempty"`
	Location       *Location    `json:"location,omitempty"`
	// ServiceCode is the category the citizen chose, if the portal offers one.
	ServiceCode string `json:"service_code,omitempty"`
	// Language is a BCP 47 base tag: fa, ar, ur, en.
	Language   string            `json:"language,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	// Origin is the Dargah instance that accepted the message (set at
	// intake): a caller there may be waiting for the decision, which
	// another instance may make (PipelineConfig.Announcer).
	Origin string `json:"origin,omitempty"`
}

// Contact is how to reach the citizen back.
type Contact struct {
	Phone      string `json:"phone,omitempty"` // E.164, e.g. +989121234567
	TelegramID string `json:"telegram_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"`
	Language   string `json:"language,omitempty"`
}

// Attachment references a file Dargah stored; the bytes live in the
// attachment store under ID.
type Attachment struct {
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename,omitempty"`
	Size        int64  `json:"size"`
}

// Location is where the problem is: a point, an address, or both.
type Location struct {
	Lat     float64 `json:"lat,omitempty"`
	Long    float64 `json:"long,omitempty"`
	Address string  `json:"address,omitempty"`
}

// HasPoint reports whether the location carries coordinates. (0,0) is in the
// Gulf of Guinea, never in a Mashhad report, so it stands for "no point".
func (l *Location) HasPoint() bool { return l != nil && (l.Lat != 0 || l.Long != 0) }

// Languages Dargah speaks with citizens.
var supportedLanguages = map[string]bool{"fa": true, "ar": true, "ur": true, "en": true}

// SupportedLanguage reports whether lang is one of fa, ar, ur, en.
func SupportedLanguage(lang string) bool { return supportedLanguages[lang] }

// MaxTextBytes bounds a message's text; longer input is rejected, not cut.
const MaxTextBytes = 16 << 10

// Validate checks what every portal must provide. The error says which field.
func (m *Message) Validate() error {
	var errs []error
	if m.Portal == "" {
		errs = append(errs, errors.New("portal is required"))
	}
	if m.PortalKind == "" {
		errs = append(errs, errors.New("portal_kind is required"))
	}
	if m.PortalMessageID == "" {
		errs = append(errs, errors.New("portal_message_id is required"))
	}
	if why := BadText(*m); why != "" {
		errs = append(errs, errors.New(why))
	}
	if strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 && m.Location == nil {
		errs = append(errs, errors.New("text, attachment or location is required"))
	}
	if len(m.Text) > MaxTextBytes {
		errs = append(errs, fmt.Errorf("text is %d bytes, more than %d", len(m.Text), MaxTextBytes))
	}
	if m.Language != "" && !SupportedLanguage(m.Language) {
		errs = append(errs, fmt.Errorf("language %q is not one of fa, ar, ur, en", m.Language))
	}
	if l := m.Location; l != nil {
		if l.Lat < -90 || l.Lat > 90 || l.Long < -180 || l.Long > 180 {
			errs = append(errs, errors.New("location is out of range"))
		}
		if !l.HasPoint() && strings.TrimSpace(l.Address) == "" {
			errs = append(errs, errors.New("location needs lat/long or an address"))
		}
	}
	if m.ReceivedAt.IsZero() {
		errs = append(errs, errors.New("received_at is required"))
	}
	return errors.Join(errs...)
}
