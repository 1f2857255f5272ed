/* clcnn-bench timed regions: warm-up, then the median of samples of work
 * that libclcnn calls enqueue, the queue drained before and after each
 * sample; profiling markers give device time where the device's timestamps
 * are plausible and every sample's device time is usable
 * (bench_device_time_usable), host wall time otherwise. Also counts the
 * kernel launches of a run (clcnn_context_launch_count). */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stdio.h>

#include "bench.h"
#include "clcnn/opencl.h"

#define WARMUP_RUNS 2

/* ---------------------------------------------------------- launch counter */

long bench_launch_count(const clcnn_context *ctx) {
    uint64_t launches = 0;
    if (clcnn_context_launch_count(ctx, &launches) != CLCNN_OK || launches > LONG_MAX)
        return -1;
    return (long)launches;
}

/* ----------------------------------------------------------------- markers */

static int marker(const bench_region *region, cl_event *out) {
    cl_int err = clEnqueueMarkerWithWaitList(clcnn_context_cl_queue(region->ctx), 0, NULL, out);
    if (err == CL_SUCCESS)
        return 0;
    *out = NULL;
    return -1;
}

/* Device time from the end of the marker before the run to the end of the
 * one after it; 0 when the driver gives no usable timestamps. */
static double marker_span_ms(cl_event before, cl_event after) {
    cl_ulong start = 0, end = 0;
    if (before == NULL || after == NULL ||
        clGetEventProfilingInfo(before, CL_PROFILING_COMMAND_END, sizeof start, &start, NULL) !=
            CL_SUCCESS ||
        clGetEventProfilingInfo(after, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) !=
            CL_SUCCESS ||
        start == 0 || end <= start)
        return 0.0;
    return (double)(end - start) / 1e6;
}

/* ------------------------------------------------------------------ regions */

static int finish(const bench_region *region) {
    clcnn_status status = clcnn_context_finish(region->ctx);
    return status == CLCNN_OK ? 0 : bench_fail(region->name, status, region->ctx);
}

/* One run: the queue drained, then the work and a drain again. *device_ms
 * is 0 without profiling timestamps. */
static int run_once(const bench_region *region, int profiling, double *wall_ms, double *device_ms) {
    if (finish(region) != 0)
        return -1;
    cl_event before = NULL, after = NULL;
    double start = bench_now_ms();
    if (profiling)
        marker(region, &before);
    int result = region->run(region->state);
    if (profiling && result == 0)
        marker(region, &after);
    if (result == 0)
        result = finish(region);
    *wall_ms = bench_now_ms() - start;
    *device_ms = result == 0 ? marker_span_ms(before, after) : 0.0;
    if (before != NULL)
        clReleaseEvent(before);
    if (after != NULL)
        clReleaseEvent(after);
    return result;
}

static int context_profiles(const bench_region *region) {
    cl_command_queue_properties properties = 0;
    cl_int err = clGetCommandQueueInfo(clcnn_context_cl_queue(region->ctx), CL_QUEUE_PROPERTIES,
                                       sizeof properties, &properties, NULL);
    return err == CL_SUCCESS && (properties & CL_QUEUE_PROFILING_ENABLE) != 0;
}

int bench_time_region(bench_session *s, const bench_region *region, bench_timing *out) {
    int profiling = s->device_timestamps && context_profiles(region);
    double wall_ms = 0.0, device_ms = 0.0;
    for (size_t i = 0; i < WARMUP_RUNS; i++)
        if (run_once(region, profiling, &wall_ms, &device_ms) != 0)
            return -1;
    size_t count = bench_sample_count(s->run->repeats, wall_ms);
    int device_timed = profiling;
    long launches_before = bench_launch_count(region->ctx);
    long launches = -1;
    for (size_t i = 0; i < count; i++) {
        if (run_once(region, profiling, &s->wall[i], &s->samples[i]) != 0)
            return -1;
        if (i == 0 && launches_before >= 0)
            launches = bench_launch_count(region->ctx) - launches_before;
        if (!bench_device_time_usable(s->samples[i], s->wall[i]))
            device_timed = 0;
    }
    out->samples = count;
    out->device_timed = device_timed;
    out->launches = launches;
    out->wall_ms = bench_median(s->wall, count);
    out->ms = device_timed ? bench_median(s->samples, count) : out->wall_ms;
    return 0;
}

void bench_result_from_timing(bench_result *result, const char *name, const char *unit,
                              const bench_timing *timing) {
    bench_result_init(result, name, unit);
    result->ms = timing->ms;
    result->value = timing->ms;
    result->samples = timing->samples;
    bench_result_extra(result, "wall_ms", timing->wall_ms);
    bench_result_flag(result, "device_timed", timing->device_timed);
    if (timing->launches >= 0)
        bench_result_extra(result, "launches", (double)timing->launches);
}
