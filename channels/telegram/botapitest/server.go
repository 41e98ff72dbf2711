// Package botapitest is a Telegram Bot API test double served over HTTP. It
// follows the published protocol (https://core.telegram.org/bots/api): the
// URL shape /bot<token>/<method> and /file/bot<token>/<path>, requests as
// query string, application/json, x-www-form-urlencoded or
// multipart/form-data, and answers {"ok":true,"result":…} or
// {"ok":false,"error_code":N,"description":"…","parameters":{…}}.
//
// A test plays the citizens (SendText, SendPhoto, PressButton…), injects
// failures (FailNext), and reads what the bot sent (Sent, WaitSent). Updates
// reach the bot through getUpdates long polling or, after setWebhook, by
// POSTs to the bot's webhook URL with the secret header. Bale's Bot API is
// the same protocol at another base URL, so the double serves both.
package botapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Rate limits Telegram asks bots to respect; RateViolations checks them.
const (
	PerChatInterval = time.Second
	GlobalPerSecond = 30
	// rateSlack absorbs network jitter between the bot's clock and the
	// arrival of its requests here.
	rateSlack = 50 * time.Millisecond
)

// Server is a running Bot API double. Create it with New.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Token is the only token the double accepts.
	Token string
	// Bot is what getMe returns.
	Bot User

	t  testing.TB
	ts *httptest.Server

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	nextUpdate int
	nextMsg    int
	nextFile   int
	nextCB     int
	queue      []queued
	last       *Update
	sent       map[int64][]Sent
	stamps     []stamp // every send*, for rate accounting
	edits      map[int64][]Sent
	files      map[string]*storedFile // by file_id
	paths      map[string]*storedFile // by file_path
	fails      map[string][]failure
	openCB     map[string]bool
	answers    []CallbackAnswer
	calls      map[string]int
	blocked    map[int64]bool
	hook       webhook
	hookStop   chan struct{}
	hookDone   chan struct{}
	hookClient *http.Client
	pollGen    int           // bumped by every getUpdates, to detect overlap
	closed     chan struct{} // ends long polls on Close
	closeOnce  sync.Once
}

type queued struct {
	u Update
	// redeliver marks a duplicate that Telegram sends again although the
	// bot already confirmed it (a lost acknowledgement).
	redeliver bool
}

type stamp struct {
	chat int64
	at   time.Time
}

type storedFile struct {
	file File
	data []byte
}

type failure struct {
	code       int
	retryAfter int
}

type webhook struct {
	url    string
	secret string
}

// Sent is one message the bot sent (or one edit it made).
type Sent struct {
	Method    string
	ChatID    int64
	MessageID int
	// Text is the text or the caption.
	Text string
	// Markup is the decoded reply_markup, nil when none was sent.
	Markup    *Markup
	ParseMode string
	// FileField names the uploaded file's field (photo, document, voice);
	// FileData holds its bytes, or FileRef the file_id or URL sent instead.
	FileField string
	FileName  string
	FileData  []byte
	FileRef   string
	At        time.Time
}

// Buttons lists the labels of the reply keyboard, row by row flattened.
func (s Sent) Buttons() []string {
	var out []string
	if s.Markup != nil {
		for _, row := range s.Markup.Keyboard {
			for _, b := range row {
				out = append(out, b.Text)
			}
		}
	}
	return out
}

// RequestsContact reports whether a reply keyboard button asks for the
// user's phone number.
func (s Sent) RequestsContact() bool {
	if s.Markup != nil {
		for _, row := range s.Markup.Keyboard {
			for _, b := range row {
				if b.RequestContact {
					return true
				}
			}
		}
	}
	return false
}

// InlineData lists the callback_data of the inline keyboard buttons.
func (s Sent) InlineData() []string {
	var out []string
	if s.Markup != nil {
		for _, row := range s.Markup.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != nil {
					out = append(out, *b.CallbackData)
				}
			}
		}
	}
	return out
}

// CallbackAnswer is one answerCallbackQuery call.
type CallbackAnswer struct {
	QueryID   string
	Text      string
	ShowAlert bool
}

// New starts a double on loopback; it is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Token:      fmt.Sprintf("%d:TEST-%d", 100000+time.Now().UnixNano()%900000, time.Now().UnixNano()),
		Bot:        User{ID: 7000001, IsBot: true, FirstName: "Dargah 137", Username: "dargah137_bot"},
		t:          t,
		changed:    make(chan struct{}),
		nextUpdate: 500000,
		sent:       map[int64][]Sent{},
		edits:      map[int64][]Sent{},
		files:      map[string]*storedFile{},
		paths:      map[string]*storedFile{},
		fails:      map[string][]failure{},
		openCB:     map[string]bool{},
		calls:      map[string]int{},
		blocked:    map[int64]bool{},
		hookClient: &http.Client{Timeout: 10 * time.Second},
		closed:     make(chan struct{}),
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	t.Cleanup(s.Close)
	return s
}

// Endpoint is the API endpoint in the client library's format
// (fmt pattern with token and method), e.g. http://127.0.0.1:1/bot%s/%s.
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// Close stops webhook delivery and the HTTP server.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.stopHook()
		s.ts.Close()
	})
}

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/file/bot"); ok {
		s.serveFile(w, rest)
		return
	}
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	if !ok || token != s.Token {
		writeError(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	params, uploads, err := parseRequest(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	// Method names are case-insensitive in the Bot API.
	method = strings.ToLower(method)
	s.mu.Lock()
	s.calls[method]++
	s.notifyLocked()
	if f := s.fails[method]; len(f) > 0 {
		s.fails[method] = f[1:]
		s.mu.Unlock()
		writeError(w, f[0].code, describe(f[0].code, f[0].retryAfter), f[0].retryAfter)
		return
	}
	s.mu.Unlock()

	h, ok := s.methods()[method]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	h(w, r, params, uploads)
}

func describe(code, retryAfter int) string {
	switch code {
	case http.StatusTooManyRequests:
		return fmt.Sprintf("Too Many Requests: retry after %d", retryAfter)
	case http.StatusBadRequest:
		return "Bad Request: injected failure"
	case http.StatusForbidden:
		return "Forbidden: bot was blocked by the user"
	case http.StatusConflict:
		return "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	case http.StatusBadGateway:
		return "Bad Gateway"
	default:
		return http.StatusText(code)
	}
}

type handler func(w http.ResponseWriter, r *http.Request, p map[string]string, files map[string]upload)

func (s *Server) methods() map[string]handler {
	return map[string]handler{
		"getme":                  s.getMe,
		"getupdates":             s.getUpdates,
		"setwebhook":             s.setWebhook,
		"deletewebhook":          s.deleteWebhook,
		"getwebhookinfo":         s.getWebhookInfo,
		"sendmessage":            s.sendMessage,
		"sendphoto":              s.sendFile("photo"),
		"senddocument":           s.sendFile("document"),
		"sendvoice":              s.sendFile("voice"),
		"answercallbackquery":    s.answerCallbackQuery,
		"getfile":                s.getFile,
		"editmessagereplymarkup": s.editMessageReplyMarkup,
	}
}

type upload struct {
	name string
	data []byte
}

// parseRequest reads parameters the ways the Bot API accepts them. JSON
// values that are objects or arrays are kept as their JSON text, as a
// form-encoded client would send them.
func parseRequest(r *http.Request) (map[string]string, map[string]upload, error) {
	params := map[string]string{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	files := map[string]upload{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil && err != io.EOF {
			return nil, nil, fmt.Errorf("can't parse JSON object: %w", err)
		}
		for k, raw := range m {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				params[k] = str
				continue
			}
			params[k] = string(bytes.TrimSpace(raw))
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, nil, err
		}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			return nil, nil, err
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return nil, nil, err
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, nil, err
			}
			files[k] = upload{name: fhs[0].Filename, data: data}
		}
	}
	return params, files, nil
}

func writeOK(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(apiResponse{OK: true, Result: result})
}

func writeError(w http.ResponseWriter, code int, description string, retryAfter int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	resp := apiResponse{ErrorCode: code, Description: description}
	if retryAfter > 0 {
		resp.Parameters = &responseParameters{RetryAfter: retryAfter}
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) getMe(w http.ResponseWriter, _ *http.Request, _ map[string]string, _ map[string]upload) {
	writeOK(w, s.Bot)
}

func intParam(p map[string]string, k string) (int64, bool) {
	v, ok := p[k]
	if !ok || v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]string, _ map[string]upload) {
	offset, _ := intParam(p, "offset")
	limit, ok := intParam(p, "limit")
	if !ok || limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := intParam(p, "timeout")
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	s.mu.Lock()
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked()
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if s.pollGen != gen {
			// Like Telegram, a newer getUpdates ends an older long poll.
			s.calls["getupdates-conflict"]++
			s.mu.Unlock()
			writeError(w, http.StatusConflict, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", 0)
			return
		}
		if s.hook.url != "" {
			s.mu.Unlock()
			writeError(w, http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", 0)
			return
		}
		if offset > 0 {
			// A positive offset confirms every earlier update.
			kept := s.queue[:0]
			for _, q := range s.queue {
				if int64(q.u.UpdateID) >= offset || q.redeliver {
					kept = append(kept, q)
				}
			}
			s.queue = kept
		}
		var out []Update
		for i := range s.queue {
			if len(out) == int(limit) {
				break
			}
			out = append(out, s.queue[i].u)
			s.queue[i].redeliver = false
		}
		changed := s.changed
		s.mu.Unlock()
		if len(out) > 0 || timeout <= 0 {
			if out == nil {
				out = []Update{}
			}
			writeOK(w, out)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			timeout = 0
		case <-r.Context().Done():
			return
		case <-s.closed:
			writeError(w, http.StatusBadGateway, "Bad Gateway", 0)
			return
		}
	}
}

func (s *Server) setWebhook(w http.ResponseWriter, _ *http.Request, p map[string]string, _ map[string]upload) {
	u := p["url"]
	if u == "" {
		s.deleteWebhook(w, nil, p, nil)
		return
	}
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		writeError(w, http.StatusBadRequest, "Bad Request: bad webhook: invalid URL", 0)
		return
	}
	if p["drop_pending_updates"] == "true" {
		s.mu.Lock()
		s.queue = nil
		s.mu.Unlock()
	}
	s.stopHook()
	s.mu.Lock()
	s.hook = webhook{url: u, secret: p["secret_token"]}
	s.hookStop = make(chan struct{})
	s.hookDone = make(chan struct{})
	go s.deliver(s.hook, s.hookStop, s.hookDone)
	s.notifyLocked()
	s.mu.Unlock()
	writeOK(w, true)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, _ *http.Request, p map[string]string, _ map[string]upload) {
	s.stopHook()
	s.mu.Lock()
	s.hook = webhook{}
	if p["drop_pending_updates"] == "true" {
		s.queue = nil
	}
	s.notifyLocked()
	s.mu.Unlock()
	writeOK(w, true)
}

func (s *Server) getWebhookInfo(w http.ResponseWriter, _ *http.Request, _ map[string]string, _ map[string]upload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeOK(w, map[string]any{"url": s.hook.url, "has_custom_certificate": false, "pending_update_count": len(s.queue)})
}

func (s *Server) stopHook() {
	s.mu.Lock()
	stop, done := s.hookStop, s.hookDone
	s.hookStop, s.hookDone = nil, nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// deliver POSTs queued updates to the webhook one at a time, in order,
// retrying an update until the bot answers 2xx, as Telegram does.
func (s *Server) deliver(h webhook, stop, done chan struct{}) {
	defer close(done)
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		s.mu.Lock()
		var next *Update
		if len(s.queue) > 0 {
			u := s.queue[0].u
			next = &u
		}
		changed := s.changed
		s.mu.Unlock()
		if next == nil {
			select {
			case <-stop:
				return
			case <-changed:
				continue
			}
		}
		body, _ := json.Marshal(next)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if h.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.secret)
		}
		resp, err := s.hookClient.Do(req)
		ok := err == nil && resp.StatusCode/100 == 2
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
		if ok {
			s.mu.Lock()
			if len(s.queue) > 0 && s.queue[0].u.UpdateID == next.UpdateID {
				s.queue = s.queue[1:]
			}
			s.calls["webhook-ok"]++
			s.notifyLocked()
			s.mu.Unlock()
			continue
		}
		s.mu.Lock()
		s.calls["webhook-failed"]++
		s.notifyLocked()
		s.mu.Unlock()
		retry.Reset(20 * time.Millisecond)
		select {
		case <-stop:
			return
		case <-retry.C:
		}
	}
}

func (s *Server) chatOf(p map[string]string) (int64, bool) {
	id, ok := intParam(p, "chat_id")
	return id, ok
}

func decodeMarkup(raw string) (*Markup, error) {
	if raw == "" {
		return nil, nil
	}
	var m Markup
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("can't parse reply keyboard markup JSON object")
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && (len(*b.CallbackData) < 1 || len(*b.CallbackData) > 64) {
				return nil, fmt.Errorf("BUTTON_DATA_INVALID")
			}
		}
	}
	return &m, nil
}

// record stores an outgoing message; s.mu must be held.
func (s *Server) recordLocked(sent Sent) Message {
	s.nextMsg++
	sent.MessageID = s.nextMsg
	sent.At = time.Now()
	s.sent[sent.ChatID] = append(s.sent[sent.ChatID], sent)
	s.stamps = append(s.stamps, stamp{chat: sent.ChatID, at: sent.At})
	s.notifyLocked()
	msg := Message{MessageID: sent.MessageID, From: &s.Bot, Date: sent.At.Unix(), Chat: Chat{ID: sent.ChatID, Type: "private"}}
	if sent.Markup != nil {
		msg.ReplyMarkup, _ = json.Marshal(sent.Markup)
	}
	return msg
}

func (s *Server) sendMessage(w http.ResponseWriter, _ *http.Request, p map[string]string, _ map[string]upload) {
	chat, ok := s.chatOf(p)
	if !ok {
		writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
		return
	}
	text := p["text"]
	if strings.TrimSpace(text) == "" {
		writeError(w, http.StatusBadRequest, "Bad Request: message text is empty", 0)
		return
	}
	if len([]rune(text)) > 4096 {
		writeError(w, http.StatusBadRequest, "Bad Request: message is too long", 0)
		return
	}
	markup, err := decodeMarkup(p["reply_markup"])
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	s.mu.Lock()
	if s.blocked[chat] {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
		return
	}
	msg := s.recordLocked(Sent{Method: "sendMessage", ChatID: chat, Text: text, Markup: markup, ParseMode: p["parse_mode"]})
	s.mu.Unlock()
	msg.Text = text
	writeOK(w, msg)
}

func (s *Server) sendFile(field string) handler {
	return func(w http.ResponseWriter, _ *http.Request, p map[string]string, files map[string]upload) {
		chat, ok := s.chatOf(p)
		if !ok {
			writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
			return
		}
		markup, err := decodeMarkup(p["reply_markup"])
		if err != nil {
			writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
			return
		}
		sent := Sent{Method: "send" + strings.ToUpper(field[:1]) + field[1:], ChatID: chat, Text: p["caption"], Markup: markup, FileField: field}
		if up, ok := files[field]; ok {
			sent.FileName, sent.FileData = up.name, up.data
		} else if ref := p[field]; ref != "" {
			sent.FileRef = ref
		} else {
			writeError(w, http.StatusBadRequest, "Bad Request: there is no "+field+" in the request", 0)
			return
		}
		s.mu.Lock()
		if s.blocked[chat] {
			s.mu.Unlock()
			writeError(w, http.StatusForbidden, "Forbidden: bot was blocked by the user", 0)
			return
		}
		msg := s.recordLocked(sent)
		f := s.addFileLocked(field+"s", sent.FileData)
		s.mu.Unlock()
		msg.Caption = sent.Text
		switch field {
		case "photo":
			msg.Photo = []PhotoSize{{FileID: f.FileID, FileUniqueID: f.FileUniqueID, Width: 800, Height: 600, FileSize: f.FileSize}}
		case "voice":
			msg.Voice = &Voice{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileSize: f.FileSize, MimeType: "audio/ogg"}
		default:
			msg.Document = &Document{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileName: sent.FileName, FileSize: f.FileSize}
		}
		writeOK(w, msg)
	}
}

func (s *Server) answerCallbackQuery(w http.ResponseWriter, _ *http.Request, p map[string]string, _ map[string]upload) {
	id := p["callback_query_id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.openCB[id] {
		writeError(w, http.StatusBadRequest, "Bad Request: query is too old and response timeout expired or query ID is invalid", 0)
		return
	}
	delete(s.openCB, id)
	s.answers = append(s.answers, CallbackAnswer{QueryID: id, Text: p["text"], ShowAlert: p["show_alert"] == "true"})
	s.notifyLocked()
	writeOK(w, true)
}

func (s *Server) getFile(w http.ResponseWriter, _ *http.Request, p map[string]string, _ map[string]upload) {
	s.mu.Lock()
	f, ok := s.files[p["file_id"]]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "Bad Request: invalid file_id", 0)
		return
	}
	writeOK(w, f.file)
}

func (s *Server) serveFile(w http.ResponseWriter, rest string) {
	token, path, ok := strings.Cut(rest, "/")
	if !ok || token != s.Token {
		writeError(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	s.mu.Lock()
	f, ok := s.paths[path]
	s.calls["file-download"]++
	s.notifyLocked()
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

func (s *Server) editMessageReplyMarkup(w http.ResponseWriter, _ *http.Request, p map[string]string, _ map[string]upload) {
	chat, _ := s.chatOf(p)
	id, _ := intParam(p, "message_id")
	markup, err := decodeMarkup(p["reply_markup"])
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.sent[chat]
	for i := range list {
		if int64(list[i].MessageID) == id {
			list[i].Markup = markup
			s.edits[chat] = append(s.edits[chat], Sent{Method: "editMessageReplyMarkup", ChatID: chat, MessageID: int(id), Markup: markup, At: time.Now()})
			s.notifyLocked()
			msg := Message{MessageID: int(id), From: &s.Bot, Date: time.Now().Unix(), Chat: Chat{ID: chat, Type: "private"}, Text: list[i].Text}
			writeOK(w, msg)
			return
		}
	}
	writeError(w, http.StatusBadRequest, "Bad Request: message to edit not found", 0)
}

// addFileLocked stores data as a downloadable file; s.mu must be held.
func (s *Server) addFileLocked(dir string, data []byte) File {
	s.nextFile++
	f := File{
		FileID:       fmt.Sprintf("AgAC-%d-%s", s.nextFile, dir),
		FileUniqueID: fmt.Sprintf("AQAD%d", s.nextFile),
		FileSize:     len(data),
		FilePath:     fmt.Sprintf("%s/file_%d", dir, s.nextFile),
	}
	sf := &storedFile{file: f, data: data}
	s.files[f.FileID] = sf
	s.paths[f.FilePath] = sf
	return f
}

// Sent returns what the bot sent to chat so far, oldest first.
func (s *Server) Sent(chat int64) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent[chat]...)
}

// Edits returns the editMessageReplyMarkup calls made in chat.
func (s *Server) Edits(chat int64) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.edits[chat]...)
}

// WaitSent waits until the bot has sent at least n messages to chat and
// returns them all, or returns ctx's error with what was sent by then.
func (s *Server) WaitSent(ctx context.Context, chat int64, n int) ([]Sent, error) {
	return waitFor(ctx, s, func() ([]Sent, bool) {
		list := append([]Sent(nil), s.sent[chat]...)
		return list, len(list) >= n
	})
}

// WaitAnswers waits until n callback queries were answered.
func (s *Server) WaitAnswers(ctx context.Context, n int) ([]CallbackAnswer, error) {
	return waitFor(ctx, s, func() ([]CallbackAnswer, bool) {
		list := append([]CallbackAnswer(nil), s.answers...)
		return list, len(list) >= n
	})
}

// WaitCalls waits until method was called at least n times (failures
// injected with FailNext count too).
func (s *Server) WaitCalls(ctx context.Context, method string, n int) (int, error) {
	method = strings.ToLower(method)
	return waitFor(ctx, s, func() (int, bool) { return s.calls[method], s.calls[method] >= n })
}

// WaitQueueEmpty waits until every queued update has been delivered and
// confirmed (by a later getUpdates offset or a 2xx webhook answer).
func (s *Server) WaitQueueEmpty(ctx context.Context) error {
	_, err := waitFor(ctx, s, func() (int, bool) { return len(s.queue), len(s.queue) == 0 })
	return err
}

func waitFor[T any](ctx context.Context, s *Server, cond func() (T, bool)) (T, error) {
	for {
		s.mu.Lock()
		v, ok := cond()
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return v, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return v, ctx.Err()
		}
	}
}

// Calls reports how many times method was requested. Besides method
// names it counts "getUpdates-conflict" (a long poll ended by a newer
// one: two pollers at once), "webhook-ok", "webhook-failed" and
// "file-download".
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// FailNext makes the next call of method fail with HTTP status code and,
// when retryAfter > 0, parameters.retry_after (as Telegram's 429 does).
// Calls queue up: FailNext twice fails the next two calls.
func (s *Server) FailNext(method string, code, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := strings.ToLower(method)
	s.fails[m] = append(s.fails[m], failure{code: code, retryAfter: retryAfter})
}

// Block makes sends to chat fail with 403, as when a user blocked the bot.
func (s *Server) Block(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chat] = true
}

// Webhook returns the URL and secret the bot registered, empty when none.
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hook.url, s.hook.secret
}

// RateViolations lists every place where the bot sent faster than Telegram
// allows: two messages to one chat less than PerChatInterval apart, or more
// than GlobalPerSecond messages within one second. A small slack absorbs
// network jitter. Empty means the bot behaved.
func (s *Server) RateViolations() []string {
	s.mu.Lock()
	stamps := append([]stamp(nil), s.stamps...)
	s.mu.Unlock()
	sort.SliceStable(stamps, func(i, j int) bool { return stamps[i].at.Before(stamps[j].at) })
	var out []string
	lastByChat := map[int64]time.Time{}
	for i, st := range stamps {
		if prev, ok := lastByChat[st.chat]; ok {
			if gap := st.at.Sub(prev); gap < PerChatInterval-rateSlack {
				out = append(out, fmt.Sprintf("chat %d: two messages %v apart", st.chat, gap))
			}
		}
		lastByChat[st.chat] = st.at
		if i >= GlobalPerSecond {
			if span := st.at.Sub(stamps[i-GlobalPerSecond].at); span < time.Second-rateSlack {
				out = append(out, fmt.Sprintf("%d messages within %v", GlobalPerSecond+1, span))
			}
		}
	}
	return out
}

// SentCount is the number of messages sent to every chat together.
func (s *Server) SentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stamps)
}
