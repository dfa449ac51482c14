// The exports that need no Go: the ABI version, the static strings and the per-thread last-error
// message. The message lives in C because a Go exported function runs on its caller's thread but Go
// has no thread-local storage of its own.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "udvla.h"
#include "c_exports.h"

static pthread_key_t err_key;
static pthread_once_t err_once = PTHREAD_ONCE_INIT;

static void err_key_make(void) { pthread_key_create(&err_key, free); }

// uvi_set_error keeps a copy of msg[0..n) as this thread's message; n == 0 clears it. A failed
// allocation leaves the message empty rather than failing the call that reports it.
void uvi_set_error(const char *msg, size_t n) {
    pthread_once(&err_once, err_key_make);
    char *old = pthread_getspecific(err_key);
    if (n == 0) {
        if (old != NULL) old[0] = '\0';
        return;
    }
    char *s = realloc(old, n + 1);
    if (s == NULL) {
        if (old != NULL) old[0] = '\0';
        return;
    }
    memcpy(s, msg, n);
    s[n] = '\0';
    pthread_setspecific(err_key, s);
}

const char *udvla_last_error(void) {
    pthread_once(&err_once, err_key_make);
    const char *s = pthread_getspecific(err_key);
    return s != NULL ? s : "";
}

const char *udvla_status_string(int status) {
    switch (status) {
    case UDVLA_OK: return "UDVLA_OK";
    case UDVLA_ERR_NULL_POINTER: return "UDVLA_ERR_NULL_POINTER";
    case UDVLA_ERR_STRUCT_SIZE: return "UDVLA_ERR_STRUCT_SIZE";
    case UDVLA_ERR_INVALID_ARGUMENT: return "UDVLA_ERR_INVALID_ARGUMENT";
    case UDVLA_ERR_OUT_OF_RANGE: return "UDVLA_ERR_OUT_OF_RANGE";
    case UDVLA_ERR_BUFFER_TOO_SMALL: return "UDVLA_ERR_BUFFER_TOO_SMALL";
    case UDVLA_ERR_INVALID_HANDLE: return "UDVLA_ERR_INVALID_HANDLE";
    case UDVLA_ERR_CLOSED: return "UDVLA_ERR_CLOSED";
    case UDVLA_ERR_NOT_FOUND: return "UDVLA_ERR_NOT_FOUND";
    case UDVLA_ERR_MODEL: return "UDVLA_ERR_MODEL";
    case UDVLA_ERR_DEVICE: return "UDVLA_ERR_DEVICE";
    case UDVLA_ERR_UNSUPPORTED: return "UDVLA_ERR_UNSUPPORTED";
    case UDVLA_ERR_ENGINE: return "UDVLA_ERR_ENGINE";
    case UDVLA_ERR_INTERNAL: return "UDVLA_ERR_INTERNAL";
    case UDVLA_ERR_CANCELLED: return "UDVLA_ERR_CANCELLED";
    }
    return "UDVLA_ERR_UNKNOWN";
}

uint32_t udvla_abi_version(void) { return UDVLA_ABI_VERSION; }

const char *udvla_version(void) { return UDVLA_RELEASE; }
