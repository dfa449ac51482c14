// Package vk is udvla's device layer: a thin, explicit Go layer over Vulkan compute.
//
// Nouns, after Kompute: Instance (loader, validation), Device (a logical device and its queue),
// Buffer (device memory with an owner), Pipeline (a compute shader with its layout), Sequence (a
// recorded command buffer that is replayed). vulkan-go is used for device discovery; the hot path
// and every pNext chain go through vkc.c, which takes plain records of integer handles.
package vk

/*
#cgo CFLAGS: -O2 -Wall -Wno-missing-field-initializers
#cgo LDFLAGS: -ldl -lpthread
#include "vkc.h"
*/
import "C"
