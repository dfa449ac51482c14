package gpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/udvla/udvla/engine/vk"
)

// Helpers of the sampling, selection and mask tests (prefixed smp to stay apart from other
// helpers of the package).

// smpPoisonedInts makes a device buffer of n int32s holding the poison pattern, which no token id,
// mask word or flag equals.
func smpPoisonedInts(t testing.TB, dev *vk.Device, n int) *vk.Buffer {
	t.Helper()
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(poison)
	}
	return uploadI32(t, dev, p)
}

// smpParamBytes is the encoding of p.
func smpParamBytes(p StepParams) []byte {
	b := make([]byte, StepParamsSize)
	if err := p.Put(b); err != nil {
		panic(err) // b is large enough
	}
	return b
}

func smpWriteParams(t testing.TB, b *vk.Buffer, p StepParams) {
	t.Helper()
	if err := b.Write(0, smpParamBytes(p)); err != nil {
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
