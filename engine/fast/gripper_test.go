package fast

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/udvla/udvla/engine/model"
)

// The gripper threshold comes from the model file: a zero chunk whose gripper un-normalises to
// 0.3, 0.5 and 0.7 opens, closes, opens under CALVIN's > 0 rule, and closes, closes, opens under
// Bridge's > 0.5 (where > 0 would open a gripper that should stay closed).
func TestGripperThresholdFromModel(t *testing.T) {
	r := realTokenizers[1] // the Bridge tokenizer
	raw, err := os.ReadFile(filepath.Join(testdata, r.dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([][]int, r.T)
	for k := range zeros {
		zeros[k] = make([]int, r.D)
	}
	for _, c := range []struct {
		threshold float64
		want      [3]float32 // grippers at 0.3, 0.5, 0.7
	}{{0, [3]float32{1, 1, 1}}, {0.5, [3]float32{-1, -1, 1}}} {
		tok, err := FromModel(&model.Fast{TokenizerJSON: raw, Scale: 50, MinToken: -112, Horizon: r.T, Dims: r.D, GripperThreshold: c.threshold})
		if err != nil {
			t.Fatal(err)
		}
		ids, err := tok.EncodeCoeffs(zeros)
		if err != nil {
			t.Fatal(err)
		}
		for i, mid := range []float64{0.3, 0.5, 0.7} {
			q01, q99 := make([]float64, r.D), make([]float64, r.D)
			for d := range q01 {
				q01[d], q99[d] = -1, 1
			}
			q01[r.D-1], q99[r.D-1] = mid-0.5, mid+0.5 // normalised 0 un-normalises to mid
			res, err := tok.Decode(ids, q01, q99)
			if err != nil || !res.Complete {
				t.Fatalf("%v, complete %v", err, res.Complete)
			}
			for j := range res.Actions {
				if g := res.Actions[j][r.D-1]; g != c.want[i] {
					t.Fatalf("threshold %g, gripper value %g, step %d: %v, want %v", c.threshold, mid, j, g, c.want[i])
				}
			}
		}
	}
}
