package asterisk

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Tehran must resolve on hosts without zoneinfo

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/routing/acd"
)

// Settings is the portal's YAML block (every key but name and type).
type Settings struct {
	// URL, Username, Password (or PasswordEnv) and App reach one Asterisk
	// server; Servers lists several instead (each may leave App empty).
	URL         string   `yaml:"url"`
	Username    string   `yaml:"username"`
	Password    string   `yaml:"password"`
	PasswordEnv string   `yaml:"password_env"`
	App         string   `yaml:"app"`
	Servers     []Server `yaml:"servers"`

	// Sounds is the media prefix of every prompt, e.g. "sound:dargah/";
	// the caller's language is passed to Asterisk with each playback, so
	// one prompt name maps to fa/ar/ur/en files.
	Sounds string `yaml:"sounds"`
	// Languages maps a digit of the language menu to fa, ar, ur or en.
	Languages map[string]string `yaml:"languages"`
	// DefaultLanguage is used when the caller chooses none (default fa).
	DefaultLanguage string `yaml:"default_language"`
	// Menu is the service menu tree.
	Menu *MenuNode `yaml:"menu"`
	// Queues are the ACD queues (skills, widening, ring timeout, max
	// misses, wrap-up, max wait, service level); see acd.QueueConfig.
	Queues []acd.QueueConfig `yaml:"queues"`
	// FallbackQueue takes callers whose input kept failing (default: the
	// first queue).
	FallbackQueue string `yaml:"fallback_queue"`
	// Agents is the roster: defaults for agents logging in through the API.
	Agents []AgentConfig `yaml:"agents"`
	// Hours are the working hours; outside them callers get voicemail.
	// Empty means always open.
	Hours *Hours `yaml:"hours"`

	InputTimeout time.Duration `yaml:"input_timeout"` // default 5s
	MaxRetries   int           `yaml:"max_retries"`   // default 2
	// PositionEvery is how often a waiting caller hears their position
	// (default 30s).
	PositionEvery time.Duration `yaml:"position_every"`
	// CallbackEndpoint dials a citizen back; {number} is replaced by the
	// number, e.g. "PJSIP/{number}@trunk". Callbacks need it.
	CallbackEndpoint string `yaml:"callback_endpoint"`
	// CallerID shown on agents' phones and callbacks (default "137").
	CallerID string `yaml:"caller_id"`
	// MOHClass is the music-on-hold class of the holding bridge.
	MOHClass string `yaml:"moh_class"`
	// VoicemailMax bounds a voicemail (default 2m).
	VoicemailMax time.Duration `yaml:"voicemail_max"`
	// HandoffWait is how long a graceful stop leaves callers who wait in
	// a queue on hold, conversations with agents connected and callers in
	// the menu listening to music, for the next Dargah to take over (a
	// restarted one, or the instance that takes the app). Asterisk hangs
	// up what nobody took over by then (default 2m).
	HandoffWait time.Duration `yaml:"handoff_wait"`
	// AgentTokenEnv names the environment variable holding the bearer
	// token of the agents' API; without it the API refuses every request.
	AgentTokenEnv string `yaml:"agent_token_env"`
	// APIPath is where the agents' API is served: APIPath+"/agents…" and
	// APIPath+"/queues" (default "/api/v1"). A second phone portal in the
	// same deployment needs a path of its own, e.g. "/api/v1/lines/pilgrims".
	APIPath string `yaml:"api_path"`
	// AgentPool keeps agent presence in Redis, shared by every Dargah
	// instance; without it presence lives in this process (one instance).
	AgentPool *AgentPoolSettings `yaml:"agent_pool"`
}

// AgentPoolSettings select the Redis agent pool (routing/acd/redispool).
type AgentPoolSettings struct {
	RedisURL    string `yaml:"redis_url"`
	RedisURLEnv string `yaml:"redis_url_env"`
	// Prefix goes before every key (default "dargah:acd:"); the same on
	// every instance that shares agents, and different for each phone
	// portal (Start refuses a prefix another portal has claimed).
	Prefix string `yaml:"prefix"`
}

// Server is one Asterisk server of a deployment with several.
type Server struct {
	Name        string `yaml:"name"`
	URL         string `yaml:"url"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
}

// MenuNode is one node of the service menu: either a prompt with options
// (digit → node) or exactly one action.
type MenuNode struct {
	Prompt     string               `yaml:"prompt"`
	Options    map[string]*MenuNode `yaml:"options"`
	Queue      string               `yaml:"queue"`
	CaseStatus bool                 `yaml:"case_status"`
	Voicemail  bool                 `yaml:"voicemail"`
	FAQ        string               `yaml:"faq"` // a prompt to play, then back to the top
}

// AgentConfig is one agent of the roster.
type AgentConfig struct {
	ID       string         `yaml:"id"`
	Name     string         `yaml:"name"`
	Endpoint string         `yaml:"endpoint"`
	Skills   map[string]int `yaml:"skills"`
}

// Hours are working hours in a time zone.
type Hours struct {
	Timezone string      `yaml:"timezone"` // default Asia/Tehran
	Open     []OpenRange `yaml:"open"`
	loc      *time.Location
}

// OpenRange is open from From to To ("07:30", "14:30") on Days
// (sat, sun, mon, tue, wed, thu, fri).
type OpenRange struct {
	Days []string `yaml:"days"`
	From string   `yaml:"from"`
	To   string   `yaml:"to"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

var (
	digitRe = regexp.MustCompile(`^[0-9*#]$`)
	nameRe  = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
	// apiPathRe: segments of lower-case letters, digits, - and _.
	apiPathRe = regexp.MustCompile(`^(/[a-z0-9_\-]+)+$`)
)

func (s *Settings) applyDefaults() {
	if s.Sounds == "" {
		s.Sounds = "sound:dargah/"
	}
	if s.DefaultLanguage == "" {
		s.DefaultLanguage = "fa"
	}
	if len(s.Languages) == 0 {
		s.Languages = map[string]string{"1": "fa", "2": "ar", "3": "ur", "4": "en"}
	}
	if s.InputTimeout == 0 {
		s.InputTimeout = 5 * time.Second
	}
	if s.MaxRetries == 0 {
		s.MaxRetries = 2
	}
	if s.PositionEvery == 0 {
		s.PositionEvery = 30 * time.Second
	}
	if s.CallerID == "" {
		s.CallerID = "137"
	}
	if s.APIPath == "" {
		s.APIPath = "/api/v1"
	}
	if s.VoicemailMax == 0 {
		s.VoicemailMax = 2 * time.Minute
	}
	if s.HandoffWait == 0 {
		s.HandoffWait = 2 * time.Minute
	}
	if s.FallbackQueue == "" && len(s.Queues) > 0 {
		s.FallbackQueue = s.Queues[0].Name
	}
	if s.Hours != nil && s.Hours.Timezone == "" {
		s.Hours.Timezone = "Asia/Tehran"
	}
}

// Validate checks the settings without touching the network; all problems
// are reported together, each naming its key.
func (s *Settings) Validate() error {
	s.applyDefaults()
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(s.Servers) == 0 {
		if s.URL == "" {
			s.URL = "http://127.0.0.1:8088"
		}
		s.Servers = []Server{{URL: s.URL, Username: s.Username, Password: s.Password, PasswordEnv: s.PasswordEnv}}
		s.URL = "" // moved into Servers, so a second Validate sees the same thing
	} else if s.URL != "" {
		add("url and servers are exclusive: list every server under servers")
	}
	if !apiPathRe.MatchString(s.APIPath) {
		add("api_path %q: a path such as /api/v1/lines/pilgrims is required (lower-case letters, digits, - and _, no trailing slash)", s.APIPath)
	}
	if s.App == "" || !nameRe.MatchString(s.App) {
		add("app: a Stasis application name (letters, digits, _ . -) is required")
	}
	names := map[string]bool{}
	for i := range s.Servers {
		sv := &s.Servers[i]
		if sv.Username == "" {
			sv.Username = s.Username
		}
		if sv.Password == "" && sv.PasswordEnv == "" {
			sv.Password, sv.PasswordEnv = s.Password, s.PasswordEnv
		}
		u, err := url.Parse(sv.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("servers[%d].url %q: an http(s) URL is required", i, sv.URL)
			continue
		}
		if sv.Name == "" {
			sv.Name = u.Host
		}
		if names[sv.Name] {
			add("servers[%d].name %q is used twice", i, sv.Name)
		}
		names[sv.Name] = true
		if sv.Username == "" {
			add("servers[%d]: username is required", i)
		}
		if sv.Password != "" && sv.PasswordEnv != "" {
			add("servers[%d]: password and password_env are exclusive", i)
		}
		if sv.Password == "" && sv.PasswordEnv == "" {
			add("servers[%d]: password or password_env is required", i)
		}
	}
	if !strings.HasPrefix(s.Sounds, "sound:") {
		add("sounds %q must start with sound:", s.Sounds)
	}
	if !gateway.SupportedLanguage(s.DefaultLanguage) {
		add("default_language %q is not one of fa, ar, ur, en", s.DefaultLanguage)
	}
	for d, l := range s.Languages {
		if !digitRe.MatchString(d) {
			add("languages: key %q is not one digit", d)
		}
		if !gateway.SupportedLanguage(l) {
			add("languages[%s]: %q is not one of fa, ar, ur, en", d, l)
		}
	}
	if len(s.Queues) == 0 {
		add("queues: at least one queue is required")
	}
	qc := acd.Config{DefaultLanguage: s.DefaultLanguage, Queues: s.Queues}
	if err := qc.Validate(); err != nil {
		add("queues: %w", err)
	}
	queues := map[string]bool{}
	for _, q := range s.Queues {
		queues[q.Name] = true
	}
	if s.FallbackQueue != "" && !queues[s.FallbackQueue] {
		add("fallback_queue %q is not a queue", s.FallbackQueue)
	}
	if s.Menu == nil {
		add("menu is required")
	} else {
		s.Menu.validate("menu", queues, add)
	}
	ids := map[string]bool{}
	for i, a := range s.Agents {
		if ids[a.ID] {
			add("agents[%d]: id %q is used twice", i, a.ID)
		}
		ids[a.ID] = true
		if err := acd.ValidateLogin(a.ID, a.Skills, a.Endpoint); err != nil {
			add("agents[%d] (%s): %w", i, a.ID, err)
		}
	}
	if s.Hours != nil {
		if err := s.Hours.validate(); err != nil {
			add("hours: %w", err)
		}
	}
	if ap := s.AgentPool; ap != nil {
		if (ap.RedisURL == "") == (ap.RedisURLEnv == "") {
			add("agent_pool: exactly one of redis_url, redis_url_env is required")
		}
		if ap.RedisURL != "" {
			if _, err := redis.ParseURL(ap.RedisURL); err != nil {
				add("agent_pool.redis_url: %w", err)
			}
		}
		if ap.Prefix == "" {
			ap.Prefix = "dargah:acd:"
		}
	}
	if s.InputTimeout < 0 || s.PositionEvery < 0 || s.VoicemailMax < 0 || s.HandoffWait < 0 {
		add("input_timeout, position_every, voicemail_max and handoff_wait must be positive")
	}
	if s.MaxRetries < 0 {
		add("max_retries must not be negative")
	}
	if s.CallbackEndpoint != "" && !strings.Contains(s.CallbackEndpoint, "{number}") {
		add("callback_endpoint %q must contain {number}", s.CallbackEndpoint)
	}
	return errors.Join(errs...)
}

func (n *MenuNode) validate(at string, queues map[string]bool, add func(string, ...any)) {
	if n == nil {
		add("%s: empty node", at)
		return
	}
	actions := 0
	for _, b := range []bool{len(n.Options) > 0, n.Queue != "", n.CaseStatus, n.Voicemail, n.FAQ != ""} {
		if b {
			actions++
		}
	}
	if actions != 1 {
		add("%s: a node needs exactly one of options, queue, case_status, voicemail, faq", at)
		return
	}
	if n.Queue != "" && !queues[n.Queue] {
		add("%s: queue %q is not configured", at, n.Queue)
	}
	if len(n.Options) > 0 && n.Prompt == "" {
		add("%s: options need a prompt", at)
	}
	for _, name := range []string{n.Prompt, n.FAQ} {
		if name != "" && !nameRe.MatchString(strings.ReplaceAll(name, "/", "_")) {
			add("%s: sound name %q has characters Asterisk will not find", at, name)
		}
	}
	keys := make([]string, 0, len(n.Options))
	for d := range n.Options {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	for _, d := range keys {
		if !digitRe.MatchString(d) {
			add("%s.options: key %q is not one digit", at, d)
			continue
		}
		n.Options[d].validate(at+".options."+d, queues, add)
	}
}

func (h *Hours) validate() error {
	loc, err := time.LoadLocation(h.Timezone)
	if err != nil {
		return fmt.Errorf("timezone %q: %w", h.Timezone, err)
	}
	h.loc = loc
	if len(h.Open) == 0 {
		return errors.New("open: at least one range is required (omit hours to be always open)")
	}
	for i, r := range h.Open {
		for _, d := range r.Days {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				return fmt.Errorf("open[%d]: day %q is not one of sat, sun, mon, tue, wed, thu, fri", i, d)
			}
		}
		from, err1 := clock(r.From)
		to, err2 := clock(r.To)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("open[%d]: %w", i, err)
		}
		if from >= to {
			return fmt.Errorf("open[%d]: from %s is not before to %s", i, r.From, r.To)
		}
	}
	return nil
}

// IsOpen reports whether t falls in working hours.
func (h *Hours) IsOpen(t time.Time) bool {
	if h == nil {
		return true
	}
	t = t.In(h.loc)
	mins := t.Hour()*60 + t.Minute()
	for _, r := range h.Open {
		from, _ := clock(r.From)
		to, _ := clock(r.To)
		for _, d := range r.Days {
			if weekdays[strings.ToLower(d)] == t.Weekday() && mins >= from && mins < to {
				return true
			}
		}
	}
	return false
}

// clock parses "HH:MM" (24:00 allowed as the end of a day) into minutes.
func clock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || len(s) != 5 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// password returns the server's password, from the environment if named.
func (sv Server) password() (string, error) {
	if sv.PasswordEnv == "" {
		return sv.Password, nil
	}
	p := os.Getenv(sv.PasswordEnv)
	if p == "" {
		return "", fmt.Errorf("server %s: environment variable %s is empty", sv.Name, sv.PasswordEnv)
	}
	return p, nil
}
