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
