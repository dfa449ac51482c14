/*
 * udvla.h: the C ABI of libudvla.so.1, the UD-VLA robot-policy engine.
 *
 * One control step: give the engine the instruction (text token ids, or text when the model packs a
 * text vocabulary) and the visual codes of each camera; it denoises the future-image tokens and the
 * action tokens together and returns the generated region, the future image codes, the action
 * tokens and the decoded action chunk (horizon x dims float32).
 *
 * Conventions
 * - Every function that can fail returns a status (UDVLA_OK or a UDVLA_ERR_* code below) and leaves
 *   a message for udvla_last_error() on the calling thread. No function aborts, crashes or leaks
 *   on bad input: null pointers, wrong struct sizes, short buffers, out-of-range ids, unknown and
 *   closed handles all return a status. Any of them may also return UDVLA_ERR_INTERNAL: a defect
 *   inside the library, caught and reported instead of taking the process down.
 * - Engines are opaque integer handles (udvla_engine). 0 is never a valid handle and handles are
 *   never reused, so a closed handle is always recognised (UDVLA_ERR_CLOSED).
 * - Every struct the caller passes begins with struct_size: set it to sizeof the struct (the
 *   udvla_*_init helpers below do). A struct_size this library does not know gives
 *   UDVLA_ERR_STRUCT_SIZE; later ABI versions only append fields and keep accepting older sizes.
 * - All functions are thread-safe. Steps on one engine run one at a time (concurrent calls queue);
 *   different engines run in parallel.
 * - Counts are in elements, not bytes. Token ids and codes are int32_t, actions float.
 * - The enumerations are typed (udvla_status, udvla_backend, ...) to name what a value means; the
 *   struct fields that hold them stay int32_t, and udvla_status has the size of an int, so a
 *   program that stores statuses in an int keeps working.
 *
 * Environment (read through the C library's getenv when each call is made, so setenv or Python's
 * os.environ after the library was loaded take effect at the next call)
 * - UDVLA_DEVICE=<index|name substring> chooses the Vulkan device when the options name none
 *   (udvla_open, and udvla_list_devices' "chosen"); a device named in the options wins.
 * - UDVLA_VALIDATE=1 turns on the Khronos validation layer for every engine opened.
 * - UDVLA_DEBUG=1 appends the library's stack to UDVLA_ERR_INTERNAL messages (otherwise one line).
 * - UDVLA_TEST_FAULT=device_lost@N or out_of_device_memory@N is a test hook, not for production:
 *   it is read at each udvla_open of a Vulkan engine (through the C environment, so setenv before
 *   the call and unsetenv after arm that engine alone), and makes that engine's N-th queue
 *   submission (N >= 1) fail with VK_ERROR_DEVICE_LOST or VK_ERROR_OUT_OF_DEVICE_MEMORY. The step
 *   then returns UDVLA_ERR_DEVICE with the VkResult in the message; after out-of-memory the engine
 *   steps again, after device lost every further step returns UDVLA_ERR_DEVICE until it is closed
 *   (open a new one). Other engines are not affected. A malformed value fails udvla_open.
 * - UDVLA_TEST_MEMORY is a test hook too, read at each udvla_open of a Vulkan engine: a comma list
 *   of hide-hvdl (device-local memory is not host-visible: every transfer goes through the staging
 *   ring, as on a discrete card), fail-hvdl (allocations there fail, as a driver may answer),
 *   hvdl=BYTES (host-visible device-local memory is a window of that size, a BAR) and heap=BYTES (device-local buffers get at most BYTES of each heap); BYTES takes
 *   K, M or G. An engine that does not fit fails udvla_open with UDVLA_ERR_DEVICE, naming the
 *   buffer, the bytes of budget left and the bytes short. A malformed value fails udvla_open.
 * - UDVLA_ROBUST=0 turns robust buffer access off even under UDVLA_VALIDATE=1 (production runs
 *   without it; tests run the kernels once that way).
 *
 * Processes
 * - A process that forks after loading libudvla cannot use it in the child: the library's runtime
 *   threads do not survive fork. Every function of the child that would need them returns
 *   UDVLA_ERR_FORKED at once (never a hang), udvla_live_* return 0, and udvla_last_error() says
 *   so; the parent is unaffected. Start workers with posix_spawn or fork+exec (Python:
 *   multiprocessing's "spawn" or "forkserver" start method) and load the library in them.
 */
#ifndef UDVLA_H
#define UDVLA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* UDVLA_API marks every function the library exports. Define it before including this header to
 * override it (e.g. to empty for a static analysis); the library's own version script exports the
 * udvla_* symbols either way. */
#ifndef UDVLA_API
#if defined(_WIN32)
#define UDVLA_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define UDVLA_API __attribute__((visibility("default")))
#else
#define UDVLA_API
#endif
#endif

/* The ABI version this header describes. udvla_abi_version() returns the library's; a program
 * built against version N runs with a library whose version is N (the SONAME's major). */
#define UDVLA_ABI_VERSION 1

/* ---- Status codes ------------------------------------------------------------------------- */

typedef enum udvla_status {
    UDVLA_OK = 0,
    UDVLA_ERR_NULL_POINTER = 1,     /* a required pointer is NULL (an argument, a non-empty array
                                       of a request, a result buffer with a capacity) */
    UDVLA_ERR_STRUCT_SIZE = 2,      /* a struct's struct_size is not one this library knows */
    UDVLA_ERR_INVALID_ARGUMENT = 3, /* malformed arguments: a wrong camera or code count, nonzero
                                       reserved fields, an unknown backend or validate setting, a
                                       result udvla_step_alloc did not hand out or already freed */
    UDVLA_ERR_OUT_OF_RANGE = 4,     /* a value outside its range: an instruction token that is not
                                       a text id, a code outside the codebook, steps outside
                                       [0, 1024], an unknown mode or mask rule, an instruction
                                       longer than max_instruction, a camera index */
    UDVLA_ERR_BUFFER_TOO_SMALL = 5, /* an output buffer's capacity is below what it must hold; the
                                       *_len fields (or *count) say how much is needed */
    UDVLA_ERR_INVALID_HANDLE = 6,   /* 0, or a handle this library never returned */
    UDVLA_ERR_CLOSED = 7,           /* the engine was closed */
    UDVLA_ERR_NOT_FOUND = 8,        /* the model file does not exist or cannot be read */
    UDVLA_ERR_MODEL = 9,            /* the file is not a valid .udvla model */
    UDVLA_ERR_DEVICE = 10,          /* Vulkan: no (matching) device, out of device memory, device
                                       lost, validation layer missing */
    UDVLA_ERR_UNSUPPORTED = 11,     /* the model cannot do this: no vocabulary layout (a plain
                                       Llama checkpoint), or instruction text without a packed text
                                       vocabulary */
    UDVLA_ERR_ENGINE = 12,          /* any other failure of a step */
    UDVLA_ERR_INTERNAL = 13,        /* a defect inside the library, caught before it reached you */
    UDVLA_ERR_CANCELLED = 14,       /* udvla_cancel stopped the step between denoising steps */
    UDVLA_ERR_FORKED = 15           /* called in a child forked from the process that loaded the
                                       library: use spawn or fork+exec (see Processes above) */
} udvla_status;

/* udvla_status is returned where ABI 1 returned int: it must keep an int's size (a compile error
 * here means a flag such as -fshort-enums changed it). */
typedef char udvla_status_is_int_sized[sizeof(udvla_status) == sizeof(int) ? 1 : -1];

/* ---- Enumerations ------------------------------------------------------------------------- */

typedef enum udvla_backend {
    UDVLA_BACKEND_VULKAN = 0,
    UDVLA_BACKEND_REFERENCE = 1 /* CPU, slow, exact */
} udvla_backend;

/*
 * Decoding modes. Value 1 keeps the behaviour it always had (greedy AR restricted to each position's
 * decoding space, BOI/EOI/BOA pre-filled), now named UDVLA_MODE_AR_RESTRICTED; the name
 * UDVLA_MODE_AR is the release's AR baseline, the new value 3. Value 2 follows the release's
 * independent diffusion (it ran one loop length for both loops and kept tau and the slots after
 * an EOA free before).
 */
typedef enum udvla_mode {
    UDVLA_MODE_JD3P = 0,          /* joint discrete denoising of image and action tokens */
    UDVLA_MODE_AR_RESTRICTED = 1, /* greedy AR on a JD3P checkpoint over each position's decoding
                                     space, BOI/EOI/BOA inserted; one token per forward */
    UDVLA_MODE_ID = 2,            /* independent diffusion as the release runs it: an image loop
                                     (steps, 0: 64) over the prefix and the image positions, then an
                                     action loop (action_steps, 0: 28) with tau 0 and the slots after
                                     the first EOA frozen */
    UDVLA_MODE_AR = 3             /* the release's AR baseline for an AR checkpoint: greedy over the
                                     whole vocabulary, nothing pre-filled, up to the first EOA */
} udvla_mode;

/*
 * Attention mask rules. The zero value runs the model file's rule: release for every released
 * UD-VLA checkpoint (they were trained with it). PAPER is an opt-in speed mode whose prefix is
 * KV-cached exactly; its outputs differ from what the weights were trained for. CAUSAL is what
 * udvla_model_info.default_mask reports for a checkpoint trained without a block mask (plain
 * Emu3): such a model runs only UDVLA_MODE_AR under its own rule, and a request must name RELEASE
 * or PAPER to run the diffusion modes. Headers before the release rule became the default had
 * PAPER = 0 and MODEL_DEFAULT = -1: -1 is still accepted as MODEL_DEFAULT, and a zeroed request
 * now runs the model's rule.
 */
typedef enum udvla_mask_rule {
    UDVLA_MASK_MODEL_DEFAULT = 0, /* the model file's rule (udvla_model_info.default_mask) */
    UDVLA_MASK_RELEASE = 1,       /* the release code's id-derived mask: the checkpoints' training
                                     mask; its text prefix is cached exactly unless no_cache is set */
    UDVLA_MASK_PAPER = 2,         /* the paper's block mask: opt-in, faster, off the training distribution */
    UDVLA_MASK_CAUSAL = 3,        /* reported by default_mask only; a request may not name it */
    UDVLA_MASK_RELEASE_KV = 4     /* the release's KV-cached variant, opt-in: the region attends as
                                     under RELEASE, the prefix (text and current images) only to
                                     itself, computed once per step; outputs differ from RELEASE */
} udvla_mask_rule;

typedef enum udvla_validate {
    UDVLA_VALIDATE_FROM_ENV = 0, /* on when UDVLA_VALIDATE is set (to anything but 0) */
    UDVLA_VALIDATE_ON = 1        /* the Khronos validation layer, always */
} udvla_validate;

/* Vulkan's device types. */
typedef enum udvla_device_type {
    UDVLA_DEVICE_OTHER = 0,
    UDVLA_DEVICE_INTEGRATED = 1,
    UDVLA_DEVICE_DISCRETE = 2,
    UDVLA_DEVICE_VIRTUAL = 3,
    UDVLA_DEVICE_CPU = 4
} udvla_device_type;

/* An engine: an opened model on a backend. 0 is never valid. */
typedef uint64_t udvla_engine;

/* ---- Structs -------------------------------------------------------------------------------- */

/* Options of udvla_open. Zeroed fields take the defaults. */
typedef struct udvla_open_options {
    uint32_t struct_size;    /* sizeof(udvla_open_options) */
    int32_t backend;         /* UDVLA_BACKEND_* */
    const char *device;      /* NULL or "": UDVLA_DEVICE, else the best device (discrete >
                                integrated > virtual > CPU); otherwise an index or a
                                case-insensitive name substring */
    int32_t validate;        /* UDVLA_VALIDATE_* */
    int32_t max_instruction; /* most instruction tokens a request may carry; 0 means 128. At most
                                65535 (the tokens of one forward) less BOS, the camera blocks and
                                the region; above the model's limit udvla_open returns
                                OUT_OF_RANGE naming it */
} udvla_open_options;

/* One control step. Zeroed fields take the defaults (JD3P, the model's steps, the model's mask
   rule, no budget). */
typedef struct udvla_request {
    uint32_t struct_size;           /* sizeof(udvla_request) */
    int32_t mode;                   /* UDVLA_MODE_* */
    const int32_t *instruction;     /* text token ids, BOS excluded; NULL when instruction_len is 0 */
    size_t instruction_len;
    const char *instruction_text;   /* UTF-8, used when instruction_len is 0 (NULL: none); needs a
                                       model that packs a text vocabulary */
    const int32_t *const *codes;    /* num_cameras pointers: camera c's H*W codes, row-major, each
                                       in [0, codebook_size), cameras in the model's order */
    const size_t *code_counts;      /* num_cameras counts; count c must equal camera c's H*W */
    size_t num_cameras;             /* must equal udvla_model_info.num_cameras */
    uint64_t seed;                  /* the same seed and inputs give the same result */
    int32_t steps;                  /* denoising steps T; 0 takes the model's default */
    int32_t mask;                   /* UDVLA_MASK_* */
    int32_t no_cache;               /* nonzero: recompute the prefix at every step (PAPER and
                                       RELEASE give the same result either way; RELEASE_KV
                                       always caches) */
    int32_t reserved;               /* must be 0 */
    /* Appended; a struct_size of offsetof(udvla_request, budget_us) (the first ABI 1 size) reads
       them as 0. */
    uint64_t budget_us;             /* time budget of the step in microseconds, 0: none. JD3P stops
                                       before a step that would not finish in time (judged by its
                                       longest step so far; the first always runs) and returns that
                                       step's sampled tokens with udvla_result.early set; other modes
                                       fail with UDVLA_ERR_ENGINE once it has passed */
    int32_t action_steps;           /* UDVLA_MODE_ID's action loop; 0: the release's 28 */
    int32_t reserved3;              /* must be 0 */
} udvla_request;

/*
 * The outputs of a step. With udvla_step the caller owns the four buffers: set each pointer and its
 * capacity (in elements), or leave both NULL/0 to skip that output. Capacities are checked before
 * the step runs: udvla_get_model_info gives the sizes (region_size, future_codes_size,
 * action_tokens_max, actions_size); a short buffer gives UDVLA_ERR_BUFFER_TOO_SMALL with every
 * *_len set to the size it needs, and a NULL buffer with a nonzero capacity UDVLA_ERR_NULL_POINTER.
 * With udvla_step_alloc the library owns the struct and its buffers until udvla_result_free.
 */
typedef struct udvla_result {
    uint32_t struct_size; /* sizeof(udvla_result) */
    uint32_t reserved;    /* must be 0 */

    /* buffers (in) */
    int32_t *region;            /* every generated position, region_size tokens */
    size_t region_capacity;
    int32_t *future_codes;      /* the cameras' future codes, camera after camera, each H*W
                                   row-major; -1 where the token generated is not a visual token */
    size_t future_codes_capacity;
    int32_t *action_tokens;     /* the token ids strictly between BOA and the first EOA */
    size_t action_tokens_capacity;
    float *actions;             /* the action chunk, action_horizon x action_dims, row-major */
    size_t actions_capacity;

    /* lengths written (out) */
    size_t region_len;
    size_t future_codes_len;
    size_t action_tokens_len;
    size_t actions_len;         /* action_horizon * action_dims, 0 without a FAST tokenizer */

    /* scalars (out) */
    int32_t action_horizon;     /* rows of actions */
    int32_t action_dims;        /* columns of actions */
    int32_t actions_complete;   /* 1 when the tokens decoded to a full chunk (no padding, no
                                   truncation, no skipped ids) */
    int32_t eoa_found;          /* 1 when the region holds an EOA */
    int32_t generated;          /* tokens generated (tokens per second = generated / loop) */
    int32_t reserved2;
    uint64_t total_ns;          /* the whole step, host wall time */
    uint64_t loop_ns;           /* the decoding loop */
    uint64_t prefill_ns;        /* the prefix forward, 0 when it is recomputed each step */
    uint64_t gpu_ns;            /* device time from timestamps, 0 when unavailable */
    /* Appended; with a struct_size of offsetof(udvla_result, early) (the first ABI 1 size) they are
       not written. */
    int32_t early;              /* 1 when budget_us stopped JD3P before its last step: the outputs
                                   are the sampled tokens of step steps_run, not of a full run */
    int32_t steps_run;          /* decoding passes run (JD3P/ID: steps; AR: tokens generated) */
} udvla_result;

/* The vocabulary layout of a model (its ranges and special ids). */
typedef struct udvla_vocab_layout {
    int32_t text_size;      /* text ids are [0, text_size) */
    int32_t pad, boa, eoa, eol, eof, mask, bos, eos, img, boi, eoi;
    int32_t visual_offset;  /* visual code v is token visual_offset + v */
    int32_t codebook_size;  /* codes are [0, codebook_size) */
    int32_t fast_base;      /* FAST token k is fast_base - k when fast_reversed, else fast_base + k */
    int32_t fast_size;
    int32_t fast_reversed;
    int32_t digits[10];     /* text ids of '0'..'9' */
    int32_t star;           /* text id of '*' */
    int32_t num_header_ids; /* text ids image positions may take: header_ids[0..num_header_ids) */
    int32_t header_ids[16];
} udvla_vocab_layout;

/* What a model is and what its steps produce. */
typedef struct udvla_model_info {
    uint32_t struct_size;       /* sizeof(udvla_model_info) */
    int32_t has_layout;         /* 0 for a plain Llama checkpoint: steps give UDVLA_ERR_UNSUPPORTED */
    int32_t has_text_vocab;     /* instruction_text is accepted */
    int32_t has_actions;        /* a FAST tokenizer is packed: results carry actions */
    int32_t has_action_stats;   /* actions are un-normalised with the model's statistics */

    /* architecture */
    int32_t layers, hidden, heads, kv_heads, head_dim, ffn, vocab_size;
    double rope_theta, rms_eps;

    udvla_vocab_layout vocab;   /* zero when has_layout is 0 */

    /* decoding defaults */
    int32_t default_steps;
    int32_t action_len;         /* L_a: BOA and L_a-1 action slots */
    int32_t default_mask;       /* the model's rule: UDVLA_MASK_RELEASE, _PAPER or _CAUSAL */
    int32_t num_cameras;        /* see udvla_get_camera_info */

    /* the sizes of a step's outputs, in elements */
    size_t region_size;
    size_t future_codes_size;   /* sum of the cameras' H*W */
    size_t action_tokens_max;   /* action_len - 1 */
    size_t actions_size;        /* action_horizon * action_dims */
    int32_t action_horizon;
    int32_t action_dims;

    int32_t max_instruction;
    int32_t backend;            /* UDVLA_BACKEND_* */
    char backend_name[128];     /* e.g. "vulkan: <device name>", NUL-terminated */
} udvla_model_info;

/* One camera of a model, in sequence order. */
typedef struct udvla_camera_info {
    uint32_t struct_size;       /* sizeof(udvla_camera_info) */
    int32_t height, width;      /* the token grid: height * width codes */
    char name[64];              /* NUL-terminated, truncated to 63 bytes */
} udvla_camera_info;

/* One Vulkan physical device. */
typedef struct udvla_device_info {
    uint32_t struct_size;       /* sizeof(udvla_device_info), written by the library */
    int32_t index;              /* what udvla_open_options.device accepts */
    int32_t type;               /* UDVLA_DEVICE_* */
    uint32_t vendor_id, device_id;
    int32_t usable;             /* 1 when it has every feature udvla needs */
    int32_t chosen;             /* 1 for the device the default selection opens */
    int32_t subgroup_size;
    uint64_t max_allocation_size;
    uint64_t device_local_bytes; /* the sum of the device-local heaps */
    char name[256];
    char vendor[32];            /* AMD, NVIDIA, Intel, CPU or the PCI vendor id */
    char driver[256];
    char api_version[32];       /* e.g. "1.3.289" */
} udvla_device_info;

/* ---- Initialisers ---------------------------------------------------------------------------- */

static inline void udvla_open_options_init(udvla_open_options *o) {
    memset(o, 0, sizeof *o);
    o->struct_size = (uint32_t)sizeof *o;
}
static inline void udvla_request_init(udvla_request *r) {
    memset(r, 0, sizeof *r);
    r->struct_size = (uint32_t)sizeof *r;
}
static inline void udvla_result_init(udvla_result *r) {
    memset(r, 0, sizeof *r);
    r->struct_size = (uint32_t)sizeof *r;
}
static inline void udvla_model_info_init(udvla_model_info *m) {
    memset(m, 0, sizeof *m);
    m->struct_size = (uint32_t)sizeof *m;
}
static inline void udvla_camera_info_init(udvla_camera_info *c) {
    memset(c, 0, sizeof *c);
    c->struct_size = (uint32_t)sizeof *c;
}

/* ---- Functions ------------------------------------------------------------------------------- */

/* The library's Go files define UDVLA_IMPLEMENTATION: they need the types only. */
#ifndef UDVLA_IMPLEMENTATION

/* The ABI version of the loaded library (UDVLA_ABI_VERSION of the header it was built from). */
UDVLA_API uint32_t udvla_abi_version(void);

/* The library's release, e.g. "1.0.0". Static storage. */
UDVLA_API const char *udvla_version(void);

/* A short name of a status, e.g. "UDVLA_ERR_CLOSED"; "UDVLA_ERR_UNKNOWN" for others. Static. */
UDVLA_API const char *udvla_status_string(int status);

/* The message of the last failed call on this thread; "" after a call that returned UDVLA_OK.
 * Valid until the next status-returning udvla_* call on this thread. Never NULL. */
UDVLA_API const char *udvla_last_error(void);

/*
 * Lists the Vulkan devices. *count receives how many exist. out may be NULL (with capacity 0) to
 * query the count; otherwise min(capacity, *count) entries are written, and
 * UDVLA_ERR_BUFFER_TOO_SMALL is returned when capacity < *count. out[0].struct_size must be
 * sizeof(udvla_device_info); every entry written gets it.
 * Statuses: OK, NULL_POINTER (count), STRUCT_SIZE, BUFFER_TOO_SMALL, DEVICE (no Vulkan loader).
 */
UDVLA_API udvla_status udvla_list_devices(udvla_device_info *out, size_t capacity, size_t *count);

/*
 * Opens a model file on a backend. options may be NULL for the defaults (Vulkan, the best device).
 * *out receives the engine handle (0 on failure).
 * Statuses: OK, NULL_POINTER (model_path, out), STRUCT_SIZE, INVALID_ARGUMENT (backend, validate,
 * a negative max_instruction), OUT_OF_RANGE (max_instruction above the model's limit), NOT_FOUND,
 * MODEL, DEVICE.
 */
UDVLA_API udvla_status udvla_open(const char *model_path, const udvla_open_options *options, udvla_engine *out);

/*
 * Closes an engine and frees its device resources, after any step in progress on it. Closing 0 does
 * nothing and returns OK; closing a closed engine returns CLOSED.
 * Statuses: OK, INVALID_HANDLE, CLOSED.
 */
UDVLA_API udvla_status udvla_close(udvla_engine engine);

/* Describes the engine's model. Statuses: OK, NULL_POINTER, STRUCT_SIZE, INVALID_HANDLE, CLOSED. */
UDVLA_API udvla_status udvla_get_model_info(udvla_engine engine, udvla_model_info *out);

/* Describes camera index (0 .. num_cameras-1). Statuses: OK, NULL_POINTER, STRUCT_SIZE,
 * OUT_OF_RANGE (index), INVALID_HANDLE, CLOSED. */
UDVLA_API udvla_status udvla_get_camera_info(udvla_engine engine, size_t index, udvla_camera_info *out);

/*
 * Runs one control step into the caller's buffers (see udvla_result). A capacity is an upper
 * bound: any capacity at or above the size needed, SIZE_MAX included, is written up to the size.
 * Statuses: OK, NULL_POINTER (request, result, a non-empty array, a NULL buffer with a capacity),
 * STRUCT_SIZE, INVALID_ARGUMENT (camera or code counts, reserved fields), OUT_OF_RANGE (ids,
 * codes, steps, mode, mask, instruction length), BUFFER_TOO_SMALL, INVALID_HANDLE, CLOSED,
 * UNSUPPORTED, DEVICE, ENGINE, CANCELLED (udvla_cancel; the outputs are left empty).
 */
UDVLA_API udvla_status udvla_step(udvla_engine engine, const udvla_request *request, udvla_result *result);

/*
 * Runs one control step into a result the library allocates, with every buffer sized exactly.
 * *out receives it (NULL on failure); free it with udvla_result_free.
 * Statuses: those of udvla_step but BUFFER_TOO_SMALL.
 */
UDVLA_API udvla_status udvla_step_alloc(udvla_engine engine, const udvla_request *request, udvla_result **out);

/* Frees a result of udvla_step_alloc. NULL does nothing and returns OK; a pointer the library did
 * not allocate, or one already freed, returns INVALID_ARGUMENT and is left alone. */
UDVLA_API udvla_status udvla_result_free(udvla_result *result);

/* The number of Vulkan validation messages (warnings and errors) the engine's device has reported
 * since it was opened: zero unless validation is on (udvla_open_options.validate, UDVLA_VALIDATE=1).
 * Statuses: OK, NULL_POINTER, INVALID_HANDLE, CLOSED. */
UDVLA_API udvla_status udvla_validation_messages(udvla_engine engine, uint64_t *count);

/*
 * Cancels the steps in progress on the engine, and those waiting for it, at the time of the call:
 * each returns UDVLA_ERR_CANCELLED at its next check, which the Vulkan backend makes between the
 * segments its denoising loop is submitted in (a quarter of the steps each; before every token in
 * AR mode); the reference backend finishes its computation first. A step that starts after the call runs normally, so a cancel with no step in progress has
 * no effect; the engine stays usable. Call it from any thread, e.g. a controller's watchdog.
 * Statuses: OK, INVALID_HANDLE, CLOSED.
 */
UDVLA_API udvla_status udvla_cancel(udvla_engine engine);

/* Open engines and unfreed udvla_step_alloc results in this process (for leak checks). */
UDVLA_API uint64_t udvla_live_engines(void);
UDVLA_API uint64_t udvla_live_results(void);

#endif /* UDVLA_IMPLEMENTATION */

#ifdef __cplusplus
}
#endif

#endif /* UDVLA_H */
