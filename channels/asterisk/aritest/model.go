package aritest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// conform checks decoded JSON v against type typ of the description
// (api_gen.go) and returns the problems found. The double checks its own
// answers and events with it, so what the client is tested against has
// the shape Asterisk documents.
func conform(typ string, v any, where string) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, where+": "+fmt.Sprintf(format, args...))
	}
	if inner, ok := strings.CutPrefix(typ, "List["); ok {
		inner = strings.TrimSuffix(inner, "]")
		list, ok := v.([]any)
		if !ok {
			bad("want a list of %s, have %T", inner, v)
			return out
		}
		for i, e := range list {
			out = append(out, conform(inner, e, fmt.Sprintf("%s[%d]", where, i))...)
		}
		return out
	}
	switch typ {
	case "void", "binary", "":
		return nil
	case "string":
		if _, ok := v.(string); !ok {
			bad("want string, have %T", v)
		}
	case "int", "long":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			bad("want integer, have %v", v)
		}
	case "double":
		if _, ok := v.(float64); !ok {
			bad("want number, have %T", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want boolean, have %T", v)
		}
	case "Date":
		s, ok := v.(string)
		if !ok {
			bad("want date string, have %T", v)
		} else if _, err := time.Parse("2006-01-02T15:04:05.000-0700", s); err != nil {
			bad("date %q not in Asterisk's layout", s)
		}
	case "object", "containers":
		if _, ok := v.(map[string]any); !ok {
			bad("want object, have %T", v)
		}
	default:
		props, known := modelProps(typ)
		if !known {
			return nil // a model the description references but does not define
		}
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want %s object, have %T", typ, v)
			return out
		}
		for _, p := range props {
			val, present := obj[p.Name]
			if !present {
				if p.Required {
					bad("%s lacks required %q", typ, p.Name)
				}
				continue
			}
			out = append(out, conform(p.Type, val, where+"."+p.Name)...)
			if s, ok := val.(string); ok && len(p.Values) > 0 && !slices.Contains(p.Values, s) {
				bad("%s.%s = %q not in %v", typ, p.Name, s, p.Values)
			}
		}
		for k := range obj {
			if !slices.ContainsFunc(props, func(p apiProp) bool { return p.Name == k }) {
				bad("%s has no property %q", typ, k)
			}
		}
	}
	return out
}

// modelProps returns a model's properties plus those of the base types it
// extends (Message, Event) through subTypes.
func modelProps(id string) ([]apiProp, bool) {
	m, ok := apiModels[id]
	if !ok {
		return nil, false
	}
	props := slices.Clone(m.Props)
	for base, bm := range apiModels {
		if base != id && slices.Contains(bm.SubTypes, id) {
			bp, _ := modelProps(base)
			props = append(props, bp...)
		}
	}
	return props, true
}

// selfCheck fails the test when the double produced JSON that does not
// match the description: that is a bug in aritest, not in the client.
func (s *Server) selfCheck(typ string, raw []byte, what string) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		s.t.Errorf("aritest bug: %s is not JSON: %v", what, err)
		return
	}
	if probs := conform(typ, v, typ); len(probs) > 0 {
		s.t.Errorf("aritest bug: %s does not match the ARI description: %s", what, strings.Join(probs, "; "))
	}
}
