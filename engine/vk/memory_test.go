package vk_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
)

// openWithMemory opens a validated device of its own with the memory hook's setting.
func openWithMemory(t *testing.T, setting string) *vk.Device {
	t.Helper()
	t.Setenv(vk.MemoryEnv, setting)
	return vktest.Open(t)
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// roundTrip writes random bytes into [off, off+n) of b and reads them back.
func roundTrip(t *testing.T, b *vk.Buffer, r *rand.Rand, off int64, n int) {
	t.Helper()
	data := randomBytes(r, n)
	if err := b.Write(off, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, n)
	for i := range got {
		got[i] = 0xa5
	}
	if err := b.Read(off, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%d bytes at %d changed on the way through (mappable %v)", n, off, b.Mappable())
	}
}

func TestParseMemoryLimits(t *testing.T) {
	for s, want := range map[string]vk.MemoryLimits{
		"":                        {},
		"hide-hvdl":               {HideHostVisibleDeviceLocal: true},
		"hvdl=256M, heap=3G":      {HostVisibleBytes: 256 << 20, HeapBytes: 3 << 30},
		"heap=1000,hide-hvdl":     {HideHostVisibleDeviceLocal: true, HeapBytes: 1000},
		"hvdl=64K":                {HostVisibleBytes: 64 << 10},
		"hide-hvdl,,hvdl=1K,":     {HideHostVisibleDeviceLocal: true, HostVisibleBytes: 1 << 10},
		"fail-hvdl":               {FailHostVisible: true},
		"heap=2G,hvdl=2G,heap=1K": {HostVisibleBytes: 2 << 30, HeapBytes: 1 << 10},
	} {
		got, err := vk.ParseMemoryLimits(s)
		if err != nil || got != want {
			t.Errorf("ParseMemoryLimits(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"hide", "heap", "heap=", "heap=-1", "heap=0", "heap=1T", "hvdl=x", "bar=1M", "heap=99999999999G"} {
		if _, err := vk.ParseMemoryLimits(s); err == nil || !strings.Contains(err.Error(), vk.MemoryEnv) {
			t.Errorf("ParseMemoryLimits(%q): error %v, want one naming %s", s, err, vk.MemoryEnv)
		}
	}
	t.Setenv(vk.MemoryEnv, "heap=lots")
	if d, err := vk.Open(vktest.Options()); err == nil {
		d.Close()
		t.Error("a device opened with a malformed memory setting")
	}
}

// Without host-visible device-local memory every host transfer goes through the staging ring:
// transfers larger than the whole ring, at odd offsets and lengths, across chunk boundaries,
// arrive intact.
func TestStagingRingTransfers(t *testing.T) {
	dev := openWithMemory(t, "hide-hvdl")
	r := rand.New(rand.NewPCG(7, 8))
	restore := dev.SetMaxBindingForTest(8 << 20)
	b, err := dev.NewBuffer(21<<20+4*1237, vk.DeviceLocal, 4*1237)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Mappable() {
		t.Fatal("a device-local buffer is mapped with host-visible device-local memory hidden")
	}
	if b.ChunkSize() >= b.Size() {
		t.Fatalf("one chunk of %d bytes: the test wants several", b.ChunkSize())
	}
	roundTrip(t, b, r, 0, int(b.Size()))            // more than the ring holds, every chunk
	roundTrip(t, b, r, b.ChunkSize()-3, 11)         // across a chunk boundary, unaligned
	roundTrip(t, b, r, 5, 1)                        // one byte
	roundTrip(t, b, r, b.Size()-(17<<20)-1, 17<<20) // ends at the last byte
	// A part written later leaves the rest alone.
	all := make([]byte, b.Size())
	if err := b.Read(0, all); err != nil {
		t.Fatal(err)
	}
	patch := randomBytes(r, 4099)
	if err := b.Write(12345, patch); err != nil {
		t.Fatal(err)
	}
	copy(all[12345:], patch)
	got := make([]byte, b.Size())
	if err := b.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, all) {
		t.Fatal("a staged partial write changed bytes outside its range")
	}
	// Staging buffers are the device's own: they are not counted as live buffers.
	b.Close()
	if n := dev.LiveBuffers(); n != 0 {
		t.Errorf("%d live buffers after closing the only one", n)
	}
}

// A small host-visible window (a BAR) holds the small buffers while it has room; large ones, and
// small ones once it is full, go to plain device-local memory and work through staging.
func TestHostVisibleFallsBackToDeviceLocal(t *testing.T) {
	const window = 256 << 10
	dev := openWithMemory(t, "hvdl=256K")
	r := rand.New(rand.NewPCG(9, 10))
	big, err := dev.NewBuffer(1<<20, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if big.Mappable() {
		t.Error("a 1 MiB buffer was put in a 256 KiB host-visible window")
	}
	roundTrip(t, big, r, 0, 1<<20)
	var small []*vk.Buffer
	defer func() {
		for _, b := range small {
			b.Close()
		}
	}()
	mapped := 0
	for i := 0; i < 8; i++ {
		b, err := dev.NewBuffer(60<<10, vk.DeviceLocal, 0)
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, b)
		if b.Mappable() {
			mapped++
		}
		roundTrip(t, b, r, 3, 60<<10-3)
	}
	if mapped != 4 {
		t.Errorf("%d of 8 buffers of 60 KiB were mapped in a 256 KiB window, want 4", mapped)
	}
	if u := dev.MemoryUse(); u.HostVisibleDeviceLocal > window || u.HostVisibleAll {
		t.Errorf("memory use %+v: beyond the window", u)
	}
	// Freeing a mapped buffer makes room again.
	for i, b := range small {
		if b.Mappable() {
			b.Close()
			small = append(small[:i], small[i+1:]...)
			break
		}
	}
	b, err := dev.NewBuffer(60<<10, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatal(err)
	}
	small = append(small, b)
	if !b.Mappable() {
		t.Error("the window's freed room was not reused")
	}
}

// With the real memory (lavapipe's is host-visible device-local, and as large as the device's
// memory) every device-local buffer is mapped, and the budgets come from VK_EXT_memory_budget.
func TestHostVisibleDeviceLocalWhenItIsAllTheMemory(t *testing.T) {
	dev := vktest.Device(t)
	b, err := dev.NewBuffer(8<<20, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u := dev.MemoryUse()
	if !b.Mappable() || !u.HostVisibleAll {
		t.Errorf("an 8 MiB device-local buffer: mappable %v, memory use %+v", b.Mappable(), u)
	}
	if strings.Contains(dev.Info.Driver, "llvmpipe") && !u.Budget {
		t.Error("lavapipe reports VK_EXT_memory_budget, but the budgets do not come from it")
	}
}

// A buffer that does not fit the heap's budget fails with the bytes asked, the bytes left and
// VK_ERROR_OUT_OF_DEVICE_MEMORY, and the device and its buffers carry on.
func TestTooSmallHeapIsAClearError(t *testing.T) {
	dev := openWithMemory(t, "hide-hvdl,heap=4M")
	r := rand.New(rand.NewPCG(11, 12))
	keep, err := dev.NewBuffer(3<<20, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	data := randomBytes(r, 3<<20)
	if err := keep.Write(0, data); err != nil {
		t.Fatal(err)
	}
	_, err = dev.NewBuffer(2<<20, vk.DeviceLocal, 0)
	var ve *vk.Error
	if !errors.As(err, &ve) || !ve.OutOfMemory() {
		t.Fatalf("2 MiB more on a 4 MiB heap holding 3 MiB: %v, want out of device memory", err)
	}
	msg := err.Error()
	for _, want := range []string{"2097152-byte", "1048576 bytes of budget left", "1048576 bytes short"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if n := dev.LiveBuffers(); n != 1 {
		t.Errorf("%d live buffers after a failed allocation, want 1", n)
	}
	got := make([]byte, len(data))
	if err := keep.Read(0, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the buffer made before the failure: %v, equal %v", err, bytes.Equal(got, data))
	}
	b, err := dev.NewBuffer(1<<20-4096, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatalf("a buffer that fits after the failure: %v", err)
	}
	roundTrip(t, b, r, 0, int(b.Size()))
	b.Close()
}

// When the driver refuses an allocation in host-visible device-local memory (fail-hvdl makes it
// answer VK_ERROR_OUT_OF_DEVICE_MEMORY there), the buffer falls back to plain device-local memory
// and works through staging.
func TestHostVisibleAllocationFailureFallsBack(t *testing.T) {
	dev := openWithMemory(t, "fail-hvdl")
	r := rand.New(rand.NewPCG(13, 14))
	for _, size := range []int64{256, 60 << 10, 3<<20 + 12} {
		b, err := dev.NewBuffer(size, vk.DeviceLocal, 0)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if b.Mappable() {
			t.Errorf("%d bytes: mapped although host-visible device-local allocations fail", size)
		}
		roundTrip(t, b, r, 0, int(size))
		b.Close()
	}
	if u := dev.MemoryUse(); u.HostVisibleDeviceLocal != 0 || u.DeviceLocalBytes != 0 {
		t.Errorf("memory use after closing every buffer: %+v", u)
	}
}
