package userdb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dargah137/dargah/internal/testenv"
	"github.com/dargah137/dargah/web/console/users/userdb"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct{ driver, dsn, path string }{
		{"sqlite", "", filepath.Join(t.TempDir(), "dargah.db")},
		{"postgres", testenv.PostgresURL(t), ""},
	} {
		s, err := userdb.Open(ctx, tc.driver, tc.dsn, tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.driver, err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Errorf("%s migrate: %v", tc.driver, err)
		}
		s.Close()
	}
	if _, err := userdb.Open(ctx, "mysql", "", ""); err == nil {
		t.Error("unknown driver accepted")
	}
	if _, err := userdb.Open(ctx, "sqlite", "", ""); err == nil {
		t.Error("sqlite without a path accepted")
	}
}
