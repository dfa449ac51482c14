// The exported udvla_* functions that run Go code. Each first checks, in C, that it runs in the
// process that loaded the library: in a child forked from it the Go runtime's threads are gone,
// and the first call into Go would wait for them forever. So the child gets UDVLA_ERR_FORKED
// before any Go code runs, and its outputs are cleared as after any failure.
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "udvla.h"
#include "c_exports.h"
#include "_cgo_export.h"

static pid_t loaded_by;

// record_loader runs when the library is loaded, before any call.
__attribute__((constructor)) static void record_loader(void) { loaded_by = getpid(); }

int uvi_forked(void) { return getpid() != loaded_by; }

udvla_status udvla_list_devices(udvla_device_info *out, size_t capacity, size_t *count) {
    if (uvi_forked()) {
        if (count != NULL) *count = 0;
        return UDVLA_ERR_FORKED;
    }
    return uvi_list_devices(out, capacity, count);
}

udvla_status udvla_open(const char *model_path, const udvla_open_options *options, udvla_engine *out) {
    if (uvi_forked()) {
        if (out != NULL) *out = 0;
        return UDVLA_ERR_FORKED;
    }
    return uvi_open((char *)model_path, (udvla_open_options *)options, out);
}

udvla_status udvla_close(udvla_engine engine) {
    if (uvi_forked()) return UDVLA_ERR_FORKED;
    return uvi_close(engine);
}

udvla_status udvla_get_model_info(udvla_engine engine, udvla_model_info *out) {
    if (uvi_forked()) return UDVLA_ERR_FORKED;
    return uvi_get_model_info(engine, out);
}

udvla_status udvla_get_camera_info(udvla_engine engine, size_t index, udvla_camera_info *out) {
    if (uvi_forked()) return UDVLA_ERR_FORKED;
    return uvi_get_camera_info(engine, index, out);
}

udvla_status udvla_step(udvla_engine engine, const udvla_request *request, udvla_result *result) {
    if (uvi_forked()) {
        // the outputs a step writes: every field from region_len to the end of this ABI's struct
        if (result != NULL && result->struct_size == sizeof *result)
            memset(&result->region_len, 0, sizeof *result - offsetof(udvla_result, region_len));
        return UDVLA_ERR_FORKED;
    }
    return uvi_step(engine, (udvla_request *)request, result);
}

udvla_status udvla_step_alloc(udvla_engine engine, const udvla_request *request, udvla_result **out) {
    if (uvi_forked()) {
        if (out != NULL) *out = NULL;
        return UDVLA_ERR_FORKED;
    }
    return uvi_step_alloc(engine, (udvla_request *)request, out);
}

udvla_status udvla_result_free(udvla_result *result) {
    if (uvi_forked()) return UDVLA_ERR_FORKED;
    return uvi_result_free(result);
}

udvla_status udvla_cancel(udvla_engine engine) {
    if (uvi_forked()) return UDVLA_ERR_FORKED;
    return uvi_cancel(engine);
}

udvla_status udvla_validation_messages(udvla_engine engine, uint64_t *count) {
    if (uvi_forked()) {
        if (count != NULL) *count = 0;
        return UDVLA_ERR_FORKED;
    }
    return uvi_validation_messages(engine, count);
}

uint64_t udvla_live_engines(void) { return uvi_forked() ? 0 : uvi_live_engines(); }

uint64_t udvla_live_results(void) { return uvi_forked() ? 0 : uvi_live_results(); }
