// Package vktest gives tests a Vulkan device with the Khronos validation layer and synchronization
// validation on, and fails any test during which a validation message arrives.
package vktest

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/udvla/udvla/engine/vk"
)

var (
	once   sync.Once
	shared *vk.Device
	err    error
)

// Options are the options every test device uses: validation, synchronization validation and
// robust buffer access on (UDVLA_ROBUST=0 turns robust access off as the device opens, so that the
// kernel tests also run as production does); UDVLA_DEVICE still selects the device.
func Options() vk.Options {
	return vk.Options{Validate: true, SyncValidate: true, Robust: true, Device: os.Getenv("UDVLA_DEVICE")}
}

// Device returns the package's shared validated device and registers a check that fails t if a
// validation message arrives before t ends. The device lives until the process exits.
func Device(t testing.TB) *vk.Device {
	t.Helper()
	once.Do(func() { shared, err = vk.Open(Options()) })
	if err != nil {
		t.Fatalf("open validated Vulkan device: %v", err)
	}
	Gate(t, shared.Instance())
	return shared
}

// Gate fails t if in receives a validation message between now and the end of t.
func Gate(t testing.TB, in *vk.Instance) {
	t.Helper()
	start := in.MessageCount()
	t.Cleanup(func() {
		if n := in.MessageCount(); n > start {
			t.Errorf("%d validation message(s):\n%s", n-start, strings.Join(in.Messages(start), "\n---\n"))
		}
	})
}

// Open opens a validated device of t's own, with the settings t has put in the environment
// (t.Setenv of UDVLA_ROBUST or a test hook), gated as Device is, and closed when t ends.
func Open(t testing.TB) *vk.Device {
	t.Helper()
	dev, err := vk.Open(Options())
	if err != nil {
		t.Fatalf("open validated Vulkan device: %v", err)
	}
	t.Cleanup(dev.Close) // after the gate below, which reads the instance
	Gate(t, dev.Instance())
	return dev
}
