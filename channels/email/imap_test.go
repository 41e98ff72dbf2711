package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/dargah137/dargah/channels"
	"github.com/dargah137/dargah/gateway"
	"github.com/dargah137/dargah/internal/app/apptest"
	"github.com/dargah137/dargah/internal/testenv"
)

// The tests read mail from the throwaway Dovecot that scripts/dovecot.sh
// starts (make test runs it). Every test works in a folder of its own on
// the shared test user, so they run in parallel.

type imapAccount struct{ addr, user, password string }

func testAccount(t testing.TB) imapAccount {
	t.Helper()
	acc := imapAccount{addr: os.Getenv("TEST_IMAP_ADDR"), user: os.Getenv("TEST_IMAP_USER"), password: os.Getenv("TEST_IMAP_PASSWORD")}
	if acc.addr == "" {
		acc.addr = "127.0.0.1:10143"
	}
	if acc.user == "" {
		acc.user, acc.password = "citizen137@localhost", "test137"
	}
	return acc
}

// adminClient is the test's own IMAP connection, playing the mail server's
// delivery side (APPEND) and inspecting folders.
func adminClient(t testing.TB, acc imapAccount) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialStartTLS(acc.addr, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatalf("IMAP test server at %s is not reachable (run `bash scripts/dovecot.sh` as root, which make test does): %v", acc.addr, err)
	}
	if err := c.Login(acc.user, acc.password).Wait(); err != nil {
		c.Close()
		t.Fatalf("IMAP login as %s (run `bash scripts/dovecot.sh`): %v", acc.user, err)
	}
	t.Cleanup(func() { c.Logout().Wait(); c.Close() })
	return c
}

// testFolder creates a folder for this test and deletes it (and its
// dead-letter sibling) afterwards.
func testFolder(t testing.TB, c *imapclient.Client) string {
	t.Helper()
	name := testenv.Name("t-")
	if err := c.Create(name, nil).Wait(); err != nil {
		t.Fatalf("create folder %s: %v", name, err)
	}
	t.Cleanup(func() {
		c.Delete(name).Wait()
		c.Delete(name + "-dead").Wait()
		c.Delete(name + "-done").Wait()
	})
	return name
}

func deliver(t testing.TB, c *imapclient.Client, folder, raw string) {
	t.Helper()
	if err := tryDeliver(c, folder, raw); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
}

func tryDeliver(c *imapclient.Client, folder, raw string) error {
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

func simpleMail(from, id, text string) string {
	return "From: " + from + "\r\nTo: 137@localhost\r\nSubject: Re: test\r\nMessage-ID: <" + id + ">\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
}

// recordingIntake forwards to the real pipeline and tells the test about
// every accepted submit, so tests wait on a signal, not a clock.
type recordingIntake struct {
	channels.Intake
	mu    sync.Mutex
	count map[string]int
	ch    chan gateway.Message
}

func newRecordingIntake(in channels.Intake) *recordingIntake {
	return &recordingIntake{Intake: in, count: map[string]int{}, ch: make(chan gateway.Message, 100)}
}

func (r *recordingIntake) Submit(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	rec, err := r.Intake.Submit(ctx, m)
	if err == nil {
		r.mu.Lock()
		r.count[m.PortalMessageID]++
		r.mu.Unlock()
		r.ch <- m
	}
	return rec, err
}

func (r *recordingIntake) next(t testing.TB) gateway.Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no mail submitted within 20s")
		return gateway.Message{}
	}
}

func (r *recordingIntake) submits(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id]
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("DARGAH_TEST_VERBOSE") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startAdapter starts an email portal named portal on folder, outside the
// harness's own portals, with intake recorded.
func startAdapter(t testing.TB, h *apptest.Harness, acc imapAccount, portal, folder string, in channels.Intake, opts ...func(*Adapter)) *Adapter {
	t.Helper()
	a := New()
	a.s.IMAP, a.s.TLS, a.s.InsecureSkipVerify = acc.addr, TLSStartTLS, true
	a.s.Username, a.s.Password = acc.user, acc.password
	a.s.Folder, a.s.DeadFolder = folder, folder+"-dead"
	a.backoffMin, a.backoffMax = 20*time.Millisecond, 200*time.Millisecond
	// Only IDLE may deliver new mail in these tests, never a refresh.
	a.idleRefresh = time.Hour
	for _, o := range opts {
		o(a)
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	env := channels.Env{
		Portal: portal, Kind: "email", Logger: testLogger(t).With("portal", portal), Now: time.Now,
		Intake: in, KV: h.Store, Attachments: h.Store,
	}
	if err := a.Start(context.Background(), env); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { stopAdapter(t, a) })
	return a
}

func stopAdapter(t testing.TB, a *Adapter) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func folderUIDs(t testing.TB, c *imapclient.Client, folder string) (n uint32, flags [][]imap.Flag) {
	t.Helper()
	st, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatalf("status %s: %v", folder, err)
	}
	return *st.NumMessages, nil
}

func fetchFlags(t testing.TB, acc imapAccount, folder string) map[string][]imap.Flag {
	t.Helper()
	c := adminClient(t, acc)
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", folder, err)
	}
	out := map[string][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out // FETCH 1:* on an empty folder is a BAD command
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("fetch flags: %v", err)
	}
	for _, m := range msgs {
		out[m.Envelope.MessageID] = m.Flags
	}
	return out
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func TestIdlePicksUpNewMail(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	startAdapter(t, h, acc, folder, folder, in)

	deliver(t, admin, folder, simpleMail("a@example.com", "first-"+folder+"@example.com", "first"))
	if m := in.next(t); m.PortalMessageID != "first-"+folder+"@example.com" {
		t.Fatalf("first submit = %q", m.PortalMessageID)
	}
	// The adapter is now idling; only IDLE can bring the second mail in.
	deliver(t, admin, folder, simpleMail("b@example.com", "second-"+folder+"@example.com", "چراغ خیابان خاموش است"))
	m := in.next(t)
	if m.PortalMessageID != "second-"+folder+"@example.com" || m.Text != "چراغ خیابان خاموش است" || m.Contact.Email != "b@example.com" {
		t.Fatalf("second submit = %+v", m)
	}
	if want := ThreadKey("second-"+folder+"@example.com", "b@example.com"); m.ThreadKey != want {
		t.Errorf("thread key = %q, want %q", m.ThreadKey, want)
	}
	waitFor(t, "mail flagged processed", func() bool {
		f := fetchFlags(t, acc, folder)["second-"+folder+"@example.com"]
		return hasFlag(f, imap.FlagSeen) && hasFlag(f, Keyword)
	})
}

func TestRestartNothingTwiceNothingMissed(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	id := func(i int) string { return fmt.Sprintf("r%d-%s@example.com", i, folder) }

	a1 := startAdapter(t, h, acc, folder, folder, in)
	for i := 1; i <= 2; i++ {
		deliver(t, admin, folder, simpleMail("c@example.com", id(i), fmt.Sprintf("mail %d", i)))
		in.next(t)
	}
	stopAdapter(t, a1)
	// Delivered while no adapter runs.
	for i := 3; i <= 4; i++ {
		deliver(t, admin, folder, simpleMail("c@example.com", id(i), fmt.Sprintf("mail %d", i)))
	}
	startAdapter(t, h, acc, folder, folder, in)
	got := []string{in.next(t).PortalMessageID, in.next(t).PortalMessageID}
	if got[0] != id(3) || got[1] != id(4) {
		t.Fatalf("after restart submitted %v, want [%s %s]", got, id(3), id(4))
	}
	// One more through IDLE proves the second adapter is live, and that
	// nothing else was queued before it.
	deliver(t, admin, folder, simpleMail("c@example.com", id(5), "mail 5"))
	if m := in.next(t); m.PortalMessageID != id(5) {
		t.Fatalf("submitted %s, want %s", m.PortalMessageID, id(5))
	}
	for i := 1; i <= 5; i++ {
		if n := in.submits(id(i)); n != 1 {
			t.Errorf("%s submitted %d times", id(i), n)
		}
		if _, err := h.Store.MessageGetByPortalID(context.Background(), folder, id(i)); err != nil {
			t.Errorf("%s not in the ledger: %v", id(i), err)
		}
	}
}

func TestWindows1256Mail(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	startAdapter(t, h, acc, folder, folder, in, func(a *Adapter) { a.s.ProcessedFolder = folder + "-done" })

	deliver(t, admin, folder, windows1256Mail(t, "w-"+folder+"@example.com"))
	m := in.next(t)
	waitFor(t, "mail moved to processed_folder", func() bool {
		_, ok := fetchFlags(t, acc, folder+"-done")["w-"+folder+"@example.com"]
		return ok
	})
	if !strings.Contains(m.Text, persian1256) || !strings.HasPrefix(m.Text, "چراغ خاموش") {
		t.Errorf("text = %q", m.Text)
	}
	if m.Contact.Name != "علي رضايي" || m.Contact.Email != "ali@example.com" {
		t.Errorf("contact = %+v", m.Contact)
	}
}

func TestAutoReplyIgnored(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	startAdapter(t, h, acc, folder, folder, in)

	auto := "From: d@example.com\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <auto-" + folder + "@example.com>\r\n\r\nI am out of office\r\n"
	own := simpleMail(acc.user, "own-"+folder+"@example.com", "our own mail")
	deliver(t, admin, folder, auto)
	deliver(t, admin, folder, own)
	deliver(t, admin, folder, simpleMail("d@example.com", "human-"+folder+"@example.com", "a person"))
	if m := in.next(t); m.PortalMessageID != "human-"+folder+"@example.com" {
		t.Fatalf("submitted %s, want only the human mail", m.PortalMessageID)
	}
	flags := fetchFlags(t, acc, folder)
	for _, id := range []string{"auto-" + folder + "@example.com", "own-" + folder + "@example.com"} {
		if !hasFlag(flags[id], Keyword) {
			t.Errorf("%s not flagged processed: %v", id, flags[id])
		}
		if in.submits(id) != 0 {
			t.Errorf("%s was submitted", id)
		}
	}
}

func TestMalformedGoesToDeadLetterFolder(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	startAdapter(t, h, acc, folder, folder, in)

	bad := "From: e@example.com\r\nMessage-ID: <bad-" + folder + "@example.com>\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno parts at all\r\n"
	deliver(t, admin, folder, bad)
	deliver(t, admin, folder, simpleMail("e@example.com", "good-"+folder+"@example.com", "still running"))
	if m := in.next(t); m.PortalMessageID != "good-"+folder+"@example.com" {
		t.Fatalf("submitted %s", m.PortalMessageID)
	}
	if n, _ := folderUIDs(t, admin, folder+"-dead"); n != 1 {
		t.Errorf("dead-letter folder holds %d mails, want 1", n)
	}
	if _, ok := fetchFlags(t, acc, folder)["bad-"+folder+"@example.com"]; ok {
		t.Error("malformed mail still in the inbox folder")
	}
}

func TestReconnectWhenFolderDisappears(t *testing.T) {
	t.Parallel()
	acc := testAccount(t)
	admin := adminClient(t, acc)
	folder := testFolder(t, admin)
	h := apptest.Start(t, apptest.Options{})
	in := newRecordingIntake(h.App.Pipeline)
	// Dovecot does not always tell an idling session that its folder was
	// deleted; the adapter notices at its next refresh, made short here.
	startAdapter(t, h, acc, folder, folder, in, func(a *Adapter) { a.idleRefresh = 100 * time.Millisecond })

	deliver(t, admin, folder, simpleMail("f@example.com", "before-"+folder+"@example.com", "before"))
	in.next(t)
	if err := admin.Delete(folder).Wait(); err != nil {
		t.Fatalf("delete folder: %v", err)
	}
	if err := admin.Create(folder, nil).Wait(); err != nil {
		t.Fatalf("recreate folder: %v", err)
	}
	// Right after a recreate Dovecot may refuse an APPEND from the session
	// that deleted the folder ("Mailbox was deleted under us"); the
	// delivering side retries on a fresh connection, like a real MTA.
	after := simpleMail("f@example.com", "after-"+folder+"@example.com", "after")
	for i := 0; ; i++ {
		err := tryDeliver(admin, folder, after)
		if err == nil {
			break
		}
		if i == 20 || !strings.Contains(err.Error(), "deleted under us") {
			t.Fatalf("append to %s: %v", folder, err)
		}
		time.Sleep(50 * time.Millisecond)
		admin = adminClient(t, acc)
	}
	if m := in.next(t); m.PortalMessageID != "after-"+folder+"@example.com" {
		t.Fatalf("submitted %s", m.PortalMessageID)
	}
}

// waitFor polls cond until it holds; it fails after 20s. Used only where
// the signal is in another system (IMAP flags).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getenv(k string) string { return os.Getenv(k) }
