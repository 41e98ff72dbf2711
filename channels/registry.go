package channels

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Factory constructs an adapter with default settings and no side effects.
type Factory func() Adapter

// registry is the only package-level state in Dargah: adapter kinds register
// here in init, like Caddy modules.
var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes an adapter kind available to config. It panics on an empty
// or duplicate name, which can only be a programming error at init time.
func Register(kind string, f Factory) {
	if kind == "" || f == nil {
		panic("channels: Register with empty kind or nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[kind]; dup {
		panic("channels: Register called twice for kind " + kind)
	}
	registry.m[kind] = f
}

// Kinds lists registered adapter kinds, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for k := range registry.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Portal is a decoded, validated portal ready to start.
type Portal struct {
	Name    string
	Kind    string
	Adapter Adapter
}

// DecodePortals builds every portal of a top-level `portals:` YAML sequence.
// file is used in error messages only. Unknown kinds, unknown keys, duplicate
// names and invalid settings fail, naming file, portal and key; all problems
// are reported together.
func DecodePortals(file string, node *yaml.Node) ([]Portal, error) {
	if node == nil || node.Kind == 0 {
		return nil, nil
	}
	if node.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: portals must be a list", file, node.Line)
	}
	var (
		out   []Portal
		errs  []error
		names = map[string]int{}
	)
	for _, item := range node.Content {
		p, err := decodePortal(file, item)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if line, dup := names[p.Name]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: portal %q: name already used at line %d", file, item.Line, p.Name, line))
			continue
		}
		names[p.Name] = item.Line
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func decodePortal(file string, item *yaml.Node) (Portal, error) {
	if item.Kind != yaml.MappingNode {
		return Portal{}, fmt.Errorf("%s:%d: a portal must be a mapping with name and type", file, item.Line)
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	var name, kind string
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		switch k.Value {
		case "name":
			name = strings.TrimSpace(v.Value)
		case "type":
			kind = strings.TrimSpace(v.Value)
		default:
			rest.Content = append(rest.Content, k, v)
		}
	}
	where := fmt.Sprintf("%s:%d: portal %q", file, item.Line, name)
	if name == "" {
		return Portal{}, fmt.Errorf("%s: name is required", where)
	}
	if kind == "" {
		return Portal{}, fmt.Errorf("%s: type is required (one of %s)", where, strings.Join(Kinds(), ", "))
	}
	registry.RLock()
	factory, ok := registry.m[kind]
	registry.RUnlock()
	if !ok {
		return Portal{}, fmt.Errorf("%s: unknown type %q (known: %s)", where, kind, strings.Join(Kinds(), ", "))
	}
	a := factory()
	if len(rest.Content) > 0 {
		// yaml.Node.Decode cannot reject unknown keys; re-encode and decode
		// with KnownFields so a typo in config fails loudly.
		raw, err := yaml.Marshal(rest)
		if err != nil {
			return Portal{}, fmt.Errorf("%s: %w", where, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(a.Settings()); err != nil {
			return Portal{}, fmt.Errorf("%s (type %s): %s", where, kind, describeYAMLError(err, item.Line))
		}
	}
	if err := a.Validate(); err != nil {
		return Portal{}, fmt.Errorf("%s (type %s): %w", where, kind, err)
	}
	return Portal{Name: name, Kind: kind, Adapter: a}, nil
}

// describeYAMLError rewrites yaml's "line N" (relative to the re-encoded
// block) into plain words, since the block's own line is already named.
func describeYAMLError(err error, _ int) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	// "line 3: field foo not found in type x.Settings" → "unknown key \"foo\""
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, ": "); strings.HasPrefix(l, "line ") && i > 0 {
			l = l[i+2:]
		}
		if strings.HasPrefix(l, "field ") && strings.Contains(l, " not found in type") {
			key := strings.TrimPrefix(l, "field ")
			key = key[:strings.Index(key, " not found")]
			l = fmt.Sprintf("unknown key %q", key)
		}
		out = append(out, l)
	}
	return strings.Join(out, "; ")
}
