/* The tensor checks every op makes (runtime/internal.h): present and of the
 * context, shapes, ranks, element counts and aliasing, each failure
 * recorded with the names and shapes involved. `what` names the operand
 * with its function ("clcnn_dense_forward: x"); pairs take the function
 * and the two operand names. */
#include <stdio.h>

#include "runtime/internal.h"

const char *clcnn__shape_string(const clcnn_tensor *tensor, char *buffer, size_t size) {
    int used = snprintf(buffer, size, "[");
    for (size_t i = 0; i < tensor->ndim && used >= 0 && (size_t)used < size; i++)
        used += snprintf(buffer + used, size - (size_t)used, i ? ", %zu" : "%zu", tensor->dims[i]);
    if (used >= 0 && (size_t)used < size)
        snprintf(buffer + used, size - (size_t)used, "]");
    return buffer;
}

clcnn_status clcnn__check_tensor(clcnn_context *ctx, const clcnn_tensor *tensor, const char *what) {
    if (tensor == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL", what);
    if (tensor->storage->ctx != ctx)
        return clcnn__fail(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, "%s belongs to another context",
                           what);
    return CLCNN_OK;
}

/* clcnn__check_tensor for each entry, named "<function>: <name>"; NULL
 * entries pass where optional. */
static clcnn_status check_list(clcnn_context *ctx, const char *function,
                               const clcnn_tensor *const *tensors, const char *const *names,
                               size_t count, int optional) {
    for (size_t i = 0; i < count; i++) {
        if (optional && tensors[i] == NULL)
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s: %s", function, names[i]);
        clcnn_status status = clcnn__check_tensor(ctx, tensors[i], what);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

clcnn_status clcnn__check_tensors(clcnn_context *ctx, const char *function,
                                  const clcnn_tensor *const *tensors, const char *const *names,
                                  size_t count) {
    return check_list(ctx, function, tensors, names, count, 0);
}

clcnn_status clcnn__check_optional_tensors(clcnn_context *ctx, const char *function,
                                           const clcnn_tensor *const *tensors,
                                           const char *const *names, size_t count) {
    return check_list(ctx, function, tensors, names, count, 1);
}

int clcnn__same_shape(const clcnn_tensor *a, const clcnn_tensor *b) {
    if (a->ndim != b->ndim)
        return 0;
    for (size_t i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

clcnn_status clcnn__check_same_shape(clcnn_context *ctx, const char *function, const char *a_name,
                                     const clcnn_tensor *a, const char *b_name,
                                     const clcnn_tensor *b) {
    if (clcnn__same_shape(a, b))
        return CLCNN_OK;
    char a_shape[96], b_shape[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s: %s %s and %s %s differ in shape",
                       function, a_name, clcnn__shape_string(a, a_shape, sizeof a_shape), b_name,
                       clcnn__shape_string(b, b_shape, sizeof b_shape));
}

clcnn_status clcnn__check_same_numel(clcnn_context *ctx, const char *function, const char *a_name,
                                     const clcnn_tensor *a, const char *b_name,
                                     const clcnn_tensor *b) {
    if (a->numel == b->numel)
        return CLCNN_OK;
    char a_shape[96], b_shape[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                       "%s: %s %s (%zu elements) and %s %s (%zu elements) differ in size", function,
                       a_name, clcnn__shape_string(a, a_shape, sizeof a_shape), a->numel, b_name,
                       clcnn__shape_string(b, b_shape, sizeof b_shape), b->numel);
}

clcnn_status clcnn__check_rank(clcnn_context *ctx, const char *what, const clcnn_tensor *tensor,
                               size_t least, size_t most) {
    if (tensor->ndim >= least && tensor->ndim <= most)
        return CLCNN_OK;
    char shape[96];
    clcnn__shape_string(tensor, shape, sizeof shape);
    if (least == most)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s %s must have %zu dimensions", what,
                           shape, least);
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s %s must have %zu to %zu dimensions",
                       what, shape, least, most);
}

/* Formats dims as "[2, *, 4]" into buffer (CLCNN__ANY_DIM as "*"). */
static const char *dims_string(size_t ndim, const size_t *dims, char *buffer, size_t size) {
    int used = snprintf(buffer, size, "[");
    for (size_t i = 0; i < ndim && used >= 0 && (size_t)used < size; i++) {
        const char *comma = i ? ", " : "";
        used += dims[i] == CLCNN__ANY_DIM
                    ? snprintf(buffer + used, size - (size_t)used, "%s*", comma)
                    : snprintf(buffer + used, size - (size_t)used, "%s%zu", comma, dims[i]);
    }
    if (used >= 0 && (size_t)used < size)
        snprintf(buffer + used, size - (size_t)used, "]");
    return buffer;
}

static int has_dims(const clcnn_tensor *tensor, size_t ndim, const size_t *dims) {
    int matches = tensor->ndim == ndim;
    for (size_t i = 0; matches && i < ndim; i++)
        matches = dims[i] == CLCNN__ANY_DIM || dims[i] == tensor->dims[i];
    return matches;
}

clcnn_status clcnn__check_dims(clcnn_context *ctx, const char *what, const clcnn_tensor *tensor,
                               size_t ndim, const size_t *dims) {
    if (has_dims(tensor, ndim, dims))
        return CLCNN_OK;
    char shape[96], wanted[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s is %s, it must be %s", what,
                       clcnn__shape_string(tensor, shape, sizeof shape),
                       dims_string(ndim, dims, wanted, sizeof wanted));
}

clcnn_status clcnn__check_dims_match(clcnn_context *ctx, const char *function, const char *name,
                                     const clcnn_tensor *tensor, size_t ndim, const size_t *dims,
                                     const char *ref_name, const clcnn_tensor *ref) {
    if (has_dims(tensor, ndim, dims))
        return CLCNN_OK;
    char shape[96], wanted[96], ref_shape[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s: %s %s must be %s to match %s %s",
                       function, name, clcnn__shape_string(tensor, shape, sizeof shape),
                       dims_string(ndim, dims, wanted, sizeof wanted), ref_name,
                       clcnn__shape_string(ref, ref_shape, sizeof ref_shape));
}

/* The root buffer of a tensor and the byte range it covers in it. */
static void byte_range(const clcnn_tensor *tensor, const clcnn__storage **root, size_t *begin,
                       size_t *end) {
    const clcnn__storage *storage = tensor->storage;
    *begin = 0;
    while (storage->parent != NULL) {
        *begin += storage->offset * sizeof(float);
        storage = storage->parent;
    }
    *root = storage;
    *end = *begin + tensor->numel * sizeof(float);
}

int clcnn__tensors_overlap(const clcnn_tensor *a, const clcnn_tensor *b) {
    const clcnn__storage *a_root, *b_root;
    size_t a_begin, a_end, b_begin, b_end;
    byte_range(a, &a_root, &a_begin, &a_end);
    byte_range(b, &b_root, &b_begin, &b_end);
    return a_root == b_root && a_begin < b_end && b_begin < a_end;
}

clcnn_status clcnn__check_distinct(clcnn_context *ctx, const char *function, const char *a_name,
                                   const clcnn_tensor *a, const char *b_name,
                                   const clcnn_tensor *b) {
    if (!clcnn__tensors_overlap(a, b))
        return CLCNN_OK;
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %s shares memory with %s", function,
                       a_name, b_name);
}

clcnn_status clcnn__check_grad_mode(clcnn_context *ctx, const char *function,
                                    clcnn_grad_mode mode) {
    if (mode != CLCNN_GRAD_OVERWRITE && mode != CLCNN_GRAD_ACCUMULATE)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown grad mode %d", function,
                           (int)mode);
    return CLCNN_OK;
}
