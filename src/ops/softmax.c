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

static clcnn_status check_size(clcnn_context *ctx, const char *op, size_t rows, size_t cols) {
    if (rows > UINT32_MAX || cols > UINT32_MAX)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW, "%s: %zu rows of %zu exceed 2^32 - 1",
                           op, rows, cols);
    return CLCNN_OK;
}

/* Prepares kernel `name` of cl/softmax.cl. */
static clcnn_status prepare(clcnn_context *ctx, const char *name, clcnn__launch *launch) {
    return clcnn__launch_prepare(ctx, "softmax.cl", NULL, name, launch);
}

/* Runs a kernel over `items` work-items. The softmax kernels guard their
 * range and use no local memory: the driver chooses the work-group. */
static clcnn_status run(clcnn__launch *launch, size_t items) {
    return clcnn__launch_run_fitted(launch, 1, &items, NULL);
}

/* ------------------------------------------------------------------- softmax */

static clcnn_status softmax_launch(clcnn_context *context, const clcnn_tensor *x, clcnn_tensor *y,
                                   const char *op, const char *kernel_name) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {x, y};
    const char *names[] = {"x", "y"};
    clcnn_status status = clcnn__check_tensors(context, op, operands, names, 2);
    if (status == CLCNN_OK)
        status = clcnn__check_same_shape(context, op, "x", x, "y", y);
    size_t rows = 0, cols = 0;
    if (status == CLCNN_OK) {
        rows_of(x, &rows, &cols);
        status = check_size(context, op, rows, cols);
    }
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(context, kernel_name, &launch);
    if (status != CLCNN_OK)
        return status;
    /* y may be x: each work-item reads its row before writing it. */
    clcnn__arg_tensor(&launch, x);
    clcnn__arg_tensor(&launch, y);
    clcnn__arg_uint(&launch, rows);
    clcnn__arg_uint(&launch, cols);
    return run(&launch, rows);
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
    status = clcnn__check_distinct(context, op, "loss", loss, "logits", logits);
    if (status != CLCNN_OK)
        return status;

    size_t rows = logits->dims[0];
    cl_mem losses = NULL;
    status = clcnn__buffer_acquire(context, rows * sizeof(float), &losses);
    if (status != CLCNN_OK)
        return status;
    clcnn__launch launch;
    status = prepare(context, "xent_row_losses", &launch);
    if (status == CLCNN_OK) {
        clcnn__arg_tensor(&launch, logits);
        clcnn__arg_mem(&launch, labels->mem);
        clcnn__arg_mem(&launch, losses);
        clcnn__arg_uint(&launch, rows);
        clcnn__arg_uint(&launch, logits->dims[1]);
        status = run(&launch, rows);
    }
    if (status == CLCNN_OK)
        status = prepare(context, "xent_mean", &launch);
    if (status == CLCNN_OK) {
        clcnn__arg_mem(&launch, losses);
        clcnn__arg_tensor(&launch, loss);
        clcnn__arg_uint(&launch, rows);
        status = run(&launch, 1);
    }
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
        status = clcnn__check_same_shape(context, op, "logits", logits, "dlogits", dlogits);
    if (status != CLCNN_OK)
        return status;
    if ((status = clcnn__check_grad_mode(context, op, mode)) != CLCNN_OK)
        return status;
    status = clcnn__check_distinct(context, op, "dlogits", dlogits, "logits", logits);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(context, "xent_backward", &launch);
    if (status != CLCNN_OK)
        return status;
    size_t rows = logits->dims[0];
    clcnn__arg_tensor(&launch, logits);
    clcnn__arg_mem(&launch, labels->mem);
    clcnn__arg_tensor(&launch, dlogits);
    clcnn__arg_uint(&launch, rows);
    clcnn__arg_uint(&launch, logits->dims[1]);
    clcnn__arg_float(&launch, 1.0f / (float)rows);
    clcnn__arg_uint(&launch, mode == CLCNN_GRAD_ACCUMULATE);
    return run(&launch, rows);
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
