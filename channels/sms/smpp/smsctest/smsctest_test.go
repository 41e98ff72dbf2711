package smsctest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/sms/smpp"
)

// recordingTB catches the double's test failures so a test can check that
// bad client behaviour is reported.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// rawClient speaks to the double with hand-made PDUs.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, s *Server) *rawClient {
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *rawClient) send(p *smpp.PDU) *smpp.PDU {
	c.t.Helper()
	b, err := p.Encode(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.sendRaw(b)
}

func (c *rawClient) sendRaw(b []byte) *smpp.PDU {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
	p, err := smpp.ReadPDU(c.r, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

func TestDoubleChecksBind(t *testing.T) {
	t.Parallel()
	s := New(t, Config{SystemID: "a", Password: "b"})
	c := dialRaw(t, s)
	r := c.send(&smpp.PDU{Command: smpp.BindTransceiver, Seq: 1, Body: &smpp.Bind{SystemID: "a", Password: "x", InterfaceVersion: 0x34}})
	if r.Status != smpp.StatusInvPaswd {
		t.Fatalf("wrong password: %s", r.Status)
	}
	r = c.send(&smpp.PDU{Command: smpp.BindTransceiver, Seq: 2, Body: &smpp.Bind{SystemID: "z", Password: "b", InterfaceVersion: 0x34}})
	if r.Status != smpp.StatusInvSysID {
		t.Fatalf("wrong system_id: %s", r.Status)
	}
	r = c.send(&smpp.PDU{Command: smpp.BindTransmitter, Seq: 3, Body: &smpp.Bind{SystemID: "a", Password: "b", InterfaceVersion: 0x34}})
	if r.Status != smpp.StatusOK || r.Command != smpp.BindTransmitterResp {
		t.Fatalf("bind: %s %s", r.Command, r.Status)
	}
	seg, _ := smpp.Split("hello", 0)
	r = c.send(&smpp.PDU{Command: smpp.SubmitSM, Seq: 4, Body: &smpp.SM{Dest: "1", RegisteredDelivery: 1, ShortMessage: seg.Parts[0]}})
	if r.Status != smpp.StatusOK || r.Body.(*smpp.SMResp).MessageID == "" {
		t.Fatalf("submit: %+v", r)
	}
	msgs, err := s.WaitMessages(context.Background(), 1)
	if err != nil || msgs[0].Text != "hello" {
		t.Fatalf("%+v %v", msgs, err)
	}
}

func TestDoubleFailsTestOnMalformedPDU(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	s := New(rec, Config{})
	c := dialRaw(t, s)
	// enquire_link with a stray body octet.
	r := c.sendRaw([]byte{0, 0, 0, 17, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	if r.Command != smpp.GenericNack {
		t.Fatalf("got %s", r.Command)
	}
	if len(rec.failures()) != 1 {
		t.Fatalf("failures %q", rec.failures())
	}
	// A submit_sm that cuts a surrogate pair, and one without a receipt
	// requested, are reported too.
	c.send(&smpp.PDU{Command: smpp.BindTransceiver, Seq: 2, Body: &smpp.Bind{SystemID: "dargah", Password: "secret", InterfaceVersion: 0x34}})
	r = c.send(&smpp.PDU{Command: smpp.SubmitSM, Seq: 3, Body: &smpp.SM{Dest: "1", RegisteredDelivery: 1, DataCoding: 8, ShortMessage: []byte{0xD8, 0x3D}}})
	if r.Status == smpp.StatusOK {
		t.Fatal("cut surrogate accepted")
	}
	r = c.send(&smpp.PDU{Command: smpp.SubmitSM, Seq: 4, Body: &smpp.SM{Dest: "1", ShortMessage: []byte("hi")}})
	if r.Status == smpp.StatusOK {
		t.Fatal("submit without receipt accepted")
	}
	if n := len(rec.failures()); n != 3 {
		t.Fatalf("failures %q", rec.failures())
	}
}
