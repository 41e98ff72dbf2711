package routing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// OtherService is the service code a message gets when no keyword matches.
// Every rules file must define it.
const OtherService = "other"

// Rules is a validated, compiled routing rules file. Build it with
// LoadRules or ParseRules; it is read-only afterwards and safe for
// concurrent use.
type Rules struct {
	name     string
	services []service
	byCode   map[string]int
	faq      []faqEntry
	replies  replies
	// statusWords mark a message as a question about a case; they decide
	// whether a 10-digit number is read as a (mistyped) tracking code.
	statusWords []keyword
	match       matcher
}

// service is one service code with its compiled keywords.
type service struct {
	channels.Service
	keywords []keyword
}

type faqEntry struct {
	id       string
	question text
	sets     [][]keyword
	answer   text
}

// keyword is a normalized keyword in match form (see matchForm).
type keyword struct {
	s string
	// whole is set for keywords written with a leading "=": they match a
	// whole word only, not the start of a longer one.
	whole bool
	// weight is the number of words: "چراغ راهنمایی" (traffic light) beats
	// "چراغ" (lamp) when both match.
	weight int
	id     int // in Rules.match
}

// text is a user-facing text by language.
type text map[string]string

// in returns the text in lang, falling back to Persian.
func (t text) in(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t["fa"]
}

// replies are the router's reply templates. Placeholders in braces are
// filled by the router, except {tracking_code} of case_opened, which the
// store fills once it has opened the case and knows the code.
type replies struct {
	CaseOpened      text `yaml:"case_opened"`      // {tracking_code} {service}
	Status          text `yaml:"status"`           // {tracking_code} {status} {service}
	StatusUnknown   text `yaml:"status_unknown"`   // {tracking_code}
	StatusMistyped  text `yaml:"status_mistyped"`  // {tracking_code}
	ThreadContinued text `yaml:"thread_continued"` // {tracking_code}
}

// The YAML shape of a rules file.
type rulesFile struct {
	Services       []serviceFile `yaml:"services"`
	FAQ            []faqFile     `yaml:"faq"`
	Replies        replies       `yaml:"replies"`
	StatusKeywords []string      `yaml:"status_keywords"`
}

type serviceFile struct {
	Code        string   `yaml:"code"`
	Name        text     `yaml:"name"`
	Description text     `yaml:"description"`
	Group       string   `yaml:"group"`
	Keywords    []string `yaml:"keywords"`
}

type faqFile struct {
	ID string `yaml:"id"`
	// Question, when set, lists the entry in portals' question menus.
	Question text       `yaml:"question"`
	Keywords [][]string `yaml:"keywords"`
	Answer   text       `yaml:"answer"`
}

// LoadRules reads and validates the rules file at path.
func LoadRules(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	return ParseRules(path, data)
}

var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ParseRules decodes a rules file strictly (an unknown key is an error) and
// validates it: unique service codes and FAQ ids, a Persian name for every
// service and a Persian text for every answer and reply, an "other"
// service, known languages and placeholders. name is the file name used in
// errors, which also name the offending key. Keywords are normalized here,
// so the config may be written in any spelling.
func ParseRules(name string, data []byte) (*Rules, error) {
	var f rulesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty routing rules", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document", name)
	}

	r := &Rules{name: name, byCode: map[string]int{}}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", name, key, fmt.Sprintf(format, args...)))
	}

	if len(f.Services) == 0 {
		bad("services", "at least one service is required")
	}
	for i, s := range f.Services {
		key := fmt.Sprintf("services[%d]", i)
		if s.Code != "" {
			key = fmt.Sprintf("services[%d] (%s)", i, s.Code)
		}
		switch {
		case s.Code == "":
			bad(key+".code", "is required")
		case !codePattern.MatchString(s.Code):
			bad(key+".code", "%q must be lowercase letters, digits and _", s.Code)
		default:
			if _, dup := r.byCode[s.Code]; dup {
				bad(key+".code", "%q is defined twice", s.Code)
			}
			r.byCode[s.Code] = i
		}
		checkText(bad, key+".name", s.Name, true, nil)
		checkText(bad, key+".description", s.Description, false, nil)
		kws := r.compileKeywords(bad, key+".keywords", s.Keywords)
		r.services = append(r.services, service{
			Service: channels.Service{
				Code:        s.Code,
				Name:        s.Name,
				Description: s.Description,
				Group:       s.Group,
				Keywords:    s.Keywords,
			},
			keywords: kws,
		})
	}
	if _, ok := r.byCode[OtherService]; !ok && len(f.Services) > 0 {
		bad("services", "a service with code %q is required (it takes what nothing else matches)", OtherService)
	}

	ids := map[string]bool{}
	for i, q := range f.FAQ {
		key := fmt.Sprintf("faq[%d]", i)
		if q.ID != "" {
			key = fmt.Sprintf("faq[%d] (%s)", i, q.ID)
		}
		switch {
		case q.ID == "":
			bad(key+".id", "is required")
		case !codePattern.MatchString(q.ID):
			bad(key+".id", "%q must be lowercase letters, digits and _", q.ID)
		case ids[q.ID]:
			bad(key+".id", "%q is defined twice", q.ID)
		}
		ids[q.ID] = true
		if len(q.Keywords) == 0 {
			bad(key+".keywords", "at least one keyword set is required")
		}
		e := faqEntry{id: q.ID, question: q.Question, answer: q.Answer}
		if len(q.Question) > 0 {
			checkText(bad, key+".question", q.Question, true, nil)
		}
		for j, set := range q.Keywords {
			skey := fmt.Sprintf("%s.keywords[%d]", key, j)
			if len(set) == 0 {
				bad(skey, "an empty keyword set would match every message")
				continue
			}
			e.sets = append(e.sets, r.compileKeywords(bad, skey, set))
		}
		checkText(bad, key+".answer", q.Answer, true, nil)
		r.faq = append(r.faq, e)
	}

	rp := f.Replies
	checkText(bad, "replies.case_opened", rp.CaseOpened, true, []string{"tracking_code", "service"})
	for lang, t := range rp.CaseOpened {
		if !strings.Contains(t, "{tracking_code}") {
			bad("replies.case_opened."+lang, "must contain {tracking_code}: the citizen needs it to follow up")
		}
	}
	checkText(bad, "replies.status", rp.Status, true, []string{"tracking_code", "status", "service"})
	checkText(bad, "replies.status_unknown", rp.StatusUnknown, true, []string{"tracking_code"})
	checkText(bad, "replies.status_mistyped", rp.StatusMistyped, true, []string{"tracking_code"})
	checkText(bad, "replies.thread_continued", rp.ThreadContinued, true, []string{"tracking_code"})
	r.replies = rp

	r.statusWords = r.compileKeywords(bad, "status_keywords", f.StatusKeywords)

	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

var placeholderPattern = regexp.MustCompile(`\{[^{}]*\}`)

// checkText validates a by-language text: known languages, Persian present
// when required, and only the allowed placeholders (nil allows none).
func checkText(bad func(key, format string, args ...any), key string, t text, required bool, placeholders []string) {
	if required && strings.TrimSpace(t["fa"]) == "" {
		bad(key+".fa", "a Persian text is required")
	}
	for _, lang := range slices.Sorted(maps.Keys(t)) {
		if !gateway.SupportedLanguage(lang) {
			bad(key+"."+lang, "unknown language (want fa, ar, ur or en)")
			continue
		}
		for _, p := range placeholderPattern.FindAllString(t[lang], -1) {
			if !slices.Contains(placeholders, p[1:len(p)-1]) {
				bad(key+"."+lang, "unknown placeholder %s", p)
			}
		}
	}
}

// compileKeywords normalizes keywords into match form.
func (r *Rules) compileKeywords(bad func(key, format string, args ...any), key string, in []string) []keyword {
	out := make([]keyword, 0, len(in))
	for i, k := range in {
		kw := keyword{}
		if rest, ok := strings.CutPrefix(k, "="); ok {
			kw.whole, k = true, rest
		}
		kw.s = matchForm(Normalize(k))
		if kw.s == "" {
			bad(fmt.Sprintf("%s[%d]", key, i), "keyword %q is empty once normalized", in[i])
			continue
		}
		if first, _ := utf8.DecodeRuneInString(kw.s); !isWordRune(first) {
			bad(fmt.Sprintf("%s[%d]", key, i), "keyword %q must start with a letter or digit", in[i])
			continue
		}
		kw.weight = strings.Count(kw.s, " ") + 1
		out = append(out, r.match.add(kw))
	}
	return out
}

// Name is the file the rules were read from.
func (r *Rules) Name() string { return r.name }

// Service returns the service with that code.
func (r *Rules) Service(code string) (channels.Service, bool) {
	i, ok := r.byCode[code]
	if !ok {
		return channels.Service{}, false
	}
	return cloneService(r.services[i].Service), true
}

// Services lists the services in config order, for menus and Open311
// services.json. The result is the caller's to modify.
func (r *Rules) Services() []channels.Service {
	out := make([]channels.Service, len(r.services))
	for i, s := range r.services {
		out[i] = cloneService(s.Service)
	}
	return out
}

// FAQs lists the FAQ entries that have a question, in config order: what a
// portal offers as a menu of frequent questions.
func (r *Rules) FAQs() []channels.FAQ {
	var out []channels.FAQ
	for _, q := range r.faq {
		if len(q.question) > 0 {
			out = append(out, channels.FAQ{ID: q.id, Question: maps.Clone(q.question)})
		}
	}
	return out
}

func cloneService(s channels.Service) channels.Service {
	s.Name = maps.Clone(s.Name)
	s.Description = maps.Clone(s.Description)
	s.Keywords = slices.Clone(s.Keywords)
	return s
}

// serviceName is the service's name in lang (fallback fa, then the code).
func (r *Rules) serviceName(code, lang string) string {
	if i, ok := r.byCode[code]; ok {
		if n := text(r.services[i].Name).in(lang); n != "" {
			return n
		}
	}
	return code
}
