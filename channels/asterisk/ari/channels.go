package ari

import (
	"context"
	"net/http"
	"strconv"
)

// OriginateRequest is POST /channels (or /channels/{ChannelID} when
// ChannelID is set). Endpoint is required; then either App (the new
// channel enters this app on answer; empty means the client's app unless
// Context/Extension is set) or Context/Extension/Priority.
type OriginateRequest struct {
	Endpoint       string // e.g. PJSIP/1001, Local/1001@agents
	ChannelID      string // optional id to give the new channel
	OtherChannelID string
	App            string
	AppArgs        string
	Context        string
	Extension      string
	Priority       int64
	Label          string
	CallerID       string // e.g. `"137" <137>`
	Timeout        int    // seconds to ring; 0 = Asterisk default (30)
	Originator     string
	Formats        string
	Variables      map[string]string
}

// ChannelList returns every active channel (GET /channels).
func (c *Client) ChannelList(ctx context.Context) ([]Channel, error) {
	var out []Channel
	err := c.do(ctx, request{method: http.MethodGet, path: "/channels"}, &out)
	return out, err
}

// ChannelGet returns one channel; IsNotFound(err) when it is gone.
func (c *Client) ChannelGet(ctx context.Context, id string) (Channel, error) {
	var out Channel
	err := c.do(ctx, request{method: http.MethodGet, path: "/channels/" + seg(id)}, &out)
	return out, err
}

// ChannelOriginate dials r.Endpoint. The returned channel is in state Down;
// Dial events report progress and StasisStart arrives on answer.
func (c *Client) ChannelOriginate(ctx context.Context, r OriginateRequest) (Channel, error) {
	q := query{}
	q.set("endpoint", r.Endpoint)
	app := r.App
	if app == "" && r.Context == "" && r.Extension == "" {
		app = c.cfg.App
	}
	q.set("app", app)
	q.set("appArgs", r.AppArgs)
	q.set("context", r.Context)
	q.set("extension", r.Extension)
	if r.Priority != 0 {
		q.values().Set("priority", strconv.FormatInt(r.Priority, 10))
	}
	q.set("label", r.Label)
	q.set("callerId", r.CallerID)
	q.int("timeout", r.Timeout)
	q.set("otherChannelId", r.OtherChannelID)
	q.set("originator", r.Originator)
	q.set("formats", r.Formats)
	path := "/channels"
	if r.ChannelID != "" {
		path += "/" + seg(r.ChannelID)
	}
	var out Channel
	err := c.do(ctx, request{method: http.MethodPost, path: path, query: q.values(), body: variablesBody(r.Variables)}, &out)
	return out, err
}

// CreateRequest is POST /channels/create: a channel that is not dialed
// until ChannelDial.
type CreateRequest struct {
	Endpoint       string
	App            string // default: the client's app
	AppArgs        string
	ChannelID      string
	OtherChannelID string
	Originator     string
	Formats        string
	Variables      map[string]string
}

// ChannelCreate creates a channel without dialing it.
func (c *Client) ChannelCreate(ctx context.Context, r CreateRequest) (Channel, error) {
	q := query{}
	q.set("endpoint", r.Endpoint)
	app := r.App
	if app == "" {
		app = c.cfg.App
	}
	q.set("app", app)
	q.set("appArgs", r.AppArgs)
	q.set("channelId", r.ChannelID)
	q.set("otherChannelId", r.OtherChannelID)
	q.set("originator", r.Originator)
	q.set("formats", r.Formats)
	var out Channel
	err := c.do(ctx, request{method: http.MethodPost, path: "/channels/create", query: q.values(), body: variablesBody(r.Variables)}, &out)
	return out, err
}

// ChannelDial dials a channel made by ChannelCreate. caller is an optional
// channel id whose caller id is used; timeout in seconds (0 = none).
func (c *Client) ChannelDial(ctx context.Context, id, caller string, timeout int) error {
	q := query{}
	q.set("caller", caller)
	q.int("timeout", timeout)
	return c.do(ctx, request{method: http.MethodPost, path: "/channels/" + seg(id) + "/dial", query: q.values()}, nil)
}

// Hangup reasons Asterisk accepts for ChannelHangup.
const (
	HangupNormal            = "normal"
	HangupBusy              = "busy"
	HangupCongestion        = "congestion"
	HangupNoAnswer          = "no_answer"
	HangupTimeout           = "timeout"
	HangupRejected          = "rejected"
	HangupUnallocated       = "unallocated"
	HangupNormalUnspecified = "normal_unspecified"
	HangupNumberIncomplete  = "number_incomplete"
	HangupCodecMismatch     = "codec_mismatch"
	HangupInterworking      = "interworking"
	HangupFailure           = "failure"
	HangupAnsweredElsewhere = "answered_elsewhere"
)

// ChannelHangup hangs up a channel; reason is one of the Hangup* constants
// or "" for Asterisk's default.
func (c *Client) ChannelHangup(ctx context.Context, id, reason string) error {
	q := query{}
	q.set("reason", reason)
	return c.do(ctx, request{method: http.MethodDelete, path: "/channels/" + seg(id), query: q.values()}, nil)
}

// simple is a body-less POST or DELETE on /channels/{id}/{what}.
func (c *Client) simple(ctx context.Context, method, id, what string, q query) error {
	var v map[string][]string
	if q != nil {
		v = q.values()
	}
	return c.do(ctx, request{method: method, path: "/channels/" + seg(id) + "/" + what, query: v}, nil)
}

// ChannelAnswer answers a channel that is in the app.
func (c *Client) ChannelAnswer(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodPost, id, "answer", nil)
}

// ChannelRing indicates ringing to the caller.
func (c *Client) ChannelRing(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodPost, id, "ring", nil)
}

// ChannelRingStop stops the ringing indication.
func (c *Client) ChannelRingStop(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodDelete, id, "ring", nil)
}

// ChannelProgress indicates call progress (early media) to the caller.
func (c *Client) ChannelProgress(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodPost, id, "progress", nil)
}

// ChannelHold puts the channel on hold.
func (c *Client) ChannelHold(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodPost, id, "hold", nil)
}

// ChannelUnhold takes the channel off hold.
func (c *Client) ChannelUnhold(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodDelete, id, "hold", nil)
}

// ChannelMOHStart plays music on hold; class "" is the default class.
func (c *Client) ChannelMOHStart(ctx context.Context, id, class string) error {
	q := query{}
	q.set("mohClass", class)
	return c.simple(ctx, http.MethodPost, id, "moh", q)
}

// ChannelMOHStop stops music on hold.
func (c *Client) ChannelMOHStop(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodDelete, id, "moh", nil)
}

// ChannelSilenceStart plays silence to the channel.
func (c *Client) ChannelSilenceStart(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodPost, id, "silence", nil)
}

// ChannelSilenceStop stops playing silence.
func (c *Client) ChannelSilenceStop(ctx context.Context, id string) error {
	return c.simple(ctx, http.MethodDelete, id, "silence", nil)
}

// Mute directions.
const (
	DirectionBoth = "both"
	DirectionIn   = "in"
	DirectionOut  = "out"
)

// ChannelMute mutes audio in direction ("" = both).
func (c *Client) ChannelMute(ctx context.Context, id, direction string) error {
	q := query{}
	q.set("direction", direction)
	return c.simple(ctx, http.MethodPost, id, "mute", q)
}

// ChannelUnmute unmutes audio in direction ("" = both).
func (c *Client) ChannelUnmute(ctx context.Context, id, direction string) error {
	q := query{}
	q.set("direction", direction)
	return c.simple(ctx, http.MethodDelete, id, "mute", q)
}

// DTMFRequest sends digits to a channel; times are milliseconds, 0 means
// Asterisk's default.
type DTMFRequest struct {
	DTMF                             string
	Before, Between, Duration, After int
}

// ChannelSendDTMF sends DTMF digits to the channel.
func (c *Client) ChannelSendDTMF(ctx context.Context, id string, r DTMFRequest) error {
	q := query{}
	q.set("dtmf", r.DTMF)
	q.int("before", r.Before)
	q.int("between", r.Between)
	q.int("duration", r.Duration)
	q.int("after", r.After)
	return c.simple(ctx, http.MethodPost, id, "dtmf", q)
}

// PlayRequest plays media: "sound:NAME", "recording:NAME", "tone:...",
// "digits:...", "number:..."; several are played in order.
type PlayRequest struct {
	Media      []string
	Lang       string // e.g. "fa"
	PlaybackID string // optional id for the playback
	OffsetMS   int
	SkipMS     int
}

// ChannelPlay starts a playback on a channel. PlaybackStarted and
// PlaybackFinished events follow.
func (c *Client) ChannelPlay(ctx context.Context, id string, r PlayRequest) (Playback, error) {
	var out Playback
	err := c.do(ctx, request{method: http.MethodPost, path: "/channels/" + seg(id) + "/play", query: playQuery(r)}, &out)
	return out, err
}

func playQuery(r PlayRequest) map[string][]string {
	q := query{}
	q.list("media", r.Media)
	q.set("lang", r.Lang)
	q.set("playbackId", r.PlaybackID)
	q.int("offsetms", r.OffsetMS)
	q.int("skipms", r.SkipMS)
	return q.values()
}

// RecordRequest records a channel or bridge. Name and Format are required.
type RecordRequest struct {
	Name               string
	Format             string // e.g. "wav"
	MaxDurationSeconds int
	MaxSilenceSeconds  int
	IfExists           string // fail (default), overwrite, append
	Beep               bool
	TerminateOn        string // none (default), any, *, #
}

func recordQuery(r RecordRequest) map[string][]string {
	q := query{}
	q.set("name", r.Name)
	q.set("format", r.Format)
	q.int("maxDurationSeconds", r.MaxDurationSeconds)
	q.int("maxSilenceSeconds", r.MaxSilenceSeconds)
	q.set("ifExists", r.IfExists)
	if r.Beep {
		q.values().Set("beep", "true")
	}
	q.set("terminateOn", r.TerminateOn)
	return q.values()
}

// ChannelRecord starts recording a channel. RecordingStarted and then
// RecordingFinished or RecordingFailed follow.
func (c *Client) ChannelRecord(ctx context.Context, id string, r RecordRequest) (LiveRecording, error) {
	var out LiveRecording
	err := c.do(ctx, request{method: http.MethodPost, path: "/channels/" + seg(id) + "/record", query: recordQuery(r)}, &out)
	return out, err
}

// ChannelVar returns a channel variable (or dialplan function, e.g.
// "CALLERID(num)"); IsNotFound(err) when it is not set.
func (c *Client) ChannelVar(ctx context.Context, id, name string) (string, error) {
	var out Variable
	q := query{}
	q.set("variable", name)
	err := c.do(ctx, request{method: http.MethodGet, path: "/channels/" + seg(id) + "/variable", query: q.values()}, &out)
	return out.Value, err
}

// ChannelSetVar sets a channel variable; ChannelVarset follows.
func (c *Client) ChannelSetVar(ctx context.Context, id, name, value string) error {
	q := query{}
	q.set("variable", name)
	q.set("value", value)
	return c.simple(ctx, http.MethodPost, id, "variable", q)
}

// SnoopRequest creates a spy/whisper channel on an existing channel.
type SnoopRequest struct {
	Spy     string // none (default), both, out, in
	Whisper string // none (default), both, out, in
	App     string // default: the client's app
	AppArgs string
	SnoopID string
}

// ChannelSnoop creates a snoop channel that enters App.
func (c *Client) ChannelSnoop(ctx context.Context, id string, r SnoopRequest) (Channel, error) {
	q := query{}
	q.set("spy", r.Spy)
	q.set("whisper", r.Whisper)
	app := r.App
	if app == "" {
		app = c.cfg.App
	}
	q.set("app", app)
	q.set("appArgs", r.AppArgs)
	q.set("snoopId", r.SnoopID)
	var out Channel
	err := c.do(ctx, request{method: http.MethodPost, path: "/channels/" + seg(id) + "/snoop", query: q.values()}, &out)
	return out, err
}

// ChannelContinue sends the channel back to the dialplan (StasisEnd
// follows). Empty fields keep the current location.
func (c *Client) ChannelContinue(ctx context.Context, id, dpContext, extension string, priority int, label string) error {
	q := query{}
	q.set("context", dpContext)
	q.set("extension", extension)
	q.int("priority", priority)
	q.set("label", label)
	return c.simple(ctx, http.MethodPost, id, "continue", q)
}

// ChannelMove moves the channel to another Stasis app.
func (c *Client) ChannelMove(ctx context.Context, id, app, appArgs string) error {
	q := query{}
	q.set("app", app)
	q.set("appArgs", appArgs)
	return c.simple(ctx, http.MethodPost, id, "move", q)
}

// ChannelRedirect redirects the channel to another endpoint.
func (c *Client) ChannelRedirect(ctx context.Context, id, endpoint string) error {
	q := query{}
	q.set("endpoint", endpoint)
	return c.simple(ctx, http.MethodPost, id, "redirect", q)
}
