// Package swagger reads Asterisk's ARI description (Swagger 1.1/1.2:
// resources.json plus one file per resource) and renders the compact Go
// table the aritest validator uses, so tests do not need the JSON files.
package swagger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// API is the whole description.
type API struct {
	Ops    []Op
	Models []Model // sorted by ID
}

// Op is one REST operation.
type Op struct {
	Resource      string // file, e.g. "channels"
	Method        string
	Path          string // below /ari, with {param} segments
	Nickname      string
	ResponseClass string // "Channel", "List[Bridge]", "void", "binary", ...
	Params        []Param
}

// Model is a JSON object type (Channel, Bridge, StasisStart, ...).
type Model struct {
	ID       string
	SubTypes []string // for Message and Event, the types that extend them
	Props    []Prop   // sorted by Name
}

// Prop is one property of a model.
type Prop struct {
	Name     string
	Type     string // string, int, long, double, boolean, Date, object, List[X], or a model ID
	Required bool
	Values   []string // LIST allowableValues
}

// Param is one operation parameter.
type Param struct {
	Name     string
	In       string // path, query or body
	Type     string // string, int, long, boolean, containers, object, ...
	Required bool
	Multiple bool
	Values   []string // LIST allowableValues
	Min, Max *int     // RANGE allowableValues
}

type resources struct {
	APIs []struct {
		Path string `json:"path"`
	} `json:"apis"`
}

type apiFile struct {
	Models map[string]struct {
		SubTypes   []string `json:"subTypes"`
		Properties map[string]struct {
			Type            string `json:"type"`
			Required        bool   `json:"required"`
			AllowableValues *struct {
				Values []string `json:"values"`
			} `json:"allowableValues"`
		} `json:"properties"`
	} `json:"models"`
	APIs []struct {
		Path       string `json:"path"`
		Operations []struct {
			HTTPMethod    string `json:"httpMethod"`
			Nickname      string `json:"nickname"`
			ResponseClass string `json:"responseClass"`
			Parameters    []struct {
				Name            string `json:"name"`
				ParamType       string `json:"paramType"`
				Required        *bool  `json:"required"`
				AllowMultiple   bool   `json:"allowMultiple"`
				DataType        string `json:"dataType"`
				AllowableValues *struct {
					ValueType string   `json:"valueType"`
					Values    []string `json:"values"`
					Min       *int     `json:"min"`
					Max       *int     `json:"max"`
				} `json:"allowableValues"`
			} `json:"parameters"`
		} `json:"operations"`
	} `json:"apis"`
}

// Load reads dir/resources.json and every resource file it lists, in that
// order.
func Load(dir string) (*API, error) {
	b, err := os.ReadFile(filepath.Join(dir, "resources.json"))
	if err != nil {
		return nil, fmt.Errorf("read resources.json: %w", err)
	}
	var idx resources
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("parse resources.json: %w", err)
	}
	var ops []Op
	models := map[string]Model{}
	for _, r := range idx.APIs {
		// "/api-docs/channels.{format}" -> channels
		name := strings.TrimSuffix(filepath.Base(r.Path), ".{format}")
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			return nil, fmt.Errorf("read %s.json: %w", name, err)
		}
		var f apiFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("parse %s.json: %w", name, err)
		}
		for _, a := range f.APIs {
			for _, o := range a.Operations {
				op := Op{Resource: name, Method: o.HTTPMethod, Path: a.Path, Nickname: o.Nickname, ResponseClass: o.ResponseClass}
				for _, p := range o.Parameters {
					q := Param{Name: p.Name, In: p.ParamType, Type: p.DataType, Multiple: p.AllowMultiple}
					// Path parameters are required by construction even
					// where a file leaves "required" out (endpoints.json).
					q.Required = p.ParamType == "path" || (p.Required != nil && *p.Required)
					if av := p.AllowableValues; av != nil {
						switch av.ValueType {
						case "LIST":
							q.Values = av.Values
						case "RANGE":
							q.Min, q.Max = av.Min, av.Max
						default:
							return nil, fmt.Errorf("%s %s %s: unknown allowableValues type %q", name, o.HTTPMethod, a.Path, av.ValueType)
						}
					}
					op.Params = append(op.Params, q)
				}
				ops = append(ops, op)
			}
		}
		for id, m := range f.Models {
			if _, dup := models[id]; dup {
				return nil, fmt.Errorf("%s.json: model %s defined twice", name, id)
			}
			md := Model{ID: id, SubTypes: m.SubTypes}
			for pn, p := range m.Properties {
				pr := Prop{Name: pn, Type: p.Type, Required: p.Required}
				if p.AllowableValues != nil {
					pr.Values = p.AllowableValues.Values
				}
				md.Props = append(md.Props, pr)
			}
			sort.Slice(md.Props, func(i, j int) bool { return md.Props[i].Name < md.Props[j].Name })
			models[id] = md
		}
	}
	api := &API{Ops: ops}
	for _, m := range models {
		api.Models = append(api.Models, m)
	}
	sort.Slice(api.Models, func(i, j int) bool { return api.Models[i].ID < api.Models[j].ID })
	return api, nil
}

// Render returns gofmt'ed Go source for package pkg declaring
// `var apiOps = []apiOp{...}` and `var apiModels = map[string]apiModel{...}`
// (the types live in that package).
func Render(pkg string, api *API) ([]byte, error) {
	ops := api.Ops
	var w bytes.Buffer
	fmt.Fprintf(&w, "// Code generated by go run ./gen; DO NOT EDIT.\n// Source: Asterisk 22 rest-api/api-docs/*.json (see TestAPITableMatchesDescription).\n\npackage %s\n\n", pkg)
	w.WriteString("var apiOps = []apiOp{\n")
	for _, o := range ops {
		fmt.Fprintf(&w, "{Resource: %q, Method: %q, Path: %q, Nickname: %q, Response: %q, Params: []apiParam{\n", o.Resource, o.Method, o.Path, o.Nickname, o.ResponseClass)
		for _, p := range o.Params {
			fmt.Fprintf(&w, "{Name: %q, In: %q, Type: %q", p.Name, p.In, p.Type)
			if p.Required {
				w.WriteString(", Required: true")
			}
			if p.Multiple {
				w.WriteString(", Multiple: true")
			}
			if len(p.Values) > 0 {
				fmt.Fprintf(&w, ", Values: %#v", p.Values)
			}
			if p.Min != nil {
				fmt.Fprintf(&w, ", HasMin: true, Min: %d", *p.Min)
			}
			if p.Max != nil {
				fmt.Fprintf(&w, ", HasMax: true, Max: %d", *p.Max)
			}
			w.WriteString("},\n")
		}
		w.WriteString("}},\n")
	}
	w.WriteString("}\n\nvar apiModels = map[string]apiModel{\n")
	for _, m := range api.Models {
		fmt.Fprintf(&w, "%q: {", m.ID)
		if len(m.SubTypes) > 0 {
			fmt.Fprintf(&w, "SubTypes: %#v, ", m.SubTypes)
		}
		w.WriteString("Props: []apiProp{\n")
		for _, p := range m.Props {
			fmt.Fprintf(&w, "{Name: %q, Type: %q", p.Name, p.Type)
			if p.Required {
				w.WriteString(", Required: true")
			}
			if len(p.Values) > 0 {
				fmt.Fprintf(&w, ", Values: %#v", p.Values)
			}
			w.WriteString("},\n")
		}
		w.WriteString("}},\n")
	}
	w.WriteString("}\n")
	return format.Source(w.Bytes())
}
