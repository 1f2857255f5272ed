/* Batch normalisation (PyTorch's BatchNorm1d/BatchNorm2d semantics):
 * training forward with batch statistics and running-stat update, eval
 * forward with running statistics, backward, and folding into the
 * convolution before it.
 *
 * Layout: x is [N, C, H, W] (BatchNorm2d), [N, C] or [N, C, L]
 * (BatchNorm1d). Statistics are taken per channel c over every other axis,
 * n = N * H * W (or N, or N * L) values each. Per-channel tensors (gamma,
 * beta, running stats, save_mean, save_invstd, dgamma, dbeta) are 1-D [C].
 * gamma and beta are optional everywhere: NULL means 1 and 0 (affine=False,
 * or either one absent as in F.batch_norm).
 *
 * Every function checks its arguments before enqueueing anything: a NULL
 * required argument or an invalid parameter is CLCNN_ERROR_INVALID_ARGUMENT;
 * a wrong rank or mismatched channel count is CLCNN_ERROR_INVALID_SHAPE;
 * a tensor of another context is CLCNN_ERROR_CONTEXT_MISMATCH; a tensor of
 * 2^31 or more elements is CLCNN_ERROR_SIZE_OVERFLOW. `params` NULL means
 * clcnn_batchnorm_params_default() everywhere. Calls are asynchronous (see
 * ops.h), never read anything back to the host, and draw their small
 * workspaces from the context's pool.
 *
 * Statistics are reduced on the device without E[x^2] - E[x]^2: a corrected
 * two-pass over cache-sized chunks, merged with Chan's formula, the mean
 * kept as a data value plus an offset (accurate for data far from zero,
 * e.g. mean 1e4 and std 1). Every reduction runs in a fixed order: the same
 * inputs on the same device give the same bits every run. */
#ifndef CLCNN_BATCHNORM_H
#define CLCNN_BATCHNORM_H

#include <stdint.h>

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clcnn_batchnorm_params {
    /* Added to the variance inside the square root; finite and >= 0. */
    float eps;
    /* Weight of the new batch statistic in the running-stat update
     * (PyTorch's convention, the reverse of Keras's): in [0, 1]. */
    float momentum;
    /* Non-zero: PyTorch's momentum=None, a cumulative moving average with
     * weight 1 / num_batches_tracked; `momentum` is then not used. */
    int cumulative_average;
    /* An activation fused into the forwards (training and eval), which then
     * output act(y) in one pass, and into clcnn_batchnorm_backward, which
     * then takes the gradient through it from that output. Not used by the
     * fold and the eval affine (the activation stays the caller's there). */
    clcnn_fused_activation activation;
} clcnn_batchnorm_params;

/* eps 1e-5, momentum 0.1, cumulative_average 0, no activation (PyTorch's
 * defaults). */
CLCNN_API clcnn_batchnorm_params clcnn_batchnorm_params_default(void);

/* The running statistics of one batch-norm layer (PyTorch's buffers). The
 * struct and its tensors belong to the caller; the fields may be set
 * directly, e.g. to load saved statistics. Training forward updates the
 * tensors on the device and num_batches_tracked on the host. */
typedef struct clcnn_batchnorm_state {
    clcnn_tensor *running_mean; /* [C] */
    clcnn_tensor *running_var;  /* [C], unbiased variance estimate */
    int64_t num_batches_tracked;
} clcnn_batchnorm_state;

/* Creates running_mean = 0 and running_var = 1 tensors of [channels] and
 * sets num_batches_tracked = 0. On failure *state is left all NULL/0. */
CLCNN_API clcnn_status clcnn_batchnorm_state_init(clcnn_context *context, size_t channels,
                                                  clcnn_batchnorm_state *state);

/* Destroys the two tensors and zeroes the struct; NULL is a no-op. */
CLCNN_API void clcnn_batchnorm_state_release(clcnn_batchnorm_state *state);

/* What a training forward keeps for its backward: the batch mean and
 * 1 / sqrt(var_B + eps) of each channel ([C] each, the caller's). */
typedef struct clcnn_batchnorm_saved {
    clcnn_tensor *mean;
    clcnn_tensor *invstd;
} clcnn_batchnorm_saved;

/* The gradients of gamma and beta ([C] each, the caller's; either may be
 * NULL: not computed) and how they are written. */
typedef struct clcnn_batchnorm_grads {
    clcnn_tensor *dgamma;
    clcnn_tensor *dbeta;
    clcnn_grad_mode mode;
} clcnn_batchnorm_grads;

/* Training forward: y = (x - mean_B) / sqrt(var_B + eps) * gamma + beta with
 * the batch mean and biased batch variance of each channel. When state is
 * not NULL, running_mean/running_var are updated with momentum (the running
 * variance takes the unbiased variance var_B * n / (n - 1)) and
 * num_batches_tracked is incremented; state NULL is track_running_stats=False.
 * saved (required, both tensors too) receives mean_B and 1 / sqrt(var_B +
 * eps), what clcnn_batchnorm_backward needs. y has x's shape and may be x
 * itself. n = 1 is CLCNN_ERROR_INVALID_SHAPE
 * ("expected more than 1 value per channel when training"). */
CLCNN_API clcnn_status clcnn_batchnorm_forward_train(
    clcnn_context *context, const clcnn_batchnorm_params *params, const clcnn_tensor *x,
    const clcnn_tensor *gamma, const clcnn_tensor *beta, clcnn_batchnorm_state *state,
    clcnn_tensor *y, const clcnn_batchnorm_saved *saved);

/* Eval forward: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta.
 * state is required and left unchanged. y has x's shape and may be x itself.
 * (Without running statistics PyTorch uses batch statistics in eval too:
 * call clcnn_batchnorm_forward_train with state NULL.) */
CLCNN_API clcnn_status clcnn_batchnorm_forward_eval(
    clcnn_context *context, const clcnn_batchnorm_params *params, const clcnn_tensor *x,
    const clcnn_tensor *gamma, const clcnn_tensor *beta, const clcnn_batchnorm_state *state,
    clcnn_tensor *y);

/* Training-mode backward from what the forward saved:
 * dx = gamma * invstd / n * (n * g - sum(g) - xhat * sum(g * xhat)),
 * dgamma = sum(g * xhat), dbeta = sum(g), xhat = (x - saved.mean) * invstd,
 * where g is dy, or with params->activation the gradient through it from
 * the forward's output y (required then, x's shape; NULL otherwise allowed)
 * -- the same bits as clcnn_activation_backward then this backward, without
 * storing g. params as the forward's (NULL: the defaults). dx (x's shape)
 * and grads (NULL: neither) are optional; dx is overwritten and may be dy,
 * x or y itself; grads->dgamma and dbeta follow grads->mode. gamma is the
 * forward's (NULL: 1). */
CLCNN_API clcnn_status clcnn_batchnorm_backward(
    clcnn_context *context, const clcnn_batchnorm_params *params, const clcnn_tensor *x,
    const clcnn_tensor *y, const clcnn_tensor *dy, const clcnn_tensor *gamma,
    const clcnn_batchnorm_saved *saved, clcnn_tensor *dx, const clcnn_batchnorm_grads *grads);

/* Eval-mode batch norm as a per-channel affine y = x * scale + shift, for
 * fusing it into the layer before (clcnn_conv2d_forward_fused's epilogue):
 * scale = gamma / sqrt(running_var + eps), shift = beta - running_mean *
 * scale, computed on the device from the current parameters (so call it
 * again after they change). gamma and beta are optional (1, 0); state is
 * required; scale and shift are [C], C = running_mean's length, required,
 * and must not share memory with each other (CLCNN_ERROR_INVALID_ARGUMENT);
 * either may be an input itself (in place). Rounds differently from
 * clcnn_batchnorm_forward_eval's (x - mean) * scale + beta: the two agree to
 * a few ulp of |x * scale| + |mean * scale| + |beta|. */
CLCNN_API clcnn_status clcnn_batchnorm_eval_affine(clcnn_context *context,
                                                   const clcnn_batchnorm_params *params,
                                                   const clcnn_tensor *gamma,
                                                   const clcnn_tensor *beta,
                                                   const clcnn_batchnorm_state *state,
                                                   clcnn_tensor *scale, clcnn_tensor *shift);

/* Folds eval-mode batch norm into the convolution (or dense layer) before
 * it, so that conv(x, folded_weight, folded_bias) = batchnorm_eval(conv(x,
 * conv_weight, conv_bias)): with s = gamma / sqrt(running_var + eps),
 * folded_weight[k] = conv_weight[k] * s[k] and
 * folded_bias[k] = (conv_bias[k] - running_mean[k]) * s[k] + beta[k].
 * conv_weight is [K, C, kh, kw] (or any rank 2..4 with K first), K = the
 * batch norm's channel count; conv_bias [K] is optional (NULL: 0);
 * folded_weight has conv_weight's shape and folded_bias is [K], both
 * required. The outputs may be the inputs themselves (in place). */
CLCNN_API clcnn_status clcnn_batchnorm_fold_into_conv(
    clcnn_context *context, const clcnn_batchnorm_params *params, const clcnn_tensor *gamma,
    const clcnn_tensor *beta, const clcnn_batchnorm_state *state, const clcnn_tensor *conv_weight,
    const clcnn_tensor *conv_bias, clcnn_tensor *folded_weight, clcnn_tensor *folded_bias);

#ifdef __cplusplus
}
#endif

#endif
