package smpp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// CommandID identifies a PDU type (SMPP 3.4 §5.1.2.1). Responses have the
// high bit set.
type CommandID uint32

// Command ids this package speaks. Others decode only as far as the header;
// a peer's request with an unknown id is answered with generic_nack.
const (
	GenericNack         CommandID = 0x80000000
	BindReceiver        CommandID = 0x00000001
	BindReceiverResp    CommandID = 0x80000001
	BindTransmitter     CommandID = 0x00000002
	BindTransmitterResp CommandID = 0x80000002
	SubmitSM            CommandID = 0x00000004
	SubmitSMResp        CommandID = 0x80000004
	DeliverSM           CommandID = 0x00000005
	DeliverSMResp       CommandID = 0x80000005
	Unbind              CommandID = 0x00000006
	UnbindResp          CommandID = 0x80000006
	BindTransceiver     CommandID = 0x00000009
	BindTransceiverResp CommandID = 0x80000009
	EnquireLink         CommandID = 0x00000015
	EnquireLinkResp     CommandID = 0x80000015
)

// IsResponse reports whether id is a response (high bit set).
func (id CommandID) IsResponse() bool { return id&0x80000000 != 0 }

// Resp returns the response id for a request id.
func (id CommandID) Resp() CommandID { return id | 0x80000000 }

func (id CommandID) String() string {
	switch id {
	case GenericNack:
		return "generic_nack"
	case BindReceiver:
		return "bind_receiver"
	case BindReceiverResp:
		return "bind_receiver_resp"
	case BindTransmitter:
		return "bind_transmitter"
	case BindTransmitterResp:
		return "bind_transmitter_resp"
	case BindTransceiver:
		return "bind_transceiver"
	case BindTransceiverResp:
		return "bind_transceiver_resp"
	case SubmitSM:
		return "submit_sm"
	case SubmitSMResp:
		return "submit_sm_resp"
	case DeliverSM:
		return "deliver_sm"
	case DeliverSMResp:
		return "deliver_sm_resp"
	case Unbind:
		return "unbind"
	case UnbindResp:
		return "unbind_resp"
	case EnquireLink:
		return "enquire_link"
	case EnquireLinkResp:
		return "enquire_link_resp"
	}
	return fmt.Sprintf("command_0x%08x", uint32(id))
}

// Status is a command_status (SMPP 3.4 §5.1.3).
type Status uint32

// Statuses this package produces or acts on.
const (
	StatusOK              Status = 0x00000000 // ESME_ROK
	StatusInvMsgLen       Status = 0x00000001 // ESME_RINVMSGLEN
	StatusInvCmdLen       Status = 0x00000002 // ESME_RINVCMDLEN
	StatusInvCmdID        Status = 0x00000003 // ESME_RINVCMDID
	StatusInvBndSts       Status = 0x00000004 // ESME_RINVBNDSTS
	StatusAlyBnd          Status = 0x00000005 // ESME_RALYBND
	StatusSysErr          Status = 0x00000008 // ESME_RSYSERR
	StatusInvSrcAdr       Status = 0x0000000A // ESME_RINVSRCADR
	StatusInvDstAdr       Status = 0x0000000B // ESME_RINVDSTADR
	StatusBindFail        Status = 0x0000000D // ESME_RBINDFAIL
	StatusInvPaswd        Status = 0x0000000E // ESME_RINVPASWD
	StatusInvSysID        Status = 0x0000000F // ESME_RINVSYSID
	StatusMsgQFul         Status = 0x00000014 // ESME_RMSGQFUL
	StatusInvESMClass     Status = 0x00000043 // ESME_RINVESMCLASS
	StatusThrottled       Status = 0x00000058 // ESME_RTHROTTLED
	StatusInvDCS          Status = 0x00000104 // ESME_RINVDCS (SMPP 5.0 value, widely used)
	StatusInvOptParStream Status = 0x000000C0 // ESME_RINVOPTPARSTREAM
	StatusInvParLen       Status = 0x000000C2 // ESME_RINVPARLEN
	StatusMissingOptParam Status = 0x000000C3 // ESME_RMISSINGOPTPARAM
	StatusInvOptParamVal  Status = 0x000000C4 // ESME_RINVOPTPARAMVAL
	StatusRxTAppn         Status = 0x00000064 // ESME_RX_T_APPN: temporary, SMSC should retry
	StatusRxPAppn         Status = 0x00000065 // ESME_RX_P_APPN: permanent, do not retry
	StatusUnknownErr      Status = 0x000000FF // ESME_RUNKNOWNERR
)

var statusNames = map[Status]string{
	StatusOK: "ESME_ROK", StatusInvMsgLen: "ESME_RINVMSGLEN", StatusInvCmdLen: "ESME_RINVCMDLEN",
	StatusInvCmdID: "ESME_RINVCMDID", StatusInvBndSts: "ESME_RINVBNDSTS", StatusAlyBnd: "ESME_RALYBND",
	StatusSysErr: "ESME_RSYSERR", StatusInvSrcAdr: "ESME_RINVSRCADR", StatusInvDstAdr: "ESME_RINVDSTADR",
	StatusBindFail: "ESME_RBINDFAIL", StatusInvPaswd: "ESME_RINVPASWD", StatusInvSysID: "ESME_RINVSYSID",
	StatusMsgQFul: "ESME_RMSGQFUL", StatusInvESMClass: "ESME_RINVESMCLASS", StatusThrottled: "ESME_RTHROTTLED",
	StatusInvDCS: "ESME_RINVDCS", StatusInvOptParStream: "ESME_RINVOPTPARSTREAM", StatusInvParLen: "ESME_RINVPARLEN",
	StatusMissingOptParam: "ESME_RMISSINGOPTPARAM", StatusInvOptParamVal: "ESME_RINVOPTPARAMVAL",
	StatusRxTAppn: "ESME_RX_T_APPN", StatusRxPAppn: "ESME_RX_P_APPN", StatusUnknownErr: "ESME_RUNKNOWNERR",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status_0x%08x", uint32(s))
}

// Error makes a non-OK Status usable as an error: the client returns it
// (wrapped) when the SMSC answers a request with that status.
func (s Status) Error() string { return "smpp: " + s.String() }

// Throttling reports whether s asks the sender to slow down and try again.
func (s Status) Throttling() bool { return s == StatusThrottled || s == StatusMsgQFul }

const (
	// HeaderLen is the fixed PDU header: command_length, command_id,
	// command_status, sequence_number, four octets each.
	HeaderLen = 16
	// DefaultMaxPDULen bounds command_length when reading. The spec sets no
	// limit; 64 KiB leaves room for a full message_payload TLV.
	DefaultMaxPDULen = 64*1024 + 512
	// InterfaceVersion is the SMPP version this package speaks (3.4).
	InterfaceVersion = 0x34
	// MaxSeq is the largest sequence number (§5.1.4: 0x00000001–0x7FFFFFFF).
	MaxSeq = 0x7FFFFFFF
)

// PDU is one protocol data unit. Body holds the command-specific fields:
// *Bind for bind_*, *BindResp for bind_*_resp, *SM for submit_sm and
// deliver_sm, *SMResp for submit_sm_resp and deliver_sm_resp, and nil for
// the header-only PDUs (enquire_link, unbind, their responses,
// generic_nack) and for error responses sent without a body.
type PDU struct {
	Command CommandID
	Status  Status
	Seq     uint32
	Body    Body
}

// Body is the command-specific part of a PDU; the implementations are the
// types of this package listed on PDU.
type Body interface {
	appendTo(b []byte) ([]byte, error)
	decode(d *decoder) error
}

// Bind is the body of bind_transmitter, bind_receiver and bind_transceiver.
type Bind struct {
	SystemID         string // C-octet, max 16 with NUL
	Password         string // max 9
	SystemType       string // max 13
	InterfaceVersion byte
	AddrTON, AddrNPI byte
	AddressRange     string // max 41
}

// BindResp is the body of bind_*_resp.
type BindResp struct {
	SystemID string // max 16
	TLVs     TLVs
}

// SM is the body shared by submit_sm and deliver_sm (§4.4.1, §4.6.1).
type SM struct {
	ServiceType          string // max 6
	SourceTON, SourceNPI byte
	Source               string // max 21
	DestTON, DestNPI     byte
	Dest                 string // max 21
	ESMClass             byte
	ProtocolID           byte
	Priority             byte
	ScheduleDeliveryTime string // empty or 16 characters
	ValidityPeriod       string // empty or 16 characters
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	DefaultMsgID         byte
	// ShortMessage is at most 254 octets; longer content goes in the
	// message_payload TLV with ShortMessage empty.
	ShortMessage []byte
	TLVs         TLVs
}

// SMResp is the body of submit_sm_resp and deliver_sm_resp.
type SMResp struct {
	MessageID string // max 65
}

// esm_class bits (§5.2.12).
const (
	// ESMClassUDHI says short_message starts with a user data header.
	ESMClassUDHI = 0x40
	// esmTypeMask selects the message type bits 5..2.
	esmTypeMask = 0x3C
	// ESMTypeDeliveryReceipt marks a deliver_sm carrying an SMSC delivery receipt.
	ESMTypeDeliveryReceipt = 0x04
	// ESMTypeIntermediate marks an intermediate delivery notification.
	ESMTypeIntermediate = 0x20
)

// IsReceipt reports whether a deliver_sm with this esm_class carries a
// delivery receipt or intermediate notification rather than a citizen's text.
func (sm *SM) IsReceipt() bool {
	t := sm.ESMClass & esmTypeMask
	return t == ESMTypeDeliveryReceipt || t == ESMTypeIntermediate
}

// Payload returns the message octets: short_message, or the
// message_payload TLV when short_message is empty. Both set is an error
// (§5.3.2.32 forbids it).
func (sm *SM) Payload() ([]byte, error) {
	p, hasPayload := sm.TLVs.Get(TagMessagePayload)
	if hasPayload && len(sm.ShortMessage) > 0 {
		return nil, errors.New("smpp: both short_message and message_payload are set")
	}
	if hasPayload {
		return p, nil
	}
	return sm.ShortMessage, nil
}

// DecodeError is a malformed PDU. Status is what to answer the peer with.
type DecodeError struct {
	Command CommandID
	Status  Status
	Msg     string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("smpp: malformed %s: %s", e.Command, e.Msg)
}

// Encode appends the wire form of p to b (usually nil) and returns it.
func (p *PDU) Encode(b []byte) ([]byte, error) {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, 0) // length, patched below
	b = binary.BigEndian.AppendUint32(b, uint32(p.Command))
	b = binary.BigEndian.AppendUint32(b, uint32(p.Status))
	b = binary.BigEndian.AppendUint32(b, p.Seq)
	if p.Body != nil {
		if !bodyAllowed(p.Command, p.Body) {
			return b[:start], fmt.Errorf("smpp: encode %s: body %T does not belong to this command", p.Command, p.Body)
		}
		var err error
		if b, err = p.Body.appendTo(b); err != nil {
			return b[:start], fmt.Errorf("smpp: encode %s: %w", p.Command, err)
		}
	}
	n := len(b) - start
	if n > DefaultMaxPDULen {
		return b[:start], fmt.Errorf("smpp: encode %s: %d octets is over the %d limit", p.Command, n, DefaultMaxPDULen)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

func bodyAllowed(c CommandID, body Body) bool {
	switch body.(type) {
	case *Bind:
		return c == BindReceiver || c == BindTransmitter || c == BindTransceiver
	case *BindResp:
		return c == BindReceiverResp || c == BindTransmitterResp || c == BindTransceiverResp
	case *SM:
		return c == SubmitSM || c == DeliverSM
	case *SMResp:
		return c == SubmitSMResp || c == DeliverSMResp
	}
	return false
}

// ReadPDU reads one PDU from r. maxLen bounds command_length (0 means
// DefaultMaxPDULen). A *DecodeError with Command set means the frame was
// read whole and the stream is still in step: the caller can answer with
// generic_nack and go on. Any other error means the stream is unusable.
func ReadPDU(r io.Reader, maxLen int) (*PDU, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxPDULen
	}
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[0:4])
	if n < HeaderLen || n > uint32(maxLen) {
		return nil, &framingError{length: n, max: maxLen, seq: binary.BigEndian.Uint32(hdr[12:16])}
	}
	buf := make([]byte, n)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return DecodePDU(buf)
}

// ErrCommandLength is wrapped by ReadPDU's error for a command_length that
// cannot be trusted: the stream is out of step, and the connection must be
// closed (after a generic_nack).
var ErrCommandLength = errors.New("smpp: invalid command_length")

// framingError carries the sequence number to put in the generic_nack.
type framingError struct {
	length uint32
	max    int
	seq    uint32
}

func (e *framingError) Unwrap() error { return ErrCommandLength }

func (e *framingError) Error() string {
	return fmt.Sprintf("smpp: command_length %d outside [%d, %d]", e.length, HeaderLen, e.max)
}

// DecodePDU decodes exactly one PDU occupying all of b. It never panics:
// wrong lengths, missing NULs, over-long fields, truncated TLVs and trailing
// octets are errors (a *DecodeError once the header is readable).
func DecodePDU(b []byte) (*PDU, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("smpp: pdu of %d octets is shorter than the header", len(b))
	}
	n := binary.BigEndian.Uint32(b[0:4])
	p := &PDU{
		Command: CommandID(binary.BigEndian.Uint32(b[4:8])),
		Status:  Status(binary.BigEndian.Uint32(b[8:12])),
		Seq:     binary.BigEndian.Uint32(b[12:16]),
	}
	if uint64(n) != uint64(len(b)) {
		return p, &DecodeError{Command: p.Command, Status: StatusInvCmdLen,
			Msg: fmt.Sprintf("command_length %d but %d octets", n, len(b))}
	}
	body := b[HeaderLen:]
	var bd Body
	switch p.Command {
	case BindReceiver, BindTransmitter, BindTransceiver:
		bd = &Bind{}
	case BindReceiverResp, BindTransmitterResp, BindTransceiverResp:
		bd = &BindResp{}
	case SubmitSM, DeliverSM:
		bd = &SM{}
	case SubmitSMResp, DeliverSMResp:
		bd = &SMResp{}
	case GenericNack, Unbind, UnbindResp, EnquireLink, EnquireLinkResp:
		if len(body) != 0 {
			return p, &DecodeError{Command: p.Command, Status: StatusInvCmdLen,
				Msg: fmt.Sprintf("%d unexpected body octets", len(body))}
		}
		return p, nil
	default:
		return p, &DecodeError{Command: p.Command, Status: StatusInvCmdID, Msg: "unknown command id"}
	}
	// An error response may come without a body (§4.1.2, §4.4.2).
	if p.Command.IsResponse() && p.Status != StatusOK && len(body) == 0 {
		return p, nil
	}
	d := &decoder{b: body, cmd: p.Command}
	if err := bd.decode(d); err != nil {
		return p, err
	}
	if len(d.b) != 0 {
		return p, d.fail(StatusInvCmdLen, fmt.Sprintf("%d trailing octets", len(d.b)))
	}
	p.Body = bd
	return p, nil
}

// decoder consumes a body; every read checks bounds so malformed input
// becomes an error, never a panic.
type decoder struct {
	b   []byte
	cmd CommandID
}

func (d *decoder) fail(st Status, msg string) error {
	return &DecodeError{Command: d.cmd, Status: st, Msg: msg}
}

func (d *decoder) byte1(field string) (byte, error) {
	if len(d.b) < 1 {
		return 0, d.fail(StatusInvCmdLen, "truncated at "+field)
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v, nil
}

// cstring reads a C-octet string of at most max octets including its NUL.
func (d *decoder) cstring(field string, max int) (string, error) {
	for i := 0; i < len(d.b) && i < max; i++ {
		if d.b[i] == 0 {
			s := string(d.b[:i])
			d.b = d.b[i+1:]
			return s, nil
		}
	}
	if len(d.b) < max {
		return "", d.fail(StatusInvCmdLen, "truncated at "+field+" (no NUL)")
	}
	return "", d.fail(StatusInvParLen, fmt.Sprintf("%s longer than %d octets or missing NUL", field, max-1))
}

// timeField reads schedule_delivery_time / validity_period: NUL alone, or
// 16 characters and NUL (§7.1).
func (d *decoder) timeField(field string) (string, error) {
	s, err := d.cstring(field, 17)
	if err != nil {
		return "", err
	}
	if s != "" && len(s) != 16 {
		return "", d.fail(StatusInvParLen, fmt.Sprintf("%s must be empty or 16 characters, got %d", field, len(s)))
	}
	return s, nil
}

func (d *decoder) tlvs() (TLVs, error) {
	var out TLVs
	for len(d.b) > 0 {
		if len(d.b) < 4 {
			return nil, d.fail(StatusInvOptParStream, "truncated TLV header")
		}
		tag := binary.BigEndian.Uint16(d.b[0:2])
		n := int(binary.BigEndian.Uint16(d.b[2:4]))
		if len(d.b)-4 < n {
			return nil, d.fail(StatusInvOptParStream, fmt.Sprintf("TLV 0x%04x length %d past end of PDU", tag, n))
		}
		v := d.b[4 : 4+n : 4+n]
		if err := checkTLV(tag, v); err != nil {
			return nil, d.fail(StatusInvParLen, err.Error())
		}
		out = append(out, TLV{Tag: tag, Value: v})
		d.b = d.b[4+n:]
	}
	return out, nil
}

func (b *Bind) decode(d *decoder) (err error) {
	if b.SystemID, err = d.cstring("system_id", 16); err != nil {
		return err
	}
	if b.Password, err = d.cstring("password", 9); err != nil {
		return err
	}
	if b.SystemType, err = d.cstring("system_type", 13); err != nil {
		return err
	}
	if b.InterfaceVersion, err = d.byte1("interface_version"); err != nil {
		return err
	}
	if b.AddrTON, err = d.byte1("addr_ton"); err != nil {
		return err
	}
	if b.AddrNPI, err = d.byte1("addr_npi"); err != nil {
		return err
	}
	b.AddressRange, err = d.cstring("address_range", 41)
	return err
}

func (b *Bind) appendTo(out []byte) ([]byte, error) {
	var err error
	out, err = appendCString(out, "system_id", b.SystemID, 16)
	if err == nil {
		out, err = appendCString(out, "password", b.Password, 9)
	}
	if err == nil {
		out, err = appendCString(out, "system_type", b.SystemType, 13)
	}
	if err != nil {
		return out, err
	}
	out = append(out, b.InterfaceVersion, b.AddrTON, b.AddrNPI)
	return appendCString(out, "address_range", b.AddressRange, 41)
}

func (b *BindResp) decode(d *decoder) (err error) {
	if b.SystemID, err = d.cstring("system_id", 16); err != nil {
		return err
	}
	b.TLVs, err = d.tlvs()
	return err
}

func (b *BindResp) appendTo(out []byte) ([]byte, error) {
	out, err := appendCString(out, "system_id", b.SystemID, 16)
	if err != nil {
		return out, err
	}
	return b.TLVs.appendTo(out)
}

func (r *SMResp) decode(d *decoder) (err error) {
	r.MessageID, err = d.cstring("message_id", 65)
	return err
}

func (r *SMResp) appendTo(out []byte) ([]byte, error) {
	return appendCString(out, "message_id", r.MessageID, 65)
}

// MaxShortMessage is the largest short_message field (§5.2.22).
const MaxShortMessage = 254

func (sm *SM) decode(d *decoder) (err error) {
	if sm.ServiceType, err = d.cstring("service_type", 6); err != nil {
		return err
	}
	if sm.SourceTON, err = d.byte1("source_addr_ton"); err != nil {
		return err
	}
	if sm.SourceNPI, err = d.byte1("source_addr_npi"); err != nil {
		return err
	}
	if sm.Source, err = d.cstring("source_addr", 21); err != nil {
		return err
	}
	if sm.DestTON, err = d.byte1("dest_addr_ton"); err != nil {
		return err
	}
	if sm.DestNPI, err = d.byte1("dest_addr_npi"); err != nil {
		return err
	}
	if sm.Dest, err = d.cstring("destination_addr", 21); err != nil {
		return err
	}
	for _, f := range []struct {
		p    *byte
		name string
	}{{&sm.ESMClass, "esm_class"}, {&sm.ProtocolID, "protocol_id"}, {&sm.Priority, "priority_flag"}} {
		if *f.p, err = d.byte1(f.name); err != nil {
			return err
		}
	}
	if sm.ScheduleDeliveryTime, err = d.timeField("schedule_delivery_time"); err != nil {
		return err
	}
	if sm.ValidityPeriod, err = d.timeField("validity_period"); err != nil {
		return err
	}
	for _, f := range []struct {
		p    *byte
		name string
	}{{&sm.RegisteredDelivery, "registered_delivery"}, {&sm.ReplaceIfPresent, "replace_if_present_flag"},
		{&sm.DataCoding, "data_coding"}, {&sm.DefaultMsgID, "sm_default_msg_id"}} {
		if *f.p, err = d.byte1(f.name); err != nil {
			return err
		}
	}
	n, err := d.byte1("sm_length")
	if err != nil {
		return err
	}
	if int(n) > MaxShortMessage {
		return d.fail(StatusInvMsgLen, fmt.Sprintf("sm_length %d over %d", n, MaxShortMessage))
	}
	if len(d.b) < int(n) {
		return d.fail(StatusInvMsgLen, fmt.Sprintf("sm_length %d but %d octets left", n, len(d.b)))
	}
	if n > 0 {
		sm.ShortMessage = d.b[:n:n]
	}
	d.b = d.b[n:]
	sm.TLVs, err = d.tlvs()
	return err
}

func (sm *SM) appendTo(out []byte) ([]byte, error) {
	if len(sm.ShortMessage) > MaxShortMessage {
		return out, fmt.Errorf("short_message of %d octets is over %d; use message_payload", len(sm.ShortMessage), MaxShortMessage)
	}
	for _, t := range []struct{ name, v string }{{"schedule_delivery_time", sm.ScheduleDeliveryTime}, {"validity_period", sm.ValidityPeriod}} {
		if t.v != "" && len(t.v) != 16 {
			return out, fmt.Errorf("%s must be empty or 16 characters", t.name)
		}
	}
	var err error
	if out, err = appendCString(out, "service_type", sm.ServiceType, 6); err != nil {
		return out, err
	}
	out = append(out, sm.SourceTON, sm.SourceNPI)
	if out, err = appendCString(out, "source_addr", sm.Source, 21); err != nil {
		return out, err
	}
	out = append(out, sm.DestTON, sm.DestNPI)
	if out, err = appendCString(out, "destination_addr", sm.Dest, 21); err != nil {
		return out, err
	}
	out = append(out, sm.ESMClass, sm.ProtocolID, sm.Priority)
	out = append(append(out, sm.ScheduleDeliveryTime...), 0)
	out = append(append(out, sm.ValidityPeriod...), 0)
	out = append(out, sm.RegisteredDelivery, sm.ReplaceIfPresent, sm.DataCoding, sm.DefaultMsgID, byte(len(sm.ShortMessage)))
	out = append(out, sm.ShortMessage...)
	return sm.TLVs.appendTo(out)
}

func appendCString(out []byte, field, s string, max int) ([]byte, error) {
	if len(s) > max-1 {
		return out, fmt.Errorf("%s %q is longer than %d octets", field, s, max-1)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return out, fmt.Errorf("%s contains NUL", field)
		}
	}
	return append(append(out, s...), 0), nil
}
