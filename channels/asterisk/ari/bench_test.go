package ari_test

import (
	"context"
	"os"
	"testing"

	"github.com/dargah137/dargah/channels/asterisk/ari"
	"github.com/dargah137/dargah/channels/asterisk/aritest"
)

func BenchmarkDecodeStasisStart(b *testing.B) {
	data, err := os.ReadFile("testdata/events/StasisStart.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ari.DecodeEvent(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChannelGet is one REST round trip over loopback HTTP to the
// double (client overhead + double, not Asterisk's speed).
func BenchmarkChannelGet(b *testing.B) {
	srv := aritest.New(b, aritest.Config{})
	c, err := ari.New(ari.Config{URL: srv.URL(), Username: srv.Username(), Password: srv.Password(), App: srv.App()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(c.Connect(ctx))
	defer c.Close()
	go func() {
		for range c.Events() {
		}
	}()
	call := srv.NewCall("0915")
	b.ReportAllocs()
	for b.Loop() {
		_, err := c.ChannelGet(ctx, call.ID())
		must(err)
	}
}

// BenchmarkEventDelivery: a DTMF digit from the double's socket to the
// client's Events channel.
func BenchmarkEventDelivery(b *testing.B) {
	srv := aritest.New(b, aritest.Config{})
	c, err := ari.New(ari.Config{URL: srv.URL(), Username: srv.Username(), Password: srv.Password(), App: srv.App()})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Connect(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	<-c.Events() // Connected
	call := srv.NewCall("0915")
	<-c.Events() // StasisStart
	b.ReportAllocs()
	for b.Loop() {
		call.SendDTMF("5")
		if _, ok := (<-c.Events()).(*ari.ChannelDtmfReceived); !ok {
			b.Fatal("unexpected event")
		}
	}
}
