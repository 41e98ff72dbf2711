package telegram

import (
	"testing"
	"time"
)

// BenchmarkPacer is one acquire and release, the pacer's cost per message.
func BenchmarkPacer(b *testing.B) {
	p := newPacer(time.Second, 30)
	now := time.Unix(1_700_000_000, 0)
	for i := 0; b.Loop(); i++ {
		now = now.Add(40 * time.Millisecond)
		chat := int64(i % 1000)
		if ok, _, _ := p.acquire(chat, now); ok {
			p.release(chat, now)
		}
	}
}

func BenchmarkDialogStep(b *testing.B) {
	d := dialog{Lang: "fa", Step: stepCollect}
	ev := txt("خیابان سناباد چاله دارد")
	for b.Loop() {
		nd, _, _ := step(d, ev)
		_ = nd
	}
}

func BenchmarkFindTrackingCode(b *testing.B) {
	for b.Loop() {
		findTrackingCode("سلام، کد پیگیری من ۱۲۳۴۵۶۷۸۹۰ است")
	}
}
