package userpg_test

import (
	"context"
	"testing"

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
