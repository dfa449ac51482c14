// The C side of the device layer: a function table loaded from libvulkan.so.1, instance and device
// creation with pNext chains (which vulkan-go's 1.1 headers cannot build), the validation messenger,
// and the hot path: one call records a whole array of plain dispatch records.
// Handles cross into Go as plain integers; no Go pointer is ever stored here.
#ifndef UDVLA_VKC_H
#define UDVLA_VKC_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
#include <stdint.h>

#define UV_MAX_BINDINGS 12
#define UV_MAX_PUSH 128

enum { UV_CMD_DISPATCH = 0, UV_CMD_COPY = 1 };
enum { UV_FLAG_BARRIER_BEFORE = 1, UV_FLAG_TIMESTAMP_AFTER = 2 };

// One recorded command. For UV_CMD_COPY buf[0]/off[0] is the source, buf[1]/off[1] the destination
// and rng[0] the size.
typedef struct {
	uint32_t kind;
	uint32_t flags;
	uint64_t pipeline;
	uint64_t layout;
	uint32_t groups[3];
	uint32_t nbind;
	uint64_t buf[UV_MAX_BINDINGS];
	uint64_t off[UV_MAX_BINDINGS];
	uint64_t rng[UV_MAX_BINDINGS];
	uint32_t push_size;
	uint32_t pad_;
	uint8_t push[UV_MAX_PUSH];
} uv_cmd;

typedef struct uv_instance uv_instance;
typedef struct uv_device uv_device;

// Loader.
const char *uv_load(void);          // dlopens libvulkan.so.1; NULL on success, else the dlerror text
void *uv_get_instance_proc_addr(void);

// Instance.
int uv_instance_create(int validate, int sync_validate, uint32_t api_version, uv_instance **out, char *err, int errlen);
void uv_instance_destroy(uv_instance *in);
uint64_t uv_instance_handle(uv_instance *in);
uint64_t uv_message_count(uv_instance *in);
int uv_message_get(uv_instance *in, uint64_t i, char *buf, int buflen); // 0 when i was dropped
void uv_message_inject(uv_instance *in, const char *msg);               // for the gate's self-test

// Physical device facts that need Properties2 chains.
typedef struct {
	uint32_t api_version;
	uint32_t subgroup_size;
	uint32_t subgroup_ops;
	uint32_t subgroup_stages;
	uint32_t min_subgroup, max_subgroup;
	uint32_t driver_id;
	char driver_name[256];
	char driver_info[256];
	// feature support
	uint32_t f16, i8, storage8, storage16, robust, push_descriptor, subgroup_size_control, timestamps;
	float timestamp_period;
	uint32_t timestamp_bits;
	uint64_t max_storage_range;
	uint64_t max_alloc;
	uint32_t max_push;
	uint32_t max_wg_invocations;
	uint32_t max_wg_size[3];
	uint32_t max_wg_count[3];
	uint32_t max_shared;
	uint64_t min_storage_align;
	uint64_t non_coherent_atom;
} uv_phys_info;
int uv_phys_info_get(uv_instance *in, uint64_t phys, uv_phys_info *out);

// One VK_NV_cooperative_matrix shape of subgroup scope; the types are VkComponentTypeNV values.
typedef struct {
	uint32_t m, n, k, a, b, c, result;
} uv_coopmat_shape;
// Fills out with up to max shapes and returns their number: 0 without the extension or its feature.
int uv_coopmat_shapes(uv_instance *in, uint64_t phys, uv_coopmat_shape *out, int max);

// Device.
int uv_device_create(uv_instance *in, uint64_t phys, int robust, uv_device **out, char *err, int errlen);
void uv_device_destroy(uv_device *d);

// Memory: the device's memory types and heaps, the heap budgets of VK_EXT_memory_budget (has_budget
// 0 when the device lacks it), and the memory types and alignment every storage buffer accepts.
typedef struct {
	uint32_t ntypes, nheaps;
	uint32_t type_flags[32];
	uint32_t type_heap[32];
	uint64_t heap_size[16];
	uint32_t heap_flags[16];
	uint64_t budget[16];
	uint64_t usage[16];
	uint32_t has_budget;
	uint32_t buffer_type_bits;
	uint64_t buffer_align;
} uv_memory_info;
int uv_memory_info_get(uv_device *d, uv_memory_info *out);
// uv_memory_budget fills budget[16] and usage[16] now and returns the number of heaps; 0 without
// VK_EXT_memory_budget.
int uv_memory_budget(uv_device *d, uint64_t *budget, uint64_t *usage);

// Buffers: the caller (memory.go) picks the memory type; map asks for a persistent mapping.
int uv_buffer_create(uv_device *d, uint64_t size, uint32_t type, int map, uint64_t *buf, uint64_t *mem, void **mapped,
	char *err, int errlen);
void uv_buffer_destroy(uv_device *d, uint64_t buf, uint64_t mem);
int uv_invalidate(uv_device *d, uint64_t mem);

// Pipelines: a set layout of nbind push-descriptor storage buffers and push_size bytes of push constants.
int uv_pipeline_create(uv_device *d, const uint32_t *spirv, uint64_t spirv_bytes, const char *entry,
	const uint32_t *spec, uint32_t nspec, uint32_t nbind, uint32_t push_size, uint32_t req_subgroup,
	uint64_t *pipeline, uint64_t *layout, uint64_t *set_layout, char *err, int errlen);
void uv_pipeline_destroy(uv_device *d, uint64_t pipeline, uint64_t layout, uint64_t set_layout);

// Command buffers, recording and submission.
int uv_cmdbuf_create(uv_device *d, uint64_t *pool, uint64_t *cb, uint64_t *fence);
void uv_cmdbuf_destroy(uv_device *d, uint64_t pool, uint64_t cb, uint64_t fence);
int uv_querypool_create(uv_device *d, uint32_t n, uint64_t *qp);
void uv_querypool_destroy(uv_device *d, uint64_t qp);
int uv_record(uv_device *d, uint64_t cb, const uv_cmd *cmds, uint32_t n, uint64_t qp, uint32_t nqueries);
int uv_submit_wait(uv_device *d, uint64_t cb, uint64_t fence);
int uv_submit(uv_device *d, uint64_t cb, uint64_t fence); // returns once queued
int uv_wait(uv_device *d, uint64_t fence);                // blocks on the fence, then resets it
int uv_timestamps(uv_device *d, uint64_t qp, uint32_t n, uint64_t *out);

uint64_t uv_malloc_in_use(void);

#endif
