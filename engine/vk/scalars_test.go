package vk_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// Typed writes land where a byte-level reader expects them (little-endian words at the offset),
// typed reads return them, and a range outside the buffer is an error that writes nothing.
func TestScalarReadWrite(t *testing.T) {
	dev := vktest.Device(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, kind := range []vk.MemKind{vk.DeviceLocal, vk.Upload, vk.Readback} {
		const n, off = 37, 12
		b, err := dev.NewBuffer(4*(2*n+5), kind, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ints := make([]int32, n)
		floats := make([]float32, n)
		for i := range ints {
			ints[i] = int32(r.Uint32())
			floats[i] = float32(r.NormFloat64())
		}
		floats[0], floats[1] = float32(math.Inf(-1)), -0.0
		if err := vk.WriteInt32s(b, off, ints); err != nil {
			t.Fatal(err)
		}
		if err := vk.WriteFloat32s(b, off+4*n, floats); err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 8*n)
		if err := b.Read(off, raw); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			w := uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24
			f := uint32(raw[4*(n+i)]) | uint32(raw[4*(n+i)+1])<<8 | uint32(raw[4*(n+i)+2])<<16 | uint32(raw[4*(n+i)+3])<<24
			if int32(w) != ints[i] || f != math.Float32bits(floats[i]) {
				t.Fatalf("%v: word %d is %#x / %#x, wrote %d / %g", kind, i, w, f, ints[i], floats[i])
			}
		}
		gotI, gotF := make([]int32, n), make([]float32, n)
		for i := range gotI {
			gotI[i], gotF[i] = -1, float32(math.NaN())
		}
		if err := vk.ReadInt32s(b, off, gotI); err != nil {
			t.Fatal(err)
		}
		if err := vk.ReadFloat32s(b, off+4*n, gotF); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotI, ints) || !slices.EqualFunc(gotF, floats, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("%v: read back %v / %v", kind, gotI, gotF)
		}
		tail := []int32{5, 6}
		if err := vk.WriteInt32s(b, b.Size()-8, tail); err != nil {
			t.Fatal(err)
		}
		if vk.WriteInt32s(b, b.Size()-8, []int32{1, 2, 3}) == nil || vk.ReadFloat32s(b, -4, gotF[:1]) == nil {
			t.Fatalf("%v: a range outside the buffer accepted", kind)
		}
		if err := vk.ReadInt32s(b, b.Size()-8, gotI[:2]); err != nil || !slices.Equal(gotI[:2], tail) {
			t.Fatalf("%v: a rejected write changed the buffer: %v (%v)", kind, gotI[:2], err)
		}
		if vk.WriteInt32s(b, 0, nil) != nil || vk.ReadFloat32s(b, 0, nil) != nil {
			t.Fatalf("%v: empty slices rejected", kind)
		}
	}
}
