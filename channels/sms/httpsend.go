package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// httpSender sends through an SMS panel's web API, shaped by Send.
type httpSender struct {
	cfg    *Send
	from   string
	client *http.Client
}

func (h *httpSender) send(ctx context.Context, to, text string) ([]string, error) {
	c := h.cfg
	params := map[string]string{c.To: formatPhone(to, c.ToFormat), c.Text: text}
	if c.From != "" {
		params[c.From] = h.from
	}
	var (
		body        io.Reader
		contentType string
		target      = c.URL
	)
	switch {
	case c.Format == "json":
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("%w: encode send request: %w", errPermanent, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	default:
		vals := url.Values{}
		for k, v := range params {
			vals.Set(k, v)
		}
		if c.Method == http.MethodGet {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + vals.Encode()
		} else {
			body, contentType = strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"
		}
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("%w: build send request: %w", errPermanent, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.AuthHeader != "" {
		req.Header.Set(c.AuthHeader, c.authValue)
	}
	if c.BasicUser != "" {
		req.SetBasicAuth(c.BasicUser, c.basicPassword)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send sms via panel: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("send sms via panel: read answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return nil, fmt.Errorf("send sms via panel: %s: %s", resp.Status, snippet(raw))
	case resp.StatusCode >= 300:
		return nil, fmt.Errorf("%w: send sms via panel: %s: %s", errPermanent, resp.Status, snippet(raw))
	}
	if c.IDPath == "" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Sent, but the id is unreadable: do not send again.
		return nil, nil
	}
	id, _ := jsonPath(v, c.IDPath)
	if id == "" {
		return nil, nil
	}
	return []string{id}, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
