package app

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/caseapi"
	"github.com/dargah137/dargah/cases/escalation"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/configs"
	"github.com/dargah137/dargah/gateway"
)

// The 137 process in the app: the organization and escalation ladder
// (configs/org.yaml and configs/escalation.yaml as built, or the files
// named by DARGAH_ORG_FILE and DARGAH_ESCALATION_FILE), the engine whose
// hooks make MessageDecide assign each new case, the scheduler and outbox
// loop, and the officials' API under /api/v1/{dept,staff,followup}
// (tokens from DARGAH_TOKEN_* variables, see caseapi.TokensFromEnv).
//
// Notices to citizens go out through the portal the case came from: the
// case's portal name picks that adapter's channels.Notifier.

// loadProcessConfig reads the organization and the ladder — the files the
// config names (org:, escalation:), else those named by DARGAH_ORG_FILE and
// DARGAH_ESCALATION_FILE, else the copies built into the binary — and
// checks them against each other and against the router's service codes.
func loadProcessConfig(cfg Config, services []string) (*org.Org, *escalation.Ladder, error) {
	orgPath, ladderPath := cfg.Org, cfg.Escalation
	if orgPath == "" {
		orgPath = os.Getenv("DARGAH_ORG_FILE")
	}
	if ladderPath == "" {
		ladderPath = os.Getenv("DARGAH_ESCALATION_FILE")
	}
	var o *org.Org
	var err error
	if orgPath != "" {
		o, err = org.Load(orgPath)
	} else {
		o, err = org.Parse("configs/org.yaml (built in)", configs.Org)
	}
	if err != nil {
		return nil, nil, err
	}
	var l *escalation.Ladder
	if ladderPath != "" {
		l, err = escalation.Load(ladderPath)
	} else {
		l, err = escalation.Parse("configs/escalation.yaml (built in)", configs.Escalation)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := l.Validate(o); err != nil {
		return nil, nil, err
	}
	if err := o.CheckServices(services); err != nil {
		return nil, nil, err
	}
	return o, l, nil
}

// startProcess builds the engine, installs its hooks in the store and
// mounts the API. It returns the loop to run until shutdown. A store
// without the process side (none today) runs without it.
func (a *App) startProcess(ctx context.Context) (func(context.Context), error) {
	ps, ok := a.Store.(cases.ProcessStore)
	if !ok {
		a.log.Warn("case store has no process support; cases stay unassigned")
		return func(context.Context) {}, nil
	}
	o, l, err := loadProcessConfig(a.cfg, serviceCodes(a.Router.Services()))
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	notifiers := map[string]channels.Notifier{}
	// Portals that cannot push (the web form, staff desks) reach the
	// citizen through the first SMS or email portal, if the citizen left a
	// number or an address.
	var bySMS, byEmail channels.Notifier
	for _, p := range a.Portals {
		n, ok := p.Adapter.(channels.Notifier)
		if !ok {
			continue
		}
		notifiers[p.Name] = n
		switch {
		case p.Kind == "sms" && bySMS == nil:
			bySMS = n
		case p.Kind == "email" && byEmail == nil:
			byEmail = n
		}
	}
	tick := 5 * time.Second
	if s := os.Getenv("DARGAH_PROCESS_TICK"); s != "" {
		if tick, err = time.ParseDuration(s); err != nil || tick <= 0 {
			return nil, fmt.Errorf("process: DARGAH_PROCESS_TICK %q: want a positive duration", s)
		}
	}
	var email func(ctx context.Context, to, subject, body string) error
	if addr := os.Getenv("DARGAH_SMTP_ADDR"); addr != "" {
		email = smtpSender(addr, os.Getenv("DARGAH_SMTP_FROM"))
	}
	// Officials' text messages (levels that notify by sms) go out through
	// the first SMS portal, as the citizens' do; their delivery reports
	// are noted on the case's staff timeline.
	var sms func(ctx context.Context, to, text, trackingCode string) error
	if bySMS != nil {
		sms = func(ctx context.Context, to, text, trackingCode string) error {
			return bySMS.Notify(ctx, channels.Notice{TrackingCode: trackingCode, Kind: "official", Text: text,
				Contact: gateway.Contact{Phone: to}, Language: "fa"})
		}
	}
	eng, err := process.New(process.Config{
		Store: ps, Org: o, Ladder: l, Now: a.now, Tick: tick, Email: email, SMS: sms, Registerer: a.Registry,
		Logger: a.log.With("component", "process"),
		Notify: func(ctx context.Context, portal string, n channels.Notice) error {
			nf, ok := notifiers[portal]
			if !ok {
				switch {
				case n.Contact.Phone != "" && bySMS != nil:
					nf, n.Thread = bySMS, ""
				case n.Contact.Email != "" && byEmail != nil:
					nf, n.Thread = byEmail, ""
				default:
					return fmt.Errorf("portal %q: %w", portal, process.ErrNoNotifier)
				}
			}
			return nf.Notify(ctx, n)
		},
	})
	if err != nil {
		return nil, err
	}
	eng.Install()
	a.Process = eng
	api, err := caseapi.New(caseapi.Config{Engine: eng, Tokens: caseapi.TokensFromEnv(o, os.LookupEnv),
		Logger: a.log.With("component", "caseapi")})
	if err != nil {
		return nil, err
	}
	mux := &guardedMux{mux: a.mux}
	api.Register(mux)
	if mux.err != nil {
		return nil, fmt.Errorf("process api: %w", mux.err)
	}
	return eng.Run, nil
}

// smtpSender sends officials' notices through a relay (DARGAH_SMTP_ADDR,
// host:port, no authentication: a relay on the city's network) from
// DARGAH_SMTP_FROM (default dargah@localhost).
func smtpSender(addr, from string) func(ctx context.Context, to, subject, body string) error {
	if from == "" {
		from = "dargah@localhost"
	}
	return func(ctx context.Context, to, subject, body string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("smtp %s: %w", addr, err)
		}
		defer conn.Close()
		if d, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(d)
		}
		host, _, _ := net.SplitHostPort(addr)
		c, err := smtp.NewClient(conn, host)
		if err != nil {
			return fmt.Errorf("smtp %s: %w", addr, err)
		}
		defer c.Close()
		if err := c.Mail(from); err != nil {
			return fmt.Errorf("smtp MAIL FROM: %w", err)
		}
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
		}
		w, err := c.Data()
		if err != nil {
			return fmt.Errorf("smtp DATA: %w", err)
		}
		msg := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", subject) +
			"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nDate: " +
			time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
		if _, err := io.WriteString(w, msg); err != nil {
			return fmt.Errorf("smtp write: %w", err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("smtp end of data: %w", err)
		}
		return c.Quit()
	}
}

func serviceCodes(list []channels.Service) []string {
	codes := make([]string, len(list))
	for i, s := range list {
		codes[i] = s.Code
	}
	return codes
}
