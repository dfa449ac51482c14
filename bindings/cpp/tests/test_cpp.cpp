// Tests of udvla.hpp: results equal the Go engine's (the golden file) through Request and
// RequestView, a reused Result keeps its buffers, failures throw Error with the documented status,
// and engines close when they go out of scope.
// Usage: test_cpp MODEL GOLDEN
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "golden.h"
#include "golden_request.hpp"
#include "udvla.hpp"

namespace {

// expect_error runs f and checks it throws udvla::Error with status want and a message.
template <class F>
void expect_error(const char *what, udvla::Status want, F f) {
    try {
        f();
        std::fprintf(stderr, "%s: no exception, want %s\n", what, udvla_status_string(static_cast<int>(want)));
        check_failures++;
    } catch (const udvla::Error &e) {
        if (e.status() != want || std::strlen(e.what()) < 20) {
            std::fprintf(stderr, "%s: %s, want %s\n", what, e.what(), udvla_status_string(static_cast<int>(want)));
            check_failures++;
        }
    }
}

// matches compares a Result with a case through golden_matches.
bool matches(const golden_case &g, udvla::Result &r) {
    udvla_result res;
    udvla_result_init(&res);
    res.region = r.region.data();
    res.region_len = r.region.size();
    res.future_codes = r.future_codes.data();
    res.future_codes_len = r.future_codes.size();
    res.action_tokens = r.action_tokens.data();
    res.action_tokens_len = r.action_tokens.size();
    res.actions = r.actions.data();
    res.actions_len = r.actions.size();
    res.action_horizon = r.horizon;
    res.action_dims = r.dims;
    res.actions_complete = r.actions_complete;
    res.eoa_found = r.eoa_found;
    res.generated = r.generated;
    char why[256];
    if (!golden_matches(&g, &res, 1, why, sizeof why)) {
        std::fprintf(stderr, "mismatch: %s\n", why);
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL GOLDEN\n", argv[0]);
        return 2;
    }
    const std::string model = argv[1];
    golden_case *cs = nullptr;
    size_t n = 0;
    if (golden_load(argv[2], &cs, &n) != 0) return 1;

    CHECK(udvla::abi_version() == UDVLA_ABI_VERSION);
    auto devs = udvla::devices();
    CHECK(!devs.empty());
    int chosen = 0;
    for (const auto &d : devs) chosen += d.chosen;
    CHECK(chosen == 1);

    {
        udvla::Engine e(model);
        const udvla::ModelInfo &info = e.info();
        CHECK(info.cameras.size() == cs[0].num_cameras);
        for (size_t c = 0; c < info.cameras.size(); c++) CHECK(info.cameras[c].size() == cs[0].codes[c].n);
        CHECK(info.backend_string().rfind("vulkan", 0) == 0);
        CHECK(udvla::Engine::live_engines() == 1);

        udvla::Result reused;
        const int32_t *region_data = nullptr;
        for (size_t i = 0; i < n; i++) {
            udvla::Request req = to_request(cs[i]);
            udvla::Result r = e.step(req);
            CHECK(matches(cs[i], r));
            CHECK(r.total.count() > 0);
            e.step(req.view(), reused);
            CHECK(matches(cs[i], reused));
            if (i == 0) region_data = reused.region.data();
            CHECK(reused.region.data() == region_data); // buffers kept between steps
        }
        // A default-constructed request runs the model's rule: tiny.udvla, the conversion of a
        // checkpoint whose config.json sets use_blockwise_attn_mask, records release.
        CHECK(info.default_mask == UDVLA_MASK_RELEASE);
        CHECK(udvla::StepParams{}.mask == udvla::MaskRule::ModelDefault);
        bool paper_differs = false;
        for (size_t i = 0; i < n && i < 3; i++) {
            udvla::Request req = to_request(cs[i]);
            req.mask = udvla::StepParams{}.mask;
            udvla::Result dflt = e.step(req);
            req.mask = udvla::MaskRule::Release;
            CHECK(e.step(req).region == dflt.region);
            req.mask = udvla::MaskRule::Paper;
            paper_differs = paper_differs || e.step(req).region != dflt.region;
        }
        CHECK(paper_differs);
        if (n > 0 && cs[0].rows > 0) {
            udvla::Result r = e.step(to_request(cs[0]));
            CHECK(r.action(1, 2) == r.actions[static_cast<size_t>(r.dims) + 2]);
            CHECK(r.action_row(1)[0] == r.action(1, 0));
        }

        // failures carry their status
        expect_error("missing model", udvla::Status::NotFound, [] { udvla::Engine("/nonexistent/model.udvla"); });
        expect_error("unknown device", udvla::Status::Device, [&] {
            udvla::OpenOptions o;
            o.device = "no-such-device-anywhere";
            udvla::Engine x(model, o);
        });
        udvla::Request bad = to_request(cs[0]);
        bad.codes.back().back() = info.vocab.codebook_size;
        expect_error("code outside the codebook", udvla::Status::OutOfRange, [&] { e.step(bad); });
        bad = to_request(cs[0]);
        bad.instruction.push_back(-3);
        expect_error("negative token", udvla::Status::OutOfRange, [&] { e.step(bad); });
        bad = to_request(cs[0]);
        bad.codes.pop_back();
        expect_error("a camera missing", udvla::Status::InvalidArgument, [&] { e.step(bad); });
        bad = to_request(cs[0]);
        bad.codes[0].pop_back();
        expect_error("a code missing", udvla::Status::InvalidArgument, [&] { e.step(bad); });
        bad = to_request(cs[0]);
        bad.mode = static_cast<udvla::Mode>(9);
        expect_error("unknown mode", udvla::Status::OutOfRange, [&] { e.step(bad); });
        if (!info.has_text_vocab) {
            bad = to_request(cs[0]);
            bad.instruction.clear();
            bad.instruction_text = "open the drawer";
            expect_error("text without a text vocabulary", udvla::Status::Unsupported, [&] { e.step(bad); });
        }

        // a budget below one step: the first step's tokens, marked early; a generous one: the
        // golden result, not marked
        for (size_t i = 0; i < n; i++) {
            if (cs[i].mode != UDVLA_MODE_JD3P || cs[i].steps < 2) continue;
            udvla::Request req = to_request(cs[i]);
            req.budget = std::chrono::microseconds(1);
            udvla::Result early = e.step(req);
            CHECK(early.early && early.steps_run == 1);
            req.budget = std::chrono::microseconds(600000000);
            udvla::Result full = e.step(req);
            CHECK(!full.early && full.steps_run == cs[i].steps && matches(cs[i], full));
            break;
        }

        // camera frames in (owned, and viewed with padded rows), future frames out; a bad frame
        // throws with its status and the engine goes on with the same result
        {
            udvla::Request fr;
            fr.instruction = {40, 50, 60};
            fr.seed = 9;
            fr.future_frames = true;
            uint32_t lcg = 7;
            auto noise = [&lcg](uint32_t w, uint32_t h) {
                udvla::Frame f;
                f.width = w;
                f.height = h;
                f.pixels.resize(3u * w * h);
                for (auto &p : f.pixels) p = static_cast<uint8_t>((lcg = lcg * 1664525u + 1013904223u) >> 24);
                return f;
            };
            fr.frames = {noise(23, 17), noise(6, 6)};
            udvla::Result a = e.step(fr);
            CHECK(a.future_frames.size() == 2);
            if (a.future_frames.size() == 2) {
                CHECK(a.future_frames[0].width == 10 && a.future_frames[0].height == 10 && a.future_frames[0].pixels.size() == 300);
                CHECK(a.future_frames[1].width == 6 && a.future_frames[1].pixels.size() == 108);
            }
            std::vector<uint8_t> padded;
            for (uint32_t y = 0; y < 17; y++) {
                const auto row = fr.frames[0]->pixels.begin() + static_cast<std::ptrdiff_t>(69 * y);
                padded.insert(padded.end(), row, row + 69);
                padded.insert(padded.end(), 4, uint8_t{0x7f});
            }
            udvla::RequestView v = fr.view();
            v.frames[0] = udvla::FrameView{23, 17, 73, padded};
            udvla::Result b = e.step(v);
            CHECK(b.region == a.region);
            CHECK(b.future_frames.size() == 2 && b.future_frames[0].pixels == a.future_frames[0].pixels);
            udvla::RequestView bad = v;
            bad.frames[1] = udvla::FrameView{6, 6, 0, udvla::Span<const uint8_t>(padded.data(), 107)};
            expect_error("a short frame", udvla::Status::InvalidArgument, [&] { e.step(bad); });
            bad = v;
            bad.frames[1] = udvla::FrameView{6, 6, 0, udvla::Span<const uint8_t>()};
            expect_error("a NULL frame", udvla::Status::NullPointer, [&] { e.step(bad); });
            udvla::RequestView mixed = fr.view();
            std::vector<int32_t> wrist_codes(9, 3);
            mixed.frames[1] = std::nullopt;
            mixed.codes = {udvla::Span<const int32_t>(), wrist_codes};
            mixed.future_frames = false;
            CHECK(e.step(mixed).future_frames.empty());
            CHECK(e.step(fr).region == a.region);
        }

        // moving hands the handle over; the moved-from engine holds none
        udvla::Engine moved = std::move(e);
        CHECK(e.handle() == 0);
        CHECK(moved.handle() != 0);
        expect_error("step on a moved-from engine", udvla::Status::InvalidHandle, [&] { e.step(to_request(cs[0])); });
        udvla::Result r = moved.step(to_request(cs[0]));
        CHECK(matches(cs[0], r));
        CHECK(udvla::Engine::live_engines() == 1);

        // the reference backend agrees with the Vulkan engine
        udvla::OpenOptions ro;
        ro.backend = udvla::Backend::Reference;
        udvla::Engine ref(model, ro);
        CHECK(ref.info().backend == UDVLA_BACKEND_REFERENCE);
        udvla::Result rr = ref.step(to_request(cs[0]));
        CHECK(rr.region == r.region && rr.actions == r.actions);
        CHECK(udvla::Engine::live_engines() == 2);
        ref.close();
        ref.close(); // a second close does nothing
        CHECK(ref.closed());
        CHECK(udvla::Engine::live_engines() == 1);
        expect_error("step after close", udvla::Status::Closed, [&] { ref.step(to_request(cs[0])); });
    }
    CHECK(udvla::Engine::live_engines() == 0);
    golden_free(cs, n);
    if (check_failures) {
        std::fprintf(stderr, "test_cpp: %d failure(s)\n", check_failures);
        return 1;
    }
    std::printf("test_cpp: ok (%zu golden cases)\n", n);
    return 0;
}
