/* Random crop of a zero-padded image plus a random horizontal flip, per
 * sample (see src/ops/augment.c and include/clcnn/augment.h for the draws
 * and the layout of the Philox counter). */
#include "philox.h"

/* One work-item per output row (dimension 0: rows of all samples and
 * channels, N * C * H) and chunk of `span` columns (dimension 1; one chunk
 * unless the driver limits loop trips). Each work-item draws its sample's
 * Philox block itself: 10 rounds per row cost less than a second launch. */
__kernel void augment_crop_flip(__global const float *x, __global float *y, ulong rows,
                                int channels, int height, int width, int pad, int span,
                                uint seed_lo, uint seed_hi, uint epoch_lo, uint epoch_hi,
                                ulong first_sample, ulong flip_threshold) {
    const ulong row = get_global_id(0);
    const int first_col = get_global_id(1) * span;
    if (row >= rows)
        return;
    /* The remainder as a difference: Oclgrind cannot simulate the `freeze`
     * LLVM emits when it pairs a / b with a % b. */
    const ulong plane = row / (ulong)height;
    const int i = (int)(row - plane * (ulong)height);
    const ulong sample = plane / (ulong)channels + first_sample;
    uint c0 = (uint)sample, c1 = (uint)(sample >> 32), c2 = epoch_lo, c3 = epoch_hi;
    philox4x32_10_v1(&c0, &c1, &c2, &c3, seed_lo, seed_hi);
    const uint offsets = 2 * (uint)pad + 1;
    const int top = (int)mul_hi(c0, offsets), left = (int)mul_hi(c1, offsets);
    const int flip = (ulong)c2 < flip_threshold;

    const int src_row = i + top - pad;
    const int end = min(first_col + span, width);
    __global float *out = y + row * (ulong)width;
    if (src_row < 0 || src_row >= height) {
        for (int j = first_col; j < end; j++)
            out[j] = 0.0f;
        return;
    }
    __global const float *in = x + (row - (ulong)i + (ulong)src_row) * (ulong)width;
    for (int j = first_col; j < end; j++) {
        const int src_col = (flip ? width - 1 - j : j) + left - pad;
        out[j] = src_col >= 0 && src_col < width ? in[src_col] : 0.0f;
    }
}
