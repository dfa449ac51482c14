// Declarations shared by the cgo files and c_exports.c; not part of the public header.
#ifndef UDVLA_C_EXPORTS_H
#define UDVLA_C_EXPORTS_H
#include <stddef.h>

// The library's release: engine.Version (the one source, checked by TestVersionHasOneSource);
// its major is the ABI version and the SONAME's.
#define UDVLA_RELEASE "1.0.0"

void uvi_set_error(const char *msg, size_t n);

// uvi_forked reports whether this process is a child forked from the one that loaded the library
// (entry_points.c); no Go code may run there.
int uvi_forked(void);

#endif
