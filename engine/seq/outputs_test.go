package seq

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

func tinyLayout(t *testing.T) *Layout {
	t.Helper()
	v, _ := model.ScaledVocab(1100, 256, 1024)
	d := &model.Decoding{Steps: 4, ActionLen: 6, Cameras: []model.Camera{{Name: "main", H: 3, W: 2}, {Name: "wrist", H: 2, W: 2}}}
	r := rand.New(rand.NewPCG(5, 6))
	codes := [][]int32{make([]int32, 6), make([]int32, 4)}
	for _, c := range codes {
		for i := range c {
			c[i] = r.Int32N(v.CodebookSize)
		}
	}
	l, err := Build(v, d, []int32{30, 31, 32}, codes)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOutputsCutAtFirstEOA(t *testing.T) {
	l := tinyLayout(t)
	v := l.Vocab
	region := append([]int32{}, l.Region...)
	b := l.FutureImages[0]
	region[b.Visual] = v.VisualOffset + 7
	region[b.Visual+1] = v.EOF // not visual: -1
	region[l.BOA+1] = v.FastID(3)
	region[l.BOA+2] = v.FastID(5)
	region[l.BOA+3] = v.EOA
	region[l.BOA+4] = v.FastID(9)
	region[l.BOA+5] = v.EOA
	o := l.Outputs(region)
	if !o.EOAFound || !reflect.DeepEqual(o.Actions, []int32{v.FastID(3), v.FastID(5)}) {
		t.Fatalf("actions %v eoa %v", o.Actions, o.EOAFound)
	}
	if o.FutureCodes[0][0] != 7 || o.FutureCodes[0][1] != -1 || len(o.FutureCodes[1]) != 4 {
		t.Fatalf("codes %v", o.FutureCodes)
	}
	region[l.BOA+3], region[l.BOA+5] = v.FastID(1), v.FastID(2)
	if o := l.Outputs(region); o.EOAFound || len(o.Actions) != l.ActionLen-1 {
		t.Fatalf("without EOA: %v %v", o.Actions, o.EOAFound)
	}
}

// On a whole control-step sequence the paper mask read from the ids equals the layout's.
func TestMaskForIDsMatchesPaperMask(t *testing.T) {
	l := tinyLayout(t)
	ids := l.Sequence(l.Region)
	got, err := MaskForIDs(model.MaskPaper, ids, l.Vocab, len(l.Cameras))
	if err != nil {
		t.Fatal(err)
	}
	if want := PaperMask(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("paper mask from ids\n%+v\nwant\n%+v", got, want)
	}
	rel, _ := MaskForIDs(model.MaskRelease, ids, l.Vocab, 2)
	if !reflect.DeepEqual(rel, ReleaseMask(ids, l.Vocab)) {
		t.Fatal("release mask from ids differs")
	}
}
