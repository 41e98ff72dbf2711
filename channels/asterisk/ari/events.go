package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one message from the event WebSocket, or a connection
// notification the client makes itself (Connected, Disconnected,
// Reconnected). Switch on the concrete type:
//
//	switch e := ev.(type) {
//	case *ari.StasisStart: ...
//	case *ari.UnknownEvent: // a type this package does not model
//	}
type Event interface {
	// Base returns the fields every event has.
	Base() *EventBase
}

// EventBase is common to every event.
type EventBase struct {
	// Type is the ARI event type, e.g. "StasisStart".
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   Time   `json:"timestamp"`
	// AsteriskID is the Asterisk instance's entity id (a MAC address).
	AsteriskID string `json:"asterisk_id,omitempty"`
	// Server is the name of the Client (Config.Name) the event came
	// through; set by the client, not by Asterisk.
	Server string `json:"-"`
}

// Base implements Event.
func (b *EventBase) Base() *EventBase { return b }

// StasisStart: a channel entered the application.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the application (hung up, continued, moved).
// For dialplan channels it is the last event; treat it as the call's end.
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCreated: a channel was created.
type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDestroyed: a channel is gone.
type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelStateChange: the channel's state changed (e.g. Ring -> Up).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived: a DTMF digit ended on the channel.
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMS int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// ChannelHangupRequest: a hangup was requested. Soft is true for hangups
// asked by ARI/the system rather than the far end.
type ChannelHangupRequest struct {
	EventBase
	Cause     int     `json:"cause,omitempty"`
	TechCause int     `json:"tech_cause,omitempty"`
	Soft      bool    `json:"soft,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelEnteredBridge: a channel joined a bridge.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge: a channel left a bridge.
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// ChannelVarset: a channel variable changed. Channel is nil for globals.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

// ChannelCallerId: the caller id changed.
type ChannelCallerId struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

// ChannelConnectedLine: the connected line changed.
type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDialplan: the channel's dialplan location changed.
type ChannelDialplan struct {
	EventBase
	Channel         Channel `json:"channel"`
	DialplanApp     string  `json:"dialplan_app"`
	DialplanAppData string  `json:"dialplan_app_data"`
}

// ChannelHold: the far end put the channel on hold.
type ChannelHold struct {
	EventBase
	Channel    Channel `json:"channel"`
	MusicClass string  `json:"musicclass,omitempty"`
}

// ChannelUnhold: the far end took the channel off hold.
type ChannelUnhold struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingStarted: talk detection saw speech start.
type ChannelTalkingStarted struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingFinished: talk detection saw speech end.
type ChannelTalkingFinished struct {
	EventBase
	Channel  Channel `json:"channel"`
	Duration int     `json:"duration"`
}

// ChannelToneDetected: a tone (e.g. fax) was detected.
type ChannelToneDetected struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelUserevent: a user event (UserEvent() or POST /events/user).
type ChannelUserevent struct {
	EventBase
	EventName string          `json:"eventname"`
	Channel   *Channel        `json:"channel,omitempty"`
	Bridge    *Bridge         `json:"bridge,omitempty"`
	Endpoint  json.RawMessage `json:"endpoint,omitempty"`
	UserEvent json.RawMessage `json:"userevent"`
}

// Dial statuses in Dial events.
const (
	DialRinging     = "RINGING"
	DialProgress    = "PROGRESS"
	DialAnswer      = "ANSWER"
	DialBusy        = "BUSY"
	DialNoAnswer    = "NOANSWER"
	DialCancel      = "CANCEL"
	DialCongestion  = "CONGESTION"
	DialChanUnavail = "CHANUNAVAIL"
)

// Dial reports progress of a dial: Peer is the called channel, Caller
// (optional) the calling one; DialStatus "" while dialing, then RINGING,
// ANSWER, BUSY, NOANSWER, ...
type Dial struct {
	EventBase
	Caller     *Channel `json:"caller,omitempty"`
	Peer       Channel  `json:"peer"`
	Forward    string   `json:"forward,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
	DialString string   `json:"dialstring,omitempty"`
	DialStatus string   `json:"dialstatus"`
}

// PlaybackStarted: a playback began.
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackContinuing: a playback moved on to its next media.
type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackFinished: a playback ended (done, stopped or failed).
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

// RecordingStarted: a recording began.
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished: a recording ended and (unless canceled) was stored.
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFailed: a recording failed; Recording.Cause says why.
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// BridgeCreated: a bridge was created.
type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeDestroyed: a bridge was destroyed.
type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeMerged: BridgeFrom was merged into Bridge.
type BridgeMerged struct {
	EventBase
	Bridge     Bridge `json:"bridge"`
	BridgeFrom Bridge `json:"bridge_from"`
}

// ApplicationReplaced: another WebSocket registered the same app name;
// this connection no longer gets its events.
type ApplicationReplaced struct {
	EventBase
}

// ApplicationRegistered: the app was registered.
type ApplicationRegistered struct {
	EventBase
}

// ApplicationUnregistered: the app was unregistered.
type ApplicationUnregistered struct {
	EventBase
}

// ApplicationMoveFailed: ChannelMove could not move the channel.
type ApplicationMoveFailed struct {
	EventBase
	Channel     Channel  `json:"channel"`
	Destination string   `json:"destination"`
	Args        []string `json:"args"`
}

// CallBroadcast: a channel is being offered to several apps to claim.
type CallBroadcast struct {
	EventBase
	Channel Channel `json:"channel"`
	Caller  string  `json:"caller,omitempty"`
	Called  string  `json:"called,omitempty"`
}

// CallClaimed: a broadcast channel was claimed by WinnerApp.
type CallClaimed struct {
	EventBase
	Channel   Channel `json:"channel"`
	WinnerApp string  `json:"winner_app"`
}

// UnknownEvent is an event type this package does not model, or a known
// type whose body did not decode (DecodeErr is then set). Raw holds the
// whole message so nothing is lost.
type UnknownEvent struct {
	EventBase
	Raw       json.RawMessage `json:"-"`
	DecodeErr error           `json:"-"`
}

// Connected is sent by the client after the first successful WebSocket
// handshake.
type Connected struct {
	EventBase
}

// Disconnected is sent by the client when the WebSocket drops. Events for
// the app are lost until Reconnected; rebuild state then.
type Disconnected struct {
	EventBase
	Err error `json:"-"`
}

// Reconnected is sent by the client after a dropped WebSocket is back.
// Calls kept their ids in Asterisk, but events in between were not
// delivered: rebuild state from ChannelList and BridgeList.
type Reconnected struct {
	EventBase
	// Down is how long the socket was down; Attempts the dials it took.
	Down     time.Duration
	Attempts int
}

// Client-made event types (never sent by Asterisk).
const (
	TypeConnected    = "Connected"
	TypeDisconnected = "Disconnected"
	TypeReconnected  = "Reconnected"
)

// eventTypes maps an ARI type name to a constructor of its struct.
var eventTypes = map[string]func() Event{
	"StasisStart":             func() Event { return new(StasisStart) },
	"StasisEnd":               func() Event { return new(StasisEnd) },
	"ChannelCreated":          func() Event { return new(ChannelCreated) },
	"ChannelDestroyed":        func() Event { return new(ChannelDestroyed) },
	"ChannelStateChange":      func() Event { return new(ChannelStateChange) },
	"ChannelDtmfReceived":     func() Event { return new(ChannelDtmfReceived) },
	"ChannelHangupRequest":    func() Event { return new(ChannelHangupRequest) },
	"ChannelEnteredBridge":    func() Event { return new(ChannelEnteredBridge) },
	"ChannelLeftBridge":       func() Event { return new(ChannelLeftBridge) },
	"ChannelVarset":           func() Event { return new(ChannelVarset) },
	"ChannelCallerId":         func() Event { return new(ChannelCallerId) },
	"ChannelConnectedLine":    func() Event { return new(ChannelConnectedLine) },
	"ChannelDialplan":         func() Event { return new(ChannelDialplan) },
	"ChannelHold":             func() Event { return new(ChannelHold) },
	"ChannelUnhold":           func() Event { return new(ChannelUnhold) },
	"ChannelTalkingStarted":   func() Event { return new(ChannelTalkingStarted) },
	"ChannelTalkingFinished":  func() Event { return new(ChannelTalkingFinished) },
	"ChannelToneDetected":     func() Event { return new(ChannelToneDetected) },
	"ChannelUserevent":        func() Event { return new(ChannelUserevent) },
	"Dial":                    func() Event { return new(Dial) },
	"PlaybackStarted":         func() Event { return new(PlaybackStarted) },
	"PlaybackContinuing":      func() Event { return new(PlaybackContinuing) },
	"PlaybackFinished":        func() Event { return new(PlaybackFinished) },
	"RecordingStarted":        func() Event { return new(RecordingStarted) },
	"RecordingFinished":       func() Event { return new(RecordingFinished) },
	"RecordingFailed":         func() Event { return new(RecordingFailed) },
	"BridgeCreated":           func() Event { return new(BridgeCreated) },
	"BridgeDestroyed":         func() Event { return new(BridgeDestroyed) },
	"BridgeMerged":            func() Event { return new(BridgeMerged) },
	"ApplicationReplaced":     func() Event { return new(ApplicationReplaced) },
	"ApplicationRegistered":   func() Event { return new(ApplicationRegistered) },
	"ApplicationUnregistered": func() Event { return new(ApplicationUnregistered) },
	"ApplicationMoveFailed":   func() Event { return new(ApplicationMoveFailed) },
	"CallBroadcast":           func() Event { return new(CallBroadcast) },
	"CallClaimed":             func() Event { return new(CallClaimed) },
}

// KnownEventTypes lists the ARI event types DecodeEvent returns a typed
// struct for.
func KnownEventTypes() []string {
	out := make([]string, 0, len(eventTypes))
	for k := range eventTypes {
		out = append(out, k)
	}
	return out
}

// ErrNotEvent means a WebSocket message was not a JSON object with a type.
var ErrNotEvent = errors.New("ari: not an event")

// DecodeEvent decodes one WebSocket message. An unmodelled type gives an
// *UnknownEvent and no error. A modelled type whose fields do not decode
// gives an *UnknownEvent (with DecodeErr and Raw) and that error, so the
// caller can log it and still pass the event on. Only input that is not a
// JSON object with a string "type" is rejected with no event.
func DecodeEvent(data []byte) (Event, error) {
	var base EventBase
	if err := json.Unmarshal(data, &base); err != nil {
		// The base may fail only on a malformed timestamp; retry without it
		// so the type still routes.
		var typ struct {
			Type string `json:"type"`
		}
		if err2 := json.Unmarshal(data, &typ); err2 != nil || typ.Type == "" {
			return nil, fmt.Errorf("%w: %v", ErrNotEvent, err)
		}
		raw := json.RawMessage(append([]byte(nil), data...))
		return &UnknownEvent{EventBase: EventBase{Type: typ.Type}, Raw: raw, DecodeErr: err},
			fmt.Errorf("ari: decode %s event: %w", typ.Type, err)
	}
	if base.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrNotEvent)
	}
	mk, ok := eventTypes[base.Type]
	if !ok {
		return &UnknownEvent{EventBase: base, Raw: json.RawMessage(append([]byte(nil), data...))}, nil
	}
	ev := mk()
	if err := json.Unmarshal(data, ev); err != nil {
		err = fmt.Errorf("ari: decode %s event: %w", base.Type, err)
		return &UnknownEvent{EventBase: base, Raw: json.RawMessage(append([]byte(nil), data...)), DecodeErr: err}, err
	}
	return ev, nil
}

// ChannelOf returns the channel an event is about ("" when none): the
// channel of channel events, the peer of Dial, the target of
// playback/recording events when it is a channel.
func ChannelOf(ev Event) string {
	switch e := ev.(type) {
	case *StasisStart:
		return e.Channel.ID
	case *StasisEnd:
		return e.Channel.ID
	case *ChannelCreated:
		return e.Channel.ID
	case *ChannelDestroyed:
		return e.Channel.ID
	case *ChannelStateChange:
		return e.Channel.ID
	case *ChannelDtmfReceived:
		return e.Channel.ID
	case *ChannelHangupRequest:
		return e.Channel.ID
	case *ChannelEnteredBridge:
		if e.Channel != nil {
			return e.Channel.ID
		}
	case *ChannelLeftBridge:
		return e.Channel.ID
	case *ChannelVarset:
		if e.Channel != nil {
			return e.Channel.ID
		}
	case *ChannelCallerId:
		return e.Channel.ID
	case *ChannelConnectedLine:
		return e.Channel.ID
	case *ChannelDialplan:
		return e.Channel.ID
	case *ChannelHold:
		return e.Channel.ID
	case *ChannelUnhold:
		return e.Channel.ID
	case *ChannelTalkingStarted:
		return e.Channel.ID
	case *ChannelTalkingFinished:
		return e.Channel.ID
	case *ChannelToneDetected:
		return e.Channel.ID
	case *Dial:
		return e.Peer.ID
	case *PlaybackStarted:
		return targetChannel(e.Playback.TargetURI)
	case *PlaybackContinuing:
		return targetChannel(e.Playback.TargetURI)
	case *PlaybackFinished:
		return targetChannel(e.Playback.TargetURI)
	case *RecordingStarted:
		return targetChannel(e.Recording.TargetURI)
	case *RecordingFinished:
		return targetChannel(e.Recording.TargetURI)
	case *RecordingFailed:
		return targetChannel(e.Recording.TargetURI)
	case *CallBroadcast:
		return e.Channel.ID
	case *CallClaimed:
		return e.Channel.ID
	case *ApplicationMoveFailed:
		return e.Channel.ID
	}
	return ""
}

func targetChannel(uri string) string {
	if k, id := IDFromURI(uri); k == "channel" {
		return id
	}
	return ""
}
