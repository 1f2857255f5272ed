/* Element-wise activations (cl/activation.cl): argument checks and launch.
 * The activation kind is a -D option (one small program per kind); the
 * vector width and the vectors per work-item come from a per-device table. */
#include <stdio.h>

#include "clcnn/activation.h"
#include "runtime/internal.h"

/* POCL: long float16 runs per work-item (it pays per work-group and runs a
 * work-item's loop as it is written); GPUs: one float4 per work-item so
 * that neighbouring work-items read neighbouring memory. */
typedef struct activation_tuning {
    clcnn_device_type type;
    int vec;      /* floats per vector: 2, 4, 8 or 16 */
    int items;    /* vectors per work-item */
    size_t local; /* work-group size (clamped to the device limit) */
} activation_tuning;

static const activation_tuning tunings[] = {
    {CLCNN_DEVICE_TYPE_CPU, 16, 8, 64},
    {CLCNN_DEVICE_TYPE_GPU, 4, 1, 256},
};
static const activation_tuning default_tuning = {CLCNN_DEVICE_TYPE_OTHER, 4, 1, 64};

static const activation_tuning *tuning_for(const clcnn_context *ctx) {
    for (size_t i = 0; i < sizeof tunings / sizeof tunings[0]; i++)
        if (tunings[i].type == ctx->info.type)
            return &tunings[i];
    return &default_tuning;
}

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
    return err == CL_SUCCESS ? CLCNN_OK : clcnn__fail_cl(ctx, err, "activation: clSetKernelArg");
}

static clcnn_status get_kernel(clcnn_context *ctx, const clcnn_activation_params *params,
                               const char *name, cl_kernel *out) {
    const activation_tuning *t = tuning_for(ctx);
    char options[96];
    snprintf(options, sizeof options, "-DACTIVATION=%d -DVEC=%d -DITEMS=%d", (int)params->kind,
             t->vec, t->items);
    return clcnn__kernel_get(ctx, "activation.cl", options, name, out);
}

static clcnn_status launch(clcnn_context *ctx, cl_kernel kernel, size_t numel) {
    const activation_tuning *t = tuning_for(ctx);
    const size_t chunk = (size_t)t->vec * (size_t)t->items;
    size_t local =
        t->local < ctx->info.max_work_group_size ? t->local : ctx->info.max_work_group_size;
    size_t global = clcnn__round_up((numel + chunk - 1) / chunk, local);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, &local);
}

clcnn_status clcnn_activation_forward(clcnn_context *context, const clcnn_activation_params *params,
                                      const clcnn_tensor *x, clcnn_tensor *y) {
    const char *what = "activation_forward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_params(context, what, params);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, x, "activation_forward: x");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, y, "activation_forward: y");
    if (status == CLCNN_OK)
        status = check_count(context, what, x, "x", y, "y");
    cl_kernel kernel = NULL;
    if (status == CLCNN_OK)
        status = get_kernel(context, params, "activation_forward", &kernel);
    if (status == CLCNN_OK)
        status = set_common_args(context, kernel, x->numel, params->negative_slope);
    if (status != CLCNN_OK)
        return status;
    cl_int err = clSetKernelArg(kernel, 2, sizeof(cl_mem), &x->storage->mem);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 3, sizeof(cl_mem), &y->storage->mem);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(context, err, "activation_forward: clSetKernelArg");
    return launch(context, kernel, x->numel);
}

clcnn_status clcnn_activation_backward(clcnn_context *context,
                                       const clcnn_activation_params *params,
                                       const clcnn_tensor *saved, const clcnn_tensor *dy,
                                       clcnn_tensor *dx, clcnn_grad_mode grad_mode) {
    const char *what = "activation_backward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_params(context, what, params);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, saved, "activation_backward: saved");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dy, "activation_backward: dy");
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(context, dx, "activation_backward: dx");
    if (status == CLCNN_OK && grad_mode != CLCNN_GRAD_OVERWRITE &&
        grad_mode != CLCNN_GRAD_ACCUMULATE)
        status = clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown grad_mode %d",
                             what, (int)grad_mode);
    if (status == CLCNN_OK)
        status = check_count(context, what, saved, "saved", dy, "dy");
    if (status == CLCNN_OK)
        status = check_count(context, what, dx, "dx", dy, "dy");
    cl_kernel kernel = NULL;
    if (status == CLCNN_OK)
        status = get_kernel(context, params, "activation_backward", &kernel);
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
        return clcnn__fail_cl(context, err, "activation_backward: clSetKernelArg");
    return launch(context, kernel, dy->numel);
}
