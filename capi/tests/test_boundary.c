/* Tests of libudvla's boundary through udvla.h: capacities taken as upper bounds (SIZE_MAX too),
 * settings read from the environment at the time of the call, the max_instruction bound agreeing
 * with what a step can embed, and messages that name the function called.
 * Usage: test_boundary MODEL */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "udvla.h"

static const char *model_path;

/* The longest sequence the engine embeds in one forward (Vulkan's guaranteed grid height). */
#define MAX_SEQUENCE 65535

typedef struct inputs {
    int32_t instruction[3];
    int32_t **codes;
    size_t *counts;
    size_t ncams;
    udvla_request req;
} inputs;

static void inputs_make(inputs *in, udvla_engine e, const udvla_model_info *mi) {
    in->ncams = (size_t)mi->num_cameras;
    in->codes = calloc(in->ncams, sizeof *in->codes);
    in->counts = calloc(in->ncams, sizeof *in->counts);
    for (size_t c = 0; c < in->ncams; c++) {
        udvla_camera_info ci;
        udvla_camera_info_init(&ci);
        CHECK_STATUS(udvla_get_camera_info(e, c, &ci), UDVLA_OK);
        in->counts[c] = (size_t)ci.height * (size_t)ci.width;
        in->codes[c] = calloc(in->counts[c], sizeof(int32_t));
        for (size_t i = 0; i < in->counts[c]; i++) in->codes[c][i] = (int32_t)((i * 7 + c) % (size_t)mi->vocab.codebook_size);
    }
    for (int i = 0; i < 3; i++) in->instruction[i] = (int32_t)(i + 1) % mi->vocab.text_size;
    udvla_request_init(&in->req);
    in->req.instruction = in->instruction;
    in->req.instruction_len = 3;
    in->req.codes = (const int32_t *const *)in->codes;
    in->req.code_counts = in->counts;
    in->req.num_cameras = in->ncams;
    in->req.steps = 1;
    in->req.seed = 7;
}

static void inputs_free(inputs *in) {
    for (size_t c = 0; c < in->ncams; c++) free(in->codes[c]);
    free(in->codes);
    free(in->counts);
}

/* A capacity is an upper bound: SIZE_MAX (or any capacity above the size needed) on any of the
 * four buffers gives the same result as the exact size. */
static void test_capacity_upper_bound(udvla_engine e, const udvla_model_info *mi) {
    inputs in;
    inputs_make(&in, e, mi);
    size_t need[4] = {mi->region_size, mi->future_codes_size, mi->action_tokens_max, mi->actions_size};
    int32_t *region = calloc(need[0] + 1, 4), *future = calloc(need[1] + 1, 4), *tokens = calloc(need[2] + 1, 4);
    float *actions = calloc(need[3] + 1, 4);

    udvla_result exact;
    udvla_result_init(&exact);
    exact.region = region, exact.region_capacity = need[0];
    exact.future_codes = future, exact.future_codes_capacity = need[1];
    exact.action_tokens = tokens, exact.action_tokens_capacity = need[2];
    exact.actions = actions, exact.actions_capacity = need[3];
    CHECK_STATUS(udvla_step(e, &in.req, &exact), UDVLA_OK);
    int32_t *want_region = malloc(need[0] * 4);
    memcpy(want_region, region, need[0] * 4);

    /* each buffer alone at SIZE_MAX, then all four */
    for (int which = 0; which <= 4; which++) {
        udvla_result r = exact;
        size_t *caps[4] = {&r.region_capacity, &r.future_codes_capacity, &r.action_tokens_capacity, &r.actions_capacity};
        for (int b = 0; b < 4; b++)
            if (which == 4 || which == b) *caps[b] = SIZE_MAX;
        region[need[0]] = -77; /* the element past the size needed must stay untouched */
        memset(region, 0x5a, need[0] * 4);
        CHECK_STATUS(udvla_step(e, &in.req, &r), UDVLA_OK);
        CHECK(r.region_len == need[0] && r.future_codes_len == need[1]);
        CHECK(r.action_tokens_len <= need[2] && r.actions_len == exact.actions_len);
        CHECK(memcmp(region, want_region, need[0] * 4) == 0);
        CHECK(region[need[0]] == -77);
    }
    /* step_alloc's results are unaffected, and a capacity of one more than needed is fine too */
    udvla_result r = exact;
    r.region_capacity = need[0] + 1;
    CHECK_STATUS(udvla_step(e, &in.req, &r), UDVLA_OK);
    CHECK(r.region_len == need[0]);
    free(want_region);
    free(region), free(future), free(tokens), free(actions);
    inputs_free(&in);
}

/* UDVLA_DEVICE and UDVLA_VALIDATE are read when udvla_open is called, not when the library was
 * loaded; a device named in the options wins over UDVLA_DEVICE. */
static void test_environment_at_call_time(void) {
    udvla_engine e = 0;
    setenv("UDVLA_DEVICE", "no-such-device", 1);
    CHECK_STATUS(udvla_open(model_path, NULL, &e), UDVLA_ERR_DEVICE);
    CHECK(e == 0);
    CHECK(strstr(udvla_last_error(), "no-such-device") != NULL);
    if (!strstr(udvla_last_error(), "no-such-device")) fprintf(stderr, "message: %s\n", udvla_last_error());

    size_t count = 0;
    udvla_device_info dev;
    memset(&dev, 0, sizeof dev);
    dev.struct_size = sizeof dev;
    CHECK(udvla_list_devices(&dev, 1, &count) != UDVLA_ERR_INTERNAL);
    CHECK(count >= 1);
    CHECK(dev.chosen == 0); /* UDVLA_DEVICE names no device: none is chosen */

    /* the options' device wins over UDVLA_DEVICE */
    udvla_open_options o;
    udvla_open_options_init(&o);
    o.device = "0";
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_OK);
    CHECK(e != 0);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);

    /* and an options' device that does not exist is refused even with UDVLA_DEVICE valid */
    setenv("UDVLA_DEVICE", "0", 1);
    o.device = "no-such-device-either";
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_DEVICE);
    CHECK(strstr(udvla_last_error(), "no-such-device-either") != NULL);

    unsetenv("UDVLA_DEVICE");
    CHECK_STATUS(udvla_open(model_path, NULL, &e), UDVLA_OK);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);
}

/* max_instruction is bounded by what one forward embeds: BOS, the instruction, the cameras'
 * blocks and the region. The bound is refused at open with OUT_OF_RANGE naming the largest
 * value, and the largest value opens. */
static void test_max_instruction_bound(const udvla_model_info *mi) {
    size_t blocks = mi->region_size - (size_t)mi->action_len;
    int32_t limit = (int32_t)(MAX_SEQUENCE - 1 - blocks - mi->region_size);
    char want[32];
    snprintf(want, sizeof want, "%d", limit);

    udvla_open_options o;
    udvla_open_options_init(&o);
    udvla_engine e = 0;
    int32_t over[] = {limit + 1, 65536, INT32_MAX};
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        o.max_instruction = over[i];
        CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_OUT_OF_RANGE);
        CHECK(e == 0);
        CHECK(strstr(udvla_last_error(), want) != NULL);
    }
    o.max_instruction = -1;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_INVALID_ARGUMENT);
    /* the reference backend takes the same bound */
    o.backend = UDVLA_BACKEND_REFERENCE;
    o.max_instruction = limit + 1;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_OUT_OF_RANGE);
    o.max_instruction = limit;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_OK);
    udvla_model_info got;
    udvla_model_info_init(&got);
    CHECK_STATUS(udvla_get_model_info(e, &got), UDVLA_OK);
    CHECK(got.max_instruction == limit);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);
    o.backend = UDVLA_BACKEND_VULKAN;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_OK);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);
}

/* Every message of udvla_step_alloc names udvla_step_alloc, and is one line. */
static void test_step_alloc_messages(udvla_engine e, const udvla_model_info *mi) {
    inputs in;
    inputs_make(&in, e, mi);
    udvla_result *out = NULL;
    udvla_request bad[4];
    for (int i = 0; i < 4; i++) bad[i] = in.req;
    bad[0].struct_size = 3;
    bad[1].mode = 99;
    bad[2].num_cameras = in.ncams + 1;
    bad[3].steps = -1;
    int want[4] = {UDVLA_ERR_STRUCT_SIZE, UDVLA_ERR_OUT_OF_RANGE, UDVLA_ERR_INVALID_ARGUMENT, UDVLA_ERR_OUT_OF_RANGE};
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(udvla_step_alloc(e, &bad[i], &out), want[i]);
        CHECK(out == NULL);
        CHECK(strncmp(udvla_last_error(), "udvla_step_alloc:", 17) == 0);
        CHECK(strchr(udvla_last_error(), '\n') == NULL);
    }
    CHECK_STATUS(udvla_step_alloc(e, NULL, &out), UDVLA_ERR_NULL_POINTER);
    CHECK(strncmp(udvla_last_error(), "udvla_step_alloc:", 17) == 0);
    /* udvla_step's own messages keep their name */
    udvla_result r;
    udvla_result_init(&r);
    CHECK_STATUS(udvla_step(e, &bad[1], &r), UDVLA_ERR_OUT_OF_RANGE);
    CHECK(strncmp(udvla_last_error(), "udvla_step:", 11) == 0);
    inputs_free(&in);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    model_path = argv[1];
    unsetenv("UDVLA_DEVICE");
    udvla_engine e = 0;
    CHECK_STATUS(udvla_open(model_path, NULL, &e), UDVLA_OK);
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);

    test_capacity_upper_bound(e, &mi);
    test_step_alloc_messages(e, &mi);
    test_environment_at_call_time();
    test_max_instruction_bound(&mi);

    uint64_t vmsgs = 1;
    CHECK_STATUS(udvla_validation_messages(e, &vmsgs), UDVLA_OK);
    CHECK(vmsgs == 0);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);
    CHECK(udvla_live_engines() == 0);
    if (check_failures) {
        fprintf(stderr, "test_boundary: %d failure(s)\n", check_failures);
        return 1;
    }
    printf("test_boundary: ok\n");
    return 0;
}
