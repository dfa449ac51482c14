/* A udvla_result whose output buffers are sized from the model's info, for the C tests. */
#ifndef UDVLA_TEST_RESULT_BUFFERS_H
#define UDVLA_TEST_RESULT_BUFFERS_H

#include <stdint.h>
#include <stdlib.h>

#include "udvla.h"

typedef struct buffers {
    int32_t *region, *future, *tokens;
    float *actions;
    udvla_result res;
} buffers;

static inline void buffers_make(buffers *b, const udvla_model_info *mi) {
    b->region = calloc(mi->region_size, sizeof(int32_t));
    b->future = calloc(mi->future_codes_size, sizeof(int32_t));
    b->tokens = calloc(mi->action_tokens_max, sizeof(int32_t));
    b->actions = calloc(mi->actions_size ? mi->actions_size : 1, sizeof(float));
    udvla_result_init(&b->res);
    b->res.region = b->region;
    b->res.region_capacity = mi->region_size;
    b->res.future_codes = b->future;
    b->res.future_codes_capacity = mi->future_codes_size;
    b->res.action_tokens = b->tokens;
    b->res.action_tokens_capacity = mi->action_tokens_max;
    b->res.actions = b->actions;
    b->res.actions_capacity = mi->actions_size;
}

static inline void buffers_free(buffers *b) {
    free(b->region);
    free(b->future);
    free(b->tokens);
    free(b->actions);
}

#endif
