/* The context's buffer pool: device buffers handed back by tensors and
 * workspaces are kept and lent again, so a repeated operation allocates
 * nothing after its first run. */
#include <stdlib.h>

#include "runtime/internal.h"

/* Smallest free buffer that holds `bytes` without wasting more than half of
 * itself; SIZE_MAX when none. */
static size_t find_free(const clcnn_context *ctx, size_t bytes) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < ctx->pool_count; i++) {
        const clcnn__pool_buffer *buffer = &ctx->pool[i];
        if (buffer->in_use || buffer->bytes < bytes || buffer->bytes / 2 > bytes)
            continue;
        if (best == SIZE_MAX || buffer->bytes < ctx->pool[best].bytes)
            best = i;
    }
    return best;
}

static void note_peak(clcnn_context *ctx) {
    uint64_t held = ctx->memory.bytes_in_use + ctx->memory.bytes_pooled;
    if (held > ctx->memory.peak_bytes)
        ctx->memory.peak_bytes = held;
}

static clcnn_status check_device_limits(clcnn_context *ctx, size_t bytes) {
    const clcnn_device_info *info = &ctx->info;
    if (bytes > info->max_alloc_bytes || bytes > info->global_mem_bytes)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_DEVICE_MEMORY,
                           "a buffer of %zu bytes exceeds the device's limits (largest "
                           "allocation %llu bytes, global memory %llu bytes on %s)",
                           bytes, (unsigned long long)info->max_alloc_bytes,
                           (unsigned long long)info->global_mem_bytes, info->device_name);
    return CLCNN_OK;
}

static clcnn_status create_buffer(clcnn_context *ctx, size_t bytes, cl_mem *out) {
    clcnn_status status = check_device_limits(ctx, bytes);
    if (status != CLCNN_OK)
        return status;
    clcnn__pool_buffer *grown = realloc(ctx->pool, (ctx->pool_count + 1) * sizeof *ctx->pool);
    if (grown == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    ctx->pool = grown;
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return clcnn__fail(ctx, clcnn__status_from_cl(err), "clCreateBuffer of %zu bytes: %s (%d)",
                           bytes, clcnn__cl_error_name(err), (int)err);
    ctx->pool[ctx->pool_count++] = (clcnn__pool_buffer){mem, bytes, 1};
    ctx->memory.buffer_allocations++;
    ctx->memory.bytes_in_use += bytes;
    note_peak(ctx);
    *out = mem;
    return CLCNN_OK;
}

clcnn_status clcnn__buffer_acquire(clcnn_context *ctx, size_t bytes, cl_mem *out) {
    if (bytes == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "a buffer of 0 bytes");
    size_t index = find_free(ctx, bytes);
    if (index == SIZE_MAX)
        return create_buffer(ctx, bytes, out);
    clcnn__pool_buffer *buffer = &ctx->pool[index];
    buffer->in_use = 1;
    ctx->memory.bytes_pooled -= buffer->bytes;
    ctx->memory.bytes_in_use += buffer->bytes;
    *out = buffer->mem;
    return CLCNN_OK;
}

void clcnn__buffer_release(clcnn_context *ctx, cl_mem mem) {
    for (size_t i = 0; i < ctx->pool_count; i++) {
        clcnn__pool_buffer *buffer = &ctx->pool[i];
        if (buffer->mem == mem && buffer->in_use) {
            buffer->in_use = 0;
            ctx->memory.bytes_in_use -= buffer->bytes;
            ctx->memory.bytes_pooled += buffer->bytes;
            return;
        }
    }
}

void clcnn_context_trim_pool(clcnn_context *context) {
    if (context == NULL)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < context->pool_count; i++) {
        clcnn__pool_buffer *buffer = &context->pool[i];
        if (buffer->in_use) {
            context->pool[kept++] = *buffer;
        } else {
            clReleaseMemObject(buffer->mem);
            context->memory.bytes_pooled -= buffer->bytes;
        }
    }
    context->pool_count = kept;
}

void clcnn__pool_destroy(clcnn_context *ctx) {
    for (size_t i = 0; i < ctx->pool_count; i++)
        clReleaseMemObject(ctx->pool[i].mem);
    free(ctx->pool);
    ctx->pool = NULL;
    ctx->pool_count = 0;
}
