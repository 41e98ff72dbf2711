package app

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases/casesqlite"
	"github.com/dargah137/dargah/gateway"
)

func TestCasesByPhone(t *testing.T) {
	ctx := context.Background()
	s, err := casesqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"), casesqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i, phone := range []string{"+989121111111", "+989122222222", "+989121111111"} {
		m := gateway.Message{ID: gateway.NewID(time.Now()), Portal: "phone-137", PortalKind: "asterisk",
			PortalMessageID: fmt.Sprint(i), Text: "چاله در خیابان", ReceivedAt: time.Now(),
			Contact: gateway.Contact{Phone: phone}}
		if _, _, err := s.MessageAccept(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MessageDecide(ctx, m.ID, gateway.Decision{Outcome: gateway.OutcomeCaseOpened, Rule: "test", ServiceCode: "asphalt"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := caseView{store: s}.CasesByPhone(ctx, "+989121111111", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d cases for the caller, want 2: %+v", len(got), got)
	}
	for _, c := range got {
		if c.TrackingCode == "" || c.ServiceCode != "asphalt" {
			t.Errorf("case %+v", c)
		}
	}
}
