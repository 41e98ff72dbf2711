package telegram

import (
	"testing"
	"time"
)

func BenchmarkPacerReserve(b *testing.B) {
	p := newPacer(time.Second, 30)
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		p.reserve(int64(i%1000), now)
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
