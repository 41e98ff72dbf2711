package smpp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Coding is an SMPP data_coding value (§5.2.19).
type Coding byte

// Codings this package reads; it writes only CodingDefault and CodingUCS2.
const (
	// CodingDefault is the SMSC default alphabet, which for the GSM SMSCs
	// this package targets is GSM 03.38 7-bit, one septet per octet.
	CodingDefault Coding = 0x00
	CodingIA5     Coding = 0x01 // IA5 (CCITT T.50) / ASCII
	CodingLatin1  Coding = 0x03 // ISO-8859-1
	CodingBinary  Coding = 0x04 // 8-bit binary
	CodingUCS2    Coding = 0x08 // UCS-2 big-endian (we send UTF-16 surrogates for non-BMP)
)

// Limits of one SMS in each coding (TS 23.040): without and with the 6-octet
// concatenation header.
const (
	GSMSingleSeptets  = 160
	GSMPartSeptets    = 153
	UCS2SingleUnits   = 70
	UCS2PartUnits     = 67
	MaxParts          = 255
	concatUDHLen      = 6
	udhIEIConcat8     = 0x00
	udhIEIConcat16    = 0x08
	highSurrogateLow  = 0xD800
	highSurrogateHigh = 0xDBFF
)

// ChooseCoding picks GSM 7-bit when every character of text is in the GSM
// default alphabet (Latin text), UCS-2 otherwise (Persian, Arabic, emoji…).
func ChooseCoding(text string) Coding {
	if _, ok := GSMSeptets(text); ok {
		return CodingDefault
	}
	return CodingUCS2
}

// EncodeUCS2 encodes text as UTF-16 big-endian (UCS-2 for the BMP; characters
// beyond it become surrogate pairs, which handsets display).
func EncodeUCS2(text string) ([]byte, error) {
	if !utf8.ValidString(text) {
		return nil, errors.New("smpp: text is not valid UTF-8")
	}
	out := make([]byte, 0, 2*len(text))
	for _, r := range text {
		if r >= 0x10000 {
			h, l := utf16.EncodeRune(r)
			out = binary.BigEndian.AppendUint16(out, uint16(h))
			out = binary.BigEndian.AppendUint16(out, uint16(l))
			continue
		}
		out = binary.BigEndian.AppendUint16(out, uint16(r))
	}
	return out, nil
}

// DecodeUCS2 decodes UCS-2 / UTF-16 big-endian. An odd length or a lone
// surrogate is an error.
func DecodeUCS2(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("smpp: UCS-2 text has odd length %d", len(b))
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u := rune(binary.BigEndian.Uint16(b[i:]))
		switch {
		case u >= highSurrogateLow && u <= highSurrogateHigh:
			if i+3 >= len(b) {
				return "", fmt.Errorf("smpp: UCS-2 lone high surrogate at octet %d", i)
			}
			l := rune(binary.BigEndian.Uint16(b[i+2:]))
			if l < 0xDC00 || l > 0xDFFF {
				return "", fmt.Errorf("smpp: UCS-2 high surrogate at octet %d not followed by a low one", i)
			}
			sb.WriteRune(utf16.DecodeRune(u, l))
			i += 2
		case u >= 0xDC00 && u <= 0xDFFF:
			return "", fmt.Errorf("smpp: UCS-2 lone low surrogate at octet %d", i)
		default:
			sb.WriteRune(u)
		}
	}
	return sb.String(), nil
}

// EncodeText encodes text in coding c (CodingDefault or CodingUCS2).
func EncodeText(c Coding, text string) ([]byte, error) {
	switch c {
	case CodingDefault:
		return EncodeGSM7(text)
	case CodingUCS2:
		return EncodeUCS2(text)
	}
	return nil, fmt.Errorf("smpp: cannot encode text as data_coding 0x%02x", byte(c))
}

// DecodeText decodes message octets sent with data_coding c. Besides the
// SMPP values it reads the GSM data coding groups handsets use for flash
// and classed messages (00xx xxxx uncompressed, 1111 xxxx), by their
// alphabet bits.
func DecodeText(c Coding, b []byte) (string, error) {
	switch {
	case c >= 0x10 && c <= 0x1F: // general group, message class given
		switch (c >> 2) & 3 {
		case 0:
			c = CodingDefault
		case 2:
			c = CodingUCS2
		}
	case c >= 0xF0: // data coding/message class group
		if c&0x04 == 0 {
			c = CodingDefault
		}
	}
	switch c {
	case CodingDefault:
		return DecodeGSM7(b)
	case CodingIA5:
		for i, x := range b {
			if x > 0x7F {
				return "", fmt.Errorf("smpp: octet 0x%02x at %d is not IA5", x, i)
			}
		}
		return string(b), nil
	case CodingLatin1:
		rs := make([]rune, len(b))
		for i, x := range b {
			rs[i] = rune(x) // ISO-8859-1 is the first 256 code points
		}
		return string(rs), nil
	case CodingUCS2:
		return DecodeUCS2(b)
	}
	return "", fmt.Errorf("smpp: unsupported data_coding 0x%02x", byte(c))
}

// Segments is a text prepared for submit_sm: its coding and the
// short_message of each part. When UDH is true every part starts with a
// concatenation header and esm_class must carry ESMClassUDHI.
type Segments struct {
	Coding Coding
	UDH    bool
	Parts  [][]byte
}

// Split encodes text in the coding ChooseCoding picks and cuts it into SMS
// parts: one part up to 160 septets (GSM) or 70 UTF-16 units (UCS-2),
// otherwise parts of at most 153 septets / 67 units, each behind a 6-octet
// UDH (IEI 0x00, reference ref). A GSM escape sequence or a surrogate pair
// is never cut. Empty text is one empty part; more than 255 parts is an
// error.
func Split(text string, ref uint8) (Segments, error) {
	c := ChooseCoding(text)
	enc, err := EncodeText(c, text)
	if err != nil {
		return Segments{}, err
	}
	single, per, unit := GSMSingleSeptets, GSMPartSeptets, 1
	if c == CodingUCS2 {
		single, per, unit = 2*UCS2SingleUnits, 2*UCS2PartUnits, 2
	}
	if len(enc) <= single {
		return Segments{Coding: c, Parts: [][]byte{enc}}, nil
	}
	var chunks [][]byte
	for start := 0; start < len(enc); {
		end := min(start+per, len(enc))
		if end < len(enc) {
			switch c {
			case CodingDefault:
				// In our own encoding 0x1B only ever starts an escape pair.
				if enc[end-1] == gsmEscape {
					end--
				}
			case CodingUCS2:
				if u := binary.BigEndian.Uint16(enc[end-unit:]); u >= highSurrogateLow && u <= highSurrogateHigh {
					end -= unit
				}
			}
		}
		chunks = append(chunks, enc[start:end])
		start = end
	}
	if len(chunks) > MaxParts {
		return Segments{}, fmt.Errorf("smpp: text needs %d parts, over the %d limit", len(chunks), MaxParts)
	}
	seg := Segments{Coding: c, UDH: true, Parts: make([][]byte, len(chunks))}
	for i, ch := range chunks {
		p := make([]byte, 0, concatUDHLen+len(ch))
		p = append(p, 5, udhIEIConcat8, 3, ref, byte(len(chunks)), byte(i+1))
		seg.Parts[i] = append(p, ch...)
	}
	return seg, nil
}

// Concat is the concatenation information of one part, from a UDH or SAR
// TLVs. Ref is 8 or 16 bits wide on the wire; both fit in uint16.
type Concat struct {
	Ref   uint16
	Total uint8
	Seq   uint8 // 1-based
}

// ParseUDH reads the user data header at the start of b (esm_class had
// UDHI set) and returns the concatenation element, if any, and the octets
// after the header. Other information elements are skipped.
func ParseUDH(b []byte) (*Concat, []byte, error) {
	if len(b) < 1 {
		return nil, nil, errors.New("smpp: UDHI set but message is empty")
	}
	n := int(b[0])
	if len(b) < 1+n {
		return nil, nil, fmt.Errorf("smpp: UDH length %d past end of %d-octet message", n, len(b))
	}
	h, rest := b[1:1+n], b[1+n:]
	var c *Concat
	for len(h) > 0 {
		if len(h) < 2 || len(h) < 2+int(h[1]) {
			return nil, nil, errors.New("smpp: truncated UDH information element")
		}
		iei, data := h[0], h[2:2+int(h[1])]
		h = h[2+int(h[1]):]
		switch iei {
		case udhIEIConcat8:
			if len(data) != 3 {
				return nil, nil, fmt.Errorf("smpp: 8-bit concatenation element of %d octets", len(data))
			}
			c = &Concat{Ref: uint16(data[0]), Total: data[1], Seq: data[2]}
		case udhIEIConcat16:
			if len(data) != 4 {
				return nil, nil, fmt.Errorf("smpp: 16-bit concatenation element of %d octets", len(data))
			}
			c = &Concat{Ref: binary.BigEndian.Uint16(data), Total: data[2], Seq: data[3]}
		}
	}
	if c != nil {
		if err := c.check(); err != nil {
			return nil, nil, err
		}
	}
	return c, rest, nil
}

func (c *Concat) check() error {
	if c.Total == 0 || c.Seq == 0 || c.Seq > c.Total {
		return fmt.Errorf("smpp: concatenation part %d of %d is invalid", c.Seq, c.Total)
	}
	return nil
}

// SARConcat returns the concatenation carried in sar_* TLVs, if all three
// are present.
func SARConcat(ts TLVs) (*Concat, error) {
	ref, ok1 := ts.Uint16(TagSARMsgRefNum)
	total, ok2 := ts.Uint8(TagSARTotalSegments)
	seq, ok3 := ts.Uint8(TagSARSegmentSeqnum)
	switch {
	case !ok1 && !ok2 && !ok3:
		return nil, nil
	case !(ok1 && ok2 && ok3):
		return nil, errors.New("smpp: incomplete sar_* TLVs")
	}
	c := &Concat{Ref: ref, Total: total, Seq: seq}
	return c, c.check()
}
