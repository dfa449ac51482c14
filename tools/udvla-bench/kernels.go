package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/udvla/udvla/engine/gpu"
	"github.com/udvla/udvla/engine/vk"
)

// kernelsUsage is the help of every --kernels override flag.
const kernelsUsage = "kernel variants as family=variant,... over the device's table choice (default: $UDVLA_KERNELS; `udvla-bench devices` lists each device's)"

// addKernelFacts fills the device facts the kernel table reads, its choice and the variants the
// device can run.
func addKernelFacts(o *deviceInfo, d vk.DeviceInfo) {
	o.MinSubgroup, o.MaxSubgroup, o.SharedMemory = d.MinSubgroup, d.MaxSubgroup, d.MaxSharedMemory
	o.CoopMat = []string{}
	for _, c := range d.CoopMat {
		o.CoopMat = append(o.CoopMat, fmt.Sprintf("%dx%dx%d %s*%s+%s->%s", c.M, c.N, c.K, c.A, c.B, c.C, c.Result))
	}
	o.Kernels = gpu.ChooseKernels(d).Map()
	o.KernelVariants = map[string][]string{}
	for _, f := range gpu.KernelFamilies() {
		o.KernelVariants[f] = append([]string{}, gpu.KernelVariants(f, d)...)
	}
}

// printKernelFacts writes the table's facts and the variants of one device.
func printKernelFacts(w io.Writer, d deviceInfo) {
	coop := "none"
	if len(d.CoopMat) > 0 {
		coop = strings.Join(d.CoopMat, ", ")
	}
	fmt.Fprintf(w, "    subgroup %d (subgroup range %d-%d), shared memory %d KiB, cooperative matrices: %s\n",
		d.SubgroupSize, d.MinSubgroup, d.MaxSubgroup, d.SharedMemory>>10, coop)
	fmt.Fprintf(w, "    kernels  %s\n", kernelsLine(d))
}

// kernelsLine is "attention=subgroup (of subgroup, scalar), matmul=..." in family order.
func kernelsLine(d deviceInfo) string {
	var parts []string
	for _, f := range gpu.KernelFamilies() {
		parts = append(parts, fmt.Sprintf("%s=%s (of %s)", f, d.Kernels[f], strings.Join(d.KernelVariants[f], ", ")))
	}
	return strings.Join(parts, ", ")
}

// overrideKernels is the device's table choice with an override over it (UDVLA_KERNELS when
// spec is empty).
func overrideKernels(d vk.DeviceInfo, spec string) (gpu.Kernels, error) {
	if spec == "" {
		spec = vk.Getenv("UDVLA_KERNELS")
	}
	return gpu.OverrideKernels(gpu.ChooseKernels(d), d, spec)
}
