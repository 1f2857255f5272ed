/* Element-wise arithmetic (cl/elementwise.cl): add, scale, axpby. One
 * program per launch layout, the element-wise family's (ops/pointwise.h:
 * tuned, else per device). */
#include <stdio.h>

#include "clcnn/elementwise.h"
#include "ops/pointwise.h"

/* Checks every operand (non-NULL, this context, same element count as the
 * first). names[i] labels operands[i] in messages. */
static clcnn_status check_operands(clcnn_context *ctx, const char *what,
                                   const clcnn_tensor *const *operands, const char *const *names,
                                   size_t count) {
    if (ctx == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    char label[64];
    for (size_t i = 0; i < count; i++) {
        snprintf(label, sizeof label, "%s: %s", what, names[i]);
        clcnn_status status = clcnn__check_tensor(ctx, operands[i], label);
        if (status != CLCNN_OK)
            return status;
    }
    for (size_t i = 1; i < count; i++) {
        if (operands[i]->numel != operands[0]->numel) {
            char first[96], other[96];
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "%s: %s %s and %s %s hold different numbers of elements", what,
                               names[0], clcnn__shape_string(operands[0], first, sizeof first),
                               names[i], clcnn__shape_string(operands[i], other, sizeof other));
        }
    }
    return CLCNN_OK;
}

/* One argument of a kernel: a buffer or a float. */
typedef struct kernel_arg {
    const clcnn_tensor *tensor; /* NULL: the float */
    float value;
} kernel_arg;

/* Runs `name` over numel elements with arguments (n, args...). */
static clcnn_status run(clcnn_context *ctx, const char *name, size_t numel, const kernel_arg *args,
                        cl_uint arg_count) {
    clcnn__pointwise_layout layout = clcnn__pointwise_layout_for(ctx, CLCNN__POINTWISE_ELEMENTWISE);
    char options[64];
    clcnn__pointwise_options(&layout, options, sizeof options);
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "elementwise.cl", options, name, &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong n = numel;
    cl_int err = clSetKernelArg(kernel, 0, sizeof n, &n);
    for (cl_uint i = 0; i < arg_count && err == CL_SUCCESS; i++) {
        if (args[i].tensor != NULL)
            err = clSetKernelArg(kernel, i + 1, sizeof(cl_mem), &args[i].tensor->storage->mem);
        else
            err = clSetKernelArg(kernel, i + 1, sizeof(float), &args[i].value);
    }
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "clSetKernelArg");
    return clcnn__pointwise_launch(ctx, kernel, &layout, numel);
}

static clcnn_status add(clcnn_context *context, const clcnn_tensor *a, const clcnn_tensor *b,
                        clcnn_tensor *out) {
    const clcnn_tensor *operands[3] = {a, b, out};
    const char *names[3] = {"a", "b", "out"};
    clcnn_status status = check_operands(context, "clcnn_add", operands, names, 3);
    if (status != CLCNN_OK)
        return status;
    const kernel_arg args[3] = {{a, 0.0f}, {b, 0.0f}, {out, 0.0f}};
    return run(context, "elementwise_add", a->numel, args, 3);
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
    if (status != CLCNN_OK)
        return status;
    const kernel_arg args[3] = {{NULL, alpha}, {x, 0.0f}, {out, 0.0f}};
    return run(context, "elementwise_scale", x->numel, args, 3);
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
    if (beta == 0.0f) {
        /* BLAS's rule: y is not read. */
        const kernel_arg args[3] = {{NULL, alpha}, {x, 0.0f}, {y, 0.0f}};
        return run(context, "elementwise_scale", x->numel, args, 3);
    }
    const kernel_arg args[4] = {{NULL, alpha}, {x, 0.0f}, {NULL, beta}, {y, 0.0f}};
    return run(context, "elementwise_axpby", x->numel, args, 4);
}

clcnn_status clcnn_axpby(clcnn_context *context, float alpha, const clcnn_tensor *x, float beta,
                         clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, axpby(context, alpha, x, beta, y));
}
