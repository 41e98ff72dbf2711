package smpp

import (
	"strings"
	"testing"
)

func BenchmarkSplitPersian300(b *testing.B) {
	text := persian300()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Split(text, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitGSM400(b *testing.B) {
	text := strings.Repeat("Case 137-42 {ok} ", 24)[:400]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Split(text, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeUCS2(b *testing.B) {
	enc, _ := EncodeUCS2(persian300())
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeUCS2(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSubmitPDU() *PDU {
	seg, _ := Split(persian300(), 1)
	return &PDU{Command: SubmitSM, Seq: 42, Body: &SM{Source: "137", Dest: "989121234567", DestTON: 1, DestNPI: 1,
		ESMClass: ESMClassUDHI, RegisteredDelivery: 1, DataCoding: byte(seg.Coding), ShortMessage: seg.Parts[0]}}
}

func BenchmarkEncodeSubmitSM(b *testing.B) {
	p := benchSubmitPDU()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = p.Encode(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeSubmitSM(b *testing.B) {
	raw, err := benchSubmitPDU().Encode(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePDU(raw); err != nil {
			b.Fatal(err)
		}
	}
}
