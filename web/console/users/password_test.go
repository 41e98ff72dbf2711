package users

import (
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("رمز-بسیار-محکم")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not the expected PHC form", h)
	}
	if ok, err := VerifyPassword(h, "رمز-بسیار-محکم"); err != nil || !ok {
		t.Fatalf("verify right password = %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(h, "رمز-بسیار-محکن"); err != nil || ok {
		t.Fatalf("verify wrong password = %v, %v", ok, err)
	}
	h2, _ := Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}.Hash("رمز-بسیار-محکم")
	if !strings.HasPrefix(h2, "$argon2id$v=19$m=8192,t=1,p=1$") || !must(VerifyPassword(h2, "رمز-بسیار-محکم")) {
		t.Errorf("hash with own params %q does not verify", h2)
	}
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestPolicyAndValidate(t *testing.T) {
	t.Parallel()
	if CheckPolicy("short") == nil || CheckPolicy(strings.Repeat("x", 129)) == nil || CheckPolicy("long enough pw") != nil {
		t.Error("password policy bounds wrong")
	}
	for _, tc := range []struct {
		u  User
		ok bool
	}{
		{User{Username: "ali", Roles: []Role{RoleAgent}}, true},
		{User{Username: "A li", Roles: []Role{RoleAgent}}, false},
		{User{Username: "ali", Roles: nil}, false},
		{User{Username: "ali", Roles: []Role{RoleDepartment}}, false},
		{User{Username: "ali", Roles: []Role{RoleDepartment}, Department: "roads"}, true},
		{User{Username: "ali", Roles: []Role{RoleAgent}, Department: "roads"}, false},
		{User{Username: "ali", Roles: []Role{"boss"}}, false},
	} {
		if err := tc.u.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.u, err, tc.ok)
		}
	}
	if _, err := ParseRoles("agent, supervisor,agent"); err != nil {
		t.Error(err)
	}
	if _, err := ParseRoles("agent,boss"); err == nil {
		t.Error("unknown role accepted")
	}
}

// FuzzVerifyPassword feeds stored-hash strings to the PHC parser: it must
// never panic nor accept a string it cannot have produced.
func FuzzVerifyPassword(f *testing.F) {
	h, _ := HashPassword("0123456789")
	for _, s := range []string{h, "", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2i$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", "$$$$$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parsePHC(s)
	})
}

func must(ok bool, err error) bool { return ok && err == nil }
