package engine

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
)

// The first step of a request shape reports its recording and pipeline compilation as Compile;
// later steps of that shape report none, and the outputs stay the reference's.
func TestCompileTimedApartOnFirstUse(t *testing.T) {
	g, ref := openPair(t, tinyModel)
	r := rand.New(rand.NewPCG(23, 24))
	ctx := context.Background()
	for _, mode := range []Mode{ModeJD3P, ModeID, ModeAR} {
		req := randomRequest(g.Config(), r)
		req.Mode = mode
		want, err := ref.Step(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if want.Timings.Compile != 0 {
			t.Errorf("the reference reports compilation %v", want.Timings.Compile)
		}
		for i := 0; i < 2; i++ {
			got, err := g.Step(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if first := i == 0; first != (got.Timings.Compile > 0) {
				t.Errorf("%v run %d: compile %v", mode, i+1, got.Timings.Compile)
			}
			if !reflect.DeepEqual(got.Region, want.Region) {
				t.Errorf("%v run %d: region differs from the reference", mode, i+1)
			}
		}
	}
}
