/* Element-wise activations, forward and backward (see src/ops/activation.c
 * and include/clcnn/activation.h for the semantics). The activation is
 * chosen at build time; the layout of the work is in pointwise.h. */
#include "common.h"
#include "pointwise.h"
#include "relu.h"

/* 0 ReLU, 1 leaky ReLU, 2 sigmoid, 3 tanh (clcnn_activation). */
#ifndef ACTIVATION
#define ACTIVATION 0
#endif

static floatv activate(floatv x, float slope) {
#if ACTIVATION == 0
    (void)slope;
    return RELU_VEC(x, VEC);
#elif ACTIVATION == 1
    return select(x * slope, x, isgreater(x, (floatv)(0.0f)));
#elif ACTIVATION == 2
    (void)slope;
    return 1.0f / (1.0f + exp(-x));
#else
    (void)slope;
    return tanh(x);
#endif
}

/* dy * f'(.) from the saved tensor (x for the ReLUs, y otherwise). */
static floatv derivative(floatv saved, floatv dy, float slope) {
#if ACTIVATION == 0
    (void)slope;
    return RELU_GRAD_VEC(dy, saved, VEC);
#elif ACTIVATION == 1
    return select(dy * slope, dy, isgreater(saved, (floatv)(0.0f)));
#elif ACTIVATION == 2
    (void)slope;
    return dy * (1.0f - saved) * saved;
#else
    (void)slope;
    return dy * (1.0f - saved * saved);
#endif
}

/* y = f(x); y may be x. */
__kernel void activation_forward(ulong n, float slope, __global const float *x, __global float *y) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            vstorev(activate(vloadv(0, x + at), slope), 0, y + at);
        }
    } else {
        for (size_t at = base; at < n; at++)
            y[at] = activate((floatv)(x[at]), slope).s0;
    }
}

/* dx = dy * f'(saved), or dx += ... when accumulate; dx may be dy or saved. */
__kernel void activation_backward(ulong n, float slope, int accumulate, __global const float *saved,
                                  __global const float *dy, __global float *dx) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            floatv d = derivative(vloadv(0, saved + at), vloadv(0, dy + at), slope);
            if (accumulate)
                d += vloadv(0, dx + at);
            vstorev(d, 0, dx + at);
        }
    } else {
        for (size_t at = base; at < n; at++) {
            const float d = derivative((floatv)(saved[at]), (floatv)(dy[at]), slope).s0;
            dx[at] = accumulate ? dx[at] + d : d;
        }
    }
}
