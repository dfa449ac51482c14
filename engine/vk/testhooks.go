package vk

import (
	"fmt"
	"strconv"
	"strings"
)

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

// MemoryEnv is a test hook that makes a device with host-visible device-local memory (lavapipe,
// UMA, resizable BAR) behave like a discrete card without it. Read through Getenv as each device
// opens, it is a comma-separated list of:
//
//	hide-hvdl    device-local buffers are never mapped: every host write and read goes through
//	             the staging ring, as on a card whose device-local memory the host cannot see
//	hvdl=BYTES   host-visible device-local memory is a window of BYTES (a BAR of 256 MiB is
//	             hvdl=256M): only small per-step buffers go there, and they fall back to plain
//	             device-local memory once it is full
//	heap=BYTES   device-local buffers get at most BYTES of every heap
//	fail-hvdl    every allocation of a device-local buffer in host-visible memory fails with
//	             VK_ERROR_OUT_OF_DEVICE_MEMORY, as a driver may answer when its BAR is full
//
// BYTES takes a K, M or G suffix (powers of 1024).
const MemoryEnv = "UDVLA_TEST_MEMORY"

// MemoryLimits are the limits MemoryEnv sets.
type MemoryLimits struct {
	HideHostVisibleDeviceLocal bool
	HostVisibleBytes           int64 // 0: no limit
	HeapBytes                  int64 // 0: no limit
	FailHostVisible            bool
}

// ParseMemoryLimits reads a MemoryEnv value.
func ParseMemoryLimits(s string) (MemoryLimits, error) {
	var l MemoryLimits
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		k, v, hasValue := strings.Cut(f, "=")
		switch {
		case f == "":
		case f == "hide-hvdl":
			l.HideHostVisibleDeviceLocal = true
		case f == "fail-hvdl":
			l.FailHostVisible = true
		case hasValue && (k == "hvdl" || k == "heap"):
			n, err := parseBytes(v)
			if err != nil {
				return l, fmt.Errorf("vulkan: %s=%q: %s: %v", MemoryEnv, s, f, err)
			}
			if k == "hvdl" {
				l.HostVisibleBytes = n
			} else {
				l.HeapBytes = n
			}
		default:
			return l, fmt.Errorf("vulkan: %s=%q: unknown setting %q (want hide-hvdl, fail-hvdl, hvdl=BYTES or heap=BYTES)", MemoryEnv, s, f)
		}
	}
	return l, nil
}

func parseBytes(v string) (int64, error) {
	mul := int64(1)
	switch {
	case strings.HasSuffix(v, "K"):
		mul, v = 1<<10, strings.TrimSuffix(v, "K")
	case strings.HasSuffix(v, "M"):
		mul, v = 1<<20, strings.TrimSuffix(v, "M")
	case strings.HasSuffix(v, "G"):
		mul, v = 1<<30, strings.TrimSuffix(v, "G")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("want a positive byte count")
	}
	return n * mul, nil
}

func memoryLimitsFromEnv() (MemoryLimits, error) {
	v := Getenv(MemoryEnv)
	if v == "" {
		return MemoryLimits{}, nil
	}
	return ParseMemoryLimits(v)
}

// SetMemoryLimitsForTest applies limits to a device as MemoryEnv would have at its opening. Buffers
// already made keep their memory. It is meant for tests only, and must not run while another
// goroutine allocates on the device or transfers through staging.
func (d *Device) SetMemoryLimitsForTest(l MemoryLimits) {
	d.mem.mu.Lock()
	defer d.mem.mu.Unlock()
	d.mem.setLimits(l)
}
