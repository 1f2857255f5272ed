/* The per-device table (runtime/choices.h): what the library must know
 * about a device beyond the facts OpenCL reports, and which kernel choices
 * it takes, in the manner of CLBlast's database.
 *
 * - The kernel class: whose choices a device takes, its own type's unless
 *   CLCNN_DEVICE_CLASS (or clcnn_context_options.device_class) names
 *   another, so that the GPU code paths can run at full size on a CPU.
 * - Rows: a full row of choices per class, then rows keyed by vendor and
 *   device name that change what differs on that device (each with the
 *   reason it exists), among them driver limits no query reveals.
 * - Test clamps (CLCNN_DEVICE_LIMITS or clcnn_context_options.device_limits)
 *   that make a device look smaller than it is: fewer work-items per group,
 *   less local memory, smaller allocations, so that tests show every op
 *   still runs where a GPU would refuse the preferred path.
 *
 * Tuned choices (runtime/tuning.c) come before a row's, per shape. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* ---------------------------------------------------------- class rows */

/* CPU drivers (POCL): work-items that each compute a register tile or a
 * long vector run, few work-groups, no local memory. Measured with POCL 3.1
 * on a 2-core AMD EPYC (Zen 4): see each op's file for the figures. */
static const clcnn__device_choices cpu_row = {
    .conv2d =
        {{CLCNN__CONV2D_DIRECT, CLCNN__CONV2D_GENERAL, CLCNN__CONV2D_GENERAL}, 8, 1024, 1, 1, 0},
    .gemm = {CLCNN__GEMM_TILED, 32, 4, 8},
    .pointwise = {16, 8, 64},
    .pool2d = {32, 32, 1, 64, 1},
    .batchnorm = {0, 4096, 1, 1, 16384, 4096, 32, 16, 16},
    .dropout = {16, CLCNN__DROPOUT_BITS},
    .optim = {16, 64},
    .adaptive_pool = {0, 64, 32},
};

/* GPUs: one element (or small tile) per work-item so that neighbours read
 * neighbouring memory, work-group tiles and trees in local memory, CLBlast
 * for GEMM, dropout masks drawn again rather than stored (scalar Philox ran
 * at ~1000 G words/s on an H200, far faster than memory). */
static const clcnn__device_choices gpu_row = {
    .conv2d = {{CLCNN__CONV2D_TILED, CLCNN__CONV2D_GENERAL, CLCNN__CONV2D_GENERAL}, 1, 4, 0, 2, 1},
    .gemm = {CLCNN__GEMM_CLBLAST, 16, 0, 0},
    .pointwise = {4, 1, 256},
    .pool2d = {1, 1, 0, 128, 0},
    .batchnorm = {1, 4096, 256, 16, 1, 256, 32, 0, 0},
    .dropout = {1, CLCNN__DROPOUT_REGENERATE},
    .optim = {4, 256},
    .adaptive_pool = {1, 64, 1},
};

/* Every other device (accelerators, unknown types): the GPU row's shapes
 * with the library's own GEMM and the general convolution, which take
 * anything. */
static const clcnn__device_choices other_row = {
    .conv2d =
        {{CLCNN__CONV2D_GENERAL, CLCNN__CONV2D_GENERAL, CLCNN__CONV2D_GENERAL}, 1, 4, 0, 2, 1},
    .gemm = {CLCNN__GEMM_TILED, 16, 0, 0},
    .pointwise = {4, 1, 64},
    .pool2d = {1, 1, 0, 64, 0},
    .batchnorm = {1, 4096, 256, 16, 1, 256, 32, 0, 0},
    .dropout = {1, CLCNN__DROPOUT_REGENERATE},
    .optim = {4, 64},
    .adaptive_pool = {1, 64, 1},
};

/* ---------------------------------------------------------- device rows */

/* The Oclgrind simulator calls itself a GPU (and a CPU): run the library's
 * own GEMM there, which is what its checks are for, not CLBlast's. */
static void oclgrind_row(clcnn__device_traits *traits, clcnn__device_choices *choices) {
    (void)traits;
    choices->gemm = (clcnn__gemm_choices){CLCNN__GEMM_TILED, 16, 0, 0};
}

/* Mesa's llvmpipe (rusticl, Clover) ends every loop of a work-item once all
 * loops together have taken 65535 trips (LP_MAX_TGSI_LOOP_ITERATIONS in
 * gallivm, "shared between every loop"): the kernel then goes on with wrong
 * sums and no error. Reproducer: one work-item running
 * `for (int i = 0; i < n; i++) out[i] = in[i];` with n = 65536 leaves
 * out[65535] unwritten. Its JIT also spent more than five minutes on one
 * float16 kernel (clcnn-bench's peak_fma_float16, eight chains) that POCL
 * builds in a second, so nothing wider than float8 is built for it where a
 * choice exists. */
static void llvmpipe_row(clcnn__device_traits *traits, clcnn__device_choices *choices) {
    (void)choices;
    traits->loop_trip_limit = 65535;
    traits->widest_vector = 8;
}

/* A row for the devices whose vendor and name contain the given texts
 * (NULL: any), case-sensitively (the drivers' own spellings). */
typedef struct device_row {
    const char *vendor;
    const char *device_name;
    void (*apply)(clcnn__device_traits *traits, clcnn__device_choices *choices);
} device_row;

static const device_row device_rows[] = {
    {NULL, "Oclgrind", oclgrind_row},
    {NULL, "llvmpipe", llvmpipe_row},
};

static int row_matches(const device_row *row, const clcnn_device_info *info) {
    return (row->vendor == NULL || strstr(info->vendor, row->vendor) != NULL) &&
           (row->device_name == NULL || strstr(info->device_name, row->device_name) != NULL);
}

const clcnn__device_choices *clcnn__device_class_row(clcnn_device_type kernel_class) {
    return kernel_class == CLCNN_DEVICE_TYPE_CPU   ? &cpu_row
           : kernel_class == CLCNN_DEVICE_TYPE_GPU ? &gpu_row
                                                   : &other_row;
}

/* The class row, then every matching device row in table order. */
static void apply_rows(const clcnn_device_info *info, clcnn__device_traits *traits,
                       clcnn__device_choices *choices) {
    *choices = *clcnn__device_class_row(traits->kernel_class);
    for (size_t i = 0; i < sizeof device_rows / sizeof device_rows[0]; i++)
        if (row_matches(&device_rows[i], info))
            device_rows[i].apply(traits, choices);
}

/* ------------------------------------------------- class and test clamps */

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

clcnn_status clcnn__device_table_resolve(clcnn_device_info *info,
                                         const clcnn_context_options *options,
                                         clcnn__device_traits *traits,
                                         clcnn__device_choices *choices, char *message,
                                         size_t message_size) {
    traits->kernel_class = class_of_type(info->type);
    traits->loop_trip_limit = SIZE_MAX;
    traits->widest_vector = 16;
    const char *class_text = option_or_environment(options->device_class, "CLCNN_DEVICE_CLASS");
    clcnn_status status = CLCNN_OK;
    if (class_text != NULL)
        status = parse_class(class_text, &traits->kernel_class, message, message_size);
    const char *limits = option_or_environment(options->device_limits, "CLCNN_DEVICE_LIMITS");
    if (status == CLCNN_OK && limits != NULL)
        status = apply_limits(limits, info, message, message_size);
    if (status == CLCNN_OK)
        apply_rows(info, traits, choices);
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
