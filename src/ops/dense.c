/* Dense (fully connected) layer: shape checks, then GEMMs through
 * clcnn__gemm and the bias kernels of cl/dense.cl. */
#include <stdio.h>

#include "clcnn/dense.h"
#include "dense_layout.h"
#include "ops/gemm.h"

/* A tensor seen as a matrix: rows = first dimension, cols = the product of
 * the others. */
typedef struct matrix_view {
    size_t rows, cols;
} matrix_view;

static clcnn_status as_matrix(clcnn_context *ctx, const clcnn_tensor *t, const char *what,
                              matrix_view *out) {
    if (t->ndim < 2) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s %s must have a batch dimension and at least one more", what,
                           clcnn__shape_string(t, shape, sizeof shape));
    }
    out->rows = t->dims[0];
    out->cols = t->numel / t->dims[0];
    if (out->rows > UINT32_MAX || out->cols > UINT32_MAX)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "%s of %zu x %zu exceeds 2^32 - 1 rows or columns", what, out->rows,
                           out->cols);
    return CLCNN_OK;
}

/* The output is not the input, nor any part of it (NULL: absent). */
static clcnn_status check_apart(clcnn_context *ctx, const char *fn, const clcnn_tensor *output,
                                const char *output_name, const clcnn_tensor *input,
                                const char *input_name) {
    if (output == NULL || input == NULL)
        return CLCNN_OK;
    return clcnn__check_distinct(ctx, fn, output_name, output, input_name, input);
}

/* w must be [out, in] for the given in; gives out. */
static clcnn_status check_weight(clcnn_context *ctx, const char *fn, const clcnn_tensor *w,
                                 const char *w_name, size_t in, const clcnn_tensor *x,
                                 const char *x_name, size_t *out_features) {
    const size_t dims[2] = {CLCNN__ANY_DIM, in};
    clcnn_status status = clcnn__check_dims_match(ctx, fn, w_name, w, 2, dims, x_name, x);
    if (status == CLCNN_OK)
        *out_features = w->dims[0];
    return status;
}

/* t must be 2-D [rows, cols]. */
static clcnn_status check_2d(clcnn_context *ctx, const char *what, const clcnn_tensor *t,
                             size_t rows, size_t cols) {
    const size_t dims[2] = {rows, cols};
    return clcnn__check_dims(ctx, what, t, 2, dims);
}

/* Prepares kernel `name` of cl/dense.cl. */
static clcnn_status prepare(clcnn_context *ctx, const char *name, clcnn__launch *launch) {
    return clcnn__launch_prepare(ctx, "dense.cl", NULL, name, launch);
}

/* Runs a bias kernel over `items` work-items. Both guard their range and
 * use no local memory: the driver chooses the work-group. */
static clcnn_status run(clcnn__launch *launch, size_t items) {
    return clcnn__launch_run_fitted(launch, 1, &items, NULL);
}

/* y[row] = bias for every row. */
static clcnn_status bias_broadcast(clcnn_context *ctx, const clcnn_tensor *bias, clcnn_tensor *y,
                                   size_t rows, size_t cols) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "dense_bias_broadcast", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, bias);
    clcnn__arg_tensor(&launch, y);
    clcnn__arg_uint(&launch, rows);
    clcnn__arg_uint(&launch, cols);
    return run(&launch, rows);
}

/* db (+)= column sums of dy's rows [first, first + rows). */
static clcnn_status bias_grad_rows(clcnn_context *ctx, const clcnn_tensor *dy, clcnn_tensor *db,
                                   size_t first, size_t rows, size_t cols, int accumulate) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "dense_bias_grad", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, dy);
    clcnn__arg_tensor(&launch, db);
    clcnn__arg_uint(&launch, rows);
    clcnn__arg_uint(&launch, cols);
    clcnn__arg_uint(&launch, accumulate != 0);
    clcnn__arg_uint(&launch, first);
    return run(&launch, (cols + DENSE_BIAS_GRAD_BLOCK - 1) / DENSE_BIAS_GRAD_BLOCK);
}

/* db (+)= column sums of dy [rows, cols], in launches of as many rows as the
 * driver's loop-trip limit allows (one launch where there is none); every
 * launch after the first adds on. */
static clcnn_status bias_grad(clcnn_context *ctx, const clcnn_tensor *dy, clcnn_tensor *db,
                              size_t rows, size_t cols, clcnn_grad_mode mode) {
    size_t step = clcnn__loop_trips_allowed(ctx, 2);
    clcnn_status status = CLCNN_OK;
    for (size_t first = 0; status == CLCNN_OK && first < rows; first += step)
        status = bias_grad_rows(ctx, dy, db, first, rows - first < step ? rows - first : step, cols,
                                first > 0 || mode == CLCNN_GRAD_ACCUMULATE);
    return status;
}

static clcnn_status dense_forward(clcnn_context *context, const clcnn_tensor *x,
                                  const clcnn_tensor *w, const clcnn_tensor *bias,
                                  clcnn_tensor *y) {
    static const char fn[] = "clcnn_dense_forward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {x, w, y};
    const char *names[] = {"x", "w", "y"};
    clcnn_status status = clcnn__check_tensors(context, fn, operands, names, 3);
    if (status == CLCNN_OK && bias != NULL)
        status = clcnn__check_tensor(context, bias, "clcnn_dense_forward: bias");
    matrix_view xm = {0, 0};
    size_t out_features = 0;
    if (status == CLCNN_OK)
        status = as_matrix(context, x, "x", &xm);
    if (status == CLCNN_OK)
        status = check_weight(context, fn, w, "w", xm.cols, x, "x", &out_features);
    if (status == CLCNN_OK && bias != NULL)
        status = clcnn__check_dims(context, "clcnn_dense_forward: bias", bias, 1, &out_features);
    if (status == CLCNN_OK)
        status = check_2d(context, "clcnn_dense_forward: y", y, xm.rows, out_features);
    if (status == CLCNN_OK)
        status = check_apart(context, fn, y, "y", x, "x");
    if (status == CLCNN_OK)
        status = check_apart(context, fn, y, "y", w, "w");
    if (status == CLCNN_OK)
        status = check_apart(context, fn, y, "y", bias, "bias");
    if (status != CLCNN_OK)
        return status;

    float beta = 0.0f;
    if (bias != NULL) {
        status = bias_broadcast(context, bias, y, xm.rows, out_features);
        if (status != CLCNN_OK)
            return status;
        beta = 1.0f;
    }
    /* y [N, out] = x [N, in] . w^T, w stored [out, in]. */
    return clcnn__gemm(context, 0, 1, xm.rows, out_features, xm.cols, 1.0f, x->storage->mem, 0,
                       xm.cols, w->storage->mem, 0, xm.cols, beta, y->storage->mem, 0,
                       out_features);
}

clcnn_status clcnn_dense_forward(clcnn_context *context, const clcnn_tensor *x,
                                 const clcnn_tensor *w, const clcnn_tensor *bias, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, dense_forward(context, x, w, bias, y));
}

static clcnn_status dense_backward_data(clcnn_context *context, const clcnn_tensor *dy,
                                        const clcnn_tensor *w, clcnn_tensor *dx,
                                        clcnn_grad_mode mode) {
    static const char fn[] = "clcnn_dense_backward_data";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {dy, w, dx};
    const char *names[] = {"dy", "w", "dx"};
    clcnn_status status = clcnn__check_tensors(context, fn, operands, names, 3);
    if (status == CLCNN_OK)
        status = clcnn__check_grad_mode(context, fn, mode);
    matrix_view dxm = {0, 0};
    size_t out_features = 0;
    if (status == CLCNN_OK)
        status = as_matrix(context, dx, "dx", &dxm);
    if (status == CLCNN_OK)
        status = check_weight(context, fn, w, "w", dxm.cols, dx, "dx", &out_features);
    if (status == CLCNN_OK)
        status = check_2d(context, "clcnn_dense_backward_data: dy", dy, dxm.rows, out_features);
    if (status == CLCNN_OK)
        status = check_apart(context, fn, dx, "dx", dy, "dy");
    if (status == CLCNN_OK)
        status = check_apart(context, fn, dx, "dx", w, "w");
    if (status != CLCNN_OK)
        return status;
    /* dx [N, in] (+)= dy [N, out] . w [out, in]. */
    return clcnn__gemm(context, 0, 0, dxm.rows, dxm.cols, out_features, 1.0f, dy->storage->mem, 0,
                       out_features, w->storage->mem, 0, dxm.cols,
                       mode == CLCNN_GRAD_ACCUMULATE ? 1.0f : 0.0f, dx->storage->mem, 0, dxm.cols);
}

clcnn_status clcnn_dense_backward_data(clcnn_context *context, const clcnn_tensor *dy,
                                       const clcnn_tensor *w, clcnn_tensor *dx,
                                       clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, dense_backward_data(context, dy, w, dx, mode));
}

static clcnn_status dense_backward_weights(clcnn_context *context, const clcnn_tensor *x,
                                           const clcnn_tensor *dy, clcnn_tensor *dw,
                                           clcnn_tensor *db, clcnn_grad_mode mode) {
    static const char fn[] = "clcnn_dense_backward_weights";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {x, dy, dw};
    const char *names[] = {"x", "dy", "dw"};
    clcnn_status status = clcnn__check_tensors(context, fn, operands, names, 3);
    if (status == CLCNN_OK && db != NULL)
        status = clcnn__check_tensor(context, db, "clcnn_dense_backward_weights: db");
    if (status == CLCNN_OK)
        status = clcnn__check_grad_mode(context, fn, mode);
    matrix_view xm = {0, 0};
    size_t out_features = 0;
    if (status == CLCNN_OK)
        status = as_matrix(context, x, "x", &xm);
    if (status == CLCNN_OK)
        status = check_weight(context, fn, dw, "dw", xm.cols, x, "x", &out_features);
    if (status == CLCNN_OK)
        status = check_2d(context, "clcnn_dense_backward_weights: dy", dy, xm.rows, out_features);
    if (status == CLCNN_OK && db != NULL)
        status =
            clcnn__check_dims(context, "clcnn_dense_backward_weights: db", db, 1, &out_features);
    for (size_t i = 0; i < 2 && status == CLCNN_OK; i++) {
        status = check_apart(context, fn, dw, "dw", operands[i], names[i]);
        if (status == CLCNN_OK)
            status = check_apart(context, fn, db, "db", operands[i], names[i]);
    }
    if (status == CLCNN_OK)
        status = check_apart(context, fn, db, "db", dw, "dw");
    if (status != CLCNN_OK)
        return status;
    /* dw [out, in] (+)= dy^T . x, dy stored [N, out]. */
    status = clcnn__gemm(context, 1, 0, out_features, xm.cols, xm.rows, 1.0f, dy->storage->mem, 0,
                         out_features, x->storage->mem, 0, xm.cols,
                         mode == CLCNN_GRAD_ACCUMULATE ? 1.0f : 0.0f, dw->storage->mem, 0, xm.cols);
    if (status != CLCNN_OK || db == NULL)
        return status;
    return bias_grad(context, dy, db, xm.rows, out_features, mode);
}

clcnn_status clcnn_dense_backward_weights(clcnn_context *context, const clcnn_tensor *x,
                                          const clcnn_tensor *dy, clcnn_tensor *dw,
                                          clcnn_tensor *db, clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        dense_backward_weights(context, x, dy, dw, db, mode));
}
