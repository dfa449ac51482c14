// Package blas calls the system's OpenBLAS sgemm, loaded at run time, as the machine's fp32
// ceiling for the kernel benchmarks. Loading it with dlopen keeps the build free of any BLAS
// header or library: where none is installed, Available reports why and benchmarks skip it.
package blas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

typedef void (*sgemm_fn)(int order, int transa, int transb, int m, int n, int k, float alpha,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

static sgemm_fn sgemm;

static const char *blas_load(void) {
	const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libcblas.so.3", "libblas.so.3"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!h) continue;
		sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
		if (sgemm) return NULL;
		dlclose(h);
	}
	return "no library with cblas_sgemm (install libopenblas0)";
}

static void blas_sgemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
	// CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
	sgemm(101, 111, 112, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
)

var (
	once    sync.Once
	loadErr error
)

// Available loads the library on first use and reports whether sgemm can be called.
func Available() error {
	once.Do(func() {
		if msg := C.blas_load(); msg != nil {
			loadErr = errors.New("blas: " + C.GoString(msg))
		}
	})
	return loadErr
}

// MatMulT computes y[n][m] = Σ_k x[n][k]·w[m][k] (y = x·Wᵀ, the layout of a weight [out, in]
// applied to n tokens) in fp32 with cblas_sgemm.
func MatMulT(y, x, w []float32, n, m, k int) error {
	if err := Available(); err != nil {
		return err
	}
	if n <= 0 || m <= 0 || k <= 0 || len(x) < n*k || len(w) < m*k || len(y) < n*m {
		return fmt.Errorf("blas: sgemm [%d,%d]·[%d,%d]ᵀ with %d, %d and %d values", n, k, m, k, len(x), len(w), len(y))
	}
	C.blas_sgemm(C.int(n), C.int(m), C.int(k), (*C.float)(&x[0]), C.int(k), (*C.float)(&w[0]), C.int(k),
		(*C.float)(&y[0]), C.int(m))
	return nil
}
