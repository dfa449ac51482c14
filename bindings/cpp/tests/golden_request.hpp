// to_request: a golden case's inputs as a udvla::Request, for the C++ tests.
#ifndef UDVLA_TEST_GOLDEN_REQUEST_HPP
#define UDVLA_TEST_GOLDEN_REQUEST_HPP

#include "golden.h"
#include "udvla.hpp"

inline udvla::Request to_request(const golden_case &g) {
    udvla::Request r;
    r.instruction.assign(g.instruction.v, g.instruction.v + g.instruction.n);
    for (size_t c = 0; c < g.num_cameras; c++) r.codes.emplace_back(g.codes[c].v, g.codes[c].v + g.codes[c].n);
    r.seed = g.seed;
    r.steps = g.steps;
    r.mode = static_cast<udvla::Mode>(g.mode);
    r.mask = static_cast<udvla::MaskRule>(g.mask);
    r.no_cache = g.no_cache != 0;
    return r;
}

#endif
