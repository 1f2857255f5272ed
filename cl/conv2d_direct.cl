/* Register-tiled direct convolution, row stride SH, column stride 1 or 2,
 * for CPU devices (the algorithm CLCNN_CONV2D_ALGO_DIRECT of conv2d.h).
 *
 * The input comes zero-padded (conv2d_pad in conv2d.cl) so that every row a
 * work-item reads is whole: no bounds checks in the inner loop. The weights
 * come packed in tiles of KT output channels, tap-major
 * (conv2d_pack_weights), so the KT weights of one tap are contiguous. One
 * work-item computes KT output channels x WV vectors of VW neighbouring
 * outputs of one row: per input channel and tap it loads WV input vectors
 * and adds each, times the KT weights, into its KT x WV accumulators. No
 * local memory, no barriers: POCL runs each work-item as straight-line
 * vector code.
 *
 * The same kernel computes backward data of a stride-1 convolution: the
 * convolution of dy padded by dilation * (kernel - 1) - padding with the
 * flipped, transposed weights; of a strided one, per phase (a, b) of dx
 * (rows a + SH * i, columns b + SW * j), the stride-1 convolution of dy
 * with the taps that reach that phase (conv2d_pack_phase_weights), stored
 * every OSH-th row and OSW-th column.
 *
 * The forward's epilogue (clcnn_conv2d_forward_fused) runs in the stores:
 * per output channel k, value = (acc + bias[k]) * scale[k] + shift[k], then
 * an optional ReLU, each part present when its bit of `flags` is set (bits
 * in conv2d_flags.h, shared with the host), then optionally a max
 * pool (POOL). */
#include "common.h"
#include "conv2d_geometry.h"

/* Columns: stride 1 loads each vector whole, 2 loads two and keeps their
 * even lanes (no other column stride is taken). */
#if SW != 1 && SW != 2
#error "SW must be 1 or 2"
#endif
/* Step between stored output rows and columns in y (backward data of a
 * strided convolution writes one phase of dx: every OSH-th row and
 * OSW-th column); 1 stores whole vectors. */
#ifndef OSH
#define OSH 1
#endif
#ifndef OSW
#define OSW 1
#endif
/* Output channels per work-item. */
#ifndef KT
#define KT 8
#endif
/* Vectors of VW outputs per work-item along a row. */
#ifndef WV
#define WV 2
#endif
/* A 2x2 max pool of stride 2 (floor) after the epilogue, y then the pooled
 * output, each work-item computing the two rows of a pooled row one after
 * the other and keeping the first row's column maxima in y: 1 with vector
 * selects on half vectors (CPUs), 2 scalar from a private copy of the
 * vector (other devices; Oclgrind's uninitialised-value checker also
 * misreads the vector form). 0: no pool. */
#ifndef POOL
#define POOL 0
#endif

#include "conv2d_vector.h"
#include "conv2d_flags.h"
#include "relu.h"

/* Half vectors: the window maxima of one vector's column pairs. */
#if VW == 16
typedef float8 halfv;
#define LOADH(p) vload8(0, (p))
#define STOREH(v, p) vstore8((v), 0, (p))
#elif VW == 8
typedef float4 halfv;
#define LOADH(p) vload4(0, (p))
#define STOREH(v, p) vstore4((v), 0, (p))
#else
typedef float2 halfv;
#define LOADH(p) vload2(0, (p))
#define STOREH(v, p) vstore2((v), 0, (p))
#endif

/* The VW inputs of one output vector starting at src (stride SW): for SW
 * 2 the even lanes of two vectors, named one by one (.even builds a
 * shuffle with undefined lanes, which Oclgrind's uninitialised-value
 * checker reports at every use). */
floatv load_inputs(__global const float *src) {
#if SW == 1
    return LOADV(src);
#else
    const floatv lo = LOADV(src), hi = LOADV(src + VW);
#if VW == 16
    return (floatv)(lo.s0, lo.s2, lo.s4, lo.s6, lo.s8, lo.sa, lo.sc, lo.se, hi.s0, hi.s2, hi.s4,
                    hi.s6, hi.s8, hi.sa, hi.sc, hi.se);
#elif VW == 8
    return (floatv)(lo.s0, lo.s2, lo.s4, lo.s6, hi.s0, hi.s2, hi.s4, hi.s6);
#else
    return (floatv)(lo.s0, lo.s2, hi.s0, hi.s2);
#endif
#endif
}

/* The running maximum takes `next` when larger or NaN: pool2d.cl's scan,
 * so the pooled bits equal the separate pool's. */
float pool_step(float best, float next) {
    return (isgreater(next, best) || isnan(next)) ? next : best;
}

halfv pool_step_vector(halfv best, halfv next) {
    return select(best, next, isgreater(next, best) | isnan(next));
}

/* y[n, group * outs + t * KT + j, oh, ow0 + ...] for global ids
 * (oh * row_tiles + tile, group * out_tiles + t, n), where ow0 = tile * VW *
 * WV (with POOL, oh runs over the pooled rows out_h / 2 and y is
 * [N, groups * outs, out_h / 2, out_w / 2]; else output (oh, ow) goes to
 * row y_row0 + OSH * oh, column y_col0 + OSW * ow of y [N, groups * outs,
 * y_h, y_w]). xp is the padded input [N, groups * ins, padded_h, padded_w]
 * with padded_w >= row_tiles * VW * WV * SW + DW * (KW - 1); packed holds the weights
 * [groups][out_tiles][ins][KH][KW][KT]. Lanes past out_w are computed from padding and not stored.
 * accumulate adds onto y (after the epilogue, which backward data never asks for; not with POOL);
 * bias, scale and shift are read only when their bit of flags is set. */
__kernel void conv2d_fwd_direct(__global const float *xp, __global const float *packed,
                                __global const float *bias, __global const float *scale,
                                __global const float *shift, int flags, __global float *y,
                                int accumulate, int ins, int outs, int groups, int padded_h,
                                int padded_w, int out_h, int out_w, int row_tiles, int y_h, int y_w,
                                int y_row0, int y_col0) {
    const int out_tiles = (outs + KT - 1) / KT;
    const int rows = POOL ? out_h / 2 : out_h;
    const int id = get_global_id(0), tile_id = get_global_id(1), n = get_global_id(2);
    if (id >= rows * row_tiles || tile_id >= groups * out_tiles)
        return;
    const int row = id / row_tiles, ow0 = (id - row * row_tiles) * (VW * WV);
    const int group = tile_id / out_tiles, t = tile_id - group * out_tiles;
    const int plane = padded_h * padded_w;

    for (int r = 0; r < (POOL ? 2 : 1); r++) {
        const int oh = POOL ? 2 * row + r : row;
        __global const float *in =
            xp + (n * groups + group) * ins * plane + oh * SH * padded_w + ow0 * SW;
        __global const float *weights = packed + tile_id * ins * (KH * KW * KT);

        floatv acc[KT][WV];
#pragma unroll
        for (int j = 0; j < KT; j++)
#pragma unroll
            for (int v = 0; v < WV; v++)
                acc[j][v] = (floatv)(0.0f);

        for (int i = 0; i < ins; i++) {
#pragma unroll
            for (int rr = 0; rr < KH; rr++) {
#pragma unroll
                for (int s = 0; s < KW; s++) {
                    __global const float *src = in + rr * DH * padded_w + s * DW;
                    __global const float *tap = weights + (rr * KW + s) * KT;
                    floatv xv[WV];
#pragma unroll
                    for (int v = 0; v < WV; v++)
                        xv[v] = load_inputs(src + v * VW * SW);
#pragma unroll
                    for (int j = 0; j < KT; j++) {
                        const floatv wj = (floatv)(tap[j]);
#pragma unroll
                        for (int v = 0; v < WV; v++)
                            acc[j][v] = fma(wj, xv[v], acc[j][v]);
                    }
                }
            }
            in += plane;
            weights += KH * KW * KT;
        }

#pragma unroll
        for (int j = 0; j < KT; j++) {
            const int o = t * KT + j;
            if (o >= outs)
                break;
            const int k = group * outs + o;
            const float b = (flags & CONV2D_HAS_BIAS) ? bias[k] : 0.0f;
            const float sc = (flags & CONV2D_HAS_SCALE) ? scale[k] : 1.0f;
            const float sh = (flags & CONV2D_HAS_SHIFT) ? shift[k] : 0.0f;
#pragma unroll
            for (int v = 0; v < WV; v++) {
                const int col = ow0 + v * VW;
                floatv value = acc[j][v] + b;
                if (flags & (CONV2D_HAS_SCALE | CONV2D_HAS_SHIFT))
                    value = value * sc + sh;
                if (flags & CONV2D_RELU)
                    value = RELU_VEC(value, VW);
#if POOL
                /* Pooled columns col / 2 + l, those below out_w / 2 stored;
                 * the second row folds in the first's maxima. */
                const int pooled_w = out_w / 2, pcol = col / 2;
                __global float *out = y + ((n * groups * outs + k) * rows + row) * pooled_w + pcol;
#if POOL == 1
                halfv best = value.even;
                if (r == 1) {
                    if (pcol + VW / 2 <= pooled_w) {
                        best = LOADH(out);
                    } else {
                        float lanes[VW / 2];
                        for (int l = 0; l < VW / 2; l++)
                            lanes[l] = pcol + l < pooled_w ? out[l] : 0.0f;
                        best = LOADH(lanes);
                    }
                    best = pool_step_vector(best, value.even);
                }
                best = pool_step_vector(best, value.odd);
                if (pcol + VW / 2 <= pooled_w) {
                    STOREH(best, out);
                } else if (pcol < pooled_w) {
                    float lanes[VW / 2];
                    STOREH(best, lanes);
                    for (int l = 0; l < pooled_w - pcol; l++)
                        out[l] = lanes[l];
                }
#else
                /* Scalar, over the vector's lanes in a private array. */
                float lanes[VW];
                STOREV(value, lanes);
                for (int l = 0; l < VW / 2 && pcol + l < pooled_w; l++) {
                    float best = r == 0 ? lanes[2 * l] : pool_step(out[l], lanes[2 * l]);
                    out[l] = pool_step(best, lanes[2 * l + 1]);
                }
#endif
#else
                __global float *out = y +
                                      ((n * groups * outs + k) * y_h + y_row0 + OSH * oh) * y_w +
                                      y_col0 + OSW * col;
#if OSW != 1
                float lanes[VW];
                STOREV(value, lanes);
                for (int l = 0; l < VW && col + l < out_w; l++)
                    out[OSW * l] = accumulate ? out[OSW * l] + lanes[l] : lanes[l];
#else
                if (col + VW <= out_w) {
                    if (accumulate)
                        value += LOADV(out);
                    STOREV(value, out);
                } else if (col < out_w) {
                    float lanes[VW];
                    STOREV(value, lanes);
                    for (int l = 0; l < out_w - col; l++)
                        out[l] = accumulate ? out[l] + lanes[l] : lanes[l];
                }
#endif
#endif
            }
        }
    }
}
