package casesqlite

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/storetest"
	"github.com/dargah137/dargah/gateway"
)

// TestWALStartsOver: with writes queued back to back, so that the writer
// begins each transaction right after the last, the WAL still starts over
// instead of growing with every write.
func TestWALStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dargah.db")
	s := open(t, path, time.Now)
	defer s.Close()
	const writers, each = 16, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range each {
				m := storetest.NewMessage(time.Now())
				if _, _, err := s.MessageAccept(t.Context(), m); err != nil {
					errs <- err
					return
				}
				if _, err := s.MessageDecide(t.Context(), m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened,
					Rule: "open-street_lighting", ServiceCode: "street_lighting"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// The writer's checkpoint threshold is 1,000 pages (4 MB); what the
	// writes above append, unchecked, is over 30 MB.
	if fi.Size() > 16<<20 {
		t.Fatalf("WAL is %d MB after %d messages", fi.Size()>>20, writers*each)
	}
	t.Logf("WAL %d KB after %d messages", fi.Size()>>10, writers*each)
}
