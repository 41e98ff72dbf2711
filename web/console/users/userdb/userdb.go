// Package userdb opens the users.Store that matches the case store's
// storage settings, so the app can keep staff accounts in the same
// PostgreSQL database or SQLite file (tables console_*, migrations in
// console_schema_migrations).
package userdb

import (
	"context"
	"fmt"

	"github.com/dargah137/dargah/web/console/users"
	"github.com/dargah137/dargah/web/console/users/userpg"
	"github.com/dargah137/dargah/web/console/users/usersqlite"
)

// Open opens the store for driver "postgres" (dsn) or "sqlite"/"" (path).
// It does not migrate; call Migrate.
func Open(ctx context.Context, driver, dsn, path string) (users.Store, error) {
	switch driver {
	case "postgres":
		return userpg.Open(ctx, dsn)
	case "", "sqlite":
		if path == "" {
			return nil, fmt.Errorf("userdb: sqlite needs a path")
		}
		return usersqlite.Open(ctx, path)
	default:
		return nil, fmt.Errorf("userdb: driver %q is not one of sqlite, postgres", driver)
	}
}
