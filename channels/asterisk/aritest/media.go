package aritest

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

var mediaHandlers = map[string]func(*call) int{
	"playbacks.get":         withPlayback(func(c *call, p *playback) int { return c.ok(p.wire()) }),
	"playbacks.stop":        withPlayback(hPlaybackStop),
	"playbacks.control":     withPlayback(hPlaybackControl),
	"recordings.getLive":    withLive(func(c *call, r *liveRec) int { return c.ok(r.wire()) }),
	"recordings.stop":       withLive(func(c *call, r *liveRec) int { c.s.finishRecording(r, "done", ""); return c.noContent() }),
	"recordings.cancel":     withLive(func(c *call, r *liveRec) int { c.s.finishRecording(r, "canceled", ""); return c.noContent() }),
	"recordings.pause":      withLive(liveState("paused")),
	"recordings.unpause":    withLive(liveState("recording")),
	"recordings.mute":       withLive(func(c *call, r *liveRec) int { return c.noContent() }),
	"recordings.unmute":     withLive(func(c *call, r *liveRec) int { return c.noContent() }),
	"recordings.listStored": hListStored,
	"recordings.getStored": withStored(func(c *call, name string, r *storedRec) int {
		return c.ok(map[string]string{"name": name, "format": r.format})
	}),
	"recordings.deleteStored":  withStored(func(c *call, name string, r *storedRec) int { delete(c.s.stored, name); return c.noContent() }),
	"recordings.copyStored":    withStored(hCopyStored),
	"recordings.getStoredFile": withStored(hStoredFile),
}

// ---- playbacks ----

func (c *call) startPlayback(target, app, lang string) int {
	s := c.s
	id := c.path("playbackId")
	if id == "" {
		id = c.param("playbackId")
	}
	if id == "" {
		id = fmt.Sprintf("aritest-playback-%d", s.nextSeq())
	}
	if s.playbacks[id] != nil {
		return c.fail(http.StatusConflict, "Playback id already in use")
	}
	media := c.list("media")
	for _, m := range media {
		scheme, _, ok := strings.Cut(m, ":")
		if !ok || !slices.Contains([]string{"sound", "recording", "number", "digits", "characters", "tone"}, scheme) {
			return c.fail(http.StatusBadRequest, "Invalid media URI: "+m)
		}
	}
	if l := c.param("lang"); l != "" {
		lang = l
	}
	p := &playback{id: id, media: media, target: target, language: lang, state: "queued", app: app}
	s.playbacks[id] = p
	out := p.wire()
	p.state = "playing"
	_, tid := splitURI(target)
	chID := ""
	if strings.HasPrefix(target, "channel:") {
		chID = tid
	}
	s.emit(app, "PlaybackStarted", chID, map[string]any{"playback": p.wire()})
	if !s.cfg.ManualPlaybacks {
		s.finishPlayback(p)
	}
	w := c.w
	w.Header().Set("Location", "/playbacks/"+id)
	return c.created(out)
}

func splitURI(u string) (string, string) {
	k, v, _ := strings.Cut(u, ":")
	return k, v
}

// finishPlayback ends p; s.mu held.
func (s *Server) finishPlayback(p *playback) {
	p.state = "done"
	chID := ""
	if k, id := splitURI(p.target); k == "channel" {
		chID = id
	}
	s.emit(p.app, "PlaybackFinished", chID, map[string]any{"playback": p.wire()})
	delete(s.playbacks, p.id)
}

func hChannelPlay(c *call, ch *channel) int {
	ch.played = append(ch.played, c.list("media")...)
	return c.startPlayback("channel:"+ch.id, ch.app, ch.language)
}

func hBridgePlay(c *call, b *bridge) int {
	b.played = append(b.played, c.list("media")...)
	b.announcer = true
	return c.startPlayback("bridge:"+b.id, b.app, c.s.cfg.Language)
}

func withPlayback(h func(*call, *playback) int) func(*call) int {
	return func(c *call) int {
		p := c.s.playbacks[c.path("playbackId")]
		if p == nil {
			return c.fail(http.StatusNotFound, "Playback not found")
		}
		return h(c, p)
	}
}

func hPlaybackStop(c *call, p *playback) int {
	c.s.finishPlayback(p)
	return c.noContent()
}

func hPlaybackControl(c *call, p *playback) int {
	op := c.param("operation")
	p.controls = append(p.controls, op)
	// Asterisk reports "paused" internally, but the description's Playback
	// states have no such value; the double stays "playing".
	return c.noContent()
}

// ---- recordings ----

func (c *call) startRecording(target, app string) int {
	s := c.s
	name, format := c.param("name"), c.param("format")
	if !slices.Contains(knownFormats, format) {
		return c.fail(http.StatusUnprocessableEntity, "The format specified is unknown on this system")
	}
	ifExists := c.param("ifExists")
	if ifExists == "" {
		ifExists = "fail"
	}
	if s.live[name] != nil {
		return c.fail(http.StatusConflict, "A recording with the same name is already in progress")
	}
	if s.stored[name] != nil && ifExists == "fail" {
		return c.fail(http.StatusConflict, "A recording with the same name already exists on the system")
	}
	r := &liveRec{name: name, format: format, target: target, state: "queued", app: app,
		terminateOn: c.param("terminateOn"), started: s.now(), ifExists: ifExists}
	s.live[name] = r
	out := r.wire()
	r.state = "recording"
	_, id := splitURI(target)
	s.emit(app, "RecordingStarted", id, map[string]any{"recording": r.wire()})
	c.w.Header().Set("Location", "/recordings/live/"+name)
	return c.created(out)
}

func hChannelRecord(c *call) int {
	ch := c.s.channels[c.path("channelId")]
	if ch == nil {
		return c.fail(http.StatusNotFound, "Channel not found")
	}
	if !ch.inApp {
		return c.fail(http.StatusConflict, "Channel is not in a Stasis application")
	}
	return c.startRecording("channel:"+ch.id, ch.app)
}

func hBridgeRecord(c *call, b *bridge) int {
	return c.startRecording("bridge:"+b.id, b.app)
}

// finishRecording ends r with state done, canceled or failed; s.mu held.
// Asterisk reports a canceled recording with RecordingFinished and keeps
// no file.
func (s *Server) finishRecording(r *liveRec, state, cause string) {
	r.state, r.cause = state, cause
	_, id := splitURI(r.target)
	fields := map[string]any{"recording": r.wire()}
	switch state {
	case "failed":
		s.emit(r.app, "RecordingFailed", id, fields)
	default:
		if state == "done" {
			rec := fields["recording"].(map[string]any)
			rec["duration"] = max(1, int(s.now().Sub(r.started).Seconds()))
			data := fakeAudio(r.name, r.format)
			if old := s.stored[r.name]; old != nil && r.ifExists == "append" {
				data = append(old.data, data...)
			}
			s.stored[r.name] = &storedRec{format: r.format, data: data}
		}
		s.emit(r.app, "RecordingFinished", id, fields)
	}
	delete(s.live, r.name)
}

func withLive(h func(*call, *liveRec) int) func(*call) int {
	return func(c *call) int {
		r := c.s.live[c.path("recordingName")]
		if r == nil {
			return c.fail(http.StatusNotFound, "Recording not found")
		}
		return h(c, r)
	}
}

func liveState(state string) func(*call, *liveRec) int {
	return func(c *call, r *liveRec) int {
		r.state = state
		return c.noContent()
	}
}

func withStored(h func(*call, string, *storedRec) int) func(*call) int {
	return func(c *call) int {
		name := c.path("recordingName")
		r := c.s.stored[name]
		if r == nil {
			return c.fail(http.StatusNotFound, "Recording not found")
		}
		return h(c, name, r)
	}
}

func hListStored(c *call) int {
	names := make([]string, 0, len(c.s.stored))
	for n := range c.s.stored {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []map[string]string{}
	for _, n := range names {
		out = append(out, map[string]string{"name": n, "format": c.s.stored[n].format})
	}
	return c.ok(out)
}

func hCopyStored(c *call, name string, r *storedRec) int {
	dst := c.param("destinationRecordingName")
	if c.s.stored[dst] != nil {
		return c.fail(http.StatusConflict, "A recording with the same name already exists on the system")
	}
	c.s.stored[dst] = &storedRec{format: r.format, data: slices.Clone(r.data)}
	return c.ok(map[string]string{"name": dst, "format": r.format})
}

func hStoredFile(c *call, name string, r *storedRec) int {
	ct := "application/octet-stream"
	switch r.format {
	case "wav", "WAV", "wav16":
		ct = "audio/wav"
	case "gsm":
		ct = "audio/gsm"
	case "ogg":
		ct = "audio/ogg"
	case "mp3":
		ct = "audio/mpeg"
	}
	c.w.Header().Set("Content-Type", ct)
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(r.data)
	return http.StatusOK
}
