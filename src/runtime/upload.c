/* Uploads that overlap computation: a second in-order queue on the context's
 * device (made on first use) carries host-to-device copies, and events tie
 * the two queues together — an upload waits for the work that last read its
 * buffer, and the compute queue waits for the upload before using it. */
#include <stdlib.h>

#include "internal.h"

static clcnn_status upload_queue(clcnn_context *ctx, cl_command_queue *out) {
    if (ctx->upload_queue == NULL) {
        cl_int err = CL_SUCCESS;
        ctx->upload_queue = clCreateCommandQueue(ctx->cl, ctx->device, 0, &err);
        if (err != CL_SUCCESS) {
            ctx->upload_queue = NULL;
            return clcnn__fail_cl(ctx, err, "creating the upload queue");
        }
    }
    *out = ctx->upload_queue;
    return CLCNN_OK;
}

static clcnn_status new_event(clcnn_context *ctx, clcnn_event **out) {
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    (*out)->ctx = ctx;
    return CLCNN_OK;
}

static clcnn_status check_event(clcnn_context *ctx, const clcnn_event *event, const char *what) {
    if (event != NULL && event->ctx != ctx)
        return clcnn__fail(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, "%s: event from another context",
                           what);
    return CLCNN_OK;
}

clcnn_status clcnn__upload_async(clcnn_context *ctx, cl_mem mem, size_t byte_offset, size_t bytes,
                                 const void *host, const clcnn_event *after, clcnn_event **out) {
    *out = NULL;
    cl_command_queue queue = NULL;
    clcnn_event *done = NULL;
    clcnn_status status = check_event(ctx, after, "upload");
    if (status == CLCNN_OK)
        status = upload_queue(ctx, &queue);
    if (status == CLCNN_OK)
        status = new_event(ctx, &done);
    if (status != CLCNN_OK)
        return status;
    cl_uint waits = after != NULL ? 1 : 0;
    const cl_event *wait_list = after != NULL ? &after->event : NULL;
    cl_int err = clEnqueueWriteBuffer(queue, mem, CL_FALSE, byte_offset, bytes, host, waits,
                                      wait_list, &done->event);
    if (err == CL_SUCCESS)
        err = clFlush(queue);
    if (err != CL_SUCCESS) {
        clcnn_event_destroy(done);
        return clcnn__fail_cl(ctx, err, "upload (clEnqueueWriteBuffer)");
    }
    *out = done;
    return CLCNN_OK;
}

clcnn_status clcnn_context_marker(clcnn_context *context, clcnn_event **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    clcnn_status status = new_event(context, out);
    if (status != CLCNN_OK)
        return clcnn__named(context, mark, __func__, status);
    cl_int err = clEnqueueMarkerWithWaitList(context->queue, 0, NULL, &(*out)->event);
    if (err == CL_SUCCESS)
        err = clFlush(context->queue);
    if (err != CL_SUCCESS) {
        clcnn_event_destroy(*out);
        *out = NULL;
        return clcnn__fail_cl(context, err, "clcnn_context_marker: clEnqueueMarkerWithWaitList");
    }
    return CLCNN_OK;
}

clcnn_status clcnn_context_wait_event(clcnn_context *context, const clcnn_event *event) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (event == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: event is NULL", __func__);
    clcnn_status status = check_event(context, event, __func__);
    if (status != CLCNN_OK)
        return status;
    cl_int err = clEnqueueBarrierWithWaitList(context->queue, 1, &event->event, NULL);
    return err == CL_SUCCESS
               ? CLCNN_OK
               : clcnn__fail_cl(context, err,
                                "clcnn_context_wait_event: clEnqueueBarrierWithWaitList");
}
