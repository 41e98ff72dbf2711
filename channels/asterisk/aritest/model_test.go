package aritest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConformCatches(t *testing.T) {
	t.Parallel()
	ch := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"id": "1.1", "protocol_id": "", "name": "PJSIP/x-1", "state": "Up",
			"caller": map[string]any{"name": "", "number": "1"}, "connected": map[string]any{"name": "", "number": ""},
			"accountcode": "", "dialplan": map[string]any{"context": "c", "exten": "e", "priority": 1.0, "app_name": "", "app_data": ""},
			"creationtime": "2026-11-27T09:43:47.123+0330", "language": "fa"}
		if mod != nil {
			mod(m)
		}
		return m
	}
	if p := conform("Channel", ch(nil), "Channel"); len(p) != 0 {
		t.Fatalf("valid channel rejected: %v", p)
	}
	for name, tc := range map[string]struct {
		typ  string
		v    any
		want string
	}{
		"missing required": {"Channel", ch(func(m map[string]any) { delete(m, "id") }), `lacks required "id"`},
		"extra property":   {"Channel", ch(func(m map[string]any) { m["colour"] = "red" }), `no property "colour"`},
		"bad enum":         {"Channel", ch(func(m map[string]any) { m["state"] = "Dancing" }), `"Dancing" not in`},
		"bad date":         {"Channel", ch(func(m map[string]any) { m["creationtime"] = "2026-11-27T09:43:47Z" }), "not in Asterisk's layout"},
		"bad nested":       {"Channel", ch(func(m map[string]any) { m["dialplan"].(map[string]any)["priority"] = 1.5 }), "want integer"},
		"not a list":       {"List[Channel]", ch(nil), "want a list"},
		"event base":       {"StasisEnd", map[string]any{"type": "StasisEnd", "channel": ch(nil)}, `lacks required "application"`},
		"event field type": {"ChannelDtmfReceived", map[string]any{"type": "ChannelDtmfReceived", "application": "a", "timestamp": "2026-11-27T09:43:47.123+0330", "digit": 1.0, "duration_ms": 1.0, "channel": ch(nil)}, "want string"},
	} {
		p := strings.Join(conform(tc.typ, tc.v, tc.typ), "; ")
		if !strings.Contains(p, tc.want) {
			t.Errorf("%s: problems %q, want %q", name, p, tc.want)
		}
	}
}

// TestClientFixturesConform checks the ari package's realistic event
// payloads against the description too, so both sides agree with it.
func TestClientFixturesConform(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../ari/testdata/events/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		typ, _ := v["type"].(string)
		if p := conform(typ, v, filepath.Base(f)); len(p) > 0 {
			t.Errorf("%s", strings.Join(p, "\n"))
		}
	}
}
