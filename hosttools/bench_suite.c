/* clcnn-bench's basic benchmarks: start-up time, kernel launch cost, device
 * copies and host transfers, with the names of docs/benchmarks.md (and
 * `peak_fma`, in bench_peak.c). Device times come from profiling events
 * where they can be believed (bench_device_time_usable), else from the host
 * clock, as launch latency and start-up always do. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "clcnn/opencl.h"

#define MIB ((size_t)1 << 20)
#define COPY_BYTES (256 * MIB)
#define TRANSFER_BYTES (64 * MIB)
#define WARMUP_RUNS 2
#define WARMUP_LAUNCHES 20
#define PIPELINED_LAUNCHES 1000
#define STARTUP_TARGET_RATIO 0.1
#define COPY_FILL_VALUE 1.5f

const char *const bench_startup_names[BENCH_STARTUP_MAX] = {"startup_cold", "startup_warm"};
const size_t bench_startup_name_count = sizeof bench_startup_names / sizeof bench_startup_names[0];

/* --------------------------------------------------------------- start-up */

/* One start-up: a context on the device plus every program, through the
 * disk cache in cache_dir. */
static int startup_once(const bench_run *run, const char *cache_dir, double *ms,
                        clcnn_cache_stats *stats) {
    char error[2048] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.device = run->device_spec;
    options.disk_cache = CLCNN_CACHE_ON;
    options.cache_dir = cache_dir;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_context *ctx = NULL;
    double start = bench_now_ms();
    clcnn_status status = clcnn_context_create(&options, &ctx);
    if (status != CLCNN_OK)
        return bench_fail_message("creating a context", status, error);
    status = clcnn_context_prepare_programs(ctx);
    *ms = bench_now_ms() - start;
    if (status == CLCNN_OK)
        status = clcnn_context_cache_stats(ctx, stats);
    int result = status == CLCNN_OK ? 0 : bench_fail("preparing programs", status, ctx);
    clcnn_context_destroy(ctx);
    return result;
}

static void add_cache_extras(bench_result *result, const clcnn_cache_stats *stats) {
    bench_result_extra(result, "builds", (double)stats->builds);
    bench_result_extra(result, "disk_hits", (double)stats->disk_hits);
}

/* Cold is one sample: only the first start-up in a process finds the
 * driver's own kernel cache (POCL_CACHE_DIR, set by main) empty too. */
static int startup_cold(const bench_run *run, const char *cache_dir, bench_result *result) {
    clcnn_cache_stats stats;
    double ms = 0.0;
    if (startup_once(run, cache_dir, &ms, &stats) != 0)
        return -1;
    bench_result_init(result, "startup_cold", "ms");
    result->ms = result->value = ms;
    result->samples = 1;
    add_cache_extras(result, &stats);
    return 0;
}

static int startup_warm(const bench_run *run, const char *cache_dir, double cold_ms,
                        double *samples, bench_result *result) {
    clcnn_cache_stats stats;
    double warmup_ms = 0.0;
    if (startup_once(run, cache_dir, &warmup_ms, &stats) != 0)
        return -1;
    size_t count = bench_sample_count(run->repeats, warmup_ms);
    for (size_t i = 0; i < count; i++)
        if (startup_once(run, cache_dir, &samples[i], &stats) != 0)
            return -1;
    bench_result_init(result, "startup_warm", "ms");
    result->ms = result->value = bench_median(samples, count);
    result->samples = count;
    double ratio = result->ms / cold_ms;
    bench_result_extra(result, "ratio_to_cold", ratio);
    bench_result_extra(result, "target_ratio", STARTUP_TARGET_RATIO);
    bench_result_flag(result, "meets_target", ratio <= STARTUP_TARGET_RATIO);
    add_cache_extras(result, &stats);
    return 0;
}

/* startup_warm needs the cold run before it, selected or not. */
int bench_run_startup(const bench_run *run, double *samples, bench_result *results, size_t *count) {
    int want_cold = bench_selected(run->filter, "startup_cold");
    int want_warm = bench_selected(run->filter, "startup_warm");
    *count = 0;
    if (!want_cold && !want_warm)
        return 0;
    char *cache_dir = bench_make_temp_dir(run->temp_root, "startup-");
    if (cache_dir == NULL)
        return bench_fail_message("making a cache directory", CLCNN_ERROR_IO, run->temp_root);
    bench_result cold;
    int result = startup_cold(run, cache_dir, &cold);
    if (result == 0 && want_cold)
        results[(*count)++] = cold;
    if (result == 0 && want_warm) {
        result = startup_warm(run, cache_dir, cold.ms, samples, &results[*count]);
        *count += result == 0;
    }
    bench_remove_tree(cache_dir);
    free(cache_dir);
    return result;
}

/* ----------------------------------------------------------------- helpers */

static int finish_queue(clcnn_context *ctx, const char *what) {
    clcnn_status status = clcnn_context_finish(ctx);
    return status == CLCNN_OK ? 0 : bench_fail(what, status, ctx);
}

/* An OpenCL call of the tool's own that failed. */
static int fail_cl(const char *what, const char *call, cl_int err) {
    char message[96];
    snprintf(message, sizeof message, "%s failed with OpenCL error %d", call, (int)err);
    return bench_fail_message(what, CLCNN_ERROR_OPENCL, message);
}

static size_t round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

/* ------------------------------------------------------------------ launch */

static int launch_and_finish(clcnn_context *ctx, clcnn_kernel *kernel, double *ms) {
    const size_t global = 1;
    double start = bench_now_ms();
    clcnn_status status = clcnn_kernel_launch(kernel, 1, &global, NULL);
    if (status != CLCNN_OK)
        return bench_fail("launching empty_kernel", status, ctx);
    int result = finish_queue(ctx, "launching empty_kernel");
    *ms = bench_now_ms() - start;
    return result;
}

/* Many launches, one finish: the cost of a launch inside a training step. */
static int launch_pipelined(clcnn_context *ctx, clcnn_kernel *kernel, double *ms_per_launch) {
    const size_t global = 1;
    double start = bench_now_ms();
    for (size_t i = 0; i < PIPELINED_LAUNCHES; i++) {
        clcnn_status status = clcnn_kernel_launch(kernel, 1, &global, NULL);
        if (status != CLCNN_OK)
            return bench_fail("launching empty_kernel", status, ctx);
    }
    int result = finish_queue(ctx, "launching empty_kernel");
    *ms_per_launch = (bench_now_ms() - start) / PIPELINED_LAUNCHES;
    return result;
}

/* Warm-up launches, then `count` samples of each kind. */
static int launch_samples(bench_session *s, clcnn_context *ctx, clcnn_kernel *kernel,
                          size_t count) {
    double ignored = 0.0;
    for (size_t i = 0; i < WARMUP_LAUNCHES; i++)
        if (launch_and_finish(ctx, kernel, &ignored) != 0)
            return -1;
    for (size_t i = 0; i < count; i++)
        if (launch_and_finish(ctx, kernel, &s->samples[i]) != 0 ||
            launch_pipelined(ctx, kernel, &s->wall[i]) != 0)
            return -1;
    return 0;
}

static int bench_launch(bench_session *s, const bench_entry *entry, bench_result *result) {
    (void)entry;
    clcnn_context *ctx = NULL;
    clcnn_kernel *kernel = NULL;
    if (bench_session_context(s, 0, &ctx) != 0)
        return -1;
    clcnn_status status =
        clcnn_kernel_create_builtin(ctx, "util.cl", NULL, "empty_kernel", &kernel);
    if (status != CLCNN_OK)
        return bench_fail("getting empty_kernel", status, ctx);
    size_t count = s->run->repeats;
    int failed = launch_samples(s, ctx, kernel, count) != 0;
    clcnn_kernel_destroy(kernel);
    if (failed)
        return -1;
    bench_result_init(result, "launch", "us");
    result->ms = bench_median(s->samples, count);
    result->value = result->ms * 1e3;
    result->samples = count;
    bench_result_extra(result, "pipelined_us", bench_median(s->wall, count) * 1e3);
    bench_result_extra(result, "pipelined_launches", PIPELINED_LAUNCHES);
    return 0;
}

/* -------------------------------------------------------- timed device ops */

typedef enum op_kind { OP_COPY_BUFFER, OP_COPY_KERNEL, OP_WRITE, OP_READ } op_kind;

/* One repeatable command: a copy between two buffers, or a transfer between
 * `host` and `dst` (write) or `src` (read). */
typedef struct device_op {
    op_kind kind;
    const char *name; /* benchmark name, for messages */
    cl_command_queue queue;
    cl_mem src;
    cl_mem dst;
    clcnn_kernel *kernel;
    void *host;
    size_t bytes;
} device_op;

/* Enqueues the command of the tool's own; *call names it. */
static cl_int op_enqueue_cl(const device_op *op, cl_event *event, const char **call) {
    switch (op->kind) {
    case OP_COPY_BUFFER:
        *call = "clEnqueueCopyBuffer";
        return clEnqueueCopyBuffer(op->queue, op->src, op->dst, 0, 0, op->bytes, 0, NULL, event);
    case OP_COPY_KERNEL:
        break; /* the library's launch: op_enqueue */
    case OP_WRITE:
        *call = "clEnqueueWriteBuffer";
        return clEnqueueWriteBuffer(op->queue, op->dst, CL_FALSE, 0, op->bytes, op->host, 0, NULL,
                                    event);
    case OP_READ:
        *call = "clEnqueueReadBuffer";
        return clEnqueueReadBuffer(op->queue, op->src, CL_FALSE, 0, op->bytes, op->host, 0, NULL,
                                   event);
    }
    *call = "enqueueing";
    return CL_INVALID_VALUE;
}

/* Enqueues the command, giving its event; non-zero on failure, reported. */
static int op_enqueue(clcnn_context *ctx, const device_op *op, cl_event *event) {
    if (op->kind == OP_COPY_KERNEL) {
        size_t global = round_up(op->bytes / 16, 256);
        clcnn_status status = clcnn_kernel_launch_cl_event(op->kernel, 1, &global, NULL, event);
        return status == CLCNN_OK ? 0 : bench_fail(op->name, status, ctx);
    }
    const char *call = NULL;
    cl_int err = op_enqueue_cl(op, event, &call);
    return err == CL_SUCCESS ? 0 : fail_cl(op->name, call, err);
}

static cl_int event_device_ms(cl_event event, double *ms) {
    cl_ulong start = 0, end = 0;
    cl_int err =
        clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
    if (err == CL_SUCCESS)
        err = clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
    *ms = end > start ? (double)(end - start) / 1e6 : 0.0;
    return err;
}

/* Runs the command once, waiting for it: device time (profiling) and host
 * wall time, in milliseconds. */
static int op_run(clcnn_context *ctx, const device_op *op, double *device_ms, double *wall_ms) {
    cl_event event = NULL;
    double start = bench_now_ms();
    if (op_enqueue(ctx, op, &event) != 0)
        return -1;
    const char *call = "clWaitForEvents";
    cl_int err = clWaitForEvents(1, &event);
    *wall_ms = bench_now_ms() - start;
    if (err == CL_SUCCESS) {
        call = "clGetEventProfilingInfo";
        err = event_device_ms(event, device_ms);
    }
    clReleaseEvent(event);
    return err == CL_SUCCESS ? 0 : fail_cl(op->name, call, err);
}

/* Warm-up, then the median of the samples: device times where every one is
 * usable, else host wall times; `traffic` bytes cross memory per run (read
 * + write for a copy). */
static int op_measure(bench_session *s, clcnn_context *ctx, const device_op *op, size_t traffic,
                      bench_result *result) {
    double device_ms = 0.0, wall_ms = 0.0;
    for (size_t i = 0; i < WARMUP_RUNS; i++)
        if (op_run(ctx, op, &device_ms, &wall_ms) != 0)
            return -1;
    size_t count = bench_sample_count(s->run->repeats, wall_ms);
    int device_timed = s->device_timestamps;
    for (size_t i = 0; i < count; i++) {
        if (op_run(ctx, op, &s->samples[i], &s->wall[i]) != 0)
            return -1;
        device_timed = device_timed && bench_device_time_usable(s->samples[i], s->wall[i]);
    }
    double wall_median = bench_median(s->wall, count);
    bench_result_init(result, op->name, "gbps");
    result->ms = device_timed ? bench_median(s->samples, count) : wall_median;
    result->value = (double)traffic / (result->ms * 1e6);
    result->samples = count;
    bench_result_extra(result, "mib", (double)op->bytes / (double)MIB);
    bench_result_extra(result, "wall_ms", wall_median);
    bench_result_flag(result, "device_timed", device_timed);
    return 0;
}

/* ------------------------------------------------------------------ copies */

/* `wanted` bytes, or less when two buffers of it would not fit the device. */
static size_t buffer_bytes(const clcnn_device_info *info, size_t wanted, size_t buffers) {
    uint64_t bytes = wanted;
    if (info->max_alloc_bytes < bytes)
        bytes = info->max_alloc_bytes;
    if (info->global_mem_bytes / (2 * buffers) < bytes)
        bytes = info->global_mem_bytes / (2 * buffers);
    return (size_t)(bytes >= MIB ? bytes - bytes % MIB : bytes - bytes % 16);
}

static int make_buffer(clcnn_context *ctx, size_t bytes, clcnn_tensor **out) {
    size_t count = bytes / sizeof(float);
    clcnn_status status = clcnn_tensor_create(ctx, 1, &count, out);
    return status == CLCNN_OK ? 0 : bench_fail("creating a tensor", status, ctx);
}

/* The copy landed: the first and last elements hold the source's value. */
static int check_copy(clcnn_context *ctx, const char *name, clcnn_tensor *dst) {
    size_t count = clcnn_tensor_numel(dst);
    float first = 0.0f, last = 0.0f;
    clcnn_status status = clcnn_tensor_read(dst, 0, &first, 1);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read(dst, count - 1, &last, 1);
    if (status != CLCNN_OK)
        return bench_fail("reading back the copy", status, ctx);
    if (first == COPY_FILL_VALUE && last == COPY_FILL_VALUE)
        return 0;
    fflush(stdout);
    fprintf(stderr, "clcnn-bench: %s: wrong data after the copy (%g and %g, expected %g)\n", name,
            (double)first, (double)last, (double)COPY_FILL_VALUE);
    return -1;
}

static int set_copy_kernel(clcnn_context *ctx, device_op *op) {
    clcnn_status status =
        clcnn_kernel_create_builtin(ctx, "util.cl", NULL, "copy_float4", &op->kernel);
    if (status != CLCNN_OK)
        return bench_fail("getting copy_float4", status, ctx);
    status = clcnn_kernel_set_mem(op->kernel, 0, op->src);
    if (status == CLCNN_OK)
        status = clcnn_kernel_set_mem(op->kernel, 1, op->dst);
    if (status == CLCNN_OK)
        status = clcnn_kernel_set_uint(op->kernel, 2, (uint32_t)(op->bytes / 16));
    return status == CLCNN_OK ? 0 : bench_fail(op->name, status, ctx);
}

/* Two buffers, the source filled, and the kernel's arguments set. */
static int prepare_copy(clcnn_context *ctx, device_op *op, clcnn_tensor **src, clcnn_tensor **dst) {
    if (make_buffer(ctx, op->bytes, src) != 0 || make_buffer(ctx, op->bytes, dst) != 0)
        return -1;
    clcnn_status status = clcnn_tensor_fill(*src, COPY_FILL_VALUE);
    if (status != CLCNN_OK)
        return bench_fail("filling a tensor", status, ctx);
    op->queue = clcnn_context_cl_queue(ctx);
    op->src = clcnn_tensor_cl_mem(*src);
    op->dst = clcnn_tensor_cl_mem(*dst);
    return op->kind == OP_COPY_KERNEL ? set_copy_kernel(ctx, op) : 0;
}

static int run_copy(bench_session *s, clcnn_context *ctx, device_op *op, bench_result *result) {
    clcnn_tensor *src = NULL, *dst = NULL;
    int failed = prepare_copy(ctx, op, &src, &dst) != 0 ||
                 op_measure(s, ctx, op, 2 * op->bytes, result) != 0 ||
                 check_copy(ctx, op->name, dst) != 0;
    clcnn_kernel_destroy(op->kernel);
    op->kernel = NULL;
    clcnn_tensor_destroy(src);
    clcnn_tensor_destroy(dst);
    clcnn_context_trim_pool(ctx);
    return failed ? -1 : 0;
}

static int bench_copy_with(bench_session *s, op_kind kind, const char *name, bench_result *result) {
    clcnn_context *ctx = NULL;
    if (bench_session_context(s, 1, &ctx) != 0)
        return -1;
    device_op op = {kind, name, NULL, NULL, NULL, NULL, NULL, 0};
    op.bytes = buffer_bytes(s->run->info, COPY_BYTES, 2);
    return run_copy(s, ctx, &op, result);
}

static int bench_copy(bench_session *s, const bench_entry *entry, bench_result *result) {
    (void)entry;
    if (bench_copy_with(s, OP_COPY_BUFFER, "copy", result) != 0)
        return -1;
    s->copy_gbps = result->value;
    s->run->report->copy_gbps = result->value; /* gbps results' fraction_of_peak */
    return 0;
}

static int bench_copy_kernel(bench_session *s, const bench_entry *entry, bench_result *result) {
    (void)entry;
    return bench_copy_with(s, OP_COPY_KERNEL, "copy_kernel", result);
}

int bench_session_copy_gbps(bench_session *s, double *out) {
    if (s->copy_gbps <= 0.0) {
        bench_result unreported;
        if (bench_copy(s, NULL, &unreported) != 0)
            return -1;
    }
    *out = s->copy_gbps;
    return 0;
}

/* --------------------------------------------------------------- transfers */

static int bench_transfer(bench_session *s, op_kind kind, const char *name, bench_result *result) {
    clcnn_context *ctx = NULL;
    if (bench_session_context(s, 1, &ctx) != 0)
        return -1;
    device_op op = {kind, name, NULL, NULL, NULL, NULL, NULL, 0};
    op.bytes = buffer_bytes(s->run->info, TRANSFER_BYTES, 1);
    op.host = malloc(op.bytes);
    if (op.host == NULL)
        return bench_fail_message(name, CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    memset(op.host, 0, op.bytes); /* touch every page before timing */
    clcnn_tensor *tensor = NULL;
    int failed = make_buffer(ctx, op.bytes, &tensor) != 0;
    if (!failed) {
        op.queue = clcnn_context_cl_queue(ctx);
        op.src = op.dst = clcnn_tensor_cl_mem(tensor);
        failed = op_measure(s, ctx, &op, op.bytes, result) != 0;
    }
    clcnn_tensor_destroy(tensor);
    clcnn_context_trim_pool(ctx);
    free(op.host);
    return failed ? -1 : 0;
}

static int bench_write(bench_session *s, const bench_entry *entry, bench_result *result) {
    (void)entry;
    return bench_transfer(s, OP_WRITE, "write", result);
}

static int bench_read(bench_session *s, const bench_entry *entry, bench_result *result) {
    (void)entry;
    return bench_transfer(s, OP_READ, "read", result);
}

/* ------------------------------------------------------------------- suite */

const bench_entry bench_basic_entries[] = {
    {"launch", bench_launch, NULL},     {"copy", bench_copy, NULL},
    {"peak_fma", bench_peak_fma, NULL}, {"copy_kernel", bench_copy_kernel, NULL},
    {"write", bench_write, NULL},       {"read", bench_read, NULL}};
const size_t bench_basic_entry_count = sizeof bench_basic_entries / sizeof bench_basic_entries[0];
