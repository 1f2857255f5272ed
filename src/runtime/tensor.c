/* float32 tensors on the device: creation from the pool, views, transfers,
 * fill and copy, and asynchronous reads with events. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fill_layout.h"
#include "runtime/internal.h"

/* Validates a shape and gives its element count. */
static clcnn_status check_shape(clcnn_context *ctx, size_t ndim, const size_t *dims,
                                size_t *numel) {
    if (dims == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "dims is NULL");
    if (ndim == 0 || ndim > CLCNN_MAX_DIMS)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "a tensor has 1 to %d dimensions, not %zu", CLCNN_MAX_DIMS, ndim);
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (dims[i] == 0)
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "dimension %zu is 0", i);
        if (!clcnn__mul_size(count, dims[i], &count))
            return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                               "the element count of the shape overflows size_t");
    }
    size_t bytes;
    if (!clcnn__mul_size(count, sizeof(float), &bytes))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "the byte size of %zu floats overflows size_t", count);
    *numel = count;
    return CLCNN_OK;
}

/* What every call that makes a tensor checks first: out present (then
 * cleared) and the shape valid, *numel its element count. */
static clcnn_status check_new_tensor(clcnn_context *ctx, clcnn_tensor **out, size_t ndim,
                                     const size_t *dims, size_t *numel) {
    if (out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    return check_shape(ctx, ndim, dims, numel);
}

static clcnn_tensor *tensor_alloc(clcnn__storage *storage, size_t ndim, const size_t *dims,
                                  size_t numel) {
    clcnn_tensor *tensor = calloc(1, sizeof *tensor);
    if (tensor == NULL)
        return NULL;
    tensor->storage = storage;
    tensor->ndim = ndim;
    memcpy(tensor->dims, dims, ndim * sizeof *dims);
    tensor->numel = numel;
    return tensor;
}

/* Sets `count` floats of mem to value with util.cl's fill_float. The kernel
 * guards its range and uses no local memory: the driver chooses the
 * work-group. */
static clcnn_status fill_buffer(clcnn_context *ctx, cl_mem mem, size_t count, float value) {
    clcnn__launch launch;
    clcnn_status status = clcnn__launch_prepare(ctx, "util.cl", NULL, "fill_float", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, mem);
    clcnn__arg_ulong(&launch, count);
    clcnn__arg_float(&launch, value);
    size_t global = clcnn__round_up((count + FILL_CHUNK - 1) / FILL_CHUNK, 64);
    return clcnn__launch_run_fitted(&launch, 1, &global, NULL);
}

static clcnn_status tensor_create(clcnn_context *context, size_t ndim, const size_t *dims,
                                  bool zero_filled, clcnn_tensor **out) {
    size_t numel = 0;
    clcnn_status status = check_new_tensor(context, out, ndim, dims, &numel);
    if (status != CLCNN_OK)
        return status;
    clcnn__storage *storage = calloc(1, sizeof *storage);
    if (storage == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    storage->ctx = context;
    storage->bytes = numel * sizeof(float);
    storage->refcount = 1;
    status = clcnn__buffer_acquire(context, storage->bytes, &storage->mem);
    if (status == CLCNN_OK && zero_filled)
        status = fill_buffer(context, storage->mem, numel, 0.0f);
    clcnn_tensor *tensor = NULL;
    if (status == CLCNN_OK) {
        tensor = tensor_alloc(storage, ndim, dims, numel);
        if (tensor == NULL)
            status = clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    if (status != CLCNN_OK) {
        if (storage->mem != NULL)
            clcnn__buffer_release(context, storage->mem);
        free(storage);
        return status;
    }
    *out = tensor;
    return CLCNN_OK;
}

clcnn_status clcnn_tensor_create(clcnn_context *context, size_t ndim, const size_t *dims,
                                 clcnn_tensor **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, tensor_create(context, ndim, dims, true, out));
}

clcnn_status clcnn_tensor_create_uninitialized(clcnn_context *context, size_t ndim,
                                               const size_t *dims, clcnn_tensor **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, tensor_create(context, ndim, dims, false, out));
}

/* Drops one reference; the last one gives the buffer back to the pool (a
 * view's sub-buffer to the driver, and its reference on the parent). */
static void storage_release(clcnn__storage *storage) {
    if (--storage->refcount != 0)
        return;
    if (storage->parent != NULL) {
        clReleaseMemObject(storage->mem);
        storage_release(storage->parent);
    } else {
        clcnn__buffer_release(storage->ctx, storage->mem);
    }
    free(storage);
}

void clcnn_tensor_destroy(clcnn_tensor *tensor) {
    if (tensor == NULL)
        return;
    storage_release(tensor->storage);
    free(tensor);
}

static clcnn_status tensor_reshape(const clcnn_tensor *tensor, size_t ndim, const size_t *dims,
                                   clcnn_tensor **out) {
    clcnn_context *ctx = tensor->storage->ctx;
    size_t numel = 0;
    clcnn_status status = check_new_tensor(ctx, out, ndim, dims, &numel);
    if (status != CLCNN_OK)
        return status;
    if (numel != tensor->numel) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "cannot view %s (%zu elements) with a shape of %zu elements",
                           clcnn__shape_string(tensor, shape, sizeof shape), tensor->numel, numel);
    }
    clcnn_tensor *view = tensor_alloc(tensor->storage, ndim, dims, numel);
    if (view == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    tensor->storage->refcount++;
    *out = view;
    return CLCNN_OK;
}

clcnn_status clcnn_tensor_reshape(const clcnn_tensor *tensor, size_t ndim, const size_t *dims,
                                  clcnn_tensor **out) {
    if (tensor == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(tensor->storage->ctx);
    return clcnn__named(tensor->storage->ctx, mark, __func__,
                        tensor_reshape(tensor, ndim, dims, out));
}

/* ------------------------------------------------------- sub-buffer views */

clcnn_status clcnn__view_alignment(clcnn_context *ctx, size_t *bytes) {
    cl_uint bits = 0;
    cl_int err =
        clGetDeviceInfo(ctx->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits, &bits, NULL);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "clGetDeviceInfo (CL_DEVICE_MEM_BASE_ADDR_ALIGN)");
    *bytes = bits / 8 > sizeof(float) ? bits / 8 : sizeof(float);
    return CLCNN_OK;
}

clcnn_status clcnn__storage_view(clcnn__storage *root, size_t offset, size_t ndim,
                                 const size_t *dims, clcnn_tensor **out) {
    clcnn_context *ctx = root->ctx;
    *out = NULL;
    size_t numel = 0, align = 0;
    clcnn_status status = check_shape(ctx, ndim, dims, &numel);
    if (status == CLCNN_OK)
        status = clcnn__view_alignment(ctx, &align);
    if (status != CLCNN_OK)
        return status;
    if (root->parent != NULL || (offset * sizeof(float)) % align != 0)
        return clcnn__fail(
            ctx, CLCNN_ERROR_INVALID_ARGUMENT, "a view %s (element %zu, alignment %zu bytes)",
            root->parent != NULL ? "of a view" : "at an unaligned offset", offset, align);
    size_t root_numel = root->bytes / sizeof(float);
    if (offset > root_numel || numel > root_numel - offset)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "a view of elements %zu..%zu of a buffer of %zu elements", offset,
                           offset + numel - 1, root_numel);
    clcnn__storage *storage = calloc(1, sizeof *storage);
    clcnn_tensor *tensor = storage != NULL ? tensor_alloc(storage, ndim, dims, numel) : NULL;
    if (tensor == NULL) {
        free(storage);
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    cl_buffer_region region = {offset * sizeof(float), numel * sizeof(float)};
    cl_int err = CL_SUCCESS;
    storage->mem = clCreateSubBuffer(root->mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
                                     &region, &err);
    if (err != CL_SUCCESS) {
        free(tensor);
        free(storage);
        return clcnn__fail_cl(ctx, err, "clCreateSubBuffer");
    }
    storage->ctx = ctx;
    storage->bytes = numel * sizeof(float);
    storage->refcount = 1;
    storage->parent = root;
    storage->offset = offset;
    root->refcount++;
    *out = tensor;
    return CLCNN_OK;
}

clcnn_context *clcnn_tensor_context(const clcnn_tensor *tensor) {
    return tensor != NULL ? tensor->storage->ctx : NULL;
}

size_t clcnn_tensor_ndim(const clcnn_tensor *tensor) {
    return tensor != NULL ? tensor->ndim : 0;
}

size_t clcnn_tensor_dim(const clcnn_tensor *tensor, size_t axis) {
    return tensor != NULL && axis < tensor->ndim ? tensor->dims[axis] : 0;
}

size_t clcnn_tensor_numel(const clcnn_tensor *tensor) {
    return tensor != NULL ? tensor->numel : 0;
}

cl_mem clcnn_tensor_cl_mem(const clcnn_tensor *tensor) {
    return tensor != NULL ? tensor->storage->mem : NULL;
}

/* ----------------------------------------------------------------- transfers */

static clcnn_status check_range(const clcnn_tensor *tensor, size_t offset, size_t count,
                                const void *host, const char *what) {
    clcnn_context *ctx = tensor->storage->ctx;
    if (host == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: host pointer is NULL", what);
    if (count == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: count is 0", what);
    if (offset > tensor->numel || count > tensor->numel - offset)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "%s: elements %zu..%zu are outside a tensor of %zu elements", what,
                           offset, offset + count - 1, tensor->numel);
    return CLCNN_OK;
}

clcnn_status clcnn_tensor_write(clcnn_tensor *tensor, size_t offset, const float *host,
                                size_t count) {
    if (tensor == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_range(tensor, offset, count, host, __func__);
    if (status != CLCNN_OK)
        return status;
    clcnn_context *ctx = tensor->storage->ctx;
    cl_int err =
        clEnqueueWriteBuffer(ctx->queue, tensor->storage->mem, CL_TRUE, offset * sizeof(float),
                             count * sizeof(float), host, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLCNN_OK
                             : clcnn__fail_cl(ctx, err, "clcnn_tensor_write: clEnqueueWriteBuffer");
}

clcnn_status clcnn_tensor_upload_async(clcnn_tensor *tensor, size_t offset, const float *host,
                                       size_t count, const clcnn_event *after, clcnn_event **out) {
    if (tensor == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_context *ctx = tensor->storage->ctx;
    if (out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    *out = NULL;
    clcnn_status status = check_range(tensor, offset, count, host, __func__);
    if (status != CLCNN_OK)
        return status;
    clcnn__error_mark mark = clcnn__error_mark_take(ctx);
    status = clcnn__upload_async(ctx, tensor->storage->mem, offset * sizeof(float),
                                 count * sizeof(float), host, after, out);
    return clcnn__named(ctx, mark, __func__, status);
}

static clcnn_status enqueue_read(const char *op, const clcnn_tensor *tensor, size_t offset,
                                 float *host, size_t count, cl_bool blocking, cl_event *event) {
    clcnn_status status = check_range(tensor, offset, count, host, op);
    if (status != CLCNN_OK)
        return status;
    clcnn_context *ctx = tensor->storage->ctx;
    cl_int err =
        clEnqueueReadBuffer(ctx->queue, tensor->storage->mem, blocking, offset * sizeof(float),
                            count * sizeof(float), host, 0, NULL, event);
    if (err == CL_SUCCESS && !blocking)
        err = clFlush(ctx->queue);
    if (err == CL_SUCCESS)
        return CLCNN_OK;
    char what[96];
    snprintf(what, sizeof what, "%s: clEnqueueReadBuffer", op);
    return clcnn__fail_cl(ctx, err, what);
}

clcnn_status clcnn_tensor_read(const clcnn_tensor *tensor, size_t offset, float *host,
                               size_t count) {
    if (tensor == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    return enqueue_read(__func__, tensor, offset, host, count, CL_TRUE, NULL);
}

clcnn_status clcnn_tensor_fill(clcnn_tensor *tensor, float value) {
    if (tensor == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_context *ctx = tensor->storage->ctx;
    clcnn__error_mark mark = clcnn__error_mark_take(ctx);
    return clcnn__named(ctx, mark, __func__,
                        fill_buffer(ctx, tensor->storage->mem, tensor->numel, value));
}

clcnn_status clcnn_tensor_copy(clcnn_tensor *dst, const clcnn_tensor *src) {
    if (dst == NULL)
        return src != NULL ? clcnn__fail(src->storage->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                                         "%s: dst is NULL", __func__)
                           : CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_context *ctx = dst->storage->ctx;
    clcnn_status status = clcnn__check_tensor(ctx, src, "clcnn_tensor_copy: src");
    if (status != CLCNN_OK)
        return status;
    status = clcnn__check_same_numel(ctx, __func__, "dst", dst, "src", src);
    if (status != CLCNN_OK)
        return status;
    if (dst->storage == src->storage)
        return CLCNN_OK; /* the same elements: nothing to move */
    cl_int err = clEnqueueCopyBuffer(ctx->queue, src->storage->mem, dst->storage->mem, 0, 0,
                                     dst->numel * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? CLCNN_OK
                             : clcnn__fail_cl(ctx, err, "clcnn_tensor_copy: clEnqueueCopyBuffer");
}

/* -------------------------------------------------------------------- events */

clcnn_status clcnn_tensor_read_async(const clcnn_tensor *tensor, size_t offset, float *host,
                                     size_t count, clcnn_event **out) {
    if (tensor == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_context *ctx = tensor->storage->ctx;
    if (out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    *out = NULL;
    clcnn_event *event = calloc(1, sizeof *event);
    if (event == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", __func__);
    event->ctx = ctx;
    clcnn_status status =
        enqueue_read(__func__, tensor, offset, host, count, CL_FALSE, &event->event);
    if (status != CLCNN_OK) {
        free(event);
        return status;
    }
    *out = event;
    return CLCNN_OK;
}

clcnn_status clcnn_event_wait(clcnn_event *event) {
    if (event == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    cl_int err = clWaitForEvents(1, &event->event);
    cl_int execution = CL_COMPLETE;
    if (err == CL_SUCCESS)
        err = clGetEventInfo(event->event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof execution,
                             &execution, NULL);
    if (err == CL_SUCCESS && execution < 0)
        err = execution;
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__fail_cl(event->ctx, err, "clcnn_event_wait");
}

void clcnn_event_destroy(clcnn_event *event) {
    if (event == NULL)
        return;
    if (event->event != NULL)
        clReleaseEvent(event->event);
    free(event);
}
