package ari_test

import (
	"context"
	"log/slog"

	"github.com/dargah137/dargah/channels/asterisk/ari"
)

// A minimal IVR loop: answer each call, greet it in Persian, and rebuild
// state whenever the event socket comes back.
func Example() {
	ctx := context.Background()
	c, err := ari.New(ari.Config{URL: "http://127.0.0.1:8088", Username: "dargah", Password: "secret", App: "dargah"})
	if err != nil {
		panic(err)
	}
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Close()
	for ev := range c.Events() {
		switch e := ev.(type) {
		case *ari.StasisStart:
			_ = c.ChannelAnswer(ctx, e.Channel.ID)
			_, _ = c.ChannelPlay(ctx, e.Channel.ID, ari.PlayRequest{Media: []string{"sound:welcome"}, Lang: "fa"})
		case *ari.ChannelDtmfReceived:
			slog.Info("digit", "channel", e.Channel.ID, "digit", e.Digit, "server", e.Server)
		case *ari.Reconnected:
			st, err := c.Snapshot(ctx)
			if err == nil {
				slog.Info("rebuilt", "channels", len(st.Channels), "bridges", len(st.Bridges))
			}
		case *ari.UnknownEvent:
			slog.Debug("unmodelled event", "type", e.Type)
		}
	}
}
