/* The join of a residual connection, y = a + b with an optional fused ReLU,
 * forward and backward (see src/ops/residual.c and
 * include/clcnn/residual.h). The ReLU comes from relu.h, so the bits are
 * those of a separate activation; the layout of the work is pointwise.h's.
 * Any operand may be the same buffer as another: each element is read
 * before it is written, by the work-item that writes it, da before db. */
#include "common.h"
#include "pointwise.h"
#include "relu.h"

/* 1: y = max(a + b, 0) and its gradient; 0: the plain sum. */
#ifndef RESIDUAL_RELU
#define RESIDUAL_RELU 0
#endif

/* What backward does with a gradient: nothing (NULL), write, or add. */
#define GRAD_SKIP 0
#define GRAD_WRITE 1
#define GRAD_ADD 2

static floatv join(floatv a, floatv b) {
#if RESIDUAL_RELU
    return RELU_VEC(a + b, VEC);
#else
    return a + b;
#endif
}

static float join_1(float a, float b) {
#if RESIDUAL_RELU
    return RELU_1(a + b);
#else
    return a + b;
#endif
}

/* y = join(a, b) */
__kernel void residual_forward(ulong n, __global const float *a, __global const float *b,
                               __global float *y) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            vstorev(join(vloadv(0, a + at), vloadv(0, b + at)), 0, y + at);
        }
    } else {
        for (size_t at = base; at < n; at++)
            y[at] = join_1(a[at], b[at]);
    }
}

/* The gradient that both inputs receive. */
static floatv gradient(floatv dy, __global const float *y, size_t at) {
#if RESIDUAL_RELU
    return RELU_GRAD_VEC(dy, vloadv(0, y + at), VEC);
#else
    (void)y;
    (void)at;
    return dy;
#endif
}

static float gradient_1(float dy, __global const float *y, size_t at) {
#if RESIDUAL_RELU
    return RELU_GRAD_1(dy, y[at]);
#else
    (void)y;
    (void)at;
    return dy;
#endif
}

/* da, db (+)= the gradient, per their modes (GRAD_*); y is read only with
 * the ReLU, a skipped gradient's buffer never. */
__kernel void residual_backward(ulong n, __global const float *y, __global const float *dy,
                                __global float *da, int da_mode, __global float *db, int db_mode) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            const floatv g = gradient(vloadv(0, dy + at), y, at);
            if (da_mode != GRAD_SKIP)
                vstorev(da_mode == GRAD_ADD ? vloadv(0, da + at) + g : g, 0, da + at);
            if (db_mode != GRAD_SKIP)
                vstorev(db_mode == GRAD_ADD ? vloadv(0, db + at) + g : g, 0, db + at);
        }
    } else {
        for (size_t at = base; at < n; at++) {
            const float g = gradient_1(dy[at], y, at);
            if (da_mode != GRAD_SKIP)
                da[at] = da_mode == GRAD_ADD ? da[at] + g : g;
            if (db_mode != GRAD_SKIP)
                db[at] = db_mode == GRAD_ADD ? db[at] + g : g;
        }
    }
}
