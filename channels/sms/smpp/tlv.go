package smpp

import (
	"encoding/binary"
	"fmt"
)

// TLV tags used by this package (SMPP 3.4 §5.3.2).
const (
	TagReceiptedMessageID uint16 = 0x001E
	TagUserMessageRef     uint16 = 0x0204
	TagSARMsgRefNum       uint16 = 0x020C
	TagSARTotalSegments   uint16 = 0x020E
	TagSARSegmentSeqnum   uint16 = 0x020F
	TagSCInterfaceVersion uint16 = 0x0210
	TagNetworkErrorCode   uint16 = 0x0423
	TagMessagePayload     uint16 = 0x0424
	TagMessageState       uint16 = 0x0427
	maxReceiptedMessageID        = 65
)

// TLV is one optional parameter. Value aliases the decoded PDU's buffer.
type TLV struct {
	Tag   uint16
	Value []byte
}

// TLVs is the optional-parameter section of a PDU, in wire order.
type TLVs []TLV

// Get returns the value of the first TLV with tag.
func (ts TLVs) Get(tag uint16) ([]byte, bool) {
	for _, t := range ts {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// Uint8 returns a one-octet TLV's value.
func (ts TLVs) Uint8(tag uint16) (uint8, bool) {
	v, ok := ts.Get(tag)
	if !ok || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// Uint16 returns a two-octet TLV's value.
func (ts TLVs) Uint16(tag uint16) (uint16, bool) {
	v, ok := ts.Get(tag)
	if !ok || len(v) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(v), true
}

// CString returns a C-octet string TLV's value without its NUL. A value sent
// without the NUL is accepted: several SMSCs omit it.
func (ts TLVs) CString(tag uint16) (string, bool) {
	v, ok := ts.Get(tag)
	if !ok {
		return "", false
	}
	if n := len(v); n > 0 && v[n-1] == 0 {
		v = v[:n-1]
	}
	return string(v), true
}

// Set replaces the first TLV with tag, or appends one.
func (ts *TLVs) Set(tag uint16, v []byte) {
	for i := range *ts {
		if (*ts)[i].Tag == tag {
			(*ts)[i].Value = v
			return
		}
	}
	*ts = append(*ts, TLV{Tag: tag, Value: v})
}

// SetUint8 sets a one-octet TLV.
func (ts *TLVs) SetUint8(tag uint16, v uint8) { ts.Set(tag, []byte{v}) }

// SetUint16 sets a two-octet TLV.
func (ts *TLVs) SetUint16(tag uint16, v uint16) {
	ts.Set(tag, binary.BigEndian.AppendUint16(nil, v))
}

// SetCString sets a C-octet string TLV (the NUL is added).
func (ts *TLVs) SetCString(tag uint16, s string) { ts.Set(tag, append([]byte(s), 0)) }

func (ts TLVs) appendTo(out []byte) ([]byte, error) {
	for _, t := range ts {
		if len(t.Value) > 0xFFFF {
			return out, fmt.Errorf("TLV 0x%04x value of %d octets is too long", t.Tag, len(t.Value))
		}
		if err := checkTLV(t.Tag, t.Value); err != nil {
			return out, err
		}
		out = binary.BigEndian.AppendUint16(out, t.Tag)
		out = binary.BigEndian.AppendUint16(out, uint16(len(t.Value)))
		out = append(out, t.Value...)
	}
	return out, nil
}

// checkTLV enforces the sizes the spec fixes for the TLVs we interpret, so
// a reader of a decoded PDU can trust them.
func checkTLV(tag uint16, v []byte) error {
	want := -1
	switch tag {
	case TagSARMsgRefNum, TagUserMessageRef:
		want = 2
	case TagSARTotalSegments, TagSARSegmentSeqnum, TagMessageState, TagSCInterfaceVersion:
		want = 1
	case TagNetworkErrorCode:
		want = 3
	case TagReceiptedMessageID:
		if len(v) > maxReceiptedMessageID {
			return fmt.Errorf("receipted_message_id of %d octets is over %d", len(v), maxReceiptedMessageID)
		}
	}
	if want >= 0 && len(v) != want {
		return fmt.Errorf("TLV 0x%04x must be %d octets, got %d", tag, want, len(v))
	}
	return nil
}
