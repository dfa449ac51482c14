/* A child forked from a process that loaded libudvla gets UDVLA_ERR_FORKED from every call, never
 * a hang: forked before the first call, and forked while the parent has an engine open. The
 * parent's engine keeps working. Each child runs under an alarm, so a hang fails the test.
 * Usage: test_fork MODEL */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "udvla.h"

static const char *model_path;

/* The seconds a child may take; a child that hangs is killed by SIGALRM. */
#define CHILD_SECONDS 30

/* check_forked checks a call's status in the child: FORKED, with the static one-line message. */
static void check_forked(int status) {
    CHECK(status == UDVLA_ERR_FORKED);
    CHECK(strstr(udvla_last_error(), "fork") != NULL);
    CHECK(strstr(udvla_last_error(), "exec") != NULL);
    CHECK(strchr(udvla_last_error(), '\n') == NULL);
}

/* The child's checks: exit status 0 when every call returned FORKED with the static message (the
 * child counts its own failures in its copy of check_failures). */
static int child_calls(udvla_engine parent_engine) {
    alarm(CHILD_SECONDS);
    int before = check_failures;
    udvla_engine e = 99;
    check_forked(udvla_open(model_path, NULL, &e));
    CHECK(e == 0);
    udvla_request req;
    udvla_request_init(&req);
    udvla_result res;
    udvla_result_init(&res);
    res.region_len = 5;
    check_forked(udvla_step(parent_engine ? parent_engine : 1, &req, &res));
    CHECK(res.region_len == 0);
    udvla_result *owned = (udvla_result *)&res;
    check_forked(udvla_step_alloc(parent_engine ? parent_engine : 1, &req, &owned));
    CHECK(owned == NULL);
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    check_forked(udvla_get_model_info(parent_engine, &mi));
    udvla_camera_info ci;
    udvla_camera_info_init(&ci);
    check_forked(udvla_get_camera_info(parent_engine, 0, &ci));
    size_t count = 7;
    check_forked(udvla_list_devices(NULL, 0, &count));
    CHECK(count == 0);
    uint64_t msgs = 7;
    check_forked(udvla_validation_messages(parent_engine, &msgs));
    CHECK(msgs == 0);
    check_forked(udvla_result_free((udvla_result *)&res));
    check_forked(udvla_cancel(parent_engine));
    check_forked(udvla_close(parent_engine));
    CHECK(udvla_live_engines() == 0);
    CHECK(udvla_live_results() == 0);
    /* what needs no runtime still answers */
    CHECK(udvla_abi_version() == UDVLA_ABI_VERSION);
    CHECK(strcmp(udvla_status_string(UDVLA_ERR_FORKED), "UDVLA_ERR_FORKED") == 0);
    CHECK(udvla_version()[0] != '\0');
    return check_failures == before ? 0 : 1;
}

/* fork_and_check forks, runs child_calls in the child and checks it exited 0 in time. */
static void fork_and_check(const char *when, udvla_engine parent_engine) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        check_failures++;
        return;
    }
    if (pid == 0) _exit(child_calls(parent_engine));
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) {
        perror("waitpid");
        check_failures++;
        return;
    }
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "fork %s: the child died of signal %d%s\n", when, WTERMSIG(st),
                WTERMSIG(st) == SIGALRM ? " (it hung)" : "");
        check_failures++;
    } else if (WEXITSTATUS(st) != 0) {
        fprintf(stderr, "fork %s: the child's checks failed\n", when);
        check_failures++;
    } else {
        printf("fork %s: the child got UDVLA_ERR_FORKED from every call\n", when);
    }
}

static void step_once(udvla_engine e) {
    udvla_model_info mi;
    udvla_model_info_init(&mi);
    CHECK_STATUS(udvla_get_model_info(e, &mi), UDVLA_OK);
    size_t n = (size_t)mi.num_cameras;
    int32_t **codes = calloc(n, sizeof *codes);
    size_t *counts = calloc(n, sizeof *counts);
    for (size_t c = 0; c < n; c++) {
        udvla_camera_info ci;
        udvla_camera_info_init(&ci);
        CHECK_STATUS(udvla_get_camera_info(e, c, &ci), UDVLA_OK);
        counts[c] = (size_t)ci.height * (size_t)ci.width;
        codes[c] = calloc(counts[c], sizeof(int32_t));
    }
    int32_t instr[2] = {1, 2};
    udvla_request req;
    udvla_request_init(&req);
    req.instruction = instr, req.instruction_len = 2;
    req.codes = (const int32_t *const *)codes, req.code_counts = counts, req.num_cameras = n;
    req.steps = 1;
    udvla_result *r = NULL;
    CHECK_STATUS(udvla_step_alloc(e, &req, &r), UDVLA_OK);
    CHECK(r != NULL && r->region_len == mi.region_size);
    CHECK_STATUS(udvla_result_free(r), UDVLA_OK);
    for (size_t c = 0; c < n; c++) free(codes[c]);
    free(codes), free(counts);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    model_path = argv[1];

    fork_and_check("before the first call", 0);

    udvla_engine e = 0;
    CHECK_STATUS(udvla_open(model_path, NULL, &e), UDVLA_OK);
    step_once(e);
    fork_and_check("with an engine open", e);
    /* the parent is unaffected */
    step_once(e);
    CHECK_STATUS(udvla_close(e), UDVLA_OK);
    CHECK(udvla_live_engines() == 0);

    if (check_failures) {
        fprintf(stderr, "test_fork: %d failure(s)\n", check_failures);
        return 1;
    }
    printf("test_fork: ok\n");
    return 0;
}
