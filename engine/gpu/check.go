package gpu

import (
	"fmt"

	"github.com/udvla/udvla/engine/vk"
)

// maxGroupsY bounds the grid's y dimension, which several ops use for the token index
// (maxComputeWorkGroupCount[1] is at least 65535 on every Vulkan device).
const maxGroupsY = 65535

// MaxTokens is the most tokens one forward can carry: embed, attention and SiLU·mul index the
// token by the grid's y dimension.
const MaxTokens = maxGroupsY

// needBytes reports an error when binding b, named what, holds fewer than n bytes.
func needBytes(op, what string, b vk.Binding, n int64) error {
	if b.Size < n {
		return fmt.Errorf("%s: %s binding holds %d bytes, needs %d", op, what, b.Size, n)
	}
	return nil
}

// needRows reports an error when binding b cannot hold rows rows of width floats spaced stride
// floats apart.
func needRows(op, what string, b vk.Binding, rows, width, stride int) error {
	if stride < width {
		return fmt.Errorf("%s: %s row stride %d is smaller than its width %d", op, what, stride, width)
	}
	return needBytes(op, what, b, 4*(int64(rows-1)*int64(stride)+int64(width)))
}

// groups is ceil(n / local).
func groups(n, local int) uint32 { return uint32((n + local - 1) / local) }
