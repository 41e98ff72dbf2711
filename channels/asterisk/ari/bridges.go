package ari

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Bridge types; BridgeCreateRequest.Type is a list of them.
const (
	BridgeMixing     = "mixing"
	BridgeHolding    = "holding"
	BridgeDTMFEvents = "dtmf_events"
	BridgeProxyMedia = "proxy_media"
	BridgeVideoSFU   = "video_sfu"
	BridgeVideoOne   = "video_single"
	BridgeSDPLabel   = "sdp_label"
)

// BridgeCreateRequest is POST /bridges (or /bridges/{ID}).
type BridgeCreateRequest struct {
	ID   string   // optional id for the bridge
	Type []string // e.g. {BridgeMixing}; empty = Asterisk's default (mixing)
	Name string
}

// BridgeCreate creates a bridge owned by the app.
func (c *Client) BridgeCreate(ctx context.Context, r BridgeCreateRequest) (Bridge, error) {
	q := query{}
	q.set("type", strings.Join(r.Type, ","))
	q.set("name", r.Name)
	path := "/bridges"
	if r.ID != "" {
		path += "/" + seg(r.ID)
	}
	var out Bridge
	err := c.do(ctx, request{method: http.MethodPost, path: path, query: q.values()}, &out)
	return out, err
}

// BridgeList returns every bridge.
func (c *Client) BridgeList(ctx context.Context) ([]Bridge, error) {
	var out []Bridge
	err := c.do(ctx, request{method: http.MethodGet, path: "/bridges"}, &out)
	return out, err
}

// BridgeGet returns one bridge; IsNotFound(err) when it is gone.
func (c *Client) BridgeGet(ctx context.Context, id string) (Bridge, error) {
	var out Bridge
	err := c.do(ctx, request{method: http.MethodGet, path: "/bridges/" + seg(id)}, &out)
	return out, err
}

// BridgeDestroy shuts a bridge down; its channels stay up in the app.
func (c *Client) BridgeDestroy(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/bridges/" + seg(id)}, nil)
}

// AddChannelRequest adds channels to a bridge.
type AddChannelRequest struct {
	Channels   []string
	Role       string // e.g. "announcer", "participant"
	AbsorbDTMF *bool
	Mute       *bool
}

// BridgeAddChannel adds channels; ChannelEnteredBridge follows for each.
func (c *Client) BridgeAddChannel(ctx context.Context, id string, r AddChannelRequest) error {
	q := query{}
	q.list("channel", r.Channels)
	q.set("role", r.Role)
	q.bool("absorbDTMF", r.AbsorbDTMF)
	q.bool("mute", r.Mute)
	return c.do(ctx, request{method: http.MethodPost, path: "/bridges/" + seg(id) + "/addChannel", query: q.values()}, nil)
}

// BridgeRemoveChannel removes channels; ChannelLeftBridge follows.
func (c *Client) BridgeRemoveChannel(ctx context.Context, id string, channels ...string) error {
	q := query{}
	q.list("channel", channels)
	return c.do(ctx, request{method: http.MethodPost, path: "/bridges/" + seg(id) + "/removeChannel", query: q.values()}, nil)
}

// BridgeMOHStart plays music on hold to the bridge; class "" is default.
func (c *Client) BridgeMOHStart(ctx context.Context, id, class string) error {
	q := query{}
	q.set("mohClass", class)
	return c.do(ctx, request{method: http.MethodPost, path: "/bridges/" + seg(id) + "/moh", query: q.values()}, nil)
}

// BridgeMOHStop stops music on hold in the bridge.
func (c *Client) BridgeMOHStop(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/bridges/" + seg(id) + "/moh"}, nil)
}

// BridgePlay plays media to every channel in the bridge.
func (c *Client) BridgePlay(ctx context.Context, id string, r PlayRequest) (Playback, error) {
	var out Playback
	err := c.do(ctx, request{method: http.MethodPost, path: "/bridges/" + seg(id) + "/play", query: playQuery(r)}, &out)
	return out, err
}

// BridgeRecord records the bridge's mixed audio.
func (c *Client) BridgeRecord(ctx context.Context, id string, r RecordRequest) (LiveRecording, error) {
	var out LiveRecording
	err := c.do(ctx, request{method: http.MethodPost, path: "/bridges/" + seg(id) + "/record", query: recordQuery(r)}, &out)
	return out, err
}

// PlaybackGet returns a playback; IsNotFound(err) once it is finished.
func (c *Client) PlaybackGet(ctx context.Context, id string) (Playback, error) {
	var out Playback
	err := c.do(ctx, request{method: http.MethodGet, path: "/playbacks/" + seg(id)}, &out)
	return out, err
}

// PlaybackStop stops a playback; PlaybackFinished follows.
func (c *Client) PlaybackStop(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/playbacks/" + seg(id)}, nil)
}

// Playback control operations.
const (
	PlaybackRestart = "restart"
	PlaybackPause   = "pause"
	PlaybackUnpause = "unpause"
	PlaybackReverse = "reverse"
	PlaybackForward = "forward"
)

// PlaybackControl pauses, resumes, rewinds or skips a playback.
func (c *Client) PlaybackControl(ctx context.Context, id, operation string) error {
	q := query{}
	q.set("operation", operation)
	return c.do(ctx, request{method: http.MethodPost, path: "/playbacks/" + seg(id) + "/control", query: q.values()}, nil)
}

// LiveRecordingGet returns a recording in progress.
func (c *Client) LiveRecordingGet(ctx context.Context, name string) (LiveRecording, error) {
	var out LiveRecording
	err := c.do(ctx, request{method: http.MethodGet, path: "/recordings/live/" + seg(name)}, &out)
	return out, err
}

// LiveRecordingStop stops and keeps a recording; RecordingFinished follows.
func (c *Client) LiveRecordingStop(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodPost, path: "/recordings/live/" + seg(name) + "/stop"}, nil)
}

// LiveRecordingCancel stops and discards a recording.
func (c *Client) LiveRecordingCancel(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/recordings/live/" + seg(name)}, nil)
}

// StoredRecordingList lists recordings on the server.
func (c *Client) StoredRecordingList(ctx context.Context) ([]StoredRecording, error) {
	var out []StoredRecording
	err := c.do(ctx, request{method: http.MethodGet, path: "/recordings/stored"}, &out)
	return out, err
}

// StoredRecordingGet returns one stored recording.
func (c *Client) StoredRecordingGet(ctx context.Context, name string) (StoredRecording, error) {
	var out StoredRecording
	err := c.do(ctx, request{method: http.MethodGet, path: "/recordings/stored/" + seg(name)}, &out)
	return out, err
}

// StoredRecordingDelete deletes a stored recording.
func (c *Client) StoredRecordingDelete(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/recordings/stored/" + seg(name)}, nil)
}

// StoredRecordingCopy copies a stored recording; IsConflict(err) when dst
// exists.
func (c *Client) StoredRecordingCopy(ctx context.Context, name, dst string) (StoredRecording, error) {
	q := query{}
	q.set("destinationRecordingName", dst)
	var out StoredRecording
	err := c.do(ctx, request{method: http.MethodPost, path: "/recordings/stored/" + seg(name) + "/copy", query: q.values()}, &out)
	return out, err
}

// StoredRecordingFile streams the recording's audio into w and returns the
// number of bytes and the Content-Type Asterisk sent.
func (c *Client) StoredRecordingFile(ctx context.Context, name string, w io.Writer) (int64, string, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/recordings/stored/" + seg(name) + "/file"})
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, "", err
	}
	return n, resp.Header.Get("Content-Type"), nil
}

// Ping checks that Asterisk answers (GET /asterisk/ping).
func (c *Client) Ping(ctx context.Context) (AsteriskPing, error) {
	var out AsteriskPing
	err := c.do(ctx, request{method: http.MethodGet, path: "/asterisk/ping"}, &out)
	return out, err
}

// Info returns server information; only limits it to some of "build",
// "system", "config", "status" (none = all).
func (c *Client) Info(ctx context.Context, only ...string) (AsteriskInfo, error) {
	q := query{}
	q.list("only", only)
	var out AsteriskInfo
	err := c.do(ctx, request{method: http.MethodGet, path: "/asterisk/info", query: q.values()}, &out)
	return out, err
}

// ApplicationList lists the Stasis applications.
func (c *Client) ApplicationList(ctx context.Context) ([]Application, error) {
	var out []Application
	err := c.do(ctx, request{method: http.MethodGet, path: "/applications"}, &out)
	return out, err
}

// ApplicationGet returns an application ("" = the client's app).
func (c *Client) ApplicationGet(ctx context.Context, name string) (Application, error) {
	if name == "" {
		name = c.cfg.App
	}
	var out Application
	err := c.do(ctx, request{method: http.MethodGet, path: "/applications/" + seg(name)}, &out)
	return out, err
}

// ApplicationSubscribe subscribes the client's app to event sources such as
// "channel:ID", "bridge:ID", "endpoint:PJSIP/1001", "deviceState:NAME".
func (c *Client) ApplicationSubscribe(ctx context.Context, sources ...string) (Application, error) {
	q := query{}
	q.list("eventSource", sources)
	var out Application
	err := c.do(ctx, request{method: http.MethodPost, path: "/applications/" + seg(c.cfg.App) + "/subscription", query: q.values()}, &out)
	return out, err
}

// ApplicationUnsubscribe undoes ApplicationSubscribe.
func (c *Client) ApplicationUnsubscribe(ctx context.Context, sources ...string) (Application, error) {
	q := query{}
	q.list("eventSource", sources)
	var out Application
	err := c.do(ctx, request{method: http.MethodDelete, path: "/applications/" + seg(c.cfg.App) + "/subscription", query: q.values()}, &out)
	return out, err
}

// State is what a Client needs to rebuild its view after Reconnected.
type State struct {
	Channels []Channel
	Bridges  []Bridge
}

// Snapshot lists every channel and bridge (GET /channels, GET /bridges).
// Call it on Reconnected: calls kept their ids in Asterisk, but events sent
// while the socket was down were lost.
func (c *Client) Snapshot(ctx context.Context) (State, error) {
	chans, err := c.ChannelList(ctx)
	if err != nil {
		return State{}, fmt.Errorf("ari: snapshot channels: %w", err)
	}
	bridges, err := c.BridgeList(ctx)
	if err != nil {
		return State{}, fmt.Errorf("ari: snapshot bridges: %w", err)
	}
	return State{Channels: chans, Bridges: bridges}, nil
}
