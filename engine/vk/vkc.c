#include "vkc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *libvulkan;
static PFN_vkGetInstanceProcAddr gipa;

const char *uv_load(void) {
	if (gipa) return NULL;
	libvulkan = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!libvulkan) return dlerror();
	gipa = (PFN_vkGetInstanceProcAddr)dlsym(libvulkan, "vkGetInstanceProcAddr");
	if (!gipa) return "libvulkan.so.1 has no vkGetInstanceProcAddr";
	return NULL;
}

void *uv_get_instance_proc_addr(void) { return (void *)gipa; }

// ---- instance ----------------------------------------------------------------------------------

#define UV_KEEP_MESSAGES 64

#define UV_INSTANCE_FUNCS(X) \
	X(DestroyInstance) X(EnumeratePhysicalDevices) X(GetPhysicalDeviceProperties2) \
	X(GetPhysicalDeviceFeatures2) X(GetPhysicalDeviceMemoryProperties) X(GetPhysicalDeviceMemoryProperties2) \
	X(GetPhysicalDeviceQueueFamilyProperties) X(CreateDevice) X(GetDeviceProcAddr) \
	X(EnumerateDeviceExtensionProperties)

struct uv_instance {
	VkInstance instance;
	VkDebugUtilsMessengerEXT messenger;
	PFN_vkDestroyDebugUtilsMessengerEXT DestroyDebugUtilsMessengerEXT;
#define X(n) PFN_vk##n n;
	UV_INSTANCE_FUNCS(X)
#undef X
	pthread_mutex_t mu;
	uint64_t count;
	char *msgs[UV_KEEP_MESSAGES];
};

static void keep_message(uv_instance *in, const char *text) {
	pthread_mutex_lock(&in->mu);
	uint64_t i = in->count++;
	if (i < UV_KEEP_MESSAGES) in->msgs[i] = strdup(text ? text : "(no text)");
	pthread_mutex_unlock(&in->mu);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
	VkDebugUtilsMessageTypeFlagsEXT types, const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
	(void)types;
	if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
	keep_message((uv_instance *)user, data ? data->pMessage : NULL);
	return VK_FALSE;
}

static void set_err(char *err, int errlen, const char *what, VkResult r) {
	snprintf(err, errlen, "%s: VkResult %d", what, (int)r);
}

int uv_instance_create(int validate, int sync_validate, uint32_t api_version, uv_instance **out, char *err, int errlen) {
	if (!gipa) { snprintf(err, errlen, "vulkan loader not loaded"); return VK_ERROR_INITIALIZATION_FAILED; }
	PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance");
	PFN_vkEnumerateInstanceExtensionProperties enum_ext =
		(PFN_vkEnumerateInstanceExtensionProperties)gipa(NULL, "vkEnumerateInstanceExtensionProperties");
	if (!create || !enum_ext) { snprintf(err, errlen, "vkCreateInstance not found"); return VK_ERROR_INITIALIZATION_FAILED; }

	uv_instance *in = calloc(1, sizeof *in);
	if (!in) return VK_ERROR_OUT_OF_HOST_MEMORY;
	pthread_mutex_init(&in->mu, NULL);

	const char *exts[4];
	uint32_t next = 0;
	int have_portability = 0;
	uint32_t n = 0;
	enum_ext(NULL, &n, NULL);
	VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
	enum_ext(NULL, &n, props);
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(props[i].extensionName, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) have_portability = 1;
	free(props);
	if (have_portability) exts[next++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
	const char *layers[1] = {"VK_LAYER_KHRONOS_validation"};

	VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
	app.pApplicationName = "udvla";
	app.pEngineName = "udvla";
	app.apiVersion = api_version;

	VkInstanceCreateInfo ci = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
	ci.pApplicationInfo = &app;
	if (have_portability) ci.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;

	VkDebugUtilsMessengerCreateInfoEXT mi = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
	mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
	mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
		VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
	mi.pfnUserCallback = on_message;
	mi.pUserData = in;

	VkValidationFeatureEnableEXT enables[1] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
	VkValidationFeaturesEXT vf = {VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
	vf.enabledValidationFeatureCount = 1;
	vf.pEnabledValidationFeatures = enables;

	if (validate) {
		exts[next++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
		ci.enabledLayerCount = 1;
		ci.ppEnabledLayerNames = layers;
		// The messenger in the create chain also reports what happens inside vkCreateInstance.
		ci.pNext = &mi;
		if (sync_validate) {
			exts[next++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
			mi.pNext = &vf;
		}
	}
	ci.enabledExtensionCount = next;
	ci.ppEnabledExtensionNames = exts;

	VkResult r = create(&ci, NULL, &in->instance);
	if (r != VK_SUCCESS) {
		set_err(err, errlen, validate ? "vkCreateInstance (with VK_LAYER_KHRONOS_validation)" : "vkCreateInstance", r);
		pthread_mutex_destroy(&in->mu);
		free(in);
		return r;
	}
#define X(name) in->name = (PFN_vk##name)gipa(in->instance, "vk" #name);
	UV_INSTANCE_FUNCS(X)
#undef X
	if (validate) {
		PFN_vkCreateDebugUtilsMessengerEXT cm = (PFN_vkCreateDebugUtilsMessengerEXT)gipa(in->instance, "vkCreateDebugUtilsMessengerEXT");
		in->DestroyDebugUtilsMessengerEXT = (PFN_vkDestroyDebugUtilsMessengerEXT)gipa(in->instance, "vkDestroyDebugUtilsMessengerEXT");
		mi.pNext = NULL;
		if (cm) cm(in->instance, &mi, NULL, &in->messenger);
	}
	*out = in;
	return VK_SUCCESS;
}

void uv_instance_destroy(uv_instance *in) {
	if (!in) return;
	if (in->messenger) in->DestroyDebugUtilsMessengerEXT(in->instance, in->messenger, NULL);
	in->DestroyInstance(in->instance, NULL);
	for (int i = 0; i < UV_KEEP_MESSAGES; i++) free(in->msgs[i]);
	pthread_mutex_destroy(&in->mu);
	free(in);
}

uint64_t uv_instance_handle(uv_instance *in) { return (uint64_t)(uintptr_t)in->instance; }

uint64_t uv_message_count(uv_instance *in) {
	pthread_mutex_lock(&in->mu);
	uint64_t c = in->count;
	pthread_mutex_unlock(&in->mu);
	return c;
}

int uv_message_get(uv_instance *in, uint64_t i, char *buf, int buflen) {
	int ok = 0;
	pthread_mutex_lock(&in->mu);
	if (i < in->count && i < UV_KEEP_MESSAGES && in->msgs[i]) {
		snprintf(buf, buflen, "%s", in->msgs[i]);
		ok = 1;
	}
	pthread_mutex_unlock(&in->mu);
	return ok;
}

void uv_message_inject(uv_instance *in, const char *msg) { keep_message(in, msg); }

// ---- physical device -----------------------------------------------------------------------------

static int has_device_ext(uv_instance *in, VkPhysicalDevice p, const char *name) {
	uint32_t n = 0;
	in->EnumerateDeviceExtensionProperties(p, NULL, &n, NULL);
	VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
	in->EnumerateDeviceExtensionProperties(p, NULL, &n, props);
	int found = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(props[i].extensionName, name)) found = 1;
	free(props);
	return found;
}

int uv_phys_info_get(uv_instance *in, uint64_t phys, uv_phys_info *o) {
	VkPhysicalDevice p = (VkPhysicalDevice)(uintptr_t)phys;
	memset(o, 0, sizeof *o);
	VkPhysicalDeviceSubgroupSizeControlProperties ssc = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
	VkPhysicalDeviceDriverProperties drv = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	VkPhysicalDeviceSubgroupProperties sg = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
	VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
	p2.pNext = &sg;
	sg.pNext = &drv;
	int has_ssc = has_device_ext(in, p, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
	if (has_ssc) drv.pNext = &ssc;
	in->GetPhysicalDeviceProperties2(p, &p2);
	VkPhysicalDeviceLimits *l = &p2.properties.limits;
	o->api_version = p2.properties.apiVersion;
	o->subgroup_size = sg.subgroupSize;
	o->subgroup_ops = sg.supportedOperations;
	o->subgroup_stages = sg.supportedStages;
	o->driver_id = drv.driverID;
	snprintf(o->driver_name, sizeof o->driver_name, "%s", drv.driverName);
	snprintf(o->driver_info, sizeof o->driver_info, "%s", drv.driverInfo);
	o->min_subgroup = has_ssc ? ssc.minSubgroupSize : sg.subgroupSize;
	o->max_subgroup = has_ssc ? ssc.maxSubgroupSize : sg.subgroupSize;
	o->timestamp_period = l->timestampPeriod;
	o->max_storage_range = l->maxStorageBufferRange;
	o->max_push = l->maxPushConstantsSize;
	o->max_wg_invocations = l->maxComputeWorkGroupInvocations;
	for (int i = 0; i < 3; i++) {
		o->max_wg_size[i] = l->maxComputeWorkGroupSize[i];
		o->max_wg_count[i] = l->maxComputeWorkGroupCount[i];
	}
	o->max_shared = l->maxComputeSharedMemorySize;
	o->min_storage_align = l->minStorageBufferOffsetAlignment;
	o->non_coherent_atom = l->nonCoherentAtomSize;

	VkPhysicalDeviceMaintenance3Properties m3 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
	VkPhysicalDeviceProperties2 p3 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
	p3.pNext = &m3;
	in->GetPhysicalDeviceProperties2(p, &p3);
	o->max_alloc = m3.maxMemoryAllocationSize;

	VkPhysicalDeviceSubgroupSizeControlFeatures sscf = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
	VkPhysicalDeviceVulkan12Features f12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
	VkPhysicalDeviceVulkan11Features f11 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
	VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
	f2.pNext = &f11;
	f11.pNext = &f12;
	if (has_ssc) f12.pNext = &sscf;
	if (o->api_version >= VK_API_VERSION_1_2) in->GetPhysicalDeviceFeatures2(p, &f2);
	o->f16 = f12.shaderFloat16;
	o->i8 = f12.shaderInt8;
	o->storage8 = f12.storageBuffer8BitAccess;
	o->storage16 = f11.storageBuffer16BitAccess;
	o->robust = f2.features.robustBufferAccess;
	o->push_descriptor = has_device_ext(in, p, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
	o->subgroup_size_control = has_ssc && sscf.subgroupSizeControl && sscf.computeFullSubgroups;

	uint32_t nq = 0;
	in->GetPhysicalDeviceQueueFamilyProperties(p, &nq, NULL);
	VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof *qf);
	in->GetPhysicalDeviceQueueFamilyProperties(p, &nq, qf);
	for (uint32_t i = 0; i < nq; i++)
		if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) { o->timestamp_bits = qf[i].timestampValidBits; break; }
	free(qf);
	o->timestamps = o->timestamp_bits > 0 && l->timestampComputeAndGraphics;
	return 0;
}

// ---- cooperative matrices (VK_NV_cooperative_matrix) --------------------------------------------

// coopmat_supported: the extension is present and its feature on.
static int coopmat_supported(uv_instance *in, VkPhysicalDevice p) {
	if (!has_device_ext(in, p, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME)) return 0;
	VkPhysicalDeviceCooperativeMatrixFeaturesNV cm = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
	VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
	f2.pNext = &cm;
	in->GetPhysicalDeviceFeatures2(p, &f2);
	return cm.cooperativeMatrix == VK_TRUE;
}

int uv_coopmat_shapes(uv_instance *in, uint64_t phys, uv_coopmat_shape *out, int max) {
	VkPhysicalDevice p = (VkPhysicalDevice)(uintptr_t)phys;
	if (!coopmat_supported(in, p)) return 0;
	PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get =
		(PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)gipa(in->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
	uint32_t n = 0;
	if (!get || get(p, &n, NULL) != VK_SUCCESS || n == 0) return 0;
	VkCooperativeMatrixPropertiesNV *props = calloc(n, sizeof *props);
	if (!props) return 0;
	for (uint32_t i = 0; i < n; i++) props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
	int count = 0;
	VkResult r = get(p, &n, props);
	if (r == VK_SUCCESS || r == VK_INCOMPLETE) {
		for (uint32_t i = 0; i < n && count < max; i++) {
			if (props[i].scope != VK_SCOPE_SUBGROUP_NV) continue; // the shaders use subgroup scope only
			uv_coopmat_shape *s = &out[count++];
			s->m = props[i].MSize, s->n = props[i].NSize, s->k = props[i].KSize;
			s->a = props[i].AType, s->b = props[i].BType, s->c = props[i].CType, s->result = props[i].DType;
		}
	}
	free(props);
	return count;
}

// coopmat_enable adds the extension and its feature to a device's creation when the device has
// them; cm must live until vkCreateDevice returns.
static void coopmat_enable(uv_instance *in, VkPhysicalDevice p, VkPhysicalDeviceFeatures2 *f2,
	VkPhysicalDeviceCooperativeMatrixFeaturesNV *cm, const char **exts, uint32_t *next) {
	if (!coopmat_supported(in, p)) return;
	cm->sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
	cm->cooperativeMatrix = VK_TRUE;
	cm->pNext = f2->pNext;
	f2->pNext = cm;
	exts[(*next)++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
}

// ---- device --------------------------------------------------------------------------------------

#define UV_DEVICE_FUNCS(X) \
	X(DestroyDevice) X(GetDeviceQueue) X(CreateBuffer) X(DestroyBuffer) X(GetBufferMemoryRequirements) \
	X(AllocateMemory) X(FreeMemory) X(BindBufferMemory) X(MapMemory) X(UnmapMemory) \
	X(InvalidateMappedMemoryRanges) X(CreateShaderModule) X(DestroyShaderModule) \
	X(CreateDescriptorSetLayout) X(DestroyDescriptorSetLayout) X(CreatePipelineLayout) \
	X(DestroyPipelineLayout) X(CreateComputePipelines) X(DestroyPipeline) X(CreatePipelineCache) \
	X(DestroyPipelineCache) X(CreateCommandPool) X(DestroyCommandPool) X(AllocateCommandBuffers) \
	X(FreeCommandBuffers) X(BeginCommandBuffer) X(EndCommandBuffer) X(ResetCommandBuffer) \
	X(CmdBindPipeline) X(CmdPushConstants) X(CmdPushDescriptorSetKHR) X(CmdDispatch) \
	X(CmdPipelineBarrier) X(CmdCopyBuffer) X(CmdWriteTimestamp) X(CmdResetQueryPool) \
	X(CreateQueryPool) X(DestroyQueryPool) X(GetQueryPoolResults) X(CreateFence) X(DestroyFence) \
	X(WaitForFences) X(ResetFences) X(QueueSubmit) X(DeviceWaitIdle)

struct uv_device {
	uv_instance *in;
	VkPhysicalDevice phys;
	VkDevice dev;
	VkQueue queue;
	uint32_t qfam;
	VkPipelineCache cache;
	VkPhysicalDeviceMemoryProperties memprops;
	int has_budget; // VK_EXT_memory_budget is enabled
#define X(n) PFN_vk##n n;
	UV_DEVICE_FUNCS(X)
#undef X
};

int uv_device_create(uv_instance *in, uint64_t phys, int robust, uv_device **out, char *err, int errlen) {
	VkPhysicalDevice p = (VkPhysicalDevice)(uintptr_t)phys;
	uv_phys_info info;
	uv_phys_info_get(in, phys, &info);
	const char *missing = NULL;
	if (info.api_version < VK_API_VERSION_1_2) missing = "Vulkan 1.2";
	else if (!info.f16) missing = "shaderFloat16";
	else if (!info.i8) missing = "shaderInt8";
	else if (!info.storage8) missing = "storageBuffer8BitAccess";
	else if (!info.storage16) missing = "storageBuffer16BitAccess";
	else if (!info.push_descriptor) missing = "VK_KHR_push_descriptor";
	else if ((info.subgroup_stages & VK_SHADER_STAGE_COMPUTE_BIT) == 0 ||
		(info.subgroup_ops & (VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)) !=
		(VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT))
		missing = "subgroup basic+arithmetic operations in compute shaders";
	else if (robust && !info.robust) missing = "robustBufferAccess";
	if (missing) {
		snprintf(err, errlen, "device lacks a required feature: %s", missing);
		return VK_ERROR_FEATURE_NOT_PRESENT;
	}

	uv_device *d = calloc(1, sizeof *d);
	if (!d) return VK_ERROR_OUT_OF_HOST_MEMORY;
	d->in = in;
	d->phys = p;
	in->GetPhysicalDeviceMemoryProperties(p, &d->memprops);

	uint32_t nq = 0;
	in->GetPhysicalDeviceQueueFamilyProperties(p, &nq, NULL);
	VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof *qf);
	in->GetPhysicalDeviceQueueFamilyProperties(p, &nq, qf);
	int fam = -1;
	for (uint32_t i = 0; i < nq && fam < 0; i++) // prefer a compute-only queue family (async compute)
		if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) &&
			qf[i].timestampValidBits) fam = (int)i;
	for (uint32_t i = 0; i < nq && fam < 0; i++)
		if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) fam = (int)i;
	free(qf);
	if (fam < 0) { free(d); snprintf(err, errlen, "device has no compute queue"); return VK_ERROR_FEATURE_NOT_PRESENT; }
	d->qfam = (uint32_t)fam;

	float prio = 1.0f;
	VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
	qci.queueFamilyIndex = d->qfam;
	qci.queueCount = 1;
	qci.pQueuePriorities = &prio;

	VkPhysicalDeviceSubgroupSizeControlFeatures sscf = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
	sscf.subgroupSizeControl = VK_TRUE;
	sscf.computeFullSubgroups = VK_TRUE;
	VkPhysicalDeviceVulkan12Features f12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
	f12.shaderFloat16 = VK_TRUE;
	f12.shaderInt8 = VK_TRUE;
	f12.storageBuffer8BitAccess = VK_TRUE;
	VkPhysicalDeviceVulkan11Features f11 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
	f11.storageBuffer16BitAccess = VK_TRUE;
	f11.pNext = &f12;
	VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
	f2.pNext = &f11;
	f2.features.robustBufferAccess = robust ? VK_TRUE : VK_FALSE;
	f2.features.shaderInt64 = VK_FALSE;

	const char *exts[4]; // push descriptors, memory budget, subgroup size control, cooperative matrices
	uint32_t next = 0;
	exts[next++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
	d->has_budget = has_device_ext(in, p, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
	if (d->has_budget) exts[next++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
	if (info.subgroup_size_control) {
		f12.pNext = &sscf;
		if (info.api_version < VK_API_VERSION_1_3) exts[next++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
	}

	VkPhysicalDeviceCooperativeMatrixFeaturesNV cmf = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
	coopmat_enable(in, p, &f2, &cmf, exts, &next);

	VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
	dci.pNext = &f2;
	dci.queueCreateInfoCount = 1;
	dci.pQueueCreateInfos = &qci;
	dci.enabledExtensionCount = next;
	dci.ppEnabledExtensionNames = exts;
	VkResult r = in->CreateDevice(p, &dci, NULL, &d->dev);
	if (r != VK_SUCCESS) { free(d); set_err(err, errlen, "vkCreateDevice", r); return r; }
#define X(name) d->name = (PFN_vk##name)in->GetDeviceProcAddr(d->dev, "vk" #name);
	UV_DEVICE_FUNCS(X)
#undef X
	d->GetDeviceQueue(d->dev, d->qfam, 0, &d->queue);
	VkPipelineCacheCreateInfo pc = {VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
	d->CreatePipelineCache(d->dev, &pc, NULL, &d->cache);
	*out = d;
	return VK_SUCCESS;
}

void uv_device_destroy(uv_device *d) {
	if (!d) return;
	d->DeviceWaitIdle(d->dev);
	d->DestroyPipelineCache(d->dev, d->cache, NULL);
	d->DestroyDevice(d->dev, NULL);
	free(d);
}

// ---- buffers -------------------------------------------------------------------------------------

static const VkBufferUsageFlags buffer_usage =
	VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

int uv_memory_info_get(uv_device *d, uv_memory_info *o) {
	memset(o, 0, sizeof *o);
	VkPhysicalDeviceMemoryBudgetPropertiesEXT mb = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
	VkPhysicalDeviceMemoryProperties2 mp = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
	if (d->has_budget) mp.pNext = &mb;
	d->in->GetPhysicalDeviceMemoryProperties2(d->phys, &mp);
	VkPhysicalDeviceMemoryProperties *m = &mp.memoryProperties;
	o->ntypes = m->memoryTypeCount;
	o->nheaps = m->memoryHeapCount;
	for (uint32_t i = 0; i < m->memoryTypeCount && i < 32; i++) {
		o->type_flags[i] = m->memoryTypes[i].propertyFlags;
		o->type_heap[i] = m->memoryTypes[i].heapIndex;
	}
	for (uint32_t i = 0; i < m->memoryHeapCount && i < 16; i++) {
		o->heap_size[i] = m->memoryHeaps[i].size;
		o->heap_flags[i] = m->memoryHeaps[i].flags;
		o->budget[i] = mb.heapBudget[i];
		o->usage[i] = mb.heapUsage[i];
	}
	o->has_budget = (uint32_t)d->has_budget;
	// Buffers of the same usage share their memory type bits (the spec guarantees it), so one probe
	// answers for every buffer the engine makes.
	VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
	bci.size = 256;
	bci.usage = buffer_usage;
	bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
	VkBuffer b;
	VkResult r = d->CreateBuffer(d->dev, &bci, NULL, &b);
	if (r != VK_SUCCESS) return r;
	VkMemoryRequirements req;
	d->GetBufferMemoryRequirements(d->dev, b, &req);
	d->DestroyBuffer(d->dev, b, NULL);
	o->buffer_type_bits = req.memoryTypeBits;
	o->buffer_align = req.alignment;
	return VK_SUCCESS;
}

int uv_memory_budget(uv_device *d, uint64_t *budget, uint64_t *usage) {
	if (!d->has_budget) return 0;
	VkPhysicalDeviceMemoryBudgetPropertiesEXT mb = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
	VkPhysicalDeviceMemoryProperties2 mp = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
	mp.pNext = &mb;
	d->in->GetPhysicalDeviceMemoryProperties2(d->phys, &mp);
	uint32_t n = mp.memoryProperties.memoryHeapCount;
	for (uint32_t i = 0; i < n && i < 16; i++) {
		budget[i] = mb.heapBudget[i];
		usage[i] = mb.heapUsage[i];
	}
	return (int)n;
}

int uv_buffer_create(uv_device *d, uint64_t size, uint32_t type, int map, uint64_t *buf, uint64_t *mem, void **mapped,
	char *err, int errlen) {
	VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
	bci.size = size;
	bci.usage = buffer_usage;
	bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
	VkBuffer b;
	VkResult r = d->CreateBuffer(d->dev, &bci, NULL, &b);
	if (r != VK_SUCCESS) { set_err(err, errlen, "vkCreateBuffer", r); return r; }
	VkMemoryRequirements req;
	d->GetBufferMemoryRequirements(d->dev, b, &req);
	if (type >= d->memprops.memoryTypeCount || !(req.memoryTypeBits & (1u << type))) {
		d->DestroyBuffer(d->dev, b, NULL);
		snprintf(err, errlen, "memory type %u cannot hold a storage buffer", type);
		return VK_ERROR_FEATURE_NOT_PRESENT;
	}
	VkMemoryAllocateInfo ai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
	ai.allocationSize = req.size;
	ai.memoryTypeIndex = type;
	VkDeviceMemory m;
	r = d->AllocateMemory(d->dev, &ai, NULL, &m);
	if (r != VK_SUCCESS) {
		d->DestroyBuffer(d->dev, b, NULL);
		snprintf(err, errlen, "vkAllocateMemory(%llu bytes, memory type %u): VkResult %d", (unsigned long long)req.size,
			type, (int)r);
		return r;
	}
	r = d->BindBufferMemory(d->dev, b, m, 0);
	void *p = NULL;
	if (r == VK_SUCCESS && map) r = d->MapMemory(d->dev, m, 0, VK_WHOLE_SIZE, 0, &p);
	if (r != VK_SUCCESS) {
		d->DestroyBuffer(d->dev, b, NULL);
		d->FreeMemory(d->dev, m, NULL);
		set_err(err, errlen, "vkBindBufferMemory/vkMapMemory", r);
		return r;
	}
	*buf = (uint64_t)b;
	*mem = (uint64_t)m;
	*mapped = p;
	return VK_SUCCESS;
}

void uv_buffer_destroy(uv_device *d, uint64_t buf, uint64_t mem) {
	d->DestroyBuffer(d->dev, (VkBuffer)buf, NULL);
	d->FreeMemory(d->dev, (VkDeviceMemory)mem, NULL); // frees the mapping too
}

int uv_invalidate(uv_device *d, uint64_t mem) {
	VkMappedMemoryRange mr = {VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
	mr.memory = (VkDeviceMemory)mem;
	mr.size = VK_WHOLE_SIZE;
	return d->InvalidateMappedMemoryRanges(d->dev, 1, &mr);
}

// ---- pipelines -----------------------------------------------------------------------------------

int uv_pipeline_create(uv_device *d, const uint32_t *spirv, uint64_t spirv_bytes, const char *entry,
	const uint32_t *spec, uint32_t nspec, uint32_t nbind, uint32_t push_size, uint32_t req_subgroup,
	uint64_t *pipeline, uint64_t *layout, uint64_t *set_layout, char *err, int errlen) {
	VkDescriptorSetLayoutBinding b[UV_MAX_BINDINGS];
	if (nbind > UV_MAX_BINDINGS) { snprintf(err, errlen, "too many bindings"); return VK_ERROR_INITIALIZATION_FAILED; }
	for (uint32_t i = 0; i < nbind; i++) {
		b[i] = (VkDescriptorSetLayoutBinding){i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL};
	}
	VkDescriptorSetLayoutCreateInfo sli = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
	sli.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
	sli.bindingCount = nbind;
	sli.pBindings = b;
	VkDescriptorSetLayout sl;
	VkResult r = d->CreateDescriptorSetLayout(d->dev, &sli, NULL, &sl);
	if (r != VK_SUCCESS) { set_err(err, errlen, "vkCreateDescriptorSetLayout", r); return r; }

	VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size};
	VkPipelineLayoutCreateInfo pli = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
	pli.setLayoutCount = 1;
	pli.pSetLayouts = &sl;
	pli.pushConstantRangeCount = push_size ? 1 : 0;
	pli.pPushConstantRanges = &pcr;
	VkPipelineLayout pl;
	r = d->CreatePipelineLayout(d->dev, &pli, NULL, &pl);
	if (r != VK_SUCCESS) {
		d->DestroyDescriptorSetLayout(d->dev, sl, NULL);
		set_err(err, errlen, "vkCreatePipelineLayout", r);
		return r;
	}

	VkShaderModuleCreateInfo smi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
	smi.codeSize = spirv_bytes;
	smi.pCode = spirv;
	VkShaderModule sm;
	r = d->CreateShaderModule(d->dev, &smi, NULL, &sm);
	if (r != VK_SUCCESS) {
		d->DestroyPipelineLayout(d->dev, pl, NULL);
		d->DestroyDescriptorSetLayout(d->dev, sl, NULL);
		set_err(err, errlen, "vkCreateShaderModule", r);
		return r;
	}
	VkSpecializationMapEntry me[64];
	if (nspec > 64) nspec = 64;
	for (uint32_t i = 0; i < nspec; i++) me[i] = (VkSpecializationMapEntry){i, i * 4, 4};
	VkSpecializationInfo si = {nspec, me, nspec * 4, spec};

	VkPipelineShaderStageRequiredSubgroupSizeCreateInfo rss = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
	rss.requiredSubgroupSize = req_subgroup;
	VkComputePipelineCreateInfo ci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
	ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
	ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
	ci.stage.module = sm;
	ci.stage.pName = entry;
	ci.stage.pSpecializationInfo = nspec ? &si : NULL;
	if (req_subgroup) {
		ci.stage.pNext = &rss;
		ci.stage.flags = VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT;
	}
	ci.layout = pl;
	VkPipeline p;
	r = d->CreateComputePipelines(d->dev, d->cache, 1, &ci, NULL, &p);
	d->DestroyShaderModule(d->dev, sm, NULL);
	if (r != VK_SUCCESS) {
		d->DestroyPipelineLayout(d->dev, pl, NULL);
		d->DestroyDescriptorSetLayout(d->dev, sl, NULL);
		set_err(err, errlen, "vkCreateComputePipelines", r);
		return r;
	}
	*pipeline = (uint64_t)p;
	*layout = (uint64_t)pl;
	*set_layout = (uint64_t)sl;
	return VK_SUCCESS;
}

void uv_pipeline_destroy(uv_device *d, uint64_t pipeline, uint64_t layout, uint64_t set_layout) {
	d->DestroyPipeline(d->dev, (VkPipeline)pipeline, NULL);
	d->DestroyPipelineLayout(d->dev, (VkPipelineLayout)layout, NULL);
	d->DestroyDescriptorSetLayout(d->dev, (VkDescriptorSetLayout)set_layout, NULL);
}

// ---- command buffers -----------------------------------------------------------------------------

int uv_cmdbuf_create(uv_device *d, uint64_t *pool, uint64_t *cb, uint64_t *fence) {
	VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
	pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
	pci.queueFamilyIndex = d->qfam;
	VkCommandPool p;
	VkResult r = d->CreateCommandPool(d->dev, &pci, NULL, &p);
	if (r != VK_SUCCESS) return r;
	VkCommandBufferAllocateInfo ai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
	ai.commandPool = p;
	ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
	ai.commandBufferCount = 1;
	VkCommandBuffer c;
	r = d->AllocateCommandBuffers(d->dev, &ai, &c);
	if (r != VK_SUCCESS) { d->DestroyCommandPool(d->dev, p, NULL); return r; }
	VkFenceCreateInfo fi = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
	VkFence f;
	r = d->CreateFence(d->dev, &fi, NULL, &f);
	if (r != VK_SUCCESS) { d->DestroyCommandPool(d->dev, p, NULL); return r; }
	*pool = (uint64_t)p;
	*cb = (uint64_t)(uintptr_t)c;
	*fence = (uint64_t)f;
	return VK_SUCCESS;
}

void uv_cmdbuf_destroy(uv_device *d, uint64_t pool, uint64_t cb, uint64_t fence) {
	VkCommandBuffer c = (VkCommandBuffer)(uintptr_t)cb;
	d->FreeCommandBuffers(d->dev, (VkCommandPool)pool, 1, &c);
	d->DestroyCommandPool(d->dev, (VkCommandPool)pool, NULL);
	d->DestroyFence(d->dev, (VkFence)fence, NULL);
}

int uv_querypool_create(uv_device *d, uint32_t n, uint64_t *qp) {
	VkQueryPoolCreateInfo qi = {VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
	qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
	qi.queryCount = n;
	VkQueryPool q;
	VkResult r = d->CreateQueryPool(d->dev, &qi, NULL, &q);
	if (r == VK_SUCCESS) *qp = (uint64_t)q;
	return r;
}

void uv_querypool_destroy(uv_device *d, uint64_t qp) { d->DestroyQueryPool(d->dev, (VkQueryPool)qp, NULL); }

static void barrier(uv_device *d, VkCommandBuffer c, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
	VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
	mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
	mb.dstAccessMask = dst_access;
	d->CmdPipelineBarrier(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, dst_stage, 0, 1, &mb,
		0, NULL, 0, NULL);
}

// uv_record records cmds into cb (reset first). With a query pool, query 0 is written before the
// first command and query i+1 after every command flagged UV_FLAG_TIMESTAMP_AFTER, in order.
int uv_record(uv_device *d, uint64_t cb, const uv_cmd *cmds, uint32_t n, uint64_t qp, uint32_t nqueries) {
	VkCommandBuffer c = (VkCommandBuffer)(uintptr_t)cb;
	VkQueryPool q = (VkQueryPool)qp;
	VkResult r = d->ResetCommandBuffer(c, 0);
	if (r != VK_SUCCESS) return r;
	VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	r = d->BeginCommandBuffer(c, &bi);
	if (r != VK_SUCCESS) return r;
	uint32_t nq = 0;
	if (q && nqueries) {
		d->CmdResetQueryPool(c, q, 0, nqueries);
		d->CmdWriteTimestamp(c, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, q, nq++);
	}
	VkPipeline bound = VK_NULL_HANDLE;
	const VkAccessFlags all = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
		VK_ACCESS_TRANSFER_WRITE_BIT;
	const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
	for (uint32_t i = 0; i < n; i++) {
		const uv_cmd *k = &cmds[i];
		if (k->flags & UV_FLAG_BARRIER_BEFORE) barrier(d, c, stages, all);
		switch (k->kind) {
		case UV_CMD_DISPATCH: {
			VkPipeline p = (VkPipeline)k->pipeline;
			if (p != bound) {
				d->CmdBindPipeline(c, VK_PIPELINE_BIND_POINT_COMPUTE, p);
				bound = p;
			}
			VkDescriptorBufferInfo bis[UV_MAX_BINDINGS];
			VkWriteDescriptorSet w[UV_MAX_BINDINGS];
			for (uint32_t j = 0; j < k->nbind && j < UV_MAX_BINDINGS; j++) {
				bis[j] = (VkDescriptorBufferInfo){(VkBuffer)k->buf[j], k->off[j], k->rng[j]};
				w[j] = (VkWriteDescriptorSet){VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
				w[j].dstBinding = j;
				w[j].descriptorCount = 1;
				w[j].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
				w[j].pBufferInfo = &bis[j];
			}
			if (k->nbind)
				d->CmdPushDescriptorSetKHR(c, VK_PIPELINE_BIND_POINT_COMPUTE, (VkPipelineLayout)k->layout, 0, k->nbind, w);
			if (k->push_size)
				d->CmdPushConstants(c, (VkPipelineLayout)k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, k->push_size, k->push);
			d->CmdDispatch(c, k->groups[0], k->groups[1], k->groups[2]);
			break;
		}
		case UV_CMD_COPY: {
			VkBufferCopy bc = {k->off[0], k->off[1], k->rng[0]};
			d->CmdCopyBuffer(c, (VkBuffer)k->buf[0], (VkBuffer)k->buf[1], 1, &bc);
			break;
		}
		default:
			break;
		}
		if ((k->flags & UV_FLAG_TIMESTAMP_AFTER) && q && nq < nqueries)
			d->CmdWriteTimestamp(c, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, q, nq++);
	}
	// Make every write visible to the host once the fence has signalled.
	barrier(d, c, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
	return d->EndCommandBuffer(c);
}

int uv_submit(uv_device *d, uint64_t cb, uint64_t fence) {
	VkCommandBuffer c = (VkCommandBuffer)(uintptr_t)cb;
	VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
	si.commandBufferCount = 1;
	si.pCommandBuffers = &c;
	return d->QueueSubmit(d->queue, 1, &si, (VkFence)fence);
}

int uv_wait(uv_device *d, uint64_t fence) {
	VkFence f = (VkFence)fence;
	// Block in the driver: spinning would steal the cores lavapipe computes on.
	VkResult r = d->WaitForFences(d->dev, 1, &f, VK_TRUE, UINT64_MAX);
	if (r != VK_SUCCESS) return r;
	return d->ResetFences(d->dev, 1, &f);
}

int uv_submit_wait(uv_device *d, uint64_t cb, uint64_t fence) {
	VkCommandBuffer c = (VkCommandBuffer)(uintptr_t)cb;
	VkFence f = (VkFence)fence;
	VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
	si.commandBufferCount = 1;
	si.pCommandBuffers = &c;
	VkResult r = d->QueueSubmit(d->queue, 1, &si, f);
	if (r != VK_SUCCESS) return r;
	// Block in the driver: spinning would steal the cores lavapipe computes on.
	r = d->WaitForFences(d->dev, 1, &f, VK_TRUE, UINT64_MAX);
	if (r != VK_SUCCESS) return r;
	return d->ResetFences(d->dev, 1, &f);
}

int uv_timestamps(uv_device *d, uint64_t qp, uint32_t n, uint64_t *out) {
	return d->GetQueryPoolResults(d->dev, (VkQueryPool)qp, 0, n, n * sizeof(uint64_t), out, sizeof(uint64_t),
		VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
}

#include <malloc.h>
// Bytes the C heap has handed out and not taken back: a leak measure that, unlike RSS, does not
// grow with glibc's per-thread arenas (Go calls C from many threads).
uint64_t uv_malloc_in_use(void) {
	struct mallinfo2 m = mallinfo2();
	return (uint64_t)m.uordblks + (uint64_t)m.hblkhd;
}
