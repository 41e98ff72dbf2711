package users

import (
	"io/fs"

	"github.com/dargah137/dargah/internal/migrate"
)

// MigrationsTable records which console migrations ran. It is not the case
// store's schema_migrations, so both can live in one database.
const MigrationsTable = "console_schema_migrations"

// Migration is one numbered SQL file.
type Migration = migrate.Migration

// ReadMigrations reads dir/NNNN_name.sql from fsys in version order; for
// the stores' embedded migrations.
func ReadMigrations(fsys fs.FS, dir string) ([]Migration, error) { return migrate.Read(fsys, dir) }

// ClampLimit applies the AuditFilter limit rule: default 100, at most 1000.
func ClampLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, 1000)
}
