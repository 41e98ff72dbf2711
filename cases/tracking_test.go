package cases

import "testing"

func TestTrackingCodeRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c, err := NewTrackingCode()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidTrackingCode(c) {
			t.Fatalf("fresh code %s does not validate", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
}

func TestTrackingCodeCatchesTypos(t *testing.T) {
	c, _ := NewTrackingCode()
	b := []byte(c)
	for i := range b {
		for d := byte('0'); d <= '9'; d++ {
			if d == c[i] {
				continue
			}
			m := append([]byte(nil), b...)
			m[i] = d
			if ValidTrackingCode(string(m)) {
				t.Errorf("single-digit change %s of %s validates", m, c)
			}
		}
	}
	for i := 0; i+1 < len(b); i++ {
		if b[i] == b[i+1] {
			continue
		}
		m := append([]byte(nil), b...)
		m[i], m[i+1] = m[i+1], m[i]
		if ValidTrackingCode(string(m)) {
			t.Errorf("swap %s of %s validates", m, c)
		}
	}
}

func TestValidTrackingCodeRejects(t *testing.T) {
	for _, s := range []string{"", "123", "０１２３٤٥٦٧٨٩", "12345678901", "abcdefghij", "0123456789"} {
		if ValidTrackingCode(s) {
			t.Errorf("%q validated", s)
		}
	}
}
