// Runs one control step through the installed udvla.hpp: consumer MODEL
#include <cstdio>
#include <random>

#include <udvla.hpp>

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    try {
        udvla::Engine engine(argv[1]);
        std::mt19937 rng(7);
        udvla::Request req;
        for (const auto &cam : engine.info().cameras) {
            std::vector<int32_t> codes(cam.size());
            for (auto &x : codes) x = static_cast<int32_t>(rng() % static_cast<unsigned>(engine.info().vocab.codebook_size));
            req.codes.push_back(codes);
        }
        req.instruction = {5, 6, 7};
        req.seed = 99;
        req.steps = 2;
        udvla::Result r = engine.step(req);
        std::printf("udvla %s via find_package: %zu action tokens, actions %dx%d, %.2f ms\n", udvla::version().c_str(),
                    r.action_tokens.size(), r.horizon, r.dims, static_cast<double>(r.total.count()) / 1e6);
        return r.region.size() == engine.info().region_size ? 0 : 1;
    } catch (const udvla::Error &e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
}
