package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestRead(t *testing.T) {
	ms, err := Read(fstest.MapFS{
		"m/0002_b.sql":  {Data: []byte("B")},
		"m/0001_a.sql":  {Data: []byte("A")},
		"m/readme.txt":  {Data: []byte("-")},
		"m/0010_c.sql":  {Data: []byte("C")},
		"other/9_x.sql": {Data: []byte("X")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+m.SQL)
	}
	if strings.Join(got, ",") != "0001_a.sql=A,0002_b.sql=B,0010_c.sql=C" {
		t.Errorf("read %v", got)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"m/init.sql": {}},
		"zero":      {"m/0_init.sql": {}},
		"twice":     {"m/1_a.sql": {}, "m/01_b.sql": {}},
	} {
		if _, err := Read(fsys, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
