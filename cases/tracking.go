package cases

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// Tracking codes are 10 digits: 9 random digits (the first never 0, so the
// code survives being typed into a numeric field) and a Verhoeff check digit,
// which catches every single-digit error and every swap of neighbours — the
// mistakes people make reading a number aloud over the phone.
const TrackingCodeLen = 10

// NewTrackingCode returns a fresh random code. Uniqueness is the store's job
// (unique index, retry on collision); with 9·10^8 codes collisions are rare.
func NewTrackingCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(900_000_000))
	if err != nil {
		return "", fmt.Errorf("tracking code: %w", err)
	}
	body := fmt.Sprintf("%09d", n.Int64()+100_000_000)
	return body + string(rune('0'+verhoeffCheck(body))), nil
}

// ValidTrackingCode reports whether s is 10 ASCII digits with a correct check digit.
func ValidTrackingCode(s string) bool {
	if len(s) != TrackingCodeLen || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return verhoeffValid(s)
}

var verhoeffD = [10][10]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
	{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
	{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

var verhoeffP = [8][10]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
	{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
	{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

var verhoeffInv = [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}

func verhoeffCheck(digits string) int {
	c := 0
	for i := len(digits) - 1; i >= 0; i-- {
		pos := len(digits) - i // the check digit will take position 0
		c = verhoeffD[c][verhoeffP[pos%8][int(digits[i]-'0')]]
	}
	return verhoeffInv[c]
}

func verhoeffValid(digits string) bool {
	c := 0
	for i := len(digits) - 1; i >= 0; i-- {
		pos := len(digits) - 1 - i
		c = verhoeffD[c][verhoeffP[pos%8][int(digits[i]-'0')]]
	}
	return c == 0
}
