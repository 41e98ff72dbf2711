package aritest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dargah137/dargah/channels/asterisk/aritest/internal/swagger"
)

var update = flag.Bool("update", false, "rewrite api_gen.go from the shared ARI description")

// findDescription walks up from the package directory looking for the
// repository's sibling shared/asterisk-ari folder.
func findDescription(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "asterisk-ari")
		if _, err := os.Stat(filepath.Join(p, "resources.json")); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// TestAPITableMatchesDescription regenerates the operation table from the
// JSON description, when it is present, and compares it with api_gen.go.
// On a fresh machine without shared/ the committed table is used as is.
func TestAPITableMatchesDescription(t *testing.T) {
	t.Parallel()
	dir := findDescription(t)
	if dir == "" {
		t.Skip("shared/asterisk-ari not found above the package; using the committed api_gen.go")
	}
	api, err := swagger.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := swagger.Render("aritest", api)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("api_gen.go", src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile("api_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(src) {
		t.Fatalf("api_gen.go is stale against %s; run `go generate ./channels/asterisk/aritest` or `go test -run TestAPITable -update`", dir)
	}
	if len(api.Ops) != len(apiOps) || len(api.Models) != len(apiModels) {
		t.Fatalf("table has %d ops/%d models, description %d/%d", len(apiOps), len(apiModels), len(api.Ops), len(api.Models))
	}
}

func TestMatchRoute(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, path, op string
		status           int
	}{
		{"POST", "/channels/create", "channels.create", 0},
		{"POST", "/channels/abc", "channels.originateWithId", 0},
		{"GET", "/channels/abc", "channels.get", 0},
		{"POST", "/channels/externalMedia", "channels.externalMedia", 0},
		{"POST", "/channels/abc/play/pb1", "channels.playWithId", 0},
		{"DELETE", "/channels/abc/ring", "channels.ringStop", 0},
		{"GET", "/recordings/stored/x/file", "recordings.getStoredFile", 0},
		{"GET", "/events", "events.eventWebsocket", 0},
		{"GET", "/channels/create", "", 405},
		{"PUT", "/channels/abc/answer", "", 405},
		{"POST", "/channels/abc/teleport", "", 404},
		{"GET", "/nothing", "", 404},
		{"GET", "/channels//answer", "", 404},
	} {
		rt, status, _ := matchRoute(tc.method, tc.path)
		if status != tc.status || (status == 0 && rt.opName() != tc.op) {
			t.Errorf("%s %s: got %v %d, want %s %d", tc.method, tc.path, rt.op, status, tc.op, tc.status)
		}
	}
}
