package org

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dargah137/dargah/configs"
	"gopkg.in/yaml.v3"
)

const shippedPath = "../../configs/org.yaml"

func shipped(t testing.TB) *Org {
	t.Helper()
	o, err := Load(shippedPath)
	if err != nil {
		t.Fatalf("Load shipped: %v", err)
	}
	return o
}

func TestDistrictAt(t *testing.T) {
	t.Parallel()
	o := shipped(t)
	cases := []struct {
		name      string
		lat, long float64
		want      string // "" = outside the city
	}{
		{"Holy Shrine", 36.2880, 59.6157, "samen"},
		{"Samen edge shared with district 8", 36.2800, 59.6100, "samen"},
		{"west of the shrine", 36.2900, 59.5900, "d08"},
		{"north of the shrine", 36.3000, 59.6157, "d08"},
		{"Ahmadabad-ish", 36.3100, 59.5400, "d01"},
		{"Vakilabad-ish west", 36.3200, 59.4700, "d09"},
		{"north-west", 36.3800, 59.5000, "d10"},
		{"north", 36.3800, 59.6000, "d02"},
		{"north-east", 36.3800, 59.7000, "d03"},
		{"east", 36.3000, 59.7200, "d04"},
		{"east-centre", 36.3000, 59.6600, "d13"},
		{"south", 36.2300, 59.6000, "d06"},
		{"south-east", 36.2300, 59.6600, "d05"},
		{"far south-east", 36.2300, 59.7200, "d07"},
		{"south-west", 36.2300, 59.5400, "d11"},
		{"far south-west", 36.2300, 59.4700, "d12"},
		{"Tehran", 35.6892, 51.3890, ""},
		{"just north of the city", 36.4300, 59.6000, ""},
		{"just west of the city", 36.3000, 59.4400, ""},
		{"Gulf of Guinea", 0, 0, ""},
	}
	for _, c := range cases {
		d, ok := o.DistrictAt(c.lat, c.long)
		if ok != (c.want != "") || d.Code != c.want {
			t.Errorf("%s (%v, %v): got %q ok=%v, want %q", c.name, c.lat, c.long, d.Code, ok, c.want)
		}
	}
}

// The shipped shapes partition the city: every interior sample point lies
// in exactly one district (boundaries are shared, so samples avoid them).
func TestShippedDistrictsDoNotOverlap(t *testing.T) {
	t.Parallel()
	o := shipped(t)
	if len(o.Districts) != 14 {
		t.Fatalf("districts = %d, want 13 + Samen", len(o.Districts))
	}
	for lat := 36.2005; lat < 36.42; lat += 0.0031 {
		for long := 59.4505; long < 59.75; long += 0.0033 {
			n := 0
			for _, d := range o.Districts {
				if d.Contains(lat, long) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("(%v, %v) lies in %d districts", lat, long, n)
			}
		}
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	o := shipped(t)
	cases := []struct {
		name      string
		service   string
		lat, long float64
		hasPoint  bool
		dept      string
		district  string
		office    string // contact email
	}{
		{"asphalt at the shrine goes to Samen office", "asphalt", 36.2880, 59.6157, true, "civil_works", "samen", "civil.samen@mashhad.example"},
		{"asphalt in district 1 office", "asphalt", 36.3100, 59.5400, true, "civil_works", "d01", "civil.d01@mashhad.example"},
		{"asphalt in a district without office goes to head", "asphalt", 36.3800, 59.7000, true, "civil_works", "d03", "civil.head@mashhad.example"},
		{"no point", "sidewalk", 0, 0, false, "civil_works", "", "civil.head@mashhad.example"},
		{"outside the city", "sidewalk", 35.6892, 51.3890, true, "civil_works", "", "civil.head@mashhad.example"},
		{"lighting", "street_lighting", 36.2880, 59.6157, true, "street_lighting", "samen", "lighting.head@mashhad.example"},
		{"waste", "waste_collection", 36.23, 59.60, true, "waste_management", "d06", "waste.head@mashhad.example"},
		{"green space", "green_space", 0, 0, false, "parks", "", "parks.head@mashhad.example"},
		{"traffic", "traffic", 0, 0, false, "transport", "", "traffic.head@mashhad.example"},
		{"other", "other", 0, 0, false, "urban_services", "", "services.head@mashhad.example"},
		{"curb_gutter", "curb_gutter", 0, 0, false, "civil_works", "", "civil.head@mashhad.example"},
	}
	for _, c := range cases {
		a, err := o.Route(c.service, c.lat, c.long, c.hasPoint)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.Department.Code != c.dept || a.District.Code != c.district || a.Office.Email != c.office || a.Service != c.service {
			t.Errorf("%s: got dept=%s district=%s office=%s", c.name, a.Department.Code, a.District.Code, a.Office.Email)
		}
		// The stored codes rebuild the same assignment.
		b, err := o.Assignment(a.Service, a.Department.Code, a.District.Code)
		if err != nil || b.Office != a.Office || b.District.Code != a.District.Code {
			t.Errorf("%s: Assignment rebuild = %+v, %v", c.name, b.Office, err)
		}
	}
	if _, err := o.Route("teleportation", 0, 0, false); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown service: err = %v", err)
	}
	if _, err := o.Assignment("asphalt", "ministry_of_magic", ""); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown department: err = %v", err)
	}
	if _, err := o.Assignment("asphalt", "civil_works", "d99"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown district: err = %v", err)
	}
}

// Every service the router can emit has a department.
func TestShippedCoversRoutingServices(t *testing.T) {
	t.Parallel()
	var r struct {
		Services []struct {
			Code string `yaml:"code"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(configs.Routing, &r); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, s := range r.Services {
		codes = append(codes, s.Code)
	}
	if len(codes) == 0 {
		t.Fatal("no services in routing.yaml")
	}
	o := shipped(t)
	if err := o.CheckServices(codes); err != nil {
		t.Error(err)
	}
	if err := o.CheckServices([]string{"asphalt", "moon_repair"}); err == nil || !strings.Contains(err.Error(), "moon_repair") {
		t.Errorf("CheckServices missing code: %v", err)
	}
}

func TestNamesAndSecret(t *testing.T) {
	t.Parallel()
	o := shipped(t)
	d, _ := o.Department("parks")
	if d.Name.Get("en") != "Parks and Green Space Organization" || d.Name.Get("ur") != d.Name.FA {
		t.Errorf("names: %+v", d.Name)
	}
	env := map[string]string{"DARGAH_OA_SECRET_PARKS": "s3cret"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if s, err := d.Webhook.Secret(lookup); err != nil || string(s) != "s3cret" {
		t.Errorf("Secret = %q, %v", s, err)
	}
	d, _ = o.Department("transport")
	if _, err := d.Webhook.Secret(lookup); err == nil || !strings.Contains(err.Error(), "DARGAH_OA_SECRET_TRANSPORT") {
		t.Errorf("missing secret: %v", err)
	}
	if c, ok := o.Contact("center_supervisor"); !ok || c.Phone == "" {
		t.Errorf("named contact: %+v %v", c, ok)
	}
}

const minimal = `
departments:
  - code: works
    name: {fa: عمران}
    head: {name: رئیس, email: head@x.example}
inspection: {title: {fa: بازرسی}, email: insp@x.example}
follow_up: {title: {fa: پیگیری}, phone: "+985131370002"}
feedback: {title: {fa: بازخورد}, email: fb@x.example}
services: {other: works}
districts:
  - code: a
    name: {fa: الف}
    area: {"type": "Polygon", "coordinates": [[[59, 36], [60, 36], [60, 37], [59, 37], [59, 36]]]}
`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	if _, err := Parse("min.yaml", []byte(minimal)); err != nil {
		t.Fatalf("minimal: %v", err)
	}
	cases := []struct {
		name    string
		edit    func(string) string
		wantAll []string
	}{
		{"unknown key", func(s string) string { return s + "colour: blue\n" }, []string{"min.yaml", "colour"}},
		{"unknown department in services", func(s string) string {
			return strings.Replace(s, "services: {other: works}", "services: {other: works, asphalt: roads}", 1)
		}, []string{"min.yaml: services.asphalt: unknown department \"roads\""}},
		{"other must map", func(s string) string {
			return strings.Replace(s, "services: {other: works}", "services: {asphalt: works}", 1)
		}, []string{"services.other: missing"}},
		{"duplicate department", func(s string) string {
			return strings.Replace(s, "inspection:", "  - code: works\n    name: {fa: دو}\n    head: {name: ب, phone: \"+989121234567\"}\ninspection:", 1)
		}, []string{"departments[1].code: duplicate department \"works\""}},
		{"missing head", func(s string) string {
			return strings.Replace(s, "    head: {name: رئیس, email: head@x.example}\n", "", 1)
		}, []string{"departments[0] (works).head: missing"}},
		{"head without a way to reach", func(s string) string {
			return strings.Replace(s, "head: {name: رئیس, email: head@x.example}", "head: {name: رئیس}", 1)
		}, []string{"departments[0] (works).head: needs an email or a phone"}},
		{"bad phone", func(s string) string {
			return strings.Replace(s, `phone: "+985131370002"`, `phone: "05131370002"`, 1)
		}, []string{"follow_up.phone"}},
		{"invalid GeoJSON type", func(s string) string {
			return strings.Replace(s, `"type": "Polygon"`, `"type": "Polygonn"`, 1)
		}, []string{"districts[0] (a).area: invalid GeoJSON"}},
		{"point is not an area", func(s string) string {
			return strings.Replace(s, `{"type": "Polygon", "coordinates": [[[59, 36], [60, 36], [60, 37], [59, 37], [59, 36]]]}`, `{"type": "Point", "coordinates": [59, 36]}`, 1)
		}, []string{"want Polygon or MultiPolygon"}},
		{"open ring", func(s string) string { return strings.Replace(s, "[59, 37], [59, 36]]]", "[59, 37], [59, 36.5]]]", 1) },
			[]string{"not closed"}},
		{"missing area", func(s string) string {
			return strings.Replace(s, `    area: {"type": "Polygon", "coordinates": [[[59, 36], [60, 36], [60, 37], [59, 37], [59, 36]]]}`+"\n", "", 1)
		}, []string{"districts[0] (a).area: missing GeoJSON"}},
		{"office in unknown district", func(s string) string {
			return strings.Replace(s, "head: {name: رئیس, email: head@x.example}", "head: {name: رئیس, email: head@x.example}\n    offices: {zz: {name: n, email: z@x.example}}", 1)
		}, []string{"offices.zz: unknown district"}},
		{"webhook without secret env", func(s string) string {
			return strings.Replace(s, "head: {name: رئیس, email: head@x.example}", "head: {name: رئیس, email: head@x.example}\n    webhook: {url: \"ftp://oa\"}", 1)
		}, []string{"webhook.url", "webhook.secret_env: missing"}},
		{"missing inspection", func(s string) string {
			return strings.Replace(s, "inspection: {title: {fa: بازرسی}, email: insp@x.example}\n", "", 1)
		}, []string{"inspection.title.fa: missing", "inspection: missing contact"}},
		{"empty", func(string) string { return "" }, []string{"min.yaml: empty"}},
	}
	for _, c := range cases {
		_, err := Parse("min.yaml", []byte(c.edit(minimal)))
		if err == nil {
			t.Errorf("%s: want error", c.name)
			continue
		}
		for _, w := range c.wantAll {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestDistrictsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fc := `{"type": "FeatureCollection", "features": [
	  {"type": "Feature", "properties": {"code": "b", "name_fa": "ب", "name_en": "B"},
	   "geometry": {"type": "MultiPolygon", "coordinates": [[[[60, 36], [61, 36], [61, 37], [60, 37], [60, 36]]]]}}
	]}`
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("districts.geojson", fc)
	o, err := Load(write("org.yaml", minimal+"districts_file: districts.geojson\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := o.DistrictAt(36.5, 60.5); !ok || d.Code != "b" || d.Name.Get("en") != "B" {
		t.Errorf("DistrictAt from file = %+v %v", d, ok)
	}
	if d, ok := o.DistrictAt(36.5, 59.5); !ok || d.Code != "a" {
		t.Errorf("inline district = %+v %v", d, ok)
	}
	for name, c := range map[string]struct{ geojson, want string }{
		"missing file":  {"", "districts_file"},
		"not geojson":   {`{"type": "Feature"}`, "invalid GeoJSON"},
		"no code":       {strings.Replace(fc, `"code": "b", `, "", 1), `features[0].code: ""`},
		"duplicate":     {strings.Replace(fc, `"code": "b"`, `"code": "a"`, 1), `duplicate district "a"`},
		"no fa name":    {strings.Replace(fc, `"name_fa": "ب", `, "", 1), "(b).name.fa: missing"},
		"line geometry": {strings.Replace(fc, `{"type": "MultiPolygon", "coordinates": [[[[60, 36], [61, 36], [61, 37], [60, 37], [60, 36]]]]}`, `{"type": "LineString", "coordinates": [[60, 36], [61, 36]]}`, 1), "want Polygon"},
	} {
		file := "none.geojson"
		if c.geojson != "" {
			file = strings.ReplaceAll(name, " ", "_") + ".geojson"
			write(file, c.geojson)
		}
		_, err := Load(write(strings.ReplaceAll(name, " ", "_")+".yaml", minimal+"districts_file: "+file+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("districts: [{code: a, name: {fa: x}, area: {type: MultiPolygon, coordinates: []}}]"))
	f.Add([]byte(`districts: [{code: a, area: {"type": "Polygon", "coordinates": [[]]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.Contains(string(data), "districts_file") {
			return // reads the disk; covered by TestDistrictsFile
		}
		o, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// A valid organization routes its catch-all anywhere without panicking.
		o.DistrictAt(36.29, 59.61)
		if _, err := o.Route(ServiceOther, 36.29, 59.61, true); err != nil {
			t.Fatalf("valid org cannot route other: %v", err)
		}
	})
}

func BenchmarkDistrictAt(b *testing.B) {
	o := shipped(b)
	for b.Loop() {
		o.DistrictAt(36.2300, 59.7200) // last listed district: the worst case
	}
}
