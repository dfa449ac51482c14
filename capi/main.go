// Command capi is libudvla.so.1, the C ABI of udvla (capi/udvla.h). It is built as a C shared
// library, never run:
//
//	bash capi/build.sh build/libudvla.so.1
//
// which passes the linker a version script (udvla.map) that exports the udvla_* functions only
// (the Go runtime's, cgo's and vulkan-go's symbols stay local) and sets the SONAME libudvla.so.1.
//
// Engines are kept in a handle table (handles.go) and C sees integers only, never Go pointers.
// Every exported function runs its body through export (status.go), which turns errors and
// recovered panics into a status and the calling thread's last-error message.
package main

/*
#cgo CFLAGS: -O2 -Wall
#define UDVLA_IMPLEMENTATION
#include "udvla.h"
#include "c_exports.h"
*/
import "C"

// main is never called: a c-shared library starts the Go runtime when it is loaded.
func main() {}

// The Go statuses (status.go) must be the header's; a mismatch fails the build here (a constant
// index outside [0, 1) does not compile).
func _() {
	var x [1]struct{}
	_ = x[statusOK-C.UDVLA_OK]
	_ = x[statusNullPointer-C.UDVLA_ERR_NULL_POINTER]
	_ = x[statusStructSize-C.UDVLA_ERR_STRUCT_SIZE]
	_ = x[statusInvalidArgument-C.UDVLA_ERR_INVALID_ARGUMENT]
	_ = x[statusOutOfRange-C.UDVLA_ERR_OUT_OF_RANGE]
	_ = x[statusBufferTooSmall-C.UDVLA_ERR_BUFFER_TOO_SMALL]
	_ = x[statusInvalidHandle-C.UDVLA_ERR_INVALID_HANDLE]
	_ = x[statusClosed-C.UDVLA_ERR_CLOSED]
	_ = x[statusNotFound-C.UDVLA_ERR_NOT_FOUND]
	_ = x[statusModel-C.UDVLA_ERR_MODEL]
	_ = x[statusDevice-C.UDVLA_ERR_DEVICE]
	_ = x[statusUnsupported-C.UDVLA_ERR_UNSUPPORTED]
	_ = x[statusEngine-C.UDVLA_ERR_ENGINE]
	_ = x[statusInternal-C.UDVLA_ERR_INTERNAL]
	_ = x[statusCancelled-C.UDVLA_ERR_CANCELLED]
	_ = x[abiVersion-C.UDVLA_ABI_VERSION]
}
