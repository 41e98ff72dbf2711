package ari

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestDecodeEventFiles decodes every realistic payload in
// testdata/events, checks the Go type and key fields, and re-encodes the
// typed struct to prove no field of the payload was dropped.
func TestDecodeEventFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no event fixtures: %v", err)
	}
	covered := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := DecodeEvent(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			b := ev.Base()
			if b.Application != "dargah" || b.AsteriskID != "52:54:00:12:34:56" {
				t.Errorf("base = %+v", b)
			}
			want := time.Date(2026, 11, 27, 9, 43, 47, 456e6, time.FixedZone("", 3*3600+1800))
			if !b.Timestamp.Equal(want) {
				t.Errorf("timestamp = %v, want %v", b.Timestamp, want)
			}
			if u, ok := ev.(*UnknownEvent); ok {
				if !strings.HasPrefix(name, "Unknown_") {
					t.Fatalf("%s decoded as unknown", name)
				}
				if !json.Valid(u.Raw) || u.DecodeErr != nil {
					t.Errorf("unknown raw=%s err=%v", u.Raw, u.DecodeErr)
				}
				return
			}
			typ := reflect.TypeOf(ev).Elem().Name()
			if typ != b.Type {
				t.Errorf("go type %s for ARI type %s", typ, b.Type)
			}
			covered[b.Type] = true
			// Round trip: every key of the payload must survive.
			out, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var a, z any
			_ = json.Unmarshal(data, &a)
			_ = json.Unmarshal(out, &z)
			if !reflect.DeepEqual(a, z) {
				t.Errorf("round trip lost data:\n in: %s\nout: %s", data, out)
			}
		})
	}
	t.Run("fields", func(t *testing.T) {
		load := func(n string) Event {
			data, err := os.ReadFile("testdata/events/" + n + ".json")
			if err != nil {
				t.Fatal(err)
			}
			ev, err := DecodeEvent(data)
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		ss := load("StasisStart").(*StasisStart)
		if ss.Channel.ID != "1764236627.11" || ss.Channel.State != StateRing || ss.Channel.Caller.Number != "09151234567" ||
			!reflect.DeepEqual(ss.Args, []string{"ivr", "fa"}) || ss.Channel.Dialplan.Priority != 3 || ss.Channel.Language != "fa" {
			t.Errorf("StasisStart = %+v", ss)
		}
		if r := load("StasisStart_replace").(*StasisStart); r.ReplaceChannel == nil || r.ReplaceChannel.ID != "1764236627.11" {
			t.Errorf("replace_channel = %+v", r.ReplaceChannel)
		}
		if d := load("ChannelDtmfReceived").(*ChannelDtmfReceived); d.Digit != "1" || d.DurationMS != 120 {
			t.Errorf("dtmf = %+v", d)
		}
		if h := load("ChannelHangupRequest").(*ChannelHangupRequest); h.Cause != 32 || !h.Soft {
			t.Errorf("hangup = %+v", h)
		}
		if d := load("ChannelDestroyed").(*ChannelDestroyed); d.Cause != 16 || d.CauseTxt != "Normal Clearing" {
			t.Errorf("destroyed = %+v", d)
		}
		if e := load("ChannelEnteredBridge").(*ChannelEnteredBridge); e.Bridge.ID != "b-1" || len(e.Bridge.Channels) != 2 || e.Channel == nil {
			t.Errorf("entered = %+v", e)
		}
		if p := load("PlaybackFinished").(*PlaybackFinished); p.Playback.State != PlaybackStateDone || ChannelOf(p) != "1764236627.11" {
			t.Errorf("playback = %+v", p)
		}
		if r := load("RecordingFinished").(*RecordingFinished); r.Recording.Duration != 42 || r.Recording.State != "done" {
			t.Errorf("recording = %+v", r)
		}
		if r := load("RecordingFailed").(*RecordingFailed); r.Recording.Cause != "disk full" {
			t.Errorf("recording failed = %+v", r)
		}
		if d := load("Dial").(*Dial); d.DialStatus != DialRinging || d.Caller == nil || d.Peer.Caller.Number != "1001" || ChannelOf(d) != "1764236630.12" {
			t.Errorf("dial = %+v", d)
		}
		if d := load("Dial_nocaller").(*Dial); d.Caller != nil || d.DialStatus != DialAnswer {
			t.Errorf("dial = %+v", d)
		}
		if v := load("ChannelVarset_global").(*ChannelVarset); v.Channel != nil || v.Variable != "GLOBAL_X" {
			t.Errorf("varset = %+v", v)
		}
		if u := load("ChannelUserevent").(*ChannelUserevent); !strings.Contains(string(u.UserEvent), `"case": "42"`) {
			t.Errorf("userevent = %s", u.UserEvent)
		}
	})
	t.Run("all required types covered", func(t *testing.T) {
		for _, typ := range []string{"StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDtmfReceived",
			"ChannelHangupRequest", "ChannelDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge",
			"PlaybackStarted", "PlaybackFinished", "RecordingStarted", "RecordingFinished", "RecordingFailed",
			"Dial", "ChannelVarset", "ChannelCallerId", "BridgeCreated", "BridgeDestroyed", "ApplicationReplaced"} {
			if _, ok := eventTypes[typ]; !ok {
				t.Errorf("%s not modelled", typ)
			}
		}
	})
}

// TestEveryModelledTypeHasFixture keeps the fixtures complete as types are
// added.
func TestEveryModelledTypeHasFixture(t *testing.T) {
	t.Parallel()
	for _, typ := range KnownEventTypes() {
		if _, err := os.Stat("testdata/events/" + typ + ".json"); err != nil {
			t.Errorf("no fixture for %s", typ)
		}
	}
}

func TestDecodeEventBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		event    bool // an *UnknownEvent is still returned
	}{
		{"empty", ``, false},
		{"not json", `hello`, false},
		{"array", `[1,2]`, false},
		{"no type", `{"application":"dargah"}`, false},
		{"type not string", `{"type":5}`, false},
		{"bad field type", `{"type":"ChannelDtmfReceived","digit":1,"channel":{}}`, true},
		{"bad timestamp", `{"type":"StasisStart","timestamp":"yesterday"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error for %q", tc.in)
			}
			if tc.event {
				u, ok := ev.(*UnknownEvent)
				if !ok || u.DecodeErr == nil || string(u.Raw) != tc.in {
					t.Fatalf("event = %#v", ev)
				}
			} else if ev != nil {
				t.Fatalf("event = %#v", ev)
			} else if !errors.Is(err, ErrNotEvent) {
				t.Fatalf("err = %v, want ErrNotEvent", err)
			}
		})
	}
}

func TestTimeLayouts(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`"2026-11-27T09:43:47.123+0330"`, `"2026-11-27T09:43:47+0000"`, `"2026-11-27T06:13:47.123Z"`, `"2026-11-27T09:43:47.123+03:30"`} {
		var tm Time
		if err := json.Unmarshal([]byte(s), &tm); err != nil || tm.IsZero() {
			t.Errorf("%s: %v", s, err)
		}
	}
	var tm Time
	if err := json.Unmarshal([]byte(`null`), &tm); err != nil || !tm.IsZero() {
		t.Errorf("null: %v", err)
	}
}

// FuzzDecodeEvent: any bytes either decode to an event or fail cleanly;
// never a panic, and an error with an event is always an UnknownEvent
// carrying the raw input.
func FuzzDecodeEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"StasisStart","channel":null,"args":null}`))
	f.Add([]byte(`{"type":"Dial","peer":{"creationtime":"x"}}`))
	f.Add([]byte(`{"type":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if ev == nil {
			if err == nil {
				t.Fatal("nil event and nil error")
			}
			return
		}
		if ev.Base().Type == "" {
			t.Fatal("event without type")
		}
		if err != nil {
			u, ok := ev.(*UnknownEvent)
			if !ok || u.DecodeErr == nil || string(u.Raw) != string(data) {
				t.Fatalf("error %v with event %#v", err, ev)
			}
		}
		_ = ChannelOf(ev)
	})
}
