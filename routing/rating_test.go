package routing

import (
	"testing"

	"github.com/dargah137/dargah/gateway"
)

// A rating submitted by a portal goes to its case whatever its text says
// (a lone digit would otherwise be classified or answered as status).
func TestRatingRule(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		c := openCase(t, r, s, "چراغ کوچه خاموشه", "")
		rating := func(code, n, lang string) gateway.Decision {
			m := msg(n)
			m.ThreadKey, m.Language = "chat-1", lang
			m.Metadata = map[string]string{"kind": "rating", "tracking_code": code, "rating": n}
			d, err := r.Decide(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		for _, lang := range []string{"fa", "en", "ar"} {
			d := rating(c.TrackingCode, "4", lang)
			if d.Rule != "rating" || d.Outcome != gateway.OutcomeResolved || d.LinkedTracking != c.TrackingCode || d.Reply != ratingThanks[lang] {
				t.Errorf("%s: %+v", lang, d)
			}
		}
		for _, bad := range []struct{ code, n string }{
			{c.TrackingCode, "9"}, {c.TrackingCode, "x"}, {"123", "4"}, {"1234567890", "4"},
		} {
			d := rating(bad.code, bad.n, "fa")
			if d.Rule != "rating" || d.LinkedTracking != "" || d.Reply != ratingUnknown["fa"] {
				t.Errorf("%+v: %+v", bad, d)
			}
		}
		// Recording it links the message to the case's timeline.
		m := msg("5")
		m.Metadata = map[string]string{"kind": "rating", "tracking_code": c.TrackingCode, "rating": "5"}
		if rc := decideAndRecord(t, r, s, m); rc.Decision.LinkedTracking != c.TrackingCode {
			t.Fatalf("recorded %+v", rc.Decision)
		}
	})
}
