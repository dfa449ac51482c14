package model

import (
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/model/fb"
)

func TestEmu3HeaderIDs(t *testing.T) {
	v := Emu3Vocab(1024)
	got := v.HeaderIDSet([]Camera{{"main", 25, 25}, {"wrist", 10, 10}})
	if !reflect.DeepEqual(got, v.HeaderIDs) {
		t.Fatalf("header ids %v, spec says %v", got, v.HeaderIDs)
	}
	if n := len(v.HeaderTokens(25, 25)); n != 7 {
		t.Fatalf("header of 25x25 has %d tokens, spec says 7", n)
	}
}

func TestFastIDRoundTrip(t *testing.T) {
	v := Emu3Vocab(1024)
	for _, k := range []int32{0, 1, 511, 1023} {
		if got := v.FastIndex(v.FastID(k)); got != k {
			t.Fatalf("FastIndex(FastID(%d)) = %d", k, got)
		}
	}
	if v.FastIndex(v.FastBase-1024) != -1 || v.FastIndex(v.FastBase+1) != -1 {
		t.Fatal("ids outside the FAST range must map to -1")
	}
}

// Paper is the schema's default value of the mask field, so files written before the release rule
// became the default still read as paper.
func TestAbsentMaskFieldReadsAsPaper(t *testing.T) {
	if fb.MaskRulePaper != 0 || maskFromFile(0) != MaskPaper {
		t.Error("an absent mask field must read as paper")
	}
}
