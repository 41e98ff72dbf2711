package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/dargah137/dargah/cases"
	"github.com/dargah137/dargah/gateway"
)

func attachmentTests() []Test {
	return []Test{
		{"AttachmentSaveGet", testAttachmentSaveGet},
	}
}

func kvTests() []Test {
	return []Test{
		{"KV", testKV},
		{"KVTTL", testKVTTL},
	}
}

func migrateTests() []Test {
	return []Test{
		{"MigrateIdempotent", testMigrateIdempotent},
	}
}

func testAttachmentSaveGet(t *testing.T, e *Env) {
	data := []byte{0xff, 0xd8, 0xff, 0x00, 0x01, 'j', 'p', 'g', 0}
	a, err := e.Store.AttachmentSave(e.Ctx, gateway.Attachment{ContentType: "image/jpeg", Filename: "عکس.jpg", Size: 999}, data)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	if a.ID == "" || a.Size != int64(len(data)) || a.ContentType != "image/jpeg" || a.Filename != "عکس.jpg" {
		t.Errorf("saved = %+v; want an id and the real size", a)
	}
	got, gotData, err := e.Store.AttachmentGet(e.Ctx, a.ID)
	if err != nil || got != a || !bytes.Equal(gotData, data) {
		t.Errorf("get = %+v %x, %v; want %+v %x", got, gotData, err, a, data)
	}

	// A caller-chosen id is kept; an empty file is a file.
	b, err := e.Store.AttachmentSave(e.Ctx, gateway.Attachment{ID: "tg-" + randomHex(4), ContentType: "text/plain"}, nil)
	if err != nil {
		t.Fatalf("save empty: %v", err)
	}
	got, gotData, err = e.Store.AttachmentGet(e.Ctx, b.ID)
	if err != nil || got != b || len(gotData) != 0 || got.Size != 0 {
		t.Errorf("get empty = %+v %x, %v", got, gotData, err)
	}
	// Ids are never reused: the first file stays.
	if _, err := e.Store.AttachmentSave(e.Ctx, gateway.Attachment{ID: a.ID, ContentType: "text/plain"}, []byte("x")); !errors.Is(err, cases.ErrConflict) {
		t.Errorf("save with a taken id = %v, want ErrConflict", err)
	}
	if _, d, _ := e.Store.AttachmentGet(e.Ctx, a.ID); !bytes.Equal(d, data) {
		t.Errorf("taken id overwritten: %x", d)
	}
	if _, _, err := e.Store.AttachmentGet(e.Ctx, "nope"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("get unknown = %v, want ErrNotFound", err)
	}
	// Two saves without ids get two ids.
	c, err := e.Store.AttachmentSave(e.Ctx, gateway.Attachment{ContentType: "image/jpeg"}, data)
	if err != nil || c.ID == a.ID {
		t.Errorf("second save = %+v, %v; want a fresh id", c, err)
	}
}

func testKV(t *testing.T, e *Env) {
	get := func(key string) ([]byte, bool) {
		t.Helper()
		v, ok, err := e.Store.KVGet(e.Ctx, key)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return v, ok
	}
	if _, ok := get("telegram/offset"); ok {
		t.Fatal("missing key found")
	}
	if err := e.Store.KVPut(e.Ctx, "telegram/offset", []byte("100"), 0); err != nil {
		t.Fatal(err)
	}
	if v, ok := get("telegram/offset"); !ok || string(v) != "100" {
		t.Errorf("get = %q, %v; want 100", v, ok)
	}
	if err := e.Store.KVPut(e.Ctx, "telegram/offset", []byte("101"), 0); err != nil {
		t.Fatal(err)
	}
	if v, ok := get("telegram/offset"); !ok || string(v) != "101" {
		t.Errorf("after overwrite = %q, %v; want 101", v, ok)
	}
	if err := e.Store.KVPut(e.Ctx, "empty", []byte{}, 0); err != nil {
		t.Fatal(err)
	}
	if v, ok := get("empty"); !ok || len(v) != 0 {
		t.Errorf("empty value = %q, %v; want present and empty", v, ok)
	}
	if err := e.Store.KVDelete(e.Ctx, "telegram/offset"); err != nil {
		t.Fatal(err)
	}
	if _, ok := get("telegram/offset"); ok {
		t.Error("deleted key found")
	}
	if err := e.Store.KVDelete(e.Ctx, "never-was"); err != nil {
		t.Errorf("delete missing = %v, want nil", err)
	}
	// Zero ttl keeps the value however long the clock runs.
	e.Clock.Advance(365 * 24 * time.Hour)
	if _, ok := get("empty"); !ok {
		t.Error("value without ttl expired")
	}
}

func testKVTTL(t *testing.T, e *Env) {
	if err := e.Store.KVPut(e.Ctx, "dialog/42", []byte("step-2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(59 * time.Second)
	if v, ok, err := e.Store.KVGet(e.Ctx, "dialog/42"); err != nil || !ok || string(v) != "step-2" {
		t.Fatalf("before expiry = %q, %v, %v", v, ok, err)
	}
	e.Clock.Advance(time.Second)
	if _, ok, err := e.Store.KVGet(e.Ctx, "dialog/42"); err != nil || ok {
		t.Fatalf("at expiry = %v, %v; want gone", ok, err)
	}
	// An expired key can be written again, and a put without ttl clears it.
	if err := e.Store.KVPut(e.Ctx, "dialog/42", []byte("step-1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.KVPut(e.Ctx, "dialog/42", []byte("step-3"), 0); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Hour)
	if v, ok, err := e.Store.KVGet(e.Ctx, "dialog/42"); err != nil || !ok || string(v) != "step-3" {
		t.Errorf("after put without ttl = %q, %v, %v", v, ok, err)
	}
}

func testMigrateIdempotent(t *testing.T, e *Env) {
	_, c := e.OpenCase(t, NewMessage(e.Clock.Now()))
	for range 2 {
		if err := e.Store.Migrate(e.Ctx); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	if _, err := e.Store.CaseGetByTracking(e.Ctx, c.TrackingCode); err != nil {
		t.Errorf("case lost after migrate: %v", err)
	}
	_, c2 := e.OpenCase(t, NewMessage(e.Clock.Now()))
	if c2.ID == c.ID {
		t.Error("case id reused after migrate")
	}
}
