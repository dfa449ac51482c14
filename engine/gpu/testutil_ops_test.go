package gpu

import (
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/udvla/udvla/engine/seq"
	"github.com/udvla/udvla/engine/vk"
)

// uploadBytes makes a device buffer holding b, inside guard bands that fail t when a kernel
// overruns it (see guarded).
func uploadBytes(t testing.TB, dev *vk.Device, b []byte) *vk.Buffer {
	t.Helper()
	g, err := guarded(dev, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.check(); err != nil {
			t.Error(err)
		}
		g.close()
	})
	return g.view
}

// seed gives every test its own random stream.
func seed(t testing.TB) *rand.Rand {
	var h uint64 = 1469598103934665603
	for _, c := range t.Name() {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(h, 7))
}

// mustRecord fails t on a Record error.
func mustRecord(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkErr fails t when the normalised error of got exceeds limit, and logs it.
func checkErr(t testing.TB, what string, got, want []float32, limit float64) {
	t.Helper()
	e := relErr(got, want)
	t.Logf("%s: normalised error %.3g (limit %.3g)", what, e, limit)
	if !(e <= limit) {
		t.Fatalf("%s: normalised error %.3g exceeds %.3g", what, e, limit)
	}
}

// randMask is a block mask over n positions shaped like the sequences the engine builds: blocks
// of random lengths in order, each causal or bidirectional, and scattered PAD positions.
func randMask(r *rand.Rand, n int) *seq.Mask {
	m := &seq.Mask{Block: make([]int32, n), Bidir: make([]bool, n), Pad: make([]bool, n)}
	block, left, bidir := int32(0), 0, false
	for i := range n {
		if left == 0 {
			if i > 0 {
				block++
			}
			left = 1 + r.IntN(max(1, n/3))
			bidir = r.IntN(2) == 0
		}
		left--
		m.Block[i], m.Bidir[i], m.Pad[i] = block, bidir, r.IntN(20) == 0
	}
	return m
}

// calvinMasks are the masks of a CALVIN control step, 770 prefix positions (23 text, 747
// current-image) and 817 generated ones (747 future-image, 70 action): the paper mask, and the
// release mask of a step whose EOA was predicted 40 slots into the actions.
func calvinMasks() (paper, release *seq.Mask) {
	const text, images, actions, eoa = 23, 747, 70, 40
	n := text + 2*images + actions
	paper = &seq.Mask{Block: make([]int32, n), Bidir: make([]bool, n), Pad: make([]bool, n)}
	release = &seq.Mask{Block: make([]int32, n), Bidir: make([]bool, n), Pad: make([]bool, n)}
	for i := range n {
		switch {
		case i < text:
		case i < text+images:
			paper.Block[i], paper.Bidir[i] = 1, true
		case i < text+2*images:
			paper.Block[i], paper.Bidir[i] = 2, true
		default:
			paper.Block[i], paper.Bidir[i] = 3, true
		}
		switch {
		case i < text:
		case i <= text+2*images+eoa:
			release.Block[i], release.Bidir[i] = 1, true
		default:
			release.Block[i] = 2
		}
	}
	return paper, release
}

// words packs a mask for Attention, failing t on error.
func words(t testing.TB, m *seq.Mask) []int32 {
	t.Helper()
	w, err := MaskWords(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// reach computes MaskReach, failing t on error.
func reach(t testing.TB, m *seq.Mask) []int32 {
	t.Helper()
	r, err := MaskReach(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	benchOnce sync.Once
	benchDev  *vk.Device
	benchErr  error
)

// benchDevice is a device without validation for benchmarks (UDVLA_DEVICE selects it), so that
// the timings are the driver's alone.
func benchDevice(b *testing.B) *vk.Device {
	benchOnce.Do(func() { benchDev, benchErr = vk.Open(vk.Options{Device: os.Getenv("UDVLA_DEVICE")}) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDev
}

// benchRun records f once and submits it b.N times, reporting GB/s for bytes moved per run and
// GFLOP/s for flops per run (either may be zero). On a CPU device (lavapipe runs the kernels on
// threads of this process) it also reports the same per second of CPU time the process used
// ("GB/cpu-s", "GFLOP/cpu-s"): a machine shared with other work slows the wall clock, not that,
// and twice it is what the two cores would reach undisturbed.
func benchRun(b *testing.B, dev *vk.Device, bytes, flops float64, f func(s *vk.Sequence)) {
	s, err := dev.NewSequence()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f(s)
	if err := s.Run(); err != nil { // warm-up: pipeline compile, first touch of memory
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if err := s.Submit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds() / float64(b.N)
	cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
	for _, m := range []struct {
		amount      float64
		unit, label string
	}{{bytes, "GB", "GB"}, {flops, "GFLOP", "GFLOP"}} {
		if m.amount <= 0 {
			continue
		}
		b.ReportMetric(m.amount/sec/1e9, m.unit+"/s")
		if dev.Info.Type == vk.TypeCPU && cpu > 0 {
			b.ReportMetric(m.amount/cpu/1e9, m.label+"/cpu-s")
		}
	}
}

// cpuTime is the CPU time this process has used, all threads together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nan is the float32 quiet NaN.
var nan = float32(math.NaN())

// BenchmarkCopyBaseline is the device's own buffer copy (vkCmdCopyBuffer) of 64 MiB: the memory
// bandwidth the elementwise kernels are measured against, in the same run.
func BenchmarkCopyBaseline(b *testing.B) {
	dev := benchDevice(b)
	const n = 16 << 20
	src, dst := upload(b, dev, randFloats(seed(b), n, 1)), poisoned(b, dev, n)
	benchRun(b, dev, 2*4*n, 0, func(s *vk.Sequence) { s.Copy(bind(b, src), bind(b, dst)) })
}
