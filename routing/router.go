package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
)

// CaseLookup is the read side of case storage the router needs. The case
// stores (cases/casepg, cases/casesqlite) implement it; both methods return
// an error wrapping cases.ErrNotFound when there is no such case.
type CaseLookup interface {
	CaseGetByTracking(ctx context.Context, code string) (cases.Case, error)
	CaseFindOpenByThread(ctx context.Context, portal, threadKey string) (cases.Case, error)
}

// Options tune a Router.
type Options struct {
	// Logger gets one debug line per decision; nil discards.
	Logger *slog.Logger
}

// ErrUnknownService is wrapped (as a permanent error) when a message names
// a service code the rules do not define.
var ErrUnknownService = errors.New("unknown service code")

// Router decides what happens to each message, by rules tried in order:
//
//  1. thread — the message has a ThreadKey and that portal thread has an
//     open case: the message is added to it (resolved, LinkedTracking).
//  2. status — the text holds a tracking code: the case's status is
//     answered ("status", or "status:unknown" for a code that no case has,
//     or "status:mistyped" for a 10-digit number whose check digit fails).
//     A number that is not found or mistyped only counts when the message
//     asks about a case (a status keyword, or little besides the number),
//     so a postal code in a complaint does not hijack it.
//  3. faq:<id> — every keyword of one of the entry's sets occurs, or
//     (before rule 1) the portal says the citizen picked that entry from
//     its menu (Metadata["faq"]).
//  4. service_code — the portal passed the citizen's chosen service.
//  5. classify:<code> — the service whose keywords score highest (ties go
//     to the one listed first); classify:other when nothing matches.
//
// Replies are in the message's language: Message.Language, else the
// contact's, else DetectLanguage; missing translations fall back to
// Persian. A Router is safe for concurrent use.
type Router struct {
	rules  *Rules
	lookup CaseLookup
	log    *slog.Logger
}

// New returns a Router over rules, looking cases up in lookup.
func New(rules *Rules, lookup CaseLookup, opts Options) *Router {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{rules: rules, lookup: lookup, log: log}
}

// Rules returns the rules the router decides by.
func (r *Router) Rules() *Rules { return r.rules }

// Services lists the services the router opens cases for, in config order.
func (r *Router) Services() []channels.Service { return r.rules.Services() }

// FAQs lists the questions portals may offer as a menu (see Rules.FAQs).
func (r *Router) FAQs() []channels.FAQ { return r.rules.FAQs() }

// Decide returns the decision for m; it does not modify m. An error is
// retryable (a case lookup failed) unless gateway.IsPermanent says
// otherwise (the message names an unknown service code).
func (r *Router) Decide(ctx context.Context, m gateway.Message) (gateway.Decision, error) {
	norm := m.NormalizedText
	if norm == "" && m.Text != "" {
		norm = Normalize(m.Text)
	}
	t := matchForm(norm)
	lang := r.language(m, norm)

	d, err := r.decide(ctx, m, t, lang)
	if err != nil {
		return gateway.Decision{}, err
	}
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.DebugContext(ctx, "routed", "message", m.ID, "rule", d.Rule, "outcome", d.Outcome, "service", d.ServiceCode, "language", lang)
	}
	return d, nil
}

func (r *Router) decide(ctx context.Context, m gateway.Message, t, lang string) (gateway.Decision, error) {
	rp := r.rules.replies

	// 0. A rating recognised by the portal: thank, link to the case (rating.go).
	if d, ok, err := r.rating(ctx, m, lang); ok {
		return d, err
	}

	// 0. The citizen picked a question from a portal's menu (Rules.FAQs):
	// the answer, even in a conversation that has an open case.
	if id := m.Metadata["faq"]; id != "" {
		for _, q := range r.rules.faq {
			if q.id == id {
				return gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "faq:" + q.id, Reply: q.answer.in(lang)}, nil
			}
		}
		// An entry since removed from the rules: route the text as usual.
	}

	// 0. A live agent already answered the citizen (the phone portal
	// submits the agent's "resolved" outcome this way): record, don't route.
	if m.Metadata["resolved_by"] == "agent" {
		return gateway.Decision{Outcome: gateway.OutcomeResolved, Rule: "agent", ServiceCode: m.ServiceCode}, nil
	}

	// 1. A follow-up in a conversation that already has an open case.
	if m.ThreadKey != "" {
		c, err := r.lookup.CaseFindOpenByThread(ctx, m.Portal, m.ThreadKey)
		switch {
		case err == nil && c.Status.Open():
			return gateway.Decision{
				Outcome:        gateway.OutcomeResolved,
				Rule:           "thread",
				Reply:          fill(rp.ThreadContinued.in(lang), "tracking_code", c.TrackingCode),
				ServiceCode:    c.ServiceCode,
				LinkedTracking: c.TrackingCode,
			}, nil
		case err != nil && !errors.Is(err, cases.ErrNotFound):
			return gateway.Decision{}, fmt.Errorf("routing message %s: find open case of thread %s/%s: %w", m.ID, m.Portal, m.ThreadKey, err)
		}
	}

	found := r.rules.match.find(t)

	// 2. A question about a case by its tracking code.
	if d, ok, err := r.status(ctx, m, t, found, lang); err != nil || ok {
		return d, err
	}

	// 3. Frequently asked questions.
	for _, q := range r.rules.faq {
		for _, set := range q.sets {
			if found.all(set) {
				return gateway.Decision{
					Outcome: gateway.OutcomeResolved,
					Rule:    "faq:" + q.id,
					Reply:   q.answer.in(lang),
				}, nil
			}
		}
	}

	// 4. The citizen chose a service.
	if m.ServiceCode != "" {
		if _, ok := r.rules.byCode[m.ServiceCode]; !ok {
			return gateway.Decision{}, gateway.Permanent(fmt.Errorf("routing message %s: %w %q (known: %s)",
				m.ID, ErrUnknownService, m.ServiceCode, strings.Join(r.codes(), ", ")))
		}
		return r.open(m.ServiceCode, "service_code", lang), nil
	}

	// 5. Classify by keywords.
	code := r.classify(found)
	return r.open(code, "classify:"+code, lang), nil
}

// status answers rule 2; ok is false when the message is not a status question.
func (r *Router) status(ctx context.Context, m gateway.Message, t string, found found, lang string) (gateway.Decision, bool, error) {
	codes := findCodes(t)
	if len(codes) == 0 {
		return gateway.Decision{}, false, nil
	}
	rp := r.rules.replies
	var mistyped *codeCandidate
	for i, c := range codes {
		if !c.valid {
			if mistyped == nil {
				mistyped = &codes[i]
			}
			continue
		}
		kase, err := r.lookup.CaseGetByTracking(ctx, c.code)
		if errors.Is(err, cases.ErrNotFound) {
			if !r.rules.statusIntent(t, found, c) {
				continue
			}
			return gateway.Decision{
				Outcome: gateway.OutcomeResolved,
				// No TrackingCode: it names an existing case, and there is none.
				Rule:  "status:unknown",
				Reply: fill(rp.StatusUnknown.in(lang), "tracking_code", c.code),
			}, true, nil
		}
		if err != nil {
			return gateway.Decision{}, false, fmt.Errorf("routing message %s: look up case %s: %w", m.ID, c.code, err)
		}
		return gateway.Decision{
			Outcome: gateway.OutcomeResolved,
			Rule:    "status",
			Reply: fill(rp.Status.in(lang),
				"tracking_code", kase.TrackingCode,
				"status", StatusName(kase.Status, lang),
				"service", r.rules.serviceName(kase.ServiceCode, lang)),
			ServiceCode:  kase.ServiceCode,
			TrackingCode: kase.TrackingCode,
		}, true, nil
	}
	if mistyped != nil && r.rules.statusIntent(t, found, *mistyped) {
		return gateway.Decision{
			Outcome: gateway.OutcomeResolved,
			Rule:    "status:mistyped",
			Reply:   fill(rp.StatusMistyped.in(lang), "tracking_code", mistyped.code),
		}, true, nil
	}
	return gateway.Decision{}, false, nil
}

// classify returns the service whose found keywords score highest, the
// first listed on a tie, or OtherService when none matches.
func (r *Router) classify(found found) string {
	best, bestScore := OtherService, 0
	for _, s := range r.rules.services {
		if n := found.score(s.keywords); n > bestScore {
			best, bestScore = s.Code, n
		}
	}
	return best
}

// open is a case_opened decision. {tracking_code} stays in the reply for
// the store to fill once the case has its code.
func (r *Router) open(code, rule, lang string) gateway.Decision {
	return gateway.Decision{
		Outcome:     gateway.OutcomeCaseOpened,
		Rule:        rule,
		Reply:       fill(r.rules.replies.CaseOpened.in(lang), "service", r.rules.serviceName(code, lang)),
		ServiceCode: code,
	}
}

func (r *Router) language(m gateway.Message, norm string) string {
	switch {
	case gateway.SupportedLanguage(m.Language):
		return m.Language
	case gateway.SupportedLanguage(m.Contact.Language):
		return m.Contact.Language
	case m.Text != "":
		return DetectLanguage(m.Text)
	default:
		return DetectLanguage(norm)
	}
}

func (r *Router) codes() []string {
	out := make([]string, len(r.rules.services))
	for i, s := range r.rules.services {
		out[i] = s.Code
	}
	return out
}

// fill replaces {name} placeholders; kv alternates names and values.
func fill(tmpl string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		tmpl = strings.ReplaceAll(tmpl, "{"+kv[i]+"}", kv[i+1])
	}
	return tmpl
}

var _ gateway.Router = (*Router)(nil)
