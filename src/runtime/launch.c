/* The one way the library launches a kernel (runtime/internal.h,
 * clcnn__launch): typed arguments set in order, the first failure kept and
 * reported with the kernel's name and the argument's index, work sizes
 * checked against what the compiled kernel allows before the driver is
 * asked. Only this file calls clSetKernelArg and clEnqueueNDRangeKernel. */
#include <stdint.h>
#include <stdio.h>

#include "runtime/internal.h"

/* The kernel's function name, for messages ("?" when the driver will not
 * say). */
static void kernel_name(cl_kernel kernel, char *name, size_t size) {
    if (kernel == NULL ||
        clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, size, name, NULL) != CL_SUCCESS)
        snprintf(name, size, "?");
    name[size - 1] = '\0';
}

clcnn__launch clcnn__launch_begin(clcnn_context *ctx, cl_kernel kernel) {
    clcnn__launch launch = {ctx, kernel, 0, CL_SUCCESS, 0, NULL};
    return launch;
}

clcnn_status clcnn__launch_prepare(clcnn_context *ctx, const char *source, const char *options,
                                   const char *name, clcnn__launch *out) {
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, source, options, name, &kernel);
    *out = clcnn__launch_begin(ctx, kernel);
    return status;
}

/* Sets the next argument unless an earlier one failed. */
static void set(clcnn__launch *launch, size_t size, const void *value) {
    if (launch->kernel != NULL && launch->error == CL_SUCCESS && launch->range_error == NULL) {
        cl_int err = clSetKernelArg(launch->kernel, launch->next, size, value);
        if (err != CL_SUCCESS) {
            launch->error = err;
            launch->failed_index = launch->next;
        }
    }
    launch->next++;
}

/* Records that the next argument's value does not fit its kernel type. */
static void out_of_range(clcnn__launch *launch, const char *type) {
    if (launch->error == CL_SUCCESS && launch->range_error == NULL) {
        launch->range_error = type;
        launch->failed_index = launch->next;
    }
    launch->next++;
}

void clcnn__arg_mem(clcnn__launch *launch, cl_mem mem) {
    set(launch, sizeof mem, &mem);
}

void clcnn__arg_tensor(clcnn__launch *launch, const clcnn_tensor *tensor) {
    clcnn__arg_mem(launch, tensor->storage->mem);
}

/* A 32-bit argument of `type` whose values run up to `most`: an int up to
 * INT32_MAX has the bits of the same uint. */
static void set_32_bits(clcnn__launch *launch, size_t value, size_t most, const char *type) {
    if (value > most) {
        out_of_range(launch, type);
        return;
    }
    cl_uint v = (cl_uint)value;
    set(launch, sizeof v, &v);
}

void clcnn__arg_int(clcnn__launch *launch, size_t value) {
    set_32_bits(launch, value, INT32_MAX, "int");
}

void clcnn__arg_uint(clcnn__launch *launch, size_t value) {
    set_32_bits(launch, value, UINT32_MAX, "uint");
}

void clcnn__arg_int_vector(clcnn__launch *launch, const size_t *values, size_t count) {
    cl_int v[16] = {0};
    for (size_t i = 0; i < count && i < 16; i++) {
        if (values[i] > INT32_MAX) {
            out_of_range(launch, "int vector");
            return;
        }
        v[i] = (cl_int)values[i];
    }
    set(launch, count * sizeof(cl_int), v);
}

void clcnn__arg_ulong(clcnn__launch *launch, uint64_t value) {
    cl_ulong v = value;
    set(launch, sizeof v, &v);
}

void clcnn__arg_float(clcnn__launch *launch, float value) {
    cl_float v = value;
    set(launch, sizeof v, &v);
}

void clcnn__arg_local(clcnn__launch *launch, size_t bytes) {
    set(launch, bytes, NULL);
}

void clcnn__arg_bytes(clcnn__launch *launch, size_t size, const void *value) {
    set(launch, size, value);
}

/* The failure of an argument, if any, as the context's last error. */
static clcnn_status argument_failure(const clcnn__launch *launch) {
    char name[128];
    kernel_name(launch->kernel, name, sizeof name);
    if (launch->range_error != NULL)
        return clcnn__fail(launch->ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "kernel '%s', argument %u: the value does not fit the kernel's %s", name,
                           (unsigned)launch->failed_index, launch->range_error);
    return clcnn__fail(launch->ctx, clcnn__status_from_cl(launch->error),
                       "kernel '%s', argument %u: clSetKernelArg failed: %s (%d)", name,
                       (unsigned)launch->failed_index, clcnn__cl_error_name(launch->error),
                       (int)launch->error);
}

/* Whether the work-group fits the compiled kernel and divides the range. */
static clcnn_status check_work_sizes(const clcnn__launch *launch, cl_uint dims,
                                     const size_t *global, const size_t *local) {
    if (local == NULL)
        return CLCNN_OK;
    size_t items = 1;
    for (cl_uint i = 0; i < dims; i++) {
        items *= local[i];
        if (local[i] == 0 || global[i] % local[i] != 0) {
            char name[128];
            kernel_name(launch->kernel, name, sizeof name);
            return clcnn__fail(launch->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                               "kernel '%s': global size %zu in dimension %u is not a multiple "
                               "of the work-group size %zu",
                               name, global[i], (unsigned)i, local[i]);
        }
    }
    size_t allowed = 0;
    clcnn_status status = clcnn__kernel_work_group_limit(launch->ctx, launch->kernel, &allowed);
    if (status == CLCNN_OK && items > allowed) {
        char name[128];
        kernel_name(launch->kernel, name, sizeof name);
        return clcnn__fail(launch->ctx, CLCNN_ERROR_UNSUPPORTED,
                           "kernel '%s': a work-group of %zu work-items, where the compiled "
                           "kernel allows %zu on this device",
                           name, items, allowed);
    }
    return status;
}

clcnn_status clcnn__launch_run(clcnn__launch *launch, cl_uint dims, const size_t *global,
                               const size_t *local) {
    return clcnn__launch_run_event(launch, dims, global, local, NULL);
}

clcnn_status clcnn__launch_run_event(clcnn__launch *launch, cl_uint dims, const size_t *global,
                                     const size_t *local, cl_event *out) {
    if (out != NULL)
        *out = NULL;
    if (launch->kernel == NULL)
        return clcnn__fail(launch->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "launching a kernel that was not built");
    if (launch->error != CL_SUCCESS || launch->range_error != NULL)
        return argument_failure(launch);
    for (cl_uint i = 0; i < dims; i++)
        if (global[i] == 0)
            return CLCNN_OK; /* nothing to do */
    clcnn_status status = check_work_sizes(launch, dims, global, local);
    if (status != CLCNN_OK)
        return status;
    clcnn_context *ctx = launch->ctx;
    cl_event event = NULL;
    uint64_t host_start = ctx->profile != NULL ? clcnn__profile_launch_begins(ctx) : 0;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, launch->kernel, dims, NULL, global, local, 0,
                                        NULL, ctx->profile != NULL || out != NULL ? &event : NULL);
    if (err == CL_SUCCESS) {
        ctx->launches++;
        if (out != NULL && clRetainEvent(event) == CL_SUCCESS)
            *out = event;
        if (ctx->profile != NULL)
            clcnn__profile_record(ctx, launch->kernel, event, host_start);
        else if (event != NULL)
            clReleaseEvent(event);
        return CLCNN_OK;
    }
    char name[128];
    kernel_name(launch->kernel, name, sizeof name);
    return clcnn__fail(ctx, clcnn__status_from_cl(err), "enqueueing kernel '%s': %s (%d)", name,
                       clcnn__cl_error_name(err), (int)err);
}

clcnn_status clcnn__launch_run_fitted(clcnn__launch *launch, cl_uint dims, const size_t *global,
                                      const size_t *preferred) {
    if (preferred == NULL || launch->kernel == NULL)
        return clcnn__launch_run(launch, dims, global, preferred);
    size_t local[3] = {1, 1, 1}, items = 1, allowed = 0;
    for (cl_uint i = 0; i < dims && i < 3; i++) {
        local[i] = preferred[i];
        items *= local[i];
    }
    clcnn_status status = clcnn__kernel_work_group_limit(launch->ctx, launch->kernel, &allowed);
    /* Halve the largest even side until the group fits: the global size,
     * a multiple of the preferred side, stays a multiple of the half. */
    while (status == CLCNN_OK && items > allowed) {
        cl_uint widest = 0;
        for (cl_uint i = 1; i < dims; i++)
            if (local[i] > local[widest])
                widest = i;
        if (local[widest] % 2 != 0)
            break; /* launch_run reports it */
        local[widest] /= 2;
        items /= 2;
    }
    return status == CLCNN_OK ? clcnn__launch_run(launch, dims, global, local) : status;
}

clcnn_status clcnn__enqueue_kernel(clcnn_context *ctx, cl_kernel kernel, cl_uint work_dim,
                                   const size_t *global, const size_t *local) {
    clcnn__launch launch = clcnn__launch_begin(ctx, kernel);
    return clcnn__launch_run_fitted(&launch, work_dim, global, local);
}
