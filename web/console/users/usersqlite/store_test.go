package usersqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dargah137/dargah/web/console/users"
	"github.com/dargah137/dargah/web/console/users/usersqlite"
	"github.com/dargah137/dargah/web/console/users/userstest"
)

func TestStore(t *testing.T) {
	userstest.Run(t, func(t *testing.T) users.Store {
		s, err := usersqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dargah.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestAuditAppendOnly: the database itself refuses to change or delete
// audit entries, whoever connects.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dargah.db")
	s, err := usersqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.AuditAppend(ctx, users.Entry{At: time.Now(), Actor: "a", Action: "sign_in"}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`UPDATE console_audit SET actor = 'b'`, `DELETE FROM console_audit`} {
		if _, err := db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
}
