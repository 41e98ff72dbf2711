package process_test

import (
	"testing"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/cases/process"
	"github.com/dargah137/dargah/cases/storetest"
)

// The process's steps run against both stores in cases/storetest
// (ProcessOpenAssigns, ProcessEscalationLadder, …); these are the parts
// that need no store.

func TestNewNeedsStoreOrgLadder(t *testing.T) {
	if _, err := process.New(process.Config{Org: storetest.Org(t), Ladder: storetest.Ladder(t)}); err == nil {
		t.Fatal("no store accepted")
	}
}

func TestActorSees(t *testing.T) {
	c := cases.Case{Department: "parks"}
	for _, tc := range []struct {
		a    process.Actor
		want bool
	}{
		{process.Actor{Role: process.RoleDepartment, Department: "parks"}, true},
		{process.Actor{Role: process.RoleDepartment, Department: "transport"}, false},
		{process.Actor{Role: process.RoleDepartment}, false},
		{process.Actor{Role: process.RoleStaff}, true},
		{process.Actor{Role: process.RoleFollowUp}, true},
	} {
		if got := tc.a.Sees(c); got != tc.want {
			t.Errorf("%s sees a parks case: %v", tc.a, got)
		}
	}
	if s := (process.Actor{Role: process.RoleDepartment, Department: "parks", Name: "علی"}).String(); s != "department:parks/علی" {
		t.Errorf("actor string %q", s)
	}
}
