package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/dargah137/dargah/web/console/users"
)

type userForm struct {
	User   users.User
	IsNew  bool
	Errors []string
}

type userListData struct {
	Users []users.User
	Form  userForm
}

func (c *Console) userList(w http.ResponseWriter, r *http.Request, p *principal) {
	c.showUsers(w, r, p, http.StatusOK, userForm{IsNew: true}, "")
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, p *principal, status int, f userForm, flash string) {
	list, err := c.users.UserList(r.Context())
	if err != nil {
		c.log.Error("console: list users", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	c.render(w, r, p, status, "users", "users", view{Data: userListData{Users: list, Form: f}, Flash: flash})
}

// formErrors turns validation errors into translated messages, one per
// problem, so the form says everything that is wrong at once.
func formErrors(lang string, err error) []string {
	var out []string
	for _, m := range []struct {
		err error
		key string
	}{
		{users.ErrUsername, "err_username"}, {users.ErrRoles, "err_roles"}, {users.ErrDepartment, "err_department"},
		{users.ErrName, "err_name"}, {users.ErrPasswordPolicy, "err_password"}, {users.ErrConflict, "err_taken"},
		{errSelfAdmin, "err_self_admin"},
	} {
		if errors.Is(err, m.err) {
			out = append(out, translate(lang, m.key))
		}
	}
	if len(out) == 0 && err != nil {
		out = append(out, translate(lang, "server_error"))
	}
	return out
}

var errSelfAdmin = errors.New("cannot remove own admin role or disable self")

// readUser reads the shared fields of the create and edit forms. Unknown
// roles are an error, not dropped, so a tampered form is not half-applied.
func readUser(r *http.Request, u *users.User) error {
	u.Name = strings.TrimSpace(r.PostFormValue("name"))
	u.Department = strings.ToLower(strings.TrimSpace(r.PostFormValue("department")))
	u.Roles = nil
	for _, v := range r.PostForm["roles"] {
		role := users.Role(v)
		if !role.Valid() {
			return users.ErrRoles
		}
		if !slices.Contains(u.Roles, role) {
			u.Roles = append(u.Roles, role)
		}
	}
	return u.Validate()
}

func (c *Console) userCreate(w http.ResponseWriter, r *http.Request, p *principal) {
	lang := c.lang(w, r)
	u := users.User{Username: users.NormalizeUsername(r.PostFormValue("username"))}
	err := readUser(r, &u)
	pw := r.PostFormValue("password")
	if perr := users.CheckPolicy(pw); perr != nil {
		err = errors.Join(err, perr)
	}
	if err == nil {
		if u.PasswordHash, err = c.cfg.PasswordParams.Hash(pw); err == nil {
			u.CreatedAt = c.now()
			u, err = c.users.UserCreate(r.Context(), u)
		}
	}
	if err != nil {
		if !isFormError(err) {
			c.log.Error("console: create user", "err", err)
		}
		c.showUsers(w, r, p, http.StatusUnprocessableEntity, userForm{User: u, IsNew: true, Errors: formErrors(lang, err)}, "")
		return
	}
	c.audit(r.Context(), r, p.user.Username, "user_create", u.Username, "roles="+u.RoleList()+" department="+u.Department)
	c.showUsers(w, r, p, http.StatusOK, userForm{IsNew: true}, translate(lang, "created"))
}

func isFormError(err error) bool {
	for _, e := range []error{users.ErrUsername, users.ErrRoles, users.ErrDepartment, users.ErrName, users.ErrPasswordPolicy, users.ErrConflict, errSelfAdmin} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (c *Console) loadUser(w http.ResponseWriter, r *http.Request, p *principal) (users.User, bool) {
	u, err := c.users.UserGetByName(r.Context(), users.NormalizeUsername(r.PathValue("username")))
	if errors.Is(err, users.ErrNotFound) {
		c.fail(w, r, p, http.StatusNotFound, "not_found")
		return u, false
	}
	if err != nil {
		c.log.Error("console: get user", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return u, false
	}
	return u, true
}

func (c *Console) userEdit(w http.ResponseWriter, r *http.Request, p *principal) {
	u, ok := c.loadUser(w, r, p)
	if !ok {
		return
	}
	c.render(w, r, p, http.StatusOK, "user", "edit", view{Data: userListData{Form: userForm{User: u}}})
}

func (c *Console) userUpdate(w http.ResponseWriter, r *http.Request, p *principal) {
	lang := c.lang(w, r)
	old, ok := c.loadUser(w, r, p)
	if !ok {
		return
	}
	u := old
	err := readUser(r, &u)
	u.Disabled = r.PostFormValue("disabled") == "on"
	if u.ID == p.user.ID && (!u.Has(users.RoleAdmin) || u.Disabled) {
		err = errors.Join(err, errSelfAdmin)
	}
	pw := r.PostFormValue("password")
	if pw != "" {
		if perr := users.CheckPolicy(pw); perr != nil {
			err = errors.Join(err, perr)
		} else if err == nil {
			u.PasswordHash, err = c.cfg.PasswordParams.Hash(pw)
		}
	}
	if err == nil {
		u.UpdatedAt = c.now()
		err = c.users.UserUpdate(r.Context(), u)
	}
	if err != nil {
		if !isFormError(err) {
			c.log.Error("console: update user", "err", err)
		}
		c.render(w, r, p, http.StatusUnprocessableEntity, "user", "edit", view{Data: userListData{Form: userForm{User: u, Errors: formErrors(lang, err)}}})
		return
	}
	// A changed password, role set or a disable signs the user out
	// everywhere, so an old tab cannot keep rights it lost.
	if u.ID != p.user.ID && (pw != "" || u.Disabled || u.RoleList() != old.RoleList() || u.Department != old.Department) {
		if err := c.users.SessionDeleteUser(r.Context(), u.ID); err != nil {
			c.log.Error("console: sign out user", "err", err)
		}
	}
	detail := "roles=" + u.RoleList() + " department=" + u.Department
	if u.Disabled {
		detail += " disabled"
	}
	if pw != "" {
		detail += " password changed"
	}
	c.audit(r.Context(), r, p.user.Username, "user_update", u.Username, detail)
	c.render(w, r, p, http.StatusOK, "user", "edit", view{Data: userListData{Form: userForm{User: u}}, Flash: translate(lang, "saved")})
}

func (c *Console) auditList(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	f := users.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Limit: 200}
	list, err := c.users.AuditList(r.Context(), f)
	if err != nil {
		c.log.Error("console: audit list", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "server_error")
		return
	}
	c.render(w, r, p, http.StatusOK, "audit", "audit", view{Data: struct {
		Filter  users.AuditFilter
		Entries []users.Entry
	}{f, list}})
}
