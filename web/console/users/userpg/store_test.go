package userpg_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dargah137/dargah/internal/testenv"
	"github.com/dargah137/dargah/web/console/users"
	"github.com/dargah137/dargah/web/console/users/userpg"
	"github.com/dargah137/dargah/web/console/users/userstest"
)

func TestStore(t *testing.T) {
	userstest.Run(t, func(t *testing.T) users.Store {
		s, err := userpg.Open(context.Background(), testenv.PostgresURL(t))
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
	dsn := testenv.PostgresURL(t)
	s, err := userpg.Open(ctx, dsn)
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
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{`UPDATE console_audit SET actor = 'b'`, `DELETE FROM console_audit`} {
		if _, err := conn.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
}
