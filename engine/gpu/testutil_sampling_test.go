package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/udvla/udvla/engine/vk"
)

// Helpers of the sampling, selection and mask tests (prefixed smp to stay apart from other
// helpers of the package): int32 buffers and raw-byte buffers.

func smpI32Bytes(x []int32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return b
}

// smpUploadBytes makes a device buffer holding b, inside guard bands.
func smpUploadBytes(t testing.TB, dev *vk.Device, b []byte) *vk.Buffer {
	t.Helper()
	return uploadBytes(t, dev, b)
}

func smpUploadInts(t testing.TB, dev *vk.Device, x []int32) *vk.Buffer {
	t.Helper()
	return smpUploadBytes(t, dev, smpI32Bytes(x))
}

// smpPoisonedInts makes a device buffer of n int32s holding the poison pattern, which no token id,
// mask word or flag equals.
func smpPoisonedInts(t testing.TB, dev *vk.Device, n int) *vk.Buffer {
	t.Helper()
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(poison)
	}
	return smpUploadInts(t, dev, p)
}

func smpDownloadInts(t testing.TB, b *vk.Buffer, n int) []int32 {
	t.Helper()
	raw := make([]byte, 4*n)
	if err := b.Read(0, raw); err != nil {
		t.Fatal(err)
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func smpWriteParams(t testing.TB, b *vk.Buffer, p StepParams) {
	t.Helper()
	if err := b.Write(0, p.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func smpIsPoison(x float32) bool { return math.Float32bits(x) == poison }

// smpRelTo is |got - want| / |want|.
func smpRelTo(got float32, want float64) float64 {
	return math.Abs(float64(got)-want) / math.Abs(want)
}

// testShapes are the workgroup shapes a kernel test runs: the device's own choice, and the other
// kind (several subgroups meeting in shared memory where the device's choice is one subgroup, and
// the reverse), so that both code paths of every reduction are checked on any device.
func testShapes(dev *vk.Device, def groupShape) []groupShape {
	if def.one {
		return []groupShape{def, {local: 64}}
	}
	return []groupShape{def, {local: dev.Info.SubgroupSize, one: true, req: dev.Info.SubgroupSize}}
}

func (g groupShape) String() string {
	if g.one {
		return fmt.Sprintf("subgroup%d", g.local)
	}
	return fmt.Sprintf("local%d", g.local)
}
