package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/udvla/udvla/engine/gpu"
)

// checkKernelsNamed demands that a report's device names a runnable variant for every family.
func checkKernelsNamed(t *testing.T, d *deviceInfo) {
	t.Helper()
	if d == nil {
		t.Fatal("no device in the report")
	}
	for _, f := range gpu.KernelFamilies() {
		v, ok := d.Kernels[f]
		if !ok || !slices.Contains(d.KernelVariants[f], v) {
			t.Errorf("%s: %s=%q, runnable %v", d.Name, f, v, d.KernelVariants[f])
		}
	}
}

// `devices` lists the facts the kernel table reads and the variants it picks, and takes an override.
func TestDevicesKernels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devices.json")
	out, e, code := bench(t, "devices", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	for _, want := range []string{"subgroup range", "shared memory", "cooperative matrices", "kernels ", "matmul=", "attention="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	r := readReport(t, path)
	for i := range r.Devices {
		if r.Devices[i].Usable {
			checkKernelsNamed(t, &r.Devices[i])
		}
	}
	checkKernelsNamed(t, r.Device)
	if r.Device.SharedMemory <= 0 || r.Device.MaxSubgroup < r.Device.MinSubgroup || r.Device.CoopMat == nil {
		t.Errorf("device facts: %+v", r.Device)
	}

	out, e, code = bench(t, "devices", "--kernels", "attention=scalar", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if r = readReport(t, path); r.Device.Kernels["attention"] != gpu.AttentionScalar || !strings.Contains(out, "attention=scalar") {
		t.Errorf("override not shown: %v\n%s", r.Device.Kernels, out)
	}
	if _, e, code = bench(t, "devices", "--kernels", "matmul=bogus"); code == 0 || !strings.Contains(e, "variants") {
		t.Errorf("a bad override: exit %d, %s", code, e)
	}
}

// `run --kernels` runs the override and the report names what ran; a bad override fails before
// any synthetic model is written.
func TestRunKernelsOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	out, e, code := bench(t, "run", "--model", tinyPath, "--modes", "jd3p", "--runs", "1", "--warmup", "0", "--steps", "2",
		"--kernels", "attention=scalar", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	r := readReport(t, path)
	checkKernelsNamed(t, r.Device)
	if r.Device.Kernels["attention"] != gpu.AttentionScalar || !strings.Contains(out, "kernels  attention=scalar") {
		t.Errorf("kernels %v\n%s", r.Device.Kernels, out)
	}
	dir := t.TempDir()
	_, e, code = bench(t, "run", "--config", "tiny", "--tmp", dir, "--kernels", "matmul=bogus")
	if code == 0 || !strings.Contains(e, "variants") || strings.Contains(e, "writing") {
		t.Errorf("a bad override: exit %d, %s", code, e)
	}
}

// `ops` takes variant overrides among its kernels: "attention=scalar" measures attention with the
// scalar kernel, and the report says so.
func TestOpsKernelsOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ops.json")
	_, e, code := bench(t, "ops", "--kernels", "attention=scalar", "--n", "3", "--min-time", "1ms", "--max-reps", "1", "--json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	r := readReport(t, path)
	checkKernelsNamed(t, r.Device)
	if r.Device.Kernels["attention"] != gpu.AttentionScalar || len(r.Ops) == 0 {
		t.Fatalf("kernels %v, %d ops", r.Device.Kernels, len(r.Ops))
	}
	for _, o := range r.Ops { // named by the pipeline that ran
		if o.Kernel != "attention_scalar" {
			t.Errorf("measured %q", o.Kernel)
		}
	}
	if _, e, code = bench(t, "ops", "--kernels", "matmul=bogus"); code == 0 || !strings.Contains(e, "variants") {
		t.Errorf("a bad override: exit %d, %s", code, e)
	}
}
