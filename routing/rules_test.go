package routing

import (
	"strings"
	"testing"
)

// minimalRules is the smallest valid rules file; tests append to it or
// break one line of it.
const minimalRules = `
services:
  - code: asphalt
    name: {fa: آسفالت, en: Asphalt}
    keywords: [چاله, آسفالت]
  - code: other
    name: {fa: سایر}
faq:
  - id: hours
    keywords: [[ساعت, "137"]]
    answer: {fa: شبانه‌روزی}
replies:
  case_opened: {fa: "کد {tracking_code} برای {service}"}
  status: {fa: "{tracking_code} {service}: {status}"}
  status_unknown: {fa: "{tracking_code} پیدا نشد"}
  status_mistyped: {fa: "{tracking_code} اشتباه است"}
  thread_continued: {fa: "به {tracking_code} اضافه شد"}
`

func TestParseRulesValid(t *testing.T) {
	t.Parallel()
	r, err := ParseRules("min.yaml", []byte(minimalRules))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "min.yaml" {
		t.Errorf("Name() = %q", r.Name())
	}
	s, ok := r.Service("asphalt")
	if !ok || s.Name["en"] != "Asphalt" || len(s.Keywords) != 2 {
		t.Errorf("Service(asphalt) = %+v, %v", s, ok)
	}
	if _, ok := r.Service("nope"); ok {
		t.Error("Service(nope) found")
	}
	// Callers own what they get back.
	s.Name["fa"] = "changed"
	all := r.Services()
	all[0].Keywords[0] = "changed"
	if s2, _ := r.Service("asphalt"); s2.Name["fa"] != "آسفالت" || s2.Keywords[0] != "چاله" {
		t.Errorf("rules changed through a returned service: %+v", s2)
	}
	if len(all) != 2 || all[0].Code != "asphalt" || all[1].Code != "other" {
		t.Errorf("Services() = %+v", all)
	}
}

func TestParseRulesKeywordsNormalized(t *testing.T) {
	t.Parallel()
	data := strings.Replace(minimalRules, "keywords: [چاله, آسفالت]", "keywords: [\"چالۀ\", \"پياده\u200cرو\", \"=ONE\"]", 1)
	r, err := ParseRules("kw.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	got := r.services[0].keywords
	want := []keyword{{s: "چاله", weight: 1}, {s: "پیاده رو", weight: 2, id: 1}, {s: "one", whole: true, weight: 1, id: 2}}
	if len(got) != len(want) {
		t.Fatalf("keywords = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("keyword %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(string) string
		want []string // substrings of the error
	}{
		{"empty file", func(string) string { return "" }, []string{"bad.yaml", "empty"}},
		{"not yaml", func(string) string { return "services: [" }, []string{"bad.yaml"}},
		{"unknown top key", func(s string) string { return s + "extra: 1\n" }, []string{"bad.yaml", "extra"}},
		{"unknown service key", func(s string) string {
			return strings.Replace(s, "  - code: other\n", "  - code: other\n    colour: red\n", 1)
		}, []string{"bad.yaml", "colour"}},
		{"second document", func(s string) string { return s + "---\nservices: []\n" }, []string{"more than one YAML document"}},
		{"duplicate code", func(s string) string { return strings.Replace(s, "code: other", "code: asphalt", 1) }, []string{"services[1] (asphalt).code", "defined twice", `"other" is required`}},
		{"bad code", func(s string) string { return strings.Replace(s, "code: asphalt", "code: Asphalt-1", 1) }, []string{"services[0] (Asphalt-1).code"}},
		{"missing fa name", func(s string) string {
			return strings.Replace(s, "name: {fa: آسفالت, en: Asphalt}", "name: {en: Asphalt}", 1)
		}, []string{"services[0] (asphalt).name.fa", "Persian"}},
		{"unknown language", func(s string) string {
			return strings.Replace(s, "en: Asphalt", "fr: Asphalte", 1)
		}, []string{"services[0] (asphalt).name.fr", "unknown language"}},
		{"no other", func(s string) string {
			return strings.Replace(s, "  - code: other\n    name: {fa: سایر}\n", "", 1)
		}, []string{`"other" is required`}},
		{"empty keyword", func(s string) string {
			return strings.Replace(s, "[چاله, آسفالت]", "[چاله, \"\u200c \"]", 1)
		}, []string{"services[0] (asphalt).keywords[1]", "empty once normalized"}},
		{"faq question without Persian", func(s string) string {
			return strings.Replace(s, "  - id: hours\n", "  - id: hours\n    question: {en: Open hours}\n", 1)
		}, []string{"faq[0] (hours).question.fa", "Persian"}},
		{"duplicate faq id", func(s string) string {
			return strings.Replace(s, "faq:\n", "faq:\n  - id: hours\n    keywords: [[x]]\n    answer: {fa: y}\n", 1)
		}, []string{"faq[1] (hours).id", "defined twice"}},
		{"faq without keywords", func(s string) string {
			return strings.Replace(s, `keywords: [[ساعت, "137"]]`, "keywords: []", 1)
		}, []string{"faq[0] (hours).keywords", "at least one"}},
		{"faq empty set", func(s string) string {
			return strings.Replace(s, `keywords: [[ساعت, "137"]]`, "keywords: [[]]", 1)
		}, []string{"faq[0] (hours).keywords[0]", "every message"}},
		{"faq answer without fa", func(s string) string {
			return strings.Replace(s, "answer: {fa: شبانه‌روزی}", "answer: {en: always}", 1)
		}, []string{"faq[0] (hours).answer.fa"}},
		{"reply without fa", func(s string) string {
			return strings.Replace(s, `status: {fa: "{tracking_code} {service}: {status}"}`, `status: {en: "{status}"}`, 1)
		}, []string{"replies.status.fa"}},
		{"missing reply", func(s string) string {
			return strings.Replace(s, "  thread_continued: {fa: \"به {tracking_code} اضافه شد\"}\n", "", 1)
		}, []string{"replies.thread_continued.fa"}},
		{"unknown placeholder", func(s string) string {
			return strings.Replace(s, `"{tracking_code} پیدا نشد"`, `"{code} پیدا نشد"`, 1)
		}, []string{"replies.status_unknown.fa", "{code}"}},
		{"case_opened without code", func(s string) string {
			return strings.Replace(s, `"کد {tracking_code} برای {service}"`, `"ثبت شد"`, 1)
		}, []string{"replies.case_opened.fa", "must contain {tracking_code}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRules("bad.yaml", []byte(tt.edit(minimalRules)))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadRulesMissingFile(t *testing.T) {
	t.Parallel()
	_, err := LoadRules("testdata/no-such-file.yaml")
	if err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Fatalf("err = %v", err)
	}
}

// TestShippedRules checks configs/routing.yaml: it loads, and it has what
// the brief promises the city.
func TestShippedRules(t *testing.T) {
	t.Parallel()
	r := loadShipped(t)
	for _, code := range []string{"asphalt", "green_space", "curb_gutter", "sidewalk", "street_lighting", "waste_collection", "traffic", "other"} {
		s, ok := r.Service(code)
		if !ok {
			t.Errorf("service %s missing", code)
			continue
		}
		for _, lang := range []string{"fa", "en", "ar"} {
			if s.Name[lang] == "" {
				t.Errorf("service %s has no %s name", code, lang)
			}
		}
		if code != OtherService && len(s.Keywords) < 5 {
			t.Errorf("service %s has only %d keywords", code, len(s.Keywords))
		}
	}
	for _, q := range r.faq {
		for _, lang := range []string{"fa", "en", "ar"} {
			if q.answer[lang] == "" {
				t.Errorf("faq %s has no %s answer", q.id, lang)
			}
		}
	}
	for name, tx := range map[string]text{
		"case_opened": r.replies.CaseOpened, "status": r.replies.Status, "status_unknown": r.replies.StatusUnknown,
		"status_mistyped": r.replies.StatusMistyped, "thread_continued": r.replies.ThreadContinued,
	} {
		for _, lang := range []string{"fa", "en", "ar", "ur"} {
			if tx[lang] == "" {
				t.Errorf("reply %s has no %s text", name, lang)
			}
		}
	}
}

func loadShipped(t testing.TB) *Rules {
	t.Helper()
	r, err := LoadRules("../configs/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
