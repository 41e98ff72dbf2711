// Package sms is the SMS portal: citizens text the 137 short number and the
// city receives it straight from the operator over SMPP (package smpp) or
// through an SMS panel's HTTP API, whose request shapes are configuration,
// so a new panel is a config change, not code.
//
// Incoming messages are submitted with the sender normalized to E.164 in
// Contact.Phone and no ThreadKey (an SMS does not continue a conversation
// the router could link); PortalMessageID is the panel's message id, or for
// SMPP — which gives incoming messages no id — a hash of the parts' content
// plus the minute it arrived, so an SMSC's redelivery is recognised while
// the same text sent again later is a new message. Long SMPP messages are
// reassembled in any order; their parts wait in the portal's durable KV
// (KVPartStore), so a restart loses none, and what came is delivered when
// the rest does not come within reassembly_timeout.
//
// The router's decision goes back as an SMS (Replier): the on-the-spot
// answer, or the tracking code of the case opened. A text that is only a
// tracking code is an ordinary message the router answers by its status
// rule. Case notices are sent in the citizen's language (Notifier); a
// rating_request notice remembers, in KV "sms:<portal>:rating:<E.164>", the
// case to rate, and a lone digit 1–5 from that number within rating_ttl is
// submitted with Metadata kind=rating, tracking_code and rating, and
// thanked for. Outgoing SMS wait in a small durable outbox, retried with
// backoff across dropped links and restarts. Delivery reports are stored in
// KV "sms:<portal>:dlr:<provider id>" and logged with the message and
// tracking code they belong to.
//
// Every Dargah instance serves the portal's webhooks and may queue
// replies; one instance at a time — the holder of the portal's lease from
// the host — binds to the SMSC and sends the outbox. The outbox and the
// pending parts are one KV value each, changed under a lock taken through
// the same lease service, since KV has no compare-and-set. Without a lease
// service (the embedded runtime: one process) a mutex is the lock and the
// portal always sends.
//
// Example portals (secrets come from the environment):
//
//	portals:
//	  # Straight to the operator's SMSC.
//	  - name: sms-137
//	    type: sms
//	    provider: smpp
//	    addr: smsc.operator.example:2775
//	    system_id: mashhad137
//	    password_env: SMPP_PASSWORD
//	    source_addr: "137"
//	    bind_mode: transceiver      # or receiver+transmitter
//	    rate: 20                    # submit_sm per second
//	    window: 10
//	    reassembly_timeout: 10m
//	    sender_lease: 15s           # failover time to another instance
//
//	  # An SMS panel's web API.
//	  - name: sms-panel
//	    type: sms
//	    provider: http
//	    source_addr: "3000137"
//	    webhook_path: /sms/panel/in
//	    auth: hmac                  # header | query | hmac | none (allow_ips only)
//	    auth_name: X-Signature
//	    secret_env: SMS_PANEL_WEBHOOK_SECRET
//	    allow_ips: [203.0.113.0/24]
//	    incoming: {from: from, to: to, text: message, id: messageid, timestamp: date}
//	    send:
//	      url: https://panel.example/api/v1/send
//	      method: POST
//	      format: json              # or form
//	      to: receptor
//	      from: sender
//	      text: message
//	      to_format: national       # 0912…; or international, e164
//	      auth_header: Authorization
//	      auth_value_env: SMS_PANEL_TOKEN
//	      id_path: entries.0.messageid
//	    dlr: {path: /sms/panel/dlr, id: messageid, status: status}
package sms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/channels/sms/smpp"
	"github.com/dargah137/dargah/gateway"
)

// Kind is the adapter's type name in config.
const Kind = "sms"

func init() { channels.Register(Kind, func() channels.Adapter { return New() }) }

// errNotStarted is returned by Reply and Notify before Start.
var errNotStarted = errors.New("sms portal not started")

// Portal is one SMS portal.
type Portal struct {
	s Settings

	mu      sync.Mutex
	started bool
	env     channels.Env
	log     *slog.Logger
	now     func() time.Time
	holder  string
	parts   *KVPartStore
	out     *outbox
	cancel  context.CancelFunc
	done    chan struct{}
	// sending is set while this instance holds the sender lease; client
	// is the SMPP client bound while it does.
	sending bool
	client  *smpp.Client
}

// New returns an unconfigured portal; it does nothing until Start.
func New() *Portal { return &Portal{} }

// Settings implements channels.Adapter.
func (p *Portal) Settings() any { return &p.s }

// Validate implements channels.Adapter.
func (p *Portal) Validate() error { return p.s.Validate() }

// Start implements channels.Adapter: it mounts the webhooks (HTTP) and
// starts the sender loop, which on the one instance holding the portal's
// lease binds to the SMSC (SMPP, in the background) and sends the
// outbox. It returns without waiting for the SMSC.
func (p *Portal) Start(ctx context.Context, env channels.Env) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("sms portal already started")
	}
	if env.Intake == nil || env.KV == nil {
		return errors.New("sms portal needs intake and KV")
	}
	p.s.withDefaults()
	p.env = env
	p.log = env.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.now = env.Now
	if p.now == nil {
		p.now = time.Now
	}
	p.holder = fmt.Sprintf("%s/%p", env.Instance, p)
	var snd sender
	switch p.s.Provider {
	case "smpp":
		p.parts = NewKVPartStore(env.KV, env.Leases, env.Portal, p.holder)
		snd = smppSender{p: p, format: p.s.DestFormat}
	case "http":
		snd = &httpSender{cfg: &p.s.Send, from: p.s.SourceAddr, client: &http.Client{}}
		if env.Mux == nil {
			return errors.New("sms portal with provider http needs the HTTP server")
		}
		env.Mux.Handle(p.s.WebhookPath, http.HandlerFunc(p.serveIncoming))
		if p.s.DLR.Path != "" {
			env.Mux.Handle(p.s.DLR.Path, http.HandlerFunc(p.serveDLR))
		}
	}
	lock := &kvLock{leases: env.Leases, key: p.key("outbox-lock"), holder: p.holder}
	p.out = newOutbox(env.KV, env.Portal, snd, &p.s, lock, p.log, p.now)
	p.out.remembered = p.lateDLR
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.done = make(chan struct{})
	// The first lease attempt runs now, so a lone instance is sending as
	// soon as Start returns.
	p.takeLease(ctx)
	go func() {
		defer close(p.done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); p.out.run(runCtx, p.isSending) }()
		go func() { defer wg.Done(); p.leaseLoop(runCtx) }()
		wg.Wait()
	}()
	p.started = true
	return nil
}

// takeLease acquires or renews the sender lease and starts or stops
// sending to match. Called with p.mu held.
func (p *Portal) takeLease(ctx context.Context) {
	held := true
	if p.env.Leases != nil {
		var err error
		held, err = p.env.Leases.Acquire(ctx, p.key("sender"), p.holder, p.s.SenderLease)
		if err != nil {
			// Keep the current role; the lease's TTL is the arbiter.
			p.log.Warn("sms sender lease", "err", err)
			return
		}
	}
	switch {
	case held && !p.sending:
		if p.s.Provider == "smpp" {
			cfg := p.s.smppConfig()
			cfg.PartStore = p.parts
			cfg.OnMessage = p.onSMPPMessage
			cfg.OnReceipt = p.onSMPPReceipt
			cfg.Logger = p.log
			cfg.Now = p.now
			c, err := smpp.NewClient(cfg)
			if err != nil {
				p.log.Error("sms smpp client", "err", err)
				return
			}
			// Its own context: Close unbinds it; cancelling would drop
			// the link without unbind.
			c.Start(context.WithoutCancel(ctx))
			p.client = c
		}
		p.sending = true
		p.log.Info("sms portal is the sender on this instance")
		if p.out != nil {
			p.out.wake()
		}
	case !held && p.sending:
		p.log.Warn("sms sender lease lost to another instance")
		p.stopSendingLocked(ctx)
	}
}

// stopSendingLocked unbinds; called with p.mu held.
func (p *Portal) stopSendingLocked(ctx context.Context) error {
	p.sending = false
	c := p.client
	p.client = nil
	if c == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return c.Close(cctx)
}

func (p *Portal) leaseLoop(ctx context.Context) {
	t := time.NewTicker(p.s.SenderLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		if p.started {
			p.takeLease(ctx)
		}
		p.mu.Unlock()
	}
}

func (p *Portal) isSending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sending
}

func (p *Portal) smppClient() *smpp.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client
}

// Stop implements channels.Adapter: webhooks answer 503, sends in flight
// are abandoned to the outbox (sent by the next sender), the SMSC is
// unbound and the sender lease released.
func (p *Portal) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.started {
		p.mu.Unlock()
		return nil
	}
	p.started = false
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	cancel()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("stop sms outbox: %w", ctx.Err()))
	}
	p.mu.Lock()
	wasSending := p.sending
	if err := p.stopSendingLocked(ctx); err != nil {
		errs = append(errs, err)
	}
	p.mu.Unlock()
	if wasSending && p.env.Leases != nil {
		if err := p.env.Leases.Release(ctx, p.key("sender"), p.holder); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// hasQueue reports whether Reply and Notify can queue: from Start on, and
// still after Stop, so that the replies of messages the routing workers
// finish during shutdown are queued for the next sender, not lost.
func (p *Portal) hasQueue() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out != nil
}

func (p *Portal) isStarted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// Pending reports the outgoing SMS still queued.
func (p *Portal) Pending(ctx context.Context) (int, error) {
	if p.out == nil {
		return 0, nil
	}
	return p.out.Len(ctx)
}

func (p *Portal) key(parts ...string) string {
	return "sms:" + p.env.Portal + ":" + strings.Join(parts, ":")
}

// smppSender sends through the SMPP client of the portal, which splits
// long texts and waits for the link while it is down.
type smppSender struct {
	p      *Portal
	format string
}

// errNotSender is returned when the SMPP link belongs to another instance.
var errNotSender = errors.New("sms: this instance does not hold the smpp bind")

func (s smppSender) send(ctx context.Context, to, text string) ([]string, error) {
	c := s.p.smppClient()
	if c == nil {
		return nil, errNotSender
	}
	ids, err := c.Submit(ctx, formatPhone(to, s.format), text)
	var st smpp.Status
	if errors.As(err, &st) && !st.Throttling() {
		return ids, fmt.Errorf("%w: %w", errPermanent, err)
	}
	return ids, err
}

// --- incoming ---

// onSMPPMessage submits one reassembled mobile-originated message. An
// error makes the SMSC deliver it again.
func (p *Portal) onSMPPMessage(ctx context.Context, in smpp.Incoming) error {
	h := sha256.New()
	for _, id := range in.PartsIDs {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	pmid := "mo:" + hex.EncodeToString(h.Sum(nil)[:12]) + ":" + in.ReceivedAt.UTC().Format("200601021504")
	meta := map[string]string{"to": in.To, "parts": fmt.Sprint(len(in.PartsIDs))}
	if in.Partial {
		meta["partial"] = "true"
	}
	_, err := p.submit(ctx, in.From, in.Text, pmid, in.ReceivedAt, meta)
	if errors.Is(err, gateway.ErrInvalid) {
		// Redelivery cannot fix it; the content is in the log.
		p.log.Warn("sms message rejected by intake", "from", in.From, "text", in.Text, "err", err)
		return nil
	}
	return err
}

// submit builds and submits one incoming SMS, recognising a rating digit.
func (p *Portal) submit(ctx context.Context, from, text, pmid string, at time.Time, meta map[string]string) (gateway.Receipt, error) {
	m := gateway.Message{
		Portal: p.env.Portal, PortalKind: Kind, PortalMessageID: pmid,
		Text: text, ReceivedAt: at, Metadata: meta,
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = p.now()
	}
	phone, err := NormalizePhone(from)
	if err != nil {
		// An alphanumeric or odd sender: keep the message, it cannot be
		// answered by SMS.
		p.log.Info("sms sender is not a phone number", "from", from)
		m.Metadata["sender"] = from
	}
	m.Contact.Phone = phone
	var ratingKey string
	if d := asciiDigits(text); phone != "" && len(d) == 1 && d[0] >= '1' && d[0] <= '5' {
		code, found, err := p.env.KV.KVGet(ctx, p.key("rating", phone))
		if err != nil {
			return gateway.Receipt{}, fmt.Errorf("sms rating lookup for %s: %w", phone, err)
		}
		if found && len(code) > 0 {
			ratingKey = p.key("rating", phone)
			m.Metadata["kind"] = "rating"
			m.Metadata["tracking_code"] = string(code)
			m.Metadata["rating"] = d
			if th, ok, _ := p.env.KV.KVGet(ctx, p.key("thread", string(code))); ok {
				// The case's own thread, so the router adds the rating to it.
				m.ThreadKey = string(th)
			}
			if lang, ok, _ := p.env.KV.KVGet(ctx, p.key("lang", phone)); ok {
				m.Language = string(lang)
			}
		}
	}
	r, err := p.env.Intake.Submit(ctx, m)
	if err != nil {
		return r, fmt.Errorf("submit sms %s from %s: %w", pmid, phone, err)
	}
	if ratingKey != "" {
		// One rating per request; a later digit is an ordinary message.
		if err := p.env.KV.KVDelete(ctx, ratingKey); err != nil {
			p.log.Warn("sms forget rating request", "phone", phone, "err", err)
		}
	}
	return r, nil
}

func (p *Portal) onSMPPReceipt(ctx context.Context, r smpp.Receipt) error {
	status := r.Stat
	if status == "" {
		status = fmt.Sprint(r.State)
	}
	return p.recordDLR(ctx, r.MessageID, status, r.Err)
}

// recordDLR stores a delivery report, notes it on the timeline of the case
// the SMS was about, and logs it with the message and case.
func (p *Portal) recordDLR(ctx context.Context, id, status, errCode string) error {
	if id == "" {
		return fmt.Errorf("%w: delivery report without a message id", errMalformed)
	}
	if err := p.env.KV.KVPut(ctx, p.key("dlr", id), []byte(status), sentTTL); err != nil {
		return fmt.Errorf("store delivery report %s: %w", id, err)
	}
	var rec sentRecord
	if v, ok, err := p.env.KV.KVGet(ctx, p.key("out", id)); err == nil && ok {
		_ = json.Unmarshal(v, &rec)
	}
	p.log.Info("sms delivery report", "provider_id", id, "status", status, "err_code", errCode,
		"message", rec.MessageID, "tracking_code", rec.TrackingCode, "to", rec.To)
	// Without the record the report came before the SMSC's answer to the
	// submit was stored: lateDLR notes it once it is.
	p.noteDLR(ctx, id, rec, status, errCode)
	return nil
}

// lateDLR notes a delivery report that arrived before the provider id's
// record was stored (the outbox calls it right after storing one). The
// report stored first and the record stored first each see the other, so
// a report is noted at least once.
func (p *Portal) lateDLR(ctx context.Context, id string, rec sentRecord) {
	if v, ok, err := p.env.KV.KVGet(ctx, p.key("dlr", id)); err == nil && ok {
		p.noteDLR(ctx, id, rec, string(v), "")
	}
}

// noteDLR puts a delivery report on the staff timeline of the case the
// SMS was about, if it was about one.
func (p *Portal) noteDLR(ctx context.Context, id string, rec sentRecord, status, errCode string) {
	if rec.TrackingCode != "" && p.env.Timeline != nil {
		note := fmt.Sprintf("SMS %s to %s: %s", id, rec.To, status)
		if errCode != "" {
			note += " (error " + errCode + ")"
		}
		// The report itself is stored; a timeline hiccup is only logged.
		if err := p.env.Timeline.CaseNote(ctx, rec.TrackingCode, "sms_delivery", note); err != nil {
			p.log.Warn("delivery report not noted on the case", "tracking_code", rec.TrackingCode, "err", err)
		}
	}
}

// DeliveryStatus returns the last delivery report stored for a provider id.
func (p *Portal) DeliveryStatus(ctx context.Context, providerID string) (string, bool, error) {
	v, ok, err := p.env.KV.KVGet(ctx, p.key("dlr", providerID))
	return string(v), ok, err
}

// --- webhooks ---

// webhook reads and authenticates one webhook request; it answers the
// errors itself and returns nil records then.
func (p *Portal) webhook(w http.ResponseWriter, r *http.Request, format string) []record {
	if !p.isStarted() {
		http.Error(w, "portal stopped", http.StatusServiceUnavailable)
		return nil
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet && r.Method != http.MethodPut {
		w.Header().Set("Allow", "GET, POST, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	if !allowedIP(p.s.prefixes, r.RemoteAddr) {
		p.log.Warn("sms webhook from a address not allowed", "remote", r.RemoteAddr, "path", r.URL.Path)
		http.Error(w, "forbidden", http.StatusForbidden)
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return nil
	}
	query := r.URL.Query()
	if !checkSignature(p.s.Auth, p.s.AuthName, p.s.secret, r.Header.Get, query, body) {
		p.log.Warn("sms webhook with a bad signature", "remote", r.RemoteAddr, "path", r.URL.Path)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil
	}
	recs, err := parseBody(r.Method, query, r.Header.Get("Content-Type"), format, body)
	if err != nil {
		p.log.Warn("sms webhook body unreadable", "err", err, "body", snippet(body))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil
	}
	return recs
}

func (p *Portal) serveIncoming(w http.ResponseWriter, r *http.Request) {
	recs := p.webhook(w, r, p.s.Incoming.Format)
	if recs == nil {
		return
	}
	ins := make([]incomingSMS, 0, len(recs))
	for _, rec := range recs {
		in, err := readIncoming(rec, p.s.Incoming)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ins = append(ins, in)
	}
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		at := in.At
		if at.IsZero() || at.After(p.now().Add(time.Hour)) {
			at = p.now()
		}
		pmid := in.ID
		if pmid == "" {
			h := sha256.Sum256([]byte(in.From + "\x00" + in.To + "\x00" + in.Text))
			pmid = "h:" + hex.EncodeToString(h[:12]) + ":" + at.UTC().Format("200601021504")
		}
		rc, err := p.submit(r.Context(), in.From, in.Text, pmid, at, map[string]string{"to": in.To})
		switch {
		case errors.Is(err, gateway.ErrInvalid):
			p.log.Warn("sms message rejected by intake", "from", in.From, "id", pmid, "err", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			// The panel retries; the ledger makes the retry harmless.
			p.log.Error("sms webhook submit failed", "id", pmid, "err", err)
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		ids = append(ids, rc.MessageID)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "ids": ids})
}

func (p *Portal) serveDLR(w http.ResponseWriter, r *http.Request) {
	recs := p.webhook(w, r, "") // reports go by Content-Type
	if recs == nil {
		return
	}
	type report struct{ id, status string }
	reps := make([]report, 0, len(recs))
	for _, rec := range recs {
		id, _ := rec.get(p.s.DLR.ID)
		st, _ := rec.get(p.s.DLR.Status)
		if strings.TrimSpace(id) == "" || len(id) > 128 || len(st) > 128 {
			http.Error(w, fmt.Sprintf("field %q (message id) is missing or too long", p.s.DLR.ID), http.StatusBadRequest)
			return
		}
		reps = append(reps, report{strings.TrimSpace(id), strings.TrimSpace(st)})
	}
	for _, rep := range reps {
		if err := p.recordDLR(r.Context(), rep.id, rep.status, ""); err != nil {
			p.log.Error("sms store delivery report", "id", rep.id, "err", err)
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// --- outgoing ---

// Reply implements channels.Replier: it queues the router's decision on a
// message this portal submitted — the on-the-spot answer, or the tracking
// code of the case it opened — as an SMS to the sender, and returns once it
// is queued durably; the outbox sends and retries. A rating is answered
// with thanks. Repeated calls for one message send one SMS.
func (p *Portal) Reply(ctx context.Context, to gateway.Message, r gateway.Receipt) error {
	if !p.hasQueue() {
		return errNotStarted
	}
	if to.Portal != p.env.Portal {
		return nil
	}
	if to.Contact.Phone == "" {
		p.log.Info("sms reply skipped: sender has no phone number", "message", to.ID)
		return nil
	}
	lang := language(p.s.Language, to.Language, to.Contact.Language)
	var text string
	if to.Metadata["kind"] == "rating" {
		text = tr(lang, "rate_thanks", localDigits(lang, to.Metadata["rating"]), to.Metadata["tracking_code"])
	} else {
		text = strings.TrimSpace(r.Decision.Reply)
		if text == "" {
			text = tr(lang, "received")
		}
		if code := r.Decision.TrackingCode; code != "" && !strings.Contains(text, code) {
			text += "\n" + tr(lang, "tracking", code)
		}
	}
	err := p.out.enqueue(ctx, outItem{ID: "reply:" + to.ID, To: to.Contact.Phone, Text: text,
		MessageID: to.ID, TrackingCode: r.Decision.TrackingCode})
	if err != nil {
		return fmt.Errorf("reply to message %s: %w", to.ID, err)
	}
	return nil
}

// Notify implements channels.Notifier: it queues a case notice to the
// citizen's phone in their language. A rating_request notice also asks for
// a digit 1–5 and remembers, for rating_ttl, that a digit from this number
// rates n.TrackingCode (and n.Thread, the case's thread, when given).
func (p *Portal) Notify(ctx context.Context, n channels.Notice) error {
	if !p.hasQueue() {
		return errNotStarted
	}
	phone, err := NormalizePhone(n.Contact.Phone)
	if err != nil {
		return fmt.Errorf("notify case %s: phone %q: %w", n.TrackingCode, n.Contact.Phone, err)
	}
	lang := language(p.s.Language, n.Language, n.Contact.Language)
	text := strings.TrimSpace(n.Text)
	if text == "" && n.Kind != "rating_request" {
		st := tr(lang, n.Kind)
		if st == "" {
			st = tr(lang, "updated")
		}
		text = tr(lang, "status", n.TrackingCode, st)
	}
	if n.TrackingCode != "" && text != "" && !strings.Contains(text, n.TrackingCode) {
		text += "\n" + tr(lang, "tracking", n.TrackingCode)
	}
	if n.Kind == "rating_request" {
		if !cases.ValidTrackingCode(n.TrackingCode) {
			return fmt.Errorf("notify rating request: invalid tracking code %q", n.TrackingCode)
		}
		text = strings.TrimSpace(text + "\n" + tr(lang, "rate_ask", n.TrackingCode))
		ttl := p.s.RatingTTL
		if err := p.env.KV.KVPut(ctx, p.key("rating", phone), []byte(n.TrackingCode), ttl); err != nil {
			return fmt.Errorf("notify case %s: remember rating request: %w", n.TrackingCode, err)
		}
		if err := p.env.KV.KVPut(ctx, p.key("lang", phone), []byte(lang), ttl); err != nil {
			return fmt.Errorf("notify case %s: remember language: %w", n.TrackingCode, err)
		}
		if n.Thread != "" {
			if err := p.env.KV.KVPut(ctx, p.key("thread", n.TrackingCode), []byte(n.Thread), ttl); err != nil {
				return fmt.Errorf("notify case %s: remember thread: %w", n.TrackingCode, err)
			}
		}
	}
	if text == "" {
		return fmt.Errorf("notify case %s: empty notice", n.TrackingCode)
	}
	// The same notice twice within a minute (a retried call) is sent once.
	h := sha256.Sum256([]byte(n.TrackingCode + "\x00" + n.Kind + "\x00" + phone + "\x00" + text))
	id := "notice:" + hex.EncodeToString(h[:12]) + ":" + p.now().UTC().Format("200601021504")
	if err := p.out.enqueue(ctx, outItem{ID: id, To: phone, Text: text, TrackingCode: n.TrackingCode}); err != nil {
		return fmt.Errorf("notify case %s: %w", n.TrackingCode, err)
	}
	return nil
}

// localDigits writes ASCII digits as Persian ones for fa and Arabic-Indic
// for ar.
func localDigits(lang, s string) string {
	var zero rune
	switch lang {
	case "fa":
		zero = '۰'
	case "ar":
		zero = '٠'
	default:
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return zero + (r - '0')
		}
		return r
	}, s)
}

var (
	_ channels.Adapter  = (*Portal)(nil)
	_ channels.Replier  = (*Portal)(nil)
	_ channels.Notifier = (*Portal)(nil)
)
