package aritest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// handlers maps resource.nickname to its behaviour. Handlers run with s.mu
// held; they return the HTTP status written.
var handlers map[string]func(*call) int

func init() {
	handlers = map[string]func(*call) int{
		"channels.list":               hChannelList,
		"channels.get":                hChannelGet,
		"channels.originate":          hOriginate,
		"channels.originateWithId":    hOriginate,
		"channels.create":             hCreate,
		"channels.dial":               hDial,
		"channels.hangup":             hHangup,
		"channels.answer":             hAnswer,
		"channels.ring":               inApp(func(c *call, ch *channel) int { ch.ringing = true; return c.noContent() }),
		"channels.ringStop":           inApp(func(c *call, ch *channel) int { ch.ringing = false; return c.noContent() }),
		"channels.progress":           inApp(func(c *call, ch *channel) int { ch.progress = true; return c.noContent() }),
		"channels.hold":               inApp(func(c *call, ch *channel) int { ch.hold = true; return c.noContent() }),
		"channels.unhold":             inApp(func(c *call, ch *channel) int { ch.hold = false; return c.noContent() }),
		"channels.startSilence":       inApp(func(c *call, ch *channel) int { ch.silence = true; return c.noContent() }),
		"channels.stopSilence":        inApp(func(c *call, ch *channel) int { ch.silence = false; return c.noContent() }),
		"channels.startMoh":           inApp(hChannelMOHStart),
		"channels.stopMoh":            inApp(func(c *call, ch *channel) int { ch.moh = false; return c.noContent() }),
		"channels.mute":               inApp(hMute),
		"channels.unmute":             inApp(func(c *call, ch *channel) int { ch.muted = ""; return c.noContent() }),
		"channels.sendDTMF":           inApp(hSendDTMF),
		"channels.play":               inApp(hChannelPlay),
		"channels.playWithId":         inApp(hChannelPlay),
		"channels.record":             hChannelRecord,
		"channels.getChannelVar":      inApp(hGetVar),
		"channels.setChannelVar":      inApp(hSetVar),
		"channels.getChannelVars":     inApp(hGetVars),
		"channels.setChannelVars":     inApp(hSetVars),
		"channels.snoopChannel":       hSnoop,
		"channels.snoopChannelWithId": hSnoop,
		"channels.continueInDialplan": inApp(hContinue),
		"channels.move":               inApp(hMove),
		"channels.redirect":           inApp(func(c *call, ch *channel) int { ch.redirectedTo = c.param("endpoint"); return c.noContent() }),
	}
	for k, v := range bridgeHandlers {
		handlers[k] = v
	}
	for k, v := range mediaHandlers {
		handlers[k] = v
	}
	for k, v := range miscHandlers {
		handlers[k] = v
	}
}

// inApp wraps a handler that needs an existing channel in Stasis: 404 and
// 409 as Asterisk answers them.
func inApp(h func(*call, *channel) int) func(*call) int {
	return func(c *call) int {
		ch := c.s.channels[c.path("channelId")]
		if ch == nil {
			return c.fail(http.StatusNotFound, "Channel not found")
		}
		if !ch.inApp {
			return c.fail(http.StatusConflict, "Channel not in Stasis application")
		}
		return h(c, ch)
	}
}

func (s *Server) chEvent(ch *channel, typ string, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["channel"] = ch.wire()
	s.emit(ch.app, typ, ch.id, fields)
}

// newChannel registers a channel; s.mu held.
func (s *Server) newChannel(name string) *channel {
	n := s.nextSeq()
	now := s.now()
	ch := &channel{
		id:         fmt.Sprintf("%d.%d", now.Unix(), n),
		name:       fmt.Sprintf("%s-%08x", name, n),
		protocolID: fmt.Sprintf("%08x@aritest", n),
		state:      "Down",
		created:    now,
		language:   s.cfg.Language,
		vars:       map[string]string{},
	}
	if s.cfg.SystemName != "" {
		ch.id = s.cfg.SystemName + "-" + ch.id
	}
	return ch
}

func (s *Server) addChannel(ch *channel) {
	s.channels[ch.id] = ch
	s.order = append(s.order, ch.id)
}

// endChannel hangs ch up. soft is an ARI (DELETE) hangup; cause is the
// Q.850 cause the far end gave otherwise. s.mu held.
func (s *Server) endChannel(ch *channel, soft bool, cause int, causeTxt string) {
	if _, ok := s.channels[ch.id]; !ok {
		return
	}
	// Snoop channels go with the channel they watch.
	for _, id := range slices.Clone(s.order) {
		if sn := s.channels[id]; sn != nil && sn.snoopOf == ch.id {
			s.endChannel(sn, false, 16, "Normal Clearing")
		}
	}
	if ch.dialing {
		s.emit(ch.app, "Dial", ch.id, s.dialFields(ch, "CANCEL"))
	} else if ch.app != "" {
		hc := cause
		if soft {
			hc = 32 // Asterisk's soft-hangup flag, as observed (README)
		}
		s.chEvent(ch, "ChannelHangupRequest", map[string]any{"cause": hc, "soft": soft})
	}
	for id, p := range s.playbacks {
		if p.target == "channel:"+ch.id {
			p.state = "done"
			s.emit(p.app, "PlaybackFinished", ch.id, map[string]any{"playback": p.wire()})
			delete(s.playbacks, id)
		}
	}
	for _, r := range s.live {
		if r.target == "channel:"+ch.id {
			s.finishRecording(r, "done", "")
		}
	}
	if ch.bridge != "" {
		if b := s.bridges[ch.bridge]; b != nil {
			s.leaveBridge(b, ch)
		}
	}
	if ch.inApp {
		ch.inApp = false
		s.chEvent(ch, "StasisEnd", nil)
	}
	if ch.originated || ch.snoopOf != "" {
		s.chEvent(ch, "ChannelDestroyed", map[string]any{"cause": cause, "cause_txt": causeTxt})
	}
	ch.dialing = false
	if ch.absTimeout != nil {
		ch.absTimeout.Stop()
	}
	delete(s.channels, ch.id)
	s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == ch.id })
	s.gone[ch.id] = ch
}

func (s *Server) dialFields(peer *channel, status string) map[string]any {
	m := map[string]any{"peer": peer.wire(), "dialstatus": status, "dialstring": dialString(peer.endpoint)}
	if peer.dialer != "" {
		if c := s.channels[peer.dialer]; c != nil {
			m["caller"] = c.wire()
		}
	}
	return m
}

func dialString(endpoint string) string {
	_, res, _ := strings.Cut(endpoint, "/")
	return res
}

func hChannelList(c *call) int {
	out := []map[string]any{}
	for _, id := range c.s.order {
		out = append(out, c.s.channels[id].wire())
	}
	return c.ok(out)
}

func hChannelGet(c *call) int {
	ch := c.s.channels[c.path("channelId")]
	if ch == nil {
		return c.fail(http.StatusNotFound, "Channel not found")
	}
	return c.ok(ch.wire())
}

// parseCallerID splits `"Name" <num>` or a bare number.
func parseCallerID(s string) (name, num string) {
	if i := strings.Index(s, "<"); i >= 0 {
		if j := strings.Index(s[i:], ">"); j > 0 {
			return strings.Trim(strings.TrimSpace(s[:i]), `"`), s[i+1 : i+j]
		}
	}
	return "", s
}

func (c *call) makeOutbound(id string) (*channel, int) {
	s := c.s
	endpoint := c.param("endpoint")
	if !strings.Contains(endpoint, "/") {
		return nil, c.fail(http.StatusBadRequest, "Invalid endpoint: "+endpoint)
	}
	if id != "" && (s.channels[id] != nil || s.gone[id] != nil) {
		return nil, c.fail(http.StatusConflict, "Channel with given unique ID already exists")
	}
	ch := s.newChannel(endpoint)
	if id != "" {
		ch.id = id
	}
	ch.endpoint = endpoint
	ch.originated = true
	ch.callerName, ch.callerNum = parseCallerID(c.param("callerId"))
	ch.connNum = dialString(endpoint)
	if other := c.param("otherChannelId"); other != "" {
		_ = other // only meaningful for Local channels; accepted and ignored
	}
	for k, v := range c.bodyVars("variables") {
		ch.vars[k] = v
	}
	return ch, 0
}

func hOriginate(c *call) int {
	id := c.path("channelId")
	if id == "" {
		id = c.param("channelId")
	}
	app, ext := c.param("app"), c.param("extension")
	if app == "" && ext == "" {
		return c.fail(http.StatusBadRequest, "Application or extension must be specified")
	}
	if app != "" && ext != "" {
		return c.fail(http.StatusBadRequest, "Application and extension are mutually exclusive")
	}
	ch, status := c.makeOutbound(id)
	if ch == nil {
		return status
	}
	s := c.s
	if app != "" {
		// The app is subscribed to channels it originates, so it sees
		// the Dial events; on answer the channel enters it.
		ch.app = app
		if a := c.param("appArgs"); a != "" {
			ch.appArgs = strings.Split(a, ",")
		} else {
			ch.appArgs = []string{}
		}
		ch.appName, ch.appData = "Stasis", strings.Join(append([]string{app}, ch.appArgs...), ",")
	} else {
		ch.context, ch.exten = c.param("context"), ext
		ch.priority = 1
		if p, err := strconv.ParseInt(c.param("priority"), 10, 64); err == nil {
			ch.priority = p
		}
	}
	s.addChannel(ch)
	out := ch.wire()
	s.startDial(ch)
	return c.ok(out)
}

// startDial emits the Dial progress of a ringing channel and hands it to
// the test (WaitOriginated).
func (s *Server) startDial(ch *channel) {
	ch.dialing = true
	s.emit(ch.app, "Dial", ch.id, s.dialFields(ch, ""))
	ch.state = "Ringing"
	s.chEvent(ch, "ChannelStateChange", nil)
	s.emit(ch.app, "Dial", ch.id, s.dialFields(ch, "RINGING"))
	s.originated = append(s.originated, ch.id)
}

func hCreate(c *call) int {
	ch, status := c.makeOutbound(c.param("channelId"))
	if ch == nil {
		return status
	}
	ch.app = c.param("app")
	if a := c.param("appArgs"); a != "" {
		ch.appArgs = strings.Split(a, ",")
	} else {
		ch.appArgs = []string{}
	}
	ch.dialable = true
	c.s.addChannel(ch)
	return c.ok(ch.wire())
}

func hDial(c *call) int {
	ch := c.s.channels[c.path("channelId")]
	if ch == nil {
		return c.fail(http.StatusNotFound, "Channel cannot be found.")
	}
	if !ch.dialable {
		return c.fail(http.StatusConflict, "Channel cannot be dialed.")
	}
	if caller := c.param("caller"); caller != "" {
		if c.s.channels[caller] == nil {
			return c.fail(http.StatusNotFound, "Caller channel cannot be found.")
		}
		ch.dialer = caller
	}
	ch.dialable = false
	c.s.startDial(ch)
	return c.noContent()
}

func hHangup(c *call) int {
	ch := c.s.channels[c.path("channelId")]
	if ch == nil {
		return c.fail(http.StatusNotFound, "Channel not found")
	}
	ch.hangupReason = c.param("reason")
	c.s.endChannel(ch, true, 16, "Normal Clearing")
	return c.noContent()
}

func hAnswer(c *call) int {
	ch := c.s.channels[c.path("channelId")]
	if ch == nil {
		return c.fail(http.StatusNotFound, "Channel not found")
	}
	if !ch.inApp {
		return c.fail(http.StatusConflict, "Channel not in Stasis application")
	}
	if ch.state != "Up" {
		ch.state = "Up"
		c.s.chEvent(ch, "ChannelStateChange", nil)
	}
	return c.noContent()
}

func hChannelMOHStart(c *call, ch *channel) int {
	ch.moh, ch.mohClass = true, c.param("mohClass")
	if ch.mohClass == "" {
		ch.mohClass = "default"
	}
	return c.noContent()
}

func hMute(c *call, ch *channel) int {
	ch.muted = c.param("direction")
	if ch.muted == "" {
		ch.muted = "both"
	}
	return c.noContent()
}

func hSendDTMF(c *call, ch *channel) int {
	d := c.param("dtmf")
	if d == "" {
		return c.fail(http.StatusBadRequest, "DTMF is required")
	}
	for _, r := range d {
		if !strings.ContainsRune("0123456789ABCD*#wW,", r) {
			return c.fail(http.StatusBadRequest, "Invalid DTMF digit")
		}
	}
	ch.sentDTMF.WriteString(d)
	return c.noContent()
}

// chanVar resolves a variable or the few dialplan functions tests use.
func chanVar(ch *channel, name string) (string, bool) {
	switch name {
	case "CALLERID(num)":
		return ch.callerNum, true
	case "CALLERID(name)":
		return ch.callerName, true
	case "CHANNEL(language)":
		return ch.language, true
	case "UNIQUEID":
		return ch.id, true
	}
	v, ok := ch.vars[name]
	return v, ok
}

func hGetVar(c *call, ch *channel) int {
	v, ok := chanVar(ch, c.param("variable"))
	if !ok {
		return c.fail(http.StatusNotFound, "Provided variable was not found")
	}
	return c.ok(map[string]string{"value": v})
}

func hSetVar(c *call, ch *channel) int {
	name, val := c.param("variable"), c.param("value")
	switch name {
	case "CHANNEL(language)":
		ch.language = val
	case "TIMEOUT(absolute)":
		if !c.s.setAbsTimeout(ch, val) {
			return c.fail(http.StatusBadRequest, "Failed to execute function")
		}
		ch.vars[name] = val
	default:
		ch.vars[name] = val
	}
	c.s.chEvent(ch, "ChannelVarset", map[string]any{"variable": name, "value": val})
	return c.noContent()
}

// setAbsTimeout models TIMEOUT(absolute): seconds (a fraction allowed)
// after it is set, Asterisk hangs the channel up, whether or not an app
// is connected; 0 clears it. s.mu held; false for a value that is not a
// number of seconds.
func (s *Server) setAbsTimeout(ch *channel, val string) bool {
	secs, err := strconv.ParseFloat(val, 64)
	if err != nil || secs < 0 {
		return false
	}
	if ch.absTimeout != nil {
		ch.absTimeout.Stop()
		ch.absTimeout = nil
	}
	if secs == 0 {
		return true
	}
	ch.absTimeout = time.AfterFunc(time.Duration(secs*float64(time.Second)), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.channels[ch.id] == ch {
			s.endChannel(ch, true, 16, "Normal Clearing")
			s.touch()
		}
	})
	return true
}

func hGetVars(c *call, ch *channel) int {
	out := map[string]string{}
	for _, n := range c.list("variables") {
		v, ok := chanVar(ch, n)
		if !ok {
			return c.fail(http.StatusNotFound, "Provided variable was not found")
		}
		out[n] = v
	}
	return c.ok(map[string]any{"variables": out})
}

func hSetVars(c *call, ch *channel) int {
	for k, v := range c.bodyVars("variables") {
		if k == "TIMEOUT(absolute)" && !c.s.setAbsTimeout(ch, v) {
			return c.fail(http.StatusBadRequest, "Failed to execute function")
		}
		ch.vars[k] = v
		c.s.chEvent(ch, "ChannelVarset", map[string]any{"variable": k, "value": v})
	}
	return c.noContent()
}

func hSnoop(c *call) int {
	s := c.s
	target := s.channels[c.path("channelId")]
	if target == nil {
		return c.fail(http.StatusNotFound, "Channel not found")
	}
	id := c.path("snoopId")
	if id == "" {
		id = c.param("snoopId")
	}
	if id != "" && s.channels[id] != nil {
		return c.fail(http.StatusBadRequest, "Snoop id already in use")
	}
	sn := s.newChannel("Snoop/" + target.id)
	if id != "" {
		sn.id = id
	}
	sn.state = "Up"
	sn.snoopOf = target.id
	sn.app = c.param("app")
	sn.appArgs = []string{}
	if a := c.param("appArgs"); a != "" {
		sn.appArgs = strings.Split(a, ",")
	}
	sn.appName, sn.appData = "Stasis", sn.app
	s.addChannel(sn)
	out := sn.wire()
	sn.inApp = true
	s.chEvent(sn, "StasisStart", map[string]any{"args": sn.appArgs})
	return c.ok(out)
}

func hContinue(c *call, ch *channel) int {
	ctx, ext, pri := c.param("context"), c.param("extension"), c.param("priority")
	if ctx == "" {
		ctx = ch.context
	}
	if ext == "" {
		ext = ch.exten
	}
	if pri == "" {
		pri = strconv.FormatInt(ch.priority+1, 10)
	}
	if l := c.param("label"); l != "" {
		pri = l
	}
	if ch.bridge != "" {
		if b := c.s.bridges[ch.bridge]; b != nil {
			c.s.leaveBridge(b, ch)
		}
	}
	ch.continuedTo = ctx + "," + ext + "," + pri
	ch.inApp = false
	c.s.chEvent(ch, "StasisEnd", nil)
	return c.noContent()
}

func hMove(c *call, ch *channel) int {
	s := c.s
	app := c.param("app")
	if !s.registered(app) {
		// Asterisk keeps the channel where it is and tells the app.
		args := []string{}
		if a := c.param("appArgs"); a != "" {
			args = strings.Split(a, ",")
		}
		s.chEvent(ch, "ApplicationMoveFailed", map[string]any{"destination": app, "args": args})
		return c.noContent()
	}
	ch.inApp = false
	s.chEvent(ch, "StasisEnd", nil)
	ch.movedTo = app
	ch.app = app
	ch.appArgs = []string{}
	if a := c.param("appArgs"); a != "" {
		ch.appArgs = strings.Split(a, ",")
	}
	ch.inApp = true
	s.chEvent(ch, "StasisStart", map[string]any{"args": ch.appArgs})
	return c.noContent()
}
