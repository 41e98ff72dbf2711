package org

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"gopkg.in/yaml.v3"
)

type fileDistrict struct {
	Code string    `yaml:"code"`
	Name Names     `yaml:"name"`
	Area yaml.Node `yaml:"area"`
}

type file struct {
	Departments []Department       `yaml:"departments"`
	Inspection  Unit               `yaml:"inspection"`
	FollowUp    Unit               `yaml:"follow_up"`
	Feedback    Unit               `yaml:"feedback"`
	Contacts    map[string]Contact `yaml:"contacts"`
	Services    map[string]string  `yaml:"services"`
	Districts   []fileDistrict     `yaml:"districts"`
	// DistrictsFile is a GeoJSON FeatureCollection (a GIS export), read
	// after the inline districts; see ParseDistricts.
	DistrictsFile string `yaml:"districts_file"`
}

// Load reads and validates an organization file.
func Load(path string) (*Org, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load organization: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates an organization from data; name (usually the
// file path) prefixes every error. Decoding is strict: an unknown key is an
// error. Validation reports every problem found, joined, each naming the
// key (e.g. "org.yaml: departments[2] (green_space).head.name: missing").
// A districts_file key is read from disk, relative to the directory of name.
func Parse(name string, data []byte) (*Org, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty organization file", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	o := &Org{
		Name: name, Departments: f.Departments, Inspection: f.Inspection, FollowUp: f.FollowUp,
		Feedback: f.Feedback, Contacts: f.Contacts, Services: f.Services,
		depts: map[string]int{}, districts: map[string]int{},
	}
	if o.Contacts == nil {
		o.Contacts = map[string]Contact{}
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", name, key, fmt.Sprintf(format, args...)))
	}

	addDistrict := func(key string, d District, areaErr error) {
		if !codeRE.MatchString(d.Code) {
			bad(key+".code", "%q is not a code (a-z, 0-9, _ or -)", d.Code)
		} else if _, dup := o.districts[d.Code]; dup {
			bad(key+".code", "duplicate district %q", d.Code)
		}
		key = fmt.Sprintf("%s (%s)", key, d.Code)
		if d.Name.FA == "" {
			bad(key+".name.fa", "missing")
		}
		if areaErr != nil {
			bad(key+".area", "%v", areaErr)
		}
		o.districts[d.Code] = len(o.Districts)
		o.Districts = append(o.Districts, d)
	}
	for i, d := range f.Districts {
		area, err := decodeArea(&d.Area)
		addDistrict(fmt.Sprintf("districts[%d]", i), District{Code: d.Code, Name: d.Name, Area: area}, err)
	}
	if f.DistrictsFile != "" {
		path := f.DistrictsFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(name), path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			bad("districts_file", "%v", err)
		} else if ds, err := ParseDistricts(data); err != nil {
			bad("districts_file", "%s: %v", path, err)
		} else {
			for i, d := range ds {
				_, areaErr := checkArea(d.Area)
				addDistrict(fmt.Sprintf("districts_file %s: features[%d]", path, i), d, areaErr)
			}
		}
	}

	if len(o.Departments) == 0 {
		bad("departments", "at least one department is required")
	}
	for i, d := range o.Departments {
		key := fmt.Sprintf("departments[%d]", i)
		if !codeRE.MatchString(d.Code) {
			bad(key+".code", "%q is not a code (a-z, 0-9, _ or -)", d.Code)
		} else if _, dup := o.depts[d.Code]; dup {
			bad(key+".code", "duplicate department %q", d.Code)
		}
		key = fmt.Sprintf("departments[%d] (%s)", i, d.Code)
		o.depts[d.Code] = i
		if d.Name.FA == "" {
			bad(key+".name.fa", "missing")
		}
		if d.Head.IsZero() {
			bad(key+".head", "missing: every department needs a head")
		} else {
			checkContact(bad, key+".head", d.Head, true)
		}
		if !d.Deputy.IsZero() {
			checkContact(bad, key+".deputy", d.Deputy, true)
		}
		if !d.Manager.IsZero() {
			checkContact(bad, key+".manager", d.Manager, true)
		}
		if d.Webhook != nil {
			if u, err := url.Parse(d.Webhook.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad(key+".webhook.url", "%q is not an http(s) URL", d.Webhook.URL)
			}
			if d.Webhook.SecretEnv == "" {
				bad(key+".webhook.secret_env", "missing: name the environment variable holding the HMAC secret")
			}
		}
		for dc, c := range d.Offices {
			if _, ok := o.districts[dc]; !ok {
				bad(key+".offices."+dc, "unknown district %q", dc)
			}
			checkContact(bad, key+".offices."+dc, c, true)
		}
	}

	for _, u := range []struct {
		key  string
		unit Unit
	}{{"inspection", o.Inspection}, {"follow_up", o.FollowUp}, {"feedback", o.Feedback}} {
		if u.unit.Title.FA == "" {
			bad(u.key+".title.fa", "missing")
		}
		if u.unit.Contact.IsZero() {
			bad(u.key, "missing contact (name, email, phone)")
		} else {
			checkContact(bad, u.key, u.unit.Contact, false)
		}
	}
	for n, c := range o.Contacts {
		if !codeRE.MatchString(n) {
			bad("contacts."+n, "%q is not a name (a-z, 0-9, _ or -)", n)
		}
		checkContact(bad, "contacts."+n, c, true)
	}

	if o.Services == nil {
		o.Services = map[string]string{}
	}
	if _, ok := o.Services[ServiceOther]; !ok {
		bad("services."+ServiceOther, "missing: the catch-all service must map to a department")
	}
	for svc, dept := range o.Services {
		if !codeRE.MatchString(svc) {
			bad("services."+svc, "%q is not a service code", svc)
		}
		if _, ok := o.depts[dept]; !ok {
			bad("services."+svc, "unknown department %q", dept)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return o, nil
}

func checkContact(bad func(key, format string, args ...any), key string, c Contact, needName bool) {
	if needName && c.Name == "" {
		bad(key+".name", "missing")
	}
	if c.Email == "" && c.Phone == "" {
		bad(key, "needs an email or a phone")
	}
	if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " <>,")) {
		bad(key+".email", "%q is not an address", c.Email)
	}
	if c.Phone != "" && !validPhone(c.Phone) {
		bad(key+".phone", "%q is not E.164 (+98…)", c.Phone)
	}
}

func validPhone(p string) bool {
	if len(p) < 8 || len(p) > 16 || p[0] != '+' {
		return false
	}
	for _, r := range p[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// decodeArea turns the YAML value of an area (a GeoJSON geometry written
// as YAML or inline JSON) into a checked Polygon or MultiPolygon.
func decodeArea(n *yaml.Node) (orb.Geometry, error) {
	if n.Kind == 0 {
		return nil, errors.New("missing GeoJSON geometry")
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid GeoJSON: %w", err)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("invalid GeoJSON: %w", err)
	}
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid GeoJSON: %w", err)
	}
	return checkArea(g.Geometry())
}

// checkArea accepts a Polygon or MultiPolygon with closed rings of valid
// [long, lat] positions.
func checkArea(g orb.Geometry) (orb.Geometry, error) {
	switch geom := g.(type) {
	case orb.Polygon:
		return geom, checkPolygon(geom)
	case orb.MultiPolygon:
		if len(geom) == 0 {
			return nil, errors.New("invalid GeoJSON: empty MultiPolygon")
		}
		for i, p := range geom {
			if err := checkPolygon(p); err != nil {
				return nil, fmt.Errorf("polygon %d: %w", i, err)
			}
		}
		return geom, nil
	case nil:
		return nil, errors.New("invalid GeoJSON: no geometry")
	default:
		return nil, fmt.Errorf("invalid GeoJSON: %s, want Polygon or MultiPolygon", geom.GeoJSONType())
	}
}

// ParseDistricts reads districts from a GeoJSON FeatureCollection, as GIS
// tools export them: each feature's geometry is the area and its
// properties give "code" (required) and "name_fa", "name_en", "name_ar".
// Areas are returned as found; Parse checks them with the inline ones.
func ParseDistricts(data []byte) ([]District, error) {
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		return nil, fmt.Errorf("invalid GeoJSON: %w", err)
	}
	out := make([]District, 0, len(fc.Features))
	for _, f := range fc.Features {
		out = append(out, District{
			Code: f.Properties.MustString("code", ""),
			Name: Names{
				FA: f.Properties.MustString("name_fa", ""),
				EN: f.Properties.MustString("name_en", ""),
				AR: f.Properties.MustString("name_ar", ""),
			},
			Area: f.Geometry,
		})
	}
	return out, nil
}

func checkPolygon(p orb.Polygon) error {
	if len(p) == 0 {
		return errors.New("invalid GeoJSON: polygon without rings")
	}
	for i, r := range p {
		if len(r) < 4 {
			return fmt.Errorf("invalid GeoJSON: ring %d has %d positions, want at least 4", i, len(r))
		}
		if !r.Closed() {
			return fmt.Errorf("invalid GeoJSON: ring %d is not closed (first position must equal last)", i)
		}
		for _, pt := range r {
			lon, lat := pt[0], pt[1]
			if math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
				return fmt.Errorf("invalid GeoJSON: ring %d: position %v is not [long, lat]", i, pt)
			}
		}
	}
	return nil
}
