package usersqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
