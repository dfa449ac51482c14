// example_controller: a robot-controller loop on udvla. It loads a model, then at a fixed rate
// reads the cameras (here: random visual codes standing in for the image tokenizer), runs one
// control step, and prints the first action of the chunk; at the end it prints the latency
// percentiles and the deadlines missed.
//
//   example_controller [--model PATH] [--hz 10] [--ticks 30] [--steps T] [--backend vulkan|reference]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "udvla.hpp"

#ifndef UDVLA_EXAMPLE_MODEL
#define UDVLA_EXAMPLE_MODEL "testdata/tiny.udvla"
#endif

namespace {

struct Args {
    std::string model = UDVLA_EXAMPLE_MODEL;
    double hz = 10;
    int ticks = 30;
    int steps = 0;
    udvla::Backend backend = udvla::Backend::Vulkan;
};

[[noreturn]] void usage(const char *prog) {
    std::fprintf(stderr, "usage: %s [--model PATH] [--hz RATE] [--ticks N] [--steps T] [--backend vulkan|reference]\n",
                 prog);
    std::exit(2);
}

Args parse(int argc, char **argv) {
    Args a;
    for (int i = 1; i < argc; i++) {
        std::string k = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        std::string v = argv[++i];
        if (k == "--model") a.model = v;
        else if (k == "--hz") a.hz = std::atof(v.c_str());
        else if (k == "--ticks") a.ticks = std::atoi(v.c_str());
        else if (k == "--steps") a.steps = std::atoi(v.c_str());
        else if (k == "--backend" && v == "vulkan") a.backend = udvla::Backend::Vulkan;
        else if (k == "--backend" && v == "reference") a.backend = udvla::Backend::Reference;
        else usage(argv[0]);
    }
    if (!(a.hz > 0) || a.ticks <= 0) usage(argv[0]);
    return a;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

} // namespace

int main(int argc, char **argv) {
    Args args = parse(argc, argv);
    try {
        udvla::OpenOptions opts;
        opts.backend = args.backend;
        udvla::Engine engine(args.model, opts);
        const udvla::ModelInfo &info = engine.info();
        std::printf("udvla %s (ABI %u), %s\n", udvla::version().c_str(), udvla::abi_version(),
                    info.backend_string().c_str());
        std::printf("model %s: %d layers, hidden %d; cameras:", args.model.c_str(), info.layers, info.hidden);
        for (const auto &c : info.cameras) std::printf(" %s %dx%d", c.name.c_str(), c.height, c.width);
        std::printf("; actions %dx%d\n", info.action_horizon, info.action_dims);

        // the camera frames: one code buffer per camera, refilled every tick
        std::mt19937 rng(12345);
        std::uniform_int_distribution<int32_t> code(0, info.vocab.codebook_size - 1);
        std::uniform_int_distribution<int32_t> word(0, info.vocab.text_size - 1);
        std::vector<std::vector<int32_t>> frames;
        for (const auto &c : info.cameras) frames.emplace_back(c.size());
        std::vector<int32_t> instruction(6);
        for (auto &t : instruction) t = word(rng);

        udvla::RequestView req;
        req.instruction = instruction;
        for (const auto &f : frames) req.codes.emplace_back(f);
        req.steps = args.steps;
        udvla::Result res;

        using clock = std::chrono::steady_clock;
        const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / args.hz));
        std::vector<double> latency_ms;
        int missed = 0;
        auto next = clock::now();
        for (int tick = 0; tick < args.ticks; tick++) {
            for (auto &f : frames)
                for (auto &x : f) x = code(rng);
            req.seed = static_cast<uint64_t>(tick);
            auto t0 = clock::now();
            engine.step(req, res);
            double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
            latency_ms.push_back(ms);
            std::printf("tick %3d  %7.2f ms  %2zu action tokens%s  a[0] =", tick, ms, res.action_tokens.size(),
                        res.actions_complete ? "" : " (incomplete chunk)");
            if (res.dims > 0)
                for (float x : res.action_row(0)) std::printf(" %+.4f", static_cast<double>(x));
            else
                std::printf(" (the model packs no action tokenizer)");
            std::printf("\n");
            next += period;
            if (clock::now() > next) {
                missed++;
                next = clock::now(); // skip ahead rather than burst to catch up
            } else {
                std::this_thread::sleep_until(next);
            }
        }
        std::printf("latency over %d steps at %.1f Hz: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %d deadline(s) missed\n",
                    args.ticks, args.hz, percentile(latency_ms, 50), percentile(latency_ms, 90),
                    percentile(latency_ms, 99), percentile(latency_ms, 100), missed);
    } catch (const udvla::Error &e) {
        std::fprintf(stderr, "example_controller: %s\n", e.what());
        return 1;
    }
    return 0;
}
