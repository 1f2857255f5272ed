/* Dense (fully connected) layer: shape checks, then GEMMs through
 * clcnn__gemm and the bias kernels of cl/dense.cl. */
#include <stdio.h>

#include "clcnn/dense.h"
#include "ops/gemm.h"

/* Columns of one dense_bias_grad work-item (cl/dense.cl). */
#define BIAS_GRAD_BLOCK 16

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

static clcnn_status check_mode(clcnn_context *ctx, clcnn_grad_mode mode) {
    if (mode != CLCNN_GRAD_OVERWRITE && mode != CLCNN_GRAD_ACCUMULATE)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown grad mode %d", (int)mode);
    return CLCNN_OK;
}

static clcnn_status check_distinct(clcnn_context *ctx, const clcnn_tensor *output,
                                   const char *output_name, const clcnn_tensor *input,
                                   const char *input_name) {
    if (output != NULL && input != NULL && output->storage == input->storage)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s shares its memory with %s",
                           output_name, input_name);
    return CLCNN_OK;
}

/* w must be [out, in] for the given in; gives out. */
static clcnn_status check_weight(clcnn_context *ctx, const clcnn_tensor *w, const char *w_name,
                                 size_t in, const clcnn_tensor *x, const char *x_name,
                                 size_t *out_features) {
    if (w->ndim != 2 || w->dims[1] != in) {
        char w_shape[96], x_shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s %s must be [out, %zu] to match %s %s", w_name,
                           clcnn__shape_string(w, w_shape, sizeof w_shape), in, x_name,
                           clcnn__shape_string(x, x_shape, sizeof x_shape));
    }
    *out_features = w->dims[0];
    return CLCNN_OK;
}

/* t must be 2-D [rows, cols]. */
static clcnn_status check_2d(clcnn_context *ctx, const clcnn_tensor *t, const char *what,
                             size_t rows, size_t cols) {
    if (t->ndim != 2 || t->dims[0] != rows || t->dims[1] != cols) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s is %s, expected [%zu, %zu]", what,
                           clcnn__shape_string(t, shape, sizeof shape), rows, cols);
    }
    return CLCNN_OK;
}

static clcnn_status check_bias(clcnn_context *ctx, const clcnn_tensor *b, const char *what,
                               size_t out_features) {
    if (b->ndim != 1 || b->dims[0] != out_features) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s is %s, expected [%zu]", what,
                           clcnn__shape_string(b, shape, sizeof shape), out_features);
    }
    return CLCNN_OK;
}

static clcnn_status set_arg(clcnn_context *ctx, cl_kernel kernel, cl_uint index, size_t size,
                            const void *value) {
    cl_int err = clSetKernelArg(kernel, index, size, value);
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__fail_cl(ctx, err, "clSetKernelArg");
}

/* y[row] = bias for every row. */
static clcnn_status bias_broadcast(clcnn_context *ctx, const clcnn_tensor *bias, clcnn_tensor *y,
                                   size_t rows, size_t cols) {
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "dense.cl", NULL, "dense_bias_broadcast", &kernel);
    cl_uint rows_arg = (cl_uint)rows, cols_arg = (cl_uint)cols;
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 0, sizeof(cl_mem), &bias->storage->mem);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 1, sizeof(cl_mem), &y->storage->mem);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 2, sizeof rows_arg, &rows_arg);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 3, sizeof cols_arg, &cols_arg);
    if (status != CLCNN_OK)
        return status;
    return clcnn__enqueue_kernel(ctx, kernel, 1, &rows, NULL);
}

/* db (+)= column sums of dy's rows [first, first + rows). */
static clcnn_status bias_grad_rows(clcnn_context *ctx, const clcnn_tensor *dy, clcnn_tensor *db,
                                   size_t first, size_t rows, size_t cols, int accumulate_arg) {
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "dense.cl", NULL, "dense_bias_grad", &kernel);
    cl_uint rows_arg = (cl_uint)rows, cols_arg = (cl_uint)cols, first_arg = (cl_uint)first;
    cl_uint accumulate = (cl_uint)accumulate_arg;
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 5, sizeof first_arg, &first_arg);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 0, sizeof(cl_mem), &dy->storage->mem);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 1, sizeof(cl_mem), &db->storage->mem);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 2, sizeof rows_arg, &rows_arg);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 3, sizeof cols_arg, &cols_arg);
    if (status == CLCNN_OK)
        status = set_arg(ctx, kernel, 4, sizeof accumulate, &accumulate);
    if (status != CLCNN_OK)
        return status;
    size_t global = (cols + BIAS_GRAD_BLOCK - 1) / BIAS_GRAD_BLOCK;
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL);
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
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__check_tensor(context, x, "clcnn_dense_forward: x");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, w, "clcnn_dense_forward: w");
    if (status == CLCNN_OK && bias != NULL)
        status = clcnn__check_tensor(context, bias, "clcnn_dense_forward: bias");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, y, "clcnn_dense_forward: y");
    matrix_view xm = {0, 0};
    size_t out_features = 0;
    if (status == CLCNN_OK)
        status = as_matrix(context, x, "x", &xm);
    if (status == CLCNN_OK)
        status = check_weight(context, w, "w", xm.cols, x, "x", &out_features);
    if (status == CLCNN_OK && bias != NULL)
        status = check_bias(context, bias, "bias", out_features);
    if (status == CLCNN_OK)
        status = check_2d(context, y, "y", xm.rows, out_features);
    if (status == CLCNN_OK)
        status = check_distinct(context, y, "y", x, "x");
    if (status == CLCNN_OK)
        status = check_distinct(context, y, "y", w, "w");
    if (status == CLCNN_OK)
        status = check_distinct(context, y, "y", bias, "bias");
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
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__check_tensor(context, dy, "clcnn_dense_backward_data: dy");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, w, "clcnn_dense_backward_data: w");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dx, "clcnn_dense_backward_data: dx");
    if (status == CLCNN_OK)
        status = check_mode(context, mode);
    matrix_view dxm = {0, 0};
    size_t out_features = 0;
    if (status == CLCNN_OK)
        status = as_matrix(context, dx, "dx", &dxm);
    if (status == CLCNN_OK)
        status = check_weight(context, w, "w", dxm.cols, dx, "dx", &out_features);
    if (status == CLCNN_OK)
        status = check_2d(context, dy, "dy", dxm.rows, out_features);
    if (status == CLCNN_OK)
        status = check_distinct(context, dx, "dx", dy, "dy");
    if (status == CLCNN_OK)
        status = check_distinct(context, dx, "dx", w, "w");
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
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__check_tensor(context, x, "clcnn_dense_backward_weights: x");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dy, "clcnn_dense_backward_weights: dy");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dw, "clcnn_dense_backward_weights: dw");
    if (status == CLCNN_OK && db != NULL)
        status = clcnn__check_tensor(context, db, "clcnn_dense_backward_weights: db");
    if (status == CLCNN_OK)
        status = check_mode(context, mode);
    matrix_view xm = {0, 0};
    size_t out_features = 0;
    if (status == CLCNN_OK)
        status = as_matrix(context, x, "x", &xm);
    if (status == CLCNN_OK)
        status = check_weight(context, dw, "dw", xm.cols, x, "x", &out_features);
    if (status == CLCNN_OK)
        status = check_2d(context, dy, "dy", xm.rows, out_features);
    if (status == CLCNN_OK && db != NULL)
        status = check_bias(context, db, "db", out_features);
    const clcnn_tensor *inputs[2] = {x, dy};
    const char *input_names[2] = {"x", "dy"};
    for (size_t i = 0; i < 2 && status == CLCNN_OK; i++) {
        status = check_distinct(context, dw, "dw", inputs[i], input_names[i]);
        if (status == CLCNN_OK)
            status = check_distinct(context, db, "db", inputs[i], input_names[i]);
    }
    if (status == CLCNN_OK)
        status = check_distinct(context, db, "db", dw, "dw");
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
