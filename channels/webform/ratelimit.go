package webform

import (
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limiter is a token bucket per key (a client IP) with bounded memory:
// each key may spend burst tokens, refilled at burst per period. When it
// holds max keys it first forgets buckets that have refilled (they carry
// no information), then arbitrary ones — an evicted client merely gets a
// fresh bucket, which errs on the side of serving citizens.
type Limiter struct {
	burst  float64
	perSec float64
	max    int
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter allows burst requests per period per key, remembering at most
// max keys. now is the clock (time.Now when nil).
func NewLimiter(burst int, period time.Duration, max int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if max <= 0 {
		max = 10000
	}
	return &Limiter{
		burst:   float64(burst),
		perSec:  float64(burst) / period.Seconds(),
		max:     max,
		now:     now,
		buckets: map[string]*bucket{},
	}
}

// Allow spends one token of key. When none is left it reports false and
// how long until one is.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.perSec)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
	return false, wait
}

// Len reports how many keys the limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// evict makes room for at least one key; l.mu is held.
func (l *Limiter) evict(now time.Time) {
	full := time.Duration(l.burst / l.perSec * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	// Still full: drop about a tenth, chosen by map order (random enough).
	for k := range l.buckets {
		if len(l.buckets) < l.max-l.max/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// clientIP is the rate-limit key of a request: the peer address, or the
// last X-Forwarded-For hop when the proxy in front is trusted.
func clientIP(r *http.Request, trustForwarded bool) string {
	if trustForwarded {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(xff[len(xff)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(hops[len(hops)-1])); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateLimited answers 429 with Retry-After when the client has spent its
// lookups, and reports whether it did.
func (p *Portal) rateLimited(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := p.limiter.Allow(clientIP(r, p.cfg.TrustForwardedFor))
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", itoa(secs))
	return true
}
