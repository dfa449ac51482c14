package main

/*
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
#include "c_exports.h"
*/
import "C"

import "unsafe"

// export runs the body of an exported function: a panic becomes INTERNAL, the error becomes the
// returned status and the calling thread's last-error message (cleared on success).
func export(body func() error) C.int {
	err := protect(body)
	setLastError(err)
	return C.int(statusOf(err))
}

// setLastError stores err's message as the calling thread's (C copies it).
func setLastError(err error) {
	if err == nil {
		C.uvi_set_error(nil, 0)
		return
	}
	msg := err.Error()
	if msg == "" {
		msg = "udvla: unknown error"
	}
	C.uvi_set_error((*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)))
}

// putString copies s into a fixed C char array, truncated and NUL-terminated, zeroing the rest.
func putString(dst []C.char, s string) {
	n := min(len(s), len(dst)-1)
	for i := 0; i < n; i++ {
		dst[i] = C.char(s[i])
	}
	for i := n; i < len(dst); i++ {
		dst[i] = 0
	}
}
