package vk

import (
	"fmt"
	"strconv"
	"strings"
)

// FaultEnv is a test hook: when it is set as a device opens, to "device_lost@N" or
// "out_of_device_memory@N" (N >= 1), the N-th queue submission of that device fails with
// VK_ERROR_DEVICE_LOST or VK_ERROR_OUT_OF_DEVICE_MEMORY instead of running, as a driver reports
// them. It is read through the C library at each open, so that a C program can set it for one
// engine (setenv before udvla_open, unsetenv after) and leave the others healthy. Go tests use
// InjectFaultForTest instead.
const FaultEnv = "UDVLA_TEST_FAULT"

// Results the hook can inject.
const (
	resultOutOfDeviceMemory = -2
	resultDeviceLost        = -4
)

// ParseFault reads a FaultEnv value: the VkResult to inject and the submission (from 1) that
// fails.
func ParseFault(s string) (result int32, at int64, err error) {
	kind, n, ok := strings.Cut(s, "@")
	switch kind {
	case "device_lost":
		result = resultDeviceLost
	case "out_of_device_memory":
		result = resultOutOfDeviceMemory
	default:
		return 0, 0, fmt.Errorf("vulkan: %s=%q: want device_lost@N or out_of_device_memory@N", FaultEnv, s)
	}
	at, perr := strconv.ParseInt(n, 10, 64)
	if !ok || perr != nil || at < 1 {
		return 0, 0, fmt.Errorf("vulkan: %s=%q: the submission N must be a positive integer", FaultEnv, s)
	}
	return result, at, nil
}

// faultFromEnv reads FaultEnv through Getenv, as every setting: libudvla reads it from the C
// library's environment, which a C host may change after the library was loaded.
func faultFromEnv() (result int32, at int64, err error) {
	v := Getenv(FaultEnv)
	if v == "" {
		return 0, 0, nil
	}
	return ParseFault(v)
}

// InjectFaultForTest makes the at-th queue submission from now (at >= 1) fail with result
// (VK_ERROR_DEVICE_LOST = -4 or VK_ERROR_OUT_OF_DEVICE_MEMORY = -2) instead of running. It is
// meant for tests only.
func (d *Device) InjectFaultForTest(result int32, at int64) {
	d.faultResult.Store(result)
	d.faultAt.Store(d.submits.Load() + at)
}

// injectedFault counts a submission and returns the VkResult the hook injects into it, or 0.
func (d *Device) injectedFault() int32 {
	n := d.submits.Add(1)
	if at := d.faultAt.Load(); at != 0 && n == at {
		return d.faultResult.Load()
	}
	return 0
}

// errLost is returned by every use of a device after a submission reported it lost: the
// device's state is gone, so it refuses work instead of running on it.
func (d *Device) errLost() error {
	return &Error{Op: "use device", Result: resultDeviceLost,
		Detail: fmt.Sprintf("device %q was lost by an earlier submission: close it (the engine) and open a new one", d.Info.Name)}
}
