package ari

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Time is an ARI timestamp. Asterisk writes "2026-11-27T09:43:47.123+0000"
// (no colon in the offset), which time.Time's RFC 3339 decoder rejects.
type Time struct{ time.Time }

// timeLayouts are tried in order; the first is what Asterisk 22 sends.
var timeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
}

// UnmarshalJSON accepts Asterisk's layout, RFC 3339, "" and null (zero time).
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ari time: %w", err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, l := range timeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("ari time: cannot parse %q", s)
}

// MarshalJSON writes Asterisk's layout (zero time as "").
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(t.Format(timeLayouts[0]))
}

// CallerID is a caller or connected-line identity.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is a dialplan location (context, extension, priority).
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Channel states as Asterisk names them (the common ones).
const (
	StateDown    = "Down"
	StateRing    = "Ring"
	StateRinging = "Ringing"
	StateUp      = "Up"
	StateBusy    = "Busy"
)

// Channel is a snapshot of an Asterisk channel.
type Channel struct {
	ID           string            `json:"id"`
	ProtocolID   string            `json:"protocol_id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
	CallerRDNIS  string            `json:"caller_rdnis,omitempty"`
	TenantID     string            `json:"tenantid,omitempty"`
}

// Bridge is a snapshot of a bridge.
type Bridge struct {
	ID            string            `json:"id"`
	Technology    string            `json:"technology"`
	BridgeType    string            `json:"bridge_type"`
	BridgeClass   string            `json:"bridge_class"`
	Creator       string            `json:"creator"`
	Name          string            `json:"name"`
	Channels      []string          `json:"channels"`
	VideoMode     string            `json:"video_mode,omitempty"`
	VideoSourceID string            `json:"video_source_id,omitempty"`
	CreationTime  Time              `json:"creationtime"`
	BridgeVars    map[string]string `json:"bridgevars,omitempty"`
}

// Playback states.
const (
	PlaybackStateQueued     = "queued"
	PlaybackStatePlaying    = "playing"
	PlaybackStateContinuing = "continuing"
	PlaybackStateDone       = "done"
	PlaybackStateFailed     = "failed"
)

// Playback is a media playback on a channel or bridge.
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language,omitempty"`
	State        string `json:"state"`
}

// LiveRecording is a recording in progress (or just finished/failed).
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// StoredRecording is a recording file on the Asterisk server.
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// Variable is the value of a channel/bridge/global variable.
type Variable struct {
	Value string `json:"value"`
}

// AsteriskPing is the answer to GET /asterisk/ping.
type AsteriskPing struct {
	AsteriskID string `json:"asterisk_id"`
	Ping       string `json:"ping"`
	Timestamp  string `json:"timestamp"`
}

// AsteriskInfo is the answer to GET /asterisk/info. Sections not asked for
// are nil.
type AsteriskInfo struct {
	Build *struct {
		OS      string `json:"os"`
		Kernel  string `json:"kernel"`
		Options string `json:"options"`
		Machine string `json:"machine"`
		Date    string `json:"date"`
		User    string `json:"user"`
	} `json:"build,omitempty"`
	System *struct {
		Version  string `json:"version"`
		EntityID string `json:"entity_id"`
	} `json:"system,omitempty"`
	Config *struct {
		Name            string  `json:"name"`
		DefaultLanguage string  `json:"default_language"`
		MaxChannels     int     `json:"max_channels,omitempty"`
		MaxOpenFiles    int     `json:"max_open_files,omitempty"`
		MaxLoad         float64 `json:"max_load,omitempty"`
		SetID           struct {
			User  string `json:"user"`
			Group string `json:"group"`
		} `json:"setid"`
	} `json:"config,omitempty"`
	Status *struct {
		StartupTime    Time `json:"startup_time"`
		LastReloadTime Time `json:"last_reload_time"`
	} `json:"status,omitempty"`
}

// Application is a Stasis application and what it is subscribed to.
type Application struct {
	Name             string            `json:"name"`
	ChannelIDs       []string          `json:"channel_ids"`
	BridgeIDs        []string          `json:"bridge_ids"`
	EndpointIDs      []string          `json:"endpoint_ids"`
	DeviceNames      []string          `json:"device_names"`
	EventsAllowed    []json.RawMessage `json:"events_allowed"`
	EventsDisallowed []json.RawMessage `json:"events_disallowed"`
}

// IDFromURI returns the id part of "channel:ID" / "bridge:ID" target URIs.
func IDFromURI(uri string) (kind, id string) {
	k, v, ok := strings.Cut(uri, ":")
	if !ok {
		return "", uri
	}
	return k, v
}
