/* Element-wise arithmetic on flat float arrays (see src/ops/elementwise.c);
 * the layout of the work is in pointwise.h. Any operand may alias another:
 * each element is read before it is written, by the same work-item. */
#include "common.h"
#include "pointwise.h"

/* out = a + b */
__kernel void elementwise_add(ulong n, __global const float *a, __global const float *b,
                              __global float *out) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            vstorev(vloadv(0, a + at) + vloadv(0, b + at), 0, out + at);
        }
    } else {
        for (size_t at = base; at < n; at++)
            out[at] = a[at] + b[at];
    }
}

/* out = alpha * x */
__kernel void elementwise_scale(ulong n, float alpha, __global const float *x,
                                __global float *out) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            vstorev(alpha * vloadv(0, x + at), 0, out + at);
        }
    } else {
        for (size_t at = base; at < n; at++)
            out[at] = alpha * x[at];
    }
}

/* y = alpha * x + beta * y */
__kernel void elementwise_axpby(ulong n, float alpha, __global const float *x, float beta,
                                __global float *y) {
    const size_t base = POINTWISE_BASE();
    if (POINTWISE_FULL(base, n)) {
        for (int i = 0; i < ITEMS; i++) {
            const size_t at = base + (size_t)i * VEC;
            vstorev(alpha * vloadv(0, x + at) + beta * vloadv(0, y + at), 0, y + at);
        }
    } else {
        for (size_t at = base; at < n; at++)
            y[at] = alpha * x[at] + beta * y[at];
    }
}
