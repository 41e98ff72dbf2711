package smpp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden encodings written by hand from SMPP 3.4 §3.2 and §4, so codec
// bugs cannot cancel out between encoder and decoder.
func TestPDUGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pdu  PDU
		hex  string
	}{
		{"enquire_link", PDU{Command: EnquireLink, Seq: 7},
			"00000010 00000015 00000000 00000007"},
		{"generic_nack", PDU{Command: GenericNack, Status: StatusInvCmdID, Seq: 9},
			"00000010 80000000 00000003 00000009"},
		{"bind_transceiver", PDU{Command: BindTransceiver, Seq: 1, Body: &Bind{SystemID: "ab", Password: "pw", InterfaceVersion: 0x34}},
			"0000001b 00000009 00000000 00000001" + "616200 707700 00 34 00 00 00"},
		{"bind_transceiver_resp", PDU{Command: BindTransceiverResp, Seq: 1, Body: &BindResp{SystemID: "S", TLVs: TLVs{{Tag: TagSCInterfaceVersion, Value: []byte{0x34}}}}},
			"00000017 80000009 00000000 00000001" + "5300 0210 0001 34"},
		{"submit_sm", PDU{Command: SubmitSM, Seq: 2, Body: &SM{Source: "137", Dest: "98912", DestTON: 1, DestNPI: 1, RegisteredDelivery: 1, DataCoding: 8, ShortMessage: []byte{0x06, 0x33}}},
			"0000002b 00000004 00000000 00000002" +
				"00" + "00 00 31333700" + "01 01 393839313200" + "00 00 00" + "00 00" + "01 00 08 00" + "02 0633"},
		{"submit_sm_resp", PDU{Command: SubmitSMResp, Seq: 2, Body: &SMResp{MessageID: "A1"}},
			"00000013 80000004 00000000 00000002 413100"},
		{"submit_sm_resp error without body", PDU{Command: SubmitSMResp, Status: StatusThrottled, Seq: 3},
			"00000010 80000004 00000058 00000003"},
		{"deliver_sm with TLVs", PDU{Command: DeliverSM, Seq: 4, Body: &SM{Source: "1", Dest: "2", ESMClass: 4,
			TLVs: TLVs{{Tag: TagReceiptedMessageID, Value: []byte("X\x00")}, {Tag: TagMessageState, Value: []byte{2}}}}},
			"0000002e 00000005 00000000 00000004" +
				"00" + "00 00 3100" + "00 00 3200" + "04 00 00" + "00 00" + "00 00 00 00" + "00" +
				"001e 0002 5800" + "0427 0001 02"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := mustHex(t, tc.hex)
			got, err := tc.pdu.Encode(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encode:\n got %x\nwant %x", got, want)
			}
			back, err := DecodePDU(want)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(*back, tc.pdu) {
				t.Fatalf("decode: got %+v, want %+v", *back, tc.pdu)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		hex    string
		status Status // 0: not a *DecodeError
	}{
		{"empty", "", 0},
		{"short header", "000000100000", 0},
		{"length says more", "00000011 00000015 00000000 00000001", StatusInvCmdLen},
		{"length says less", "0000000f 00000015 00000000 00000001 00", StatusInvCmdLen},
		{"enquire_link with body", "00000011 00000015 00000000 00000001 00", StatusInvCmdLen},
		{"unknown command", "00000010 00000103 00000000 00000001", StatusInvCmdID},
		{"bind no NUL", "LEN 00000009 00000000 00000001 61626364", StatusInvCmdLen},
		{"bind system_id too long", "LEN 00000009 00000000 00000001" + strings.Repeat("61", 17) + "00 00 00 00", StatusInvParLen},
		{"bind truncated after password", "LEN 00000009 00000000 00000001 6100 6200", StatusInvCmdLen},
		{"bind trailing octets", "LEN 00000002 00000000 00000001 00 00 00 34 00 00 00 ffff00", StatusInvCmdLen},
		{"submit sm_length past end", "LEN 00000004 00000000 00000001 00 0000 00 0000 00 000000 00 00 00 00 00 00 05 6162", StatusInvMsgLen},
		{"submit bad schedule time", "LEN 00000004 00000000 00000001 00 0000 00 0000 00 000000 313200 00 00 00 00 00 00 616263", StatusInvParLen},
		{"truncated TLV header", "LEN 00000004 00000000 00000001 00 0000 00 0000 00 000000 00 00 00 00 00 00 00 0424", StatusInvOptParStream},
		{"TLV length past end", "LEN 00000004 00000000 00000001 00 0000 00 0000 00 000000 00 00 00 00 00 00 00 0424 0005 6162", StatusInvOptParStream},
		{"TLV wrong fixed size", "LEN 00000005 00000000 00000001 00 0000 00 0000 00 000000 00 00 00 00 00 00 00 0427 0002 0101", StatusInvParLen},
		{"resp message_id no NUL", "LEN 80000004 00000000 00000001 4142", StatusInvCmdLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustHex(t, strings.Replace(tc.hex, "LEN", "00000000", 1))
			if strings.HasPrefix(tc.hex, "LEN") {
				binary.BigEndian.PutUint32(b, uint32(len(b)))
			}
			_, err := DecodePDU(b)
			if err == nil {
				t.Fatal("decoded without error")
			}
			var de *DecodeError
			if tc.status == 0 {
				if errors.As(err, &de) {
					t.Fatalf("want a plain error, got %v", err)
				}
				return
			}
			if !errors.As(err, &de) || de.Status != tc.status {
				t.Fatalf("got %v, want status %s", err, tc.status)
			}
		})
	}
}

func TestReadPDU(t *testing.T) {
	t.Parallel()
	var stream []byte
	for seq := uint32(1); seq <= 3; seq++ {
		b, err := (&PDU{Command: EnquireLink, Seq: seq}).Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	r := bytes.NewReader(stream)
	for seq := uint32(1); seq <= 3; seq++ {
		p, err := ReadPDU(r, 0)
		if err != nil || p.Seq != seq {
			t.Fatalf("pdu %d: %+v %v", seq, p, err)
		}
	}
	if _, err := ReadPDU(r, 0); err != io.EOF {
		t.Fatalf("at end: %v, want EOF", err)
	}
	r = bytes.NewReader(stream[:20])
	if _, err := ReadPDU(r, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPDU(r, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v, want unexpected EOF", err)
	}
	huge := mustHex(t, "7fffffff 00000004 00000000 00000001")
	if _, err := ReadPDU(bytes.NewReader(huge), 1024); !errors.Is(err, ErrCommandLength) {
		t.Fatalf("huge length: %v", err)
	}
	tiny := mustHex(t, "00000008 00000004 00000000 00000001")
	if _, err := ReadPDU(bytes.NewReader(tiny), 0); !errors.Is(err, ErrCommandLength) {
		t.Fatalf("tiny length: %v", err)
	}
}

func TestEncodeRejects(t *testing.T) {
	t.Parallel()
	tests := []PDU{
		{Command: BindTransceiver, Body: &Bind{SystemID: strings.Repeat("x", 16)}},
		{Command: BindTransceiver, Body: &Bind{SystemID: "a\x00b"}},
		{Command: SubmitSM, Body: &SM{Dest: "1", ShortMessage: make([]byte, 255)}},
		{Command: SubmitSM, Body: &SM{Dest: "1", ValidityPeriod: "123"}},
		{Command: SubmitSM, Body: &SM{Dest: "1", TLVs: TLVs{{Tag: TagSARTotalSegments, Value: []byte{1, 2}}}}},
		{Command: EnquireLink, Body: &SM{}},
		{Command: SubmitSM, Body: &SMResp{}},
	}
	for i, p := range tests {
		if b, err := p.Encode(nil); err == nil {
			t.Errorf("%d: encoded %x, want error", i, b)
		}
	}
}

func TestPayloadTLV(t *testing.T) {
	t.Parallel()
	sm := &SM{Dest: "1"}
	sm.TLVs.Set(TagMessagePayload, bytes.Repeat([]byte{'a'}, 1000))
	b, err := (&PDU{Command: DeliverSM, Body: sm}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePDU(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Body.(*SM).Payload()
	if err != nil || len(got) != 1000 {
		t.Fatalf("payload %d octets, %v", len(got), err)
	}
	sm.ShortMessage = []byte("x")
	if _, err := sm.Payload(); err == nil {
		t.Fatal("short_message and message_payload both set: no error")
	}
}

func FuzzDecodePDU(f *testing.F) {
	seeds := []PDU{
		{Command: EnquireLink, Seq: 1},
		{Command: GenericNack, Status: StatusInvCmdID, Seq: 2},
		{Command: BindTransceiver, Seq: 3, Body: &Bind{SystemID: "dargah", Password: "secret", InterfaceVersion: 0x34}},
		{Command: BindReceiverResp, Seq: 3, Body: &BindResp{SystemID: "smsc", TLVs: TLVs{{Tag: TagSCInterfaceVersion, Value: []byte{0x34}}}}},
		{Command: SubmitSMResp, Seq: 4, Body: &SMResp{MessageID: "5A000001"}},
		{Command: DeliverSM, Seq: 5, Body: &SM{Source: "989121234567", Dest: "137", ESMClass: 0x40, DataCoding: 8,
			ShortMessage: []byte{5, 0, 3, 9, 2, 1, 0x06, 0x33, 0x06, 0x44}}},
		{Command: DeliverSM, Seq: 6, Body: &SM{Source: "1", Dest: "2", ESMClass: 4,
			ShortMessage: []byte("id:1 sub:001 dlvrd:001 submit date:2611271200 done date:2611271201 stat:DELIVRD err:000 text:hi"),
			TLVs:         TLVs{{Tag: TagReceiptedMessageID, Value: []byte("1\x00")}, {Tag: TagMessageState, Value: []byte{2}}}}},
		{Command: SubmitSM, Seq: 7, Body: &SM{Dest: "1", TLVs: TLVs{{Tag: TagSARMsgRefNum, Value: []byte{0, 1}}, {Tag: TagSARTotalSegments, Value: []byte{2}}, {Tag: TagSARSegmentSeqnum, Value: []byte{1}}}}},
	}
	for _, p := range seeds {
		b, err := p.Encode(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePDU(b)
		if err != nil {
			var de *DecodeError
			if p != nil && !errors.As(err, &de) {
				t.Fatalf("header decoded but error is %T: %v", err, err)
			}
			return
		}
		// What decodes must encode back to the same octets.
		out, err := p.Encode(nil)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", p, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip:\n in %x\nout %x", b, out)
		}
		// And the message layer must not panic on what came in.
		if sm, ok := p.Body.(*SM); ok {
			if data, err := sm.Payload(); err == nil {
				if c, rest, err := ParseUDH(data); err == nil {
					_ = c
					_, _ = DecodeText(Coding(sm.DataCoding), rest)
				}
				_, _ = DecodeText(Coding(sm.DataCoding), data)
			}
			_, _ = SARConcat(sm.TLVs)
			_, _ = ParseReceipt(sm, nil)
		}
	})
}
