package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/udvla/udvla/engine"
	"github.com/udvla/udvla/engine/vk"
)

// report is the --json document of every command (docs/bench.schema.json, docs/BENCH.md). Every
// top-level field is always present; those of other commands are null or empty.
type report struct {
	Schema  string        `json:"schema"` // "udvla-bench/1"
	Command string        `json:"command"`
	Created string        `json:"created"` // RFC 3339
	Engine  engineInfo    `json:"engine"`
	Host    hostInfo      `json:"host"`
	Device  *deviceInfo   `json:"device"`           // the device measured (devices: the one chosen)
	Devices []deviceInfo  `json:"devices"`          // devices: every device
	Config  *runConfig    `json:"config"`           // run
	Modes   []modeReport  `json:"modes"`            // run
	Frames  *framesReport `json:"frames,omitempty"` // run --frames
	Ops     []opReport    `json:"ops"`              // ops
}

type engineInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`   // "" when neither the build nor git knows it
	Modified *bool  `json:"modified"` // uncommitted changes; null when unknown
	Go       string `json:"go"`
}

type hostInfo struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
}

type deviceInfo struct {
	Index             int     `json:"index"`
	Name              string  `json:"name"`
	Vendor            string  `json:"vendor"`
	Type              string  `json:"type"`
	Driver            string  `json:"driver"`
	DriverVersion     uint32  `json:"driver_version"`
	APIVersion        string  `json:"api_version"`
	SubgroupSize      int     `json:"subgroup_size"`
	Timestamps        bool    `json:"timestamps"`
	TimestampPeriodNS float64 `json:"timestamp_period_ns"`
	DeviceLocalMiB    uint64  `json:"device_local_mib"`
	Usable            bool    `json:"usable"`
	// the facts the kernel table reads, and what it picked (kernels.go)
	MinSubgroup    int                 `json:"min_subgroup"`
	MaxSubgroup    int                 `json:"max_subgroup"`
	SharedMemory   int                 `json:"shared_memory"`   // bytes per workgroup
	CoopMat        []string            `json:"coop_mat"`        // "MxNxK A*B+C->R" per shape
	Kernels        map[string]string   `json:"kernels"`         // family → the variant run
	KernelVariants map[string][]string `json:"kernel_variants"` // family → the variants it can run
}

func newReport(command string) *report {
	return &report{Schema: "udvla-bench/1", Command: command, Created: time.Now().UTC().Format(time.RFC3339),
		Engine: buildInfo(), Host: hostInfo{runtime.GOOS, runtime.GOARCH, runtime.NumCPU()},
		Devices: []deviceInfo{}, Modes: []modeReport{}, Ops: []opReport{}}
}

func toDeviceInfo(d vk.DeviceInfo) deviceInfo {
	o := deviceInfo{Index: d.Index, Name: d.Name, Vendor: d.Vendor, Type: d.Type.String(), Driver: d.Driver,
		DriverVersion: d.DriverVersion, APIVersion: d.APIVersion, SubgroupSize: d.SubgroupSize,
		Timestamps: d.Timestamps, TimestampPeriodNS: d.TimestampPeriodNS, Usable: len(d.Missing) == 0}
	addKernelFacts(&o, d)
	for _, h := range d.Heaps {
		if h.DeviceLocal {
			o.DeviceLocalMiB += h.Size >> 20
		}
	}
	return o
}

// buildInfo reads the commit from the build's VCS stamp, or from git in the working directory
// (go run and go test do not stamp).
func buildInfo() engineInfo {
	e := engineInfo{Version: engine.Version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				e.Commit = s.Value
			case "vcs.modified":
				m := s.Value == "true"
				e.Modified = &m
			}
		}
	}
	if e.Commit == "" {
		if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
			e.Commit = strings.TrimSpace(string(out))
			if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
				m := len(strings.TrimSpace(string(st))) > 0
				e.Modified = &m
			}
		}
	}
	return e
}

// write saves the report as indented JSON.
func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
