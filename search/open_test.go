package search

import "testing"

func TestCanCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		applied, floor, head int64
		want                 bool
	}{
		{"new index, new store", 0, 0, 0, true},
		{"up to date, outbox pruned empty", 7, 0, 7, true},
		{"new index, outbox pruned empty", 0, 0, 7, false},
		{"behind, entries still there", 3, 4, 9, true},
		{"behind, needed entries pruned", 2, 4, 9, false},
		{"new index, outbox complete", 0, 1, 9, true},
		{"ahead of the store", 12, 4, 9, false},
		{"ahead of an emptied store", 12, 0, 9, false},
	} {
		if got := canCatchUp(tc.applied, tc.floor, tc.head); got != tc.want {
			t.Errorf("%s: canCatchUp(%d, %d, %d) = %v, want %v", tc.name, tc.applied, tc.floor, tc.head, got, tc.want)
		}
	}
}
