package acd

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the call-queue configuration, decoded from YAML, e.g.
//
//	default_language: fa
//	languages: [fa, ar, ur, en]
//	queues:
//	  - name: asphalt
//	    skills: {asphalt: 2}      # domain skills and minimum levels
//	    language_level: 2         # and the caller's language at level ≥ 2
//	    widen:
//	      - after: 60s            # drop the domain, keep the language
//	        language_level: 1
//	      - after: 120s           # any agent
//	    ring_timeout: 20s
//	    max_misses: 3
//	    wrap_up: 15s
//	    max_wait: 5m
//	    on_max_wait: callback
//	    service_level: 20s
type Config struct {
	// DefaultLanguage is used for a call without a language (default "fa").
	DefaultLanguage string `yaml:"default_language"`
	// Languages are reported in Stats even when idle (default fa, ar, ur, en).
	Languages []string      `yaml:"languages"`
	Queues    []QueueConfig `yaml:"queues"`
}

// QueueConfig is one queue.
type QueueConfig struct {
	Name string `yaml:"name"`
	// Skills are required skills with their minimum levels (1–5).
	Skills map[string]int `yaml:"skills"`
	// LanguageLevel, when > 0, also requires the caller's language skill at
	// this level.
	LanguageLevel int `yaml:"language_level"`
	// Widen loosens the requirement as a call waits; each step must ask for
	// no more than the one before (a subset of skills, levels no higher).
	Widen []WidenStep `yaml:"widen"`
	// RingTimeout is how long an agent's phone rings before MissedRing
	// (default 20s); the telephony adapter runs that timer.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// MaxMisses missed rings in a row pause an agent as "missed calls"
	// (default 3; -1 never).
	MaxMisses int `yaml:"max_misses"`
	// WrapUp is the after-call time before the agent is available again
	// (default 10s; -1 none).
	WrapUp time.Duration `yaml:"wrap_up"`
	// MaxWait is the wait after which the caller is offered OnMaxWait
	// (default 5m).
	MaxWait time.Duration `yaml:"max_wait"`
	// OnMaxWait is "callback" (default) or "voicemail".
	OnMaxWait string `yaml:"on_max_wait"`
	// ServiceLevel is the answer-time target (default 20s).
	ServiceLevel time.Duration `yaml:"service_level"`
}

// WidenStep replaces the requirement once a call has waited After.
type WidenStep struct {
	After         time.Duration  `yaml:"after"`
	Skills        map[string]int `yaml:"skills"`
	LanguageLevel int            `yaml:"language_level"`
}

// Defaults.
const (
	DefaultRingTimeout  = 20 * time.Second
	DefaultMaxMisses    = 3
	DefaultWrapUp       = 10 * time.Second
	DefaultMaxWait      = 5 * time.Minute
	DefaultServiceLevel = 20 * time.Second
)

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.DefaultLanguage == "" {
		c.DefaultLanguage = "fa"
	}
	if len(c.Languages) == 0 {
		c.Languages = []string{"fa", "ar", "ur", "en"}
	}
	c.Queues = slices.Clone(c.Queues)
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.RingTimeout == 0 {
			q.RingTimeout = DefaultRingTimeout
		}
		if q.MaxMisses == 0 {
			q.MaxMisses = DefaultMaxMisses
		}
		if q.WrapUp == 0 {
			q.WrapUp = DefaultWrapUp
		}
		if q.MaxWait == 0 {
			q.MaxWait = DefaultMaxWait
		}
		if q.OnMaxWait == "" {
			q.OnMaxWait = "callback"
		}
		if q.ServiceLevel == 0 {
			q.ServiceLevel = DefaultServiceLevel
		}
	}
	return c
}

// Validate reports settings that cannot work, naming the queue and field.
func (c Config) Validate() error {
	var errs []error
	if len(c.Queues) == 0 {
		errs = append(errs, errors.New("at least one queue is required"))
	}
	seen := map[string]bool{}
	for i, q := range c.Queues {
		name := q.Name
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
			errs = append(errs, fmt.Errorf("queue %s: name is required", name))
		} else if seen[name] {
			errs = append(errs, fmt.Errorf("queue %s: duplicate name", name))
		}
		seen[name] = true
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("queue %s: "+format, append([]any{name}, args...)...))
		}
		checkSkills := func(field string, s map[string]int, lang int) {
			for k, l := range s {
				if k == "" || l < MinLevel || l > MaxLevel {
					bad("%s: skill %q level %d is outside %d–%d", field, k, l, MinLevel, MaxLevel)
				}
			}
			if lang < 0 || lang > MaxLevel {
				bad("%s: language_level %d is outside 0–%d", field, lang, MaxLevel)
			}
		}
		checkSkills("skills", q.Skills, q.LanguageLevel)
		prevSkills, prevLang, prevAfter := q.Skills, q.LanguageLevel, time.Duration(0)
		for j, w := range q.Widen {
			field := fmt.Sprintf("widen[%d]", j)
			checkSkills(field, w.Skills, w.LanguageLevel)
			if w.After <= prevAfter {
				bad("%s: after %s must be later than the step before (%s)", field, w.After, prevAfter)
			}
			// Widening must only loosen: the dispatcher relies on an
			// older call never needing more than a younger one.
			for k, l := range w.Skills {
				if pl, ok := prevSkills[k]; !ok || l > pl {
					bad("%s: skill %s:%d asks for more than the step before", field, k, l)
				}
			}
			if w.LanguageLevel > prevLang {
				bad("%s: language_level %d is higher than the step before (%d)", field, w.LanguageLevel, prevLang)
			}
			prevSkills, prevLang, prevAfter = w.Skills, w.LanguageLevel, w.After
		}
		if q.RingTimeout < 0 || q.WrapUp < -1 || q.MaxWait < 0 || q.ServiceLevel < 0 || q.MaxMisses < -1 {
			bad("durations and max_misses must not be negative")
		}
		if q.OnMaxWait != "" && q.OnMaxWait != "callback" && q.OnMaxWait != "voicemail" {
			bad("on_max_wait %q must be callback or voicemail", q.OnMaxWait)
		}
	}
	return errors.Join(errs...)
}

// SkillLevel is one required skill at a minimum level.
type SkillLevel struct {
	Skill string
	Level int
}

// Requirement is a set of required skills, sorted by skill name.
type Requirement []SkillLevel

// NewRequirement builds a sorted Requirement from a skill map plus, when
// langLevel > 0, the language skill.
func NewRequirement(skills map[string]int, lang string, langLevel int) Requirement {
	m := maps.Clone(skills)
	if m == nil {
		m = map[string]int{}
	}
	if langLevel > 0 && lang != "" {
		m[lang] = max(m[lang], langLevel)
	}
	r := make(Requirement, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		r = append(r, SkillLevel{k, m[k]})
	}
	return r
}

// Met reports whether skills satisfy every requirement.
func (r Requirement) Met(skills map[string]int) bool {
	for _, s := range r {
		if skills[s.Skill] < s.Level {
			return false
		}
	}
	return true
}

// Total sums the agent's levels on the required skills: the tie-break
// between agents idle equally long.
func (r Requirement) Total(skills map[string]int) int {
	t := 0
	for _, s := range r {
		t += skills[s.Skill]
	}
	return t
}

// String is the canonical signature, e.g. "asphalt:2,fa:2"; "*" for any.
func (r Requirement) String() string {
	if len(r) == 0 {
		return "*"
	}
	var b strings.Builder
	for i, s := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.Skill)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(s.Level))
	}
	return b.String()
}
