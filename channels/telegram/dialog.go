package telegram

import (
	"strings"
	"time"

	"github.com/dargah137/dargah/gateway"
)

// The conversation is a small state machine kept pure: step takes the
// state and one event and returns the new state, the replies and at most
// one action for the caller to perform (submit, status lookup…). All I/O
// stays in handle.go, so every path here is testable without a network.

type stepName string

const (
	stepNone    stepName = ""        // no dialog (new user or timed out)
	stepLang    stepName = "lang"    // waiting for a language choice
	stepMenu    stepName = "menu"    // main menu
	stepCollect stepName = "collect" // gathering a new request
	stepPhone   stepName = "phone"   // waiting for the citizen's own contact
	stepTrack   stepName = "track"   // waiting for a tracking code
	stepAsk     stepName = "ask"     // waiting for a question
	stepComment stepName = "comment" // waiting for a comment after a low rating
)

// Limits of one draft request.
const (
	maxDraftAttachments = 10
)

// dialog is one chat's conversation state, stored in KV with the dialog
// timeout as TTL. Lang and Phone are copied from the citizen's profile,
// which has no TTL.
type dialog struct {
	Step  stepName `json:"step,omitempty"`
	Lang  string   `json:"lang,omitempty"`
	Phone string   `json:"phone,omitempty"`
	Draft draft    `json:"draft,omitzero"`
	// Rating is the low rating a comment is awaited for.
	Rating *pendingRating `json:"rating,omitempty"`
}

// draft is a new request being gathered from several messages.
type draft struct {
	// StartID is the chat:message id that began the draft; it keys the
	// thread of the request.
	StartID     string               `json:"start_id,omitempty"`
	Texts       []string             `json:"texts,omitempty"`
	Attachments []gateway.Attachment `json:"attachments,omitempty"`
	Location    *gateway.Location    `json:"location,omitempty"`
}

func (d draft) empty() bool {
	return len(d.Texts) == 0 && len(d.Attachments) == 0 && d.Location == nil
}

func (d draft) text() string { return strings.Join(d.Texts, "\n") }

type pendingRating struct {
	Code   string `json:"code"`
	Rating int    `json:"rating"`
}

type eventKind int

const (
	evText eventKind = iota
	evCommand
	evMedia
	evMediaFailed
	evMediaTooBig
	evLocation
	evContact
	evSticker
	evUnsupported
	evRate
)

// event is one normalized input from the citizen.
type event struct {
	Kind eventKind
	// ID is chat:message id (or cbq:<id>) of the input, for idempotency.
	ID string
	// Text is the text or caption; for evCommand the command without "/".
	Text       string
	Attachment *gateway.Attachment
	Location   *gateway.Location
	// Phone is the contact's number in E.164 (empty if unparsable) and
	// OwnContact whether it belongs to the sender.
	Phone      string
	OwnContact bool
	// Code and Rating come with evRate.
	Code   string
	Rating int
	// At is when the citizen sent it.
	At time.Time
}

type keyboard int

const (
	kbKeep keyboard = iota // send no reply_markup
	kbLang
	kbMenu
	kbCollect
	kbPhone
	kbBack
	kbFAQ // the frequent questions (channels.Env.FAQs), then Back
)

type reply struct {
	Key  string // texts key; Text overrides when set
	Text string
	Args []any
	KB   keyboard
}

type actionKind int

const (
	actNone actionKind = iota
	actSubmitRequest
	actSubmitText // a free message or question for the router
	actTrack
	actSubmitRating
)

type action struct {
	Kind actionKind
	// Draft for actSubmitRequest; Text for actSubmitText and comments.
	Draft  draft
	Text   string
	Kind2  string // message kind for actSubmitText: "message" or "question"
	Code   string
	Rating int
}

// wantsMedia reports whether a file sent now would be used, so the caller
// downloads it only then.
func (d dialog) wantsMedia() bool {
	switch d.Step {
	case stepCollect:
		return true
	case stepMenu, stepNone, stepComment:
		return d.Lang != "" // a file here begins a new request
	}
	return false
}

func say(key string, kb keyboard, args ...any) reply { return reply{Key: key, KB: kb, Args: args} }

// step advances the dialog by one event.
func step(d dialog, ev event) (dialog, []reply, action) {
	if ev.Kind == evCommand {
		switch ev.Text {
		case "start":
			d.Step, d.Draft, d.Rating = stepLang, draft{}, nil
			return d, []reply{say("choose_lang", kbLang)}, action{}
		case "menu", "cancel", "help":
			d.Step, d.Draft, d.Rating = stepMenu, draft{}, nil
			if d.Lang == "" {
				d.Step = stepLang
				return d, []reply{say("choose_lang", kbLang)}, action{}
			}
			return d, []reply{say("menu", kbMenu)}, action{}
		case "lang", "language":
			d.Step = stepLang
			return d, []reply{say("choose_lang", kbLang)}, action{}
		}
		if d.Lang == "" {
			d.Step = stepLang
			return d, []reply{say("choose_lang", kbLang)}, action{}
		}
		return d, []reply{say("unknown_command", kbMenu)}, action{}
	}
	if ev.Kind == evRate {
		// A rating press is valid in any step; it does not disturb a draft
		// unless a comment is asked for.
		a := action{Kind: actSubmitRating, Code: ev.Code, Rating: ev.Rating}
		if ev.Rating <= 2 {
			d.Step, d.Rating = stepComment, &pendingRating{Code: ev.Code, Rating: ev.Rating}
			return d, []reply{say("rate_comment", kbBack)}, a
		}
		return d, []reply{say("rate_thanks", kbKeep)}, a
	}
	if d.Lang == "" && d.Step != stepLang {
		d.Step = stepLang
		return d, []reply{say("choose_lang", kbLang)}, action{}
	}
	if d.Step == stepNone {
		d.Step = stepMenu
	}
	switch d.Step {
	case stepLang:
		if lang, ok := langOfButton(ev.Text); ok && ev.Kind == evText {
			d.Lang, d.Step = lang, stepMenu
			return d, []reply{say("menu", kbMenu)}, action{}
		}
		return d, []reply{say("choose_lang", kbLang)}, action{}
	case stepCollect:
		return collect(d, ev)
	case stepPhone:
		return phone(d, ev)
	case stepTrack:
		if ev.Kind == evText && isButton(ev.Text, "btn_back") {
			d.Step = stepMenu
			return d, []reply{say("menu", kbMenu)}, action{}
		}
		if code, ok := findTrackingCode(ev.Text); ok && ev.Kind == evText {
			d.Step = stepMenu
			return d, nil, action{Kind: actTrack, Code: code}
		}
		return d, []reply{say("bad_code", kbBack)}, action{}
	case stepAsk:
		if ev.Kind == evText && isButton(ev.Text, "btn_back") {
			d.Step = stepMenu
			return d, []reply{say("menu", kbMenu)}, action{}
		}
		if ev.Kind == evText && strings.TrimSpace(ev.Text) != "" {
			d.Step = stepMenu
			return d, nil, action{Kind: actSubmitText, Kind2: "question", Text: ev.Text}
		}
		return d, []reply{say("faq_pick", kbFAQ)}, action{}
	case stepComment:
		r := d.Rating
		d.Step, d.Rating = stepMenu, nil
		if ev.Kind == evText && !isAnyButton(ev.Text) && strings.TrimSpace(ev.Text) != "" && r != nil {
			return d, []reply{say("comment_thanks", kbMenu)}, action{Kind: actSubmitRating, Code: r.Code, Rating: r.Rating, Text: ev.Text}
		}
		return menu(d, ev)
	default:
		d.Step = stepMenu
		return menu(d, ev)
	}
}

// menu handles the main menu: its buttons, a tracking code, a free text
// for the router, or a file or location that begins a new request.
func menu(d dialog, ev event) (dialog, []reply, action) {
	switch ev.Kind {
	case evText:
		t := ev.Text
		switch {
		case isButton(t, "btn_new"):
			d.Step, d.Draft = stepCollect, draft{StartID: ev.ID}
			return d, []reply{say("describe", kbCollect)}, action{}
		case isButton(t, "btn_track"):
			d.Step = stepTrack
			return d, []reply{say("ask_code", kbBack)}, action{}
		case isButton(t, "btn_faq"):
			// A picked question comes back as its text: the handler
			// recognises it (faqPicked) and the router answers that entry.
			d.Step = stepAsk
			return d, []reply{say("faq_pick", kbFAQ)}, action{}
		case isButton(t, "btn_call"):
			return d, []reply{{Key: "call", KB: kbMenu}}, action{}
		case isButton(t, "btn_lang"):
			d.Step = stepLang
			return d, []reply{say("choose_lang", kbLang)}, action{}
		case isButton(t, "btn_back"), isButton(t, "btn_done"):
			return d, []reply{say("menu", kbMenu)}, action{}
		}
		if _, ok := langOfButton(t); ok {
			return d, []reply{say("menu", kbMenu)}, action{}
		}
		if code, ok := findTrackingCode(t); ok && len([]rune(strings.TrimSpace(t))) <= 40 {
			return d, nil, action{Kind: actTrack, Code: code}
		}
		if strings.TrimSpace(t) == "" {
			return d, []reply{say("menu", kbMenu)}, action{}
		}
		return d, nil, action{Kind: actSubmitText, Kind2: "message", Text: t}
	case evMedia, evLocation, evMediaTooBig, evMediaFailed:
		d.Step, d.Draft = stepCollect, draft{StartID: ev.ID}
		return collect(d, ev)
	case evContact:
		if ev.OwnContact && ev.Phone != "" {
			d.Phone = ev.Phone
		}
		return d, []reply{say("menu", kbMenu)}, action{}
	case evSticker:
		return d, []reply{say("sticker", kbMenu)}, action{}
	default:
		return d, []reply{say("unsupported", kbMenu)}, action{}
	}
}

func collect(d dialog, ev event) (dialog, []reply, action) {
	switch ev.Kind {
	case evText:
		switch {
		case isButton(ev.Text, "btn_back"):
			d.Step, d.Draft = stepMenu, draft{}
			return d, []reply{say("cancelled", kbMenu)}, action{}
		case isButton(ev.Text, "btn_done"):
			if d.Draft.empty() {
				return d, []reply{say("empty_draft", kbCollect)}, action{}
			}
			if d.Phone == "" {
				d.Step = stepPhone
				return d, []reply{say("ask_phone", kbPhone)}, action{}
			}
			return submit(d)
		case strings.TrimSpace(ev.Text) == "":
			return d, []reply{say("describe", kbCollect)}, action{}
		}
		if len(d.Draft.text())+len(ev.Text)+1 > gateway.MaxTextBytes {
			return d, []reply{say("too_long", kbCollect)}, action{}
		}
		d.Draft.Texts = append(d.Draft.Texts, ev.Text)
	case evMedia:
		if ev.Attachment == nil {
			return d, []reply{say("file_failed", kbCollect)}, action{}
		}
		if len(d.Draft.Attachments) >= maxDraftAttachments {
			return d, []reply{say("too_many_files", kbCollect)}, action{}
		}
		d.Draft.Attachments = append(d.Draft.Attachments, *ev.Attachment)
		if strings.TrimSpace(ev.Text) != "" && len(d.Draft.text())+len(ev.Text)+1 <= gateway.MaxTextBytes {
			d.Draft.Texts = append(d.Draft.Texts, ev.Text)
		}
	case evMediaTooBig:
		return d, []reply{{Key: "too_big", KB: kbCollect}}, action{}
	case evMediaFailed:
		return d, []reply{say("file_failed", kbCollect)}, action{}
	case evLocation:
		d.Draft.Location = ev.Location
	case evContact:
		if ev.OwnContact && ev.Phone != "" {
			d.Phone = ev.Phone
		}
	case evSticker:
		return d, []reply{say("sticker", kbCollect)}, action{}
	default:
		return d, []reply{say("unsupported", kbCollect)}, action{}
	}
	return d, []reply{say("got_item", kbCollect)}, action{}
}

func phone(d dialog, ev event) (dialog, []reply, action) {
	switch {
	case ev.Kind == evContact && ev.OwnContact && ev.Phone != "":
		d.Phone = ev.Phone
		return submit(d)
	case ev.Kind == evContact:
		return d, []reply{say("not_own_contact", kbPhone)}, action{}
	case ev.Kind == evText && isButton(ev.Text, "btn_back"):
		d.Step, d.Draft = stepMenu, draft{}
		return d, []reply{say("cancelled", kbMenu)}, action{}
	}
	return d, []reply{say("ask_phone", kbPhone)}, action{}
}

// submit hands the draft over. No reply here: the router's decision (the
// tracking code) is the confirmation, sent by Reply with the main menu; an
// acknowledgement sent now could arrive after it.
func submit(d dialog) (dialog, []reply, action) {
	a := action{Kind: actSubmitRequest, Draft: d.Draft}
	d.Step, d.Draft = stepMenu, draft{}
	return d, nil, a
}
