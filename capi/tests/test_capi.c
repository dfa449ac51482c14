/* Tests of libudvla through udvla.h: results equal the Go engine's (the golden file), and every
 * error path returns its documented status.
 * Usage: test_capi MODEL GOLDEN */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "golden.h"
#include "result_buffers.h"
#include "udvla.h"

static const char *model_path;

static void test_basics(void) {
    CHECK(udvla_abi_version() == UDVLA_ABI_VERSION);
    CHECK(strncmp(udvla_version(), "1.", 2) == 0);
    CHECK(strcmp(udvla_status_string(UDVLA_OK), "UDVLA_OK") == 0);
    CHECK(strcmp(udvla_status_string(UDVLA_ERR_CLOSED), "UDVLA_ERR_CLOSED") == 0);
    CHECK(strcmp(udvla_status_string(UDVLA_ERR_INTERNAL), "UDVLA_ERR_INTERNAL") == 0);
    CHECK(strcmp(udvla_status_string(-5), "UDVLA_ERR_UNKNOWN") == 0);
    CHECK(strcmp(udvla_status_string(UDVLA_ERR_FORKED + 1), "UDVLA_ERR_UNKNOWN") == 0);
    CHECK(udvla_last_error() != NULL);
}

static void test_devices(void) {
    size_t count = 99;
    CHECK_STATUS(udvla_list_devices(NULL, 0, NULL), UDVLA_ERR_NULL_POINTER);
    CHECK_STATUS(udvla_list_devices(NULL, 3, &count), UDVLA_ERR_NULL_POINTER);
    CHECK_STATUS(udvla_list_devices(NULL, 0, &count), UDVLA_OK);
    CHECK(count >= 1);
    udvla_device_info *devs = calloc(count + 1, sizeof *devs);
    devs[0].struct_size = sizeof *devs - 8;
    CHECK_STATUS(udvla_list_devices(devs, count + 1, &count), UDVLA_ERR_STRUCT_SIZE);
    devs[0].struct_size = sizeof *devs;
    CHECK_STATUS(udvla_list_devices(devs, count + 1, &count), UDVLA_OK);
    int chosen = 0;
    for (size_t i = 0; i < count; i++) {
        CHECK(devs[i].struct_size == sizeof *devs);
        CHECK(devs[i].index == (int32_t)i);
        CHECK(devs[i].name[0] != '\0' && memchr(devs[i].name, 0, sizeof devs[i].name) != NULL);
        CHECK(devs[i].type >= UDVLA_DEVICE_OTHER && devs[i].type <= UDVLA_DEVICE_CPU);
        chosen += devs[i].chosen;
        printf("device %d: %s (%s, type %d, usable %d, chosen %d, api %s)\n", devs[i].index, devs[i].name,
               devs[i].vendor, devs[i].type, devs[i].usable, devs[i].chosen, devs[i].api_version);
    }
    CHECK(chosen == 1);
    /* room for none: the count comes back with BUFFER_TOO_SMALL */
    size_t again = 0;
    CHECK_STATUS(udvla_list_devices(devs, 0, &again), UDVLA_ERR_BUFFER_TOO_SMALL);
    CHECK(again == count);
    free(devs);
}

/* write_file writes n bytes of data to a fresh temporary file and returns its path. */
static char *write_file(const void *data, size_t n) {
    char *path = strdup("/tmp/udvla-capi-test-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, data, n) == (ssize_t)n);
    close(fd);
    return path;
}

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc((size_t)size);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return data;
}

static void test_open_errors(void) {
    udvla_engine e = 77;
    udvla_open_options o;
    CHECK_STATUS(udvla_open(model_path, NULL, NULL), UDVLA_ERR_NULL_POINTER);
    CHECK_STATUS(udvla_open(NULL, NULL, &e), UDVLA_ERR_NULL_POINTER);
    CHECK(e == 0);
    CHECK_STATUS(udvla_open("/nonexistent/udvla/model.udvla", NULL, &e), UDVLA_ERR_NOT_FOUND);
    CHECK_STATUS(udvla_open("", NULL, &e), UDVLA_ERR_NOT_FOUND);
    CHECK_STATUS(udvla_open("/tmp", NULL, &e), UDVLA_ERR_NOT_FOUND);

    /* a file that is not a model, and the real model cut short and with a flipped header byte */
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(rand() & 0xff);
    char *junk_path = write_file(junk, sizeof junk);
    CHECK_STATUS(udvla_open(junk_path, NULL, &e), UDVLA_ERR_MODEL);
    size_t n;
    unsigned char *model = read_file(model_path, &n);
    char *cut_path = write_file(model, n / 2 + 13);
    CHECK_STATUS(udvla_open(cut_path, NULL, &e), UDVLA_ERR_MODEL);
    model[100] ^= 0x5a;
    char *flip_path = write_file(model, n);
    CHECK_STATUS(udvla_open(flip_path, NULL, &e), UDVLA_ERR_MODEL);
    CHECK(e == 0);
    unlink(junk_path);
    unlink(cut_path);
    unlink(flip_path);
    free(junk_path);
    free(cut_path);
    free(flip_path);
    free(model);

    udvla_open_options_init(&o);
    o.struct_size = sizeof o + 4;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_STRUCT_SIZE);
    udvla_open_options_init(&o);
    o.backend = 2;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_INVALID_ARGUMENT);
    udvla_open_options_init(&o);
    o.validate = 3;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_INVALID_ARGUMENT);
    udvla_open_options_init(&o);
    o.max_instruction = -1;
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_INVALID_ARGUMENT);
    udvla_open_options_init(&o);
    o.device = "no-such-device-anywhere";
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_DEVICE);
    o.device = "4096";
    CHECK_STATUS(udvla_open(model_path, &o, &e), UDVLA_ERR_DEVICE);
    CHECK(e == 0);
}

static void test_info(udvla_engine e, const golden_case *g) {
    udvla_model_info mi;
    CHECK_STATUS(udvla_get_model_info(e, NULL), UDVLA_ERR_NULL_POINTER);
    udvla_model_info_init(&mi);
    mi.struct_size = 12;
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_ERR_STRUCT_SIZE);
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    CHECK(mi.has_layout == 1);
    CHECK(mi.num_cameras == (int32_t)g->num_cameras);
    CHECK(mi.region_size == g->region.n);
    CHECK(mi.future_codes_size == g->future.n);
    CHECK(mi.actions_size == (size_t)(g->rows * g->dims));
    CHECK(mi.action_horizon == g->rows && mi.action_dims == g->dims);
    CHECK(mi.action_tokens_max + 1 == (size_t)mi.action_len);
    CHECK(mi.vocab.text_size > 0 && mi.vocab.codebook_size > 0);
    CHECK(mi.vocab.visual_offset + mi.vocab.codebook_size <= mi.vocab_size);
    CHECK(mi.vocab.num_header_ids > 0);
    CHECK(strncmp(mi.backend_name, "vulkan", 6) == 0);
    CHECK(mi.backend == UDVLA_BACKEND_VULKAN);
    CHECK(mi.max_instruction == 128);
    /* the region's first token is the first camera's BOI, and its last image token the last EOI */
    CHECK(g->region.v[0] == mi.vocab.boi);
    CHECK(g->region.v[mi.region_size - mi.action_len] == mi.vocab.boa);
    printf("model: %d layers, hidden %d, vocab %d; region %zu, future %zu, actions %dx%d; %s\n", mi.layers,
           mi.hidden, mi.vocab_size, mi.region_size, mi.future_codes_size, mi.action_horizon, mi.action_dims,
           mi.backend_name);

    size_t sum = 0;
    for (int32_t c = 0; c < mi.num_cameras; c++) {
        udvla_camera_info ci;
        udvla_camera_info_init(&ci);
        CHECK_STATUS(udvla_get_camera_info(e, (size_t)c, &ci), UDVLA_OK);
        CHECK(ci.name[0] != '\0');
        CHECK((size_t)(ci.height * ci.width) == g->codes[c].n);
        sum += (size_t)(ci.height * ci.width);
    }
    CHECK(sum == mi.future_codes_size);
    udvla_camera_info ci;
    udvla_camera_info_init(&ci);
    CHECK_STATUS(udvla_get_camera_info(e, (size_t)mi.num_cameras, &ci), UDVLA_ERR_OUT_OF_RANGE);
    CHECK_STATUS(udvla_get_camera_info(e, SIZE_MAX, &ci), UDVLA_ERR_OUT_OF_RANGE);
    CHECK_STATUS(udvla_get_camera_info(e, 0, NULL), UDVLA_ERR_NULL_POINTER);
    ci.struct_size = 1;
    CHECK_STATUS(udvla_get_camera_info(e, 0, &ci), UDVLA_ERR_STRUCT_SIZE);
}

/* test_golden runs every case into caller buffers and into library-owned results. */
static void test_golden(udvla_engine e, const golden_case *cs, size_t n, int check_generated, size_t limit) {
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    buffers b;
    buffers_make(&b, &mi);
    char why[256];
    for (size_t i = 0; i < n && i < limit; i++) {
        udvla_request r;
        golden_request(&cs[i], &r);
        CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_OK);
        if (!golden_matches(&cs[i], &b.res, check_generated, why, sizeof why)) {
            fprintf(stderr, "case %zu (mode %d mask %d steps %d): %s\n", i, cs[i].mode, cs[i].mask, cs[i].steps, why);
            check_failures++;
        }
        CHECK(b.res.total_ns > 0);
        udvla_result *owned = NULL;
        CHECK_STATUS(udvla_step_alloc(e, &r, &owned), UDVLA_OK);
        CHECK(owned != NULL);
        if (owned != NULL) {
            CHECK(owned->struct_size == sizeof(udvla_result));
            if (!golden_matches(&cs[i], owned, check_generated, why, sizeof why)) {
                fprintf(stderr, "case %zu (alloc): %s\n", i, why);
                check_failures++;
            }
            CHECK(udvla_live_results() == 1);
            CHECK_STATUS(udvla_result_free(owned), UDVLA_OK);
            CHECK_STATUS(udvla_result_free(owned), UDVLA_ERR_INVALID_ARGUMENT);
            CHECK(udvla_live_results() == 0);
        }
    }
    buffers_free(&b);
}

static void test_step_errors(udvla_engine e, const golden_case *g) {
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    buffers b;
    buffers_make(&b, &mi);
    udvla_request r;
    char why[256];

    golden_request(g, &r);
    CHECK_STATUS(udvla_step(e, NULL, &b.res), UDVLA_ERR_NULL_POINTER);
    CHECK_STATUS(udvla_step(e, &r, NULL), UDVLA_ERR_NULL_POINTER);
    r.struct_size = sizeof r - 8;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_STRUCT_SIZE);
    golden_request(g, &r);
    b.res.struct_size = 0;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_STRUCT_SIZE);
    b.res.struct_size = sizeof b.res;
    b.res.reserved = 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);
    b.res.reserved = 0;
    r.reserved = 9;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);

    /* instruction tokens */
    int32_t instr[300];
    for (size_t i = 0; i < 300; i++) instr[i] = (int32_t)(rand() % mi.vocab.text_size);
    golden_request(g, &r);
    r.instruction = NULL;
    r.instruction_len = 3;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_NULL_POINTER);
    r.instruction = instr;
    r.instruction_len = 5;
    instr[3] = mi.vocab.text_size;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    instr[3] = -1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    instr[3] = mi.vocab.boa; /* a special id is not a text id */
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    instr[3] = 7;
    r.instruction_len = (size_t)mi.max_instruction + 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.instruction_len = SIZE_MAX;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.instruction_len = 0;
    r.instruction_text = "pick up the red block";
    CHECK_STATUS(udvla_step(e, &r, &b.res), mi.has_text_vocab ? UDVLA_OK : UDVLA_ERR_UNSUPPORTED);

    /* codes */
    size_t nc = g->num_cameras;
    int32_t **codes = calloc(nc, sizeof *codes);
    const int32_t **ptrs = calloc(nc, sizeof *ptrs);
    size_t *counts = calloc(nc, sizeof *counts);
    for (size_t c = 0; c < nc; c++) {
        codes[c] = malloc(g->codes[c].n * sizeof(int32_t));
        memcpy(codes[c], g->codes[c].v, g->codes[c].n * sizeof(int32_t));
        ptrs[c] = codes[c];
        counts[c] = g->codes[c].n;
    }
    golden_request(g, &r);
    r.codes = ptrs;
    r.code_counts = counts;
    size_t last = nc - 1, at = g->codes[last].n - 1;
    codes[last][at] = mi.vocab.codebook_size;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    codes[last][at] = -1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    codes[last][at] = INT32_MIN;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    codes[last][at] = g->codes[last].v[at];
    counts[0]--;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);
    counts[0] += 2;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);
    counts[0]--;
    ptrs[0] = NULL;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_NULL_POINTER);
    ptrs[0] = codes[0];
    r.num_cameras = nc - 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);
    r.num_cameras = nc + 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);
    r.num_cameras = nc;
    r.codes = NULL;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_NULL_POINTER);
    r.codes = ptrs;
    r.code_counts = NULL;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_NULL_POINTER);

    /* steps, mode, mask */
    golden_request(g, &r);
    r.steps = -1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.steps = 1025;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    golden_request(g, &r);
    r.mode = 4;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.mode = -1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    golden_request(g, &r);
    r.mask = UDVLA_MASK_CAUSAL; /* reported by default_mask only */
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.mask = 5; /* no such rule */
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.mask = -2;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);

    /* short and NULL buffers: refused before the step runs, with the sizes needed */
    golden_request(g, &r);
    b.res.region_capacity = mi.region_size - 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_BUFFER_TOO_SMALL);
    CHECK(b.res.region_len == mi.region_size && b.res.future_codes_len == mi.future_codes_size);
    CHECK(b.res.action_tokens_len == mi.action_tokens_max && b.res.actions_len == mi.actions_size);
    b.res.region_capacity = mi.region_size;
    b.res.actions_capacity = mi.actions_size - 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_BUFFER_TOO_SMALL);
    b.res.actions_capacity = mi.actions_size;
    b.res.action_tokens_capacity = 0;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_BUFFER_TOO_SMALL);
    b.res.action_tokens_capacity = mi.action_tokens_max;
    b.res.future_codes = NULL;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_NULL_POINTER);
    b.res.future_codes = b.future;

    /* every output skipped: the step still runs and reports the lengths and flags */
    udvla_result bare;
    udvla_result_init(&bare);
    CHECK_STATUS(udvla_step(e, &r, &bare), UDVLA_OK);
    CHECK(bare.region_len == g->region.n && bare.future_codes_len == g->future.n);
    CHECK(bare.action_tokens_len == g->tokens.n && bare.actions_len == (size_t)(g->rows * g->dims));
    CHECK(bare.generated == g->generated);

    /* A zeroed mask (UDVLA_MASK_MODEL_DEFAULT, and -1 as earlier headers spelled it) decodes as
       the rule the model names: release for tiny.udvla, the conversion of a checkpoint whose
       config.json sets use_blockwise_attn_mask. */
    CHECK(UDVLA_MASK_MODEL_DEFAULT == 0 && mi.default_mask == UDVLA_MASK_RELEASE);
    udvla_result *named = NULL, *dflt = NULL, *legacy = NULL;
    r.mask = mi.default_mask;
    CHECK_STATUS(udvla_step_alloc(e, &r, &named), UDVLA_OK);
    r.mask = 0;
    CHECK_STATUS(udvla_step_alloc(e, &r, &dflt), UDVLA_OK);
    r.mask = -1;
    CHECK_STATUS(udvla_step_alloc(e, &r, &legacy), UDVLA_OK);
    CHECK(named != NULL && dflt != NULL && named->region_len == dflt->region_len &&
          memcmp(named->region, dflt->region, named->region_len * sizeof(int32_t)) == 0);
    CHECK(legacy != NULL && legacy->region_len == dflt->region_len &&
          memcmp(legacy->region, dflt->region, dflt->region_len * sizeof(int32_t)) == 0);
    CHECK_STATUS(udvla_result_free(named), UDVLA_OK);
    CHECK_STATUS(udvla_result_free(dflt), UDVLA_OK);
    CHECK_STATUS(udvla_result_free(legacy), UDVLA_OK);
    golden_request(g, &r);

    /* step_alloc's own errors */
    udvla_result *owned = (udvla_result *)&bare;
    CHECK_STATUS(udvla_step_alloc(e, &r, NULL), UDVLA_ERR_NULL_POINTER);
    CHECK_STATUS(udvla_step_alloc(e, NULL, &owned), UDVLA_ERR_NULL_POINTER);
    CHECK(owned == NULL);
    r.steps = 5000;
    CHECK_STATUS(udvla_step_alloc(e, &r, &owned), UDVLA_ERR_OUT_OF_RANGE);
    CHECK_STATUS(udvla_result_free(&bare), UDVLA_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(udvla_result_free(NULL), UDVLA_OK);

    /* after every refusal the engine still gives the expected result */
    golden_request(g, &r);
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_OK);
    if (!golden_matches(g, &b.res, 1, why, sizeof why)) {
        fprintf(stderr, "after the errors: %s\n", why);
        check_failures++;
    }
    for (size_t c = 0; c < nc; c++) free(codes[c]);
    free(codes);
    free(ptrs);
    free(counts);
    buffers_free(&b);
}

/* The last error is per thread: another thread's failure does not touch this thread's message. */
/* budget_us: below one step a JD3P step runs its first step only and says so (early, steps_run);
 * a generous budget runs every step, unmarked, with the golden result. Callers built against the
 * first ABI 1 structs (before budget_us and early) keep working: their requests carry no budget
 * and their results are not written past their end. */
static void test_budget_and_abi1(udvla_engine e, const golden_case *cs, size_t n) {
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    const golden_case *g = NULL;
    for (size_t i = 0; i < n && !g; i++)
        if (cs[i].mode == UDVLA_MODE_JD3P && cs[i].steps > 1) g = &cs[i];
    CHECK(g != NULL);
    if (!g) return;
    buffers b;
    buffers_make(&b, &mi);
    udvla_request r;
    char why[256];

    golden_request(g, &r);
    r.budget_us = 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_OK);
    CHECK(b.res.early == 1 && b.res.steps_run == 1);
    r.budget_us = 600000000;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_OK);
    CHECK(b.res.early == 0 && b.res.steps_run == g->steps);
    CHECK(golden_matches(g, &b.res, 1, why, sizeof why));

    /* the first ABI 1 sizes: a budget beyond the old request's end is not read, and the result's
     * appended fields keep the caller's bytes */
    golden_request(g, &r);
    r.struct_size = (uint32_t)offsetof(udvla_request, budget_us);
    r.budget_us = 1;
    r.reserved3 = 7;
    b.res.struct_size = (uint32_t)offsetof(udvla_result, early);
    b.res.early = 0x5a5a;
    b.res.steps_run = 0x5a5a;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_OK);
    CHECK(golden_matches(g, &b.res, 1, why, sizeof why));
    CHECK(b.res.early == 0x5a5a && b.res.steps_run == 0x5a5a);
    b.res.struct_size = sizeof b.res;

    /* the appended request fields are checked */
    golden_request(g, &r);
    r.reserved3 = 1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_INVALID_ARGUMENT);
    golden_request(g, &r);
    r.action_steps = -1;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    golden_request(g, &r);
    r.budget_us = UINT64_MAX;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    r.struct_size = (uint32_t)offsetof(udvla_request, budget_us) + 8;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_STRUCT_SIZE);

    /* the release's AR and the restricted AR are distinct modes; an unknown mode is refused */
    golden_request(g, &r);
    r.mode = UDVLA_MODE_AR;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_OK);
    CHECK(b.res.early == 0 && b.res.steps_run == b.res.generated);
    r.mode = 4;
    CHECK_STATUS(udvla_step(e, &r, &b.res), UDVLA_ERR_OUT_OF_RANGE);
    buffers_free(&b);
}

static void *other_thread(void *arg) {
    (void)arg;
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    int st = udvla_get_model_info(123456789, &mi);
    int ok = st == UDVLA_ERR_INVALID_HANDLE && strstr(udvla_last_error(), "123456789") != NULL;
    return ok ? (void *)1 : NULL;
}

static void test_last_error_per_thread(void) {
    CHECK_STATUS(udvla_open("/nonexistent/per-thread.udvla", NULL, &(udvla_engine){0}), UDVLA_ERR_NOT_FOUND);
    pthread_t t;
    void *ok = NULL;
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    CHECK(pthread_join(t, &ok) == 0);
    CHECK(ok == (void *)1);
    CHECK(strstr(udvla_last_error(), "per-thread.udvla") != NULL);
}

static void test_closed(udvla_engine e, const golden_case *g) {
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    udvla_camera_info ci;
    udvla_camera_info_init(&ci);
    udvla_request r;
    golden_request(g, &r);
    udvla_result res;
    udvla_result_init(&res);
    udvla_result *owned = NULL;
    uint64_t live = udvla_live_engines();

    CHECK_STATUS(udvla_close(e), UDVLA_OK);
    CHECK(udvla_live_engines() == live - 1);
    CHECK_STATUS(udvla_step(e, &r, &res), UDVLA_ERR_CLOSED);
    CHECK_STATUS(udvla_step_alloc(e, &r, &owned), UDVLA_ERR_CLOSED);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_ERR_CLOSED);
    CHECK_STATUS(udvla_get_camera_info(e, 0, &ci), UDVLA_ERR_CLOSED);
    CHECK_STATUS(udvla_close(e), UDVLA_ERR_CLOSED);
    CHECK_STATUS(udvla_close(0), UDVLA_OK);
    CHECK_STATUS(udvla_close(e + 1000000), UDVLA_ERR_INVALID_HANDLE);
    CHECK_STATUS(udvla_step(0, &r, &res), UDVLA_ERR_INVALID_HANDLE);
    CHECK_STATUS(udvla_step(UINT64_MAX, &r, &res), UDVLA_ERR_INVALID_HANDLE);
    CHECK_STATUS(udvla_get_model_info(e + 7, &mi), UDVLA_ERR_INVALID_HANDLE);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL GOLDEN\n", argv[0]);
        return 2;
    }
    model_path = argv[1];
    srand((unsigned)getpid());
    golden_case *cs;
    size_t n;
    if (golden_load(argv[2], &cs, &n) != 0) return 1;

    test_basics();
    test_devices();
    test_open_errors();
    test_last_error_per_thread();

    udvla_engine e = 0;
    CHECK_STATUS(udvla_open(model_path, NULL, &e), UDVLA_OK);
    CHECK(e != 0);
    CHECK(udvla_live_engines() == 1);
    test_info(e, &cs[0]);
    test_golden(e, cs, n, 1, n);
    test_step_errors(e, &cs[0]);
    test_budget_and_abi1(e, cs, n);

    /* the CPU reference gives the same tokens and actions as the Vulkan engine */
    udvla_open_options o;
    udvla_open_options_init(&o);
    o.backend = UDVLA_BACKEND_REFERENCE;
    udvla_engine ref = 0;
    CHECK_STATUS(udvla_open(model_path, &o, &ref), UDVLA_OK);
    CHECK(udvla_live_engines() == 2);
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(ref, &mi), UDVLA_OK);
    CHECK(mi.backend == UDVLA_BACKEND_REFERENCE);
    test_golden(ref, cs, n, 0, 3);
    CHECK_STATUS(udvla_close(ref), UDVLA_OK);

    /* With validation on (UDVLA_VALIDATE=1, as the test command sets it) every call above ran
     * under the Khronos layer: any message fails the test. */
    uint64_t vmsgs = 1;
    CHECK_STATUS(udvla_validation_messages(e, &vmsgs), UDVLA_OK);
    CHECK(vmsgs == 0);
    CHECK_STATUS(udvla_validation_messages(e, NULL), UDVLA_ERR_NULL_POINTER);

    test_closed(e, &cs[0]);
    CHECK(udvla_live_engines() == 0);
    golden_free(cs, n);
    if (check_failures) {
        fprintf(stderr, "test_capi: %d failure(s)\n", check_failures);
        return 1;
    }
    printf("test_capi: ok (%zu golden cases)\n", n);
    return 0;
}
