/* The epilogue of clcnn_conv2d_forward_fused for the algorithms that have
 * none of their own (GENERAL, TILED; DIRECT applies it in its stores): one
 * pass over the convolution [N, K, HO, WO] whose bias is already added,
 * act(v * scale[k] + shift[k]) per output channel k, in place, or into the
 * 2x2 max pool of it. */
#include "common.h"
#include "conv2d_flags.h"
#include "relu.h"

float4 conv2d_epilogue4(float4 value, float s, float t, int flags) {
    if (flags & (CONV2D_HAS_SCALE | CONV2D_HAS_SHIFT))
        value = value * s + t;
    if (flags & CONV2D_RELU)
        value = RELU_VEC(value, 4);
    return value;
}

/* Global ids (chunk, plane): plane n * channels + k, positions [chunk *
 * span, +span) of its `positions`, in place. scale and shift are read only
 * when their bit of flags is set. */
__kernel void conv2d_epilogue(__global float *y, __global const float *scale,
                              __global const float *shift, int flags, int planes, int channels,
                              int positions, int span) {
    const int chunk = get_global_id(0), plane = get_global_id(1);
    const int begin = chunk * span;
    if (plane >= planes || begin >= positions)
        return;
    const int k = plane % channels;
    const float s = (flags & CONV2D_HAS_SCALE) ? scale[k] : 1.0f;
    const float t = (flags & CONV2D_HAS_SHIFT) ? shift[k] : 0.0f;
    __global float *row = y + plane * positions;
    const int end = min(positions, begin + span);
    int i = begin;
    for (; i + 4 <= end; i += 4)
        vstore4(conv2d_epilogue4(vload4(0, row + i), s, t, flags), 0, row + i);
    for (; i < end; i++)
        row[i] = conv2d_epilogue4((float4)(row[i]), s, t, flags).s0;
}

/* The running maximum takes `next` when larger or NaN (pool2d.cl's scan). */
float conv2d_pool_step(float best, float next) {
    return (isgreater(next, best) || isnan(next)) ? next : best;
}

/* Global ids (pooled column chunk, pooled row, plane): y [planes, out_h / 2,
 * out_w / 2] from src [planes, out_h, out_w], each window's four values
 * through the epilogue, then scanned row by row. */
__kernel void conv2d_epilogue_pool(__global const float *src, __global float *y,
                                   __global const float *scale, __global const float *shift,
                                   int flags, int planes, int channels, int out_h, int out_w,
                                   int span) {
    const int chunk = get_global_id(0), row = get_global_id(1), plane = get_global_id(2);
    const int pooled_h = out_h / 2, pooled_w = out_w / 2, begin = chunk * span;
    if (plane >= planes || row >= pooled_h || begin >= pooled_w)
        return;
    const int k = plane % channels;
    const float s = (flags & CONV2D_HAS_SCALE) ? scale[k] : 1.0f;
    const float t = (flags & CONV2D_HAS_SHIFT) ? shift[k] : 0.0f;
    __global const float *r0 = src + (plane * out_h + 2 * row) * out_w, *r1 = r0 + out_w;
    __global float *out = y + (plane * pooled_h + row) * pooled_w;
    const int end = min(pooled_w, begin + span);
    for (int j = begin; j < end; j++) {
        float4 v = conv2d_epilogue4((float4)(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]), s,
                                    t, flags);
        float best = v.s0;
        best = conv2d_pool_step(best, v.s1);
        best = conv2d_pool_step(best, v.s2);
        out[j] = conv2d_pool_step(best, v.s3);
    }
}
