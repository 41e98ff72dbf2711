package routing

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/casepg"
	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/testenv"
)

// The router is tested against the real case stores, embedded SQLite and
// PostgreSQL: cases are opened the way the pipeline opens them
// (MessageAccept + MessageDecide), and the router's lookups run real queries.

// testStore is a case store with the verbs these tests need to set cases up.
type testStore interface {
	cases.Store
	CaseClose(ctx context.Context, caseID int64, outcome, actor string) error
}

var backends = []struct {
	name string
	open func(t testing.TB) testStore
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func openSQLite(t testing.TB) testStore {
	t.Helper()
	s, err := casesqlite.Open(t.Context(), filepath.Join(t.TempDir(), "dargah.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, s)
}

func openPostgres(t testing.TB) testStore {
	t.Helper()
	s, err := casepg.Open(t.Context(), testenv.PostgresURL(t), casepg.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, s)
}

func migrated(t testing.TB, s testStore) testStore {
	t.Helper()
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// eachBackend runs test once per case store, in parallel.
func eachBackend(t *testing.T, test func(t *testing.T, r *Router, s testStore)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t)
			test(t, New(loadShipped(t), s, Options{}), s)
		})
	}
}

var msgSeq atomic.Int64

// msg is a valid message from the "telegram-137" portal.
func msg(text string) gateway.Message {
	n := msgSeq.Add(1)
	now := time.Now()
	return gateway.Message{
		ID:              gateway.NewID(now),
		Portal:          "telegram-137",
		PortalKind:      "telegram",
		PortalMessageID: fmt.Sprintf("pm-%d-%d", now.UnixNano(), n),
		Text:            text,
		ReceivedAt:      now,
	}
}

// decideAndRecord runs the router on m and records the decision in the
// store, as the pipeline does, returning the receipt.
func decideAndRecord(t *testing.T, r *Router, s testStore, m gateway.Message) gateway.Receipt {
	t.Helper()
	ctx := t.Context()
	if _, _, err := s.MessageAccept(ctx, m); err != nil {
		t.Fatal(err)
	}
	d, err := r.Decide(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.MessageDecide(ctx, m.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// openCase opens a case through the router and store; it returns the case.
func openCase(t *testing.T, r *Router, s testStore, text, thread string) cases.Case {
	t.Helper()
	m := msg(text)
	m.ThreadKey = thread
	rc := decideAndRecord(t, r, s, m)
	if rc.Decision.Outcome != gateway.OutcomeCaseOpened || rc.Decision.TrackingCode == "" {
		t.Fatalf("opening a case for %q gave %+v", text, rc.Decision)
	}
	c, err := s.CaseGetByTracking(t.Context(), rc.Decision.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newRouter is a router over the shipped rules and an embedded store, for
// tests whose messages never reach the store or do not depend on which.
func newRouter(t testing.TB) (*Router, testStore) {
	t.Helper()
	s := openSQLite(t)
	return New(loadShipped(t), s, Options{}), s
}

func TestClassify(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t)
	tests := []struct{ text, want string }{
		// asphalt
		{"خیابان چاله داره آسفالت خراب شده", "asphalt"},
		{"سر کوچه ما یه چاله بزرگ هست ماشینا توش میفتن", "asphalt"},
		{"آسفالت بلوار وکیل آباد بعد از حفاری ترمیم نشده", "asphalt"},
		{"ترانشه‌ای که شرکت گاز زده هنوز باز مونده", "asphalt"},
		{"خيابان ما پر از چالۀ عميقه", "asphalt"}, // Arabic keyboard, heh with hamza
		// green_space
		{"درخت جلوی خونه‌مون خشک شده و ممکنه بیفته", "green_space"},
		{"چمن‌های پارک ملت آبیاری نمیشه", "green_space"},
		{"شاخه‌های درختای کوچه رو سیم برق افتاده", "green_space"},
		{"بوستان محله ما رسیدگی نمیشه", "green_space"},
		// curb_gutter
		{"جدول خیابان شکسته و ریخته تو جوی", "curb_gutter"},
		{"جوب کوچه پر شده و آب بالا زده", "curb_gutter"},
		{"کانیو جلوی مغازه‌ها خراب شده", "curb_gutter"},
		// sidewalk
		{"پیاده‌رو خیابان امام رضا موزاییک‌هاش لق شده", "sidewalk"},
		{"پیاده رو خیلی ناهمواره سالمندان زمین میخورن", "sidewalk"},
		{"سنگ فرش پیادهرو کنده شده", "sidewalk"},
		{"رمپ ویلچر جلوی بانک خراب است", "sidewalk"},
		// street_lighting
		{"چراغ‌های کوچه ما چند شبه خاموشه", "street_lighting"},
		{"لامپ تیر برق سر خیابان سوخته", "street_lighting"},
		{"کوچه خیلی تاریکه شبا میترسیم رد بشیم", "street_lighting"},
		{"روشنایی پارک کوهسنگی کمه", "street_lighting"},
		// waste_collection
		{"زباله‌های کوچه سه روزه جمع نشده", "waste_collection"},
		{"مخزن زباله پر شده و بوی بد میده", "waste_collection"},
		{"یکی نخاله ساختمانی ریخته کنار خیابون", "waste_collection"},
		{"آشغال‌ها رو گربه‌ها پخش کردن", "waste_collection"},
		// traffic
		{"چراغ راهنمایی چهارراه خیام خرابه", "traffic"},
		{"یه ماشین جلوی پارکینگ ما پارک کرده", "traffic"},
		{"خط کشی عابر پیاده جلوی مدرسه پاک شده", "traffic"},
		{"سرعت‌گیر کوچه خیلی بلنده", "traffic"},
		// other services in the shipped file
		{"بعد از بارون کوچه آبگرفتگی داره", "flooding"},
		{"سگ‌های ولگرد توی پارک به بچه‌ها حمله می‌کنن", "stray_animals"},
		{"همسایه بدون پروانه داره ساخت و ساز میکنه", "construction"},
		{"راننده اتوبوس خط ۱۲ بی احترامی کرد", "public_transport"},
		// other: nothing matches
		{"سلام وقت بخیر", "other"},
		{"از همکاری شما ممنونم", "other"},
		{"", "other"},
		// Arabic and English
		{"في الشارع حفرة كبيرة", "asphalt"},
		{"النفايات لم تجمع منذ يومين", "waste_collection"},
		{"There is a big pothole on Imam Reza street", "asphalt"},
		{"The street light in our alley is broken", "street_lighting"},
		{"Garbage has not been collected for days", "waste_collection"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			d, err := r.Decide(t.Context(), msg(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if d.Rule != "classify:"+tt.want || d.ServiceCode != tt.want || d.Outcome != gateway.OutcomeCaseOpened {
				t.Fatalf("got rule %q service %q outcome %q, want classify:%s", d.Rule, d.ServiceCode, d.Outcome, tt.want)
			}
			if !strings.Contains(d.Reply, "{tracking_code}") {
				t.Errorf("reply %q lost the {tracking_code} placeholder the store fills", d.Reply)
			}
		})
	}
}

func TestFAQ(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t)
	rules := r.Rules()
	answer := func(id, lang string) string {
		for _, q := range rules.faq {
			if q.id == id {
				return q.answer.in(lang)
			}
		}
		t.Fatalf("no faq %s", id)
		return ""
	}
	tests := []struct{ text, id, lang string }{
		{"ساعت کاری ۱۳۷ چیه؟", "hours_137", "fa"},
		{"۱۳۷ تا چه ساعتی جواب میده", "hours_137", "fa"},
		{"What are the working hours of 137?", "hours_137", "en"},
		{"عوارض نوسازی رو چطور پرداخت کنم", "pay_dues", "fa"},
		{"How do I pay my municipal dues?", "pay_dues", "en"},
		{"کیفم تو حرم گم شده", "lost_found", "fa"},
		{"فقدت حقيبتي في الحرم", "lost_found", "ar"},
		{"I lost my wallet near the shrine", "lost_found", "en"},
		{"پارکینگ نزدیک حرم کجاست", "shrine_parking", "fa"},
		{"أين أجد موقف سيارات قرب الحرم", "shrine_parking", "ar"},
		{"Where is parking near the Haram?", "shrine_parking", "en"},
		{"از فرودگاه تا حرم چطوری برم؟", "haram_guidance", "fa"},
		{"ما هو أفضل طريق إلى الحرم", "haram_guidance", "ar"},
		{"How do I get to the shrine from the railway station?", "haram_guidance", "en"},
		{"میں حرم کیسے پہنچوں؟", "haram_guidance", "ur"},
		{"بلیت اتوبوس از کجا بخرم", "transit_info", "fa"},
		{"شماره تاکسی تلفنی رو میخوام", "transit_info", "fa"},
		{"Which bus goes to the airport?", "transit_info", "en"},
		{"برای هرس درخت حیاط مجوز لازمه؟", "tree_permit", "fa"},
		{"مجوز قطع درخت چطور بگیرم", "tree_permit", "fa"},
		{"Do I need a permit to cut a tree?", "tree_permit", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			d, err := r.Decide(t.Context(), msg(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if d.Rule != "faq:"+tt.id || d.Outcome != gateway.OutcomeResolved {
				t.Fatalf("rule %q outcome %q, want faq:%s", d.Rule, d.Outcome, tt.id)
			}
			if want := answer(tt.id, tt.lang); d.Reply != want {
				t.Errorf("reply %q, want the %s answer %q", d.Reply, tt.lang, want)
			}
		})
	}
}

// persianDigits writes an ASCII number in Persian digits, as a phone keyboard does.
func persianDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + r - '0'
		}
		return r
	}, s)
}

// mistype changes the check digit, which the Verhoeff check always catches.
func mistype(code string) string {
	last := code[len(code)-1]
	return code[:len(code)-1] + string('0'+(last-'0'+1)%10)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		ctx := t.Context()
		c := openCase(t, r, s, "زباله‌های کوچه جمع نشده", "")
		code := c.TrackingCode
		spaced := code[:3] + " " + code[3:6] + "-" + code[6:]
		unknown, err := cases.NewTrackingCode()
		if err != nil {
			t.Fatal(err)
		}
		for unknown == code {
			unknown, _ = cases.NewTrackingCode()
		}

		tests := []struct {
			name, text, lang, rule, code string
			contains                     []string
		}{
			{"bare code", code, "fa", "status", code, []string{code, StatusName(cases.StatusOpen, "fa"), "پسماند"}},
			{"persian digits", "کد پیگیری " + persianDigits(code) + " چی شد؟", "fa", "status", code, []string{code}},
			{"spaces and dashes", "وضعیت درخواست " + spaced, "fa", "status", code, []string{code}},
			{"english", "What is the status of " + code + "?", "en", "status", code, []string{StatusName(cases.StatusOpen, "en"), "Waste collection"}},
			{"arabic", "ما حالة الطلب " + code + " من فضلكم", "ar", "status", code, []string{StatusName(cases.StatusOpen, "ar")}},
			{"unknown code", "پیگیری " + unknown, "fa", "status:unknown", "", []string{unknown, "پیدا نشد"}},
			{"mistyped code", "کد رهگیری " + mistype(code), "fa", "status:mistyped", "", []string{mistype(code), "اشتباه"}},
			{"mistyped bare", mistype(code), "fa", "status:mistyped", "", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				m := msg(tt.text)
				d, err := r.Decide(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				if d.Rule != tt.rule || d.Outcome != gateway.OutcomeResolved || d.TrackingCode != tt.code {
					t.Fatalf("got %+v, want rule %s code %q", d, tt.rule, tt.code)
				}
				if tt.lang != "" {
					want := r.language(m, Normalize(m.Text))
					if want != tt.lang {
						t.Errorf("language %s, want %s", want, tt.lang)
					}
				}
				for _, w := range tt.contains {
					if !strings.Contains(d.Reply, w) {
						t.Errorf("reply %q lacks %q", d.Reply, w)
					}
				}
				if strings.ContainsAny(d.Reply, "{}") {
					t.Errorf("reply %q has an unfilled placeholder", d.Reply)
				}
			})
		}

		// A number in a complaint that is no tracking code does not hijack it.
		t.Run("postal code in a complaint", func(t *testing.T) {
			t.Parallel()
			for _, n := range []string{unknown, mistype(code), "0923456781"} {
				d, err := r.Decide(ctx, msg("جلوی پلاک ۱۲ با کد پستی "+persianDigits(n)+" یه چاله بزرگ هست"))
				if err != nil {
					t.Fatal(err)
				}
				if d.Rule != "classify:asphalt" {
					t.Errorf("number %s: rule %q, want classify:asphalt", n, d.Rule)
				}
			}
		})

		// A phone number is not cut into a code.
		t.Run("phone number", func(t *testing.T) {
			t.Parallel()
			d, err := r.Decide(ctx, msg("پیگیری کنید 09151234567 شماره منه"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(d.Rule, "status") {
				t.Errorf("rule %q for a phone number", d.Rule)
			}
		})
	})
}

func TestStatusClosedCase(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		c := openCase(t, r, s, "چراغ کوچه خاموشه", "")
		if err := s.CaseClose(t.Context(), c.ID, "done", "test"); err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"fa", "en", "ar", "ur"} {
			m := msg(c.TrackingCode)
			m.Language = lang
			d, err := r.Decide(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			if d.Rule != "status" || !strings.Contains(d.Reply, StatusName(cases.StatusClosed, lang)) {
				t.Errorf("%s: %+v", lang, d)
			}
		}
	})
}

func TestThread(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		ctx := t.Context()
		c := openCase(t, r, s, "درخت کوچه ما خشک شده", "chat-42")

		m := msg("عکسش رو هم فرستادم، لطفا زودتر رسیدگی کنید")
		m.ThreadKey = "chat-42"
		rc := decideAndRecord(t, r, s, m)
		d := rc.Decision
		if d.Rule != "thread" || d.Outcome != gateway.OutcomeResolved || d.LinkedTracking != c.TrackingCode {
			t.Fatalf("follow-up decided %+v, want thread → %s", d, c.TrackingCode)
		}
		if !strings.Contains(d.Reply, c.TrackingCode) {
			t.Errorf("reply %q does not name the case", d.Reply)
		}

		// The same thread key on another portal is another conversation.
		other := msg("درخت کوچه ما خشک شده")
		other.Portal, other.ThreadKey = "bale-137", "chat-42"
		if d, err := r.Decide(ctx, other); err != nil || d.Rule != "classify:green_space" {
			t.Errorf("other portal: %+v, %v", d, err)
		}

		// Once the case is closed, the conversation starts afresh.
		if err := s.CaseClose(ctx, c.ID, "done", "test"); err != nil {
			t.Fatal(err)
		}
		again := msg("چراغ کوچه هم خاموشه")
		again.ThreadKey = "chat-42"
		if d, err := r.Decide(ctx, again); err != nil || d.Rule != "classify:street_lighting" {
			t.Errorf("after close: %+v, %v", d, err)
		}
	})
}

// TestRuleOrder gives each rule a message that the later rules would also
// take, and checks the earlier rule wins.
func TestRuleOrder(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		inThread := openCase(t, r, s, "جدول خیابان شکسته", "chat-order")
		other := openCase(t, r, s, "لامپ کوچه سوخته", "")

		// FAQ words + a service keyword + a chosen service + another case's code.
		text := "کد " + other.TrackingCode + " ساعت کاری ۱۳۷ و آسفالت خراب"
		tests := []struct {
			name, thread, service, text, rule string
		}{
			{"thread beats everything", "chat-order", "sidewalk", text, "thread"},
			{"status beats faq", "", "sidewalk", text, "status"},
			{"faq beats service code", "", "sidewalk", "ساعت کاری ۱۳۷ و آسفالت خراب", "faq:hours_137"},
			{"service code beats keywords", "", "sidewalk", "آسفالت خراب", "service_code"},
			{"keywords", "", "", "آسفالت خراب", "classify:asphalt"},
			{"unknown thread falls through", "chat-none", "", "آسفالت خراب", "classify:asphalt"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				m := msg(tt.text)
				m.ThreadKey, m.ServiceCode = tt.thread, tt.service
				d, err := r.Decide(t.Context(), m)
				if err != nil {
					t.Fatal(err)
				}
				if d.Rule != tt.rule {
					t.Fatalf("rule %q, want %q (%+v)", d.Rule, tt.rule, d)
				}
				switch tt.rule {
				case "thread":
					if d.LinkedTracking != inThread.TrackingCode {
						t.Errorf("linked %q, want %q", d.LinkedTracking, inThread.TrackingCode)
					}
				case "status":
					if d.TrackingCode != other.TrackingCode {
						t.Errorf("tracking %q, want %q", d.TrackingCode, other.TrackingCode)
					}
				case "service_code":
					if d.ServiceCode != "sidewalk" || d.Outcome != gateway.OutcomeCaseOpened {
						t.Errorf("got %+v", d)
					}
				}
			})
		}
	})
}

func TestServiceCode(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		m := msg("")
		m.Location = &gateway.Location{Lat: 36.2880, Long: 59.6157}
		m.ServiceCode = "street_lighting"
		rc := decideAndRecord(t, r, s, m)
		if rc.Decision.Rule != "service_code" || rc.Decision.ServiceCode != "street_lighting" {
			t.Fatalf("got %+v", rc.Decision)
		}
		if !strings.Contains(rc.Decision.Reply, rc.Decision.TrackingCode) || strings.Contains(rc.Decision.Reply, "{") {
			t.Errorf("store did not fill the code into %q", rc.Decision.Reply)
		}

		m = msg("چاله")
		m.ServiceCode = "potholes"
		_, err := r.Decide(t.Context(), m)
		if !errors.Is(err, ErrUnknownService) || !gateway.IsPermanent(err) || !strings.Contains(err.Error(), `"potholes"`) {
			t.Errorf("unknown service code: err = %v", err)
		}
	})
}

func TestLookupErrorIsRetryable(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		s.Close() // every query now fails, as with a database that went away
		code, err := cases.NewTrackingCode()
		if err != nil {
			t.Fatal(err)
		}
		inThread := msg("چاله")
		inThread.ThreadKey = "chat-1"
		for _, m := range []gateway.Message{inThread, msg("پیگیری " + code)} {
			_, err := r.Decide(t.Context(), m)
			if err == nil || gateway.IsPermanent(err) {
				t.Errorf("%q: err = %v, want a retryable error", m.Text, err)
			}
		}
	})
}

func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t)
	rules := r.Rules()
	tests := []struct {
		name, text, msgLang, contactLang, want string
	}{
		{"message language wins", "چاله", "en", "ar", "en"},
		{"then the contact's", "چاله", "", "ar", "ar"},
		{"then detection", "pothole here", "", "", "en"},
		{"unsupported is ignored", "الشارع فيه حفرة", "", "de", "ar"},
		{"urdu", "چاله", "ur", "", "ur"},
		{"urdu from detection", "سڑک پر چاله ہے", "", "", "ur"},
	}
	for _, tt := range tests {
		m := msg(tt.text)
		m.Language, m.Contact.Language = tt.msgLang, tt.contactLang
		d, err := r.Decide(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		want := fill(rules.replies.CaseOpened.in(tt.want), "service", rules.serviceName("asphalt", tt.want))
		if d.Reply != want {
			t.Errorf("%s: reply %q, want %q", tt.name, d.Reply, want)
		}
	}
}

func TestDecideUsesNormalizedTextAndKeepsMessage(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t)
	m := msg("this text is ignored")
	m.NormalizedText = Normalize("چراغ کوچه خاموشه")
	m.Metadata = map[string]string{"k": "v"}
	m.Attachments = []gateway.Attachment{{ID: "a1", ContentType: "image/jpeg", Size: 1}}
	before := m
	before.Metadata = map[string]string{"k": "v"}
	before.Attachments = []gateway.Attachment{{ID: "a1", ContentType: "image/jpeg", Size: 1}}
	d, err := r.Decide(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rule != "classify:street_lighting" {
		t.Errorf("rule %q: NormalizedText was not used", d.Rule)
	}
	if !reflect.DeepEqual(m, before) {
		t.Errorf("message changed: %+v", m)
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t)
	svcs := r.Services()
	if len(svcs) < 8 || svcs[len(svcs)-1].Code != OtherService {
		t.Fatalf("Services() = %d services, last %q", len(svcs), svcs[len(svcs)-1].Code)
	}
	svcs[0].Name["fa"] = "x"
	if r.Services()[0].Name["fa"] == "x" {
		t.Error("Services() shares maps with the rules")
	}
}

func TestStatusName(t *testing.T) {
	t.Parallel()
	all := []cases.Status{cases.StatusOpen, cases.StatusAssigned, cases.StatusAnswered, cases.StatusVerified,
		cases.StatusWaiting, cases.StatusFollowUp, cases.StatusClosed}
	for _, st := range all {
		seen := map[string]bool{}
		for _, lang := range []string{"fa", "en", "ar", "ur"} {
			n := StatusName(st, lang)
			if n == "" || seen[n] {
				t.Errorf("StatusName(%s, %s) = %q", st, lang, n)
			}
			seen[n] = true
		}
		if StatusName(st, "de") != StatusName(st, "fa") {
			t.Errorf("StatusName(%s, de) does not fall back to fa", st)
		}
	}
	if got := StatusName("archived", "fa"); got != "archived" {
		t.Errorf("unknown status: %q", got)
	}
}

var (
	_ CaseLookup = (*casepg.Store)(nil)
	_ CaseLookup = (*casesqlite.Store)(nil)
)

// BenchmarkDecide routes a realistic mix of messages: keyword
// classification and FAQ answers, which is most of the traffic and never
// touches the store. Text arrives unnormalized, so Normalize is included.
func BenchmarkDecide(b *testing.B) {
	r := New(loadShipped(b), openSQLite(b), Options{})
	texts := []string{
		"سلام، خیابان ما چاله داره آسفالتش خراب شده لطفا رسیدگی کنید",
		"زباله‌های کوچه سه روزه جمع نشده و بوی بدش همه جا رو برداشته",
		"چراغ‌های کوچه ما چند شبه خاموشه و خیلی تاریکه",
		"درخت جلوی خونه‌مون خشک شده و ممکنه بیفته روی ماشین‌ها",
		"ساعت کاری ۱۳۷ چیه؟",
		"پارکینگ نزدیک حرم کجاست؟",
		"أين أجد موقف سيارات قرب الحرم",
		"There is a big pothole on Imam Reza street",
		"سلام وقت بخیر، ممنون از پیگیری‌هاتون",
		"پیاده‌رو خیابان امام رضا موزاییک‌هاش لق شده و سالمندان زمین میخورن",
	}
	msgs := make([]gateway.Message, len(texts))
	for i, tx := range texts {
		msgs[i] = msg(tx)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := r.Decide(ctx, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// The shipped questions are listed in config order, and picking one
// answers it even where its text would not match, and even in a
// conversation that has an open case.
func TestFAQMenu(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, r *Router, s testStore) {
		faqs := r.FAQs()
		if len(faqs) < 6 || faqs[0].ID != "tracking_help" {
			t.Fatalf("FAQs() = %+v, want the shipped questions from tracking_help on", faqs)
		}
		for _, f := range faqs {
			if f.In("fa") == "" || f.In("en") == "" || f.In("ur") == "" {
				t.Errorf("question %s lacks a language: %v", f.ID, f.Question)
			}
		}
		faqs[0].Question["fa"] = "x"
		if r.FAQs()[0].Question["fa"] == "x" {
			t.Error("FAQs() shares maps with the rules")
		}

		c := openCase(t, r, s, "درخت کوچه ما خشک شده", "chat-77")
		m := msg(faqs[1].In("fa"))
		m.ThreadKey, m.Metadata = "chat-77", map[string]string{"faq": faqs[1].ID}
		d, err := r.Decide(t.Context(), m)
		if err != nil || d.Rule != "faq:"+faqs[1].ID || d.Outcome != gateway.OutcomeResolved || d.LinkedTracking != "" || d.Reply == "" {
			t.Errorf("picked %s in a thread with case %s: %+v, %v; want its answer", faqs[1].ID, c.TrackingCode, d, err)
		}
		m = msg("سلام")
		m.Metadata = map[string]string{"faq": "removed_since"}
		if d, err := r.Decide(t.Context(), m); err != nil || strings.HasPrefix(d.Rule, "faq:") {
			t.Errorf("unknown pick: %+v, %v; want the text routed as usual", d, err)
		}
	})
}
