/* Optimizer updates (see include/clcnn/optim.h for the formulas): PyTorch's
 * SGD (with or without momentum) and Adam/AdamW, element-wise over one
 * parameter tensor, or over every parameter of a network at once (its
 * arenas, with the zero gaps between the tensors: zeros stay zeros).
 *
 * Kernels:
 *   sgd_step           p -= lr * (g + wd * p)
 *   sgd_momentum_step  the same through a momentum buffer (plain or Nesterov)
 *   adam_step          Adam / AdamW, optionally AMSGrad
 *
 * Each work-item updates OPTIM_WIDTH consecutive elements with vector loads;
 * the work-item holding the last, partial chunk goes element by element
 * through the same vector code (lanes past the end are zero and never
 * stored). Every scalar factor comes from the host (computed in double,
 * rounded to float once). Flags that pick a formula (first step, nesterov,
 * amsgrad, ...) are uniform across the launch. */
#include "common.h"

/* No a * b + c contraction: the roundings stay those of PyTorch's separate
 * operations, and the same on every device. */
#pragma OPENCL FP_CONTRACT OFF

/* Elements per work-item: 4, 8 or 16. */
#ifndef OPTIM_WIDTH
#define OPTIM_WIDTH 4
#endif

#if OPTIM_WIDTH == 4
#define floatW float4
#define vloadW vload4
#define vstoreW vstore4
#elif OPTIM_WIDTH == 8
#define floatW float8
#define vloadW vload8
#define vstoreW vstore8
#elif OPTIM_WIDTH == 16
#define floatW float16
#define vloadW vload16
#define vstoreW vstore16
#else
#error "OPTIM_WIDTH must be 4, 8 or 16"
#endif

/* A vector seen as its lanes, for the partial last chunk. */
typedef union lanes {
    floatW v;
    float s[OPTIM_WIDTH];
} lanes;

/* Elements of chunk `chunk` that exist (0 past the end). */
static uint chunk_valid(ulong chunk, ulong count) {
    ulong base = chunk * OPTIM_WIDTH;
    if (base >= count)
        return 0;
    ulong left = count - base;
    return left < OPTIM_WIDTH ? (uint)left : OPTIM_WIDTH;
}

static floatW load_chunk(__global const float *src, ulong chunk, uint valid) {
    if (valid == OPTIM_WIDTH)
        return vloadW((size_t)chunk, src);
    lanes l;
    l.v = (floatW)(0.0f);
    __global const float *at = src + chunk * OPTIM_WIDTH;
    for (uint i = 0; i < valid; i++)
        l.s[i] = at[i];
    return l.v;
}

static void store_chunk(__global float *dst, ulong chunk, uint valid, floatW value) {
    if (valid == OPTIM_WIDTH) {
        vstoreW(value, (size_t)chunk, dst);
        return;
    }
    lanes l;
    l.v = value;
    __global float *at = dst + chunk * OPTIM_WIDTH;
    for (uint i = 0; i < valid; i++)
        at[i] = l.s[i];
}

/* The chunk's gradient with PyTorch's (coupled) weight decay added:
 * g + decay * p, or g when decay is 0. */
static floatW decayed_grad(__global const float *grad, ulong chunk, uint valid, floatW p,
                           float decay) {
    floatW g = load_chunk(grad, chunk, valid);
    if (decay != 0.0f)
        g = g + decay * p;
    return g;
}

/* p -= lr * d with d = g (+ weight_decay * p when weight_decay != 0). */
__kernel void sgd_step(__global float *param, __global const float *grad, ulong count, float lr,
                       float weight_decay) {
    ulong chunk = get_global_id(0);
    uint valid = chunk_valid(chunk, count);
    if (valid == 0)
        return;
    floatW p = load_chunk(param, chunk, valid);
    floatW d = decayed_grad(grad, chunk, valid, p, weight_decay);
    store_chunk(param, chunk, valid, p - lr * d);
}

/* SGD with momentum: buf = d on the first step (PyTorch clones d into the
 * new buffer, whatever the dampening), else buf = momentum * buf +
 * one_minus_dampening * d; then d = nesterov ? d + momentum * buf : buf and
 * p -= lr * d. */
__kernel void sgd_momentum_step(__global float *param, __global const float *grad,
                                __global float *momentum_buffer, ulong count, float lr,
                                float weight_decay, float momentum, float one_minus_dampening,
                                uint first_step, uint nesterov) {
    ulong chunk = get_global_id(0);
    uint valid = chunk_valid(chunk, count);
    if (valid == 0)
        return;
    floatW p = load_chunk(param, chunk, valid);
    floatW d = decayed_grad(grad, chunk, valid, p, weight_decay);
    floatW buf;
    if (first_step) {
        buf = d;
    } else {
        buf = load_chunk(momentum_buffer, chunk, valid) * momentum;
        buf = buf + one_minus_dampening * d;
    }
    store_chunk(momentum_buffer, chunk, valid, buf);
    if (nesterov)
        d = d + momentum * buf;
    else
        d = buf;
    store_chunk(param, chunk, valid, p - lr * d);
}

/* Adam / AdamW. decoupled_factor is 1 - lr * weight_decay for AdamW (1: no
 * decoupled decay), coupled_decay Adam's weight_decay (0: none); at most one
 * is active. exp_avg follows torch.lerp's two formulas: weight < 0.5 ?
 * m + w * (g - m) : g - (g - m) * (1 - w). max_exp_avg_sq is read and
 * written only when amsgrad is set (else it may alias exp_avg_sq). */
__kernel void adam_step(__global float *param, __global const float *grad, __global float *exp_avg,
                        __global float *exp_avg_sq, __global float *max_exp_avg_sq, ulong count,
                        float decoupled_factor, float coupled_decay, float lerp_weight, float beta2,
                        float one_minus_beta2, float step_size, float bias_correction2_sqrt,
                        float eps, uint amsgrad) {
    ulong chunk = get_global_id(0);
    uint valid = chunk_valid(chunk, count);
    if (valid == 0)
        return;
    floatW p = load_chunk(param, chunk, valid);
    if (decoupled_factor != 1.0f)
        p = p * decoupled_factor;
    floatW g = decayed_grad(grad, chunk, valid, p, coupled_decay);

    floatW m = load_chunk(exp_avg, chunk, valid);
    if (lerp_weight < 0.5f)
        m = m + lerp_weight * (g - m);
    else
        m = g - (g - m) * (1.0f - lerp_weight);
    store_chunk(exp_avg, chunk, valid, m);

    floatW v = load_chunk(exp_avg_sq, chunk, valid) * beta2;
    v = v + one_minus_beta2 * g * g;
    store_chunk(exp_avg_sq, chunk, valid, v);
    if (amsgrad) {
        /* torch.maximum: a NaN on either side gives NaN (fmax would drop it). */
        floatW old = load_chunk(max_exp_avg_sq, chunk, valid);
        v = select(v, old, isnan(old) | isgreater(old, v));
        store_chunk(max_exp_avg_sq, chunk, valid, v);
    }

    floatW denom = sqrt(v) / bias_correction2_sqrt + eps;
    store_chunk(param, chunk, valid, p - step_size * m / denom);
}
