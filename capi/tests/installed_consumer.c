/* A program written from udvla.h alone, built against an installed udvla through pkg-config:
 *   cc -std=c99 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags udvla) installed_consumer.c \
 *      $(pkg-config --libs udvla)
 * It opens a model, runs one control step on random camera codes and prints the first action. */
#include <stdio.h>
#include <stdlib.h>
#include <udvla.h>

static int fail(const char *what, int status) {
    fprintf(stderr, "%s: %s: %s\n", what, udvla_status_string(status), udvla_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    if (udvla_abi_version() != UDVLA_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header %d\n", udvla_abi_version(), UDVLA_ABI_VERSION);
        return 1;
    }
    udvla_engine engine = 0;
    int st = udvla_open(argv[1], NULL, &engine);
    if (st != UDVLA_OK) return fail("udvla_open", st);

    udvla_model_info info;
    udvla_model_info_init(&info);
    st = udvla_get_model_info(engine, &info);
    if (st != UDVLA_OK) return fail("udvla_get_model_info", st);

    int32_t **codes = calloc((size_t)info.num_cameras, sizeof *codes);
    size_t *counts = calloc((size_t)info.num_cameras, sizeof *counts);
    int32_t c;
    for (c = 0; c < info.num_cameras; c++) {
        udvla_camera_info cam;
        size_t i;
        udvla_camera_info_init(&cam);
        st = udvla_get_camera_info(engine, (size_t)c, &cam);
        if (st != UDVLA_OK) return fail("udvla_get_camera_info", st);
        counts[c] = (size_t)cam.height * (size_t)cam.width;
        codes[c] = malloc(counts[c] * sizeof(int32_t));
        for (i = 0; i < counts[c]; i++) codes[c][i] = rand() % info.vocab.codebook_size;
    }
    int32_t instruction[4] = {17, 42, 99, 7};

    udvla_request req;
    udvla_request_init(&req);
    req.instruction = instruction;
    req.instruction_len = 4;
    req.codes = (const int32_t *const *)codes;
    req.code_counts = counts;
    req.num_cameras = (size_t)info.num_cameras;
    req.seed = 2024;
    req.steps = 2;

    udvla_result *res = NULL;
    st = udvla_step_alloc(engine, &req, &res);
    if (st != UDVLA_OK) return fail("udvla_step_alloc", st);
    printf("udvla %s: %zu region tokens, %zu action tokens, actions %dx%d, %.2f ms\n", udvla_version(),
           res->region_len, res->action_tokens_len, res->action_horizon, res->action_dims,
           (double)res->total_ns / 1e6);
    if (res->region_len != info.region_size || res->actions_len != info.actions_size) {
        fprintf(stderr, "unexpected result sizes\n");
        return 1;
    }
    printf("a[0] =");
    for (c = 0; c < res->action_dims; c++) printf(" %+.4f", (double)res->actions[c]);
    printf("\n");
    udvla_result_free(res);
    for (c = 0; c < info.num_cameras; c++) free(codes[c]);
    free(codes);
    free(counts);
    st = udvla_close(engine);
    if (st != UDVLA_OK) return fail("udvla_close", st);
    return udvla_live_engines() == 0 ? 0 : 1;
}
