/* conv2d as an implicit GEMM in work-group tiles staged through local memory:
 * the path for GPUs (CLCNN_CONV2D_ALGO_TILED of conv2d.h). Accepts every
 * parameter combination.
 *
 * Each pass is, per group g, a product C[m, col] = sum_q A[m, q] * B[q, col]
 * whose operands are gathered from the tensors on the fly (out-of-image
 * positions read as zero), never materialised:
 *   forward           m = output channel, col = (n, oh, ow), q = (c, r, s):
 *                     A = w, B = x at the input position of (oh, ow, r, s)
 *   backward data     m = input channel, col = (n, ih, iw), q = (k, r, s):
 *                     A = w, B = dy at the output position that reads
 *                     (ih, iw) through tap (r, s), zero where the stride skips
 *   backward weights  m = output channel, col = (c, r, s), q = (n, oh, ow):
 *                     A = dy, B = x; q is split into chunks, each chunk
 *                     writes its own slice of partial sums (reduced after in
 *                     a fixed order)
 * A work-group of TS x TS work-items computes a (4 TS) x (4 TS) tile of C,
 * each work-item 4 x 4 outputs spaced TS apart; per step it stages TQ
 * values of q of both operands in local memory. */
#include "common.h"

/* Work-items per work-group side (16: 256 work-items; 8 and 4 for thin
 * products; a multiple of 4). */
#ifndef TS
#define TS 16
#endif
/* Reduction values staged per step. */
#ifndef TQ
#define TQ 16
#endif

#define TILE (4 * TS)
#define THREADS (TS * TS) /* a multiple of TILE and of TQ (TS a multiple of 4) */

#define MODE_FORWARD 0
#define MODE_BACKWARD_DATA 1
#define MODE_BACKWARD_WEIGHTS 2

#define CONV2D_GEOMETRY                                                                           \
    int batch, int channels, int height, int width, int out_channels, int kernel_h, int kernel_w, \
        int out_h, int out_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h,   \
        int dilation_w, int group_in, int group_out

/* Sets (a, b, c) with index = (a * size_b + b) * size_c + c. Remainders are
 * written as differences: Oclgrind cannot simulate the `freeze` LLVM emits
 * when it pairs a / b with a % b. */
#define SPLIT3(index, size_b, size_c, a, b, c) \
    do {                                       \
        const int ab_ = (index) / (size_c);    \
        c = (index)-ab_ * (size_c);            \
        a = ab_ / (size_b);                    \
        b = ab_ - a * (size_b);                \
    } while (0)

/* x[n, channel, ih, iw], zero outside the image. */
#define X_AT(n, channel, ih, iw)                                          \
    (((ih) >= 0 && (ih) < height && (iw) >= 0 && (iw) < width)            \
         ? x[(((n)*channels + (channel)) * height + (ih)) * width + (iw)] \
         : 0.0f)

/* Global ids: (col tile, m tile, group) for forward and backward data,
 * (col tile, m tile, group * chunks + chunk) for backward weights. `a` is w
 * (forward, backward data) or dy; `b` is x (forward, backward weights) or
 * dy. `out` is y, dx, or the partial sums [chunks, K, C/groups * KH * KW]
 * (dw itself when chunks is 1). chunk_len: values of q per chunk. */
__kernel __attribute__((reqd_work_group_size(TS, TS, 1))) void
conv2d_tiled(__global const float *w, __global const float *x, __global const float *dy,
             __global float *out, __global const float *bias, int has_bias, int accumulate,
             int mode, int chunks, int chunk_len, CONV2D_GEOMETRY) {
    __local float a_tile[TQ][TILE + 1];
    __local float b_tile[TQ][TILE];

    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * TS + tx;
    const int col0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE;
    const int taps = kernel_h * kernel_w;
    int group = get_group_id(2), chunk = 0;
    if (mode == MODE_BACKWARD_WEIGHTS) {
        group = get_group_id(2) / chunks;
        chunk = get_group_id(2) - group * chunks;
    }
    /* The sizes of the product. */
    int rows, cols, q_begin = 0, q_end;
    if (mode == MODE_FORWARD) {
        rows = group_out, cols = batch * out_h * out_w, q_end = group_in * taps;
    } else if (mode == MODE_BACKWARD_DATA) {
        rows = group_in, cols = batch * height * width, q_end = group_out * taps;
    } else {
        rows = group_out, cols = group_in * taps;
        q_begin = chunk * chunk_len;
        q_end = min(q_begin + chunk_len, batch * out_h * out_w);
    }

    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = 0.0f;

    /* Each work-item stages the same column of b_tile and the same row
     * offset of a_tile at every step (THREADS is a multiple of TILE and of
     * TQ), so the column's coordinates are worked out once. */
    const int b_row0 = tid / TILE, b_cc = tid - b_row0 * TILE, b_col = col0 + b_cc;
    const int a_col0 = tid / TQ, a_qq = tid - a_col0 * TQ;
    int col_a = 0, col_b = 0, col_c = 0;
    if (b_col < cols) {
        if (mode == MODE_FORWARD)
            SPLIT3(b_col, out_h, out_w, col_a, col_b, col_c); /* (n, oh, ow) */
        else if (mode == MODE_BACKWARD_DATA)
            SPLIT3(b_col, height, width, col_a, col_b, col_c); /* (n, ih, iw) */
        else
            SPLIT3(b_col, kernel_h, kernel_w, col_a, col_b, col_c); /* (c, r, s) */
    }

    for (int q0 = q_begin; q0 < q_end; q0 += TQ) {
        /* Stage a_tile[qq][mm] = A[m0 + mm, q0 + qq]. */
        for (int mm = a_col0; mm < TILE; mm += THREADS / TQ) {
            const int m = m0 + mm, q = q0 + a_qq;
            float value = 0.0f;
            if (m < rows && q < q_end) {
                if (mode == MODE_FORWARD) {
                    value = w[(group * group_out + m) * group_in * taps + q];
                } else if (mode == MODE_BACKWARD_DATA) {
                    const int k = q / taps, tap = q - k * taps;
                    value = w[((group * group_out + k) * group_in + m) * taps + tap];
                } else {
                    const int plane = out_h * out_w, n = q / plane;
                    value = dy[(n * out_channels + group * group_out + m) * plane + q - n * plane];
                }
            }
            a_tile[a_qq][mm] = value;
        }
        /* Stage b_tile[qq][cc] = B[q0 + qq, col0 + cc]. */
        for (int qq = b_row0; qq < TQ; qq += THREADS / TILE) {
            const int q = q0 + qq;
            float value = 0.0f;
            if (b_col < cols && q < q_end) {
                if (mode == MODE_FORWARD) {
                    int c, r, s;
                    SPLIT3(q, kernel_h, kernel_w, c, r, s);
                    value =
                        X_AT(col_a, group * group_in + c, col_b * stride_h - pad_h + r * dilation_h,
                             col_c * stride_w - pad_w + s * dilation_w);
                } else if (mode == MODE_BACKWARD_DATA) {
                    int k, r, s;
                    SPLIT3(q, kernel_h, kernel_w, k, r, s);
                    const int oh_s = col_b + pad_h - r * dilation_h;
                    const int ow_s = col_c + pad_w - s * dilation_w;
                    const int oh = oh_s / stride_h, ow = ow_s / stride_w;
                    if (oh_s >= 0 && ow_s >= 0 && oh * stride_h == oh_s && ow * stride_w == ow_s &&
                        oh < out_h && ow < out_w)
                        value = dy[((col_a * out_channels + group * group_out + k) * out_h + oh) *
                                       out_w +
                                   ow];
                } else {
                    int n, oh, ow;
                    SPLIT3(q, out_h, out_w, n, oh, ow);
                    value = X_AT(n, group * group_in + col_a,
                                 oh * stride_h - pad_h + col_b * dilation_h,
                                 ow * stride_w - pad_w + col_c * dilation_w);
                }
            }
            b_tile[qq][b_cc] = value;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int qq = 0; qq < TQ; qq++) {
            float a[4], b[4];
            for (int i = 0; i < 4; i++)
                a[i] = a_tile[qq][ty + i * TS];
            for (int j = 0; j < 4; j++)
                b[j] = b_tile[qq][tx + j * TS];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < 4; i++) {
        const int m = m0 + ty + i * TS;
        if (m >= rows)
            continue;
        for (int j = 0; j < 4; j++) {
            const int col = col0 + tx + j * TS;
            if (col >= cols)
                continue;
            if (mode == MODE_FORWARD) {
                const int plane = out_h * out_w, k = group * group_out + m, n = col / plane;
                const float b = has_bias ? bias[k] : 0.0f;
                out[(n * out_channels + k) * plane + col - n * plane] = acc[i][j] + b;
            } else if (mode == MODE_BACKWARD_DATA) {
                const int plane = height * width, n = col / plane;
                const int index = (n * channels + group * group_in + m) * plane + col - n * plane;
                out[index] = accumulate ? out[index] + acc[i][j] : acc[i][j];
            } else {
                const int index =
                    chunk * (out_channels * cols) + (group * group_out + m) * cols + col;
                out[index] = accumulate ? out[index] + acc[i][j] : acc[i][j];
            }
        }
    }
}
