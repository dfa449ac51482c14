package vk_test

import (
	"testing"

	"github.com/udvla/udvla/engine/vk"
	"github.com/udvla/udvla/engine/vk/vktest"
	"github.com/udvla/udvla/shaders"
)

// BenchmarkRecordDispatch measures the hot path of the recorder: adding one dispatch (hazard
// tracking included) and recording it into the command buffer, per dispatch.
// Without validation it is the engine's own cost; with it, the layer's cost dominates.
func BenchmarkRecordDispatch(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		dev, err := vk.Open(vk.Options{}.WithEnv())
		if err != nil {
			b.Fatal(err)
		}
		defer dev.Close()
		benchRecord(b, dev)
	})
	b.Run("validated", func(b *testing.B) { benchRecord(b, vktest.Device(b)) })
}

func benchRecord(b *testing.B, dev *vk.Device) {
	p, err := dev.Pipeline("add", shaders.MustSPIRV("add"), []uint32{64}, 2, 4, 0)
	if err != nil {
		b.Fatal(err)
	}
	const perBatch = 1000
	bufs := make([]vk.Binding, 8)
	for i := range bufs {
		buf, err := dev.NewBuffer(4096, vk.DeviceLocal, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer buf.Close()
		bufs[i], _ = buf.All()
	}
	s, err := dev.NewSequence()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	push := []byte{0, 4, 0, 0}
	work := vk.Work{Label: "add", FLOPs: 1024, Bytes: 12 * 1024}
	batch := func() {
		s.Reset()
		for i := 0; i < perBatch; i++ {
			s.Dispatch(p, work, 16, 1, 1, push, vk.W(bufs[i%8]), vk.R(bufs[(i+3)%8]))
		}
		if err := s.Record(); err != nil {
			b.Fatal(err)
		}
	}
	batch() // grow the command list once
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/dispatch")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkTransfer measures host-to-device writes and device-to-host reads of a 64 MiB
// device-local buffer, mapped (host-visible device-local memory) and through the staging ring
// (the same memory with its host visibility hidden, as on a discrete card), in one process.
func BenchmarkTransfer(b *testing.B) {
	const size = 64 << 20
	for _, c := range []struct {
		name   string
		limits vk.MemoryLimits
	}{{"mapped", vk.MemoryLimits{}}, {"staged", vk.MemoryLimits{HideHostVisibleDeviceLocal: true}}} {
		dev, err := vk.Open(vk.Options{}.WithEnv())
		if err != nil {
			b.Fatal(err)
		}
		dev.SetMemoryLimitsForTest(c.limits)
		buf, err := dev.NewBuffer(size, vk.DeviceLocal, 0)
		if err != nil {
			b.Fatal(err)
		}
		if buf.Mappable() != (c.name == "mapped") {
			b.Fatalf("%s: mappable %v", c.name, buf.Mappable())
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		b.Run(c.name+"/write", func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				if err := buf.Write(0, data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/read", func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				if err := buf.Read(0, data); err != nil {
					b.Fatal(err)
				}
			}
		})
		buf.Close()
		dev.Close()
	}
}
