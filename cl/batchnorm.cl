/* Batch normalisation over x [N, C, inner] (inner = H*W for BatchNorm2d, L or
 * 1 for BatchNorm1d): training statistics, normalisation, running-stat
 * update, backward and folding into a convolution. Shapes and flags come as
 * kernel arguments so that one build serves every shape and work-group size
 * (local memory is a kernel argument).
 *
 * Statistics of channel c run over its "flat" index f in [0, count),
 * count = N * inner, where f = n * inner + i addresses x[(n * C + c) * inner + i];
 * a range of flat indices is a few contiguous runs of at most `inner` floats.
 *
 * Three shapes of reduction, chosen by the host per device type and shape:
 * - batch rows (CPU, long rows): one work-item per group of batch rows reads
 *   x in memory order and merges each [inner] row into its channel's partial;
 * - channel chunks (CPU, short rows or small batches): one work-item per
 *   (chunk, channel);
 * - work-group (GPU): one work-group per (chunk, channel), each work-item
 *   holds BN_ITEMS strided values in registers, then a tree merge in local
 *   memory.
 * Per work-item, statistics are a corrected two-pass with float8 loads (the
 * second pass reads from cache). All write partials for (channel, part);
 * bn_*_merge kernels merge `fanin` partials at a time until a finalize
 * kernel takes the rest. Every order is fixed: the same input gives the same
 * bits.
 *
 * Partials and coefficients are stored as planes (see reduce.h): moment
 * partials as 4 planes of channels * parts floats, gradient sums as 2, the
 * per-channel coefficients as 4 planes of `channels` floats.
 *
 * A fused ReLU (flag BN_RELU): the forwards store max(y, 0) and the backward
 * takes dy masked where that output is <= 0 (y, the fused forward's output,
 * comes as an extra argument), with the arithmetic of activation.cl, so the
 * results are the bits of batch norm and a separate ReLU. (The flag is
 * tested per vector: one predictable branch per 8 or 16 values. Helpers
 * specialised by always_inline bodies leave intrinsics that Oclgrind cannot
 * run.) */
#include "batchnorm_flags.h"
#include "common.h"
#include "reduce.h"
#include "relu.h"

/* Values each work-item of the *_wg kernels holds in registers. */
#ifndef BN_ITEMS
#define BN_ITEMS 16
#endif

/* ---------------------------------------------------------------- helpers */

/* Index in x of channel c's flat element f. */
uint bn_index(uint f, uint c, uint channels, uint inner) {
    uint row = f / inner;
    return (row * channels + c) * inner + (f - row * inner);
}

/* The contiguous run of channel c that starts at flat element f and stops at
 * `end` or at the end of its row. */
typedef struct bn_run {
    uint index;  /* in x */
    uint length; /* floats */
} bn_run;

bn_run bn_run_at(uint f, uint end, uint c, uint channels, uint inner) {
    uint row = f / inner;
    uint col = f - row * inner;
    bn_run run = {(row * channels + c) * inner + col, min(end - f, inner - col)};
    return run;
}

/* Moments of channel c's flat elements [begin, end): corrected two-pass
 * shifted by the first value (run totals added in order). */
clcnn_moments bn_range_moments(__global const float *x, uint c, uint begin, uint end, uint channels,
                               uint inner) {
    float shift = x[bn_index(begin, c, channels, inner)];
    float sum = 0.0f;
    bn_run run;
    for (uint f = begin; f < end; f += run.length) {
        run = bn_run_at(f, end, c, channels, inner);
        sum += clcnn_sum_shifted(x + run.index, run.length, shift);
    }
    float count = (float)(end - begin);
    float center = sum / count;
    float deviations = 0.0f, squares = 0.0f;
    for (uint f = begin; f < end; f += run.length) {
        run = bn_run_at(f, end, c, channels, inner);
        clcnn_deviation_sums part = clcnn_sum_deviations(x + run.index, run.length, shift, center);
        deviations += part.deviations;
        squares += part.squares;
    }
    return clcnn_moments_from_passes(shift, center, deviations, squares, count);
}

/* The two per-channel sums of the backward. */
typedef struct bn_grad_sums {
    float dy;       /* sum(dy) */
    float centered; /* sum(dy * (x - mean)) */
} bn_grad_sums;

bn_grad_sums bn_grad_sums_zero(void) {
    bn_grad_sums sums = {0.0f, 0.0f};
    return sums;
}

bn_grad_sums bn_grad_sums_add(bn_grad_sums a, bn_grad_sums b) {
    bn_grad_sums sums = {a.dy + b.dy, a.centered + b.centered};
    return sums;
}

/* Gradient sums over one contiguous run; dy masked by the ReLU output y
 * when flags has BN_RELU. */
bn_grad_sums bn_grad_sums_run(__global const float *x, __global const float *dy,
                              __global const float *y, uint length, float mean, uint flags) {
    const uint relu = flags & BN_RELU;
    float8 dy_even = (float8)(0.0f), dy_odd = (float8)(0.0f);
    float8 centered_even = (float8)(0.0f), centered_odd = (float8)(0.0f);
    uint i = 0;
    for (; i + 16 <= length; i += 16) {
        float8 g = vload8(0, dy + i), h = vload8(0, dy + i + 8);
        if (relu) {
            g = RELU_GRAD_VEC(g, vload8(0, y + i), 8);
            h = RELU_GRAD_VEC(h, vload8(0, y + i + 8), 8);
        }
        dy_even += g;
        dy_odd += h;
        centered_even += g * (vload8(0, x + i) - mean);
        centered_odd += h * (vload8(0, x + i + 8) - mean);
    }
    float dy_tail = 0.0f, centered_tail = 0.0f;
    for (; i < length; i++) {
        float g = relu ? RELU_GRAD_1(dy[i], y[i]) : dy[i];
        dy_tail += g;
        centered_tail += g * (x[i] - mean);
    }
    bn_grad_sums sums = {clcnn_lanes_total(dy_even, dy_odd, dy_tail),
                         clcnn_lanes_total(centered_even, centered_odd, centered_tail)};
    return sums;
}

/* Gradient sums over channel c's flat elements [begin, end). */
bn_grad_sums bn_range_grad_sums(__global const float *x, __global const float *dy,
                                __global const float *y, uint c, uint begin, uint end,
                                uint channels, uint inner, float mean, uint flags) {
    bn_grad_sums sums = bn_grad_sums_zero();
    bn_run run;
    for (uint f = begin; f < end; f += run.length) {
        run = bn_run_at(f, end, c, channels, inner);
        sums = bn_grad_sums_add(sums, bn_grad_sums_run(x + run.index, dy + run.index, y + run.index,
                                                       run.length, mean, flags));
    }
    return sums;
}

bn_grad_sums bn_grad_sums_load(__global const float *planes, uint stride, uint index) {
    bn_grad_sums sums = {planes[index], planes[stride + index]};
    return sums;
}

void bn_grad_sums_store(__global float *planes, uint stride, uint index, bn_grad_sums sums) {
    planes[index] = sums.dy;
    planes[stride + index] = sums.centered;
}

/* The partials [first, last) of the row starting at `row` of planes of
 * `stride` floats, merged in order (the merge kernels and the finalizers
 * both reduce a channel's partials this way). */
clcnn_moments bn_moments_merged(__global const float *planes, uint stride, uint row, uint first,
                                uint last) {
    clcnn_moments m = clcnn_moments_load(planes, stride, row + first);
    for (uint i = first + 1; i < last; i++)
        m = clcnn_moments_merge(m, clcnn_moments_load(planes, stride, row + i));
    return m;
}

/* Through *sums, not returned: Oclgrind 21.10 cannot run the LLVM
 * intrinsic (noalias.scope.decl) that inlining the returning form emits. */
void bn_grad_sums_added(__global const float *planes, uint stride, uint row, uint first, uint last,
                        bn_grad_sums *sums) {
    *sums = bn_grad_sums_load(planes, stride, row + first);
    for (uint i = first + 1; i < last; i++)
        *sums = bn_grad_sums_add(*sums, bn_grad_sums_load(planes, stride, row + i));
}

/* Per-channel coefficients of an element-wise pass, stored as 4 planes of
 * `channels` floats. Normalisation: y = ((x - a) - b) * c + d with
 * (a, b) = (shift, mean offset), c = gamma * invstd, d = beta.
 * dx: dx = dy * b + (x - a) * c + d with a = mean. */
typedef struct bn_coef {
    float a, b, c, d;
} bn_coef;

bn_coef bn_coef_load(__global const float *planes, uint channels, uint channel) {
    bn_coef k = {planes[channel], planes[channels + channel], planes[2 * channels + channel],
                 planes[3 * channels + channel]};
    return k;
}

void bn_coef_store(__global float *planes, uint channels, uint channel, bn_coef k) {
    planes[channel] = k.a;
    planes[channels + channel] = k.b;
    planes[2 * channels + channel] = k.c;
    planes[3 * channels + channel] = k.d;
}

/* y = ((x - k.a) - k.b) * k.c + k.d over one contiguous run, then max(y, 0)
 * when flags has BN_RELU. */
void bn_normalize_run(__global const float *x, __global float *y, uint length, bn_coef k,
                      uint flags) {
    const uint relu = flags & BN_RELU;
    uint i = 0;
    for (; i + 8 <= length; i += 8) {
        float8 v = ((vload8(0, x + i) - k.a) - k.b) * k.c + k.d;
        vstore8(relu ? RELU_VEC(v, 8) : v, 0, y + i);
    }
    for (; i < length; i++) {
        float v = ((x[i] - k.a) - k.b) * k.c + k.d;
        y[i] = relu ? RELU_1(v) : v;
    }
}

/* dx = dy * k.b + (x - k.a) * k.c + k.d over one contiguous run, dy masked
 * by the ReLU output y when flags has BN_RELU. */
void bn_dx_run(__global const float *x, __global const float *dy, __global const float *y,
               __global float *dx, uint length, bn_coef k, uint flags) {
    const uint relu = flags & BN_RELU;
    uint i = 0;
    for (; i + 8 <= length; i += 8) {
        float8 g = vload8(0, dy + i);
        if (relu)
            g = RELU_GRAD_VEC(g, vload8(0, y + i), 8);
        vstore8(g * k.b + (vload8(0, x + i) - k.a) * k.c + k.d, 0, dx + i);
    }
    for (; i < length; i++) {
        float g = relu ? RELU_GRAD_1(dy[i], y[i]) : dy[i];
        dx[i] = g * k.b + (x[i] - k.a) * k.c + k.d;
    }
}

/* Channel c's affine after normalising by invstd: scale = gamma[c] * invstd
 * (invstd without gamma), shift = beta[c] (0 without beta). */
void bn_affine(uint c, float invstd, uint flags, __global const float *gamma,
               __global const float *beta, float *scale, float *shift) {
    *scale = (flags & BN_HAS_GAMMA) ? gamma[c] * invstd : invstd;
    *shift = (flags & BN_HAS_BETA) ? beta[c] : 0.0f;
}

/* bn_affine of eval mode: invstd from the running variance. */
void bn_eval_affine_of(uint c, __global const float *running_var, float eps, uint flags,
                       __global const float *gamma, __global const float *beta, float *scale,
                       float *shift) {
    bn_affine(c, 1.0f / sqrt(running_var[c] + eps), flags, gamma, beta, scale, shift);
}

/* From channel c's batch moments: writes save_mean/save_invstd, updates the
 * running statistics (unbiased variance, weight `factor` on the new value)
 * and returns the normalisation coefficients. */
bn_coef bn_finalize_train(clcnn_moments m, uint c, uint count, float eps, float factor, uint flags,
                          __global const float *gamma, __global const float *beta,
                          __global float *running_mean, __global float *running_var,
                          __global float *save_mean, __global float *save_invstd) {
    float mean = clcnn_moments_mean(m);
    float invstd = 1.0f / sqrt(m.m2 / (float)count + eps);
    save_mean[c] = mean;
    save_invstd[c] = invstd;
    if (flags & BN_TRACK_RUNNING) {
        float unbiased = m.m2 / (float)(count - 1);
        running_mean[c] = (1.0f - factor) * running_mean[c] + factor * mean;
        running_var[c] = (1.0f - factor) * running_var[c] + factor * unbiased;
    }
    bn_coef k = {m.shift, m.mean_offset};
    bn_affine(c, invstd, flags, gamma, beta, &k.c, &k.d);
    return k;
}

/* From channel c's gradient sums: writes dgamma/dbeta and returns the dx
 * coefficients of dx = dy * B + (x - mean) * C + D, i.e.
 * dx = (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))) * invstd * gamma. */
bn_coef bn_finalize_backward(bn_grad_sums sums, uint c, uint count, uint flags,
                             __global const float *gamma, __global const float *save_mean,
                             __global const float *save_invstd, __global float *dgamma,
                             __global float *dbeta) {
    float invstd = save_invstd[c];
    if (flags & BN_WANT_DGAMMA) {
        float value = sums.centered * invstd;
        dgamma[c] = (flags & BN_ACCUMULATE) ? dgamma[c] + value : value;
    }
    if (flags & BN_WANT_DBETA)
        dbeta[c] = (flags & BN_ACCUMULATE) ? dbeta[c] + sums.dy : sums.dy;
    float n = (float)count;
    float scale = (flags & BN_HAS_GAMMA) ? gamma[c] * invstd : invstd;
    bn_coef k = {save_mean[c], scale, -(invstd * invstd) * (sums.centered / n) * scale,
                 -(sums.dy / n) * scale};
    return k;
}

/* A work-item's (chunk, channel) of the *_rows kernels, global size
 * (parts, channels): channel c's flat elements [begin, end) give partial
 * `slot` of planes of `stride` floats. */
typedef struct bn_chunk {
    uint c, begin, end, stride, slot;
} bn_chunk;

/* This work-item's chunk; 0 past the range. */
int bn_chunk_of(uint channels, uint count, uint chunk, uint parts, bn_chunk *job) {
    uint part = get_global_id(0);
    job->c = get_global_id(1);
    if (part >= parts || job->c >= channels)
        return 0;
    job->begin = part * chunk;
    job->end = min(count, job->begin + chunk);
    job->stride = channels * parts;
    job->slot = job->c * parts + part;
    return 1;
}

/* A work-item's batch rows [first, last) of the *_batch_rows kernels,
 * global size parts: channel c's partial is at slot c * parts + part of
 * planes of `stride` floats. */
typedef struct bn_batch_rows {
    uint part, first, last, stride;
} bn_batch_rows;

/* This work-item's rows; 0 past the range. */
int bn_batch_rows_of(uint channels, uint batch, uint batches, uint parts, bn_batch_rows *job) {
    job->part = get_global_id(0);
    if (job->part >= parts)
        return 0;
    job->stride = channels * parts;
    job->first = job->part * batches;
    job->last = min(batch, job->first + batches);
    return 1;
}

/* A work-item of the *_wg kernels, global size (parts * size, channels),
 * local size (size, 1): its BN_ITEMS values are channel c's flat elements
 * begin + k * size; its work-group's total goes to partial `slot` of planes
 * of `stride` floats. */
typedef struct bn_wg_item {
    uint size, lid, c, begin, stride, slot;
} bn_wg_item;

void bn_wg_item_of(uint channels, bn_wg_item *item) {
    uint part = get_group_id(0), parts = get_num_groups(0);
    item->size = get_local_size(0);
    item->lid = get_local_id(0);
    item->c = get_global_id(1);
    item->begin = part * (item->size * BN_ITEMS) + item->lid;
    item->stride = channels * parts;
    item->slot = item->c * parts + part;
}

/* The element-wise kernels' walk over a work-item's `span` consecutive
 * elements of the whole tensor, a run at a time: a run stays in one row of
 * `inner` elements, so in one channel. */
typedef struct bn_span {
    uint next, end;
} bn_span;

void bn_span_start(uint total, uint span, bn_span *walk) {
    walk->next = (uint)get_global_id(0) * span;
    walk->end = min(total, walk->next + span);
}

/* The next run: elements [*at, *at + *length) of channel *c; 0 at the end. */
int bn_span_next(bn_span *walk, uint channels, uint inner, uint *at, uint *length, uint *c) {
    if (walk->next >= walk->end)
        return 0;
    uint row = walk->next / inner;
    *at = walk->next;
    *length = min(walk->end, (row + 1) * inner) - walk->next;
    *c = row % channels;
    walk->next += *length;
    return 1;
}

/* ------------------------------------------------------- training forward */

/* The whole training forward of channel c in one work-item, for channels
 * small enough to stay in cache: statistics, running stats, normalisation. */
__kernel void bn_train_small(__global const float *x, __global float *y,
                             __global const float *gamma, __global const float *beta,
                             __global float *running_mean, __global float *running_var,
                             __global float *save_mean, __global float *save_invstd, uint channels,
                             uint inner, uint count, float eps, float factor, uint flags) {
    uint c = get_global_id(0);
    if (c >= channels)
        return;
    clcnn_moments m = bn_range_moments(x, c, 0, count, channels, inner);
    bn_coef k = bn_finalize_train(m, c, count, eps, factor, flags, gamma, beta, running_mean,
                                  running_var, save_mean, save_invstd);
    bn_run run;
    for (uint f = 0; f < count; f += run.length) {
        run = bn_run_at(f, count, c, channels, inner);
        bn_normalize_run(x + run.index, y + run.index, run.length, k, flags);
    }
}

/* One partial per (chunk, channel): global size (parts, channels). */
__kernel void bn_stats_rows(__global const float *x, __global float *partials, uint channels,
                            uint inner, uint count, uint chunk, uint parts) {
    bn_chunk job;
    if (bn_chunk_of(channels, count, chunk, parts, &job))
        clcnn_moments_store(partials, job.stride, job.slot,
                            bn_range_moments(x, job.c, job.begin, job.end, channels, inner));
}

/* One partial per (group of batch rows, channel), reading x in memory order:
 * work-item `part` takes batch rows [part * batches, ...) whole, one
 * contiguous block, and merges the moments of each [inner] row into its
 * channel's partial. Streams well on CPUs where the per-channel chunks of
 * bn_stats_rows (runs of `inner` floats far apart) do not. Global size:
 * parts. */
__kernel void bn_stats_batch_rows(__global const float *x, __global float *partials, uint channels,
                                  uint inner, uint batch, uint batches, uint parts) {
    bn_batch_rows job;
    if (!bn_batch_rows_of(channels, batch, batches, parts, &job))
        return;
    for (uint n = job.first; n < job.last; n++)
        for (uint c = 0; c < channels; c++) {
            clcnn_moments m = clcnn_moments_contiguous(x + (n * channels + c) * inner, inner);
            uint slot = c * parts + job.part;
            if (n != job.first)
                m = clcnn_moments_merge(clcnn_moments_load(partials, job.stride, slot), m);
            clcnn_moments_store(partials, job.stride, slot, m);
        }
}

/* One partial per (chunk of size * BN_ITEMS, channel) with work-groups of
 * `size` work-items (a power of two): global size (parts * size, channels),
 * local size (size, 1), `slots` 4 * size floats of local memory. */
__kernel void bn_stats_wg(__global const float *x, __global float *partials, uint channels,
                          uint inner, uint count, __local float *slots) {
    bn_wg_item item;
    bn_wg_item_of(channels, &item);
    const uint size = item.size, lid = item.lid, c = item.c;
    float values[BN_ITEMS];
    uint have = 0;
    for (uint k = 0; k < BN_ITEMS; k++) {
        uint f = item.begin + k * size;
        values[k] = f < count ? x[bn_index(f, c, channels, inner)] : 0.0f;
        have += f < count ? 1u : 0u;
    }
    clcnn_moments m = clcnn_moments_empty();
    if (have > 0) {
        float shift = values[0], sum = 0.0f;
        for (uint k = 0; k < BN_ITEMS; k++)
            sum += k < have ? values[k] - shift : 0.0f;
        float center = sum / (float)have;
        float squares = 0.0f, deviations = 0.0f;
        for (uint k = 0; k < BN_ITEMS; k++) {
            float v = k < have ? (values[k] - shift) - center : 0.0f;
            deviations += v;
            squares += v * v;
        }
        m = clcnn_moments_from_passes(shift, center, deviations, squares, (float)have);
    }
    slots[lid] = m.shift;
    slots[size + lid] = m.mean_offset;
    slots[2 * size + lid] = m.m2;
    slots[3 * size + lid] = m.count;
    clcnn_wg_merge_moments(slots, lid, size);
    if (lid == 0) {
        clcnn_moments total = {slots[0], slots[size], slots[2 * size], slots[3 * size]};
        clcnn_moments_store(partials, item.stride, item.slot, total);
    }
}

/* One work-item of a merge kernel: partials [first, last) of the channel's
 * row at row_in (planes of stride_in floats) go to slot_out (planes of
 * stride_out floats). */
typedef struct bn_merge_job {
    uint stride_in, row_in, first, last, stride_out, slot_out;
} bn_merge_job;

/* This work-item's job: `fanin` consecutive partials of one channel, global
 * size (parts_out, channels); 0 past the range. */
int bn_merge_job_of(uint channels, uint parts_in, uint parts_out, uint fanin, bn_merge_job *job) {
    uint part = get_global_id(0);
    uint c = get_global_id(1);
    if (part >= parts_out || c >= channels)
        return 0;
    job->stride_in = channels * parts_in;
    job->row_in = c * parts_in;
    job->first = part * fanin;
    job->last = min(parts_in, job->first + fanin);
    job->stride_out = channels * parts_out;
    job->slot_out = c * parts_out + part;
    return 1;
}

/* Merges `fanin` consecutive partials of each channel: global size
 * (parts_out, channels). */
__kernel void bn_moments_merge(__global const float *in, __global float *out, uint channels,
                               uint parts_in, uint parts_out, uint fanin) {
    bn_merge_job job;
    if (bn_merge_job_of(channels, parts_in, parts_out, fanin, &job))
        clcnn_moments_store(out, job.stride_out, job.slot_out,
                            bn_moments_merged(in, job.stride_in, job.row_in, job.first, job.last));
}

/* Merges a channel's last partials and finalises it; writes the
 * normalisation coefficients for bn_normalize. Global size: channels. */
__kernel void bn_train_finalize(__global const float *partials, uint parts,
                                __global const float *gamma, __global const float *beta,
                                __global float *running_mean, __global float *running_var,
                                __global float *save_mean, __global float *save_invstd,
                                __global float *coef, uint channels, uint count, float eps,
                                float factor, uint flags) {
    uint c = get_global_id(0);
    if (c >= channels)
        return;
    clcnn_moments m = bn_moments_merged(partials, channels * parts, c * parts, 0, parts);
    bn_coef_store(coef, channels, c,
                  bn_finalize_train(m, c, count, eps, factor, flags, gamma, beta, running_mean,
                                    running_var, save_mean, save_invstd));
}

/* y from x with per-channel coefficients over the whole tensor (then the
 * ReLU when flags has BN_RELU): each work-item takes `span` consecutive
 * elements (span 1: one element per work-item, the GPU form). Global size
 * >= ceil(total / span). */
__kernel void bn_normalize(__global const float *x, __global float *y, __global const float *coef,
                           uint channels, uint inner, uint total, uint span, uint flags) {
    bn_span walk;
    uint e, length, c;
    bn_span_start(total, span, &walk);
    while (bn_span_next(&walk, channels, inner, &e, &length, &c))
        bn_normalize_run(x + e, y + e, length, bn_coef_load(coef, channels, c), flags);
}

/* ---------------------------------------------------------------- eval */

/* Normalisation coefficients from the running statistics. */
__kernel void bn_eval_coef(__global const float *running_mean, __global const float *running_var,
                           __global const float *gamma, __global const float *beta,
                           __global float *coef, uint channels, float eps, uint flags) {
    uint c = get_global_id(0);
    if (c >= channels)
        return;
    bn_coef k = {running_mean[c], 0.0f};
    bn_eval_affine_of(c, running_var, eps, flags, gamma, beta, &k.c, &k.d);
    bn_coef_store(coef, channels, c, k);
}

/* The per-channel affine of eval-mode batch norm, y = x * scale + shift:
 * scale = gamma / sqrt(running_var + eps), shift = beta - running_mean *
 * scale. Global size: channels. */
__kernel void bn_eval_affine(__global const float *running_mean, __global const float *running_var,
                             __global const float *gamma, __global const float *beta,
                             __global float *scale, __global float *shift, uint channels, float eps,
                             uint flags) {
    uint c = get_global_id(0);
    if (c >= channels)
        return;
    float s, b;
    bn_eval_affine_of(c, running_var, eps, flags, gamma, beta, &s, &b);
    float m = running_mean[c];
    scale[c] = s;
    shift[c] = b - m * s;
}

/* Folds eval-mode batch norm into the convolution before it:
 * W'[k] = W[k] * s, b' = (b - running_mean) * s + beta with
 * s = gamma / sqrt(running_var + eps). Global size: channels (= K); each
 * work-item writes its `inner` weights (inner = C * kh * kw). In place is
 * allowed. */
__kernel void bn_fold_conv(__global const float *weight, __global const float *bias,
                           __global const float *gamma, __global const float *beta,
                           __global const float *running_mean, __global const float *running_var,
                           __global float *folded_weight, __global float *folded_bias,
                           uint channels, uint inner, float eps, uint flags) {
    uint k = get_global_id(0);
    if (k >= channels)
        return;
    float scale, shift;
    bn_eval_affine_of(k, running_var, eps, flags, gamma, beta, &scale, &shift);
    float b = (flags & BN_HAS_BIAS) ? bias[k] : 0.0f;
    __global const float *w = weight + k * inner;
    __global float *folded = folded_weight + k * inner;
    for (uint i = 0; i < inner; i++)
        folded[i] = w[i] * scale;
    folded_bias[k] = (b - running_mean[k]) * scale + shift;
}

/* ------------------------------------------------------------- backward */

/* The whole backward of channel c in one work-item (small channels). y is
 * read only under BN_RELU (the fused forward's output).
 *
 * Mesa 22.3's rusticl prints "Treating load_kernel_arg in control flow as
 * uniform, results may be incorrect" when it compiles this kernel (once:
 * Mesa caches the result): arguments are read after the early return of
 * work-items past `channels`. A kernel argument has one value for every
 * work-item, so reading it as uniform is exact; test_batchnorm, which runs
 * this kernel against a double-precision reference, passes on rusticl. */
__kernel void bn_backward_small(__global const float *x, __global const float *dy,
                                __global const float *y, __global const float *gamma,
                                __global const float *save_mean, __global const float *save_invstd,
                                __global float *dx, __global float *dgamma, __global float *dbeta,
                                uint channels, uint inner, uint count, uint flags) {
    uint c = get_global_id(0);
    if (c >= channels)
        return;
    bn_grad_sums sums =
        bn_range_grad_sums(x, dy, y, c, 0, count, channels, inner, save_mean[c], flags);
    bn_coef k =
        bn_finalize_backward(sums, c, count, flags, gamma, save_mean, save_invstd, dgamma, dbeta);
    if (!(flags & BN_WANT_DX))
        return;
    bn_run run;
    for (uint f = 0; f < count; f += run.length) {
        run = bn_run_at(f, count, c, channels, inner);
        bn_dx_run(x + run.index, dy + run.index, y + run.index, dx + run.index, run.length, k,
                  flags);
    }
}

/* Gradient sums per (chunk, channel): global size (parts, channels). y as
 * for bn_backward_small. */
__kernel void bn_grad_sums_rows(__global const float *x, __global const float *dy,
                                __global const float *y, __global const float *save_mean,
                                __global float *partials, uint channels, uint inner, uint count,
                                uint chunk, uint parts, uint flags) {
    bn_chunk job;
    if (bn_chunk_of(channels, count, chunk, parts, &job))
        bn_grad_sums_store(partials, job.stride, job.slot,
                           bn_range_grad_sums(x, dy, y, job.c, job.begin, job.end, channels, inner,
                                              save_mean[job.c], flags));
}

/* Gradient sums per (group of batch rows, channel) in memory order, as
 * bn_stats_batch_rows. Global size: parts. */
__kernel void bn_grad_sums_batch_rows(__global const float *x, __global const float *dy,
                                      __global const float *y, __global const float *save_mean,
                                      __global float *partials, uint channels, uint inner,
                                      uint batch, uint batches, uint parts, uint flags) {
    bn_batch_rows job;
    if (!bn_batch_rows_of(channels, batch, batches, parts, &job))
        return;
    for (uint n = job.first; n < job.last; n++)
        for (uint c = 0; c < channels; c++) {
            uint at = (n * channels + c) * inner;
            bn_grad_sums sums =
                bn_grad_sums_run(x + at, dy + at, y + at, inner, save_mean[c], flags);
            uint slot = c * parts + job.part;
            if (n != job.first)
                sums = bn_grad_sums_add(bn_grad_sums_load(partials, job.stride, slot), sums);
            bn_grad_sums_store(partials, job.stride, slot, sums);
        }
}

/* Gradient sums per (chunk of size * BN_ITEMS, channel) as bn_stats_wg;
 * `slots` is 2 * size floats of local memory. */
__kernel void bn_grad_sums_wg(__global const float *x, __global const float *dy,
                              __global const float *y, __global const float *save_mean,
                              __global float *partials, uint channels, uint inner, uint count,
                              uint flags, __local float *slots) {
    bn_wg_item item;
    bn_wg_item_of(channels, &item);
    const uint size = item.size, lid = item.lid, c = item.c;
    float mean = save_mean[c];
    float sum_dy = 0.0f, sum_centered = 0.0f;
    for (uint k = 0; k < BN_ITEMS; k++) {
        uint f = item.begin + k * size;
        if (f < count) {
            uint at = bn_index(f, c, channels, inner);
            float g = (flags & BN_RELU) ? RELU_GRAD_1(dy[at], y[at]) : dy[at];
            sum_dy += g;
            sum_centered += g * (x[at] - mean);
        }
    }
    slots[lid] = sum_dy;
    slots[size + lid] = sum_centered;
    clcnn_wg_sum_planes(slots, 2, lid, size);
    if (lid == 0) {
        bn_grad_sums total = {slots[0], slots[size]};
        bn_grad_sums_store(partials, item.stride, item.slot, total);
    }
}

/* Adds `fanin` consecutive partial sums of each channel: global size
 * (parts_out, channels). */
__kernel void bn_sums_merge(__global const float *in, __global float *out, uint channels,
                            uint parts_in, uint parts_out, uint fanin) {
    bn_merge_job job;
    bn_grad_sums sums;
    if (!bn_merge_job_of(channels, parts_in, parts_out, fanin, &job))
        return;
    bn_grad_sums_added(in, job.stride_in, job.row_in, job.first, job.last, &sums);
    bn_grad_sums_store(out, job.stride_out, job.slot_out, sums);
}

/* Adds a channel's last partial sums, writes dgamma/dbeta and the dx
 * coefficients for bn_backward_dx. Global size: channels. */
__kernel void bn_backward_finalize(__global const float *partials, uint parts,
                                   __global const float *gamma, __global const float *save_mean,
                                   __global const float *save_invstd, __global float *dgamma,
                                   __global float *dbeta, __global float *coef, uint channels,
                                   uint count, uint flags) {
    uint c = get_global_id(0);
    if (c >= channels)
        return;
    bn_grad_sums sums;
    bn_grad_sums_added(partials, channels * parts, c * parts, 0, parts, &sums);
    bn_coef k =
        bn_finalize_backward(sums, c, count, flags, gamma, save_mean, save_invstd, dgamma, dbeta);
    if (flags & BN_WANT_DX)
        bn_coef_store(coef, channels, c, k);
}

/* dx over the whole tensor, `span` consecutive elements per work-item; y as
 * for bn_backward_small. */
__kernel void bn_backward_dx(__global const float *x, __global const float *dy,
                             __global const float *y, __global float *dx,
                             __global const float *coef, uint channels, uint inner, uint total,
                             uint span, uint flags) {
    bn_span walk;
    uint e, length, c;
    bn_span_start(total, span, &walk);
    while (bn_span_next(&walk, channels, inner, &e, &length, &c))
        bn_dx_run(x + e, dy + e, y + e, dx + e, length, bn_coef_load(coef, channels, c), flags);
}
