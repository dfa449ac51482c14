/* Camera frames through the C ABI, from udvla.h alone: a request whose cameras carry RGB8 frames
 * (padded rows, one frame already at its camera's pixel grid, one not), future frames out through
 * a caller-owned buffer and through udvla_step_alloc, the sizes reported by BUFFER_TOO_SMALL, the
 * earlier ABI 1 struct sizes, and every bad frame refused with its status while the engine goes
 * on giving the same result.
 * Usage: test_frames MODEL (a model with a vision tokenizer: testdata/tiny.udvla) */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "result_buffers.h"
#include "udvla.h"

/* A frame of deterministic noise; stride pads each row. */
static uint8_t *noise_frame(udvla_frame *f, uint32_t w, uint32_t h, uint32_t pad, uint32_t seed) {
    udvla_frame_init(f);
    f->width = w;
    f->height = h;
    f->stride = pad ? 3 * w + pad : 0;
    size_t n = (size_t)(h - 1) * (3 * w + pad) + 3 * w;
    uint8_t *px = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        px[i] = (uint8_t)(seed >> 24);
    }
    f->pixels = px;
    f->pixels_len = n;
    return px;
}

/* outputs are the result buffers of result_buffers.h with a future-frames buffer beside them. */
typedef struct outputs {
    buffers b;
    uint8_t *frames;
} outputs;

static void outputs_make(outputs *o, const udvla_model_info *mi, size_t frames_bytes) {
    buffers_make(&o->b, mi);
    o->frames = calloc(frames_bytes + 1, 1);
    o->b.res.future_frames = frames_bytes ? o->frames : NULL;
    o->b.res.future_frames_capacity = frames_bytes;
}

static void outputs_free(outputs *o) {
    buffers_free(&o->b);
    free(o->frames);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    udvla_engine e = 0;
    CHECK_STATUS(udvla_open(argv[1], NULL, &e), UDVLA_OK);
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    if (mi.num_cameras != 2) {
        fprintf(stderr, "test_frames: want the tiny model's two cameras, got %d\n", mi.num_cameras);
        return 1;
    }
    /* main: 23x17 with padded rows (resized); wrist: 6x6, the tiny model's 3x3 codes times 2 */
    udvla_frame fmain, fwrist;
    uint8_t *pmain = noise_frame(&fmain, 23, 17, 5, 1);
    uint8_t *pwrist = noise_frame(&fwrist, 6, 6, 0, 2);
    const udvla_frame *frames[2] = {&fmain, &fwrist};
    int32_t instr[3] = {40, 50, 60};
    udvla_request req;
    udvla_request_init(&req);
    req.instruction = instr;
    req.instruction_len = 3;
    req.num_cameras = 2;
    req.frames = frames;
    req.decode_future = 1;
    req.seed = 5;

    /* the frames' size, from BUFFER_TOO_SMALL */
    outputs o;
    outputs_make(&o, &mi, 1);
    CHECK_STATUS(udvla_step(e, &req, &o.b.res), UDVLA_ERR_BUFFER_TOO_SMALL);
    size_t need = o.b.res.future_frames_len;
    CHECK(need == 3 * (10 * 10 + 6 * 6));
    outputs_free(&o);

    outputs_make(&o, &mi, need);
    memset(o.frames, 0xa5, need + 1);
    CHECK_STATUS(udvla_step(e, &req, &o.b.res), UDVLA_OK);
    CHECK(o.b.res.future_frames_len == need && o.frames[need] == 0xa5);
    int poisoned = 1;
    for (size_t i = 0; i < need; i++) poisoned &= o.frames[i] == 0xa5;
    CHECK(!poisoned);
    CHECK(o.b.res.actions_len == mi.actions_size);

    /* the same request again, and through udvla_step_alloc: the same outputs */
    outputs again;
    outputs_make(&again, &mi, need);
    CHECK_STATUS(udvla_step(e, &req, &again.b.res), UDVLA_OK);
    CHECK(memcmp(again.b.region, o.b.region, 4 * mi.region_size) == 0);
    CHECK(memcmp(again.frames, o.frames, need) == 0);
    udvla_result *ar = NULL;
    CHECK_STATUS(udvla_step_alloc(e, &req, &ar), UDVLA_OK);
    if (ar) {
        CHECK(ar->future_frames_len == need && ar->future_frames_capacity == need);
        CHECK(ar->future_frames && memcmp(ar->future_frames, o.frames, need) == 0);
        CHECK(memcmp(ar->region, o.b.region, 4 * mi.region_size) == 0);
        CHECK_STATUS(udvla_result_free(ar), UDVLA_OK);
    }

    /* without decode_future nothing is written to the frames buffer */
    req.decode_future = 0;
    memset(again.frames, 0x3c, need);
    CHECK_STATUS(udvla_step(e, &req, &again.b.res), UDVLA_OK);
    CHECK(again.b.res.future_frames_len == 0 && again.frames[0] == 0x3c);
    CHECK(memcmp(again.b.region, o.b.region, 4 * mi.region_size) == 0);
    req.decode_future = 1;

    /* the second ABI 1 sizes: the frames of a shorter request are not read (it takes codes), the
     * result's frame fields keep the caller's bytes */
    int32_t codes0[25] = {0}, codes1[9] = {0};
    const int32_t *codes[2] = {codes0, codes1};
    size_t counts[2] = {25, 9};
    udvla_request old = req;
    old.struct_size = (uint32_t)offsetof(udvla_request, frames);
    old.codes = codes;
    old.code_counts = counts;
    again.b.res.struct_size = (uint32_t)offsetof(udvla_result, future_frames);
    again.b.res.future_frames_len = 777;
    CHECK_STATUS(udvla_step(e, &old, &again.b.res), UDVLA_OK);
    CHECK(again.b.res.future_frames_len == 777);
    again.b.res.struct_size = sizeof again.b.res;

    /* a camera with a frame and one with codes */
    const udvla_frame *one[2] = {&fmain, NULL};
    const int32_t *wrist_codes[2] = {NULL, codes1};
    udvla_request mixed = req;
    mixed.frames = one;
    mixed.codes = wrist_codes;
    mixed.code_counts = counts;
    CHECK_STATUS(udvla_step(e, &mixed, &again.b.res), UDVLA_OK);

    /* bad frames: each refused with its status, naming the camera */
    udvla_request bad;
    udvla_frame broken;
    const udvla_frame *bf[2];
    bad = req;
    broken = fwrist;
    broken.pixels = NULL;
    bf[0] = &fmain;
    bf[1] = &broken;
    bad.frames = bf;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_NULL_POINTER);
    CHECK(strstr(udvla_last_error(), "camera 1 (wrist)") != NULL);
    broken = fwrist;
    broken.pixels_len -= 1;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(udvla_last_error(), "wrist") != NULL && strstr(udvla_last_error(), "pixel buffer") != NULL);
    broken = fwrist;
    broken.stride = 5;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_INVALID_ARGUMENT);
    broken = fwrist;
    broken.width = 0;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_INVALID_ARGUMENT);
    broken = fwrist;
    broken.width = 70000;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_INVALID_ARGUMENT);
    broken = fwrist;
    broken.struct_size = 8;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_STRUCT_SIZE);
    bad = mixed;
    bad.codes = codes; /* camera 0 has codes and a frame */
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_INVALID_ARGUMENT);
    CHECK(strstr(udvla_last_error(), "both codes and a frame") != NULL);
    bad = mixed;
    bad.codes = NULL; /* camera 1 has neither */
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_NULL_POINTER);
    bad = req;
    bad.reserved4 = 1;
    CHECK_STATUS(udvla_step(e, &bad, &again.b.res), UDVLA_ERR_INVALID_ARGUMENT);
    again.b.res.future_frames = NULL;
    CHECK_STATUS(udvla_step(e, &req, &again.b.res), UDVLA_ERR_NULL_POINTER);
    again.b.res.future_frames = again.frames;
    again.b.res.future_frames_capacity = need - 1;
    CHECK_STATUS(udvla_step(e, &req, &again.b.res), UDVLA_ERR_BUFFER_TOO_SMALL);
    CHECK(again.b.res.future_frames_len == need);
    again.b.res.future_frames_capacity = need;

    /* and the engine still gives the first result */
    CHECK_STATUS(udvla_step(e, &req, &again.b.res), UDVLA_OK);
    CHECK(memcmp(again.b.region, o.b.region, 4 * mi.region_size) == 0);
    CHECK(memcmp(again.frames, o.frames, need) == 0);

    outputs_free(&o);
    outputs_free(&again);
    free(pmain);
    free(pwrist);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);
    if (check_failures) {
        fprintf(stderr, "test_frames: %d failures\n", check_failures);
        return 1;
    }
    printf("test_frames: ok\n");
    return 0;
}
