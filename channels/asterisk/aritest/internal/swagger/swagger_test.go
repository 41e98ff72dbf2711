package swagger

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadAndRender(t *testing.T) {
	t.Parallel()
	api, err := Load("testdata/mini")
	if err != nil {
		t.Fatal(err)
	}
	ops := api.Ops
	one, three := 1, 3
	want := []Op{{Resource: "things", Method: "POST", Path: "/things/{thingId}", Nickname: "poke", ResponseClass: "Thing", Params: []Param{
		{Name: "thingId", In: "path", Type: "string", Required: true},
		{Name: "how", In: "query", Type: "string", Required: true, Multiple: true, Values: []string{"gently", "firmly"}},
		{Name: "times", In: "query", Type: "int", Min: &one, Max: &three},
		{Name: "variables", In: "body", Type: "containers"},
	}}}
	if !reflect.DeepEqual(ops, want) {
		t.Fatalf("ops = %+v", ops)
	}
	wantModels := []Model{{ID: "Thing", Props: []Prop{
		{Name: "id", Type: "string", Required: true},
		{Name: "mood", Type: "string", Values: []string{"calm", "angry"}},
		{Name: "tags", Type: "List[string]"},
	}}}
	if !reflect.DeepEqual(api.Models, wantModels) {
		t.Fatalf("models = %+v", api.Models)
	}
	src, err := Render("x", api)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"package x", `Values: []string{"gently", "firmly"}`, "HasMin: true, Min: 1, HasMax: true, Max: 3", `Required: true, Multiple: true`, `"Thing": {Props: []apiProp{`, `Values: []string{"calm", "angry"}`} {
		if !strings.Contains(string(src), s) {
			t.Errorf("rendered source lacks %q:\n%s", s, src)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("missing resources.json accepted")
	}
	dir := t.TempDir()
	must := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must("resources.json", `{"apis":[{"path":"/api-docs/bad.{format}"}]}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("missing resource file: %v", err)
	}
	must("bad.json", `{"apis":[{"path":"/x","operations":[{"httpMethod":"GET","nickname":"x","parameters":[{"name":"p","paramType":"query","dataType":"string","allowableValues":{"valueType":"REGEX"}}]}]}]}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "REGEX") {
		t.Fatalf("unknown allowableValues: %v", err)
	}
}
