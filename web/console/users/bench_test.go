package users

import "testing"

// BenchmarkHashPassword measures one argon2id hash with the production
// parameters: the cost of a sign-in attempt to the server.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("a-long-enough-secret"); err != nil {
			b.Fatal(err)
		}
	}
}
