package sms

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/channels/sms/smpp"
)

func BenchmarkWebhookParse(b *testing.B) {
	body := []byte(`{"messageid":123456789,"from":"09121234567","to":"3000137","message":"آب لوله کشی خیابان کوهسنگی از دیروز قطع است","date":1764230400}`)
	f := Fields{From: "from", To: "to", Text: "message", ID: "messageid", Timestamp: "date"}
	b.ReportAllocs()
	for b.Loop() {
		recs, err := parseBody("POST", nil, "application/json", "", body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := readIncoming(recs[0], f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKVPartStore stores the five parts of a long message and
// forgets them, over the embedded (SQLite) store's KV.
func BenchmarkKVPartStore(b *testing.B) {
	ctx := context.Background()
	st, err := casesqlite.Open(ctx, filepath.Join(b.TempDir(), "kv.db"), casesqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ps := NewKVPartStore(st, nil, "bench", "me")
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		key := fmt.Sprintf("989121234567|137|%d|5", i)
		for seq := uint8(1); seq <= 5; seq++ {
			if _, err := ps.PartPut(ctx, key, smpp.Part{From: "989121234567", To: "137", Ref: uint16(i), Total: 5, Seq: seq,
				Coding: smpp.CodingUCS2, Data: make([]byte, 134), ReceivedAt: now}); err != nil {
				b.Fatal(err)
			}
		}
		if err := ps.PartDelete(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
