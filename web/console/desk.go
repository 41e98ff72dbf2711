package console

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dargah137/dargah/gateway"
)

// Desk portals: a walk-in visitor or a letter becomes a message of its own
// portal, exactly like any other intake, so routing and case opening are
// the same as for every portal.
const (
	PortalWalkIn  = "walk-in"
	PortalLetters = "letters"
	PortalKind    = "desk"
)

type deskForm struct {
	Channel, Name, Phone, Text, Address, LetterNo, FormID string
	Errors                                                []string
}

type deskData struct {
	Form    deskForm
	Receipt *gateway.Receipt
	Pending bool
}

func (c *Console) deskPage(w http.ResponseWriter, r *http.Request, p *principal) {
	if c.intake == nil {
		c.fail(w, r, p, http.StatusNotFound, "err_unavailable")
		return
	}
	c.render(w, r, p, http.StatusOK, "desk", "desk", view{Data: deskData{Form: deskForm{Channel: "walk-in", FormID: randomToken()}}})
}

var (
	letterNoRE = regexp.MustCompile(`^[\p{L}\p{N}/\-]{1,40}$`)
	formIDRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	mobileRE   = regexp.MustCompile(`^\+989[0-9]{9}$`)
)

// normalizePhone accepts an Iranian mobile number as people write it
// (Persian or Arabic digits, 0912…, 912…, +98912…, 0098912…, spaces and
// dashes) and returns it in E.164.
func normalizePhone(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '۰' && r <= '۹':
			b.WriteRune('0' + r - '۰')
		case r >= '٠' && r <= '٩':
			b.WriteRune('0' + r - '٠')
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			b.WriteRune(r)
		}
	}
	p := b.String()
	switch {
	case strings.HasPrefix(p, "0098"):
		p = "+98" + p[4:]
	case strings.HasPrefix(p, "09"):
		p = "+98" + p[1:]
	case strings.HasPrefix(p, "9") && len(p) == 10:
		p = "+98" + p
	}
	return p, mobileRE.MatchString(p)
}

func (c *Console) deskSubmit(w http.ResponseWriter, r *http.Request, p *principal) {
	if c.intake == nil {
		c.fail(w, r, p, http.StatusNotFound, "err_unavailable")
		return
	}
	lang := c.lang(w, r)
	f := deskForm{
		Channel: r.PostFormValue("channel"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Phone: strings.TrimSpace(r.PostFormValue("phone")), Text: strings.TrimSpace(r.PostFormValue("text")),
		Address: strings.TrimSpace(r.PostFormValue("address")), LetterNo: strings.TrimSpace(r.PostFormValue("letter_no")),
		FormID: r.PostFormValue("form_id"),
	}
	var errs []string
	m := gateway.Message{PortalKind: PortalKind, Text: f.Text, Language: "fa", ReceivedAt: c.now(),
		Contact: gateway.Contact{Name: truncate(f.Name, 200)}, Metadata: map[string]string{"agent": p.user.Username}}
	switch f.Channel {
	case "walk-in":
		m.Portal = PortalWalkIn
		if !formIDRE.MatchString(f.FormID) {
			f.FormID = randomToken()
		}
		// The form's own id makes a double-clicked submit one message.
		m.PortalMessageID = f.FormID
	case "letter":
		m.Portal = PortalLetters
		if !letterNoRE.MatchString(f.LetterNo) {
			errs = append(errs, translate(lang, "err_letter_no"))
		}
		// A letter's number is its identity: registering it twice gives
		// the first receipt.
		m.PortalMessageID = "letter:" + f.LetterNo
		m.Metadata["letter_no"] = f.LetterNo
	default:
		errs = append(errs, translate(lang, "err_channel"))
	}
	if f.Text == "" || utf8.RuneCountInString(f.Text) > 4000 || !utf8.ValidString(f.Text) {
		errs = append(errs, translate(lang, "err_text"))
	}
	if f.Phone != "" {
		phone, ok := normalizePhone(f.Phone)
		if !ok {
			errs = append(errs, translate(lang, "err_phone"))
		}
		m.Contact.Phone, m.ThreadKey = phone, phone
	}
	if f.Address != "" {
		m.Location = &gateway.Location{Address: truncate(f.Address, 500)}
	}
	if len(errs) > 0 {
		f.Errors = errs
		c.render(w, r, p, http.StatusUnprocessableEntity, "desk", "desk", view{Data: deskData{Form: f}})
		return
	}
	ctx := r.Context()
	rc, err := c.intake.Submit(ctx, m)
	if errors.Is(err, gateway.ErrInvalid) {
		f.Errors = []string{translate(lang, "err_text")}
		c.render(w, r, p, http.StatusUnprocessableEntity, "desk", "desk", view{Data: deskData{Form: f}})
		return
	}
	if err != nil {
		c.log.Error("console: desk submit", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if got, err := c.intake.Await(actx, rc.MessageID); err == nil {
		rc = got
	}
	c.audit(ctx, r, p.user.Username, "desk_submit", rc.Decision.TrackingCode, m.Portal+" "+rc.MessageID)
	d := deskData{Form: deskForm{Channel: f.Channel, FormID: randomToken()}, Receipt: &rc, Pending: rc.Status != gateway.StatusDecided}
	c.render(w, r, p, http.StatusOK, "desk", "desk", view{Data: d})
}
