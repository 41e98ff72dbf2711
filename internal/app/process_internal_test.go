package app

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

type smtpBackend struct {
	mu   sync.Mutex
	from string
	to   []string
	data string
}

func (b *smtpBackend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return b, nil }
func (b *smtpBackend) Reset()                                          {}
func (b *smtpBackend) Logout() error                                   { return nil }
func (b *smtpBackend) Mail(from string, _ *gosmtp.MailOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.from = from
	return nil
}
func (b *smtpBackend) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.to = append(b.to, to)
	return nil
}
func (b *smtpBackend) Data(r io.Reader) error {
	d, err := io.ReadAll(r)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = string(d)
	return err
}

// The officials' email goes to a real SMTP server (go-smtp) as UTF-8 text
// with an encoded Persian subject.
func TestSMTPSender(t *testing.T) {
	t.Parallel()
	be := &smtpBackend{}
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	send := smtpSender(ln.Addr().String(), "dargah@mashhad.example")
	if err := send(context.Background(), "lighting.head@mashhad.example", "پرونده ۱۲۳ به شما ارجاع شد", "سلام\nکد پیگیری: 1234567890"); err != nil {
		t.Fatal(err)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.from != "dargah@mashhad.example" || len(be.to) != 1 || be.to[0] != "lighting.head@mashhad.example" ||
		!strings.Contains(be.data, "Subject: =?utf-8?q?") || !strings.Contains(be.data, "کد پیگیری: 1234567890") {
		t.Fatalf("server got from %q to %v:\n%s", be.from, be.to, be.data)
	}
	if err := smtpSender("127.0.0.1:1", "")(context.Background(), "x@y", "s", "b"); err == nil {
		t.Fatal("no error from a closed port")
	}
}
