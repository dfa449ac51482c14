package vk

// SetMaxBindingForTest lowers the largest storage binding the device reports to n bytes (a
// multiple of 256), so that a test can make NewBuffer split a small buffer into several chunks
// and exercise the code that handles weights larger than one binding. It returns a function that
// restores the previous limit. Buffers keep the chunking they were allocated with. It is meant for
// tests only, and must not run while another goroutine allocates on the device.
func (d *Device) SetMaxBindingForTest(n int64) (restore func()) {
	old := d.Info.MaxStorageBufferRange
	if n > 0 {
		d.Info.MaxStorageBufferRange = uint64(n)
	}
	return func() { d.Info.MaxStorageBufferRange = old }
}
