/* Device enumeration and selection. Every capability is read from the device
 * itself; devices are classified by CL_DEVICE_TYPE before anything else
 * (POCL on an AMD CPU reports Intel's vendor ID). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

const char *clcnn_device_type_name(clcnn_device_type type) {
    switch (type) {
    case CLCNN_DEVICE_TYPE_GPU:
        return "gpu";
    case CLCNN_DEVICE_TYPE_CPU:
        return "cpu";
    case CLCNN_DEVICE_TYPE_ACCELERATOR:
        return "accelerator";
    default:
        return "other";
    }
}

static void read_platform_string(cl_platform_id platform, cl_platform_info what, char *out,
                                 size_t size) {
    out[0] = '\0';
    if (clGetPlatformInfo(platform, what, size, out, NULL) != CL_SUCCESS)
        out[0] = '\0';
    out[size - 1] = '\0';
}

static void read_device_string(cl_device_id device, cl_device_info what, char *out, size_t size) {
    out[0] = '\0';
    if (clGetDeviceInfo(device, what, size, out, NULL) != CL_SUCCESS)
        out[0] = '\0';
    out[size - 1] = '\0';
}

/* The whole extension string, which may exceed any fixed buffer. */
static char *read_device_extensions(cl_device_id device) {
    size_t size = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS)
        size = 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return NULL;
    if (size == 0 || clGetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, text, NULL) != CL_SUCCESS)
        size = 0;
    text[size] = '\0';
    return text;
}

static clcnn_device_type classify(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU)
        return CLCNN_DEVICE_TYPE_GPU;
    if (type & CL_DEVICE_TYPE_CPU)
        return CLCNN_DEVICE_TYPE_CPU;
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return CLCNN_DEVICE_TYPE_ACCELERATOR;
    return CLCNN_DEVICE_TYPE_OTHER;
}

/* Reads up to four decimal digits (a longer run is no version number). */
static const char *read_version_number(const char *text, int *value) {
    int digits = 0;
    *value = 0;
    for (; isdigit((unsigned char)*text); text++) {
        if (++digits > 4)
            return NULL;
        *value = *value * 10 + (*text - '0');
    }
    return digits > 0 ? text : NULL;
}

int clcnn__parse_version(const char *text, const char *prefix, int *major, int *minor) {
    *major = 0;
    *minor = 0;
    size_t prefix_length = strlen(prefix);
    if (strncmp(text, prefix, prefix_length) != 0)
        return 0;
    int parsed_major = 0, parsed_minor = 0;
    const char *p = read_version_number(text + prefix_length, &parsed_major);
    if (p == NULL || *p != '.')
        return 0;
    p = read_version_number(p + 1, &parsed_minor);
    if (p == NULL || (*p != '\0' && *p != ' '))
        return 0;
    *major = parsed_major;
    *minor = parsed_minor;
    return 1;
}

/* The oldest OpenCL libclcnn runs on: the host code calls OpenCL 1.2
 * functions (clEnqueueMarkerWithWaitList, clEnqueueBarrierWithWaitList) and
 * the kernels are OpenCL C 1.2 (Clover's OpenCL C 1.1 refuses their
 * "static" functions). */
enum { NEEDED_MAJOR = 1, NEEDED_MINOR = 2 };

static int at_least_needed(int major, int minor) {
    return major > NEEDED_MAJOR || (major == NEEDED_MAJOR && minor >= NEEDED_MINOR);
}

/* Why a device that is not new enough cannot be used (see the header). */
static void explain_device(clcnn_device_info *info, int readable, int major, int minor, int c_major,
                           int c_minor) {
    if (readable)
        snprintf(info->unsupported_reason, sizeof info->unsupported_reason,
                 "supports OpenCL %d.%d (OpenCL C %d.%d); libclcnn needs %d.%d", major, minor,
                 c_major, c_minor, NEEDED_MAJOR, NEEDED_MINOR);
    else
        snprintf(info->unsupported_reason, sizeof info->unsupported_reason,
                 "gives unreadable versions (CL_DEVICE_VERSION \"%.48s\", "
                 "CL_DEVICE_OPENCL_C_VERSION \"%.48s\"); libclcnn needs OpenCL %d.%d",
                 info->device_version, info->opencl_c_version, NEEDED_MAJOR, NEEDED_MINOR);
}

static void explain_platform(clcnn_device_info *info, int readable, int major, int minor) {
    if (readable)
        snprintf(info->unsupported_reason, sizeof info->unsupported_reason,
                 "is on a platform that supports OpenCL %d.%d; libclcnn needs %d.%d", major, minor,
                 NEEDED_MAJOR, NEEDED_MINOR);
    else
        snprintf(info->unsupported_reason, sizeof info->unsupported_reason,
                 "is on a platform with an unreadable version (CL_PLATFORM_VERSION "
                 "\"%.48s\"); libclcnn needs OpenCL %d.%d",
                 info->platform_version, NEEDED_MAJOR, NEEDED_MINOR);
}

void clcnn__device_check_support(clcnn_device_info *info) {
    int major, minor, c_major, c_minor, platform_major, platform_minor;
    int version_readable = clcnn__parse_version(info->device_version, "OpenCL ", &major, &minor);
    int c_readable = clcnn__parse_version(info->opencl_c_version, "OpenCL C ", &c_major, &c_minor);
    int device_readable = version_readable && c_readable;
    int platform_readable =
        clcnn__parse_version(info->platform_version, "OpenCL ", &platform_major, &platform_minor);
    int device_new_enough =
        device_readable && at_least_needed(major, minor) && at_least_needed(c_major, c_minor);
    int platform_new_enough = platform_readable && at_least_needed(platform_major, platform_minor);
    info->supported = device_new_enough && platform_new_enough;
    info->unsupported_reason[0] = '\0';
    if (!device_new_enough)
        explain_device(info, device_readable, major, minor, c_major, c_minor);
    else if (!platform_new_enough)
        explain_platform(info, platform_readable, platform_major, platform_minor);
}

static int has_extension(const char *extensions, const char *name) {
    size_t length = strlen(name);
    for (const char *p = extensions; (p = strstr(p, name)) != NULL; p += length) {
        int starts = p == extensions || p[-1] == ' ';
        int ends = p[length] == '\0' || p[length] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static void fill_device_info(cl_platform_id platform, cl_device_id device, const char *extensions,
                             clcnn_device_info *info) {
    read_platform_string(platform, CL_PLATFORM_NAME, info->platform_name, CLCNN_NAME_MAX);
    read_platform_string(platform, CL_PLATFORM_VERSION, info->platform_version, CLCNN_NAME_MAX);
    read_device_string(device, CL_DEVICE_NAME, info->device_name, CLCNN_NAME_MAX);
    read_device_string(device, CL_DEVICE_VENDOR, info->vendor, CLCNN_NAME_MAX);
    read_device_string(device, CL_DRIVER_VERSION, info->driver_version, CLCNN_NAME_MAX);
    read_device_string(device, CL_DEVICE_VERSION, info->device_version, CLCNN_NAME_MAX);
    read_device_string(device, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version, CLCNN_NAME_MAX);
    clcnn__parse_version(info->opencl_c_version, "OpenCL C ", &info->opencl_c_major,
                         &info->opencl_c_minor);

    cl_device_type type = 0;
    cl_uint vendor_id = 0, compute_units = 0, clock = 0;
    cl_ulong global_mem = 0, max_alloc = 0, local_mem = 0;
    cl_device_fp_config double_config = 0;
    size_t max_work_group = 0;
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(device, CL_DEVICE_VENDOR_ID, sizeof vendor_id, &vendor_id, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof compute_units, &compute_units,
                    NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global_mem, &global_mem, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_work_group, &max_work_group,
                    NULL);
    if (clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof double_config, &double_config,
                        NULL) != CL_SUCCESS)
        double_config = 0;

    info->type = classify(type);
    info->vendor_id = vendor_id;
    info->compute_units = compute_units;
    info->clock_mhz = clock;
    info->global_mem_bytes = global_mem;
    info->max_alloc_bytes = max_alloc;
    info->local_mem_bytes = local_mem;
    info->max_work_group_size = max_work_group;
    info->has_fp64 = double_config != 0 || has_extension(extensions, "cl_khr_fp64");
    info->has_fp16 = has_extension(extensions, "cl_khr_fp16");
    clcnn__device_check_support(info);
}

void clcnn_device_list_destroy(clcnn_device_list *list) {
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->extensions[i]);
    free(list->extensions);
    free(list->devices);
    free(list->platforms);
    free(list->infos);
    free(list);
}

/* Appends one device; returns 0 when out of host memory. */
static int append_device(clcnn_device_list *list, size_t capacity, cl_platform_id platform,
                         size_t platform_index, cl_device_id device, size_t device_index) {
    if (list->count >= capacity)
        return 0;
    size_t i = list->count;
    list->extensions[i] = read_device_extensions(device);
    if (list->extensions[i] == NULL)
        return 0;
    list->platforms[i] = platform;
    list->devices[i] = device;
    memset(&list->infos[i], 0, sizeof list->infos[i]);
    list->infos[i].platform_index = platform_index;
    list->infos[i].device_index = device_index;
    fill_device_info(platform, device, list->extensions[i], &list->infos[i]);
    list->count++;
    return 1;
}

/* Counts the devices of every platform, so the list is allocated once. */
static size_t count_devices(const cl_platform_id *platforms, cl_uint platform_count) {
    size_t total = 0;
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_uint n = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n) == CL_SUCCESS)
            total += n;
    }
    return total;
}

static clcnn_status fill_list(clcnn_device_list *list, const cl_platform_id *platforms,
                              cl_uint platform_count, size_t capacity) {
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_uint n = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS || n == 0)
            continue;
        cl_device_id *devices = malloc(n * sizeof *devices);
        if (devices == NULL)
            return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
        cl_uint got = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, n, devices, &got) != CL_SUCCESS)
            got = 0;
        for (cl_uint d = 0; d < got && d < n; d++) {
            if (!append_device(list, capacity, platforms[p], p, devices[d], d)) {
                free(devices);
                return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
            }
        }
        free(devices);
    }
    return list->count > 0 ? CLCNN_OK : CLCNN_ERROR_NO_PLATFORM;
}

static clcnn_status list_alloc(size_t capacity, clcnn_device_list **out) {
    clcnn_device_list *list = calloc(1, sizeof *list);
    if (list == NULL)
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    list->infos = calloc(capacity, sizeof *list->infos);
    list->platforms = calloc(capacity, sizeof *list->platforms);
    list->devices = calloc(capacity, sizeof *list->devices);
    list->extensions = calloc(capacity, sizeof *list->extensions);
    if (!list->infos || !list->platforms || !list->devices || !list->extensions) {
        clcnn_device_list_destroy(list);
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    }
    *out = list;
    return CLCNN_OK;
}

clcnn_status clcnn_device_list_create(clcnn_device_list **out) {
    if (out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    cl_uint platform_count = 0;
    if (clGetPlatformIDs(0, NULL, &platform_count) != CL_SUCCESS || platform_count == 0)
        return CLCNN_ERROR_NO_PLATFORM;
    cl_platform_id *platforms = malloc(platform_count * sizeof *platforms);
    if (platforms == NULL)
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    clcnn_status status = CLCNN_ERROR_NO_PLATFORM;
    if (clGetPlatformIDs(platform_count, platforms, NULL) == CL_SUCCESS) {
        size_t capacity = count_devices(platforms, platform_count);
        clcnn_device_list *list = NULL;
        status = capacity == 0 ? CLCNN_ERROR_NO_PLATFORM : list_alloc(capacity, &list);
        if (status == CLCNN_OK)
            status = fill_list(list, platforms, platform_count, capacity);
        if (status == CLCNN_OK)
            *out = list;
        else
            clcnn_device_list_destroy(list);
    }
    free(platforms);
    return status;
}

size_t clcnn_device_list_count(const clcnn_device_list *list) {
    return list == NULL ? 0 : list->count;
}

clcnn_status clcnn_device_list_get(const clcnn_device_list *list, size_t index,
                                   clcnn_device_info *out) {
    if (list == NULL || out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (index >= list->count)
        return CLCNN_ERROR_OUT_OF_RANGE;
    *out = list->infos[index];
    return CLCNN_OK;
}

/* ---------------------------------------------------------------- selection */

static int contains_ignoring_case(const char *haystack, const char *needle) {
    size_t needle_length = strlen(needle);
    for (; *haystack != '\0'; haystack++) {
        size_t i = 0;
        while (i < needle_length && haystack[i] != '\0' &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == needle_length)
            return 1;
    }
    return 0;
}

static int equals_ignoring_case(const char *a, const char *b) {
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* Parses "P:D" with decimal digits only; returns 1 on success. */
static int parse_index_pair(const char *text, size_t *platform, size_t *device) {
    const char *colon = strchr(text, ':');
    if (colon == NULL || colon == text || colon[1] == '\0')
        return 0;
    for (const char *p = text; *p != '\0'; p++)
        if (p != colon && !isdigit((unsigned char)*p))
            return 0;
    char *end = NULL;
    *platform = (size_t)strtoull(text, &end, 10);
    *device = (size_t)strtoull(colon + 1, &end, 10);
    return 1;
}

/* Whether the selector names the device by one of its strings: POCL is
 * known by its platform version ("OpenCL 3.0 PoCL 3.1 ..."), not by its
 * platform name ("Portable Computing Language"). */
static int matches_text(const clcnn_device_info *info, const char *selector) {
    const char *texts[] = {info->device_name, info->platform_name, info->platform_version,
                           info->vendor, info->driver_version};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (contains_ignoring_case(texts[i], selector))
            return 1;
    return 0;
}

/* What a selector asks of a device; `type` for a type selector, `text` for
 * a name, `any_type` for the default's last resort. */
typedef struct device_wish {
    const char *text;
    clcnn_device_type type;
    int any_type;
} device_wish;

static int fulfils(const clcnn_device_info *info, const device_wish *wish) {
    if (wish->text != NULL)
        return matches_text(info, wish->text);
    return wish->any_type || info->type == wish->type;
}

/* The first device that fulfils the first wish it can, trying every wish on
 * the usable devices before any on the unusable ones. */
static int find_first(const clcnn_device_info *infos, size_t count, const device_wish *wishes,
                      size_t wish_count, size_t *out) {
    for (int usable_only = 1; usable_only >= 0; usable_only--)
        for (size_t w = 0; w < wish_count; w++)
            for (size_t i = 0; i < count; i++)
                if ((infos[i].supported || !usable_only) && fulfils(&infos[i], &wishes[w])) {
                    *out = i;
                    return 1;
                }
    return 0;
}

static int find_by_indices(const clcnn_device_info *infos, size_t count, size_t platform,
                           size_t device, size_t *out) {
    for (size_t i = 0; i < count; i++) {
        if (infos[i].platform_index == platform && infos[i].device_index == device) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

int clcnn__device_find(const clcnn_device_info *infos, size_t count, const char *selector,
                       size_t *out) {
    if (selector == NULL || selector[0] == '\0') {
        const device_wish defaults[] = {
            {NULL, CLCNN_DEVICE_TYPE_GPU, 0},
            {NULL, CLCNN_DEVICE_TYPE_CPU, 0},
            {NULL, CLCNN_DEVICE_TYPE_OTHER, 1},
        };
        return find_first(infos, count, defaults, sizeof defaults / sizeof defaults[0], out);
    }
    size_t platform, device;
    if (parse_index_pair(selector, &platform, &device))
        return find_by_indices(infos, count, platform, device, out);
    static const clcnn_device_type types[] = {CLCNN_DEVICE_TYPE_GPU, CLCNN_DEVICE_TYPE_CPU,
                                              CLCNN_DEVICE_TYPE_ACCELERATOR};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        if (equals_ignoring_case(selector, clcnn_device_type_name(types[t]))) {
            const device_wish by_type = {NULL, types[t], 0};
            return find_first(infos, count, &by_type, 1, out);
        }
    }
    const device_wish by_text = {selector, CLCNN_DEVICE_TYPE_OTHER, 0};
    return find_first(infos, count, &by_text, 1, out);
}

/* "no OpenCL device matches "x"; devices: 0:0 NAME (cpu, PLATFORM); ..." */
static void describe_devices(const clcnn_device_list *list, const char *selector, char *message,
                             size_t size) {
    if (message == NULL || size == 0)
        return;
    int used =
        snprintf(message, size,
                 "no OpenCL device matches \"%s\"; devices are:", selector != NULL ? selector : "");
    for (size_t i = 0; i < list->count && used >= 0 && (size_t)used < size; i++) {
        const clcnn_device_info *info = &list->infos[i];
        used += snprintf(message + used, size - (size_t)used, " %zu:%zu %s (%s, %s);",
                         info->platform_index, info->device_index, info->device_name,
                         clcnn_device_type_name(info->type), info->platform_name);
    }
    message[size - 1] = '\0';
}

/* "device 2:0 (llvmpipe, Clover) supports OpenCL 1.1 (OpenCL C 1.1);
 * libclcnn needs 1.2; devices it can use: 0:0 NAME (cpu, PLATFORM);" */
static void describe_refusal(const clcnn_device_list *list, const clcnn_device_info *refused,
                             char *message, size_t size) {
    if (message == NULL || size == 0)
        return;
    int used = snprintf(message, size, "device %zu:%zu (%s, %s) %s; ", refused->platform_index,
                        refused->device_index, refused->device_name, refused->platform_name,
                        refused->unsupported_reason);
    size_t usable = 0;
    for (size_t i = 0; i < list->count && used >= 0 && (size_t)used < size; i++) {
        const clcnn_device_info *info = &list->infos[i];
        if (!info->supported)
            continue;
        used += snprintf(message + used, size - (size_t)used, "%s %zu:%zu %s (%s, %s);",
                         usable++ == 0 ? "devices it can use:" : "", info->platform_index,
                         info->device_index, info->device_name, clcnn_device_type_name(info->type),
                         info->platform_name);
    }
    if (usable == 0 && used >= 0 && (size_t)used < size)
        snprintf(message + used, size - (size_t)used, "no device here is new enough");
    message[size - 1] = '\0';
}

clcnn_status clcnn_device_list_select(const clcnn_device_list *list, const char *selector,
                                      char *message, size_t message_size, size_t *out) {
    if (message != NULL && message_size > 0)
        message[0] = '\0';
    if (list == NULL || out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (!clcnn__device_find(list->infos, list->count, selector, out)) {
        describe_devices(list, selector, message, message_size);
        return CLCNN_ERROR_DEVICE_NOT_FOUND;
    }
    if (!list->infos[*out].supported) {
        describe_refusal(list, &list->infos[*out], message, message_size);
        return CLCNN_ERROR_DEVICE_UNSUPPORTED;
    }
    return CLCNN_OK;
}
