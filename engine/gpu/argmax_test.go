package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/model"
	"github.com/udvla/udvla/engine/ref"
	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// coarseLogits are logits with many exact ties (a few distinct values), some -inf, and every
// tenth row all -inf: the tie rule and the empty-row rule decide, not rounding.
func coarseLogits(r *rand.Rand, rows, width, stride int) []float32 {
	out := make([]float32, rows*stride)
	for i := range rows {
		row := out[i*stride : i*stride+width]
		for k := range row {
			row[k] = float32(r.IntN(7)) - 3
			if r.IntN(5) == 0 {
				row[k] = float32(math.Inf(-1))
			}
			if i%10 == 9 {
				row[k] = float32(math.Inf(-1))
			}
		}
	}
	return out
}

// arReference is ref.GreedyARRestricted's decision loop on given logits: pre-filled positions are inserted,
// others take the argmax, and nothing is generated after the first EOA.
func arReference(region []int32, logits [][]float32, ids []int32, v *model.Vocab) []int32 {
	out := append([]int32(nil), region...)
	for j := range out {
		if out[j] == v.Mask {
			out[j], _, _ = ref.Argmax(logits[j], ids)
		}
		if out[j] == v.EOA {
			break
		}
	}
	return out
}

// One recorded command buffer of N greedy-AR passes, each reading its position from its own
// entry of a params array, runs past the first EOA harmlessly and leaves the reference's region;
// the ids buffer receives every generated token at IDsOff + j and nothing after the EOA.
func TestArgmaxARMatchesReference(t *testing.T) {
	dev := vktest.Device(t)
	v := testVocab()
	r := rand.New(rand.NewPCG(63, 64))
	stride := max(StepParamsSize, int(dev.Info.MinStorageAlign))
	for _, sh := range testShapes(dev, reductionShape(dev)) {
		k, err := newArgmaxAR(dev, tokensOf(v), sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			n, na int
			eoa   bool
		}{{1, 1, false}, {7, 5, true}, {33, 1025, true}, {90, 300, false}} {
			t.Run(fmt.Sprintf("%v/N%d_A%d", sh, c.n, c.na), func(t *testing.T) {
				ids := sortedIDs(r, c.na, v.Mask)
				if c.eoa {
					ids = append(ids, v.EOA)
					slices.Sort(ids)
				}
				// Each pass binds its own logits row: rows padded to the binding alignment.
				align := max(4, int(dev.Info.MinStorageAlign))
				rowStride := (4*len(ids) + align - 1) / align * align / 4
				region := make([]int32, c.n)
				logits := make([][]float32, c.n)
				flat := make([]float32, c.n*rowStride)
				for j := range region {
					region[j] = v.Mask
					if r.IntN(4) == 0 {
						region[j] = v.BOI // pre-filled
					}
					logits[j] = randFloats(r, len(ids), 2)
					if c.eoa && j == c.n/2 { // an EOA predicted midway: the passes after it do nothing
						region[j] = v.Mask
						logits[j][slices.Index(ids, v.EOA)] = 100
					}
					copy(flat[j*rowStride:], logits[j])
				}
				want := arReference(region, logits, ids, v)
				params := make([]byte, c.n*stride)
				for j := range c.n {
					p := ARParams(j)
					if err := p.Put(params[j*stride:]); err != nil {
						t.Fatal(err)
					}
				}
				const off = 4
				pb, lb, ab := uploadBytes(t, dev, params), upload(t, dev, flat), uploadI32(t, dev, ids)
				gb, ib := uploadI32(t, dev, region), smpPoisonedInts(t, dev, off+c.n)
				run(t, dev, func(s *vk.Sequence) {
					for j := range c.n {
						pj, err := pb.Bind(int64(j*stride), StepParamsSize)
						if err != nil {
							t.Fatal(err)
						}
						lj, err := lb.Bind(int64(4*j*rowStride), int64(4*len(ids)))
						if err != nil {
							t.Fatal(err)
						}
						err = k.Record(s, ArgmaxARArgs{Params: pj, Logits: lj, Allowed: bind(t, ab), State: bind(t, gb),
							IDs: bind(t, ib), IDsOff: off, N: c.n, NAllowed: len(ids)})
						if err != nil {
							t.Fatal(err)
						}
					}
				})
				got, gotIDs := downloadI32(t, gb, c.n), downloadI32(t, ib, off+c.n)
				if !slices.Equal(got, want) {
					t.Fatalf("region %v, want %v", got, want)
				}
				e := slices.Index(want, v.EOA)
				if c.eoa && !(e >= 0 && e <= c.n/2 && e < c.n-1) {
					t.Fatalf("the case meant to stop at an EOA did not (first EOA at %d)", e)
				}
				for j := range c.n {
					wantID := want[j]
					if e >= 0 && j > e {
						wantID = int32(poison)
					}
					if gotIDs[off+j] != wantID {
						t.Fatalf("ids[%d+%d] = %d, want %d", off, j, gotIDs[off+j], wantID)
					}
				}
			})
		}
	}
}

func TestArgmaxARRejectsBadArgs(t *testing.T) {
	dev := vktest.Device(t)
	ar, err := NewArgmaxAR(dev, tokensOf(testVocab()))
	if err != nil {
		t.Fatal(err)
	}
	b := bind(t, poisoned(t, dev, 16))
	s, err := dev.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, a := range []ArgmaxARArgs{
		{Params: b, Logits: b, Allowed: b, State: b, IDs: b, N: 0, NAllowed: 4},
		{Params: b, Logits: b, Allowed: b, State: b, IDs: b, N: 4, NAllowed: 17},
		{Params: b, Logits: b, Allowed: b, State: b, IDs: b, N: 4, NAllowed: 4, IDsOff: 13},
	} {
		if err := ar.Record(s, a); err == nil {
			t.Errorf("argmax AR case %d accepted", i)
		}
	}
}
