// Package org is the city's organization as configuration: departments and
// their head, deputy and manager; the inspection organization, the
// follow-up unit and the response-and-feedback unit; which department owns
// each service code; and the municipal districts as GeoJSON polygons, so a
// case with a location reaches the right district office.
//
// An *Org is built by Load or Parse, validated as a whole, and read-only
// afterwards (safe for concurrent use). See configs/org.yaml.
package org

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Names is a display name in Dargah's languages; fa is required.
type Names struct {
	FA string `yaml:"fa"`
	EN string `yaml:"en"`
	AR string `yaml:"ar"`
}

// Get returns the name in lang ("fa", "en", "ar"), falling back to Persian.
func (n Names) Get(lang string) string {
	switch {
	case lang == "en" && n.EN != "":
		return n.EN
	case lang == "ar" && n.AR != "":
		return n.AR
	}
	return n.FA
}

// Contact is a person or desk that receives cases and escalations.
type Contact struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	Phone string `yaml:"phone"` // E.164, e.g. +985131234567
}

// IsZero reports whether no field is set.
func (c Contact) IsZero() bool { return c == Contact{} }

// Webhook is a department's office automation endpoint. The HMAC secret is
// read from the environment variable SecretEnv, never from the file.
type Webhook struct {
	URL       string `yaml:"url"`
	SecretEnv string `yaml:"secret_env"`
}

// Secret returns the webhook's HMAC secret from lookup (os.LookupEnv when
// nil); an unset or empty variable is an error naming it.
func (w Webhook) Secret(lookup func(string) (string, bool)) ([]byte, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(w.SecretEnv)
	if !ok || v == "" {
		return nil, fmt.Errorf("webhook secret: environment variable %s is not set", w.SecretEnv)
	}
	return []byte(v), nil
}

// Department is a municipal department responsible for some services.
type Department struct {
	Code    string   `yaml:"code"`
	Name    Names    `yaml:"name"`
	Head    Contact  `yaml:"head"`
	Deputy  Contact  `yaml:"deputy"`
	Manager Contact  `yaml:"manager"`
	Webhook *Webhook `yaml:"webhook"` // nil: no office automation
	// Offices are the department's district offices by district code; a
	// case in such a district goes to the office instead of the head.
	Offices map[string]Contact `yaml:"offices"`
}

// Unit is a city-wide body: the inspection organization, the follow-up
// unit, the response-and-feedback unit.
type Unit struct {
	Title   Names `yaml:"title"`
	Contact `yaml:",inline"`
}

// District is a municipal district with its area.
type District struct {
	Code string `yaml:"code"`
	Name Names  `yaml:"name"`
	// Area is a Polygon or MultiPolygon in (long, lat) order, as GeoJSON has it.
	Area orb.Geometry `yaml:"-"`
}

// Contains reports whether the point is inside the district (boundary included).
func (d District) Contains(lat, long float64) bool {
	p := orb.Point{long, lat}
	switch g := d.Area.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p)
	}
	return false
}

// Org is the loaded organization.
type Org struct {
	// Name is the file name or the name given to Parse, used in errors.
	Name        string
	Departments []Department // in file order
	Inspection  Unit
	FollowUp    Unit
	Feedback    Unit
	// Contacts are named contacts an escalation ladder may address directly.
	Contacts map[string]Contact
	// Services maps a service code to a department code; "other" is always present.
	Services map[string]string
	// Districts in file order; DistrictAt returns the first that contains a point.
	Districts []District

	depts     map[string]int
	districts map[string]int
}

// ServiceOther is the catch-all service; org.yaml must map it.
const ServiceOther = "other"

// ErrUnknown is wrapped by lookups of a code the organization does not have.
var ErrUnknown = errors.New("unknown")

// Department returns the department with that code.
func (o *Org) Department(code string) (Department, bool) {
	i, ok := o.depts[code]
	if !ok {
		return Department{}, false
	}
	return o.Departments[i], true
}

// District returns the district with that code.
func (o *Org) District(code string) (District, bool) {
	i, ok := o.districts[code]
	if !ok {
		return District{}, false
	}
	return o.Districts[i], true
}

// Contact returns a named contact from the contacts section.
func (o *Org) Contact(name string) (Contact, bool) {
	c, ok := o.Contacts[name]
	return c, ok
}

// DistrictAt returns the district containing the point. Districts are tried
// in file order, so a small district listed first (Samen around the Holy
// Shrine) wins over a larger one around it even if their shapes overlap.
// Points outside every district (outside the city) return false.
func (o *Org) DistrictAt(lat, long float64) (District, bool) {
	for _, d := range o.Districts {
		if d.Contains(lat, long) {
			return d, true
		}
	}
	return District{}, false
}

// Assignment is where a case goes at level 0 of the escalation ladder.
type Assignment struct {
	Service    string
	Department Department
	// District is zero (Code "") when the case has no point or the point
	// is outside the city.
	District District
	// Office receives the case: the department's office in District when
	// it has one, otherwise the department head.
	Office Contact
}

// Route assigns a case: the department that owns serviceCode and, when the
// case has a point (hasPoint), the district containing it and that
// district's office of the department. A point outside the city is not an
// error: the case goes to the department head. An unknown service code is
// an error wrapping ErrUnknown; callers that want a catch-all route
// ServiceOther instead.
func (o *Org) Route(serviceCode string, lat, long float64, hasPoint bool) (Assignment, error) {
	deptCode, ok := o.Services[serviceCode]
	if !ok {
		return Assignment{}, fmt.Errorf("route service %q: %w service", serviceCode, ErrUnknown)
	}
	a := Assignment{Service: serviceCode, Department: o.Departments[o.depts[deptCode]]}
	if hasPoint {
		a.District, _ = o.DistrictAt(lat, long)
	}
	a.Office = a.Department.officeIn(a.District.Code)
	return a, nil
}

// Assignment rebuilds an assignment from the codes a case stores
// (cases.Case.Department, .District, .ServiceCode), e.g. when the
// scheduler escalates a case later. An empty districtCode means none; a
// district code no longer in the file is an error wrapping ErrUnknown.
func (o *Org) Assignment(serviceCode, deptCode, districtCode string) (Assignment, error) {
	d, ok := o.Department(deptCode)
	if !ok {
		return Assignment{}, fmt.Errorf("assignment: department %q: %w department", deptCode, ErrUnknown)
	}
	a := Assignment{Service: serviceCode, Department: d}
	if districtCode != "" {
		if a.District, ok = o.District(districtCode); !ok {
			return Assignment{}, fmt.Errorf("assignment: district %q: %w district", districtCode, ErrUnknown)
		}
	}
	a.Office = d.officeIn(a.District.Code)
	return a, nil
}

func (d Department) officeIn(district string) Contact {
	if c, ok := d.Offices[district]; ok && district != "" {
		return c
	}
	return d.Head
}

// CheckServices reports service codes (e.g. routing.yaml's) that have no
// department here, so `dargah validate` can catch a service added to
// routing but not to the organization.
func (o *Org) CheckServices(codes []string) error {
	var missing []string
	for _, c := range codes {
		if _, ok := o.Services[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("%s: services: no department for %q", o.Name, missing)
	}
	return nil
}

var codeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
