package gpu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

func runReleaseMask(t *testing.T, dev *vk.Device, k *ReleaseMask, ids []int32) []int32 {
	t.Helper()
	ib, wb := uploadI32(t, dev, ids), smpPoisonedInts(t, dev, len(ids))
	run(t, dev, func(s *vk.Sequence) {
		if err := k.Record(s, bind(t, ib), bind(t, wb), len(ids)); err != nil {
			t.Fatal(err)
		}
	})
	return downloadI32(t, wb, len(ids))
}

// Random id sequences over the markers (BOI, EOI, BOA, EOA), PAD, MASK and ordinary ids, nested,
// unbalanced and stray markers included: the words equal MaskWords(seq.ReleaseMask(ids)).
func TestReleaseMaskMatchesSeq(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	ks := releaseMaskKernels(t, dev, v)
	r := rand.New(rand.NewPCG(51, 52))
	markers := []int32{v.BOI, v.EOI, v.BOA, v.EOA, v.Pad, v.Mask}
	for _, n := range []int{1, 2, 7, 33, 817, 1587, 2403} {
		for _, density := range []int{3, 40} { // percent of marker ids
			t.Run(fmt.Sprintf("L%d_markers%d", n, density), func(t *testing.T) {
				ids := make([]int32, n)
				for i := range ids {
					if r.IntN(100) < density {
						ids[i] = markers[r.IntN(len(markers))]
					} else {
						ids[i] = r.Int32N(v.TextSize)
					}
				}
				want := words(t, seq.ReleaseMask(ids, v))
				for _, k := range ks {
					got := runReleaseMask(t, dev, k, ids)
					if i := firstDiff(got, want); i >= 0 {
						t.Fatalf("%v: word %d = %#x, want %#x", k.shape, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// The sequences of a CALVIN-sized control step: prefix plus the region input at its start and
// with an EOA predicted inside the actions (the slots after it MASK).
func TestReleaseMaskOfControlStep(t *testing.T) {
	dev := vktest.Device(t)
	v, _ := model.ScaledVocab(200, 48, 24)
	ks := releaseMaskKernels(t, dev, v)
	d := &model.Decoding{Steps: 72, ActionLen: 70, Cameras: []model.Camera{{Name: "main", H: 25, W: 25}, {Name: "wrist", H: 10, W: 10}}}
	r := rand.New(rand.NewPCG(53, 54))
	codes := [][]int32{make([]int32, 625), make([]int32, 100)}
	for _, c := range codes {
		for i := range c {
			c[i] = r.Int32N(v.CodebookSize)
		}
	}
	l, err := seq.Build(v, d, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, codes)
	if err != nil {
		t.Fatal(err)
	}
	region := append([]int32(nil), l.Region...)
	eoa := append([]int32(nil), l.Region...)
	for j := l.BOA + 1; j < l.N(); j++ {
		eoa[j] = v.FastID(r.Int32N(v.FastSize))
	}
	eoa[l.BOA+40] = v.EOA
	for _, in := range [][]int32{region, eoa} {
		ids := l.Sequence(in)
		want := words(t, seq.ReleaseMask(ids, v))
		for _, k := range ks {
			if got := runReleaseMask(t, dev, k, ids); !slices.Equal(got, want) {
				i := firstDiff(got, want)
				t.Fatalf("%v, L=%d: word %d = %#x, want %#x", k.shape, len(ids), i, got[i], want[i])
			}
		}
	}
}

// releaseMaskKernels are ReleaseMask on the device's workgroup shape and on the other kind.
func releaseMaskKernels(t *testing.T, dev *vk.Device, v *model.Vocab) []*ReleaseMask {
	var ks []*ReleaseMask
	for _, sh := range testShapes(dev, reductionShape(dev)) {
		k, err := newReleaseMask(dev, tokensOf(v), sh)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	return ks
}

func firstDiff(a, b []int32) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestReleaseMaskRejectsBadArgs(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	rm, err := NewReleaseMask(dev, tokensOf(v))
	if err != nil {
		t.Fatal(err)
	}
	b := bind(t, poisoned(t, dev, 16))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, err := range []error{rm.Record(s, b, b, 0), rm.Record(s, b, b, 17)} {
		if err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}
