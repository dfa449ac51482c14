package decode

import (
	"sort"
	"time"
)

// KernelTime is one kernel's part of a phase of a control step (engine.KernelTime).
type KernelTime struct {
	Kernel     string
	Dispatches int
	Time       time.Duration
	FLOPs      float64
	Bytes      float64
}

// Phase is one recorded sequence kind of a control step and its kernels (engine.PhaseProfile).
type Phase struct {
	Name    string
	Runs    int
	Kernels []KernelTime
}

// KernelSums sums kernel times by kernel name.
type KernelSums map[string]*KernelTime

// Add adds k to the sums of its kernel.
func (a KernelSums) Add(k KernelTime) {
	t := a[k.Kernel]
	if t == nil {
		t = &KernelTime{Kernel: k.Kernel}
		a[k.Kernel] = t
	}
	t.Dispatches += k.Dispatches
	t.Time += k.Time
	t.FLOPs += k.FLOPs
	t.Bytes += k.Bytes
}

// Sorted returns the sums by descending time, then by name.
func (a KernelSums) Sorted() []KernelTime {
	out := make([]KernelTime, 0, len(a))
	for _, k := range a {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time > out[j].Time
		}
		return out[i].Kernel < out[j].Kernel
	})
	return out
}
