package vk_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
	"github.com/udvla/udvla/shaders"
)

func TestDevices(t *testing.T) {
	in, err := vk.NewInstance(vktest.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	vktest.Gate(t, in)
	devs := in.Devices()
	if len(devs) == 0 {
		t.Fatal("no Vulkan device: lavapipe (mesa-vulkan-drivers) should always be present")
	}
	for _, d := range devs {
		t.Logf("%v maxStorageBufferRange=%d maxAlloc=%d heaps=%v missing=%v", d, d.MaxStorageBufferRange, d.MaxAllocationSize, d.Heaps, d.Missing)
		if d.Name == "" || d.SubgroupSize == 0 || d.MaxStorageBufferRange == 0 || len(d.Heaps) == 0 {
			t.Errorf("device %d: incomplete info %+v", d.Index, d)
		}
	}
	best, err := in.Choose("")
	if err != nil {
		t.Fatal(err)
	}
	byIndex, err := in.Choose(strconv.Itoa(best.Index))
	if err != nil || byIndex.Name != best.Name {
		t.Fatalf("choose by index: %v %v", byIndex, err)
	}
	byName, err := in.Choose(strings.ToUpper(best.Name[:3]))
	if err != nil || !strings.Contains(strings.ToLower(byName.Name), strings.ToLower(best.Name[:3])) {
		t.Fatalf("choose by name substring: %v %v", byName, err)
	}
	if _, err := in.Choose("no such device"); err == nil {
		t.Fatal("a selector matching nothing must fail")
	}
	if _, err := in.Choose("99"); err == nil {
		t.Fatal("an index out of range must fail")
	}
}

// The gate must catch a real validation error: a descriptor range past the end of its buffer.
func TestValidationGateCatchesErrors(t *testing.T) {
	dev, err := vk.Open(vktest.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	buf, p, s := addFixture(t, dev, 256)
	defer buf.Close()
	defer s.Close()
	good, _ := buf.All()
	bad := vk.Binding{Buf: good.Buf, Off: 128, Size: 4096} // runs past the 256-byte buffer
	s.Dispatch(p, vk.Work{Label: "add"}, 1, 1, 1, []byte{1, 0, 0, 0}, vk.W(good), vk.R(bad))
	before := dev.Instance().MessageCount()
	if err := s.Record(); err != nil {
		t.Fatal(err)
	}
	msgs := dev.Instance().Messages(before)
	if len(msgs) == 0 {
		t.Fatal("recording an out-of-range descriptor produced no validation message")
	}
	t.Logf("caught: %.200s", msgs[0])

	// And Gate turns such a message into a test failure.
	var rec recorder
	vktest.Gate(&rec, dev.Instance())
	dev.Instance().InjectMessage("injected validation message")
	rec.cleanup()
	if !rec.failed || !strings.Contains(rec.msg, "injected validation message") {
		t.Fatalf("gate did not fail the test: %+v", rec)
	}
}

type recorder struct {
	testing.TB
	cleanups []func()
	failed   bool
	msg      string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = sprintf(format, args...)
}
func (r *recorder) cleanup() {
	for _, f := range r.cleanups {
		f()
	}
}

// Buffers larger than one binding are split into chunks; data crosses the boundary intact.
func TestBufferChunks(t *testing.T) {
	dev := vktest.Device(t)
	limit := int64(dev.Info.MaxStorageBufferRange)
	if limit > 256<<20 {
		t.Skipf("binding limit %d too large to exceed cheaply on this device", limit)
	}
	rowBytes := int64(3 * 4 * 1000) // a row size that does not divide the limit
	b, err := dev.NewBuffer(limit+5*rowBytes, vk.DeviceLocal, rowBytes)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.ChunkSize()%rowBytes != 0 || b.ChunkSize() > limit {
		t.Fatalf("chunk size %d: not a multiple of %d within %d", b.ChunkSize(), rowBytes, limit)
	}
	data := make([]byte, 3*rowBytes)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	off := b.ChunkSize() - rowBytes
	if err := b.Write(off, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := b.Read(off, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data across the chunk boundary changed")
	}
	if _, err := b.Bind(off, 2*rowBytes); err == nil {
		t.Fatal("a binding straddling chunks must be refused")
	}
	if _, err := b.Bind(b.ChunkSize(), rowBytes); err != nil {
		t.Fatalf("a binding at the start of chunk 1: %v", err)
	}
}

func TestOutOfMemoryIsAnError(t *testing.T) {
	dev := vktest.Device(t)
	var total uint64
	for _, h := range dev.Info.Heaps {
		total += h.Size
	}
	_, err := dev.NewBuffer(int64(total)*4, vk.DeviceLocal, 0)
	if err == nil {
		t.Fatal("allocating 4x the device's memory succeeded")
	}
	t.Logf("refused as expected: %v", err)
	// The device is still usable.
	b, err := dev.NewBuffer(1024, vk.DeviceLocal, 0)
	if err != nil {
		t.Fatalf("device unusable after a failed allocation: %v", err)
	}
	b.Close()
}

// settle runs the collector until finalizers (vulkan-go frees its C memory in them) have run.
func settle() {
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	debug.FreeOSMemory()
}

func goHeap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func rssKB(t testing.TB) int {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// Opening and closing a device (with a buffer, a pipeline and a submission each time) 100 times
// must not grow the process.
func TestOpenCloseLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	cycle := func() {
		dev, err := vk.Open(vk.Options{Device: os.Getenv("UDVLA_DEVICE")})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := dev.NewBuffer(1<<20, vk.DeviceLocal, 0)
		p, err := dev.Pipeline("add", shaders.MustSPIRV("add"), []uint32{64}, 2, 4, 0)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := dev.NewSequence()
		bd, _ := b.All()
		s.Dispatch(p, vk.Work{Label: "add"}, 1, 1, 1, []byte{16, 0, 0, 0}, vk.W(bd), vk.R(bd))
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		b.Close()
		dev.Close()
	}
	for i := 0; i < 10; i++ { // warm up allocators and driver caches
		cycle()
	}
	settle()
	rss0, c0, g0 := rssKB(t), vk.CHeapInUse(), goHeap()
	for i := 0; i < 100; i++ {
		cycle()
	}
	settle()
	rss1, c1, g1 := rssKB(t), vk.CHeapInUse(), goHeap()
	t.Logf("100 open/close cycles: RSS %d -> %d kB (glibc arenas inflate it); C heap in use %+d kB; Go heap %+d kB",
		rss0, rss1, (int64(c1)-int64(c0))/1024, (int64(g1)-int64(g0))/1024)
	// Lavapipe keeps a few kB of caches per device; a leaked buffer or device would be far more.
	if dc := int64(c1) - int64(c0); dc > 2<<20 {
		t.Errorf("C heap grew by %d kB over 100 cycles", dc/1024)
	}
	if dg := int64(g1) - int64(g0); dg > 2<<20 {
		t.Errorf("Go heap grew by %d kB over 100 cycles", dg/1024)
	}
}
