package console

import (
	"math"
	"strconv"
	"testing"

	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/configs"
)

func TestParseSkills(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // formatSkills of the result; "" for an error
	}{
		{"fa:5 asphalt:3", "asphalt:3 fa:5"},
		{"fa:5,asphalt:3", "asphalt:3 fa:5"},
		{"fa:5، ar:1", "ar:1 fa:5"},
		{"  fa:1  ", "fa:1"},
		{"", ""},
		{"fa", ""},
		{"fa:0", ""},
		{"fa:6", ""},
		{":3", ""},
		{"fa:x", ""},
	} {
		got, err := parseSkills(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseSkills(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || formatSkills(got) != tc.want {
			t.Errorf("parseSkills(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseSkills: whatever an agent types, skills come back valid or
// not at all.
func FuzzParseSkills(f *testing.F) {
	for _, s := range []string{"fa:5 asphalt:3", "fa:5,ar:1", "", "x:9", "a:1:2", "۱:۲"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseSkills(s)
		if err != nil {
			return
		}
		if len(m) == 0 {
			t.Fatal("no error and no skills")
		}
		for k, v := range m {
			if k == "" || v < 1 || v > 5 {
				t.Fatalf("skill %q:%d from %q", k, v, s)
			}
		}
	})
}

// TestDistrictMap: the map's script formula turns a point drawn for a
// district back into that district's coordinates, and the first district
// of org.yaml is drawn last (on top).
func TestDistrictMap(t *testing.T) {
	t.Parallel()
	o, err := org.Parse("org.yaml", configs.Org)
	if err != nil {
		t.Fatal(err)
	}
	m := newDistrictMap(o.Districts, "fa")
	if m == nil || len(m.Shapes) < len(o.Districts) {
		t.Fatalf("map %+v", m)
	}
	if last := m.Shapes[len(m.Shapes)-1]; last.Code != o.Districts[0].Code {
		t.Errorf("top shape is %s, want %s", last.Code, o.Districts[0].Code)
	}
	order := map[string]int{}
	for i, d := range o.Districts {
		order[d.Code] = i
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	minLong, maxLat, sx, sy := f(m.MinLong), f(m.MaxLat), f(m.ScaleX), f(m.ScaleY)
	for _, sh := range m.Shapes {
		lat, long := maxLat-sh.LabelY/sy, minLong+sh.LabelX/sx
		d, ok := o.DistrictAt(lat, long)
		if !ok {
			t.Errorf("%s: centre %.5f,%.5f is in no district", sh.Code, lat, long)
			continue
		}
		// Overlapping districts: the centre of the larger may fall in an
		// earlier one drawn over it; only that is allowed.
		if d.Code != sh.Code && order[d.Code] > order[sh.Code] {
			t.Errorf("%s: centre %.5f,%.5f falls in %s", sh.Code, lat, long, d.Code)
		}
		if math.IsNaN(lat) || lat < 30 || lat > 40 {
			t.Errorf("%s: lat %f", sh.Code, lat)
		}
	}
	if newDistrictMap(nil, "fa") != nil {
		t.Error("a map without districts")
	}
}
