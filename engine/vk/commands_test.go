package vk_test

import (
	"reflect"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
	"github.com/udvla/udvla/shaders"
)

// Each command keeps the work its recorder stated, in recording order and one for one with the
// timestamps; a copy states its own; Reset forgets them with the commands.
func TestSequenceKeepsWork(t *testing.T) {
	dev := vktest.Device(t)
	buf, p, s := addFixture(t, dev, 512)
	defer buf.Close()
	defer s.Close()
	lo, err := buf.Bind(0, 256)
	if err != nil {
		t.Fatal(err)
	}
	hi, err := buf.Bind(256, 256)
	if err != nil {
		t.Fatal(err)
	}
	s.Timing = dev.Info.Timestamps
	add := vk.Work{Label: "add", FLOPs: 64, Bytes: 768, Pairs: vk.PairWork{Q0: 1, NQ: 2, NK: 3, FLOPsPerPair: 4}}
	s.Dispatch(p, add, 1, 1, 1, []byte{64, 0, 0, 0}, vk.W(lo), vk.R(hi))
	s.Copy(hi, lo)
	s.Dispatch(p, vk.Work{Label: "second"}, 1, 1, 1, []byte{64, 0, 0, 0}, vk.W(hi), vk.R(lo))
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	want := []vk.Work{add, {Label: "copy", Bytes: 512}, {Label: "second"}}
	if got := s.Work(); !reflect.DeepEqual(got, want) {
		t.Fatalf("work %+v, want %+v", got, want)
	}
	if dev.Info.Timestamps {
		durs, err := s.Durations()
		if err != nil || len(durs) != len(want) {
			t.Fatalf("%d durations for %d commands (%v)", len(durs), len(want), err)
		}
	}
	s.Reset()
	if len(s.Work()) != 0 {
		t.Fatalf("work after Reset: %+v", s.Work())
	}
}

// addFixture makes a buffer of size bytes, the add pipeline and a sequence on dev; the caller
// closes the buffer and the sequence before the device.
func addFixture(t *testing.T, dev *vk.Device, size int64) (*vk.Buffer, *vk.Pipeline, *vk.Sequence) {
	t.Helper()
	buf, err := dev.NewBuffer(size, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dev.Pipeline("add", shaders.MustSPIRV("add"), []uint32{64}, 2, 4, 0)
	if err != nil {
		buf.Close()
		t.Fatal(err)
	}
	s, err := dev.NewSequence()
	if err != nil {
		buf.Close()
		t.Fatal(err)
	}
	return buf, p, s
}

// VisiblePairs counts the pairs of the extent the predicate lets through: causal, query q sees
// keys 0..q.
func TestVisiblePairs(t *testing.T) {
	a := vk.PairWork{Q0: 6, NQ: 5, NK: 11}
	if got, want := a.VisiblePairs(func(q, k int) bool { return k <= q }), float64(7+8+9+10+11); got != want {
		t.Fatalf("causal: %g, want %g", got, want)
	}
	if got := a.VisiblePairs(func(q, k int) bool { return false }); got != 0 {
		t.Fatalf("nothing visible: %g", got)
	}
}
