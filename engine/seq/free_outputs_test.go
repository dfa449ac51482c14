package seq

import (
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

// Freely generated regions: the actions follow the first generated BOA, end at the EOA after it,
// and never exceed the layout's ActionLen-1 slots.
func TestFreeOutputs(t *testing.T) {
	v, _ := model.ScaledVocab(200, 48, 24)
	d := &model.Decoding{Steps: 4, ActionLen: 4, Cameras: []model.Camera{{Name: "main", H: 2, W: 2}}}
	l, err := Build(v, d, []int32{5}, [][]int32{{1, 2, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	fast := v.FastID
	fill := func(ids ...int32) []int32 {
		r := make([]int32, l.N())
		for i := range r {
			r[i] = v.Mask
		}
		copy(r, ids)
		return r
	}
	for _, c := range []struct {
		name    string
		region  []int32
		actions []int32
		eoa     bool
	}{
		{"BOA early, EOA after two", fill(v.BOA, fast(1), fast(2), v.EOA), []int32{fast(1), fast(2)}, true},
		{"no BOA", fill(fast(1), v.EOA), []int32{}, false},
		{"long run cut at ActionLen-1", fill(v.BOA, fast(1), fast(2), fast(3), fast(4), fast(5), v.EOA), []int32{fast(1), fast(2), fast(3)}, false},
		{"EOA right after BOA", fill(fast(7), v.BOA, v.EOA), []int32{}, true},
	} {
		o := l.FreeOutputs(c.region)
		if !slices.Equal(o.Actions, c.actions) || o.EOAFound != c.eoa || len(o.FutureCodes) != 1 {
			t.Errorf("%s: actions %v eoa %v, want %v %v", c.name, o.Actions, o.EOAFound, c.actions, c.eoa)
		}
	}
}
