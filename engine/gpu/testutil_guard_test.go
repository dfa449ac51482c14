package gpu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/udvla/udvla/engine/vk"
)

// Guard bands. Robust buffer access turns a read past a binding into a zero and drops a write past
// it, so a kernel that overruns its data passes tests run with it and corrupts memory on a GPU,
// where production runs without it. Every kernel test buffer therefore lies inside a larger
// allocation, between two bands of guardBytes filled with guardWord, and bind gives a kernel its
// range at an offset. The word is a NaN: an overrunning read carries it into the output, which
// every comparison then fails (outputs are compared in full, and relErr refuses any NaN). It is
// also a canary: an overrunning write changes it, and the buffer's cleanup reports the first
// changed byte.
//
// The band before the data lies outside the binding: a device without robust access (a GPU run
// with UDVLA_ROBUST=0, as tools/test.sh does once per suite) lets an underflow reach it. The band
// after the data is the binding's Guard, which the descriptor covers and no size check counts,
// because lavapipe clamps every storage-buffer access to the bound range even with robust access
// off: there only a band the descriptor covers sees an overrun of a kernel whose counts (its push
// constants) run past its data. Kernels never read their bindings' sizes (no shader calls
// length()), so the longer descriptor changes nothing else.
const (
	guardBytes = 4096
	guardWord  = 0x7fa1dead // a NaN (a signalling one, which arithmetic keeps as a NaN)
)

// Weight matrices get their bands from UploadMatrix itself (matrix_guard.go).
func init() { matrixGuardForTest = guardBytes }

// guardedBuffer is a test buffer: the allocation, the view of the data, and the bands.
type guardedBuffer struct {
	whole, view *vk.Buffer
	size        int64 // the view's bytes
}

// guardedViews maps the views the helpers return to their buffers, for bind.
var guardedViews sync.Map

// binding is the data at its offset, with the band after it as the binding's Guard.
func (g *guardedBuffer) binding() (vk.Binding, error) {
	if g.view == g.whole {
		return g.whole.All()
	}
	bd, err := g.whole.Bind(guardBytes, g.size+guardBytes)
	bd.Size, bd.Guard = g.size, guardBytes
	return bd, err
}

// guarded makes a device buffer holding data inside guard bands. A buffer too large to fit one
// binding with its bands is made without them (the bands need the same allocation).
func guarded(dev *vk.Device, data []byte) (*guardedBuffer, error) {
	n := int64(len(data))
	whole, err := dev.NewBuffer(n+2*guardBytes, vk.DeviceLocal, 0)
	if err != nil {
		return nil, err
	}
	g := &guardedBuffer{whole: whole, size: n}
	if whole.ChunkSize() < whole.Size() {
		whole.Close()
		if g.whole, err = dev.NewBuffer(n, vk.DeviceLocal, 0); err != nil {
			return nil, err
		}
		g.view = g.whole
		return g, g.view.Write(0, data)
	}
	all := guardPattern(int(whole.Size()))
	copy(all[guardBytes:], data)
	if err := whole.Write(0, all); err != nil {
		whole.Close()
		return nil, err
	}
	if g.view, err = whole.Slice(guardBytes, n); err != nil {
		whole.Close()
		return nil, err
	}
	guardedViews.Store(g.view, g)
	return g, nil
}

// guardPattern is n bytes of guardWord, little-endian, from offset 0.
func guardPattern(n int) []byte {
	b := make([]byte, (n+3)/4*4)
	for i := 0; i < len(b); i += 4 {
		binary.LittleEndian.PutUint32(b[i:], guardWord)
	}
	return b[:n]
}

// check reports the first guard word a kernel changed, on either side.
func (g *guardedBuffer) check() error {
	if g.view == g.whole {
		return nil
	}
	all := make([]byte, g.whole.Size())
	if err := g.whole.Read(0, all); err != nil {
		return err
	}
	want := guardPattern(len(all))
	for _, band := range [][2]int64{{0, guardBytes}, {guardBytes + g.size, int64(len(all))}} {
		got, exp := all[band[0]:band[1]], want[band[0]:band[1]]
		if bytes.Equal(got, exp) {
			continue
		}
		for i := range got {
			if got[i] != exp[i] {
				at := (band[0]+int64(i))&^3 - guardBytes // the word that changed
				side := "after its end"
				if at < 0 {
					side = "before its start"
				}
				return fmt.Errorf("guard band of a %d-byte test buffer overwritten at byte %d (%s): a kernel wrote outside its data", g.size, at, side)
			}
		}
	}
	return nil
}

func (g *guardedBuffer) close() {
	guardedViews.Delete(g.view)
	g.whole.Close()
}
