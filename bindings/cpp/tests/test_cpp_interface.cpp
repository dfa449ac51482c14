// Tests of udvla.hpp's accessors and cancellation: every index outside a result's horizon x dims
// throws std::out_of_range, and Engine::cancel from another thread makes a long step throw
// Error(Status::Cancelled) while the engine stays usable.
// Usage: test_cpp_interface MODEL GOLDEN
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "golden.h"
#include "golden_request.hpp"
#include "udvla.hpp"

namespace {

// expect_out_of_range runs f and checks it throws std::out_of_range.
template <class F>
void expect_out_of_range(const char *what, F f) {
    try {
        f();
        std::fprintf(stderr, "%s: no exception, want std::out_of_range\n", what);
        check_failures++;
    } catch (const std::out_of_range &) {
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s, want std::out_of_range\n", what, e.what());
        check_failures++;
    }
}

void test_accessors(udvla::Engine &e, const golden_case &g) {
    udvla::Result r = e.step(to_request(g));
    const int h = r.horizon, d = r.dims;
    CHECK(h > 1 && d > 1);
    for (int t = 0; t < h; t++) {
        udvla::Span<const float> row = r.action_row(t);
        CHECK(row.size() == static_cast<std::size_t>(d));
        for (int j = 0; j < d; j++) {
            CHECK(r.action(t, j) == r.actions[static_cast<std::size_t>(t * d + j)]);
            CHECK(row.at(static_cast<std::size_t>(j)) == r.action(t, j));
        }
    }
    // each of these once landed on another element of the flat array
    expect_out_of_range("action(0, dims)", [&] { r.action(0, d); });
    expect_out_of_range("action(1, -1)", [&] { r.action(1, -1); });
    expect_out_of_range("action(-1, 0)", [&] { r.action(-1, 0); });
    expect_out_of_range("action(horizon, 0)", [&] { r.action(h, 0); });
    expect_out_of_range("action(horizon - 1, dims)", [&] { r.action(h - 1, d); });
    expect_out_of_range("action_row(horizon)", [&] { r.action_row(h); });
    expect_out_of_range("action_row(-1)", [&] { r.action_row(-1); });
    expect_out_of_range("action_row(0).at(dims)", [&] { r.action_row(0).at(static_cast<std::size_t>(d)); });
    // a result filled by hand with fewer values than its shape says
    udvla::Result hand = r;
    hand.actions.resize(static_cast<std::size_t>(d));
    CHECK(hand.action(0, d - 1) == r.action(0, d - 1));
    expect_out_of_range("action(1, 0) of a short result", [&] { hand.action(1, 0); });
    expect_out_of_range("action_row(1) of a short result", [&] { hand.action_row(1); });
    // an empty result has no rows
    udvla::Result empty;
    expect_out_of_range("action(0, 0) of an empty result", [&] { empty.action(0, 0); });
    expect_out_of_range("action_row(0) of an empty result", [&] { empty.action_row(0); });
}

void test_cancel(udvla::Engine &e, const golden_case &g) {
    e.cancel(); // nothing in progress: no effect
    udvla::Request req = to_request(g);
    udvla::Result before = e.step(req);

    udvla::Request long_req = to_request(g);
    long_req.steps = 1024;
    long_req.no_cache = true;
    std::atomic<bool> done{false};
    int status = -1;
    std::string message;
    std::thread worker([&] {
        try {
            e.step(long_req);
            status = UDVLA_OK;
        } catch (const udvla::Error &err) {
            status = err.code();
            message = err.what();
        }
        done = true;
    });
    // a cancel issued before the step has started finds nothing to stop: repeat until it returns
    while (!done) {
        e.cancel();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    worker.join();
    if (status != UDVLA_ERR_CANCELLED) {
        std::fprintf(stderr, "cancelled step: status %s (%s), want UDVLA_ERR_CANCELLED\n", udvla_status_string(status),
                     message.c_str());
        check_failures++;
    }
    CHECK(static_cast<udvla::Status>(status) == udvla::Status::Cancelled);

    udvla::Result after = e.step(req);
    CHECK(after.region == before.region && after.actions == before.actions);
    CHECK(e.validation_messages() == 0);
    e.close();
    try {
        e.cancel();
        std::fprintf(stderr, "cancel after close: no exception\n");
        check_failures++;
    } catch (const udvla::Error &err) {
        CHECK(err.status() == udvla::Status::Closed);
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL GOLDEN\n", argv[0]);
        return 2;
    }
    golden_case *cs = nullptr;
    size_t n = 0;
    if (golden_load(argv[2], &cs, &n) != 0 || n == 0) return 1;
    {
        udvla::Engine e(argv[1]);
        size_t with_actions = 0; // a case whose result has at least 2 x 2 actions
        while (with_actions + 1 < n && (cs[with_actions].rows < 2 || cs[with_actions].dims < 2)) with_actions++;
        test_accessors(e, cs[with_actions]);
        test_cancel(e, cs[0]);
    }
    golden_free(cs, n);
    if (check_failures) {
        std::fprintf(stderr, "test_cpp_interface: %d failure(s)\n", check_failures);
        return 1;
    }
    std::printf("test_cpp_interface: ok\n");
    return 0;
}
