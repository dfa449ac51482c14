/* Device faults through udvla.h: the test hook UDVLA_TEST_FAULT, set around one udvla_open, makes
 * a queue submission in the middle of that engine's step fail as a driver would report it. The
 * step returns UDVLA_ERR_DEVICE with a message, the process lives on, an engine opened before
 * keeps giving the golden results; after out-of-device-memory the failing engine steps again,
 * after device lost it refuses every step with UDVLA_ERR_DEVICE until closed. The memory hook
 * UDVLA_TEST_MEMORY makes device-local memory unmappable, or its heap too small.
 * Usage: test_faults MODEL GOLDEN */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "golden.h"
#include "result_buffers.h"
#include "udvla.h"

static const char *model_path;

/* step runs golden case g on e and checks the status, and for UDVLA_OK the results. */
static void step(udvla_engine e, const golden_case *g, int want, const char *what) {
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    buffers b;
    buffers_make(&b, &mi);
    udvla_request r;
    golden_request(g, &r);
    int got = udvla_step(e, &r, &b.res);
    char why[256];
    if (got != want) {
        fprintf(stderr, "%s: %s, want %s (last error: %s)\n", what, udvla_status_string(got), udvla_status_string(want),
                udvla_last_error());
        check_failures++;
    } else if (got == UDVLA_OK && !golden_matches(g, &b.res, 1, why, sizeof why)) {
        fprintf(stderr, "%s: %s\n", what, why);
        check_failures++;
    }
    buffers_free(&b);
}

static udvla_engine open_with_fault(const char *fault) {
    udvla_engine e = 0;
    setenv("UDVLA_TEST_FAULT", fault, 1);
    CHECK_STATUS(udvla_open(model_path, NULL, &e), UDVLA_OK);
    unsetenv("UDVLA_TEST_FAULT");
    return e;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL GOLDEN\n", argv[0]);
        return 2;
    }
    model_path = argv[1];
    golden_case *cs;
    size_t n;
    if (golden_load(argv[2], &cs, &n) != 0) return 1;
    unsetenv("UDVLA_TEST_FAULT");
    unsetenv("UDVLA_TEST_MEMORY");

    udvla_engine healthy = 0;
    CHECK_STATUS(udvla_open(model_path, NULL, &healthy), UDVLA_OK);
    step(healthy, &cs[0], UDVLA_OK, "the healthy engine before");

    static const struct {
        const char *fault, *result;
        int lost;
    } faults[] = {
        {"out_of_device_memory@2", "VK_ERROR_OUT_OF_DEVICE_MEMORY", 0},
        {"device_lost@2", "VK_ERROR_DEVICE_LOST", 1},
        {"device_lost@1", "VK_ERROR_DEVICE_LOST", 1},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        udvla_engine e = open_with_fault(faults[i].fault);
        step(e, &cs[0], UDVLA_ERR_DEVICE, faults[i].fault);
        if (strstr(udvla_last_error(), faults[i].result) == NULL) {
            fprintf(stderr, "%s: message '%s' does not name %s\n", faults[i].fault, udvla_last_error(), faults[i].result);
            check_failures++;
        }
        if (faults[i].lost) {
            step(e, &cs[1 % n], UDVLA_ERR_DEVICE, "a step after the loss");
            CHECK(strstr(udvla_last_error(), "open a new one") != NULL);
        } else {
            step(e, &cs[0], UDVLA_OK, "the same step after out-of-memory");
            step(e, &cs[1 % n], UDVLA_OK, "another step after out-of-memory");
        }
        CHECK_STATUS(udvla_close(e), UDVLA_OK);
        step(healthy, &cs[i % n], UDVLA_OK, "the healthy engine after a fault in another");
    }

    /* UDVLA_TEST_MEMORY: with device-local memory the host cannot map (a discrete card), an engine
     * gives the golden results through the staging ring; one whose heap is too small for the model
     * fails to open with UDVLA_ERR_DEVICE, naming the buffer and the bytes short. */
    udvla_engine staged = 0;
    setenv("UDVLA_TEST_MEMORY", "hide-hvdl", 1);
    CHECK_STATUS(udvla_open(model_path, NULL, &staged), UDVLA_OK);
    unsetenv("UDVLA_TEST_MEMORY");
    for (size_t i = 0; i < n && i < 3; i++) step(staged, &cs[i], UDVLA_OK, "an engine that stages every transfer");
    CHECK_STATUS(udvla_close(staged), UDVLA_OK);
    udvla_engine small = 0;
    setenv("UDVLA_TEST_MEMORY", "hide-hvdl,heap=64K", 1);
    int sm = udvla_open(model_path, NULL, &small);
    unsetenv("UDVLA_TEST_MEMORY");
    CHECK(sm == UDVLA_ERR_DEVICE && small == 0);
    CHECK(strstr(udvla_last_error(), "upload embeddings") != NULL);
    CHECK(strstr(udvla_last_error(), "65536 bytes of budget left") != NULL);
    CHECK(strstr(udvla_last_error(), "bytes short") != NULL);
    step(healthy, &cs[0], UDVLA_OK, "the healthy engine after an engine too large for its heap");

    udvla_engine bad = 0;
    setenv("UDVLA_TEST_FAULT", "lost@2", 1);
    int st = udvla_open(model_path, NULL, &bad);
    unsetenv("UDVLA_TEST_FAULT");
    CHECK(st != UDVLA_OK && bad == 0);
    CHECK(strstr(udvla_last_error(), "UDVLA_TEST_FAULT") != NULL);

    CHECK_STATUS(udvla_close(healthy), UDVLA_OK);
    CHECK(udvla_live_engines() == 0);
    golden_free(cs, n);
    if (check_failures) {
        fprintf(stderr, "test_faults: %d failure(s)\n", check_failures);
        return 1;
    }
    printf("test_faults: ok\n");
    return 0;
}
