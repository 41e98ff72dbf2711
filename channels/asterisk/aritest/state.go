package aritest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// channel is the double's state for one Asterisk channel.
type channel struct {
	id, name, protocolID  string
	state                 string // Down, Ring, Ringing, Up
	callerName, callerNum string
	connName, connNum     string
	context, exten        string
	priority              int64
	appName, appData      string
	created               time.Time
	language              string

	app        string // app that gets this channel's events ("" = none)
	inApp      bool   // in Stasis (between StasisStart and StasisEnd)
	appArgs    []string
	originated bool   // created by the app (ChannelDestroyed is sent)
	dialing    bool   // ringing, waiting for the test to decide
	dialable   bool   // made by /channels/create, not yet dialed
	dialer     string // caller channel id given to /dial
	endpoint   string
	snoopOf    string

	vars         map[string]string
	absTimeout   *time.Timer // TIMEOUT(absolute): hangs the channel up when it fires
	bridge       string
	role         string
	moh          bool
	mohClass     string
	hold         bool
	silence      bool
	ringing      bool
	progress     bool
	muted        string
	sentDTMF     strings.Builder
	played       []string
	hangupReason string
	continuedTo  string
	movedTo      string
	redirectedTo string
}

// wire is the Channel model (channels.json) of c.
func (c *channel) wire() map[string]any {
	m := map[string]any{
		"id":          c.id,
		"protocol_id": c.protocolID,
		"name":        c.name,
		"state":       c.state,
		"caller":      map[string]any{"name": c.callerName, "number": c.callerNum},
		"connected":   map[string]any{"name": c.connName, "number": c.connNum},
		"accountcode": "",
		"dialplan": map[string]any{"context": c.context, "exten": c.exten, "priority": c.priority,
			"app_name": c.appName, "app_data": c.appData},
		"creationtime": c.created.Format("2006-01-02T15:04:05.000-0700"),
		"language":     c.language,
	}
	return m
}

// ChannelState is a snapshot of a channel for assertions.
type ChannelState struct {
	ID, Name, State string
	CallerNumber    string
	Endpoint        string // originate endpoint ("" for incoming calls)
	InApp           bool
	Args            []string
	Bridge          string
	Role            string
	MOH             bool
	MOHClass        string
	Hold            bool
	Silence         bool
	Ringing         bool
	Progress        bool
	Muted           string
	Vars            map[string]string
	SentDTMF        string   // digits the app sent with /dtmf
	Played          []string // media URIs the app played to it
	Gone            bool
	HangupReason    string // reason given to DELETE /channels/{id}
	ContinuedTo     string // "context,exten,priority" after /continue
	MovedTo         string
	SnoopOf         string
}

func (c *channel) snapshot(gone bool) ChannelState {
	return ChannelState{
		ID: c.id, Name: c.name, State: c.state, CallerNumber: c.callerNum, Endpoint: c.endpoint,
		InApp: c.inApp, Args: slices.Clone(c.appArgs), Bridge: c.bridge, Role: c.role, MOH: c.moh,
		MOHClass: c.mohClass, Hold: c.hold, Silence: c.silence, Ringing: c.ringing, Progress: c.progress,
		Muted: c.muted, Vars: maps.Clone(c.vars), SentDTMF: c.sentDTMF.String(), Played: slices.Clone(c.played),
		Gone: gone, HangupReason: c.hangupReason, ContinuedTo: c.continuedTo, MovedTo: c.movedTo, SnoopOf: c.snoopOf,
	}
}

// bridge is the double's state for one bridge.
type bridge struct {
	id, name, typ string
	created       time.Time
	members       []string
	announcer     bool // a bridge playback added an announcer channel
	moh           bool
	mohClass      string
	played        []string
	vars          map[string]string
	app           string
}

func (b *bridge) wire() map[string]any {
	tech := "simple_bridge"
	switch {
	case strings.Contains(b.typ, "holding"):
		tech = "holding_bridge"
	case len(b.members) > 2 || (b.announcer && len(b.members) > 1):
		// Asterisk switches to softmix past two parties (an announcer
		// counts), see README.
		tech = "softmix"
	}
	bt := "mixing"
	if strings.Contains(b.typ, "holding") {
		bt = "holding"
	}
	return map[string]any{
		"id": b.id, "technology": tech, "bridge_type": bt, "bridge_class": "stasis", "creator": "Stasis",
		"name": b.name, "channels": append([]string{}, b.members...), "video_mode": "none",
		"creationtime": b.created.Format("2006-01-02T15:04:05.000-0700"),
	}
}

// BridgeState is a snapshot of a bridge.
type BridgeState struct {
	ID, Name, Type string
	Members        []string
	MOH            bool
	MOHClass       string
	Played         []string
}

// playback is one playback.
type playback struct {
	id       string
	media    []string
	target   string // channel:ID or bridge:ID
	language string
	state    string
	app      string
	controls []string
}

func (p *playback) wire() map[string]any {
	m := map[string]any{"id": p.id, "media_uri": p.media[0], "target_uri": p.target, "language": p.language, "state": p.state}
	return m
}

// PlaybackState is a snapshot of a playback.
type PlaybackState struct {
	ID       string
	Media    []string
	Target   string
	State    string
	Controls []string // control operations received
}

// liveRec is a recording in progress.
type liveRec struct {
	name, format, target, state, cause string
	terminateOn                        string
	app                                string
	started                            time.Time
	ifExists                           string
}

func (r *liveRec) wire() map[string]any {
	m := map[string]any{"name": r.name, "format": r.format, "target_uri": r.target, "state": r.state}
	if r.cause != "" {
		m["cause"] = r.cause
	}
	return m
}

type storedRec struct {
	format string
	data   []byte
}

// knownFormats are the recording formats the double accepts (others get
// 422 like an Asterisk without that format module).
var knownFormats = []string{"wav", "WAV", "wav16", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "ogg", "mp3"}

// fakeAudio is the stored bytes for a recording: a tiny WAV header, enough
// for a download test to check the bytes went through.
func fakeAudio(name, format string) []byte {
	return fmt.Appendf([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), "aritest:%s.%s", name, format)
}
