package gateway

import (
	"reflect"
	"testing"
)

func TestLanes(t *testing.T) {
	keys := []string{"a", "", "b", "a", "", "b", "a"}
	got := lanes(len(keys), func(i int) string { return keys[i] })
	want := [][]int{{0, 3, 6}, {1}, {2, 5}, {4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Lanes = %v, want %v", got, want)
	}
}
