package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dargah137/dargah/web/console/users"
)

const (
	sessionCookie = "dargah_console"
	// preCookie carries the sign-in form's CSRF token (double submit):
	// there is no session yet to hold a synchronizer token.
	preCookie = "dargah_console_pre"
)

// principal is the signed-in user of one request.
type principal struct {
	user    users.User
	session users.Session
}

func randomToken() string {
	b := make([]byte, 32) // 256 bits
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	s := sha256.Sum256([]byte(id))
	return hex.EncodeToString(s[:])
}

func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: c.cfg.Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode}
}

// sameOrigin checks Origin (or Referer when a browser sends no Origin)
// against the request's host and the configured origins. A request with
// neither is not from a browser form and still needs the CSRF token.
func (c *Console) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return true
		}
		u, err := url.Parse(ref)
		if err != nil {
			return false
		}
		o = u.Scheme + "://" + u.Host
	}
	if slices.Contains(c.cfg.Origins, o) {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && u.Host == r.Host && (u.Scheme == "https" || (u.Scheme == "http" && r.TLS == nil))
}

func tokenEqual(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// auth loads the session, checks expiry, the user, the roles (nil: any
// signed-in user) and, on state-changing methods, Origin and CSRF token.
func (c *Console) auth(roles []users.Role, h func(http.ResponseWriter, *http.Request, *principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			c.toSignIn(w, r, "")
			return
		}
		idHash := hashID(ck.Value)
		s, err := c.users.SessionGet(ctx, idHash)
		if errors.Is(err, users.ErrNotFound) {
			c.toSignIn(w, r, "session_expired")
			return
		}
		if err != nil {
			c.log.Error("console: session", "err", err)
			c.fail(w, r, nil, http.StatusInternalServerError, "server_error")
			return
		}
		now := c.now()
		if now.Sub(s.SeenAt) > c.cfg.IdleTimeout || now.Sub(s.CreatedAt) > c.cfg.MaxAge {
			_ = c.users.SessionDelete(ctx, idHash)
			c.toSignIn(w, r, "session_expired")
			return
		}
		u, err := c.users.UserGet(ctx, s.UserID)
		if err != nil || u.Disabled {
			_ = c.users.SessionDelete(ctx, idHash)
			c.toSignIn(w, r, "session_expired")
			return
		}
		p := &principal{user: u, session: s}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if !c.sameOrigin(r) || !tokenEqual(tok, s.CSRF) {
				c.audit(ctx, r, u.Username, "csrf_rejected", r.URL.Path, "")
				c.fail(w, r, p, http.StatusForbidden, "csrf")
				return
			}
		}
		if roles != nil && !slices.ContainsFunc(roles, u.Has) {
			c.audit(ctx, r, u.Username, "forbidden", r.URL.Path, "")
			c.fail(w, r, p, http.StatusForbidden, "forbidden")
			return
		}
		// Touch at most once a minute: activity, not every request, moves
		// the idle deadline, and most requests stay read-only.
		if now.Sub(s.SeenAt) > min(time.Minute, c.cfg.IdleTimeout/10) {
			if err := c.users.SessionTouch(ctx, idHash, now); err != nil {
				c.log.Warn("console: touch session", "err", err)
			}
		}
		h(w, r, p)
	}
}

// toSignIn sends a browser to the sign-in page, or answers 401 to a
// script (SSE, fetch).
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, reason string) {
	if r.Method != http.MethodGet || r.Header.Get("Accept") == "text/event-stream" {
		c.fail(w, r, nil, http.StatusUnauthorized, "session_expired")
		return
	}
	q := url.Values{}
	if reason != "" {
		q.Set("why", reason)
	}
	if r.URL.Path != c.cfg.Prefix+"/" {
		q.Set("next", r.URL.Path)
	}
	target := c.cfg.Prefix + "/sign-in"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type signInData struct {
	Username, Next string
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.showSignIn(w, r, http.StatusOK, "", signInData{Next: safeNext(c.cfg.Prefix, r.URL.Query().Get("next"))}, r.URL.Query().Get("why"))
}

func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, msg string, d signInData, why string) {
	tok := randomToken()
	http.SetCookie(w, c.cookie(r, preCookie, tok, 3600))
	v := view{CSRF: tok, Data: d, Error: msg}
	if msg == "" && (why == "session_expired") {
		v.Flash = translate(c.lang(w, r), why)
	}
	c.render(w, r, nil, status, "signin", "sign_in", v)
}

// safeNext keeps a post-sign-in redirect inside the consoles: a clean
// local path under the prefix, or the home page.
func safeNext(prefix, next string) string {
	home := prefix + "/"
	if next == "" || len(next) > 200 || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" || strings.ContainsRune(u.Path, '\\') {
		return home
	}
	clean := path.Clean(u.Path)
	if !hasPrefix(clean, home) {
		return home
	}
	return (&url.URL{Path: clean}).EscapedPath()
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := c.lang(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.showSignIn(w, r, http.StatusBadRequest, translate(lang, "bad_credentials"), signInData{}, "")
		return
	}
	d := signInData{Username: users.NormalizeUsername(r.PostFormValue("username")), Next: safeNext(c.cfg.Prefix, r.PostFormValue("next"))}
	pre, _ := r.Cookie(preCookie)
	if pre == nil || !c.sameOrigin(r) || !tokenEqual(r.PostFormValue("csrf"), pre.Value) {
		c.audit(ctx, r, "", "csrf_rejected", "sign_in", d.Username)
		c.showSignIn(w, r, http.StatusForbidden, translate(lang, "csrf"), d, "")
		return
	}
	pw := r.PostFormValue("password")
	if len(d.Username) > 64 || !utf8.ValidString(d.Username) {
		d.Username = ""
	}
	ip := c.clientIP(r)
	now := c.now()
	userKey, ipKey := "user:"+d.Username, "ip:"+ip
	nu, err1 := c.users.ThrottleCount(ctx, userKey, now, c.cfg.Lockout)
	ni, err2 := c.users.ThrottleCount(ctx, ipKey, now, c.cfg.Lockout)
	if err := errors.Join(err1, err2); err != nil {
		c.log.Error("console: throttle", "err", err)
		c.showSignIn(w, r, http.StatusInternalServerError, translate(lang, "server_error"), d, "")
		return
	}
	if nu >= c.cfg.MaxFailures || ni >= c.cfg.MaxFailuresIP {
		c.audit(ctx, r, d.Username, "sign_in_locked", d.Username, "")
		mins := int(math.Ceil(c.cfg.Lockout.Minutes()))
		c.showSignIn(w, r, http.StatusTooManyRequests, digits(lang, fmt.Sprintf(translate(lang, "locked"), mins)), d, "")
		return
	}
	u, err := c.users.UserGetByName(ctx, d.Username)
	hash := u.PasswordHash
	if err != nil {
		hash = c.dummyHash
	}
	ok, verr := false, error(nil)
	if utf8.RuneCountInString(pw) <= users.MaxPassword {
		select {
		case c.hashSlots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		ok, verr = users.VerifyPassword(hash, pw)
		<-c.hashSlots
	}
	if err != nil && !errors.Is(err, users.ErrNotFound) {
		c.log.Error("console: sign in", "err", err)
		c.showSignIn(w, r, http.StatusInternalServerError, translate(lang, "server_error"), d, "")
		return
	}
	if verr != nil {
		c.log.Error("console: stored password hash", "user", d.Username, "err", verr)
	}
	if err != nil || !ok || u.Disabled {
		_, e1 := c.users.ThrottleHit(ctx, userKey, now, c.cfg.Lockout)
		_, e2 := c.users.ThrottleHit(ctx, ipKey, now, c.cfg.Lockout)
		if e := errors.Join(e1, e2); e != nil {
			c.log.Error("console: throttle", "err", e)
		}
		detail := "wrong password"
		switch {
		case err != nil:
			detail = "no such user"
		case u.Disabled:
			detail = "disabled"
		}
		c.audit(ctx, r, d.Username, "sign_in_failed", d.Username, detail)
		c.showSignIn(w, r, http.StatusUnauthorized, translate(lang, "bad_credentials"), d, "")
		return
	}
	id := randomToken()
	s := users.Session{IDHash: hashID(id), UserID: u.ID, CSRF: randomToken(), IP: ip, UserAgent: truncate(r.UserAgent(), 200),
		CreatedAt: now, SeenAt: now}
	if err := c.users.SessionCreate(ctx, s); err != nil {
		c.log.Error("console: create session", "err", err)
		c.showSignIn(w, r, http.StatusInternalServerError, translate(lang, "server_error"), d, "")
		return
	}
	if err := c.users.ThrottleClear(ctx, userKey); err != nil {
		c.log.Warn("console: clear throttle", "err", err)
	}
	if n, err := c.users.SessionSweep(ctx, now.Add(-c.cfg.IdleTimeout), now.Add(-c.cfg.MaxAge)); err != nil {
		c.log.Warn("console: sweep sessions", "err", err)
	} else if n > 0 {
		c.log.Debug("console: swept sessions", "n", n)
	}
	if _, err := c.users.ThrottleSweep(ctx, now.Add(-c.cfg.Lockout)); err != nil {
		c.log.Warn("console: sweep throttle", "err", err)
	}
	c.audit(ctx, r, u.Username, "sign_in", u.Username, "")
	http.SetCookie(w, c.cookie(r, preCookie, "", -1))
	http.SetCookie(w, c.cookie(r, sessionCookie, id, 0))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := c.users.SessionDelete(r.Context(), p.session.IDHash); err != nil {
		c.log.Error("console: sign out", "err", err)
	}
	c.audit(r.Context(), r, p.user.Username, "sign_out", p.user.Username, "")
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, c.cfg.Prefix+"/sign-in", http.StatusSeeOther)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
