/* Reads the expected results that capi/golden writes (see its doc for the format) and compares
 * udvla results against them. Header-only, for the C and C++ tests. */
#ifndef UDVLA_TEST_GOLDEN_H
#define UDVLA_TEST_GOLDEN_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udvla.h"

typedef struct golden_ints {
    int32_t *v;
    size_t n;
} golden_ints;

typedef struct golden_case {
    uint64_t seed;
    int32_t steps, mode, mask, no_cache;
    golden_ints instruction;
    size_t num_cameras;
    golden_ints *codes;
    const int32_t **code_ptrs; /* for udvla_request.codes */
    size_t *code_counts;
    golden_ints region, future, tokens;
    int32_t eoa_found, actions_complete, generated;
    int32_t rows, dims;
    uint32_t *action_bits; /* rows*dims IEEE-754 bit patterns */
} golden_case;

static inline int golden_expect(FILE *f, const char *word) {
    char got[32];
    if (fscanf(f, "%31s", got) != 1 || strcmp(got, word) != 0) {
        fprintf(stderr, "golden: expected '%s', got '%s'\n", word, got);
        return -1;
    }
    return 0;
}

static inline int golden_read_ints(FILE *f, const char *word, golden_ints *out) {
    size_t n;
    if (golden_expect(f, word) != 0 || fscanf(f, "%zu", &n) != 1) return -1;
    out->n = n;
    out->v = (int32_t *)calloc(n ? n : 1, sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        long long x;
        if (fscanf(f, "%lld", &x) != 1) return -1;
        out->v[i] = (int32_t)x;
    }
    return 0;
}

/* golden_load reads a file into *cases (*count of them); returns 0 on success. */
static inline int golden_load(const char *path, golden_case **cases, size_t *count) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    int version;
    size_t n;
    if (golden_expect(f, "udvla-golden") != 0 || fscanf(f, "%d", &version) != 1 || version != 1 ||
        golden_expect(f, "cases") != 0 || fscanf(f, "%zu", &n) != 1) {
        fclose(f);
        return -1;
    }
    golden_case *cs = (golden_case *)calloc(n, sizeof *cs);
    for (size_t i = 0; i < n; i++) {
        golden_case *g = &cs[i];
        if (golden_expect(f, "case") != 0 ||
            fscanf(f, "%" SCNu64 " %" SCNd32 " %" SCNd32 " %" SCNd32 " %" SCNd32, &g->seed, &g->steps,
                   &g->mode, &g->mask, &g->no_cache) != 5 ||
            golden_read_ints(f, "instruction", &g->instruction) != 0 || golden_expect(f, "cameras") != 0 ||
            fscanf(f, "%zu", &g->num_cameras) != 1)
            goto bad;
        g->codes = (golden_ints *)calloc(g->num_cameras, sizeof *g->codes);
        g->code_ptrs = (const int32_t **)calloc(g->num_cameras, sizeof *g->code_ptrs);
        g->code_counts = (size_t *)calloc(g->num_cameras, sizeof *g->code_counts);
        for (size_t c = 0; c < g->num_cameras; c++) {
            if (golden_read_ints(f, "codes", &g->codes[c]) != 0) goto bad;
            g->code_ptrs[c] = g->codes[c].v;
            g->code_counts[c] = g->codes[c].n;
        }
        if (golden_read_ints(f, "region", &g->region) != 0 || golden_read_ints(f, "future", &g->future) != 0 ||
            golden_read_ints(f, "tokens", &g->tokens) != 0 || golden_expect(f, "flags") != 0 ||
            fscanf(f, "%" SCNd32 " %" SCNd32 " %" SCNd32, &g->eoa_found, &g->actions_complete, &g->generated) != 3 ||
            golden_expect(f, "actions") != 0 || fscanf(f, "%" SCNd32 " %" SCNd32, &g->rows, &g->dims) != 2)
            goto bad;
        size_t na = (size_t)g->rows * (size_t)g->dims;
        g->action_bits = (uint32_t *)calloc(na ? na : 1, sizeof(uint32_t));
        for (size_t k = 0; k < na; k++)
            if (fscanf(f, "%" SCNu32, &g->action_bits[k]) != 1) goto bad;
    }
    fclose(f);
    *cases = cs;
    *count = n;
    return 0;
bad:
    fprintf(stderr, "golden: %s is malformed\n", path);
    fclose(f);
    return -1;
}

static inline void golden_free(golden_case *cs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        golden_case *g = &cs[i];
        free(g->instruction.v);
        for (size_t c = 0; c < g->num_cameras && g->codes != NULL; c++) free(g->codes[c].v);
        free(g->codes);
        free(g->code_ptrs);
        free(g->code_counts);
        free(g->region.v);
        free(g->future.v);
        free(g->tokens.v);
        free(g->action_bits);
    }
    free(cs);
}

/* golden_request fills a request with a case's inputs (pointing into the case). */
static inline void golden_request(const golden_case *g, udvla_request *r) {
    udvla_request_init(r);
    r->mode = g->mode;
    r->instruction = g->instruction.n ? g->instruction.v : NULL;
    r->instruction_len = g->instruction.n;
    r->codes = g->code_ptrs;
    r->code_counts = g->code_counts;
    r->num_cameras = g->num_cameras;
    r->seed = g->seed;
    r->steps = g->steps;
    r->mask = g->mask;
    r->no_cache = g->no_cache;
}

static inline int golden_ints_equal(const char *what, const int32_t *got, size_t n_got, const golden_ints *want,
                             char *why, size_t why_len) {
    if (n_got != want->n) {
        snprintf(why, why_len, "%s: %zu elements, want %zu", what, n_got, want->n);
        return 0;
    }
    for (size_t i = 0; i < n_got; i++) {
        if (got[i] != want->v[i]) {
            snprintf(why, why_len, "%s[%zu] = %" PRId32 ", want %" PRId32, what, i, got[i], want->v[i]);
            return 0;
        }
    }
    return 1;
}

/* golden_matches compares a complete result (every buffer present) with a case; on a mismatch it
 * says why. check_generated also compares the generated-token count. */
static inline int golden_matches(const golden_case *g, const udvla_result *res, int check_generated, char *why,
                          size_t why_len) {
    if (!golden_ints_equal("region", res->region, res->region_len, &g->region, why, why_len) ||
        !golden_ints_equal("future_codes", res->future_codes, res->future_codes_len, &g->future, why, why_len) ||
        !golden_ints_equal("action_tokens", res->action_tokens, res->action_tokens_len, &g->tokens, why, why_len))
        return 0;
    if (res->eoa_found != g->eoa_found || res->actions_complete != g->actions_complete) {
        snprintf(why, why_len, "flags eoa %d complete %d, want %d %d", res->eoa_found, res->actions_complete,
                 g->eoa_found, g->actions_complete);
        return 0;
    }
    if (check_generated && res->generated != g->generated) {
        snprintf(why, why_len, "generated %d, want %d", res->generated, g->generated);
        return 0;
    }
    if (res->action_horizon != g->rows || res->action_dims != g->dims ||
        res->actions_len != (size_t)g->rows * (size_t)g->dims) {
        snprintf(why, why_len, "actions %dx%d (%zu), want %dx%d", res->action_horizon, res->action_dims,
                 res->actions_len, g->rows, g->dims);
        return 0;
    }
    for (size_t k = 0; k < res->actions_len; k++) {
        uint32_t bits;
        memcpy(&bits, &res->actions[k], sizeof bits);
        if (bits != g->action_bits[k]) {
            snprintf(why, why_len, "actions[%zu] bits %08" PRIx32 ", want %08" PRIx32, k, bits, g->action_bits[k]);
            return 0;
        }
    }
    return 1;
}

#endif
