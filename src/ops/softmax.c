/* Softmax, log-softmax and softmax cross-entropy: device-resident labels
 * checked on the host when written, shape checks, and the launches of
 * cl/softmax.cl. */
#include <stdlib.h>

#include "ops/softmax_internal.h"

/* ------------------------------------------------------------------ labels */

static clcnn_status labels_create(clcnn_context *context, size_t count, size_t num_classes,
                                  clcnn_labels **out) {
    if (context == NULL || out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_labels_create: out is NULL");
    *out = NULL;
    if (count == 0 || num_classes == 0 || num_classes > INT32_MAX || count > UINT32_MAX)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_labels_create: %zu labels over %zu classes (need 1 to 2^32 - 1 "
                           "labels and 1 to 2^31 - 1 classes)",
                           count, num_classes);
    clcnn_labels *labels = calloc(1, sizeof *labels);
    if (labels == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    labels->ctx = context;
    labels->count = count;
    labels->num_classes = num_classes;
    clcnn_status status = clcnn__buffer_acquire(context, count * sizeof(cl_int), &labels->mem);
    if (status == CLCNN_OK) {
        const cl_int zero = 0;
        cl_int err = clEnqueueFillBuffer(context->queue, labels->mem, &zero, sizeof zero, 0,
                                         count * sizeof(cl_int), 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = clcnn__fail_cl(context, err, "clcnn_labels_create: clEnqueueFillBuffer");
    }
    if (status != CLCNN_OK) {
        clcnn_labels_destroy(labels);
        return status;
    }
    *out = labels;
    return CLCNN_OK;
}

clcnn_status clcnn_labels_create(clcnn_context *context, size_t count, size_t num_classes,
                                 clcnn_labels **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, labels_create(context, count, num_classes, out));
}

void clcnn_labels_destroy(clcnn_labels *labels) {
    if (labels == NULL)
        return;
    if (labels->mem != NULL)
        clcnn__buffer_release(labels->ctx, labels->mem);
    free(labels);
}

size_t clcnn_labels_count(const clcnn_labels *labels) {
    return labels != NULL ? labels->count : 0;
}

size_t clcnn_labels_num_classes(const clcnn_labels *labels) {
    return labels != NULL ? labels->num_classes : 0;
}

/* Labels are checked on the host: a kernel never sees one out of range. */
static clcnn_status check_labels(const clcnn_labels *labels, const int32_t *host, size_t count,
                                 const char *what) {
    clcnn_context *ctx = labels->ctx;
    if (host == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: host is NULL", what);
    if (count != labels->count)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: %zu labels given for an object of %zu", what, count, labels->count);
    for (size_t i = 0; i < count; i++) {
        if (host[i] < 0 || (size_t)host[i] >= labels->num_classes)
            return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                               "%s: label %zu is %ld, outside [0, %zu)", what, i, (long)host[i],
                               labels->num_classes);
    }
    return CLCNN_OK;
}

static clcnn_status labels_write(clcnn_labels *labels, const int32_t *host, size_t count) {
    if (labels == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_context *ctx = labels->ctx;
    clcnn_status status = check_labels(labels, host, count, "clcnn_labels_write");
    if (status != CLCNN_OK)
        return status;
    cl_int err = clEnqueueWriteBuffer(ctx->queue, labels->mem, CL_TRUE, 0, count * sizeof(cl_int),
                                      host, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLCNN_OK
                             : clcnn__fail_cl(ctx, err, "clcnn_labels_write: clEnqueueWriteBuffer");
}

clcnn_status clcnn_labels_write(clcnn_labels *labels, const int32_t *host, size_t count) {
    if (labels == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(labels->ctx);
    return clcnn__named(labels->ctx, mark, __func__, labels_write(labels, host, count));
}

static clcnn_status labels_upload_async(clcnn_labels *labels, const int32_t *host, size_t count,
                                        const clcnn_event *after, clcnn_event **out) {
    if (out == NULL)
        return clcnn__fail(labels->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_labels_upload_async: out is NULL");
    *out = NULL;
    clcnn_status status = check_labels(labels, host, count, "clcnn_labels_upload_async");
    if (status != CLCNN_OK)
        return status;
    return clcnn__upload_async(labels->ctx, labels->mem, 0, count * sizeof(cl_int), host, after,
                               out);
}

clcnn_status clcnn_labels_upload_async(clcnn_labels *labels, const int32_t *host, size_t count,
                                       const clcnn_event *after, clcnn_event **out) {
    if (labels == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(labels->ctx);
    return clcnn__named(labels->ctx, mark, __func__,
                        labels_upload_async(labels, host, count, after, out));
}

/* ------------------------------------------------------------------ helpers */

/* rows x cols of a tensor taken along its last dimension. */
static void rows_of(const clcnn_tensor *t, size_t *rows, size_t *cols) {
    *cols = t->dims[t->ndim - 1];
    *rows = t->numel / *cols;
}

static int same_shape(const clcnn_tensor *a, const clcnn_tensor *b) {
    if (a->ndim != b->ndim)
        return 0;
    for (size_t i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

static clcnn_status check_same_shape(clcnn_context *ctx, const char *op, const clcnn_tensor *a,
                                     const char *a_name, const clcnn_tensor *b,
                                     const char *b_name) {
    if (same_shape(a, b))
        return CLCNN_OK;
    char a_shape[96], b_shape[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s: %s %s and %s %s differ in shape", op,
                       a_name, clcnn__shape_string(a, a_shape, sizeof a_shape), b_name,
                       clcnn__shape_string(b, b_shape, sizeof b_shape));
}

static clcnn_status check_size(clcnn_context *ctx, const char *op, size_t rows, size_t cols) {
    if (rows > UINT32_MAX || cols > UINT32_MAX)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW, "%s: %zu rows of %zu exceed 2^32 - 1",
                           op, rows, cols);
    return CLCNN_OK;
}

/* Sets the arguments of a kernel from parallel arrays. */
static clcnn_status set_args(clcnn_context *ctx, cl_kernel kernel, size_t count,
                             const size_t *sizes, const void *const *values) {
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, sizes[i], values[i]);
        if (err != CL_SUCCESS)
            return clcnn__fail_cl(ctx, err, "clSetKernelArg");
    }
    return CLCNN_OK;
}

/* ------------------------------------------------------------------- softmax */

static clcnn_status softmax_launch(clcnn_context *context, const clcnn_tensor *x, clcnn_tensor *y,
                                   const char *op, const char *kernel_name) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    char x_label[64], y_label[64];
    snprintf(x_label, sizeof x_label, "%s: x", op);
    snprintf(y_label, sizeof y_label, "%s: y", op);
    clcnn_status status = clcnn__check_tensor(context, x, x_label);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, y, y_label);
    if (status == CLCNN_OK)
        status = check_same_shape(context, op, x, "x", y, "y");
    size_t rows = 0, cols = 0;
    if (status == CLCNN_OK) {
        rows_of(x, &rows, &cols);
        status = check_size(context, op, rows, cols);
    }
    cl_kernel kernel = NULL;
    if (status == CLCNN_OK)
        status = clcnn__kernel_get(context, "softmax.cl", NULL, kernel_name, &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_uint rows_arg = (cl_uint)rows, cols_arg = (cl_uint)cols;
    const size_t sizes[] = {sizeof(cl_mem), sizeof(cl_mem), sizeof rows_arg, sizeof cols_arg};
    const void *const values[] = {&x->storage->mem, &y->storage->mem, &rows_arg, &cols_arg};
    status = set_args(context, kernel, 4, sizes, values);
    if (status != CLCNN_OK)
        return status;
    return clcnn__enqueue_kernel(context, kernel, 1, &rows, NULL);
}

static clcnn_status softmax_forward(clcnn_context *context, const clcnn_tensor *x,
                                    clcnn_tensor *y) {
    return softmax_launch(context, x, y, "clcnn_softmax_forward", "softmax_rows");
}

clcnn_status clcnn_softmax_forward(clcnn_context *context, const clcnn_tensor *x, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, softmax_forward(context, x, y));
}

static clcnn_status log_softmax_forward(clcnn_context *context, const clcnn_tensor *x,
                                        clcnn_tensor *y) {
    return softmax_launch(context, x, y, "clcnn_log_softmax_forward", "log_softmax_rows");
}

clcnn_status clcnn_log_softmax_forward(clcnn_context *context, const clcnn_tensor *x,
                                       clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, log_softmax_forward(context, x, y));
}

/* ------------------------------------------------------------ cross-entropy */

/* Checks logits [N, C] against labels of N over C classes. */
static clcnn_status check_logits_labels(clcnn_context *ctx, const char *op,
                                        const clcnn_tensor *logits, const clcnn_labels *labels) {
    char label[80];
    snprintf(label, sizeof label, "%s: logits", op);
    clcnn_status status = clcnn__check_tensor(ctx, logits, label);
    if (status != CLCNN_OK)
        return status;
    if (labels == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: labels is NULL", op);
    if (labels->ctx != ctx)
        return clcnn__fail(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                           "%s: labels belong to another context", op);
    char shape[96];
    if (logits->ndim != 2)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s: logits %s must be [N, classes]", op,
                           clcnn__shape_string(logits, shape, sizeof shape));
    if (labels->count != logits->dims[0] || labels->num_classes != logits->dims[1])
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s: logits %s need %zu labels over %zu classes, not %zu over %zu", op,
                           clcnn__shape_string(logits, shape, sizeof shape), logits->dims[0],
                           logits->dims[1], labels->count, labels->num_classes);
    return check_size(ctx, op, logits->dims[0], logits->dims[1]);
}

static clcnn_status softmax_cross_entropy_forward(clcnn_context *context,
                                                  const clcnn_tensor *logits,
                                                  const clcnn_labels *labels, clcnn_tensor *loss) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const char *op = "clcnn_softmax_cross_entropy_forward";
    clcnn_status status = check_logits_labels(context, op, logits, labels);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, loss, "clcnn_softmax_cross_entropy_forward: loss");
    if (status != CLCNN_OK)
        return status;
    if (loss->numel != 1) {
        char shape[96];
        return clcnn__fail(context, CLCNN_ERROR_INVALID_SHAPE, "%s: loss %s must hold one element",
                           op, clcnn__shape_string(loss, shape, sizeof shape));
    }
    if (loss->storage == logits->storage)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: loss shares its memory with logits", op);

    size_t rows = logits->dims[0];
    cl_uint rows_arg = (cl_uint)rows, cols_arg = (cl_uint)logits->dims[1];
    cl_kernel row_kernel = NULL, mean_kernel = NULL;
    status = clcnn__kernel_get(context, "softmax.cl", NULL, "xent_row_losses", &row_kernel);
    if (status == CLCNN_OK)
        status = clcnn__kernel_get(context, "softmax.cl", NULL, "xent_mean", &mean_kernel);
    cl_mem losses = NULL;
    if (status == CLCNN_OK)
        status = clcnn__buffer_acquire(context, rows * sizeof(float), &losses);
    if (status != CLCNN_OK)
        return status;
    const size_t row_sizes[] = {sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_mem), sizeof rows_arg,
                                sizeof cols_arg};
    const void *const row_values[] = {&logits->storage->mem, &labels->mem, &losses, &rows_arg,
                                      &cols_arg};
    status = set_args(context, row_kernel, 5, row_sizes, row_values);
    if (status == CLCNN_OK)
        status = clcnn__enqueue_kernel(context, row_kernel, 1, &rows, NULL);
    const size_t mean_sizes[] = {sizeof(cl_mem), sizeof(cl_mem), sizeof rows_arg};
    const void *const mean_values[] = {&losses, &loss->storage->mem, &rows_arg};
    if (status == CLCNN_OK)
        status = set_args(context, mean_kernel, 3, mean_sizes, mean_values);
    size_t one = 1;
    if (status == CLCNN_OK)
        status = clcnn__enqueue_kernel(context, mean_kernel, 1, &one, NULL);
    /* The in-order queue runs later users of the workspace after these. */
    clcnn__buffer_release(context, losses);
    return status;
}

clcnn_status clcnn_softmax_cross_entropy_forward(clcnn_context *context, const clcnn_tensor *logits,
                                                 const clcnn_labels *labels, clcnn_tensor *loss) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        softmax_cross_entropy_forward(context, logits, labels, loss));
}

static clcnn_status softmax_cross_entropy_backward(clcnn_context *context,
                                                   const clcnn_tensor *logits,
                                                   const clcnn_labels *labels,
                                                   clcnn_tensor *dlogits, clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const char *op = "clcnn_softmax_cross_entropy_backward";
    clcnn_status status = check_logits_labels(context, op, logits, labels);
    if (status == CLCNN_OK)
        status =
            clcnn__check_tensor(context, dlogits, "clcnn_softmax_cross_entropy_backward: dlogits");
    if (status == CLCNN_OK)
        status = check_same_shape(context, op, logits, "logits", dlogits, "dlogits");
    if (status != CLCNN_OK)
        return status;
    if (mode != CLCNN_GRAD_OVERWRITE && mode != CLCNN_GRAD_ACCUMULATE)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown grad mode %d", op,
                           (int)mode);
    if (dlogits->storage == logits->storage)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: dlogits shares its memory with logits", op);

    size_t rows = logits->dims[0];
    cl_uint rows_arg = (cl_uint)rows, cols_arg = (cl_uint)logits->dims[1];
    cl_float scale = 1.0f / (float)rows;
    cl_uint accumulate = mode == CLCNN_GRAD_ACCUMULATE;
    cl_kernel kernel = NULL;
    status = clcnn__kernel_get(context, "softmax.cl", NULL, "xent_backward", &kernel);
    if (status != CLCNN_OK)
        return status;
    const size_t sizes[] = {sizeof(cl_mem),  sizeof(cl_mem), sizeof(cl_mem),   sizeof rows_arg,
                            sizeof cols_arg, sizeof scale,   sizeof accumulate};
    const void *const values[] = {&logits->storage->mem,
                                  &labels->mem,
                                  &dlogits->storage->mem,
                                  &rows_arg,
                                  &cols_arg,
                                  &scale,
                                  &accumulate};
    status = set_args(context, kernel, 7, sizes, values);
    if (status != CLCNN_OK)
        return status;
    return clcnn__enqueue_kernel(context, kernel, 1, &rows, NULL);
}

clcnn_status clcnn_softmax_cross_entropy_backward(clcnn_context *context,
                                                  const clcnn_tensor *logits,
                                                  const clcnn_labels *labels, clcnn_tensor *dlogits,
                                                  clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        softmax_cross_entropy_backward(context, logits, labels, dlogits, mode));
}
