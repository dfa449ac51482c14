/* Tests of udvla_cancel through udvla.h: a long step (1024 denoising steps) cancelled from another
 * thread returns UDVLA_ERR_CANCELLED with empty outputs, into caller buffers and through
 * udvla_step_alloc; a cancel reaches only its own engine; the engine gives the expected results
 * afterwards.
 * Usage: test_cancel MODEL GOLDEN */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "golden.h"
#include "udvla.h"

/* A step run on its own thread: its status, outputs and last error, and whether it returned. */
typedef struct long_step {
    udvla_engine engine;
    udvla_request request;
    int use_alloc;
    udvla_status status;
    udvla_result result; /* caller buffers: only the region */
    int32_t *region;
    udvla_result *owned; /* udvla_step_alloc's */
    char error[512];
    atomic_int done;
} long_step;

static void *run_step(void *arg) {
    long_step *s = arg;
    if (s->use_alloc) {
        s->owned = (udvla_result *)(uintptr_t)1; /* must come back NULL */
        s->status = udvla_step_alloc(s->engine, &s->request, &s->owned);
    } else {
        s->status = udvla_step(s->engine, &s->request, &s->result);
    }
    snprintf(s->error, sizeof s->error, "%s", udvla_last_error());
    atomic_store(&s->done, 1);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* start_long_step starts a step of case g's inputs with the given denoising steps (1024 take
 * seconds on lavapipe) on a thread of its own. */
static void start_long_step(long_step *s, pthread_t *t, udvla_engine e, const golden_case *g, size_t region_size,
                            int32_t steps, int use_alloc) {
    memset(s, 0, sizeof *s);
    s->engine = e;
    golden_request(g, &s->request);
    s->request.steps = steps;
    s->request.no_cache = 1;
    s->request.mode = UDVLA_MODE_JD3P;
    s->use_alloc = use_alloc;
    s->region = calloc(region_size, sizeof(int32_t));
    udvla_result_init(&s->result);
    s->result.region = s->region;
    s->result.region_capacity = region_size;
    s->result.region_len = 12345; /* a failed step must clear it */
    atomic_init(&s->done, 0);
    CHECK(pthread_create(t, NULL, run_step, s) == 0);
}

/* cancel_until_done cancels e every 2 ms until the step has returned: a cancel issued before the
 * step has started finds nothing to stop, so one call alone could miss it. */
static void cancel_until_done(udvla_engine e, long_step *s, pthread_t t) {
    while (!atomic_load(&s->done)) {
        CHECK_STATUS(udvla_cancel(e), UDVLA_OK);
        sleep_ms(2);
    }
    pthread_join(t, NULL);
}

static void check_cancelled(const long_step *s, const char *what) {
    if (s->status != UDVLA_ERR_CANCELLED) {
        fprintf(stderr, "%s: status %s, want UDVLA_ERR_CANCELLED (%s)\n", what, udvla_status_string(s->status),
                s->error);
        check_failures++;
    }
    CHECK(strstr(s->error, "cancel") != NULL);
    CHECK(strcmp(udvla_status_string(UDVLA_ERR_CANCELLED), "UDVLA_ERR_CANCELLED") == 0);
}

static void check_golden(udvla_engine e, const golden_case *g, const char *what) {
    udvla_result *owned = NULL;
    udvla_request r;
    golden_request(g, &r);
    CHECK_STATUS(udvla_step_alloc(e, &r, &owned), UDVLA_OK);
    char why[256];
    if (owned != NULL && !golden_matches(g, owned, 1, why, sizeof why)) {
        fprintf(stderr, "%s: %s\n", what, why);
        check_failures++;
    }
    CHECK_STATUS(udvla_result_free(owned), UDVLA_OK);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL GOLDEN\n", argv[0]);
        return 2;
    }
    golden_case *cs;
    size_t n;
    if (golden_load(argv[2], &cs, &n) != 0 || n == 0) return 1;
    const golden_case *g = &cs[0];

    udvla_engine e = 0, other = 0;
    CHECK_STATUS(udvla_open(argv[1], NULL, &e), UDVLA_OK);
    CHECK_STATUS(udvla_open(argv[1], NULL, &other), UDVLA_OK);
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);

    /* handles it cannot cancel */
    CHECK_STATUS(udvla_cancel(0), UDVLA_ERR_INVALID_HANDLE);
    CHECK_STATUS(udvla_cancel(e + other + 1000), UDVLA_ERR_INVALID_HANDLE);

    /* a cancel with no step in progress changes nothing for the steps that follow */
    CHECK_STATUS(udvla_cancel(e), UDVLA_OK);
    check_golden(e, g, "a step after an idle cancel");

    /* into caller buffers; meanwhile a step on another engine is not touched */
    long_step s, o;
    pthread_t ts, to;
    start_long_step(&o, &to, other, g, mi.region_size, 48, 0);
    start_long_step(&s, &ts, e, g, mi.region_size, 1024, 0);
    cancel_until_done(e, &s, ts);
    check_cancelled(&s, "udvla_step");
    CHECK(s.result.region_len == 0 && s.result.generated == 0);
    pthread_join(to, NULL);
    CHECK(o.status == UDVLA_OK);
    CHECK(o.result.region_len == mi.region_size);

    /* a library-owned result */
    free(s.region);
    start_long_step(&s, &ts, e, g, mi.region_size, 1024, 1);
    cancel_until_done(e, &s, ts);
    check_cancelled(&s, "udvla_step_alloc");
    CHECK(s.owned == NULL);
    CHECK(udvla_live_results() == 0);

    /* the engine is usable and exact afterwards */
    check_golden(e, g, "a step after a cancelled one");
    uint64_t vmsgs = 1;
    CHECK_STATUS(udvla_validation_messages(e, &vmsgs), UDVLA_OK);
    CHECK(vmsgs == 0);

    CHECK_STATUS(udvla_close(e), UDVLA_OK);
    CHECK_STATUS(udvla_cancel(e), UDVLA_ERR_CLOSED);
    CHECK_STATUS(udvla_close(other), UDVLA_OK);
    free(s.region);
    free(o.region);
    golden_free(cs, n);
    if (check_failures) {
        fprintf(stderr, "test_cancel: %d failure(s)\n", check_failures);
        return 1;
    }
    printf("test_cancel: ok\n");
    return 0;
}
