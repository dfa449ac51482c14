package fast

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzDecode: any id sequence decodes to a full T x D chunk of finite values without error.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 200, 3, 0, 0})
	f.Add([]byte{255, 255, 255, 255, 0, 1, 0, 0, 7, 0, 0, 0})
	tok, q01, q99 := loadReal(f, realTokenizers[0])
	f.Fuzz(func(t *testing.T, raw []byte) {
		ids := make([]int32, len(raw)/4)
		for i := range ids {
			ids[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			if i%2 == 0 {
				ids[i] %= int32(tok.VocabSize() + 3) // mostly valid ids
			}
		}
		res, err := tok.Decode(ids, q01, q99)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Coeffs) != tok.Horizon() || len(res.Actions) != tok.Horizon() {
			t.Fatalf("shape %d/%d", len(res.Coeffs), len(res.Actions))
		}
		for j := range res.Normalised {
			for d, v := range res.Normalised[j] {
				if math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(float64(res.Actions[j][d])) {
					t.Fatalf("non-finite value at [%d][%d]", j, d)
				}
			}
		}
	})
}
