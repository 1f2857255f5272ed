/* Batch normalisation: the public calls, their argument checks and the
 * running-statistics bookkeeping on the host. The kernel sequences live in
 * batchnorm_launch.c, the kernels in cl/batchnorm.cl. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "batchnorm_flags.h"
#include "ops/batchnorm_internal.h"

/* Kernels index with 32-bit integers and add a span or chunk to an index. */
#define MAX_ELEMENTS ((size_t)1 << 31)

clcnn_batchnorm_params clcnn_batchnorm_params_default(void) {
    clcnn_batchnorm_params params = {1e-5f, 0.1f, 0, CLCNN_FUSED_NONE};
    return params;
}

/* ------------------------------------------------------------------ state */

static clcnn_status batchnorm_state_init(clcnn_context *context, size_t channels,
                                         clcnn_batchnorm_state *state) {
    if (context == NULL || state == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_batchnorm_state_init: state is NULL");
    *state = (clcnn_batchnorm_state){NULL, NULL, 0};
    clcnn_tensor *mean = NULL, *var = NULL;
    clcnn_status status = clcnn_tensor_create(context, 1, &channels, &mean);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(context, 1, &channels, &var);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(var, 1.0f);
    if (status != CLCNN_OK) {
        clcnn_tensor_destroy(mean);
        clcnn_tensor_destroy(var);
        return status;
    }
    state->running_mean = mean;
    state->running_var = var;
    return CLCNN_OK;
}

clcnn_status clcnn_batchnorm_state_init(clcnn_context *context, size_t channels,
                                        clcnn_batchnorm_state *state) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, batchnorm_state_init(context, channels, state));
}

void clcnn_batchnorm_state_release(clcnn_batchnorm_state *state) {
    if (state == NULL)
        return;
    clcnn_tensor_destroy(state->running_mean);
    clcnn_tensor_destroy(state->running_var);
    *state = (clcnn_batchnorm_state){NULL, NULL, 0};
}

/* ----------------------------------------------------------------- checks */

static clcnn_status check_params(clcnn_context *ctx, const clcnn_batchnorm_params *params,
                                 clcnn_batchnorm_params *out) {
    *out = params != NULL ? *params : clcnn_batchnorm_params_default();
    if (!isfinite(out->eps) || out->eps < 0.0f)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "eps must be finite and >= 0, not %g",
                           (double)out->eps);
    if (!out->cumulative_average && !(out->momentum >= 0.0f && out->momentum <= 1.0f))
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "momentum must be in [0, 1], not %g",
                           (double)out->momentum);
    if (out->activation != CLCNN_FUSED_NONE && out->activation != CLCNN_FUSED_RELU)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown fused activation %d",
                           (int)out->activation);
    return CLCNN_OK;
}

static clcnn_status check_state(clcnn_context *ctx, const char *fn,
                                const clcnn_batchnorm_state *state) {
    const clcnn_tensor *tensors[] = {state->running_mean, state->running_var};
    const char *names[] = {"state->running_mean", "state->running_var"};
    return clcnn__check_tensors(ctx, fn, tensors, names, 2);
}

/* What both eval entry points check first: the parameters, two required
 * tensors, optional gamma and beta, and running statistics (state NULL
 * fails with state_missing as the message). */
static clcnn_status
check_eval_operands(clcnn_context *ctx, const char *fn, const clcnn_batchnorm_params *params,
                    clcnn_batchnorm_params *p, const clcnn_tensor *const required[2],
                    const char *const required_names[2], const clcnn_tensor *gamma,
                    const clcnn_tensor *beta, const clcnn_batchnorm_state *state,
                    const char *state_missing) {
    const clcnn_tensor *optional[] = {gamma, beta};
    const char *optional_names[] = {"gamma", "beta"};
    clcnn_status status = check_params(ctx, params, p);
    if (status == CLCNN_OK)
        status = clcnn__check_tensors(ctx, fn, required, required_names, 2);
    if (status == CLCNN_OK)
        status = clcnn__check_optional_tensors(ctx, fn, optional, optional_names, 2);
    if (status == CLCNN_OK && state == NULL)
        status = clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %s", fn, state_missing);
    if (status == CLCNN_OK)
        status = check_state(ctx, fn, state);
    return status;
}

/* The tensor that gives a call its channels: of a rank that `fits` its
 * `layout`, and small enough for the kernels' indices. `what` names it in a
 * failure. */
static clcnn_status check_layout(clcnn_context *ctx, const char *what, const clcnn_tensor *tensor,
                                 int fits, const char *layout) {
    char shape[96];
    if (!fits)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s %s must be %s", what,
                           clcnn__shape_string(tensor, shape, sizeof shape), layout);
    if (tensor->numel >= MAX_ELEMENTS)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW, "%s %s has 2^31 or more elements", what,
                           clcnn__shape_string(tensor, shape, sizeof shape));
    return CLCNN_OK;
}

/* x as [N, C, inner]: rank 2 to 4 ([N, C], [N, C, L], [N, C, H, W]). */
static clcnn_status input_shape(clcnn_context *ctx, const clcnn_tensor *x, const char *name,
                                clcnn__batchnorm_shape *out) {
    clcnn_status status =
        check_layout(ctx, name, x, x->ndim >= 2, "[N, C], [N, C, L] or [N, C, H, W]");
    if (status != CLCNN_OK)
        return status;
    out->batch = x->dims[0];
    out->channels = x->dims[1];
    out->inner = 1;
    for (size_t i = 2; i < x->ndim; i++)
        out->inner *= x->dims[i];
    out->count = x->dims[0] * out->inner;
    out->total = x->numel;
    return CLCNN_OK;
}

/* The shape of a training call's x, which needs two or more values per
 * channel (PyTorch's _verify_batch_size), else the unbiased variance
 * divides by zero. */
static clcnn_status training_shape(clcnn_context *ctx, const clcnn_tensor *x,
                                   clcnn__batchnorm_shape *shape) {
    clcnn_status status = input_shape(ctx, x, "x", shape);
    if (status != CLCNN_OK || shape->count > 1)
        return status;
    char text[96];
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                       "expected more than 1 value per channel when training, got "
                       "input %s",
                       clcnn__shape_string(x, text, sizeof text));
}

/* Per-channel tensors (NULL entries skipped) must be 1-D [channels]. */
static clcnn_status check_channels(clcnn_context *ctx, const char *fn,
                                   const clcnn_tensor *const *tensors, const char *const *names,
                                   size_t count, size_t channels, const clcnn_tensor *x,
                                   const char *x_name) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < count && status == CLCNN_OK; i++)
        if (tensors[i] != NULL)
            status =
                clcnn__check_dims_match(ctx, fn, names[i], tensors[i], 1, &channels, x_name, x);
    return status;
}

static cl_mem mem_of(const clcnn_tensor *t) {
    return t != NULL ? t->storage->mem : NULL;
}

/* ------------------------------------------------------------ forward */

clcnn_status
clcnn__batchnorm_forward_train_planned(clcnn_context *context, const clcnn__batchnorm_plan *plan,
                                       const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                       const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                       clcnn_batchnorm_state *state, clcnn_tensor *y,
                                       clcnn_tensor *save_mean, clcnn_tensor *save_invstd) {
    static const char fn[] = "clcnn_batchnorm_forward_train";
    if (context == NULL || plan == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: context is NULL", fn);
    clcnn_batchnorm_params p;
    clcnn_status status = check_params(context, params, &p);
    const clcnn_tensor *required[] = {x, y, save_mean, save_invstd};
    const char *required_names[] = {"x", "y", "save_mean", "save_invstd"};
    const clcnn_tensor *optional[] = {gamma, beta};
    const char *optional_names[] = {"gamma", "beta"};
    if (status == CLCNN_OK)
        status = clcnn__check_tensors(context, fn, required, required_names, 4);
    if (status == CLCNN_OK)
        status = clcnn__check_optional_tensors(context, fn, optional, optional_names, 2);
    if (status == CLCNN_OK && state != NULL)
        status = check_state(context, fn, state);
    if (status == CLCNN_OK && state != NULL &&
        (state->num_batches_tracked < 0 || state->num_batches_tracked == INT64_MAX))
        status = clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                             "num_batches_tracked %lld is out of range",
                             (long long)state->num_batches_tracked);
    clcnn__batchnorm_shape shape;
    if (status == CLCNN_OK)
        status = training_shape(context, x, &shape);
    if (status == CLCNN_OK)
        status = clcnn__check_same_shape(context, fn, "y", y, "x", x);
    if (status == CLCNN_OK) {
        const clcnn_tensor *per_channel[] = {gamma,
                                             beta,
                                             save_mean,
                                             save_invstd,
                                             state ? state->running_mean : NULL,
                                             state ? state->running_var : NULL};
        const char *names[] = {"gamma",       "beta",         "save_mean",
                               "save_invstd", "running_mean", "running_var"};
        status = check_channels(context, fn, per_channel, names, 6, shape.channels, x, "x");
    }
    if (status != CLCNN_OK)
        return status;

    unsigned flags = (gamma ? BN_HAS_GAMMA : 0u) | (beta ? BN_HAS_BETA : 0u) |
                     (p.activation == CLCNN_FUSED_RELU ? BN_RELU : 0u);
    float factor = 0.0f;
    if (state != NULL) {
        flags |= BN_TRACK_RUNNING;
        factor = p.cumulative_average ? (float)(1.0 / (double)(state->num_batches_tracked + 1))
                                      : p.momentum;
    }
    clcnn__batchnorm_buffers buffers = {0};
    buffers.x = mem_of(x);
    buffers.y = mem_of(y);
    buffers.gamma = mem_of(gamma);
    buffers.beta = mem_of(beta);
    buffers.running_mean = state ? mem_of(state->running_mean) : NULL;
    buffers.running_var = state ? mem_of(state->running_var) : NULL;
    buffers.save_mean = mem_of(save_mean);
    buffers.save_invstd = mem_of(save_invstd);
    status = clcnn__batchnorm_enqueue_train(context, plan, &shape, &buffers, p.eps, factor, flags);
    if (status == CLCNN_OK && state != NULL)
        state->num_batches_tracked++;
    return status;
}

clcnn_status clcnn_batchnorm_forward_train(clcnn_context *context,
                                           const clcnn_batchnorm_params *params,
                                           const clcnn_tensor *x, const clcnn_tensor *gamma,
                                           const clcnn_tensor *beta, clcnn_batchnorm_state *state,
                                           clcnn_tensor *y, const clcnn_batchnorm_saved *saved) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    clcnn__batchnorm_plan plan = clcnn__batchnorm_plan_for(context);
    clcnn_status status =
        saved != NULL
            ? clcnn__batchnorm_forward_train_planned(context, &plan, params, x, gamma, beta, state,
                                                     y, saved->mean, saved->invstd)
            : clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "saved is NULL");
    return clcnn__named(context, mark, __func__, status);
}

clcnn_status
clcnn__batchnorm_forward_eval_planned(clcnn_context *context, const clcnn__batchnorm_plan *plan,
                                      const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                      const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                      const clcnn_batchnorm_state *state, clcnn_tensor *y) {
    static const char fn[] = "clcnn_batchnorm_forward_eval";
    if (context == NULL || plan == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: context is NULL", fn);
    clcnn_batchnorm_params p;
    const clcnn_tensor *required[] = {x, y};
    const char *required_names[] = {"x", "y"};
    clcnn_status status = check_eval_operands(
        context, fn, params, &p, required, required_names, gamma, beta, state,
        "state is NULL (without running statistics use the training forward with state NULL)");
    clcnn__batchnorm_shape shape;
    if (status == CLCNN_OK)
        status = input_shape(context, x, "x", &shape);
    if (status == CLCNN_OK)
        status = clcnn__check_same_shape(context, fn, "y", y, "x", x);
    if (status == CLCNN_OK) {
        const clcnn_tensor *per_channel[] = {gamma, beta, state->running_mean, state->running_var};
        const char *names[] = {"gamma", "beta", "running_mean", "running_var"};
        status = check_channels(context, fn, per_channel, names, 4, shape.channels, x, "x");
    }
    if (status != CLCNN_OK)
        return status;
    clcnn__batchnorm_buffers buffers = {0};
    buffers.x = mem_of(x);
    buffers.y = mem_of(y);
    buffers.gamma = mem_of(gamma);
    buffers.beta = mem_of(beta);
    buffers.running_mean = mem_of(state->running_mean);
    buffers.running_var = mem_of(state->running_var);
    unsigned flags = (gamma ? BN_HAS_GAMMA : 0u) | (beta ? BN_HAS_BETA : 0u) |
                     (p.activation == CLCNN_FUSED_RELU ? BN_RELU : 0u);
    return clcnn__batchnorm_enqueue_eval(context, plan, &shape, &buffers, p.eps, flags);
}

clcnn_status clcnn_batchnorm_forward_eval(clcnn_context *context,
                                          const clcnn_batchnorm_params *params,
                                          const clcnn_tensor *x, const clcnn_tensor *gamma,
                                          const clcnn_tensor *beta,
                                          const clcnn_batchnorm_state *state, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    clcnn__batchnorm_plan plan = clcnn__batchnorm_plan_for(context);
    return clcnn__named(
        context, mark, __func__,
        clcnn__batchnorm_forward_eval_planned(context, &plan, params, x, gamma, beta, state, y));
}

/* ------------------------------------------------------------ backward */

/* The backward, with the fused ReLU's mask when relu (y then required). */
static clcnn_status backward_planned(clcnn_context *context, const clcnn__batchnorm_plan *plan,
                                     const clcnn_tensor *x, int relu, const clcnn_tensor *y,
                                     const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                     const clcnn_tensor *save_mean, const clcnn_tensor *save_invstd,
                                     clcnn_tensor *dx, clcnn_tensor *dgamma, clcnn_tensor *dbeta,
                                     clcnn_grad_mode param_grad_mode) {
    static const char fn[] = "clcnn_batchnorm_backward";
    if (context == NULL || plan == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: context is NULL", fn);
    const clcnn_tensor *required[] = {x, dy, save_mean, save_invstd, y};
    const char *required_names[] = {"x", "dy", "save_mean", "save_invstd", "y"};
    const clcnn_tensor *optional[] = {gamma, dx, dgamma, dbeta};
    const char *optional_names[] = {"gamma", "dx", "dgamma", "dbeta"};
    clcnn_status status = clcnn__check_tensors(context, fn, required, required_names, relu ? 5 : 4);
    if (status == CLCNN_OK)
        status = clcnn__check_optional_tensors(context, fn, optional, optional_names, 4);
    if (status == CLCNN_OK)
        status = clcnn__check_grad_mode(context, fn, param_grad_mode);
    clcnn__batchnorm_shape shape;
    if (status == CLCNN_OK)
        status = training_shape(context, x, &shape);
    if (status == CLCNN_OK)
        status = clcnn__check_same_shape(context, fn, "dy", dy, "x", x);
    if (status == CLCNN_OK && dx != NULL)
        status = clcnn__check_same_shape(context, fn, "dx", dx, "x", x);
    if (status == CLCNN_OK && relu)
        status = clcnn__check_same_shape(context, fn, "y", y, "x", x);
    if (status == CLCNN_OK) {
        const clcnn_tensor *per_channel[] = {gamma, save_mean, save_invstd, dgamma, dbeta};
        const char *names[] = {"gamma", "save_mean", "save_invstd", "dgamma", "dbeta"};
        status = check_channels(context, fn, per_channel, names, 5, shape.channels, x, "x");
    }
    if (status != CLCNN_OK || (dx == NULL && dgamma == NULL && dbeta == NULL))
        return status;
    unsigned flags = (gamma ? BN_HAS_GAMMA : 0u) | (dx ? BN_WANT_DX : 0u) |
                     (dgamma ? BN_WANT_DGAMMA : 0u) | (dbeta ? BN_WANT_DBETA : 0u) |
                     (param_grad_mode == CLCNN_GRAD_ACCUMULATE ? BN_ACCUMULATE : 0u) |
                     (relu ? BN_RELU : 0u);
    clcnn__batchnorm_buffers buffers = {0};
    buffers.x = mem_of(x);
    buffers.y = relu ? mem_of(y) : NULL;
    buffers.dy = mem_of(dy);
    buffers.dx = mem_of(dx);
    buffers.gamma = mem_of(gamma);
    buffers.save_mean = mem_of(save_mean);
    buffers.save_invstd = mem_of(save_invstd);
    buffers.dgamma = mem_of(dgamma);
    buffers.dbeta = mem_of(dbeta);
    return clcnn__batchnorm_enqueue_backward(context, plan, &shape, &buffers, flags);
}

clcnn_status clcnn__batchnorm_backward_planned(
    clcnn_context *context, const clcnn__batchnorm_plan *plan, const clcnn_tensor *x,
    const clcnn_tensor *dy, const clcnn_tensor *gamma, const clcnn_tensor *save_mean,
    const clcnn_tensor *save_invstd, clcnn_tensor *dx, clcnn_tensor *dgamma, clcnn_tensor *dbeta,
    clcnn_grad_mode param_grad_mode) {
    return backward_planned(context, plan, x, 0, NULL, dy, gamma, save_mean, save_invstd, dx,
                            dgamma, dbeta, param_grad_mode);
}

clcnn_status clcnn__batchnorm_backward_relu_planned(
    clcnn_context *context, const clcnn__batchnorm_plan *plan, const clcnn_tensor *x,
    const clcnn_tensor *y, const clcnn_tensor *dy, const clcnn_tensor *gamma,
    const clcnn_tensor *save_mean, const clcnn_tensor *save_invstd, clcnn_tensor *dx,
    clcnn_tensor *dgamma, clcnn_tensor *dbeta, clcnn_grad_mode param_grad_mode) {
    return backward_planned(context, plan, x, 1, y, dy, gamma, save_mean, save_invstd, dx, dgamma,
                            dbeta, param_grad_mode);
}

/* The public backward: the fused activation from params, the saved
 * statistics and the gradients from their structs. */
static clcnn_status batchnorm_backward(clcnn_context *context, const clcnn_batchnorm_params *params,
                                       const clcnn_tensor *x, const clcnn_tensor *y,
                                       const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                       const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                       const clcnn_batchnorm_grads *grads) {
    clcnn_batchnorm_params p;
    clcnn_status status = check_params(context, params, &p);
    if (status == CLCNN_OK && saved == NULL)
        status = clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "saved is NULL");
    if (status != CLCNN_OK)
        return status;
    const clcnn_batchnorm_grads none = {NULL, NULL, CLCNN_GRAD_OVERWRITE};
    if (grads == NULL)
        grads = &none;
    clcnn__batchnorm_plan plan = clcnn__batchnorm_plan_for(context);
    return backward_planned(context, &plan, x, p.activation == CLCNN_FUSED_RELU, y, dy, gamma,
                            saved->mean, saved->invstd, dx, grads->dgamma, grads->dbeta,
                            grads->mode);
}

clcnn_status clcnn_batchnorm_backward(clcnn_context *context, const clcnn_batchnorm_params *params,
                                      const clcnn_tensor *x, const clcnn_tensor *y,
                                      const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                      const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                      const clcnn_batchnorm_grads *grads) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        batchnorm_backward(context, params, x, y, dy, gamma, saved, dx, grads));
}

/* ------------------------------------------------------------ eval affine */

static clcnn_status batchnorm_eval_affine(clcnn_context *context,
                                          const clcnn_batchnorm_params *params,
                                          const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                          const clcnn_batchnorm_state *state, clcnn_tensor *scale,
                                          clcnn_tensor *shift) {
    static const char fn[] = "clcnn_batchnorm_eval_affine";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_batchnorm_params p;
    const clcnn_tensor *required[] = {scale, shift};
    const char *required_names[] = {"scale", "shift"};
    clcnn_status status = check_eval_operands(context, fn, params, &p, required, required_names,
                                              gamma, beta, state, "state is NULL");
    if (status == CLCNN_OK)
        status = clcnn__check_distinct(context, fn, "scale", scale, "shift", shift);
    if (status != CLCNN_OK)
        return status;
    const clcnn_tensor *mean = state->running_mean;
    char what[96];
    snprintf(what, sizeof what, "%s: running_mean", fn);
    status = check_layout(context, what, mean, mean->ndim == 1, "[C]");
    if (status != CLCNN_OK)
        return status;
    size_t channels = mean->dims[0];
    const clcnn_tensor *per_channel[] = {state->running_var, gamma, beta, scale, shift};
    const char *names[] = {"running_var", "gamma", "beta", "scale", "shift"};
    status = check_channels(context, fn, per_channel, names, 5, channels, mean, "running_mean");
    if (status != CLCNN_OK)
        return status;
    unsigned flags = (gamma ? BN_HAS_GAMMA : 0u) | (beta ? BN_HAS_BETA : 0u);
    return clcnn__batchnorm_enqueue_eval_affine(context, channels, mem_of(gamma), mem_of(beta),
                                                mem_of(mean), mem_of(state->running_var),
                                                mem_of(scale), mem_of(shift), p.eps, flags);
}

clcnn_status clcnn_batchnorm_eval_affine(clcnn_context *context,
                                         const clcnn_batchnorm_params *params,
                                         const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                         const clcnn_batchnorm_state *state, clcnn_tensor *scale,
                                         clcnn_tensor *shift) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        batchnorm_eval_affine(context, params, gamma, beta, state, scale, shift));
}

/* ---------------------------------------------------------------- fold */

static clcnn_status batchnorm_fold_into_conv(
    clcnn_context *context, const clcnn_batchnorm_params *params, const clcnn_tensor *gamma,
    const clcnn_tensor *beta, const clcnn_batchnorm_state *state, const clcnn_tensor *conv_weight,
    const clcnn_tensor *conv_bias, clcnn_tensor *folded_weight, clcnn_tensor *folded_bias) {
    static const char fn[] = "clcnn_batchnorm_fold_into_conv";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_batchnorm_params p;
    clcnn_status status = check_params(context, params, &p);
    const clcnn_tensor *required[] = {conv_weight, folded_weight, folded_bias};
    const char *required_names[] = {"conv_weight", "folded_weight", "folded_bias"};
    const clcnn_tensor *optional[] = {gamma, beta, conv_bias};
    const char *optional_names[] = {"gamma", "beta", "conv_bias"};
    if (status == CLCNN_OK)
        status = clcnn__check_tensors(context, fn, required, required_names, 3);
    if (status == CLCNN_OK)
        status = clcnn__check_optional_tensors(context, fn, optional, optional_names, 3);
    if (status == CLCNN_OK && state == NULL)
        status = clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: state is NULL", fn);
    if (status == CLCNN_OK)
        status = check_state(context, fn, state);
    if (status != CLCNN_OK)
        return status;
    char what[96];
    snprintf(what, sizeof what, "%s: conv_weight", fn);
    status = check_layout(context, what, conv_weight, conv_weight->ndim >= 2, "[K, C, kh, kw]");
    if (status != CLCNN_OK)
        return status;
    size_t channels = conv_weight->dims[0];
    status = clcnn__check_same_shape(context, fn, "folded_weight", folded_weight, "conv_weight",
                                     conv_weight);
    if (status == CLCNN_OK) {
        const clcnn_tensor *per_channel[] = {state->running_mean, state->running_var, gamma, beta,
                                             conv_bias,           folded_bias};
        const char *names[] = {"running_mean", "running_var", "gamma",
                               "beta",         "conv_bias",   "folded_bias"};
        status = check_channels(context, fn, per_channel, names, 6, channels, conv_weight,
                                "conv_weight");
    }
    if (status != CLCNN_OK)
        return status;
    unsigned flags =
        (gamma ? BN_HAS_GAMMA : 0u) | (beta ? BN_HAS_BETA : 0u) | (conv_bias ? BN_HAS_BIAS : 0u);
    return clcnn__batchnorm_enqueue_fold(
        context, channels, conv_weight->numel / channels, mem_of(conv_weight), mem_of(conv_bias),
        mem_of(gamma), mem_of(beta), mem_of(state->running_mean), mem_of(state->running_var),
        mem_of(folded_weight), mem_of(folded_bias), p.eps, flags);
}

clcnn_status clcnn_batchnorm_fold_into_conv(
    clcnn_context *context, const clcnn_batchnorm_params *params, const clcnn_tensor *gamma,
    const clcnn_tensor *beta, const clcnn_batchnorm_state *state, const clcnn_tensor *conv_weight,
    const clcnn_tensor *conv_bias, clcnn_tensor *folded_weight, clcnn_tensor *folded_bias) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        batchnorm_fold_into_conv(context, params, gamma, beta, state, conv_weight,
                                                 conv_bias, folded_weight, folded_bias));
}
