/* Contexts: one OpenCL context, device and in-order queue, plus the caches
 * and pool that hang off them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

clcnn_context_options clcnn_context_options_default(void) {
    clcnn_context_options options;
    memset(&options, 0, sizeof options);
    options.device = NULL;
    options.enable_profiling = 0;
    options.disk_cache = CLCNN_CACHE_DEFAULT;
    options.cache_dir = NULL;
    return options;
}

static clcnn_status report(const clcnn_context_options *options, clcnn_status status,
                           const char *message) {
    if (options->error_buffer != NULL && options->error_buffer_size > 0)
        snprintf(options->error_buffer, options->error_buffer_size, "%s", message);
    return status;
}

static clcnn_status report_cl(const clcnn_context_options *options, cl_int code, const char *what) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s (%d)", what, clcnn__cl_error_name(code), (int)code);
    return report(options, clcnn__status_from_cl(code), message);
}

/* Picks the device and copies its facts into ctx. */
static clcnn_status choose_device(clcnn_context *ctx, const clcnn_context_options *options) {
    clcnn_device_list *list = NULL;
    clcnn_status status = clcnn_device_list_create(&list);
    if (status != CLCNN_OK)
        return report(options, status,
                      status == CLCNN_ERROR_NO_PLATFORM
                          ? "no OpenCL platform with a device was found (is an ICD such as "
                            "pocl-opencl-icd installed?)"
                          : "enumerating OpenCL devices failed");
    const char *selector = options->device != NULL ? options->device : getenv("CLCNN_DEVICE");
    char message[2048];
    size_t index = 0;
    status = clcnn_device_list_select(list, selector, message, sizeof message, &index);
    if (status == CLCNN_OK) {
        ctx->info = list->infos[index];
        status = clcnn__device_table_resolve(&ctx->info, options, &ctx->traits, &ctx->choices,
                                             message, sizeof message);
    }
    if (status == CLCNN_OK) {
        ctx->platform = list->platforms[index];
        ctx->device = list->devices[index];
        ctx->extensions = clcnn__strdup(list->extensions[index]);
        if (ctx->extensions == NULL)
            status = report(options, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    } else {
        report(options, status, message);
    }
    clcnn_device_list_destroy(list);
    return status;
}

static clcnn_status open_queue(clcnn_context *ctx, const clcnn_context_options *options) {
    cl_int err = CL_SUCCESS;
    cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform,
                                          0};
    ctx->cl = clCreateContext(properties, 1, &ctx->device, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return report_cl(options, err, "clCreateContext");
    ctx->profiling = options->enable_profiling != 0;
    cl_command_queue_properties queue_properties = ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, queue_properties, &err);
    if (err != CL_SUCCESS)
        return report_cl(options, err, "clCreateCommandQueue");
    return CLCNN_OK;
}

clcnn_status clcnn_context_create(const clcnn_context_options *options, clcnn_context **out) {
    clcnn_context_options defaults = clcnn_context_options_default();
    if (options == NULL)
        options = &defaults;
    if (out == NULL)
        return report(options, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    clcnn_context *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return report(options, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    ctx->timestamps_plausible = -1;
    clcnn_status status = choose_device(ctx, options);
    if (status == CLCNN_OK)
        status = open_queue(ctx, options);
    if (status == CLCNN_OK) {
        status = clcnn__disk_cache_configure(ctx, options);
        if (status != CLCNN_OK)
            report(options, status, "out of host memory");
    }
    if (status != CLCNN_OK) {
        clcnn_context_destroy(ctx);
        return status;
    }
    *out = ctx;
    return CLCNN_OK;
}

void clcnn_context_destroy(clcnn_context *context) {
    if (context == NULL)
        return;
    if (context->upload_queue != NULL)
        clFinish(context->upload_queue);
    if (context->queue != NULL)
        clFinish(context->queue);
    clcnn__profile_discard(context);
    clcnn__programs_release(context);
    clcnn__pool_destroy(context);
    if (context->upload_queue != NULL)
        clReleaseCommandQueue(context->upload_queue);
    if (context->queue != NULL)
        clReleaseCommandQueue(context->queue);
    if (context->cl != NULL)
        clReleaseContext(context->cl);
    free(context->extensions);
    free(context->cache_dir);
    if (context->last_error != context->last_error_fallback)
        free(context->last_error);
    free(context);
}

clcnn_status clcnn_context_device_info(const clcnn_context *context, clcnn_device_info *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    *out = context->info;
    return CLCNN_OK;
}

/* Makes the compute queue wait for everything on the upload queue through
 * an event, then finishes the upload queue. clFinish on both queues alone
 * should be enough (it is a synchronisation point in OpenCL 1.2), but Mesa
 * 22.3's rusticl does not make a write on one queue visible to a read on
 * another unless an event links them (a driver bug; reproducer: write on
 * queue B without blocking, clFinish(B), clFinish(A), blocking read on A
 * still returns the old bytes; tests/test_tensor.c, test_upload_async). */
static cl_int join_upload_queue(clcnn_context *context) {
    cl_event uploads_done = NULL;
    cl_int err = clEnqueueMarkerWithWaitList(context->upload_queue, 0, NULL, &uploads_done);
    if (err == CL_SUCCESS)
        err = clEnqueueBarrierWithWaitList(context->queue, 1, &uploads_done, NULL);
    if (uploads_done != NULL)
        clReleaseEvent(uploads_done);
    return err == CL_SUCCESS ? clFinish(context->upload_queue) : err;
}

clcnn_status clcnn_context_finish(clcnn_context *context) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    cl_int err = context->upload_queue != NULL ? join_upload_queue(context) : CL_SUCCESS;
    if (err == CL_SUCCESS)
        err = clFinish(context->queue);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(context, err, "clcnn_context_finish: clFinish");
    return CLCNN_OK;
}

clcnn_status clcnn_context_memory_stats(const clcnn_context *context, clcnn_memory_stats *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    *out = context->memory;
    return CLCNN_OK;
}

clcnn_status clcnn_context_cache_stats(const clcnn_context *context, clcnn_cache_stats *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    *out = context->cache_stats;
    return CLCNN_OK;
}

cl_context clcnn_context_cl_context(const clcnn_context *context) {
    return context != NULL ? context->cl : NULL;
}

cl_device_id clcnn_context_cl_device(const clcnn_context *context) {
    return context != NULL ? context->device : NULL;
}

cl_command_queue clcnn_context_cl_queue(const clcnn_context *context) {
    return context != NULL ? context->queue : NULL;
}
