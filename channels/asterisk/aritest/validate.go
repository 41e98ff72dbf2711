package aritest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Violation is a request the ARI description does not allow. The server
// reports it through Config.OnViolation (default t.Errorf) and answers the
// way Asterisk would (404, 405 or 400).
type Violation struct {
	Method string
	Path   string // below /ari
	Query  string
	Op     string // resource.nickname when the route matched
	Reason string
	Status int // what the double answered
}

// String describes the violation for a test failure message.
func (v Violation) String() string {
	q := ""
	if v.Query != "" {
		q = "?" + v.Query
	}
	op := ""
	if v.Op != "" {
		op = " (" + v.Op + ")"
	}
	return fmt.Sprintf("ARI request %s %s%s%s violates the API description: %s", v.Method, v.Path, q, op, v.Reason)
}

// route is a matched operation with its path parameters.
type route struct {
	op     *apiOp
	params map[string]string // path parameters, unescaped
}

// opName is resource.nickname, e.g. "channels.answer".
func (r route) opName() string { return r.op.Resource + "." + r.op.Nickname }

// matchRoute finds the operation for method and path (below /ari, escaped
// form). Like Asterisk's handler tree, a literal segment wins over a
// {param} at the same position, and a path that exists with another
// method is a 405.
func matchRoute(method, escPath string) (route, int, string) {
	segs := strings.Split(strings.Trim(escPath, "/"), "/")
	bestScore := -1
	var bestPath string
	for i := range apiOps {
		op := &apiOps[i]
		score, ok := scorePath(op.Path, segs)
		if ok && score > bestScore {
			bestScore, bestPath = score, op.Path
		}
	}
	if bestScore < 0 {
		return route{}, http.StatusNotFound, "Resource not found"
	}
	for i := range apiOps {
		op := &apiOps[i]
		if op.Path != bestPath || op.Method != method {
			continue
		}
		params := map[string]string{}
		for j, t := range strings.Split(strings.Trim(op.Path, "/"), "/") {
			if strings.HasPrefix(t, "{") {
				v, err := url.PathUnescape(segs[j])
				if err != nil {
					return route{}, http.StatusBadRequest, "bad path escape"
				}
				params[strings.Trim(t, "{}")] = v
			}
		}
		return route{op: op, params: params}, 0, ""
	}
	return route{}, http.StatusMethodNotAllowed, "Invalid method"
}

// scorePath reports whether tmpl matches segs, scoring literal segments
// earlier in the path higher.
func scorePath(tmpl string, segs []string) (int, bool) {
	ts := strings.Split(strings.Trim(tmpl, "/"), "/")
	if len(ts) != len(segs) {
		return 0, false
	}
	score := 0
	for i, t := range ts {
		if strings.HasPrefix(t, "{") {
			if segs[i] == "" {
				return 0, false
			}
			continue
		}
		if t != segs[i] {
			return 0, false
		}
		score += 1 << (len(ts) - i)
	}
	return score, true
}

// validateParams checks the query string and JSON body of a matched
// request against its operation. It returns "" when the request is valid.
func validateParams(rt route, q url.Values, body []byte) string {
	known := map[string]*apiParam{}
	for i := range rt.op.Params {
		p := &rt.op.Params[i]
		known[p.Name] = p
	}
	for k, vs := range q {
		if k == "api_key" {
			continue // authentication, valid on every path
		}
		p, ok := known[k]
		if !ok || p.In != "query" {
			return fmt.Sprintf("unknown query parameter %q", k)
		}
		if len(vs) > 1 && !p.Multiple {
			return fmt.Sprintf("parameter %q given %d times", k, len(vs))
		}
		for _, v := range vs {
			if msg := checkValue(p, v); msg != "" {
				return msg
			}
		}
	}
	var bodyObj map[string]json.RawMessage
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &bodyObj); err != nil {
			return fmt.Sprintf("body is not a JSON object: %v", err)
		}
		for k := range bodyObj {
			p, ok := known[k]
			if !ok || p.In == "path" {
				return fmt.Sprintf("unknown body field %q", k)
			}
		}
	}
	for _, p := range rt.op.Params {
		switch p.In {
		case "query":
			if p.Required && q.Get(p.Name) == "" && bodyObj[p.Name] == nil {
				return fmt.Sprintf("missing required parameter %q", p.Name)
			}
		case "body":
			if p.Required && bodyObj[p.Name] == nil {
				return fmt.Sprintf("missing required body field %q", p.Name)
			}
			if raw, ok := bodyObj[p.Name]; ok && (p.Type == "containers" || p.Type == "object") {
				var m map[string]any
				if json.Unmarshal(raw, &m) != nil {
					return fmt.Sprintf("body field %q must be a JSON object", p.Name)
				}
			}
		case "path":
			if rt.params[p.Name] == "" {
				return fmt.Sprintf("empty path parameter %q", p.Name)
			}
		}
	}
	return ""
}

// checkValue validates one raw query value against the parameter's type
// and allowableValues. Multiple-valued parameters are comma lists.
func checkValue(p *apiParam, raw string) string {
	vals := []string{raw}
	if p.Multiple {
		vals = strings.Split(raw, ",")
	}
	for _, v := range vals {
		switch p.Type {
		case "int", "long":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Sprintf("parameter %q=%q is not an integer", p.Name, v)
			}
			if p.HasMin && n < int64(p.Min) {
				return fmt.Sprintf("parameter %q=%d below minimum %d", p.Name, n, p.Min)
			}
			if p.HasMax && n > int64(p.Max) {
				return fmt.Sprintf("parameter %q=%d above maximum %d", p.Name, n, p.Max)
			}
		case "boolean":
			switch strings.ToLower(v) {
			case "true", "false", "yes", "no", "1", "0", "on", "off":
			default:
				return fmt.Sprintf("parameter %q=%q is not a boolean", p.Name, v)
			}
		}
		if len(p.Values) > 0 && !slices.Contains(p.Values, v) {
			return fmt.Sprintf("parameter %q=%q not in allowed values %v", p.Name, v, p.Values)
		}
	}
	return ""
}
