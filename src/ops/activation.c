/* Element-wise activations (cl/activation.cl): argument checks and launch.
 * The activation kind is a -D option (one small program per kind); the
 * launch layout (vector width, vectors per work-item, work-group size) is
 * the activation family's (ops/pointwise.h: tuned, else per device). */
#include <stdio.h>

#include "clcnn/activation.h"
#include "ops/pointwise.h"

clcnn_activation_params clcnn_activation_params_default(void) {
    clcnn_activation_params params;
    params.kind = CLCNN_ACTIVATION_RELU;
    params.negative_slope = 0.01f;
    return params;
}

static clcnn_status check_params(clcnn_context *ctx, const char *what,
                                 const clcnn_activation_params *params) {
    if (params == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: params is NULL", what);
    if ((int)params->kind < (int)CLCNN_ACTIVATION_RELU ||
        (int)params->kind > (int)CLCNN_ACTIVATION_TANH)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown activation %d", what,
                           (int)params->kind);
    return CLCNN_OK;
}

static clcnn_status check_count(clcnn_context *ctx, const char *what, const clcnn_tensor *a,
                                const char *a_name, const clcnn_tensor *b, const char *b_name) {
    if (a->numel == b->numel)
        return CLCNN_OK;
    char a_shape[96], b_shape[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                       "%s: %s %s and %s %s hold different numbers of elements", what, a_name,
                       clcnn__shape_string(a, a_shape, sizeof a_shape), b_name,
                       clcnn__shape_string(b, b_shape, sizeof b_shape));
}

/* Sets the leading (n, slope) arguments, then the rest. */
static clcnn_status set_common_args(clcnn_context *ctx, cl_kernel kernel, size_t numel,
                                    float slope) {
    cl_ulong n = numel;
    cl_int err = clSetKernelArg(kernel, 0, sizeof n, &n);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 1, sizeof slope, &slope);
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__fail_cl(ctx, err, "clSetKernelArg");
}

static clcnn_status get_kernel(clcnn_context *ctx, const clcnn_activation_params *params,
                               const clcnn__pointwise_layout *layout, const char *name,
                               cl_kernel *out) {
    char layout_options[64], options[96];
    clcnn__pointwise_options(layout, layout_options, sizeof layout_options);
    snprintf(options, sizeof options, "-DACTIVATION=%d %s", (int)params->kind, layout_options);
    return clcnn__kernel_get(ctx, "activation.cl", options, name, out);
}

static clcnn_status activation_forward(clcnn_context *context,
                                       const clcnn_activation_params *params, const clcnn_tensor *x,
                                       clcnn_tensor *y) {
    const char *what = "clcnn_activation_forward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_params(context, what, params);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, x, "clcnn_activation_forward: x");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, y, "clcnn_activation_forward: y");
    if (status == CLCNN_OK)
        status = check_count(context, what, x, "x", y, "y");
    cl_kernel kernel = NULL;
    clcnn__pointwise_layout layout =
        clcnn__pointwise_layout_for(context, CLCNN__POINTWISE_ACTIVATION);
    if (status == CLCNN_OK)
        status = get_kernel(context, params, &layout, "activation_forward", &kernel);
    if (status == CLCNN_OK)
        status = set_common_args(context, kernel, x->numel, params->negative_slope);
    if (status != CLCNN_OK)
        return status;
    cl_int err = clSetKernelArg(kernel, 2, sizeof(cl_mem), &x->storage->mem);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 3, sizeof(cl_mem), &y->storage->mem);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(context, err, "clcnn_activation_forward: clSetKernelArg");
    return clcnn__pointwise_launch(context, kernel, &layout, x->numel);
}

clcnn_status clcnn_activation_forward(clcnn_context *context, const clcnn_activation_params *params,
                                      const clcnn_tensor *x, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, activation_forward(context, params, x, y));
}

static clcnn_status activation_backward(clcnn_context *context,
                                        const clcnn_activation_params *params,
                                        const clcnn_tensor *saved, const clcnn_tensor *dy,
                                        clcnn_tensor *dx, clcnn_grad_mode grad_mode) {
    const char *what = "clcnn_activation_backward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_params(context, what, params);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, saved, "clcnn_activation_backward: saved");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dy, "clcnn_activation_backward: dy");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dx, "clcnn_activation_backward: dx");
    if (status == CLCNN_OK && grad_mode != CLCNN_GRAD_OVERWRITE &&
        grad_mode != CLCNN_GRAD_ACCUMULATE)
        status = clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown grad_mode %d",
                             what, (int)grad_mode);
    if (status == CLCNN_OK)
        status = check_count(context, what, saved, "saved", dy, "dy");
    if (status == CLCNN_OK)
        status = check_count(context, what, dx, "dx", dy, "dy");
    cl_kernel kernel = NULL;
    clcnn__pointwise_layout layout =
        clcnn__pointwise_layout_for(context, CLCNN__POINTWISE_ACTIVATION);
    if (status == CLCNN_OK)
        status = get_kernel(context, params, &layout, "activation_backward", &kernel);
    if (status == CLCNN_OK)
        status = set_common_args(context, kernel, dy->numel, params->negative_slope);
    if (status != CLCNN_OK)
        return status;
    cl_int accumulate = grad_mode == CLCNN_GRAD_ACCUMULATE;
    cl_int err = clSetKernelArg(kernel, 2, sizeof accumulate, &accumulate);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 3, sizeof(cl_mem), &saved->storage->mem);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 4, sizeof(cl_mem), &dy->storage->mem);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 5, sizeof(cl_mem), &dx->storage->mem);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(context, err, "clcnn_activation_backward: clSetKernelArg");
    return clcnn__pointwise_launch(context, kernel, &layout, dy->numel);
}

clcnn_status clcnn_activation_backward(clcnn_context *context,
                                       const clcnn_activation_params *params,
                                       const clcnn_tensor *saved, const clcnn_tensor *dy,
                                       clcnn_tensor *dx, clcnn_grad_mode grad_mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        activation_backward(context, params, saved, dy, dx, grad_mode));
}
