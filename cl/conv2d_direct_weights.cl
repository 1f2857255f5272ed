/* Weight gradient of a convolution, register-tiled for CPU devices
 * (CLCNN_CONV2D_ALGO_DIRECT of conv2d.h).
 *
 * dw[k, i, r, s] = sum over n, oh, ow of dy[n, k, oh, ow] * xp[n, i, oh * SH +
 * r * DH, ow * SW + s * DW], xp being the zero-padded input. Flatten (i, r, s) into
 * one index j. dy comes transposed to pixel-major order, dyt[n][group][oh *
 * out_w + ow][k] with the output channels of a group padded with zeros to
 * outs_padded (conv2d_transpose_grad in conv2d.cl), so that the output
 * channels of one position are one contiguous vector. One work-item
 * computes the taps of CT input channels x RT rows x KW columns for KV
 * vectors of VW output channels: per output position it loads KV vectors
 * of dyt, broadcasts CT x RT x KW input values (at fixed offsets from one
 * row pointer) and does that many times KV fused multiply-adds -- the
 * shape of the forward kernel.
 *
 * Each chunk of output rows (the rows of every image, image after image;
 * few enough that no work-item loops past a driver's trip limit) writes its
 * own partial sums, laid out
 * [group][j][chunk][outs_padded]; conv2d_reduce_weight_partials (conv2d.cl)
 * adds them in chunk order (the same bits every run) into dw. */
#include "common.h"
#include "conv2d_geometry.h"

/* Vectors of VW output channels per work-item. */
#ifndef KV
#define KV 2
#endif
/* Input channels per work-item (divides the input channels per group). */
#ifndef CT
#define CT 1
#endif
/* Rows of taps per work-item (divides KH); every column of taps. */
#ifndef RT
#define RT 3
#endif

#include "conv2d_vector.h"

/* Global ids (tile of CT input channels x RT tap rows, group * out_tiles +
 * output-channel tile, chunk). xp [N, groups * ins, padded_h, padded_w] with
 * padded_h >= (out_h - 1) * SH + DH * (KH - 1) + 1 and padded_w >=
 * (out_w - 1) * SW + DW * (KW - 1) + 1;
 * partial [groups, ins * KH * KW, chunks, outs_padded]; rows = N * out_h. */
__kernel void conv2d_bwd_weights_direct(__global const float *xp, __global const float *dyt,
                                        __global float *partial, int ins, int outs_padded,
                                        int groups, int padded_h, int padded_w, int out_h,
                                        int out_w, int chunk_rows, int chunks, int rows) {
    const int taps = KH * KW, count_j = ins * taps, row_blocks = KH / RT;
    const int tiles = ins / CT * row_blocks, out_tiles = outs_padded / (VW * KV);
    const int tile = get_global_id(0), tile_id = get_global_id(1), chunk = get_global_id(2);
    if (tile >= tiles || tile_id >= groups * out_tiles || chunk >= chunks)
        return;
    const int c_tile = tile / row_blocks, r0 = (tile - c_tile * row_blocks) * RT;
    const int c0 = c_tile * CT;
    const int group = tile_id / out_tiles, k0 = (tile_id - group * out_tiles) * (VW * KV);
    const int plane = padded_h * padded_w, positions = out_h * out_w;

    floatv acc[CT][RT][KW][KV];
#pragma unroll
    for (int ci = 0; ci < CT; ci++)
#pragma unroll
        for (int ri = 0; ri < RT; ri++)
#pragma unroll
            for (int s = 0; s < KW; s++)
#pragma unroll
                for (int v = 0; v < KV; v++)
                    acc[ci][ri][s][v] = (floatv)(0.0f);

    const int first = chunk * chunk_rows, last = min(first + chunk_rows, rows);
    for (int row = first; row < last; row++) {
        const int n = row / out_h, oh = row - n * out_h;
        __global const float *grad =
            dyt + ((n * groups + group) * positions + oh * out_w) * outs_padded + k0;
        /* Advanced by SW elements per position: the loads below sit at
         * loop-invariant offsets from it. */
        __global const float *at =
            xp + ((n * groups + group) * ins + c0) * plane + (r0 * DH + oh * SH) * padded_w;
        for (int ow = 0; ow < out_w; ow++, at += SW) {
            floatv g[KV];
#pragma unroll
            for (int v = 0; v < KV; v++)
                g[v] = LOADV(grad + v * VW);
            grad += outs_padded;
#pragma unroll
            for (int ci = 0; ci < CT; ci++)
#pragma unroll
                for (int ri = 0; ri < RT; ri++)
#pragma unroll
                    for (int s = 0; s < KW; s++) {
                        const floatv value = (floatv)(at[ci * plane + ri * DH * padded_w + s * DW]);
#pragma unroll
                        for (int v = 0; v < KV; v++)
                            acc[ci][ri][s][v] = fma(value, g[v], acc[ci][ri][s][v]);
                    }
        }
    }

    /* partial[group][j][chunk][k]: the chunks of one (group, j) together. */
    __global float *slice = partial + (group * count_j * chunks + chunk) * outs_padded + k0;
#pragma unroll
    for (int ci = 0; ci < CT; ci++)
#pragma unroll
        for (int ri = 0; ri < RT; ri++)
#pragma unroll
            for (int s = 0; s < KW; s++) {
                const int j = (c0 + ci) * taps + (r0 + ri) * KW + s;
#pragma unroll
                for (int v = 0; v < KV; v++)
                    STOREV(acc[ci][ri][s][v], slice + j * chunks * outs_padded + v * VW);
            }
}
