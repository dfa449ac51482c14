package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/vk"
)

// The KV cache of a layer is two buffers [capacity][KVHeads*HeadDim] f32, K rotated, holding
// [cached prefix ; current tokens] so that attention reads one buffer per operand. Appending the
// current tokens costs no pass of its own: RoPE writes the rotated K rows straight into the cache
// (RoPEArgs.KOut, KOutRow), and V either comes from a V projection whose output binding is the
// cache's rows themselves, or is copied with AppendRows (a transfer command, no shader).

// AppendRows records the copy of n rows of width floats from src (dense) into dst at rows
// row..row+n-1 (dense rows of the same width): the V half of a KV-cache append.
func AppendRows(s *vk.Sequence, src, dst vk.Binding, row, n, width int) error {
	const op = "kv append"
	if n <= 0 || width <= 0 || row < 0 {
		return fmt.Errorf("%s: %d rows of %d at row %d", op, n, width, row)
	}
	if err := needRows(op, "source", src, n, width, width); err != nil {
		return err
	}
	if err := needRows(op, "cache", dst, row+n, width, width); err != nil {
		return err
	}
	bytes := 4 * int64(n) * int64(width)
	s.Copy(vk.Binding{Buf: src.Buf, Off: src.Off, Size: bytes},
		vk.Binding{Buf: dst.Buf, Off: dst.Off + 4*int64(row)*int64(width), Size: bytes})
	return nil
}
