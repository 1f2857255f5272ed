/* Register-tiled direct convolution, stride 1, for CPU devices (the
 * algorithm CLCNN_CONV2D_ALGO_DIRECT of conv2d.h).
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
 * flipped, transposed weights. */
#include "common.h"

/* Kernel taps (compile-time so the tap loops unroll). */
#ifndef KH
#define KH 3
#endif
#ifndef KW
#define KW 3
#endif
/* Dilation. */
#ifndef DH
#define DH 1
#endif
#ifndef DW
#define DW 1
#endif
/* Output channels per work-item. */
#ifndef KT
#define KT 8
#endif
/* Vectors of VW outputs per work-item along a row. */
#ifndef WV
#define WV 2
#endif

#include "conv2d_vector.h"

/* y[n, group * outs + t * KT + j, oh, ow0 + ...] for global ids
 * (oh * row_tiles + tile, group * out_tiles + t, n), where ow0 = tile * VW *
 * WV. xp is the padded input [N, groups * ins, padded_h, padded_w] with
 * padded_w >= row_tiles * VW * WV + DW * (KW - 1); packed holds the weights
 * [groups][out_tiles][ins][KH][KW][KT]. Lanes past out_w are computed from
 * padding and not stored. accumulate adds onto y; bias is read only when
 * has_bias. */
__kernel void conv2d_fwd_direct(__global const float *xp, __global const float *packed,
                                __global const float *bias, int has_bias, __global float *y,
                                int accumulate, int ins, int outs, int groups, int padded_h,
                                int padded_w, int out_h, int out_w, int row_tiles) {
    const int out_tiles = (outs + KT - 1) / KT;
    const int id = get_global_id(0), tile_id = get_global_id(1), n = get_global_id(2);
    if (id >= out_h * row_tiles || tile_id >= groups * out_tiles)
        return;
    const int oh = id / row_tiles, ow0 = (id - oh * row_tiles) * (VW * WV);
    const int group = tile_id / out_tiles, t = tile_id - group * out_tiles;
    const int plane = padded_h * padded_w;
    __global const float *in = xp + (n * groups + group) * ins * plane + oh * padded_w + ow0;
    __global const float *weights = packed + tile_id * ins * (KH * KW * KT);

    floatv acc[KT][WV];
#pragma unroll
    for (int j = 0; j < KT; j++)
#pragma unroll
        for (int v = 0; v < WV; v++)
            acc[j][v] = (floatv)(0.0f);

    for (int i = 0; i < ins; i++) {
#pragma unroll
        for (int r = 0; r < KH; r++) {
#pragma unroll
            for (int s = 0; s < KW; s++) {
                __global const float *src = in + r * DH * padded_w + s * DW;
                __global const float *tap = weights + (r * KW + s) * KT;
                floatv xv[WV];
#pragma unroll
                for (int v = 0; v < WV; v++)
                    xv[v] = LOADV(src + v * VW);
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
        const float b = has_bias ? bias[k] : 0.0f;
        __global float *out = y + ((n * groups * outs + k) * out_h + oh) * out_w + ow0;
#pragma unroll
        for (int v = 0; v < WV; v++) {
            const int col = ow0 + v * VW;
            floatv value = acc[j][v] + b;
            if (col + VW <= out_w) {
                if (accumulate)
                    value += LOADV(out + v * VW);
                STOREV(value, out + v * VW);
            } else if (col < out_w) {
                float lanes[VW];
                STOREV(value, lanes);
                for (int l = 0; l < out_w - col; l++)
                    out[v * VW + l] = accumulate ? out[v * VW + l] + lanes[l] : lanes[l];
            }
        }
    }
}
