/* Concurrency tests of libudvla: THREADS threads x STEPS steps on one engine give the results of
 * sequential calls (the golden file, which the Go engine computed one step at a time), and closing
 * an engine while threads step on it gives each call OK or UDVLA_ERR_CLOSED, never a crash.
 * Usage: test_threads MODEL GOLDEN [THREADS [STEPS]] */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "golden.h"
#include "udvla.h"

static golden_case *cases;
static size_t *picked; /* indices of the cases the threads run */
static size_t npicked;
static udvla_engine engine;
static udvla_model_info info;
static int steps_per_thread = 200;
static atomic_int mismatches, bad_status, closed_seen, ok_seen;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct worker {
    int id;
    int stop_on_close; /* the close phase: run until the engine is closed */
    int32_t *region, *future, *tokens;
    float *actions;
    udvla_result res;
} worker;

static void worker_init(worker *w, int id) {
    memset(w, 0, sizeof *w);
    w->id = id;
    w->region = calloc(info.region_size, sizeof(int32_t));
    w->future = calloc(info.future_codes_size, sizeof(int32_t));
    w->tokens = calloc(info.action_tokens_max, sizeof(int32_t));
    w->actions = calloc(info.actions_size + 1, sizeof(float));
    udvla_result_init(&w->res);
    w->res.region = w->region;
    w->res.region_capacity = info.region_size;
    w->res.future_codes = w->future;
    w->res.future_codes_capacity = info.future_codes_size;
    w->res.action_tokens = w->tokens;
    w->res.action_tokens_capacity = info.action_tokens_max;
    w->res.actions = w->actions;
    w->res.actions_capacity = info.actions_size;
}

static void worker_free(worker *w) {
    free(w->region);
    free(w->future);
    free(w->tokens);
    free(w->actions);
}

static void *work(void *arg) {
    worker *w = arg;
    char why[256];
    for (int i = 0; i < steps_per_thread; i++) {
        const golden_case *g = &cases[picked[((size_t)w->id * 7 + (size_t)i * 3) % npicked]];
        udvla_request r;
        golden_request(g, &r);
        int st = udvla_step(engine, &r, &w->res);
        if (st == UDVLA_ERR_CLOSED && w->stop_on_close) {
            atomic_fetch_add(&closed_seen, 1);
            break;
        }
        if (st != UDVLA_OK) {
            fprintf(stderr, "thread %d step %d: %s: %s\n", w->id, i, udvla_status_string(st), udvla_last_error());
            atomic_fetch_add(&bad_status, 1);
            continue;
        }
        atomic_fetch_add(&ok_seen, 1);
        if (!golden_matches(g, &w->res, 1, why, sizeof why)) {
            fprintf(stderr, "thread %d step %d: %s\n", w->id, i, why);
            atomic_fetch_add(&mismatches, 1);
        }
    }
    return NULL;
}

static double run_threads(int n, int stop_on_close, int close_after_ms) {
    pthread_t *ts = calloc((size_t)n, sizeof *ts);
    worker *ws = calloc((size_t)n, sizeof *ws);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        worker_init(&ws[i], i);
        ws[i].stop_on_close = stop_on_close;
        CHECK(pthread_create(&ts[i], NULL, work, &ws[i]) == 0);
    }
    if (close_after_ms > 0) {
        struct timespec d = {close_after_ms / 1000, (long)(close_after_ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        CHECK_STATUS(udvla_close(engine), UDVLA_OK);
    }
    for (int i = 0; i < n; i++) CHECK(pthread_join(ts[i], NULL) == 0);
    double dt = now_s() - t0;
    for (int i = 0; i < n; i++) worker_free(&ws[i]);
    free(ts);
    free(ws);
    return dt;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL GOLDEN [THREADS [STEPS]]\n", argv[0]);
        return 2;
    }
    int threads = argc > 3 ? atoi(argv[3]) : 8;
    if (argc > 4) steps_per_thread = atoi(argv[4]);
    size_t n;
    if (golden_load(argv[2], &cases, &n) != 0) return 1;
    /* the AR modes generate one token per forward and independent diffusion runs the release's 28
     * action steps: too slow to repeat thousands of times */
    picked = calloc(n, sizeof *picked);
    for (size_t i = 0; i < n; i++)
        if (cases[i].mode == UDVLA_MODE_JD3P) picked[npicked++] = i;
    CHECK(npicked > 0);

    CHECK_STATUS(udvla_open(argv[1], NULL, &engine), UDVLA_OK);
    udvla_model_info_init(&info);
    CHECK_STATUS(udvla_get_model_info(engine, &info), UDVLA_OK);

    /* sequential calls first: one step per case */
    int saved = steps_per_thread;
    steps_per_thread = (int)npicked;
    double seq = run_threads(1, 0, 0);
    steps_per_thread = saved;
    double par = run_threads(threads, 0, 0);
    int total = threads * steps_per_thread;
    printf("sequential: %zu steps in %.2f s; %d threads x %d steps: %.2f s (%.1f ms a step)\n", npicked, seq,
           threads, steps_per_thread, par, 1e3 * par / total);
    CHECK(atomic_load(&ok_seen) == (int)npicked + total);

    /* closing while four threads step: every call is OK (and right) or CLOSED */
    atomic_store(&ok_seen, 0);
    steps_per_thread = 1000;
    run_threads(4, 1, 300);
    printf("close while stepping: %d steps ran, %d threads saw UDVLA_ERR_CLOSED\n", atomic_load(&ok_seen),
           atomic_load(&closed_seen));
    CHECK(atomic_load(&closed_seen) == 4);
    CHECK(udvla_live_engines() == 0);

    CHECK(atomic_load(&mismatches) == 0);
    CHECK(atomic_load(&bad_status) == 0);
    golden_free(cases, n);
    free(picked);
    if (check_failures) {
        fprintf(stderr, "test_threads: %d failure(s)\n", check_failures);
        return 1;
    }
    printf("test_threads: ok\n");
    return 0;
}
