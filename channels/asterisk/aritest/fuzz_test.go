package aritest

import (
	"net/url"
	"testing"
)

// FuzzValidate feeds arbitrary paths, queries and bodies to the router and
// validator: they must answer (route or status), never panic.
func FuzzValidate(f *testing.F) {
	f.Add("POST", "/channels", "endpoint=PJSIP/1&app=dargah", `{"variables":{"A":"1"}}`)
	f.Add("DELETE", "/channels/x", "reason=busy", "")
	f.Add("GET", "/asterisk/info", "only=build,,system", "")
	f.Add("POST", "/bridges/b/play", "media=sound:a&skipms=-1", "")
	f.Add("POST", "/channels/%zz/answer", "", "")
	f.Add("GET", "//", "a=%", "[")
	f.Fuzz(func(t *testing.T, method, path, rawQuery, body string) {
		rt, status, msg := matchRoute(method, path)
		if status != 0 {
			if msg == "" {
				t.Fatal("status without message")
			}
			return
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		_ = validateParams(rt, q, []byte(body))
	})
}
