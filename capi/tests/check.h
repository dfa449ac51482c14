/* Assertions of the C tests: a failure prints where, what and the library's last error, and the
 * test goes on so one run reports every failure. */
#ifndef UDVLA_TEST_CHECK_H
#define UDVLA_TEST_CHECK_H

#include <stdio.h>

#include "udvla.h"

static int check_failures = 0;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);         \
            check_failures++;                                                                \
        }                                                                                    \
    } while (0)

/* CHECK_STATUS runs call and checks it returns want; a failing status must leave a message, a
 * success an empty one. */
#define CHECK_STATUS(call, want)                                                              \
    do {                                                                                      \
        int got_ = (call);                                                                    \
        const char *msg_ = udvla_last_error();                                                \
        if (got_ != (want)) {                                                                 \
            fprintf(stderr, "%s:%d: %s returned %s, want %s (last error: %s)\n", __FILE__,    \
                    __LINE__, #call, udvla_status_string(got_), udvla_status_string(want), msg_); \
            check_failures++;                                                                 \
        } else if ((want) != UDVLA_OK && msg_[0] == '\0') {                                   \
            fprintf(stderr, "%s:%d: %s failed with an empty last error\n", __FILE__, __LINE__, #call); \
            check_failures++;                                                                 \
        } else if ((want) == UDVLA_OK && msg_[0] != '\0') {                                   \
            fprintf(stderr, "%s:%d: %s succeeded but left last error '%s'\n", __FILE__, __LINE__, #call, msg_); \
            check_failures++;                                                                 \
        }                                                                                     \
    } while (0)

#endif
