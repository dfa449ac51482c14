package vk

/*
#include "vkc.h"
*/
import "C"

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	vkgo "github.com/vulkan-go/vulkan"
)

// DeviceType is the kind of physical device, in Vulkan's numbering.
type DeviceType int

const (
	TypeOther DeviceType = iota
	TypeIntegrated
	TypeDiscrete
	TypeVirtual
	TypeCPU
)

func (t DeviceType) String() string {
	return [...]string{"other", "integrated", "discrete", "virtual", "cpu"}[t]
}

// rank orders device types for the default choice: lower is better.
func (t DeviceType) rank() int {
	return [...]int{4, 1, 0, 2, 3}[t]
}

// Heap is one memory heap.
type Heap struct {
	Size        uint64
	DeviceLocal bool
}

// CoopMatShape is one cooperative-matrix multiply a device supports: an M×K A times a K×N B plus an
// M×N C, with the component types named "f16", "f32", "s8", "u8" or "s32".
type CoopMatShape struct {
	M, N, K         int
	A, B, C, Result string
}

// DeviceInfo describes a physical device.
type DeviceInfo struct {
	Index                 int
	Name                  string
	Vendor                string // AMD, NVIDIA, Intel, CPU, or the PCI vendor id
	VendorID, DeviceID    uint32
	Type                  DeviceType
	Driver                string // driver name and info
	DriverVersion         uint32
	APIVersion            string
	SubgroupSize          int
	MinSubgroup           int
	MaxSubgroup           int
	MaxStorageBufferRange uint64
	MaxAllocationSize     uint64
	MaxPushConstants      int
	MaxWorkgroupSize      [3]int
	MaxWorkgroupInvoc     int
	MaxSharedMemory       int
	MinStorageAlign       uint64
	TimestampPeriodNS     float64
	Timestamps            bool
	Heaps                 []Heap
	// CoopMat lists the cooperative-matrix shapes the device reports (VK_NV_cooperative_matrix);
	// empty when it has none.
	CoopMat []CoopMatShape
	Missing []string // required features this device lacks
}

func (d DeviceInfo) String() string {
	return fmt.Sprintf("%d: %s (%s, %s, driver %s, Vulkan %s, subgroup %d)", d.Index, d.Name, d.Vendor, d.Type,
		d.Driver, d.APIVersion, d.SubgroupSize)
}

func vendorName(id uint32, t DeviceType) string {
	switch {
	case t == TypeCPU:
		return "CPU"
	case id == 0x1002:
		return "AMD"
	case id == 0x10de:
		return "NVIDIA"
	case id == 0x8086:
		return "Intel"
	}
	return fmt.Sprintf("0x%04x", id)
}

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22&0x7f, v>>12&0x3ff, v&0xfff)
}

// enumerate lists devices through vulkan-go (setup only: it allocates C memory per call).
func (in *Instance) enumerate() error {
	h := uint64(C.uv_instance_handle(in.c))
	inst := *(*vkgo.Instance)(unsafe.Pointer(&h))
	var n uint32
	if r := vkgo.EnumeratePhysicalDevices(inst, &n, nil); r != vkgo.Success {
		return &Error{Op: "vkEnumeratePhysicalDevices", Result: int32(r)}
	}
	pds := make([]vkgo.PhysicalDevice, n)
	if n > 0 {
		if r := vkgo.EnumeratePhysicalDevices(inst, &n, pds); r != vkgo.Success && r != vkgo.Incomplete {
			return &Error{Op: "vkEnumeratePhysicalDevices", Result: int32(r)}
		}
	}
	for i, pd := range pds[:n] {
		var props vkgo.PhysicalDeviceProperties
		vkgo.GetPhysicalDeviceProperties(pd, &props)
		props.Deref()
		var mem vkgo.PhysicalDeviceMemoryProperties
		vkgo.GetPhysicalDeviceMemoryProperties(pd, &mem)
		mem.Deref()
		// vulkan-go allocates C memory for every struct it passes; free it now rather than never.
		defer props.Free()
		defer mem.Free()
		handle := *(*uint64)(unsafe.Pointer(&pd))
		var pi C.uv_phys_info
		C.uv_phys_info_get(in.c, C.uint64_t(handle), &pi)

		t := DeviceType(props.DeviceType)
		if t < 0 || t > TypeCPU {
			t = TypeOther
		}
		d := DeviceInfo{
			Index:                 i,
			Name:                  cstr(props.DeviceName[:]),
			VendorID:              props.VendorID,
			DeviceID:              props.DeviceID,
			Type:                  t,
			Driver:                strings.TrimSpace(C.GoString(&pi.driver_name[0]) + " " + C.GoString(&pi.driver_info[0])),
			DriverVersion:         props.DriverVersion,
			APIVersion:            versionString(props.ApiVersion),
			SubgroupSize:          int(pi.subgroup_size),
			MinSubgroup:           int(pi.min_subgroup),
			MaxSubgroup:           int(pi.max_subgroup),
			MaxStorageBufferRange: uint64(pi.max_storage_range),
			MaxAllocationSize:     uint64(pi.max_alloc),
			MaxPushConstants:      int(pi.max_push),
			MaxWorkgroupInvoc:     int(pi.max_wg_invocations),
			MaxSharedMemory:       int(pi.max_shared),
			MinStorageAlign:       uint64(pi.min_storage_align),
			TimestampPeriodNS:     float64(pi.timestamp_period),
			Timestamps:            pi.timestamps != 0,
		}
		for k := 0; k < 3; k++ {
			d.MaxWorkgroupSize[k] = int(pi.max_wg_size[k])
		}
		d.Vendor = vendorName(d.VendorID, d.Type)
		for k := uint32(0); k < mem.MemoryHeapCount; k++ {
			hp := mem.MemoryHeaps[k]
			hp.Deref()
			d.Heaps = append(d.Heaps, Heap{Size: uint64(hp.Size), DeviceLocal: hp.Flags&vkgo.MemoryHeapFlags(vkgo.MemoryHeapDeviceLocalBit) != 0})
		}
		d.Missing = missingFeatures(&pi)
		d.CoopMat = in.coopMatShapes(handle)
		in.devices = append(in.devices, d)
		in.phys = append(in.phys, handle)
	}
	return nil
}

func missingFeatures(pi *C.uv_phys_info) []string {
	var m []string
	if pi.api_version < 1<<22|2<<12 {
		m = append(m, "Vulkan 1.2")
	}
	for _, f := range []struct {
		ok   C.uint32_t
		name string
	}{{pi.f16, "shaderFloat16"}, {pi.i8, "shaderInt8"}, {pi.storage8, "storageBuffer8BitAccess"},
		{pi.storage16, "storageBuffer16BitAccess"}, {pi.push_descriptor, "VK_KHR_push_descriptor"}} {
		if f.ok == 0 {
			m = append(m, f.name)
		}
	}
	return m
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Choose picks a device: sel is an index, a case-insensitive name substring, or empty for the best
// usable device (discrete > integrated > virtual > CPU).
func (in *Instance) Choose(sel string) (DeviceInfo, error) {
	if len(in.devices) == 0 {
		return DeviceInfo{}, ErrNoDevice
	}
	if sel != "" {
		if i, err := strconv.Atoi(sel); err == nil {
			if i < 0 || i >= len(in.devices) {
				return DeviceInfo{}, fmt.Errorf("vulkan: device index %d out of range (%d devices)", i, len(in.devices))
			}
			return in.devices[i], nil
		}
		for _, d := range in.devices {
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(sel)) {
				return d, nil
			}
		}
		var names []string
		for _, d := range in.devices {
			names = append(names, d.Name)
		}
		return DeviceInfo{}, fmt.Errorf("vulkan: no device matches %q (have: %s)", sel, strings.Join(names, "; "))
	}
	cand := append([]DeviceInfo(nil), in.devices...)
	sort.SliceStable(cand, func(a, b int) bool {
		ua, ub := len(cand[a].Missing) == 0, len(cand[b].Missing) == 0
		if ua != ub {
			return ua
		}
		return cand[a].Type.rank() < cand[b].Type.rank()
	})
	return cand[0], nil
}
