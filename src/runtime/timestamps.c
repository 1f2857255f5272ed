/* Whether a device's profiling timestamps can be believed
 * (clcnn_context_check_timestamps in clcnn/profile.h). Drivers may fill
 * CL_PROFILING_COMMAND_START/END with placeholders: Mesa 22.3's rusticl
 * gives every command start 2 and end 3, so a 256 MiB copy seemed to take
 * 1 ns. A probe of two launches, compared with the host clock, tells. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "fill_layout.h"
#include "clcnn/profile.h"
#include "runtime/internal.h"

uint64_t clcnn__host_clock_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int clcnn__timestamps_plausible(const uint64_t *stamps, size_t count, uint64_t wall_ns) {
    uint64_t device_ns = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t start = stamps[2 * i], end = stamps[2 * i + 1];
        /* Commands of an in-order queue run one after the other. */
        if (start == 0 || end <= start || (i > 0 && start < stamps[2 * i - 1]))
            return 0;
        device_ns += end - start;
    }
    /* The commands cannot have run longer than the host waited for them
     * (with a millisecond for clocks read at different moments). */
    return count == 0 || device_ns <= wall_ns + 1000000u;
}

/* Two fills of a buffer in a row, timed by the device and by the host. */
static clcnn_status probe(clcnn_context *ctx, int *plausible) {
    enum { ELEMENTS = 1 << 16, LAUNCHES = 2 };
    cl_mem buffer = NULL;
    clcnn_status status = clcnn__buffer_acquire(ctx, ELEMENTS * sizeof(float), &buffer);
    if (status != CLCNN_OK)
        return status;
    cl_event events[LAUNCHES] = {NULL, NULL};
    const size_t global = ELEMENTS / FILL_CHUNK;
    cl_int err = clFinish(ctx->queue);
    uint64_t begin = clcnn__host_clock_ns();
    for (int i = 0; status == CLCNN_OK && i < LAUNCHES; i++) {
        clcnn__launch launch;
        status = clcnn__launch_prepare(ctx, "util.cl", NULL, "fill_float", &launch);
        clcnn__arg_mem(&launch, buffer);
        clcnn__arg_ulong(&launch, ELEMENTS);
        clcnn__arg_float(&launch, 0.0f);
        if (status == CLCNN_OK)
            status = clcnn__launch_run_event(&launch, 1, &global, NULL, &events[i]);
    }
    if (err == CL_SUCCESS && status == CLCNN_OK)
        err = clFinish(ctx->queue);
    uint64_t wall_ns = clcnn__host_clock_ns() - begin;
    uint64_t stamps[2 * LAUNCHES] = {0};
    for (int i = 0; err == CL_SUCCESS && status == CLCNN_OK && i < LAUNCHES; i++) {
        cl_ulong start = 0, end = 0;
        err = clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_START, sizeof start, &start,
                                      NULL);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_END, sizeof end, &end,
                                          NULL);
        stamps[2 * i] = start;
        stamps[2 * i + 1] = end;
    }
    for (int i = 0; i < LAUNCHES; i++)
        if (events[i] != NULL)
            clReleaseEvent(events[i]);
    clcnn__buffer_release(ctx, buffer);
    if (status != CLCNN_OK)
        return status;
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "clcnn_context_check_timestamps: probing the device");
    *plausible = clcnn__timestamps_plausible(stamps, LAUNCHES, wall_ns);
    return CLCNN_OK;
}

clcnn_status clcnn_context_check_timestamps(clcnn_context *context, int *plausible) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (plausible == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_check_timestamps: plausible is NULL");
    if (!context->profiling)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_context_check_timestamps: the context was created without "
                           "enable_profiling (clcnn_context_options)");
    if (context->timestamps_plausible < 0) {
        int result = 0;
        clcnn_status status = probe(context, &result);
        if (status != CLCNN_OK)
            return status;
        context->timestamps_plausible = result;
    }
    *plausible = context->timestamps_plausible;
    return CLCNN_OK;
}
