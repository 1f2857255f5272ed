/* Element-wise arithmetic (cl/elementwise.cl): add, scale, axpby. One
 * program per launch layout, the element-wise family's (ops/pointwise.h:
 * tuned, else per device). Outputs may be inputs: each element is read
 * before it is written. */
#include "clcnn/elementwise.h"
#include "ops/pointwise.h"

/* Checks every operand (non-NULL, this context, same element count as the
 * first). names[i] labels operands[i] in messages. */
static clcnn_status check_operands(clcnn_context *ctx, const char *fn,
                                   const clcnn_tensor *const *operands, const char *const *names,
                                   size_t count) {
    clcnn_status status = clcnn__check_tensors(ctx, fn, operands, names, count);
    for (size_t i = 1; i < count && status == CLCNN_OK; i++)
        status = clcnn__check_same_numel(ctx, fn, names[0], operands[0], names[i], operands[i]);
    return status;
}

/* Prepares kernel `name` built for the family's layout, which it gives,
 * and sets its leading element count. */
static clcnn_status prepare(clcnn_context *ctx, const char *name, size_t numel,
                            clcnn__pointwise_layout *layout, clcnn__launch *launch) {
    *layout = clcnn__pointwise_layout_for(ctx, CLCNN__POINTWISE_ELEMENTWISE);
    char options[64];
    clcnn__pointwise_options(layout, options, sizeof options);
    clcnn_status status = clcnn__launch_prepare(ctx, "elementwise.cl", options, name, launch);
    if (status == CLCNN_OK)
        clcnn__arg_ulong(launch, numel);
    return status;
}

/* out = alpha * x (checked). */
static clcnn_status run_scale(clcnn_context *ctx, float alpha, const clcnn_tensor *x,
                              clcnn_tensor *out) {
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "elementwise_scale", x->numel, &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_float(&launch, alpha);
    clcnn__arg_tensor(&launch, x);
    clcnn__arg_tensor(&launch, out);
    return clcnn__pointwise_run(&launch, &layout, x->numel);
}

static clcnn_status add(clcnn_context *context, const clcnn_tensor *a, const clcnn_tensor *b,
                        clcnn_tensor *out) {
    const clcnn_tensor *operands[3] = {a, b, out};
    const char *names[3] = {"a", "b", "out"};
    clcnn_status status = check_operands(context, "clcnn_add", operands, names, 3);
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(context, "elementwise_add", a->numel, &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, a);
    clcnn__arg_tensor(&launch, b);
    clcnn__arg_tensor(&launch, out);
    return clcnn__pointwise_run(&launch, &layout, a->numel);
}

clcnn_status clcnn_add(clcnn_context *context, const clcnn_tensor *a, const clcnn_tensor *b,
                       clcnn_tensor *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, add(context, a, b, out));
}

static clcnn_status scale(clcnn_context *context, const clcnn_tensor *x, float alpha,
                          clcnn_tensor *out) {
    const clcnn_tensor *operands[2] = {x, out};
    const char *names[2] = {"x", "out"};
    clcnn_status status = check_operands(context, "clcnn_scale", operands, names, 2);
    return status == CLCNN_OK ? run_scale(context, alpha, x, out) : status;
}

clcnn_status clcnn_scale(clcnn_context *context, const clcnn_tensor *x, float alpha,
                         clcnn_tensor *out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, scale(context, x, alpha, out));
}

static clcnn_status axpby(clcnn_context *context, float alpha, const clcnn_tensor *x, float beta,
                          clcnn_tensor *y) {
    const clcnn_tensor *operands[2] = {x, y};
    const char *names[2] = {"x", "y"};
    clcnn_status status = check_operands(context, "clcnn_axpby", operands, names, 2);
    if (status != CLCNN_OK)
        return status;
    if (beta == 0.0f) /* BLAS's rule: y is not read. */
        return run_scale(context, alpha, x, y);
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    status = prepare(context, "elementwise_axpby", x->numel, &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_float(&launch, alpha);
    clcnn__arg_tensor(&launch, x);
    clcnn__arg_float(&launch, beta);
    clcnn__arg_tensor(&launch, y);
    return clcnn__pointwise_run(&launch, &layout, x->numel);
}

clcnn_status clcnn_axpby(clcnn_context *context, float alpha, const clcnn_tensor *x, float beta,
                         clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, axpby(context, alpha, x, beta, y));
}
