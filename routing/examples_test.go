package routing

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/gateway"
)

var update = flag.Bool("update", false, "rewrite testdata/examples.golden")

type example struct {
	Text        string `yaml:"text"`
	ServiceCode string `yaml:"service_code"`
	Rule        string `yaml:"rule"`
	Language    string `yaml:"language"`
}

// TestExamples routes testdata/examples.yaml with the shipped
// configs/routing.yaml. Each example names the rule it must take; the full
// decisions (replies included) are compared with testdata/examples.golden,
// so a change to the config shows up as a reviewable diff.
func TestExamples(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/examples.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var examples []example
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&examples); err != nil {
		t.Fatal(err)
	}
	r, _ := newRouter(t)

	var golden bytes.Buffer
	for _, ex := range examples {
		m := msg(ex.Text)
		m.ServiceCode = ex.ServiceCode
		d, err := r.Decide(t.Context(), m)
		if err != nil {
			t.Errorf("%q: %v", ex.Text, err)
			continue
		}
		if d.Rule != ex.Rule {
			t.Errorf("%q: rule %q, want %q", ex.Text, d.Rule, ex.Rule)
		}
		if lang := r.language(m, Normalize(m.Text)); ex.Language != "" && lang != ex.Language {
			t.Errorf("%q: language %q, want %q", ex.Text, lang, ex.Language)
		}
		line, err := json.Marshal(struct {
			Text     string           `json:"text"`
			Decision gateway.Decision `json:"decision"`
		}{ex.Text, d})
		if err != nil {
			t.Fatal(err)
		}
		golden.Write(line)
		golden.WriteByte('\n')
	}

	const path = "testdata/examples.golden"
	if *update {
		if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./routing -run TestExamples -update to create it)", err)
	}
	if !bytes.Equal(golden.Bytes(), want) {
		got := bytes.Split(golden.Bytes(), []byte("\n"))
		exp := bytes.Split(want, []byte("\n"))
		for i := 0; i < max(len(got), len(exp)); i++ {
			var g, e []byte
			if i < len(got) {
				g = got[i]
			}
			if i < len(exp) {
				e = exp[i]
			}
			if !bytes.Equal(g, e) {
				t.Errorf("examples.golden line %d:\n got %s\nwant %s", i+1, g, e)
			}
		}
		t.Log("if the change is intended: go test ./routing -run TestExamples -update")
	}
}
