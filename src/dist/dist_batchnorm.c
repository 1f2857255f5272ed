/* Batch norm across ranks (PyTorch's SyncBatchNorm), from the public batch
 * norm and element-wise ops plus gathers of per-channel statistics; without
 * options.sync_batchnorm the local ops themselves.
 *
 * Forward: the local op over a workspace gives each rank's mean and
 * inverse standard deviation per channel; the ranks gather (count, mean,
 * variance) and merge them with Chan's formula in rank order in double;
 * the eval forward with the merged statistics in place of running ones then
 * normalises x. Backward: the local backward with gamma 1 and no dx gives
 * sum(dy) and sum(dy * xhat); the ranks sum them; with the global sums S1,
 * S2 and count n,
 *   dx = gamma * invstd * (dy - S1 / n - xhat * S2 / n)
 * is an eval forward of dy (scale gamma * invstd) plus one of x (mean
 * save_mean, scale -gamma * invstd^2 * S2 / n, shift -gamma * invstd * S1 /
 * n), added. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/activation.h"
#include "clcnn/elementwise.h"
#include "dist_internal.h"

/* Host memory for per-channel vectors of one call. */
typedef struct channel_vectors {
    double *a, *b; /* e.g. mean and variance, or sum(dy) and sum(dy * xhat) */
    float *f1, *f2, *f3;
} channel_vectors;

static clcnn_status vectors_make(clcnn_dist *dist, size_t channels, channel_vectors *v) {
    v->a = calloc(channels, sizeof *v->a);
    v->b = calloc(channels, sizeof *v->b);
    v->f1 = calloc(channels, sizeof *v->f1);
    v->f2 = calloc(channels, sizeof *v->f2);
    v->f3 = calloc(channels, sizeof *v->f3);
    if (v->a == NULL || v->b == NULL || v->f1 == NULL || v->f2 == NULL || v->f3 == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                "out of host memory for %zu channels", channels);
    return CLCNN_OK;
}

static void vectors_free(channel_vectors *v) {
    free(v->a);
    free(v->b);
    free(v->f1);
    free(v->f2);
    free(v->f3);
}

/* Workspace tensors of one call, returned to the pool at its end. */
#define MAX_WORKSPACES 12
typedef struct workspaces {
    clcnn_tensor *t[MAX_WORKSPACES];
    size_t count;
} workspaces;

static clcnn_status workspace_like(clcnn_dist *dist, workspaces *w, const clcnn_tensor *like,
                                   clcnn_tensor **out) {
    clcnn_status status = clcnn__dist_tensor_like(dist, like, out);
    if (status == CLCNN_OK)
        w->t[w->count++] = *out;
    return status;
}

static clcnn_status workspace_vector(clcnn_dist *dist, workspaces *w, size_t channels,
                                     const float *values, clcnn_tensor **out) {
    clcnn_status status = clcnn_tensor_create(dist->ctx, 1, &channels, out);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "making a workspace");
    w->t[w->count++] = *out;
    status = values != NULL ? clcnn_tensor_write(*out, 0, values, channels) : CLCNN_OK;
    return status == CLCNN_OK ? CLCNN_OK
                              : clcnn__dist_fail_core(dist, status, "writing a workspace");
}

static void workspaces_free(workspaces *w) {
    for (size_t i = 0; i < w->count; i++)
        clcnn_tensor_destroy(w->t[i]);
}

/* ------------------------------------------------------------------ checks */

static size_t channels_of(const clcnn_tensor *x) {
    return x != NULL && clcnn_tensor_ndim(x) >= 2 ? clcnn_tensor_dim(x, 1) : 0;
}

/* What the local ops would refuse only after the exchange: a rank must not
 * fail alone once the others are waiting for it. */
static clcnn_status check_per_channel(clcnn_dist *dist, size_t channels, const char *name,
                                      const clcnn_tensor *t) {
    if (t != NULL && clcnn_tensor_numel(t) != channels)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE,
                                "%s has %zu elements, x has %zu channels", name,
                                clcnn_tensor_numel(t), channels);
    return CLCNN_OK;
}

static clcnn_status check_like_x(clcnn_dist *dist, const clcnn_tensor *x, const char *name,
                                 const clcnn_tensor *t) {
    if (t != NULL && clcnn_tensor_numel(t) != clcnn_tensor_numel(x))
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE, "%s has %zu elements, x has %zu",
                                name, clcnn_tensor_numel(t), clcnn_tensor_numel(x));
    return CLCNN_OK;
}

/* A failure once the arguments were checked: the other ranks are waiting
 * for this one at the exchange (or will be at the next): tell them. */
static clcnn_status fail_collective(clcnn_dist *dist, clcnn_status status) {
    if (!dist->broken && status != CLCNN_ERROR_PEER_FAILED)
        clcnn__dist_tell_peers(dist, status, dist->error);
    clcnn__dist_break(dist);
    return status;
}

/* What each public call does first: enter the dist and take its params
 * (the defaults for NULL). */
static clcnn_status batchnorm_enter(clcnn_dist *dist, const char *function,
                                    const clcnn_batchnorm_params *params,
                                    clcnn_batchnorm_params *chosen) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, function);
    if (status == CLCNN_OK)
        *chosen = params != NULL ? *params : clcnn_batchnorm_params_default();
    return status;
}

/* The status of the plain op run on this rank alone (no synchronised
 * batch norm). */
static clcnn_status local_result(clcnn_dist *dist, clcnn_status status) {
    return status == CLCNN_OK ? CLCNN_OK : clcnn__dist_fail_core(dist, status, "local");
}

/* ----------------------------------------------------------------- forward */

/* Each rank's count, mean and biased variance per channel, merged in rank
 * order (Chan et al.): every rank gets the same bits. */
static clcnn_status merge_statistics(clcnn_dist *dist, size_t channels, channel_vectors *v,
                                     double *count) {
    size_t per_rank = 1 + 2 * channels;
    clcnn_status status = clcnn__dist_gather(dist, "the batch-norm statistics", per_rank);
    if (status != CLCNN_OK)
        return status;
    for (size_t c = 0; c < channels; c++) {
        double n = 0.0, mean = 0.0, m2 = 0.0;
        for (int r = 0; r < dist->size; r++) {
            const double *theirs = &dist->gather_recv[(size_t)r * per_rank];
            double nb = theirs[0], delta = theirs[1 + c] - mean, merged = n + nb;
            mean += delta * nb / merged;
            m2 += theirs[1 + channels + c] * nb + delta * delta * n * nb / merged;
            n = merged;
        }
        v->a[c] = mean;
        v->b[c] = m2 / n;
        *count = n;
    }
    return CLCNN_OK;
}

/* This rank's mean and biased variance per channel into the gather buffer:
 * the local op's, or for one value per channel that value and 0. */
static clcnn_status local_statistics(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                     const clcnn_tensor *x, clcnn_tensor *save_mean,
                                     clcnn_tensor *save_invstd, channel_vectors *v, workspaces *w) {
    size_t channels = channels_of(x), n = clcnn_tensor_numel(x) / channels;
    double *send = dist->gather_send;
    send[0] = (double)n;
    clcnn_status status;
    if (n == 1) {
        status = clcnn_tensor_read(x, 0, v->f1, channels);
        for (size_t c = 0; c < channels && status == CLCNN_OK; c++) {
            send[1 + c] = v->f1[c];
            send[1 + channels + c] = 0.0;
        }
        return status == CLCNN_OK ? CLCNN_OK : clcnn__dist_fail_core(dist, status, "reading x");
    }
    clcnn_tensor *scratch = NULL;
    clcnn_batchnorm_params local = *params;
    local.activation = CLCNN_FUSED_NONE;
    status = workspace_like(dist, w, x, &scratch);
    if (status != CLCNN_OK)
        return status;
    clcnn_batchnorm_saved saved = {save_mean, save_invstd};
    status = clcnn_batchnorm_forward_train(dist->ctx, &local, x, NULL, NULL, NULL, scratch, &saved);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read(save_mean, 0, v->f1, channels);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read(save_invstd, 0, v->f2, channels);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "the local statistics");
    for (size_t c = 0; c < channels; c++) {
        double invstd = v->f2[c], variance = 1.0 / (invstd * invstd) - params->eps;
        send[1 + c] = v->f1[c];
        send[1 + channels + c] = variance > 0.0 ? variance : 0.0;
    }
    return CLCNN_OK;
}

/* running = (1 - m) * running + m * batch, as the local op does. */
static clcnn_status update_running(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                   clcnn_batchnorm_state *state, clcnn_tensor *mean,
                                   clcnn_tensor *unbiased) {
    float factor = params->cumulative_average
                       ? (float)(1.0 / (double)(state->num_batches_tracked + 1))
                       : params->momentum;
    clcnn_status status = clcnn_axpby(dist->ctx, factor, mean, 1.0f - factor, state->running_mean);
    if (status == CLCNN_OK)
        status = clcnn_axpby(dist->ctx, factor, unbiased, 1.0f - factor, state->running_var);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "updating the running statistics");
    state->num_batches_tracked++;
    return CLCNN_OK;
}

/* Normalises with the merged statistics; fills save_mean, save_invstd and
 * the running statistics. */
static clcnn_status normalise(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                              const clcnn_tensor *x, const clcnn_tensor *gamma,
                              const clcnn_tensor *beta, clcnn_batchnorm_state *state,
                              clcnn_tensor *y, clcnn_tensor *save_mean, clcnn_tensor *save_invstd,
                              const channel_vectors *v, double count, workspaces *w) {
    size_t channels = channels_of(x);
    for (size_t c = 0; c < channels; c++) {
        v->f1[c] = (float)v->a[c];
        v->f2[c] = (float)v->b[c];
        v->f3[c] = (float)(1.0 / sqrt(v->b[c] + params->eps));
    }
    clcnn_tensor *mean = NULL, *variance = NULL;
    clcnn_status status = workspace_vector(dist, w, channels, v->f1, &mean);
    if (status == CLCNN_OK)
        status = workspace_vector(dist, w, channels, v->f2, &variance);
    if (status != CLCNN_OK)
        return status;
    clcnn_batchnorm_state merged = {mean, variance, 0};
    status = clcnn_batchnorm_forward_eval(dist->ctx, params, x, gamma, beta, &merged, y);
    if (status == CLCNN_OK)
        status = clcnn_tensor_copy(save_mean, mean);
    if (status == CLCNN_OK)
        status = clcnn_tensor_write(save_invstd, 0, v->f3, channels);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "normalising");
    if (state == NULL)
        return CLCNN_OK;
    for (size_t c = 0; c < channels; c++)
        v->f2[c] = (float)(v->b[c] * count / (count - 1.0));
    status = clcnn_tensor_write(variance, 0, v->f2, channels); /* after the forward, in order */
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "writing a workspace");
    return update_running(dist, params, state, mean, variance);
}

/* An activation the dist functions know how to take apart. */
static clcnn_status check_activation(clcnn_dist *dist, const clcnn_batchnorm_params *params) {
    if (params->activation != CLCNN_FUSED_NONE && params->activation != CLCNN_FUSED_RELU)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "unknown activation %d",
                                (int)params->activation);
    return CLCNN_OK;
}

static clcnn_status check_forward(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                  const clcnn_tensor *x, const clcnn_tensor *gamma,
                                  const clcnn_tensor *beta, const clcnn_batchnorm_state *state,
                                  const clcnn_tensor *y, const clcnn_batchnorm_saved *saved) {
    if (x == NULL || y == NULL || saved == NULL || saved->mean == NULL || saved->invstd == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                                x == NULL             ? "x"
                                : y == NULL           ? "y"
                                : saved == NULL       ? "saved"
                                : saved->mean == NULL ? "saved->mean"
                                                      : "saved->invstd");
    clcnn_status status = check_activation(dist, params);
    if (status != CLCNN_OK)
        return status;
    size_t channels = channels_of(x);
    if (channels == 0)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE,
                                "x has %zu dimensions; batch norm needs 2 to 4",
                                clcnn_tensor_ndim(x));
    status = check_like_x(dist, x, "y", y);
    if (status == CLCNN_OK)
        status = check_per_channel(dist, channels, "gamma", gamma);
    if (status == CLCNN_OK)
        status = check_per_channel(dist, channels, "beta", beta);
    if (status == CLCNN_OK)
        status = check_per_channel(dist, channels, "saved->mean", saved->mean);
    if (status == CLCNN_OK)
        status = check_per_channel(dist, channels, "saved->invstd", saved->invstd);
    if (status == CLCNN_OK && state != NULL &&
        (state->running_mean == NULL || state->running_var == NULL))
        status =
            clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "state has no running statistics");
    if (status == CLCNN_OK && state != NULL)
        status = check_per_channel(dist, channels, "running_mean", state->running_mean);
    if (status == CLCNN_OK && state != NULL)
        status = check_per_channel(dist, channels, "running_var", state->running_var);
    return status;
}

static clcnn_status sync_forward(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                 const clcnn_tensor *x, const clcnn_tensor *gamma,
                                 const clcnn_tensor *beta, clcnn_batchnorm_state *state,
                                 clcnn_tensor *y, const clcnn_batchnorm_saved *saved) {
    clcnn_status status = check_forward(dist, params, x, gamma, beta, state, y, saved);
    if (status != CLCNN_OK)
        return status; /* the arguments: nothing sent, the dist unchanged */
    clcnn_tensor *save_mean = saved->mean, *save_invstd = saved->invstd;
    size_t channels = channels_of(x);
    status = clcnn__dist_gather_reserve(dist, 1 + 2 * channels);
    channel_vectors v = {NULL, NULL, NULL, NULL, NULL};
    workspaces w = {{NULL}, 0};
    if (status == CLCNN_OK)
        status = vectors_make(dist, channels, &v);
    if (status == CLCNN_OK)
        status = local_statistics(dist, params, x, save_mean, save_invstd, &v, &w);
    double count = 0.0;
    int every_rank_knows = 0;
    if (status == CLCNN_OK)
        status = merge_statistics(dist, channels, &v, &count);
    if (status == CLCNN_OK && count < 2.0) {
        status = clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE,
                                  "expected more than 1 value per channel when training "
                                  "(%.0f over all ranks)",
                                  count);
        every_rank_knows = 1;
    }
    if (status == CLCNN_OK)
        status = normalise(dist, params, x, gamma, beta, state, y, save_mean, save_invstd, &v,
                           count, &w);
    workspaces_free(&w);
    vectors_free(&v);
    return status == CLCNN_OK || every_rank_knows ? status : fail_collective(dist, status);
}

clcnn_status clcnn_dist_batchnorm_forward_train(clcnn_dist *dist,
                                                const clcnn_batchnorm_params *params,
                                                const clcnn_tensor *x, const clcnn_tensor *gamma,
                                                const clcnn_tensor *beta,
                                                clcnn_batchnorm_state *state, clcnn_tensor *y,
                                                const clcnn_batchnorm_saved *saved) {
    clcnn_batchnorm_params p;
    clcnn_status status = batchnorm_enter(dist, __func__, params, &p);
    if (status != CLCNN_OK)
        return status;
    return dist->sync_batchnorm
               ? sync_forward(dist, &p, x, gamma, beta, state, y, saved)
               : local_result(dist, clcnn_batchnorm_forward_train(dist->ctx, &p, x, gamma, beta,
                                                                  state, y, saved));
}

/* ---------------------------------------------------------------- backward */

/* The sums over every rank's samples, in rank order. */
static clcnn_status sum_gradients(clcnn_dist *dist, size_t channels, channel_vectors *v,
                                  double *count) {
    size_t per_rank = 1 + 2 * channels;
    clcnn_status status = clcnn__dist_gather(dist, "the batch-norm gradient sums", per_rank);
    if (status != CLCNN_OK)
        return status;
    *count = 0.0;
    for (int r = 0; r < dist->size; r++)
        *count += dist->gather_recv[(size_t)r * per_rank];
    for (size_t c = 0; c < channels; c++) {
        double s1 = 0.0, s2 = 0.0;
        for (int r = 0; r < dist->size; r++) {
            const double *theirs = &dist->gather_recv[(size_t)r * per_rank];
            s1 += theirs[1 + c];
            s2 += theirs[1 + channels + c];
        }
        v->a[c] = s1;
        v->b[c] = s2;
    }
    return CLCNN_OK;
}

/* dx = gamma * invstd * dy + (x - mean) * (-gamma * invstd^2 * S2 / n) -
 * gamma * invstd * S1 / n, from two eval forwards (variance 1, eps 0: a
 * pure affine) and an add. */
static clcnn_status input_gradient(clcnn_dist *dist, const clcnn_tensor *x, const clcnn_tensor *dy,
                                   const clcnn_tensor *gamma, const clcnn_tensor *save_mean,
                                   const clcnn_tensor *save_invstd, clcnn_tensor *dx,
                                   const channel_vectors *v, double count, workspaces *w) {
    size_t channels = channels_of(x);
    float *g = v->f1, *invstd = v->f2, *ones = v->f3;
    clcnn_status status = gamma != NULL ? clcnn_tensor_read(gamma, 0, g, channels) : CLCNN_OK;
    if (status == CLCNN_OK)
        status = clcnn_tensor_read(save_invstd, 0, invstd, channels);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "reading gamma and save_invstd");
    float *scale_dy = malloc(channels * sizeof *scale_dy);
    float *scale_x = malloc(channels * sizeof *scale_x);
    float *shift_x = malloc(channels * sizeof *shift_x);
    clcnn_tensor *mean = NULL, *unit = NULL, *t_scale_dy = NULL, *t_scale_x = NULL,
                 *t_shift_x = NULL, *from_x = NULL;
    if (scale_dy == NULL || scale_x == NULL || shift_x == NULL)
        status = clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t c = 0; c < channels && status == CLCNN_OK; c++) {
        double gi = (gamma != NULL ? g[c] : 1.0) * invstd[c];
        scale_dy[c] = (float)gi;
        scale_x[c] = (float)(-gi * invstd[c] * v->b[c] / count);
        shift_x[c] = (float)(-gi * v->a[c] / count);
        ones[c] = 1.0f;
    }
    if (status == CLCNN_OK)
        status = workspace_vector(dist, w, channels, ones, &unit);
    if (status == CLCNN_OK)
        status = workspace_vector(dist, w, channels, scale_dy, &t_scale_dy);
    if (status == CLCNN_OK)
        status = workspace_vector(dist, w, channels, scale_x, &t_scale_x);
    if (status == CLCNN_OK)
        status = workspace_vector(dist, w, channels, shift_x, &t_shift_x);
    if (status == CLCNN_OK)
        status = workspace_like(dist, w, x, &from_x);
    free(scale_dy);
    free(scale_x);
    free(shift_x);
    if (status != CLCNN_OK)
        return status;
    /* save_mean is the caller's const tensor: the eval op's state takes a
     * copy. */
    status = clcnn_tensor_create(dist->ctx, 1, &channels, &mean);
    if (status == CLCNN_OK)
        w->t[w->count++] = mean;
    if (status == CLCNN_OK)
        status = clcnn_tensor_copy(mean, save_mean);
    clcnn_batchnorm_params affine = clcnn_batchnorm_params_default();
    affine.eps = 0.0f;
    clcnn_batchnorm_state around_mean = {mean, unit, 0};
    if (status == CLCNN_OK) /* x first: dx may be x */
        status = clcnn_batchnorm_forward_eval(dist->ctx, &affine, x, t_scale_x, t_shift_x,
                                              &around_mean, from_x);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(mean, 0.0f);
    if (status == CLCNN_OK) /* then dy, which dx may be */
        status = clcnn_batchnorm_forward_eval(dist->ctx, &affine, dy, t_scale_dy, NULL,
                                              &around_mean, dx);
    if (status == CLCNN_OK)
        status = clcnn_add(dist->ctx, dx, from_x, dx);
    return status == CLCNN_OK ? CLCNN_OK : clcnn__dist_fail_core(dist, status, "computing dx");
}

/* dgamma and dbeta take this rank's own sums. */
static clcnn_status parameter_gradients(clcnn_dist *dist, clcnn_tensor *sum_dy_xhat,
                                        clcnn_tensor *sum_dy, const clcnn_batchnorm_grads *grads) {
    if (grads == NULL)
        return CLCNN_OK;
    clcnn_status status = CLCNN_OK;
    clcnn_tensor *outputs[2] = {grads->dgamma, grads->dbeta}, *sums[2] = {sum_dy_xhat, sum_dy};
    for (size_t i = 0; i < 2 && status == CLCNN_OK; i++) {
        if (outputs[i] == NULL)
            continue;
        status = grads->mode == CLCNN_GRAD_ACCUMULATE
                     ? clcnn_add(dist->ctx, outputs[i], sums[i], outputs[i])
                     : clcnn_tensor_copy(outputs[i], sums[i]);
    }
    return status == CLCNN_OK ? CLCNN_OK
                              : clcnn__dist_fail_core(dist, status, "writing dgamma and dbeta");
}

static clcnn_status check_backward(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                   const clcnn_tensor *x, const clcnn_tensor *y,
                                   const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                   const clcnn_batchnorm_saved *saved, const clcnn_tensor *dx,
                                   const clcnn_batchnorm_grads *grads) {
    int activated = params->activation != CLCNN_FUSED_NONE;
    if (x == NULL || dy == NULL || saved == NULL || saved->mean == NULL || saved->invstd == NULL ||
        (activated && y == NULL))
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                                x == NULL             ? "x"
                                : dy == NULL          ? "dy"
                                : saved == NULL       ? "saved"
                                : saved->mean == NULL ? "saved->mean"
                                : saved->invstd == NULL
                                    ? "saved->invstd"
                                    : "y (the forward's output, needed with an activation)");
    clcnn_status status = check_activation(dist, params);
    if (status != CLCNN_OK)
        return status;
    if (grads != NULL && grads->mode != CLCNN_GRAD_OVERWRITE &&
        grads->mode != CLCNN_GRAD_ACCUMULATE)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "unknown gradient mode %d",
                                (int)grads->mode);
    size_t channels = channels_of(x);
    if (channels == 0)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE,
                                "x has %zu dimensions; batch norm needs 2 to 4",
                                clcnn_tensor_ndim(x));
    const clcnn_tensor *like_x[3] = {activated ? y : NULL, dy, dx},
                       *per_channel[5] = {gamma, saved->mean, saved->invstd,
                                          grads != NULL ? grads->dgamma : NULL,
                                          grads != NULL ? grads->dbeta : NULL};
    const char *like_names[3] = {"y", "dy", "dx"},
               *channel_names[5] = {"gamma", "saved->mean", "saved->invstd", "grads->dgamma",
                                    "grads->dbeta"};
    for (size_t i = 0; i < 3 && status == CLCNN_OK; i++)
        status = check_like_x(dist, x, like_names[i], like_x[i]);
    for (size_t i = 0; i < 5 && status == CLCNN_OK; i++)
        status = check_per_channel(dist, channels, channel_names[i], per_channel[i]);
    return status;
}

/* The gradient through the fused activation, g = act'(y) * dy, into a
 * workspace (dy itself without one). */
static clcnn_status through_activation(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                       const clcnn_tensor *x, const clcnn_tensor *y,
                                       const clcnn_tensor **dy, workspaces *w) {
    if (params->activation == CLCNN_FUSED_NONE)
        return CLCNN_OK;
    clcnn_activation_params relu = clcnn_activation_params_default();
    relu.kind = CLCNN_ACTIVATION_RELU;
    clcnn_tensor *masked = NULL;
    clcnn_status status = workspace_like(dist, w, x, &masked);
    if (status != CLCNN_OK)
        return status;
    status = clcnn_activation_backward(dist->ctx, &relu, y, *dy, masked, CLCNN_GRAD_OVERWRITE);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "the activation's gradient");
    *dy = masked;
    return CLCNN_OK;
}

/* This rank's sum(g) and sum(g * xhat) per channel, on the device and into
 * the gather buffer. */
static clcnn_status local_sums(clcnn_dist *dist, const clcnn_tensor *x, const clcnn_tensor *g,
                               const clcnn_batchnorm_saved *saved, clcnn_tensor *sum_dy,
                               clcnn_tensor *sum_dy_xhat, channel_vectors *v) {
    size_t channels = channels_of(x);
    clcnn_batchnorm_grads sums = {sum_dy_xhat, sum_dy, CLCNN_GRAD_OVERWRITE};
    clcnn_status status =
        clcnn_batchnorm_backward(dist->ctx, NULL, x, NULL, g, NULL, saved, NULL, &sums);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "the local sums");
    status = clcnn_tensor_read(sum_dy, 0, v->f1, channels);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read(sum_dy_xhat, 0, v->f2, channels);
    if (status != CLCNN_OK)
        return clcnn__dist_fail_core(dist, status, "reading the local sums");
    dist->gather_send[0] = (double)(clcnn_tensor_numel(x) / channels);
    for (size_t c = 0; c < channels; c++) {
        dist->gather_send[1 + c] = v->f1[c];
        dist->gather_send[1 + channels + c] = v->f2[c];
    }
    return CLCNN_OK;
}

static clcnn_status sync_backward(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                  const clcnn_tensor *x, const clcnn_tensor *y,
                                  const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                  const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                  const clcnn_batchnorm_grads *grads) {
    size_t channels = channels_of(x);
    workspaces w = {{NULL}, 0};
    channel_vectors v = {NULL, NULL, NULL, NULL, NULL};
    clcnn_tensor *sum_dy = NULL, *sum_dy_xhat = NULL;
    const clcnn_tensor *g = dy;
    clcnn_status status = clcnn__dist_gather_reserve(dist, 1 + 2 * channels);
    if (status == CLCNN_OK)
        status = vectors_make(dist, channels, &v);
    if (status == CLCNN_OK)
        status = through_activation(dist, params, x, y, &g, &w);
    if (status == CLCNN_OK)
        status = workspace_vector(dist, &w, channels, NULL, &sum_dy);
    if (status == CLCNN_OK)
        status = workspace_vector(dist, &w, channels, NULL, &sum_dy_xhat);
    if (status == CLCNN_OK)
        status = local_sums(dist, x, g, saved, sum_dy, sum_dy_xhat, &v);
    double count = 0.0;
    if (status == CLCNN_OK)
        status = sum_gradients(dist, channels, &v, &count);
    if (status == CLCNN_OK && dx != NULL)
        status = input_gradient(dist, x, g, gamma, saved->mean, saved->invstd, dx, &v, count, &w);
    if (status == CLCNN_OK)
        status = parameter_gradients(dist, sum_dy_xhat, sum_dy, grads);
    workspaces_free(&w);
    vectors_free(&v);
    return status == CLCNN_OK ? status : fail_collective(dist, status);
}

clcnn_status clcnn_dist_batchnorm_backward(clcnn_dist *dist, const clcnn_batchnorm_params *params,
                                           const clcnn_tensor *x, const clcnn_tensor *y,
                                           const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                           const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                           const clcnn_batchnorm_grads *grads) {
    clcnn_batchnorm_params p;
    clcnn_status status = batchnorm_enter(dist, __func__, params, &p);
    if (status != CLCNN_OK)
        return status;
    if (!dist->sync_batchnorm)
        return local_result(
            dist, clcnn_batchnorm_backward(dist->ctx, &p, x, y, dy, gamma, saved, dx, grads));
    status = check_backward(dist, &p, x, y, dy, gamma, saved, dx, grads);
    return status != CLCNN_OK ? status : sync_backward(dist, &p, x, y, dy, gamma, saved, dx, grads);
}

/* ------------------------------------------------------ the network's ops */

/* Notes a layer's running statistics for
 * clcnn_dist_broadcast_running_stats (the layers keep their states where
 * they are). */
static clcnn_status remember_state(clcnn_dist *dist, clcnn_batchnorm_state *state) {
    if (state == NULL)
        return CLCNN_OK;
    for (size_t i = 0; i < dist->bn_state_count; i++)
        if (dist->bn_states[i] == state)
            return CLCNN_OK;
    if (dist->bn_state_count == dist->bn_state_capacity) {
        size_t capacity = dist->bn_state_capacity != 0 ? 2 * dist->bn_state_capacity : 8;
        clcnn_batchnorm_state **states = realloc(dist->bn_states, capacity * sizeof *states);
        if (states == NULL)
            return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
        dist->bn_states = states;
        dist->bn_state_capacity = capacity;
    }
    dist->bn_states[dist->bn_state_count++] = state;
    return CLCNN_OK;
}

static clcnn_status net_forward_train(void *user, clcnn_context *context,
                                      const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                      const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                      clcnn_batchnorm_state *state, clcnn_tensor *y,
                                      const clcnn_batchnorm_saved *saved) {
    (void)context; /* the dist's */
    clcnn_status status = remember_state(user, state);
    return status != CLCNN_OK
               ? status
               : clcnn_dist_batchnorm_forward_train(user, params, x, gamma, beta, state, y, saved);
}

static clcnn_status net_backward(void *user, clcnn_context *context,
                                 const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                 const clcnn_tensor *y, const clcnn_tensor *dy,
                                 const clcnn_tensor *gamma, const clcnn_batchnorm_saved *saved,
                                 clcnn_tensor *dx, const clcnn_batchnorm_grads *grads) {
    (void)context;
    return clcnn_dist_batchnorm_backward(user, params, x, y, dy, gamma, saved, dx, grads);
}

clcnn_net_batchnorm_ops clcnn__dist_net_batchnorm_ops(clcnn_dist *dist) {
    return (clcnn_net_batchnorm_ops){net_forward_train, net_backward, dist};
}
