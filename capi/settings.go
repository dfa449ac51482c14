package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"unsafe"

	"github.com/udvla/udvla/engine/vk"
)

// The library reads its UDVLA_* settings through libc's getenv at the time of each call: the Go
// runtime's own copy of the environment is taken when the library is loaded, and a host that
// sets UDVLA_DEVICE afterwards (setenv, Python's os.environ) must be obeyed. vk.Getenv is the one
// place settings are read, for the engine and this package alike.
func init() { vk.Getenv = getenv }

// getenv is libc's getenv(key), "" when unset.
func getenv(key string) string {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	v := C.getenv(ck)
	if v == nil {
		return ""
	}
	return C.GoString(v)
}

// debugStacks reports whether UDVLA_DEBUG asks INTERNAL messages to carry the goroutine stack.
func debugStacks() bool {
	v := vk.Getenv("UDVLA_DEBUG")
	return v != "" && v != "0"
}
