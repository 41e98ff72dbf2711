package users

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// CommandUsage is the help of `dargah user`.
const CommandUsage = `usage: dargah user <command> [flags]

  add [-name NAME] -roles ROLE[,ROLE] [-department CODE] [-password-env VAR] USERNAME
  list
  passwd [-password-env VAR] USERNAME
  disable USERNAME
  enable USERNAME
  roles [-department CODE] USERNAME ROLE[,ROLE]

Roles: agent, supervisor, department, followup, inspection, admin.
Without -password-env a random password is generated and printed once.
`

// Command runs `dargah user ARGS` against store, writing results to
// stdout. Every change is audited with actor "cli". It does not migrate.
func Command(ctx context.Context, store Store, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, CommandUsage)
		return errors.New("user: missing command")
	}
	c := cmd{ctx: ctx, s: store, out: stdout, now: time.Now}
	switch args[0] {
	case "add":
		return c.add(args[1:])
	case "list":
		return c.list(args[1:])
	case "passwd":
		return c.passwd(args[1:])
	case "disable":
		return c.setDisabled(args[1:], true)
	case "enable":
		return c.setDisabled(args[1:], false)
	case "roles":
		return c.roles(args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, CommandUsage)
		return nil
	default:
		return fmt.Errorf("user: unknown command %q (add, list, passwd, disable, enable, roles)", args[0])
	}
}

type cmd struct {
	ctx context.Context
	s   Store
	out io.Writer
	now func() time.Time
}

func (c cmd) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("user "+name, flag.ContinueOnError)
	fs.SetOutput(c.out)
	return fs
}

// password reads the new password from the named environment variable,
// or makes one, so a password never appears in argv (ps, shell history).
func (c cmd) password(env string) (pw string, generated bool, err error) {
	if env != "" {
		pw = os.Getenv(env)
		if pw == "" {
			return "", false, fmt.Errorf("environment variable %s is empty", env)
		}
		return pw, false, CheckPolicy(pw)
	}
	return GeneratePassword(), true, nil
}

// GeneratePassword returns 16 random characters from an unambiguous alphabet.
func GeneratePassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func oneArg(fs *flag.FlagSet, what string) (string, error) {
	if fs.NArg() != 1 {
		return "", fmt.Errorf("user %s: want exactly one USERNAME, got %d arguments", fs.Name(), fs.NArg())
	}
	return NormalizeUsername(fs.Arg(0)), nil
}

func (c cmd) add(args []string) error {
	fs := c.flags("add")
	name := fs.String("name", "", "display name")
	roles := fs.String("roles", "", "comma-separated roles")
	dept := fs.String("department", "", "department code (for role department)")
	env := fs.String("password-env", "", "environment variable holding the password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	username, err := oneArg(fs, "add")
	if err != nil {
		return err
	}
	rs, err := ParseRoles(*roles)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	u := User{Username: username, Name: strings.TrimSpace(*name), Roles: rs, Department: strings.TrimSpace(*dept)}
	if err := u.Validate(); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	pw, gen, err := c.password(*env)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if u.PasswordHash, err = HashPassword(pw); err != nil {
		return err
	}
	if _, err := c.s.UserCreate(c.ctx, u); err != nil {
		return fmt.Errorf("user add %s: %w", username, err)
	}
	c.audit("user_create", username, "roles="+u.RoleList())
	fmt.Fprintf(c.out, "added %s (%s)\n", username, u.RoleList())
	if gen {
		fmt.Fprintf(c.out, "password: %s\n", pw)
	}
	return nil
}

func (c cmd) list(args []string) error {
	if len(args) != 0 {
		return errors.New("user list: takes no arguments")
	}
	us, err := c.s.UserList(c.ctx)
	if err != nil {
		return fmt.Errorf("user list: %w", err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tNAME\tROLES\tDEPARTMENT\tSTATE")
	for _, u := range us {
		state := "active"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Name, u.RoleList(), u.Department, state)
	}
	return tw.Flush()
}

func (c cmd) get(username string) (User, error) {
	u, err := c.s.UserGetByName(c.ctx, username)
	if err != nil {
		return u, fmt.Errorf("user %s: %w", username, err)
	}
	return u, nil
}

func (c cmd) passwd(args []string) error {
	fs := c.flags("passwd")
	env := fs.String("password-env", "", "environment variable holding the password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	username, err := oneArg(fs, "passwd")
	if err != nil {
		return err
	}
	u, err := c.get(username)
	if err != nil {
		return err
	}
	pw, gen, err := c.password(*env)
	if err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	if u.PasswordHash, err = HashPassword(pw); err != nil {
		return err
	}
	if err := c.s.UserUpdate(c.ctx, u); err != nil {
		return fmt.Errorf("user passwd %s: %w", username, err)
	}
	if err := c.s.SessionDeleteUser(c.ctx, u.ID); err != nil {
		return fmt.Errorf("user passwd %s: sign out sessions: %w", username, err)
	}
	c.audit("user_password", username, "")
	fmt.Fprintf(c.out, "password of %s changed; its sessions are signed out\n", username)
	if gen {
		fmt.Fprintf(c.out, "password: %s\n", pw)
	}
	return nil
}

func (c cmd) setDisabled(args []string, disabled bool) error {
	verb := map[bool]string{true: "disable", false: "enable"}[disabled]
	fs := c.flags(verb)
	if err := fs.Parse(args); err != nil {
		return err
	}
	username, err := oneArg(fs, verb)
	if err != nil {
		return err
	}
	u, err := c.get(username)
	if err != nil {
		return err
	}
	u.Disabled = disabled
	if err := c.s.UserUpdate(c.ctx, u); err != nil {
		return fmt.Errorf("user %s %s: %w", verb, username, err)
	}
	if disabled {
		if err := c.s.SessionDeleteUser(c.ctx, u.ID); err != nil {
			return fmt.Errorf("user disable %s: sign out sessions: %w", username, err)
		}
	}
	c.audit("user_"+verb, username, "")
	fmt.Fprintf(c.out, "%sd %s\n", verb, username)
	return nil
}

func (c cmd) roles(args []string) error {
	fs := c.flags("roles")
	dept := fs.String("department", "", "department code (for role department)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("user roles: want USERNAME ROLE[,ROLE]")
	}
	u, err := c.get(NormalizeUsername(fs.Arg(0)))
	if err != nil {
		return err
	}
	if u.Roles, err = ParseRoles(fs.Arg(1)); err != nil {
		return fmt.Errorf("user roles: %w", err)
	}
	u.Department = strings.TrimSpace(*dept)
	if err := u.Validate(); err != nil {
		return fmt.Errorf("user roles: %w", err)
	}
	if err := c.s.UserUpdate(c.ctx, u); err != nil {
		return fmt.Errorf("user roles %s: %w", u.Username, err)
	}
	// New roles take effect on the next request anyway (sessions point at
	// the user), but a removed role should not linger in an open tab.
	if err := c.s.SessionDeleteUser(c.ctx, u.ID); err != nil {
		return fmt.Errorf("user roles %s: sign out sessions: %w", u.Username, err)
	}
	c.audit("user_roles", u.Username, "roles="+u.RoleList()+" department="+u.Department)
	fmt.Fprintf(c.out, "%s now has %s\n", u.Username, u.RoleList())
	return nil
}

func (c cmd) audit(action, target, detail string) {
	// An audit failure after the change is reported, not hidden.
	if err := c.s.AuditAppend(c.ctx, Entry{At: c.now(), Actor: "cli", Action: action, Target: target, Detail: detail}); err != nil {
		fmt.Fprintf(c.out, "warning: audit log: %v\n", err)
	}
}
