package engine

// Version is udvla's release, recorded by the benchmarks next to the commit. It is the one
// source: libudvla's udvla_version() (capi/c_exports.h), the CMake project and the Python
// package carry the same string, checked by capi's TestVersionHasOneSource, and its major is
// the C ABI version (the SONAME libudvla.so.1).
const Version = "1.0.0"
