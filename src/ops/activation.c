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

/* Prepares kernel `name` for the activation of params, built for the
 * family's layout, which it gives, and sets the leading (n, slope). */
static clcnn_status prepare(clcnn_context *ctx, const clcnn_activation_params *params,
                            const char *name, size_t numel, clcnn__pointwise_layout *layout,
                            clcnn__launch *launch) {
    *layout = clcnn__pointwise_layout_for(ctx, CLCNN__POINTWISE_ACTIVATION);
    char layout_options[64], options[96];
    clcnn__pointwise_options(layout, layout_options, sizeof layout_options);
    snprintf(options, sizeof options, "-DACTIVATION=%d %s", (int)params->kind, layout_options);
    clcnn_status status = clcnn__launch_prepare(ctx, "activation.cl", options, name, launch);
    if (status == CLCNN_OK) {
        clcnn__arg_ulong(launch, numel);
        clcnn__arg_float(launch, params->negative_slope);
    }
    return status;
}

static clcnn_status activation_forward(clcnn_context *context,
                                       const clcnn_activation_params *params, const clcnn_tensor *x,
                                       clcnn_tensor *y) {
    static const char fn[] = "clcnn_activation_forward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {x, y};
    const char *names[] = {"x", "y"};
    clcnn_status status = check_params(context, fn, params);
    if (status == CLCNN_OK)
        status = clcnn__check_tensors(context, fn, operands, names, 2);
    if (status == CLCNN_OK)
        status = clcnn__check_same_numel(context, fn, "x", x, "y", y);
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(context, params, "activation_forward", x->numel, &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, x);
    clcnn__arg_tensor(&launch, y);
    return clcnn__pointwise_run(&launch, &layout, x->numel);
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
    static const char fn[] = "clcnn_activation_backward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {saved, dy, dx};
    const char *names[] = {"saved", "dy", "dx"};
    clcnn_status status = check_params(context, fn, params);
    if (status == CLCNN_OK)
        status = clcnn__check_tensors(context, fn, operands, names, 3);
    if (status == CLCNN_OK)
        status = clcnn__check_grad_mode(context, fn, grad_mode);
    if (status == CLCNN_OK)
        status = clcnn__check_same_numel(context, fn, "saved", saved, "dy", dy);
    if (status == CLCNN_OK)
        status = clcnn__check_same_numel(context, fn, "dx", dx, "dy", dy);
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(context, params, "activation_backward", dy->numel, &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_int(&launch, grad_mode == CLCNN_GRAD_ACCUMULATE);
    clcnn__arg_tensor(&launch, saved);
    clcnn__arg_tensor(&launch, dy);
    clcnn__arg_tensor(&launch, dx);
    return clcnn__pointwise_run(&launch, &layout, dy->numel);
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
