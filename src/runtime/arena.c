/* Arenas (runtime/internal.h): tensors made as views of one zero-filled
 * buffer, each at the next multiple of the device's view alignment, and the
 * span over a run of them. A network keeps its parameters and gradients so,
 * and an optimizer its state, so that zero_grad is one fill and an
 * optimizer step one launch (src/nn). */
#include <stdint.h>
#include <string.h>

#include "runtime/internal.h"

/* Elements of a valid shape; 0 for an invalid one or an overflow. */
static size_t shape_numel(const clcnn__shape *shape) {
    if (shape->ndim == 0 || shape->ndim > CLCNN_MAX_DIMS)
        return 0;
    size_t numel = 1;
    for (size_t i = 0; i < shape->ndim; i++)
        if (!clcnn__mul_size(numel, shape->dims[i], &numel))
            return 0;
    return numel;
}

/* Where the element after a tensor of numel elements placed after `end`
 * lies, the tensor starting at the next multiple of align (*start); 0 when
 * the byte size would overflow. */
static size_t place_after(size_t end, size_t numel, size_t align, size_t *start) {
    *start = clcnn__round_up(end, align);
    if (*start < end || numel > SIZE_MAX / sizeof(float) - *start)
        return 0;
    return *start + numel;
}

/* Elements of an arena holding tensors of these shapes; 0 when there can
 * be none (a shape of no elements, an overflow). */
static size_t arena_elements(size_t count, const clcnn__shape *shapes, size_t align) {
    size_t end = 0, start = 0;
    for (size_t i = 0; i < count; i++) {
        size_t numel = shape_numel(&shapes[i]);
        end = numel != 0 ? place_after(end, numel, align, &start) : 0;
        if (end == 0)
            return 0;
    }
    return end;
}

/* The alignment of views in elements. */
static clcnn_status align_elements(clcnn_context *ctx, size_t *align) {
    size_t bytes = 0;
    clcnn_status status = clcnn__view_alignment(ctx, &bytes);
    *align = bytes / sizeof(float);
    return status;
}

static void destroy_all(size_t count, clcnn_tensor **tensors) {
    for (size_t i = 0; i < count; i++) {
        clcnn_tensor_destroy(tensors[i]);
        tensors[i] = NULL;
    }
}

static clcnn_status make_views(clcnn_tensor *arena, size_t count, const clcnn__shape *shapes,
                               size_t align, clcnn_tensor **tensors) {
    size_t end = 0, start = 0;
    for (size_t i = 0; i < count; i++) {
        end = place_after(end, shape_numel(&shapes[i]), align, &start);
        clcnn_status status =
            clcnn__storage_view(arena->storage, start, shapes[i].ndim, shapes[i].dims, &tensors[i]);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

static clcnn_status make_separate(clcnn_context *ctx, size_t count, const clcnn__shape *shapes,
                                  clcnn_tensor **tensors) {
    for (size_t i = 0; i < count; i++) {
        clcnn_status status = clcnn_tensor_create(ctx, shapes[i].ndim, shapes[i].dims, &tensors[i]);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

clcnn_status clcnn__arena_create(clcnn_context *ctx, size_t count, const clcnn__shape *shapes,
                                 clcnn_tensor **tensors, clcnn_tensor **out) {
    *out = NULL;
    memset(tensors, 0, count * sizeof *tensors);
    size_t align = 0;
    clcnn_status status = align_elements(ctx, &align);
    if (status != CLCNN_OK)
        return status;
    size_t total = arena_elements(count, shapes, align);
    if (total == 0 || total > ctx->info.max_alloc_bytes / sizeof(float)) {
        status = make_separate(ctx, count, shapes, tensors);
    } else {
        status = clcnn_tensor_create(ctx, 1, &total, out);
        if (status == CLCNN_OK) {
            (*out)->storage->arena = 1;
            status = make_views(*out, count, shapes, align, tensors);
        }
    }
    if (status != CLCNN_OK) {
        destroy_all(count, tensors);
        clcnn_tensor_destroy(*out);
        *out = NULL;
    }
    return status;
}

clcnn_status clcnn__arena_span(size_t count, clcnn_tensor *const *tensors, clcnn_tensor **out) {
    *out = NULL;
    clcnn__storage *arena = count != 0 ? tensors[0]->storage->parent : NULL;
    if (arena == NULL || !arena->arena)
        return CLCNN_OK;
    size_t align = 0;
    clcnn_status status = align_elements(arena->ctx, &align);
    if (status != CLCNN_OK)
        return status;
    size_t first = tensors[0]->storage->offset, end = 0, start = 0;
    for (size_t i = 0; i < count; i++) {
        const clcnn__storage *view = tensors[i]->storage;
        end = place_after(end, tensors[i]->numel, align, &start);
        if (view->parent != arena || view->offset != first + start)
            return CLCNN_OK;
    }
    return clcnn__storage_view(arena, first, 1, &end, out);
}
