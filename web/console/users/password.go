package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (m=19 MiB, t=2, p=1).
// 64 MiB per hash pushed the whole gateway's resident memory past its
// budget on a burst of sign-ins; stored hashes carry their own parameters,
// so older ones still verify.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password length bounds, in characters; the upper bound keeps hashing cost
// from being chosen by the client.
const (
	MinPassword = 10
	MaxPassword = 128
)

// ErrPasswordPolicy is returned for a password outside the length bounds.
var ErrPasswordPolicy = fmt.Errorf("password must be %d–%d characters", MinPassword, MaxPassword)

// CheckPolicy reports whether pw is acceptable as a new password.
func CheckPolicy(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPassword || n > MaxPassword {
		return ErrPasswordPolicy
	}
	return nil
}

// Params are argon2id's cost parameters.
type Params struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultParams are used by HashPassword. Tests under -race may hash with
// cheaper Params: verification reads the cost from the stored string.
var DefaultParams = Params{Time: argonTime, MemoryKiB: argonMemory, Threads: argonThreads}

// HashPassword returns an argon2id PHC string with DefaultParams:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
func HashPassword(pw string) (string, error) { return DefaultParams.Hash(pw) }

// Hash returns an argon2id PHC string of pw with cost p; a zero p means
// DefaultParams.
func (p Params) Hash(pw string) (string, error) {
	if p == (Params{}) {
		p = DefaultParams
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is returned for a stored hash that is not a PHC argon2id string.
var ErrBadHash = errors.New("not an argon2id PHC string")

// VerifyPassword reports whether pw matches the PHC string, comparing in
// constant time. The parameters come from the string, so old hashes keep
// working after the defaults change.
func VerifyPassword(phc, pw string) (bool, error) {
	p, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.t, p.m, p.p, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type phc struct {
	m, t      uint32
	p         uint8
	salt, key []byte
}

// parsePHC reads $argon2id$v=19$m=..,t=..,p=..$salt$hash with bounds that
// keep a corrupt or hostile row from asking for gigabytes of memory.
func parsePHC(s string) (phc, error) {
	var out phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return out, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return out, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	var m, t, p uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] {
		return out, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	if m < 8 || m > 1<<20 || t < 1 || t > 16 || p < 1 || p > 16 {
		return out, fmt.Errorf("%w: parameters out of range", ErrBadHash)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return out, fmt.Errorf("%w: salt", ErrBadHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return out, fmt.Errorf("%w: hash", ErrBadHash)
	}
	return phc{m: m, t: t, p: uint8(p), salt: salt, key: key}, nil
}
