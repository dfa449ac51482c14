package frame

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user + system CPU time. The benchmarks report it per operation beside
// the wall time: on a machine shared with other work the wall time mostly measures waiting.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResize: a VGA camera frame to the release's two camera sizes, and the whole
// preprocessing (resize + Emu3 processor) of the 200x200 camera.
func BenchmarkResize(b *testing.B) {
	f := randomFrame(rand.New(rand.NewPCG(9, 10)), 640, 480, 0)
	run := func(name string, op func() error) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(f.Pix)))
			start := cpuTime(b)
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
	for _, side := range []int{200, 80} {
		run("640x480_to_"+itoa(side)+"x"+itoa(side), func() error { _, err := Resize(f, side, side); return err })
	}
	run("prepare_640x480_to_200x200", func() error { _, err := Prepare(f, 200, 200); return err })
}
