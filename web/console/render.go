package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/dargah137/dargah/cases/org"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/web/console/users"
)

// view is what every page template gets. Text from citizens and staff goes
// through html/template's contextual escaping; nothing is marked safe.
type view struct {
	Lang, Dir, Prefix, Path string
	query                   url.Values // of this page, kept by language links
	CSRF                    string
	Title                   string // message key
	User                    *users.User
	Error                   string // translated, shown in an alert region
	Flash                   string
	Data                    any
	c                       *Console
}

// T translates a message key.
func (v view) T(key string) string { return translate(v.Lang, key) }

// Tf translates a key with a printf verb.
func (v view) Tf(key string, a ...any) string { return digits(v.Lang, fmt.Sprintf(v.T(key), a...)) }

// Date shows a time as a Jalali date.
func (v view) Date(t time.Time) string { return formatDate(v.Lang, t) }

// Num writes a number in the reader's digits.
func (v view) Num(x any) string { return digits(v.Lang, fmt.Sprint(x)) }

// Role names a role.
func (v view) Role(r users.Role) string { return v.T("role_" + string(r)) }

// Status names a case status.
func (v view) Status(s cases.Status) string { return v.T("status_" + string(s)) }

// Event names a timeline event kind; a kind without a name shows as is.
func (v view) Event(kind string) string {
	if _, ok := messages["ev_"+kind]; ok {
		return v.T("ev_" + kind)
	}
	return kind
}

// Service names a service code in the reader's language, or the code.
func (v view) Service(code string) string {
	if n := v.c.services[code]; n != nil {
		if s := n[v.Lang]; s != "" {
			return s
		}
		if s := n["fa"]; s != "" {
			return s
		}
	}
	return code
}

// Dept names a department code in the page's language (the code when
// org.yaml does not name it).
func (v view) Dept(code string) string { return orgName(v.c.departments, code, v.Lang) }

// District names a district code in the page's language.
func (v view) District(code string) string { return orgName(v.c.districts, code, v.Lang) }

func orgName(names map[string]org.Names, code, lang string) string {
	if n, ok := names[code]; ok {
		if s := n.Get(lang); s != "" {
			return s
		}
	}
	return code
}

// Roles lists every role, for forms.
func (v view) Roles() []users.Role { return users.Roles }

// Has reports whether the signed-in user holds any of the named roles.
func (v view) Has(names ...string) bool {
	if v.User == nil {
		return false
	}
	for _, n := range names {
		if v.User.Has(users.Role(n)) {
			return true
		}
	}
	return false
}

// Langs lists the other languages with a link to this page in each.
func (v view) Langs() []struct{ Code, Name, URL string } {
	names := map[string]string{"fa": "فارسی", "en": "English", "ar": "العربية"}
	var out []struct{ Code, Name, URL string }
	for _, l := range langs {
		if l != v.Lang {
			q := url.Values{}
			for k, vs := range v.query {
				if k != "lang" && k != "done" {
					q[k] = vs
				}
			}
			q.Set("lang", l)
			out = append(out, struct{ Code, Name, URL string }{l, names[l], v.Path + "?" + q.Encode()})
		}
	}
	return out
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", base, err)
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// render writes page with status; it renders into a buffer first so a
// template error gives a clean 500, not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, p *principal, status int, page, title string, v view) {
	v.c, v.Prefix, v.Path, v.Title, v.query = c, c.cfg.Prefix, r.URL.Path, title, r.URL.Query()
	v.Lang = c.lang(w, r)
	v.Dir = dir(v.Lang)
	if p != nil {
		v.User, v.CSRF = &p.user, p.session.CSRF
	}
	var buf bytes.Buffer
	t := c.pages[page]
	if t == nil {
		c.log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders an error page with a translated message.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *principal, status int, key string) {
	lang := c.lang(w, r)
	c.render(w, r, p, status, "error", key, view{Error: translate(lang, key)})
}

// JSON encodes x for a data- attribute a script reads (html/template
// escapes it for the attribute).
func (v view) JSON(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return "null"
	}
	return string(b)
}

// writeJSON answers a script's request (the phone desk's in-place state
// changes) with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
