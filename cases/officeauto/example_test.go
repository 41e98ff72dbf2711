package officeauto_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/dargah137/dargah/cases/officeauto"
)

// A receiving office automation system checks each request before acting
// on it, and deduplicates on the event id.
func ExampleVerify() {
	secret := []byte("from DARGAH_OA_SECRET_CIVIL_WORKS")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if err := officeauto.Verify(secret, body, r.Header.Get(officeauto.HeaderSignature)); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // 401: Dargah dead-letters, no retry storm
			return
		}
		// … record r.Header.Get(officeauto.HeaderEventID) and the case …
		w.WriteHeader(http.StatusNoContent)
	})

	body := []byte(`{"event_id":"e1","kind":"assigned"}`)
	for _, sig := range []string{officeauto.Sign(secret, body), officeauto.Sign([]byte("wrong"), body)} {
		req := httptest.NewRequest(http.MethodPost, "/dargah", strings.NewReader(string(body)))
		req.Header.Set(officeauto.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 204
	// 401
}
