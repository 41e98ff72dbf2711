package smpp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dargah137/dargah/channels/sms/smpp"
	"github.com/dargah137/dargah/channels/sms/smpp/smsctest"
)

func persian300() string {
	base := "سلام، چراغ خیابان امام رضا ۱۲ روشن نمی‌شود. لطفاً پیگیری کنید. "
	var sb strings.Builder
	for utf8.RuneCountInString(sb.String()) < 300 {
		sb.WriteString(base)
	}
	return string([]rune(sb.String())[:300])
}

// testCtx bounds a test's waiting; nothing here should take more than a
// few seconds.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func baseConfig(s *smsctest.Server) smpp.Config {
	return smpp.Config{
		Addr:                s.Addr(),
		SystemID:            "dargah",
		Password:            "secret",
		SourceAddr:          "137",
		DestTON:             1,
		DestNPI:             1,
		EnquireLinkInterval: time.Hour,
		RequestTimeout:      5 * time.Second,
		ReconnectMin:        2 * time.Millisecond,
		ReconnectMax:        20 * time.Millisecond,
		RetryMin:            time.Millisecond,
		RetryMax:            10 * time.Millisecond,
	}
}

// pair starts a double and a client bound to it.
func pair(t *testing.T, mutate func(*smpp.Config)) (*smsctest.Server, *smpp.Client) {
	t.Helper()
	s := smsctest.New(t, smsctest.Config{})
	cfg := baseConfig(s)
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := smpp.Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, c
}

func TestSubmitLongPersian(t *testing.T) {
	t.Parallel()
	s, c := pair(t, nil)
	ctx := testCtx(t)
	text := persian300()
	ids, err := c.Submit(ctx, "989121234567", text)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 5 {
		t.Fatalf("%d ids, want 5", len(ids))
	}
	msgs, err := s.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Text != text || m.Coding != smpp.CodingUCS2 || len(m.Parts) != 5 || m.To != "989121234567" || m.From != "137" {
		t.Fatalf("submitted %+v", m)
	}
	for i := range ids {
		if ids[i] != m.IDs[i] {
			t.Fatalf("ids %v, double gave %v", ids, m.IDs)
		}
	}

	// Short Latin text goes as one GSM part.
	if ids, err := c.Submit(ctx, "989121234567", "Case 137-42 {closed} €0"); err != nil || len(ids) != 1 {
		t.Fatalf("latin: %v %v", ids, err)
	}
	msgs, err = s.WaitMessages(ctx, 2)
	if err != nil || msgs[1].Coding != smpp.CodingDefault || msgs[1].Text != "Case 137-42 {closed} €0" {
		t.Fatalf("latin submitted %+v %v", msgs, err)
	}
}

func TestIncomingOutOfOrder(t *testing.T) {
	t.Parallel()
	got := make(chan smpp.Incoming, 10)
	s, _ := pair(t, func(c *smpp.Config) {
		c.OnMessage = func(_ context.Context, m smpp.Incoming) error { got <- m; return nil }
	})
	ctx := testCtx(t)
	text := persian300()
	for _, o := range []smsctest.MOOptions{
		{Order: []int{3, 5, 1, 4, 2}, Ref: 200},
		{Order: []int{5, 4, 3, 2, 1}, Ref: 0xBEEF, Ref16: true},
		{Order: []int{2, 1, 3, 5, 4}, Ref: 0x1234, SAR: true},
	} {
		if err := s.SendMO(ctx, "989121234567", "137", text, o); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m.Text != text || m.From != "989121234567" || m.To != "137" || len(m.PartsIDs) != 5 || m.Partial || m.ReceivedAt.IsZero() {
				t.Fatalf("%+v: got %+v", o, m)
			}
		case <-ctx.Done():
			t.Fatalf("%+v: no message", o)
		}
		select {
		case m := <-got:
			t.Fatalf("second message %+v", m)
		default:
		}
	}
	if err := s.SendMO(ctx, "989121234567", "137", "salam", smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.Text != "salam" {
		t.Fatalf("single: %+v", m)
	}
}

func TestIncomingHandlerErrorIsRetried(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	fail := true
	got := make(chan smpp.Incoming, 1)
	s, _ := pair(t, func(c *smpp.Config) {
		c.OnMessage = func(_ context.Context, m smpp.Incoming) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				fail = false
				return errors.New("intake down")
			}
			got <- m
			return nil
		}
	})
	ctx := testCtx(t)
	pdus, err := smsctest.MOParts("989121234567", "137", persian300(), smsctest.MOOptions{Ref: 9})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pdus {
		r, err := s.Send(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		want := smpp.StatusOK
		if i == len(pdus)-1 {
			want = smpp.StatusRxTAppn // the hand-off failed: SMSC must retry
		}
		if r.Status != want {
			t.Fatalf("part %d answered %s, want %s", i+1, r.Status, want)
		}
	}
	// The SMSC redelivers the last part; the stored parts complete it.
	last := pdus[len(pdus)-1]
	if r, err := s.Send(ctx, last); err != nil || r.Status != smpp.StatusOK {
		t.Fatalf("redelivery: %v %v", r, err)
	}
	if m := <-got; m.Text != persian300() {
		t.Fatalf("got %q", m.Text)
	}
}

func TestDeliveryReceipt(t *testing.T) {
	t.Parallel()
	got := make(chan smpp.Receipt, 1)
	s, c := pair(t, func(c *smpp.Config) {
		c.OnReceipt = func(_ context.Context, r smpp.Receipt) error { got <- r; return nil }
	})
	ctx := testCtx(t)
	ids, err := c.Submit(ctx, "989121234567", "Your case 137-42 was answered.")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitMessages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SendReceipt(ctx, ids[0], "DELIVRD", smpp.StateDelivered); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.MessageID != ids[0] || r.Stat != "DELIVRD" || !r.Delivered() || r.From != "989121234567" ||
		r.Sub != 1 || r.Dlvrd != 1 || r.DoneDate.IsZero() || !strings.HasPrefix(r.Text, "Your case") {
		t.Fatalf("receipt %+v", r)
	}
}

func TestReconnectKeepsQueuedSubmits(t *testing.T) {
	t.Parallel()
	s, c := pair(t, nil)
	ctx := testCtx(t)

	// A submit in flight when the link drops is sent again on the new link.
	s.Hold()
	type result struct {
		ids []string
		err error
	}
	res := make(chan result, 1)
	go func() {
		ids, err := c.Submit(ctx, "989121234567", "in flight")
		res <- result{ids, err}
	}()
	if err := s.WaitStats(ctx, "a held submit", func(st smsctest.Stats) bool { return st.Outstanding == 1 }); err != nil {
		t.Fatal(err)
	}
	s.DropAll() // the held response is lost with the link
	if err := s.WaitStats(ctx, "rebind and resend", func(st smsctest.Stats) bool { return st.Binds >= 2 && st.Outstanding == 1 }); err != nil {
		t.Fatal(err)
	}
	s.Release()
	r := <-res
	if r.err != nil || len(r.ids) != 1 {
		t.Fatalf("in-flight submit: %v %v", r.ids, r.err)
	}
	if msgs := s.Messages(); len(msgs) != 1 || msgs[0].Text != "in flight" || msgs[0].IDs[0] != r.ids[0] {
		t.Fatalf("messages %+v", msgs)
	}

	// Submits made while the link is down wait for it to come back.
	s.RefuseBinds(true)
	before := s.Stats().RefusedBinds
	s.DropAll()
	if err := s.WaitStats(ctx, "a refused bind", func(st smsctest.Stats) bool { return st.RefusedBinds > before }); err != nil {
		t.Fatal(err)
	}
	results := make(chan result, 3)
	for i := range 3 {
		go func() {
			ids, err := c.Submit(ctx, "98912123456"+string(rune('0'+i)), persian300())
			results <- result{ids, err}
		}()
	}
	s.RefuseBinds(false)
	for range 3 {
		r := <-results
		if r.err != nil || len(r.ids) != 5 {
			t.Fatalf("queued submit: %v %v", r.ids, r.err)
		}
	}
	msgs, err := s.WaitMessages(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	texts := 0
	for _, m := range msgs {
		if m.Text == persian300() {
			texts++
		}
	}
	if texts != 3 {
		for _, m := range msgs {
			t.Logf("%s %d parts %q", m.To, len(m.Parts), m.Text)
		}
		t.Fatalf("%d long messages reached the SMSC, want 3", texts)
	}

	// While the link is down, a submit is bounded by its context.
	s.RefuseBinds(true)
	before = s.Stats().RefusedBinds
	s.DropAll()
	if err := s.WaitStats(ctx, "a refused bind", func(st smsctest.Stats) bool { return st.RefusedBinds > before }); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Submit(short, "989121234567", "never"); !errors.Is(err, context.Canceled) {
		t.Fatalf("submit with link down and ctx canceled: %v", err)
	}
	s.RefuseBinds(false)
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	s, c := pair(t, nil)
	ctx := testCtx(t)
	s.Throttle(2, smpp.StatusThrottled)
	if _, err := c.Submit(ctx, "989121234567", "one"); err != nil {
		t.Fatal(err)
	}
	s.Throttle(2, smpp.StatusMsgQFul)
	if _, err := c.Submit(ctx, "989121234567", "two"); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Submits != 6 {
		t.Fatalf("%d submit_sm seen, want 6 (2 accepted, 4 throttled)", st.Submits)
	}
	// Throttled beyond MaxRetries: the error says why.
	s2, c3 := pair(t, func(c *smpp.Config) { c.MaxRetries = 1 })
	s2.Throttle(5, smpp.StatusThrottled)
	if _, err := c3.Submit(ctx, "989121234567", "x"); !errors.Is(err, smpp.StatusThrottled) {
		t.Fatalf("over max retries: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s, c := pair(t, func(c *smpp.Config) { c.Rate = 1000; c.Burst = 2 })
	ctx := testCtx(t)
	if _, err := c.Submit(ctx, "989121234567", persian300()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitMessages(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestWindowLimit(t *testing.T) {
	t.Parallel()
	s, c := pair(t, func(c *smpp.Config) { c.WindowSize = 2 })
	ctx := testCtx(t)
	s.Hold()
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			_, err := c.Submit(ctx, "989121234567", "window")
			errs <- err
		}()
	}
	if err := s.WaitStats(ctx, "a full window", func(st smsctest.Stats) bool { return st.Outstanding == 2 }); err != nil {
		t.Fatal(err)
	}
	if n := c.Outstanding(); n != 2 {
		t.Fatalf("client has %d outstanding", n)
	}
	for range 3 {
		// Answer what is held; the next two come in and are held again.
		s.Release()
		s.Hold()
		if err := s.WaitStats(ctx, "next window", func(st smsctest.Stats) bool { return st.Outstanding == 2 || st.Submits == 6 }); err != nil {
			t.Fatal(err)
		}
	}
	s.Release()
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.MaxOutstanding != 2 || st.Submits != 6 {
		t.Fatalf("stats %+v: window of 2 not respected", st)
	}
}

func TestEnquireLink(t *testing.T) {
	t.Parallel()
	s, _ := pair(t, func(c *smpp.Config) { c.EnquireLinkInterval = 5 * time.Millisecond })
	ctx := testCtx(t)
	if err := s.WaitStats(ctx, "enquire_links", func(st smsctest.Stats) bool { return st.EnquireLinks >= 3 }); err != nil {
		t.Fatal(err)
	}
	// The SMSC's own enquire_link is answered.
	r, err := s.Send(ctx, &smpp.PDU{Command: smpp.EnquireLink})
	if err != nil || r.Command != smpp.EnquireLinkResp || r.Status != smpp.StatusOK {
		t.Fatalf("enquire_link from smsc: %+v %v", r, err)
	}
}

func TestUnbind(t *testing.T) {
	t.Parallel()
	s := smsctest.New(t, smsctest.Config{})
	ctx := testCtx(t)
	c, err := smpp.Dial(ctx, baseConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	// SMSC-initiated unbind: answered, then the client binds again.
	r, err := s.Send(ctx, &smpp.PDU{Command: smpp.Unbind})
	if err != nil || r.Command != smpp.UnbindResp {
		t.Fatalf("unbind from smsc: %+v %v", r, err)
	}
	if err := s.WaitStats(ctx, "rebind", func(st smsctest.Stats) bool { return st.Binds == 2 }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, "989121234567", "after rebind"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Unbinds != 1 {
		t.Fatalf("%d unbinds", st.Unbinds)
	}
	if _, err := c.Submit(ctx, "989121234567", "after close"); !errors.Is(err, smpp.ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if err := s.WaitStats(ctx, "no connections", func(st smsctest.Stats) bool { return st.Conns == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestGenericNackForUnknownCommand(t *testing.T) {
	t.Parallel()
	s, _ := pair(t, nil)
	ctx := testCtx(t)
	r, err := s.Send(ctx, &smpp.PDU{Command: 0x00000103}) // data_sm, which we do not speak
	if err != nil {
		t.Fatal(err)
	}
	if r.Command != smpp.GenericNack || r.Status != smpp.StatusInvCmdID {
		t.Fatalf("got %s %s", r.Command, r.Status)
	}
}

func TestMalformedPDUsFromSMSC(t *testing.T) {
	t.Parallel()
	s, c := pair(t, nil)
	ctx := testCtx(t)
	pdu := func(cmd uint32, seq uint32, body ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(16+len(body)))
		b = binary.BigEndian.AppendUint32(b, cmd)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, seq)
		return append(b, body...)
	}
	tests := []struct {
		name   string
		raw    []byte
		status smpp.Status
	}{
		{"deliver_sm truncated", pdu(5, 9001, 0, 1, 1, '9', 0), smpp.StatusInvCmdLen},
		{"deliver_sm sm_length past end", pdu(5, 9002, append(make([]byte, 16), 200, 'x')...), smpp.StatusInvMsgLen},
		{"enquire_link with body", pdu(0x15, 9003, 1, 2, 3), smpp.StatusInvCmdLen},
		{"deliver_sm bad TLV", pdu(5, 9004, append(make([]byte, 17), 0x04, 0x27, 0, 9)...), smpp.StatusInvOptParStream},
	}
	for _, tc := range tests {
		r, err := s.SendRaw(ctx, tc.raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Command != smpp.GenericNack || r.Status != tc.status || r.Seq != binary.BigEndian.Uint32(tc.raw[12:]) {
			t.Fatalf("%s: got %s %s seq %d", tc.name, r.Command, r.Status, r.Seq)
		}
	}
	// Undecodable UCS-2 in a well-formed deliver_sm is refused for good.
	bad := &smpp.SM{Source: "989121234567", Dest: "137", DataCoding: byte(smpp.CodingUCS2), ShortMessage: []byte{0xD8, 0x3D}}
	if r, err := s.Send(ctx, &smpp.PDU{Command: smpp.DeliverSM, Body: bad}); err != nil || r.Status != smpp.StatusRxPAppn {
		t.Fatalf("lone surrogate: %+v %v", r, err)
	}
	// A command_length that cannot be trusted ends the session; the
	// client binds again and keeps working.
	huge := pdu(5, 9005)
	binary.BigEndian.PutUint32(huge, 0x7FFFFFFF)
	r, err := s.SendRaw(ctx, huge)
	if err != nil || r.Command != smpp.GenericNack || r.Status != smpp.StatusInvCmdLen {
		t.Fatalf("huge length: %+v %v", r, err)
	}
	if err := s.WaitStats(ctx, "rebind", func(st smsctest.Stats) bool { return st.Binds == 2 }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, "989121234567", "still alive"); err != nil {
		t.Fatal(err)
	}
}

func TestBindRejected(t *testing.T) {
	t.Parallel()
	s := smsctest.New(t, smsctest.Config{})
	cfg := baseConfig(s)
	cfg.Password = "wrong"
	_, err := smpp.Dial(testCtx(t), cfg)
	if !errors.Is(err, smpp.StatusInvPaswd) {
		t.Fatalf("dial with wrong password: %v", err)
	}
	if _, err := smpp.NewClient(smpp.Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
}

func TestReceiverTransmitterMode(t *testing.T) {
	t.Parallel()
	got := make(chan smpp.Incoming, 1)
	s, c := pair(t, func(c *smpp.Config) {
		c.BindMode = smpp.ModeReceiverTransmitter
		c.OnMessage = func(_ context.Context, m smpp.Incoming) error { got <- m; return nil }
	})
	ctx := testCtx(t)
	if st := s.Stats(); st.Binds != 2 {
		t.Fatalf("%d binds, want 2", st.Binds)
	}
	if _, err := c.Submit(ctx, "989121234567", persian300()); err != nil {
		t.Fatal(err)
	}
	if err := s.SendMO(ctx, "989121234567", "137", "سلام", smsctest.MOOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.Text != "سلام" {
		t.Fatalf("got %q", m.Text)
	}
}

func TestIncompleteMessageFlushed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	got := make(chan smpp.Incoming, 1)
	s, c := pair(t, func(c *smpp.Config) {
		c.ReassemblyTimeout = time.Hour
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		c.OnMessage = func(_ context.Context, m smpp.Incoming) error { got <- m; return nil }
	})
	ctx := testCtx(t)
	pdus, err := smsctest.MOParts("989121234567", "137", persian300(), smsctest.MOOptions{Ref: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pdus[:3] {
		if _, err := s.Send(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if err := c.FlushExpired(ctx); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if !m.Partial || len(m.PartsIDs) != 3 || !strings.HasPrefix(m.Text, persian300()[:100]) {
		t.Fatalf("partial %+v", m)
	}
}

// BenchmarkSubmitLoopback measures Submit of a one-part message through a
// bound session to the double on loopback (window 10, parallel callers).
func BenchmarkSubmitLoopback(b *testing.B) {
	s := smsctest.New(b, smsctest.Config{})
	cfg := baseConfig(s)
	cfg.WindowSize = 10
	ctx := context.Background()
	c, err := smpp.Dial(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Submit(ctx, "989121234567", "Your case 137-42 was answered."); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	s, c := pair(t, func(c *smpp.Config) { c.RequestTimeout = 10 * time.Millisecond; c.MaxRetries = 2 })
	ctx := testCtx(t)
	s.Hold()
	if _, err := c.Submit(ctx, "989121234567", "nobody answers"); !errors.Is(err, smpp.ErrTimeout) {
		t.Fatalf("got %v, want a timeout", err)
	}
	if st := s.Stats(); st.Submits != 3 {
		t.Fatalf("%d submit_sm sent, want 1 + 2 retries", st.Submits)
	}
	s.Release() // late answers match nothing and are dropped
	if _, err := c.Submit(ctx, "989121234567", "answered"); err != nil {
		t.Fatal(err)
	}
}

func TestIncomingMessagePayload(t *testing.T) {
	t.Parallel()
	got := make(chan smpp.Incoming, 1)
	s, _ := pair(t, func(c *smpp.Config) {
		c.OnMessage = func(_ context.Context, m smpp.Incoming) error { got <- m; return nil }
	})
	ctx := testCtx(t)
	enc, err := smpp.EncodeUCS2(persian300())
	if err != nil {
		t.Fatal(err)
	}
	sm := &smpp.SM{Source: "989121234567", Dest: "137", DataCoding: byte(smpp.CodingUCS2)}
	sm.TLVs.Set(smpp.TagMessagePayload, enc)
	if r, err := s.Send(ctx, &smpp.PDU{Command: smpp.DeliverSM, Body: sm}); err != nil || r.Status != smpp.StatusOK {
		t.Fatalf("%+v %v", r, err)
	}
	if m := <-got; m.Text != persian300() || len(m.PartsIDs) != 1 {
		t.Fatalf("got %+v", m)
	}
}
