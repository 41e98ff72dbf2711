package aritest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// rawClient is a bare WebSocket reader, to test the double without the
// ari package.
type rawClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, s *Server, apps string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := strings.Replace(s.URL(), "http://", "ws://", 1) + "/ari/events?app=" + apps + "&api_key=dargah:secret"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: s.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &rawClient{t: t, conn: conn}
}

// next reads the next event of type typ, skipping others.
func (r *rawClient) next(typ string) map[string]any {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := r.conn.Read(ctx)
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			r.t.Fatal(err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

func TestScenarioRaw(t *testing.T) {
	t.Parallel()
	s := New(t, Config{})
	ws := dialRaw(t, s, "dargah,queue")
	if !s.Registered("dargah") || !s.Registered("queue") || s.Registered("other") {
		t.Fatal("apps not registered from a comma list")
	}
	call := s.NewCallFrom(Incoming{CallerNumber: "0915", CallerName: "Reza", Exten: "1888", Language: "ar", Args: []string{"x"}, Vars: map[string]string{"DID": "1888"}})
	ss := ws.next("StasisStart")
	chm := ss["channel"].(map[string]any)
	if chm["language"] != "ar" || chm["caller"].(map[string]any)["name"] != "Reza" || chm["dialplan"].(map[string]any)["exten"] != "1888" {
		t.Fatalf("incoming channel %v", chm)
	}
	if v := call.State().Vars["DID"]; v != "1888" {
		t.Fatalf("vars %v", call.State().Vars)
	}
	if ss["channel"].(map[string]any)["id"] != call.ID() || ss["asterisk_id"] != s.AsteriskID() {
		t.Fatalf("StasisStart %v", ss)
	}
	if got := s.Channels(); len(got) != 1 || got[0].ID != call.ID() || !got[0].InApp {
		t.Fatalf("channels %+v", got)
	}
	id := call.ID()

	// Multi-variable get/set, global and bridge variables.
	if st, b := do(t, s, "POST", "/channels/"+id+"/variables", `{"variables":{"A":"1","B":"2"}}`); st != 204 {
		t.Fatalf("setChannelVars %d %s", st, b)
	}
	ws.next("ChannelVarset")
	if st, b := do(t, s, "GET", "/channels/"+id+"/variables?variables=A,B", ""); st != 200 || !strings.Contains(b, `"A":"1"`) {
		t.Fatalf("getChannelVars %d %s", st, b)
	}
	if st, _ := do(t, s, "GET", "/channels/"+id+"/variables?variables=A,Z", ""); st != 404 {
		t.Fatalf("getChannelVars missing %d", st)
	}
	if st, _ := do(t, s, "POST", "/asterisk/variable?variable=G&value=7", ""); st != 204 {
		t.Fatal("setGlobalVar")
	}
	if st, b := do(t, s, "GET", "/asterisk/variable?variable=G", ""); st != 200 || !strings.Contains(b, `"7"`) {
		t.Fatalf("getGlobalVar %d %s", st, b)
	}
	if st, _ := do(t, s, "GET", "/asterisk/variable?variable=H", ""); st != 404 {
		t.Fatal("getGlobalVar missing")
	}
	do(t, s, "POST", "/bridges/br?type=holding", "")
	if st, _ := do(t, s, "POST", "/bridges/br/variable?variable=V&value=x", ""); st != 204 {
		t.Fatal("setBridgeVar")
	}
	if st, b := do(t, s, "GET", "/bridges/br/variable?variable=V", ""); st != 200 || !strings.Contains(b, `"x"`) {
		t.Fatalf("getBridgeVar %d %s", st, b)
	}
	if st, _ := do(t, s, "GET", "/bridges/br/variable?variable=W", ""); st != 404 {
		t.Fatal("getBridgeVar missing")
	}
	if got := s.Bridges(); len(got) != 1 || got[0] != "br" {
		t.Fatalf("bridges %v", got)
	}

	// Recording pause/unpause and a test-ended recording.
	do(t, s, "POST", "/channels/"+id+"/record?name=m&format=wav", "")
	do(t, s, "POST", "/recordings/live/m/pause", "")
	if st, _ := s.LiveRecording("m"); st != "paused" {
		t.Fatalf("live state %s", st)
	}
	do(t, s, "DELETE", "/recordings/live/m/pause", "")
	do(t, s, "POST", "/recordings/live/m/mute", "")
	do(t, s, "DELETE", "/recordings/live/m/mute", "")
	s.FinishRecording("m")
	ws.next("RecordingFinished")
	if _, ok := s.LiveRecording("m"); ok {
		t.Fatal("still live")
	}

	// Move into another app served by the same socket.
	if st, _ := do(t, s, "POST", "/channels/"+id+"/move?app=queue&appArgs=q1", ""); st != 204 {
		t.Fatal("move")
	}
	ws.next("StasisEnd")
	moved := ws.next("StasisStart")
	if moved["application"] != "queue" || call.State().MovedTo != "queue" {
		t.Fatalf("moved %v", moved)
	}

	// Manual playbacks are listed until finished.
	s2 := New(t, Config{ManualPlaybacks: true})
	ws2 := dialRaw(t, s2, "dargah")
	c2 := s2.NewCall("0916")
	ws2.next("StasisStart")
	do(t, s2, "POST", "/channels/"+c2.ID()+"/play/pb?media=sound:a", "")
	if got := s2.Playbacks(); len(got) != 1 || got[0] != "pb" {
		t.Fatalf("playbacks %v", got)
	}
	s2.FinishPlayback("pb")
	ws2.next("PlaybackFinished")
	if r := s2.WaitRequest("channels.playWithId", 1); r.Status != 201 || r.Query.Get("media") != "sound:a" {
		t.Fatalf("request %+v", r)
	}
}
