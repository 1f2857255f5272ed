/* Device traits: what the library must know about a device beyond the facts
 * OpenCL reports (runtime/internal.h, clcnn__device_traits).
 *
 * - The kernel class: whose kernel choices a device takes, its own type's
 *   unless CLCNN_DEVICE_CLASS (or clcnn_context_options.device_class) names
 *   another, so that the GPU code paths can run at full size on a CPU.
 * - Driver limits that no query reveals, by device name (the quirk rows
 *   below, each with the reason it exists).
 * - Test clamps (CLCNN_DEVICE_LIMITS or clcnn_context_options.device_limits)
 *   that make a device look smaller than it is: fewer work-items per group,
 *   less local memory, smaller allocations, so that tests show every op
 *   still runs where a GPU would refuse the preferred path. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* A driver limit that applies to devices whose name contains `device_name`
 * (case-sensitive: the names are the drivers' own). */
typedef struct quirk_row {
    const char *device_name;
    size_t loop_trip_limit;
    size_t widest_vector;
} quirk_row;

static const quirk_row quirk_rows[] = {
    /* Mesa's llvmpipe (rusticl, Clover) ends every loop of a work-item once
     * all loops together have taken 65535 trips (LP_MAX_TGSI_LOOP_ITERATIONS
     * in gallivm, "shared between every loop"): the kernel then goes on with
     * wrong sums and no error. Reproducer: one work-item running
     * `for (int i = 0; i < n; i++) out[i] = in[i];` with n = 65536 leaves
     * out[65535] unwritten. Its JIT also spent more than five minutes on
     * one float16 kernel (clcnn-bench's peak_fma_float16, eight chains)
     * that POCL builds in a second, so nothing wider than float8 is built
     * for it where a choice exists. */
    {"llvmpipe", 65535, 8},
};

static clcnn_device_type class_of_type(clcnn_device_type type) {
    return type == CLCNN_DEVICE_TYPE_CPU || type == CLCNN_DEVICE_TYPE_GPU ? type
                                                                          : CLCNN_DEVICE_TYPE_OTHER;
}

static clcnn_status parse_class(const char *text, clcnn_device_type *out, char *message,
                                size_t message_size) {
    if (strcmp(text, "cpu") == 0)
        *out = CLCNN_DEVICE_TYPE_CPU;
    else if (strcmp(text, "gpu") == 0)
        *out = CLCNN_DEVICE_TYPE_GPU;
    else if (strcmp(text, "other") == 0)
        *out = CLCNN_DEVICE_TYPE_OTHER;
    else {
        snprintf(message, message_size,
                 "device class \"%s\" is not one of cpu, gpu, other (CLCNN_DEVICE_CLASS or "
                 "clcnn_context_options.device_class)",
                 text);
        return CLCNN_ERROR_INVALID_ARGUMENT;
    }
    return CLCNN_OK;
}

/* Applies one "name=value" clamp of the limits text. */
static clcnn_status apply_limit(const char *item, size_t length, clcnn_device_info *info,
                                char *message, size_t message_size) {
    static const char *const names[] = {"work_group", "local_mem", "max_alloc"};
    const char *equals = memchr(item, '=', length);
    size_t which = sizeof names / sizeof names[0];
    for (size_t i = 0; equals != NULL && i < sizeof names / sizeof names[0]; i++)
        if ((size_t)(equals - item) == strlen(names[i]) &&
            strncmp(item, names[i], strlen(names[i])) == 0)
            which = i;
    char number[32] = "";
    size_t digits = equals != NULL ? length - (size_t)(equals + 1 - item) : 0;
    if (digits > 0 && digits < sizeof number)
        memcpy(number, equals + 1, digits);
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(number, &end, 10);
    if (which == sizeof names / sizeof names[0] || digits == 0 || *end != '\0' || errno != 0 ||
        value == 0) {
        snprintf(message, message_size,
                 "device limit \"%.*s\" is not work_group=N, local_mem=BYTES or max_alloc=BYTES "
                 "with N, BYTES > 0 (CLCNN_DEVICE_LIMITS or "
                 "clcnn_context_options.device_limits)",
                 (int)length, item);
        return CLCNN_ERROR_INVALID_ARGUMENT;
    }
    if (which == 0 && value < info->max_work_group_size)
        info->max_work_group_size = (size_t)value;
    if (which == 1 && value < info->local_mem_bytes)
        info->local_mem_bytes = value;
    if (which == 2 && value < info->max_alloc_bytes)
        info->max_alloc_bytes = value;
    return CLCNN_OK;
}

/* "work_group=32,local_mem=16384": each clamp only ever lowers a limit. */
static clcnn_status apply_limits(const char *text, clcnn_device_info *info, char *message,
                                 size_t message_size) {
    for (const char *item = text; *item != '\0';) {
        size_t length = strcspn(item, ",");
        clcnn_status status = apply_limit(item, length, info, message, message_size);
        if (status != CLCNN_OK)
            return status;
        item += length;
        if (*item == ',')
            item++;
    }
    return CLCNN_OK;
}

static const char *option_or_environment(const char *option, const char *variable) {
    if (option != NULL)
        return option;
    const char *value = getenv(variable);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

clcnn_status clcnn__device_traits_resolve(clcnn_device_info *info,
                                          const clcnn_context_options *options,
                                          clcnn__device_traits *out, char *message,
                                          size_t message_size) {
    out->kernel_class = class_of_type(info->type);
    out->loop_trip_limit = SIZE_MAX;
    out->widest_vector = 16;
    for (size_t i = 0; i < sizeof quirk_rows / sizeof quirk_rows[0]; i++)
        if (strstr(info->device_name, quirk_rows[i].device_name) != NULL) {
            out->loop_trip_limit = quirk_rows[i].loop_trip_limit;
            out->widest_vector = quirk_rows[i].widest_vector;
        }
    const char *class_text = option_or_environment(options->device_class, "CLCNN_DEVICE_CLASS");
    clcnn_status status = CLCNN_OK;
    if (class_text != NULL)
        status = parse_class(class_text, &out->kernel_class, message, message_size);
    const char *limits = option_or_environment(options->device_limits, "CLCNN_DEVICE_LIMITS");
    if (status == CLCNN_OK && limits != NULL)
        status = apply_limits(limits, info, message, message_size);
    return status;
}

size_t clcnn__loop_trips_allowed(const clcnn_context *ctx, size_t trips_per_unit) {
    if (ctx->traits.loop_trip_limit == SIZE_MAX)
        return SIZE_MAX;
    /* Half the limit: the per-unit counts are estimates of what the
     * compiler leaves as loops. */
    size_t units = ctx->traits.loop_trip_limit / 2 / (trips_per_unit > 0 ? trips_per_unit : 1);
    return units > 0 ? units : 1;
}

clcnn_status clcnn__kernel_work_group_limit(clcnn_context *ctx, cl_kernel kernel, size_t *out) {
    size_t allowed = 0;
    cl_int err = clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof allowed, &allowed, NULL);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
    *out = allowed < ctx->info.max_work_group_size ? allowed : ctx->info.max_work_group_size;
    return CLCNN_OK;
}
