// udvla.hpp: a header-only C++17 wrapper of the udvla C ABI (udvla.h, libudvla.so.1).
//
//   udvla::Engine engine("model.udvla");            // RAII: closed by the destructor
//   udvla::Request req;                               // instruction, per-camera codes, seed, ...
//   req.codes = {main_codes, wrist_codes};
//   udvla::Result res = engine.step(req);             // res.action(t, d), res.action_tokens, ...
//
// Failures throw udvla::Error, which carries the status (udvla::Status) and the library's
// message. A controller loop can reuse one RequestView and one Result: step(view, res) keeps the
// result's buffers, so steps after the first allocate nothing on the C++ side.
#ifndef UDVLA_HPP
#define UDVLA_HPP

#include <chrono>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "udvla.h"

namespace udvla {

// Status mirrors the UDVLA_ERR_* codes of udvla.h.
enum class Status : int {
    Ok = UDVLA_OK,
    NullPointer = UDVLA_ERR_NULL_POINTER,
    StructSize = UDVLA_ERR_STRUCT_SIZE,
    InvalidArgument = UDVLA_ERR_INVALID_ARGUMENT,
    OutOfRange = UDVLA_ERR_OUT_OF_RANGE,
    BufferTooSmall = UDVLA_ERR_BUFFER_TOO_SMALL,
    InvalidHandle = UDVLA_ERR_INVALID_HANDLE,
    Closed = UDVLA_ERR_CLOSED,
    NotFound = UDVLA_ERR_NOT_FOUND,
    Model = UDVLA_ERR_MODEL,
    Device = UDVLA_ERR_DEVICE,
    Unsupported = UDVLA_ERR_UNSUPPORTED,
    Engine = UDVLA_ERR_ENGINE,
    Internal = UDVLA_ERR_INTERNAL,
    Cancelled = UDVLA_ERR_CANCELLED,
    Forked = UDVLA_ERR_FORKED,
};

enum class Backend : int32_t { Vulkan = UDVLA_BACKEND_VULKAN, Reference = UDVLA_BACKEND_REFERENCE };
// AR is the release's AR baseline (unconstrained greedy, nothing pre-filled, for an AR checkpoint);
// ARRestricted greedy AR over each position's decoding space on a JD3P checkpoint.
enum class Mode : int32_t {
    JD3P = UDVLA_MODE_JD3P,
    ARRestricted = UDVLA_MODE_AR_RESTRICTED,
    ID = UDVLA_MODE_ID,
    AR = UDVLA_MODE_AR,
};
// ModelDefault (the zero value) runs the model file's rule: Release for every released checkpoint.
// Paper is an opt-in speed mode whose outputs differ from what the weights were trained for.
// Causal is only ever reported (ModelInfo's default_mask) for a checkpoint trained without a
// block mask; such a model runs Mode::AR and Mode::ARRestricted unless a request names Release or Paper.
enum class MaskRule : int32_t {
    ModelDefault = UDVLA_MASK_MODEL_DEFAULT,
    Release = UDVLA_MASK_RELEASE,
    Paper = UDVLA_MASK_PAPER,
    Causal = UDVLA_MASK_CAUSAL,
    ReleaseKV = UDVLA_MASK_RELEASE_KV, // the release's KV-cached variant (differs from Release)
};

// Error is a failed call: its status and the library's message.
class Error : public std::runtime_error {
public:
    Error(int status, const std::string &message)
        : std::runtime_error(std::string(udvla_status_string(status)) + ": " + message), status_(status) {}
    Status status() const noexcept { return static_cast<Status>(status_); }
    int code() const noexcept { return status_; }
    const char *status_name() const noexcept { return udvla_status_string(status_); }

private:
    int status_;
};

namespace detail {
inline void check(int status) {
    if (status != UDVLA_OK) throw Error(status, udvla_last_error());
}
} // namespace detail

// Span is a non-owning view of contiguous elements (std::span before C++20).
template <class T>
class Span {
public:
    constexpr Span() noexcept = default;
    constexpr Span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <class U, class A>
    Span(const std::vector<U, A> &v) noexcept : data_(v.data()), size_(v.size()) {}
    template <class U, class A>
    Span(std::vector<U, A> &v) noexcept : data_(v.data()), size_(v.size()) {}
    template <std::size_t N>
    constexpr Span(T (&a)[N]) noexcept : data_(a), size_(N) {}
    constexpr T *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    // operator[] is unchecked, as std::span's; at() throws std::out_of_range.
    constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }
    T &at(std::size_t i) const {
        if (i >= size_) throw std::out_of_range("udvla::Span::at: index " + std::to_string(i) + " outside size " + std::to_string(size_));
        return data_[i];
    }
    constexpr T *begin() const noexcept { return data_; }
    constexpr T *end() const noexcept { return data_ + size_; }

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

// ABI version of the loaded library; the header's is UDVLA_ABI_VERSION.
inline uint32_t abi_version() { return udvla_abi_version(); }
inline std::string version() { return udvla_version(); }

struct DeviceInfo {
    int index = 0;
    int type = 0; // UDVLA_DEVICE_*
    uint32_t vendor_id = 0, device_id = 0;
    bool usable = false, chosen = false;
    int subgroup_size = 0;
    uint64_t max_allocation_size = 0, device_local_bytes = 0;
    std::string name, vendor, driver, api_version;
};

// devices lists the Vulkan devices.
inline std::vector<DeviceInfo> devices() {
    size_t n = 0;
    detail::check(udvla_list_devices(nullptr, 0, &n));
    std::vector<udvla_device_info> raw(n);
    if (n > 0) {
        raw[0].struct_size = sizeof(udvla_device_info);
        detail::check(udvla_list_devices(raw.data(), raw.size(), &n));
    }
    std::vector<DeviceInfo> out;
    for (size_t i = 0; i < n && i < raw.size(); i++) {
        const udvla_device_info &d = raw[i];
        out.push_back(DeviceInfo{d.index, d.type, d.vendor_id, d.device_id, d.usable != 0, d.chosen != 0,
                                 d.subgroup_size, d.max_allocation_size, d.device_local_bytes, d.name, d.vendor,
                                 d.driver, d.api_version});
    }
    return out;
}

struct OpenOptions {
    Backend backend = Backend::Vulkan;
    std::string device;       // empty: UDVLA_DEVICE or the best device
    bool validate = false;    // the Khronos validation layer (UDVLA_VALIDATE=1 also turns it on)
    int max_instruction = 0;  // 0: 128
};

struct Camera {
    std::string name;
    int height = 0, width = 0;
    std::size_t size() const { return static_cast<std::size_t>(height) * static_cast<std::size_t>(width); }
};

// ModelInfo is udvla_model_info (architecture, vocabulary layout, decoding defaults, output sizes)
// with the cameras.
struct ModelInfo : udvla_model_info {
    std::vector<Camera> cameras;
    std::string backend_string() const { return backend_name; }
};

// StepParams are a request's settings besides its inputs.
struct StepParams {
    uint64_t seed = 0;
    int steps = 0; // 0: the model's default
    Mode mode = Mode::JD3P;
    MaskRule mask = MaskRule::ModelDefault; // the model's rule
    bool no_cache = false;
    // budget: JD3P stops before a step that would not finish in time and returns the last step's
    // sampled tokens, Result::early set; other modes throw once it has passed. 0: none.
    std::chrono::microseconds budget{0};
    int action_steps = 0; // Mode::ID's action loop; 0: the release's 28 (steps is its image loop)
    // future_frames: decode the future codes into Result::future_frames (needs a model with a
    // vision tokenizer)
    bool future_frames = false;
};

// FrameView is a camera frame the caller keeps alive during the step: RGB8, 3 bytes per pixel,
// row y at byte y * stride (0: 3 * width).
struct FrameView {
    uint32_t width = 0, height = 0, stride = 0;
    Span<const uint8_t> pixels;
};

// Frame is an RGB8 frame that owns its pixels (packed when stride is 0).
struct Frame {
    uint32_t width = 0, height = 0, stride = 0;
    std::vector<uint8_t> pixels;
    FrameView view() const { return FrameView{width, height, stride, pixels}; }
};

// RequestView refers to inputs the caller keeps alive during the step (no copies).
struct RequestView : StepParams {
    Span<const int32_t> instruction;
    const char *instruction_text = nullptr;
    std::vector<Span<const int32_t>> codes; // per camera, in the model's order
    // frames: per camera a frame the model's vision tokenizer turns into its codes, or nullopt
    // for a camera that takes codes (whose frame's camera then has empty codes). Empty: codes only.
    std::vector<std::optional<FrameView>> frames;
};

// Request owns its inputs.
struct Request : StepParams {
    std::vector<int32_t> instruction;
    std::string instruction_text;           // used when instruction is empty
    std::vector<std::vector<int32_t>> codes; // per camera, H*W row-major
    std::vector<std::optional<Frame>> frames; // per camera, or nullopt (see RequestView::frames)

    RequestView view() const {
        RequestView v;
        static_cast<StepParams &>(v) = *this;
        v.instruction = instruction;
        v.instruction_text = instruction_text.empty() ? nullptr : instruction_text.c_str();
        for (const auto &c : codes) v.codes.emplace_back(c);
        for (const auto &f : frames) v.frames.push_back(f ? std::optional<FrameView>(f->view()) : std::nullopt);
        return v;
    }
};

// Result holds a step's outputs. Its accessors check both indices and throw std::out_of_range.
struct Result {
    std::vector<int32_t> region;
    std::vector<int32_t> future_codes;  // cameras concatenated; -1 where not a visual token
    std::vector<int32_t> action_tokens;
    std::vector<float> actions;         // horizon x dims, row-major
    int horizon = 0, dims = 0;
    bool actions_complete = false, eoa_found = false;
    int generated = 0;
    std::chrono::nanoseconds total{0}, loop{0}, prefill{0}, gpu{0};
    bool early = false; // the budget stopped JD3P after steps_run steps: not a full run
    int steps_run = 0;  // decoding passes run (AR: tokens generated)
    // future_frames: with StepParams::future_frames, per camera the future codes decoded to a
    // packed RGB8 frame (a position whose token is not a visual code decodes as code 0)
    std::vector<Frame> future_frames;

    // action is the action of row t (0 <= t < horizon), column d (0 <= d < dims).
    float action(int t, int d) const {
        check_row(t, "action");
        if (d < 0 || d >= dims)
            throw std::out_of_range("udvla::Result::action: column " + std::to_string(d) + " outside [0, " +
                                    std::to_string(dims) + ")");
        return actions[static_cast<std::size_t>(t) * static_cast<std::size_t>(dims) + static_cast<std::size_t>(d)];
    }
    // action_row is row t (0 <= t < horizon): dims floats.
    Span<const float> action_row(int t) const {
        check_row(t, "action_row");
        return Span<const float>(actions.data() + static_cast<std::size_t>(t) * static_cast<std::size_t>(dims),
                                 static_cast<std::size_t>(dims));
    }

private:
    // check_row also refuses a row that actions do not hold in full (a result whose fields were
    // set by hand), so that no index reaches past the vector.
    void check_row(int t, const char *what) const {
        if (t < 0 || t >= horizon)
            throw std::out_of_range(std::string("udvla::Result::") + what + ": row " + std::to_string(t) +
                                    " outside [0, " + std::to_string(horizon) + ")");
        if (dims < 0 || actions.size() / static_cast<std::size_t>(dims > 0 ? dims : 1) <= static_cast<std::size_t>(t))
            throw std::out_of_range(std::string("udvla::Result::") + what + ": row " + std::to_string(t) +
                                    " is not in the " + std::to_string(actions.size()) + " action values");
    }
};

// Engine is an open model: RAII over a udvla_engine handle. Its methods are thread-safe (steps on
// one engine run one at a time). Moved-from engines hold no handle.
class Engine {
public:
    explicit Engine(const std::string &model_path, const OpenOptions &options = OpenOptions()) {
        udvla_open_options o;
        udvla_open_options_init(&o);
        o.backend = static_cast<int32_t>(options.backend);
        o.device = options.device.empty() ? nullptr : options.device.c_str();
        o.validate = options.validate ? UDVLA_VALIDATE_ON : UDVLA_VALIDATE_FROM_ENV;
        o.max_instruction = options.max_instruction;
        detail::check(udvla_open(model_path.c_str(), &o, &handle_));
        try {
            load_info();
        } catch (...) {
            udvla_close(handle_);
            throw;
        }
    }
    ~Engine() {
        if (!closed_) udvla_close(handle_);
    }
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;
    Engine(Engine &&o) noexcept
        : handle_(std::exchange(o.handle_, 0)), closed_(std::exchange(o.closed_, false)), info_(std::move(o.info_)) {}
    Engine &operator=(Engine &&o) noexcept {
        if (this != &o) {
            if (!closed_) udvla_close(handle_);
            handle_ = std::exchange(o.handle_, 0);
            closed_ = std::exchange(o.closed_, false);
            info_ = std::move(o.info_);
        }
        return *this;
    }

    // close frees the engine now (a second close does nothing); later steps throw
    // Error(Status::Closed). A moved-from engine holds no handle: its steps throw
    // Error(Status::InvalidHandle).
    void close() {
        if (closed_) return;
        closed_ = true;
        detail::check(udvla_close(handle_));
    }
    bool closed() const noexcept { return closed_; }

    // cancel makes the steps in progress on this engine, or waiting for it, throw
    // Error(Status::Cancelled) at their next denoising step. Call it from another thread; steps
    // started later run normally and the engine stays usable.
    void cancel() { detail::check(udvla_cancel(handle_)); }

    // validation_messages counts the Vulkan validation messages of the engine's device since it was
    // opened (zero unless validation is on).
    uint64_t validation_messages() const {
        uint64_t n = 0;
        detail::check(udvla_validation_messages(handle_, &n));
        return n;
    }

    udvla_engine handle() const noexcept { return handle_; }
    const ModelInfo &info() const noexcept { return info_; }

    Result step(const Request &req) { return step(req.view()); }
    Result step(const RequestView &req) {
        Result r;
        step(req, r);
        return r;
    }
    void step(const Request &req, Result &out) { step(req.view(), out); }

    // step runs one control step into out, reusing its buffers (no allocation once they have grown
    // to the model's sizes).
    void step(const RequestView &req, Result &out) {
        // the per-camera arrays live on the stack for the usual few cameras
        constexpr std::size_t inline_cameras = 8;
        const int32_t *ptr_buf[inline_cameras];
        size_t count_buf[inline_cameras];
        std::vector<const int32_t *> ptr_heap;
        std::vector<size_t> count_heap;
        const int32_t **ptrs = ptr_buf;
        size_t *counts = count_buf;
        if (req.codes.size() > inline_cameras) {
            ptr_heap.resize(req.codes.size());
            count_heap.resize(req.codes.size());
            ptrs = ptr_heap.data();
            counts = count_heap.data();
        }
        for (std::size_t c = 0; c < req.codes.size(); c++) {
            ptrs[c] = req.codes[c].data();
            counts[c] = req.codes[c].size();
        }
        std::vector<udvla_frame> frame_structs(req.frames.size());
        std::vector<const udvla_frame *> frame_ptrs(req.frames.size(), nullptr);
        for (std::size_t c = 0; c < req.frames.size(); c++) {
            if (!req.frames[c]) continue;
            udvla_frame_init(&frame_structs[c]);
            frame_structs[c].width = req.frames[c]->width;
            frame_structs[c].height = req.frames[c]->height;
            frame_structs[c].stride = req.frames[c]->stride;
            frame_structs[c].pixels = req.frames[c]->pixels.data();
            frame_structs[c].pixels_len = req.frames[c]->pixels.size();
            frame_ptrs[c] = &frame_structs[c];
        }
        udvla_request r;
        udvla_request_init(&r);
        r.mode = static_cast<int32_t>(req.mode);
        r.instruction = req.instruction.data();
        r.instruction_len = req.instruction.size();
        r.instruction_text = req.instruction_text;
        r.codes = req.codes.empty() ? nullptr : ptrs;
        r.code_counts = req.codes.empty() ? nullptr : counts;
        r.num_cameras = req.codes.size();
        if (!req.frames.empty()) {
            r.frames = frame_ptrs.data();
            r.num_cameras = req.frames.size();
        }
        r.decode_future = req.future_frames ? 1 : 0;
        r.seed = req.seed;
        r.steps = req.steps;
        r.mask = static_cast<int32_t>(req.mask);
        r.no_cache = req.no_cache ? 1 : 0;
        r.budget_us = req.budget.count() > 0 ? static_cast<uint64_t>(req.budget.count()) : 0;
        r.action_steps = req.action_steps;

        out.region.resize(info_.region_size);
        out.future_codes.resize(info_.future_codes_size);
        out.action_tokens.resize(info_.action_tokens_max);
        out.actions.resize(info_.actions_size);
        udvla_result res;
        udvla_result_init(&res);
        res.region = out.region.data();
        res.region_capacity = out.region.size();
        res.future_codes = out.future_codes.data();
        res.future_codes_capacity = out.future_codes.size();
        res.action_tokens = out.action_tokens.data();
        res.action_tokens_capacity = out.action_tokens.size();
        res.actions = out.actions.data();
        res.actions_capacity = out.actions.size();
        std::vector<uint8_t> pixels;
        if (req.future_frames) {
            // the library names the bytes the frames take when a one-byte buffer is too small,
            // before anything runs; a request refused for another reason reports it in the step
            uint8_t probe = 0;
            res.future_frames = &probe;
            res.future_frames_capacity = 1;
            (void)udvla_step(handle_, &r, &res);
            pixels.resize(res.future_frames_len);
            res.future_frames = pixels.empty() ? nullptr : pixels.data();
            res.future_frames_capacity = pixels.size();
        }
        detail::check(udvla_step(handle_, &r, &res));
        out.future_frames.clear();
        if (!pixels.empty()) split_frames(pixels, out.future_frames);
        out.region.resize(res.region_len);
        out.future_codes.resize(res.future_codes_len);
        out.action_tokens.resize(res.action_tokens_len);
        out.actions.resize(res.actions_len);
        out.horizon = res.action_horizon;
        out.dims = res.action_dims;
        out.actions_complete = res.actions_complete != 0;
        out.eoa_found = res.eoa_found != 0;
        out.generated = res.generated;
        out.total = std::chrono::nanoseconds(res.total_ns);
        out.loop = std::chrono::nanoseconds(res.loop_ns);
        out.prefill = std::chrono::nanoseconds(res.prefill_ns);
        out.gpu = std::chrono::nanoseconds(res.gpu_ns);
        out.early = res.early != 0;
        out.steps_run = res.steps_run;
    }

    // live_engines is the number of engines open in this process.
    static uint64_t live_engines() { return udvla_live_engines(); }

private:
    // split_frames cuts the future frames' bytes per camera: camera c is (H*f) x (W*f) pixels for
    // its H x W codes, f the vision tokenizer's spatial factor, found from the bytes per code.
    void split_frames(const std::vector<uint8_t> &pixels, std::vector<Frame> &out) const {
        std::size_t area = 0;
        for (const auto &c : info_.cameras) area += c.size();
        if (area == 0) return;
        const auto f = static_cast<uint32_t>(std::lround(std::sqrt(static_cast<double>(pixels.size() / (3 * area)))));
        std::size_t at = 0;
        for (const auto &c : info_.cameras) {
            Frame fr;
            fr.width = static_cast<uint32_t>(c.width) * f;
            fr.height = static_cast<uint32_t>(c.height) * f;
            const std::size_t n = 3 * static_cast<std::size_t>(fr.width) * fr.height;
            if (at + n > pixels.size()) break;
            fr.pixels.assign(pixels.begin() + static_cast<std::ptrdiff_t>(at), pixels.begin() + static_cast<std::ptrdiff_t>(at + n));
            at += n;
            out.push_back(std::move(fr));
        }
    }

    void load_info() {
        udvla_model_info_init(&info_);
        detail::check(udvla_get_model_info(handle_, &info_));
        info_.cameras.clear();
        for (int32_t c = 0; c < info_.num_cameras; c++) {
            udvla_camera_info ci;
            udvla_camera_info_init(&ci);
            detail::check(udvla_get_camera_info(handle_, static_cast<size_t>(c), &ci));
            info_.cameras.push_back(Camera{ci.name, ci.height, ci.width});
        }
    }

    udvla_engine handle_ = 0;
    bool closed_ = false;
    ModelInfo info_{};
};

} // namespace udvla

#endif
