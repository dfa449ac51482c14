package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
*/
import "C"

import (
	"unsafe"

	"github.com/udvla/udvla/engine/vk"
)

//export uvi_list_devices
func uvi_list_devices(out *C.udvla_device_info, capacity C.size_t, count *C.size_t) C.int {
	return export(func() error {
		if count == nil {
			return errorf(statusNullPointer, "udvla_list_devices: count is NULL")
		}
		*count = 0
		if out == nil && capacity != 0 {
			return errorf(statusNullPointer, "udvla_list_devices: out is NULL with capacity %d", uint64(capacity))
		}
		if out != nil && capacity > 0 && out.struct_size != C.sizeof_udvla_device_info {
			return errorf(statusStructSize, "udvla_list_devices: out[0].struct_size %d, want %d", out.struct_size, C.sizeof_udvla_device_info)
		}
		devs, chosen, err := listDevices()
		if err != nil {
			return err
		}
		*count = C.size_t(len(devs))
		if out == nil {
			return nil
		}
		n := min(len(devs), int(min(uint64(capacity), uint64(len(devs)))))
		dst := unsafe.Slice(out, n)
		for i := 0; i < n; i++ {
			putDevice(&dst[i], devs[i], devs[i].Index == chosen)
		}
		if n < len(devs) {
			return errorf(statusBufferTooSmall, "udvla_list_devices: room for %d devices, there are %d", n, len(devs))
		}
		return nil
	})
}

// listDevices enumerates the Vulkan devices on a throwaway instance (no validation: it opens no
// device) and names the one the default selection, with UDVLA_DEVICE applied, would open.
func listDevices() ([]vk.DeviceInfo, int, error) {
	in, err := vk.NewInstance(vk.Options{})
	if err != nil {
		return nil, -1, wrap(statusDevice, err)
	}
	defer in.Close()
	chosen := -1
	if d, err := in.Choose(vk.Options{}.WithEnv().Device); err == nil {
		chosen = d.Index
	}
	return in.Devices(), chosen, nil
}

func putDevice(o *C.udvla_device_info, d vk.DeviceInfo, chosen bool) {
	*o = C.udvla_device_info{struct_size: C.sizeof_udvla_device_info}
	o.index = C.int32_t(d.Index)
	o._type = C.int32_t(d.Type)
	o.vendor_id, o.device_id = C.uint32_t(d.VendorID), C.uint32_t(d.DeviceID)
	o.usable = cbool(len(d.Missing) == 0)
	o.chosen = cbool(chosen)
	o.subgroup_size = C.int32_t(d.SubgroupSize)
	o.max_allocation_size = C.uint64_t(d.MaxAllocationSize)
	for _, h := range d.Heaps {
		if h.DeviceLocal {
			o.device_local_bytes += C.uint64_t(h.Size)
		}
	}
	putString(o.name[:], d.Name)
	putString(o.vendor[:], d.Vendor)
	putString(o.driver[:], d.Driver)
	putString(o.api_version[:], d.APIVersion)
}
