package webform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dargah137/dargah/channels/phone"
	"github.com/dargah137/dargah/internal/digits"
	"io"
	"math"
	"mime"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dargah137/dargah/gateway"
)

// apiError is a client error of the JSON API, written as
// {"error":{"code","message","field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return e.Code + " (" + e.Field + "): " + e.Message
	}
	return e.Code + ": " + e.Message
}

func badRequest(code, field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Field: field, Message: msg}
}

// apiMessage is the body of POST /api/v1/messages.
type apiMessage struct {
	Text        *string      `json:"text"`
	Contact     *apiContact  `json:"contact"`
	Location    *apiLocation `json:"location"`
	ServiceCode string       `json:"service_code"`
	Language    string       `json:"language"`
}

type apiContact struct {
	Phone string `json:"phone"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

type apiLocation struct {
	Lat     *float64 `json:"lat"`
	Long    *float64 `json:"long"`
	Address string   `json:"address"`
}

// Input is a citizen's request after parsing and checking, common to the
// form, the JSON API and Open311.
type Input struct {
	Text        string
	Contact     gateway.Contact
	Location    *gateway.Location
	ServiceCode string
	Language    string
}

// checkContentType accepts application/json (any charset that is UTF-8).
func checkContentType(h string) *apiError {
	mt, params, err := mime.ParseMediaType(h)
	if err != nil || mt != "application/json" {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send the body as application/json"}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "the body must be UTF-8"}
	}
	return nil
}

// readBody reads at most max bytes of r, answering 413 beyond that.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Message: fmt.Sprintf("the body must be at most %d bytes", max)}
		}
		return nil, badRequest("bad_body", "", "could not read the body")
	}
	return body, nil
}

// DecodeMessage parses and checks a JSON message body. services is the set
// of known service codes. It never panics on any input (see FuzzDecodeMessage).
func DecodeMessage(body []byte, services map[string]bool) (Input, error) {
	// encoding/json would silently turn invalid UTF-8 into U+FFFD, losing
	// what the citizen sent; refuse it instead.
	if !utf8.Valid(body) {
		return Input{}, badRequest("invalid_utf8", "", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var m apiMessage
	if err := dec.Decode(&m); err != nil {
		return Input{}, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Input{}, badRequest("invalid_json", "", "unexpected data after the JSON object")
	}
	var in Input
	if m.Text == nil || strings.TrimSpace(*m.Text) == "" {
		return Input{}, badRequest("missing_field", "text", "text is required")
	}
	in.Text = strings.TrimSpace(*m.Text)
	if len(in.Text) > gateway.MaxTextBytes {
		return Input{}, badRequest("text_too_long", "text", fmt.Sprintf("text must be at most %d bytes", gateway.MaxTextBytes))
	}
	if c := m.Contact; c != nil {
		if strings.TrimSpace(c.Phone) != "" {
			ph, err := phone.Normalize(c.Phone)
			if err != nil {
				return Input{}, badRequest("invalid_phone", "contact.phone", "phone is not a valid phone number (e.g. 09121234567)")
			}
			in.Contact.Phone = ph
		}
		if e := strings.TrimSpace(c.Email); e != "" {
			addr, err := checkEmail(e)
			if err != nil {
				return Input{}, badRequest("invalid_email", "contact.email", "email is not a valid address")
			}
			in.Contact.Email = addr
		}
		in.Contact.Name = limitString(strings.TrimSpace(c.Name), 200)
	}
	if l := m.Location; l != nil {
		loc, err := checkLocation(l.Lat, l.Long, l.Address)
		if err != nil {
			return Input{}, err
		}
		in.Location = loc
	}
	if m.ServiceCode != "" && !services[m.ServiceCode] {
		return Input{}, badRequest("unknown_service_code", "service_code", fmt.Sprintf("service_code %q is not offered", m.ServiceCode))
	}
	in.ServiceCode = m.ServiceCode
	if m.Language != "" {
		lang := strings.ToLower(m.Language)
		if !gateway.SupportedLanguage(lang) {
			return Input{}, badRequest("invalid_language", "language", "language must be one of fa, ar, ur, en")
		}
		in.Language = lang
	}
	in.Contact.Language = in.Language
	return in, nil
}

// checkLocation validates a point and/or an address; field names follow
// the JSON API, and the Open311 caller renames them.
func checkLocation(lat, long *float64, address string) (*gateway.Location, *apiError) {
	address = limitString(strings.TrimSpace(address), 500)
	if (lat == nil) != (long == nil) {
		return nil, badRequest("invalid_location", "location", "lat and long go together")
	}
	loc := &gateway.Location{Address: address}
	if lat != nil {
		if math.IsNaN(*lat) || *lat < -90 || *lat > 90 {
			return nil, badRequest("invalid_location", "location.lat", "lat must be between -90 and 90")
		}
		if math.IsNaN(*long) || *long < -180 || *long > 180 {
			return nil, badRequest("invalid_location", "location.long", "long must be between -180 and 180")
		}
		loc.Lat, loc.Long = *lat, *long
	}
	if !loc.HasPoint() && loc.Address == "" {
		return nil, badRequest("invalid_location", "location", "location needs lat/long or an address")
	}
	return loc, nil
}

// parseCoord reads a coordinate typed in a form, Persian digits included.
func parseCoord(s string) (*float64, error) {
	s = strings.TrimSpace(digits.ToASCII(s))
	if s == "" {
		return nil, nil
	}
	s = strings.ReplaceAll(s, "٫", ".") // Persian decimal separator
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errors.New("not a number")
	}
	return &f, nil
}

func checkEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || len(a.Address) > 254 {
		return "", errors.New("invalid email")
	}
	return a.Address, nil
}

// jsonError turns a decoder error into an API error naming the field.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badRequest("invalid_json", "", "the body must be a JSON object")
		}
		return badRequest("invalid_type", field, fmt.Sprintf("%s must be a %s", field, jsonKind(te.Type.Kind().String())))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("invalid_json", "", "the body is not valid JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badRequest("unknown_field", name, fmt.Sprintf("unknown field %q", name))
	}
	return badRequest("invalid_json", "", "the body is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "float64":
		return "number"
	case "ptr", "struct":
		return "object"
	}
	return k
}

// limitString cuts s to at most n bytes on a rune boundary; used only for
// names and addresses, where a cut is harmless, never for the text.
func limitString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func itoa(n int) string { return strconv.Itoa(n) }

// validText reports whether s is UTF-8 without NUL bytes, which no
// citizen types and which some stores and terminals mishandle.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
