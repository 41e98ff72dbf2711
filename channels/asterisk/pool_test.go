package asterisk

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/dargah137/dargah/internal/testenv"
)

// TestClaimPool: every instance of a phone portal shares its agent pool;
// a second phone portal on the same prefix is refused, by name.
func TestClaimPool(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := t.Context()
	for i := range 2 { // two instances of the 137 line
		if err := claimPool(ctx, rdb, prefix+"acd:", "phone-137"); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	err = claimPool(ctx, rdb, prefix+"acd:", "pilgrims")
	if err == nil || !strings.Contains(err.Error(), `portal "phone-137"`) {
		t.Fatalf("a second line on the same pool: %v", err)
	}
	if err := claimPool(ctx, rdb, prefix+"pilgrims-acd:", "pilgrims"); err != nil {
		t.Fatalf("a second line on its own pool: %v", err)
	}
}
