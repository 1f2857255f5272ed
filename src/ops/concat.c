/* Concatenation along dimension 1 (cl/concat.cl): shape checks and the
 * launches, one per CONCAT_PARTS inputs. The kernels take the element-wise
 * family's vector layout (ops/pointwise.h: VEC x ITEMS elements per
 * work-item, tuned, else per device). */
#include <stdio.h>

#include "clcnn/concat.h"
#include "ops/pointwise.h"

/* Inputs one launch moves (CONCAT_PARTS in concat.cl). */
#define CONCAT_PARTS 8

/* The operands of a call, checked: the inputs (or gradients) and the
 * concatenated tensor, with the sizes the kernels need. */
typedef struct concat_call {
    const char *function;
    const char *part_name; /* "inputs" or "grads" */
    size_t count;
    const clcnn_tensor *const *parts;
    const clcnn_tensor *whole;
    size_t samples; /* dimension 0 */
    size_t inner;   /* elements per channel: the product of dimensions 2.. */
} concat_call;

/* Whether part matches the first part in everything but dimension 1. */
static int fits_first(const clcnn_tensor *first, const clcnn_tensor *part) {
    if (part->ndim != first->ndim || part->dims[0] != first->dims[0])
        return 0;
    for (size_t d = 2; d < part->ndim; d++)
        if (part->dims[d] != first->dims[d])
            return 0;
    return 1;
}

static clcnn_status check_parts(clcnn_context *ctx, const concat_call *call, size_t *channels) {
    if (call->parts == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", call->function,
                           call->part_name);
    if (call->count < 2)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %zu %s, at least 2 are needed",
                           call->function, call->count, call->part_name);
    char label[96];
    *channels = 0;
    for (size_t i = 0; i < call->count; i++) {
        const clcnn_tensor *part = call->parts[i];
        snprintf(label, sizeof label, "%s: %s[%zu]", call->function, call->part_name, i);
        clcnn_status status = clcnn__check_tensor(ctx, part, label);
        if (status == CLCNN_OK)
            status = clcnn__check_rank(ctx, label, part, 2, CLCNN_MAX_DIMS);
        if (status != CLCNN_OK)
            return status;
        if (!fits_first(call->parts[0], part)) {
            char first_shape[96], shape[96];
            return clcnn__fail(
                ctx, CLCNN_ERROR_INVALID_SHAPE,
                "%s: %s[%zu] %s and %s[0] %s differ in a dimension other than 1", call->function,
                call->part_name, i, clcnn__shape_string(part, shape, sizeof shape), call->part_name,
                clcnn__shape_string(call->parts[0], first_shape, sizeof first_shape));
        }
        *channels += part->dims[1];
    }
    return CLCNN_OK;
}

/* The concatenated tensor has the first part's shape with `channels` as
 * dimension 1. */
static clcnn_status check_whole(clcnn_context *ctx, const concat_call *call, const char *name,
                                size_t channels) {
    char label[96];
    snprintf(label, sizeof label, "%s: %s", call->function, name);
    clcnn_status status = clcnn__check_tensor(ctx, call->whole, label);
    if (status != CLCNN_OK)
        return status;
    const clcnn_tensor *first = call->parts[0];
    size_t dims[CLCNN_MAX_DIMS];
    for (size_t d = 0; d < first->ndim; d++)
        dims[d] = d == 1 ? channels : first->dims[d];
    return clcnn__check_dims(ctx, label, call->whole, first->ndim, dims);
}

/* The parts, checked with the whole (named `whole_name`); fills the sizes. */
static clcnn_status check_call(clcnn_context *ctx, concat_call *call, const char *whole_name) {
    size_t channels = 0;
    clcnn_status status = check_parts(ctx, call, &channels);
    if (status == CLCNN_OK)
        status = check_whole(ctx, call, whole_name, channels);
    if (status != CLCNN_OK)
        return status;
    call->samples = call->whole->dims[0];
    call->inner = 1;
    for (size_t d = 2; d < call->whole->ndim; d++)
        call->inner *= call->whole->dims[d];
    return CLCNN_OK;
}

/* Launches `kernel` for parts [first, first + parts) whose run in a sample
 * of y starts at element `begin`; `set_tail` adds the arguments after the
 * part buffers. */
static clcnn_status launch_group(clcnn_context *ctx, const concat_call *call, const char *kernel,
                                 size_t first, size_t parts, size_t begin,
                                 const clcnn_tensor *placeholder, const clcnn_tensor *tail_tensor,
                                 int tail_int, int has_tail_int) {
    clcnn__pointwise_layout layout = clcnn__pointwise_layout_for(ctx, CLCNN__POINTWISE_ELEMENTWISE);
    char options[64];
    clcnn__pointwise_options(&layout, options, sizeof options);
    clcnn__launch launch;
    clcnn_status status = clcnn__launch_prepare(ctx, "concat.cl", options, kernel, &launch);
    if (status != CLCNN_OK)
        return status;
    const size_t block = call->whole->dims[1] * call->inner;
    size_t ends[CONCAT_PARTS], end = begin;
    for (size_t k = 0; k < CONCAT_PARTS; k++) {
        if (k < parts)
            end += call->parts[first + k]->dims[1] * call->inner;
        ends[k] = end; /* past the last part: the run's end, never chosen */
    }
    clcnn__arg_ulong(&launch, block);
    clcnn__arg_ulong(&launch, begin);
    clcnn__arg_int(&launch, parts);
    for (size_t k = 0; k < CONCAT_PARTS; k++)
        clcnn__arg_ulong(&launch, ends[k]);
    for (size_t k = 0; k < CONCAT_PARTS; k++)
        clcnn__arg_tensor(&launch, k < parts ? call->parts[first + k] : placeholder);
    clcnn__arg_tensor(&launch, tail_tensor);
    if (has_tail_int)
        clcnn__arg_int(&launch, (size_t)tail_int);

    /* Dimension 0: chunks of the run, in work-groups no larger than the
     * chunks need (an [N, C] concat has a handful per sample). */
    const size_t chunk = (size_t)layout.vec * (size_t)layout.items;
    const size_t chunks = (end - begin + chunk - 1) / chunk;
    size_t local[2] = {layout.local, 1};
    while (local[0] > 1 && local[0] / 2 >= chunks)
        local[0] /= 2;
    const size_t global[2] = {clcnn__round_up(chunks, local[0]), call->samples};
    return clcnn__launch_run_fitted(&launch, 2, global, local);
}

/* One launch per CONCAT_PARTS parts. */
static clcnn_status run_groups(clcnn_context *ctx, const concat_call *call, const char *kernel,
                               const clcnn_tensor *placeholder, const clcnn_tensor *tail_tensor,
                               int tail_int, int has_tail_int) {
    size_t begin = 0;
    clcnn_status status = CLCNN_OK;
    for (size_t first = 0; first < call->count && status == CLCNN_OK; first += CONCAT_PARTS) {
        size_t parts = call->count - first < CONCAT_PARTS ? call->count - first : CONCAT_PARTS;
        status = launch_group(ctx, call, kernel, first, parts, begin, placeholder, tail_tensor,
                              tail_int, has_tail_int);
        for (size_t k = 0; k < parts; k++)
            begin += call->parts[first + k]->dims[1] * call->inner;
    }
    return status;
}

static clcnn_status concat_forward(clcnn_context *ctx, size_t count,
                                   const clcnn_tensor *const *inputs, clcnn_tensor *y) {
    concat_call call = {"clcnn_concat_forward", "inputs", count, inputs, y, 0, 0};
    clcnn_status status = check_call(ctx, &call, "y");
    for (size_t i = 0; i < count && status == CLCNN_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, "inputs[%zu]", i);
        status = clcnn__check_distinct(ctx, call.function, "y", y, name, inputs[i]);
    }
    if (status != CLCNN_OK)
        return status;
    return run_groups(ctx, &call, "concat_forward", y, y, 0, 0);
}

clcnn_status clcnn_concat_forward(clcnn_context *context, size_t count,
                                  const clcnn_tensor *const *inputs, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, concat_forward(context, count, inputs, y));
}

/* No gradient shares memory with dy or with another gradient. */
static clcnn_status check_backward_aliasing(clcnn_context *ctx, const concat_call *call) {
    clcnn_status status = CLCNN_OK;
    char name[32], other[32];
    for (size_t i = 0; i < call->count && status == CLCNN_OK; i++) {
        snprintf(name, sizeof name, "grads[%zu]", i);
        status =
            clcnn__check_distinct(ctx, call->function, name, call->parts[i], "dy", call->whole);
        for (size_t j = i + 1; j < call->count && status == CLCNN_OK; j++) {
            snprintf(other, sizeof other, "grads[%zu]", j);
            status = clcnn__check_distinct(ctx, call->function, name, call->parts[i], other,
                                           call->parts[j]);
        }
    }
    return status;
}

static clcnn_status concat_backward(clcnn_context *ctx, const clcnn_tensor *dy, size_t count,
                                    clcnn_tensor *const *grads, clcnn_grad_mode grad_mode) {
    concat_call call = {
        "clcnn_concat_backward", "grads", count, (const clcnn_tensor *const *)grads, dy, 0, 0};
    clcnn_status status = clcnn__check_grad_mode(ctx, call.function, grad_mode);
    if (status == CLCNN_OK)
        status = check_call(ctx, &call, "dy");
    if (status == CLCNN_OK)
        status = check_backward_aliasing(ctx, &call);
    if (status != CLCNN_OK)
        return status;
    return run_groups(ctx, &call, "concat_backward", dy, dy, grad_mode == CLCNN_GRAD_ACCUMULATE, 1);
}

clcnn_status clcnn_concat_backward(clcnn_context *context, const clcnn_tensor *dy, size_t count,
                                   clcnn_tensor *const *grads, clcnn_grad_mode grad_mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        concat_backward(context, dy, count, grads, grad_mode));
}
