/* conv2d kernels that accept every parameter combination (stride, padding,
 * dilation, groups, any kernel size), plus the helpers the faster paths
 * share: zero padding of an activation, weight packing, the reduction of
 * per-chunk partial weight gradients and the bias gradient.
 *
 * Layouts: x [N, C, H, W], w [K, C/groups, KH, KW], y [N, K, HO, WO].
 * Every size arrives as an int argument; the host checks that every index
 * fits in 31 bits. Remainders are written a - (a / b) * b in every conv2d
 * kernel: Oclgrind cannot simulate the `freeze` instruction LLVM emits when
 * it pairs a / b with a % b. The general kernels are plain loops with bounds checks:
 * one work-item computes GW neighbouring outputs of one row. */
#include "common.h"

/* Outputs along a row per work-item of the general kernels: several on CPUs
 * (fewer, longer work-items), one on GPUs (neighbouring work-items then read
 * neighbouring addresses). */
#ifndef GW
#define GW 8
#endif

/* The shape of one convolution, as kernel arguments (see conv2d_general.c
 * for the order the host sets them in). */
#define CONV2D_GEOMETRY                                                                           \
    int batch, int channels, int height, int width, int out_channels, int kernel_h, int kernel_w, \
        int out_h, int out_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h,   \
        int dilation_w, int group_in, int group_out

/* y[n, k, oh, ow0 .. ow0+GW-1] for global ids (oh * row_chunks + chunk, k, n),
 * summed over the input channels [c_begin, c_end) of the group: the launch
 * from channel 0 writes its sum plus the bias, later ones add theirs (the
 * host splits the channels where a driver caps a work-item's loop trips). */
__kernel void conv2d_fwd_general(__global const float *x, __global const float *w,
                                 __global const float *bias, int has_bias, __global float *y,
                                 int c_begin, int c_end, CONV2D_GEOMETRY) {
    const int row_chunks = (out_w + GW - 1) / GW;
    const int id = get_global_id(0), k = get_global_id(1), n = get_global_id(2);
    if (id >= out_h * row_chunks || k >= out_channels || n >= batch)
        return;
    const int oh = id / row_chunks, ow0 = (id - oh * row_chunks) * GW;
    const int group = k / group_out;
    float acc[GW];
    for (int l = 0; l < GW; l++)
        acc[l] = 0.0f;
    for (int c = c_begin; c < c_end; c++) {
        __global const float *plane = x + ((n * channels + group * group_in + c) * height) * width;
        __global const float *taps = w + (k * group_in + c) * kernel_h * kernel_w;
        for (int r = 0; r < kernel_h; r++) {
            const int ih = oh * stride_h - pad_h + r * dilation_h;
            if (ih < 0 || ih >= height)
                continue;
            __global const float *row = plane + ih * width;
            for (int s = 0; s < kernel_w; s++) {
                const float tap = taps[r * kernel_w + s];
                const int iw0 = ow0 * stride_w - pad_w + s * dilation_w;
                for (int l = 0; l < GW; l++) {
                    const int iw = iw0 + l * stride_w;
                    if (iw >= 0 && iw < width)
                        acc[l] = fma(tap, row[iw], acc[l]);
                }
            }
        }
    }
    const float b = has_bias ? bias[k] : 0.0f;
    __global float *out = y + ((n * out_channels + k) * out_h + oh) * out_w;
    for (int l = 0; l < GW; l++)
        if (ow0 + l < out_w)
            out[ow0 + l] = c_begin > 0 ? out[ow0 + l] + acc[l] : acc[l] + b;
}

/* dx[n, c, ih, iw0 .. iw0+GW-1] for global ids (ih * row_chunks + chunk, c,
 * n): the sum over every (k, r, s) whose output position lands on the input
 * position, i.e. (ih + pad - r * dilation) divisible by the stride, for the
 * output channels [j_begin, j_end) of the group (split as in
 * conv2d_fwd_general; accumulate is set for every launch after the first). */
__kernel void conv2d_bwd_data_general(__global const float *dy, __global const float *w,
                                      __global float *dx, int accumulate, int j_begin, int j_end,
                                      CONV2D_GEOMETRY) {
    const int row_chunks = (width + GW - 1) / GW;
    const int id = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (id >= height * row_chunks || c >= channels || n >= batch)
        return;
    const int ih = id / row_chunks, iw0 = (id - ih * row_chunks) * GW;
    const int group = c / group_in, c_in_group = c - group * group_in;
    float acc[GW];
    for (int l = 0; l < GW; l++)
        acc[l] = 0.0f;
    for (int j = j_begin; j < j_end; j++) {
        const int k = group * group_out + j;
        __global const float *plane = dy + (n * out_channels + k) * out_h * out_w;
        __global const float *taps = w + (k * group_in + c_in_group) * kernel_h * kernel_w;
        for (int r = 0; r < kernel_h; r++) {
            const int oh_scaled = ih + pad_h - r * dilation_h;
            const int oh = oh_scaled / stride_h;
            if (oh_scaled < 0 || oh * stride_h != oh_scaled || oh >= out_h)
                continue;
            __global const float *row = plane + oh * out_w;
            for (int s = 0; s < kernel_w; s++) {
                const float tap = taps[r * kernel_w + s];
                for (int l = 0; l < GW; l++) {
                    const int ow_scaled = iw0 + l + pad_w - s * dilation_w;
                    const int ow = ow_scaled / stride_w;
                    if (ow_scaled >= 0 && ow * stride_w == ow_scaled && ow < out_w)
                        acc[l] = fma(tap, row[ow], acc[l]);
                }
            }
        }
    }
    __global float *out = dx + ((n * channels + c) * height + ih) * width;
    for (int l = 0; l < GW; l++)
        if (iw0 + l < width)
            out[iw0 + l] = accumulate ? out[iw0 + l] + acc[l] : acc[l];
}

/* dw[k, c, r, s] for global id ((k * group_in + c) * kernel_h + r) * kernel_w
 * + s: the sum over n, oh, ow of dy * x, in that order. The output rows of
 * all images (n * out_h + oh) come in chunks of chunk_rows, global id 1:
 * with one chunk the sum goes to dw (added when accumulate), with several
 * each chunk's partial sum goes to dw[chunk * count + id] for
 * conv2d_reduce_partials (a driver may cap a work-item's loop trips). */
__kernel void conv2d_bwd_weights_general(__global const float *x, __global const float *dy,
                                         __global float *dw, int accumulate, int chunk_rows,
                                         int chunks, CONV2D_GEOMETRY) {
    const int count = out_channels * group_in * kernel_h * kernel_w;
    const int id = get_global_id(0), chunk = get_global_id(1);
    if (id >= count || chunk >= chunks)
        return;
    const int id_r = id / kernel_w, s = id - id_r * kernel_w;
    const int id_c = id_r / kernel_h, r = id_r - id_c * kernel_h;
    const int k = id_c / group_in, c_in_group = id_c - k * group_in;
    const int c = (k / group_out) * group_in + c_in_group;
    const int first = chunk * chunk_rows, last = min(first + chunk_rows, batch * out_h);
    float acc = 0.0f;
    for (int flat_row = first; flat_row < last; flat_row++) {
        const int n = flat_row / out_h, oh = flat_row - n * out_h;
        const int ih = oh * stride_h - pad_h + r * dilation_h;
        if (ih < 0 || ih >= height)
            continue;
        __global const float *row = x + ((n * channels + c) * height + ih) * width;
        __global const float *grad_row = dy + ((n * out_channels + k) * out_h + oh) * out_w;
        for (int ow = 0; ow < out_w; ow++) {
            const int iw = ow * stride_w - pad_w + s * dilation_w;
            if (iw >= 0 && iw < width)
                acc = fma(grad_row[ow], row[iw], acc);
        }
    }
    if (chunks > 1)
        dw[chunk * count + id] = acc;
    else
        dw[id] = accumulate ? dw[id] + acc : acc;
}

/* Writes a bias gradient's sum for channel k: to db (added when accumulate)
 * with one chunk, else to the chunk's partial db[chunk * out_channels + k]. */
void conv2d_store_bias_sum(__global float *db, int k, int out_channels, int chunk, int chunks,
                           int accumulate, float sum) {
    if (chunks > 1)
        db[chunk * out_channels + k] = sum;
    else
        db[k] = accumulate ? db[k] + sum : sum;
}

/* db[k] (+)= the sum over n and positions of dy[n, k]; one work-item per
 * output channel, the positions of each image summed in 8 interleaved lanes
 * (a fixed order) then added together. The images' positions, flat index
 * n * plane_size + i, come in chunks of chunk_len (global id 1), written as
 * conv2d_store_bias_sum says: a chunk may start or end inside an image. */
__kernel void conv2d_bias_grad(__global const float *dy, __global float *db, int accumulate,
                               int batch, int out_channels, int plane_size, int chunk_len,
                               int chunks) {
    const int k = get_global_id(0), chunk = get_global_id(1);
    if (k >= out_channels || chunk >= chunks)
        return;
    float8 lanes = (float8)(0.0f);
    float tail = 0.0f;
    const int first = chunk * chunk_len, last = min(first + chunk_len, batch * plane_size);
    for (int n = first / plane_size; n * plane_size < last; n++) {
        __global const float *plane = dy + (n * out_channels + k) * plane_size;
        const int begin = max(first - n * plane_size, 0);
        const int end = min(last - n * plane_size, plane_size);
        const int whole = begin + (end - begin) / 8 * 8;
        for (int i = begin; i < whole; i += 8)
            lanes += vload8(0, plane + i);
        for (int i = whole; i < end; i++)
            tail += plane[i];
    }
    /* Lanes added through a private array: a horizontal vector sum would
     * compile to shuffles with undefined lanes, which crash Oclgrind's
     * uninitialised-value checker. */
    float parts[8];
    vstore8(lanes, 0, parts);
    float sum = tail;
    for (int l = 0; l < 8; l++)
        sum += parts[l];
    conv2d_store_bias_sum(db, k, out_channels, chunk, chunks, accumulate, sum);
}

/* Work-items per work-group of conv2d_bias_grad_groups (a power of two). */
#ifndef BIAS_WG
#define BIAS_WG 64
#endif

/* db[k] (+)= the sum of dy[:, k] for GPUs: one work-group per output
 * channel and chunk (group ids k, chunk; chunks as in conv2d_bias_grad);
 * neighbouring work-items read neighbouring elements, then a tree in local
 * memory adds the work-items' sums (a fixed order). */
__kernel __attribute__((reqd_work_group_size(BIAS_WG, 1, 1))) void
conv2d_bias_grad_groups(__global const float *dy, __global float *db, int accumulate, int batch,
                        int out_channels, int plane_size, int chunk_len, int chunks) {
    __local float sums[BIAS_WG];
    const int k = get_group_id(0), chunk = get_group_id(1), lid = get_local_id(0);
    const int first = chunk * chunk_len, last = min(first + chunk_len, batch * plane_size);
    float sum = 0.0f;
    for (int n = first / plane_size; n * plane_size < last; n++) {
        __global const float *plane = dy + (n * out_channels + k) * plane_size;
        const int end = min(last - n * plane_size, plane_size);
        for (int i = max(first - n * plane_size, 0) + lid; i < end; i += BIAS_WG)
            sum += plane[i];
    }
    sums[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = BIAS_WG / 2; width > 0; width /= 2) {
        if (lid < width)
            sums[lid] += sums[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        conv2d_store_bias_sum(db, k, out_channels, chunk, chunks, accumulate, sums[0]);
}

/* dst[plane, row, col] for a [planes, dst_h, dst_w] copy of src [planes, h,
 * w] placed at (top, left), zero elsewhere. One work-item per
 * destination row. */
__kernel void conv2d_pad(__global const float *src, __global float *dst, int planes, int height,
                         int width, int dst_h, int dst_w, int top, int left) {
    const int id = get_global_id(0);
    if (id >= planes * dst_h)
        return;
    const int plane = id / dst_h, row = id - plane * dst_h - top;
    __global float *out = dst + id * dst_w;
    if (row < 0 || row >= height) {
        for (int j = 0; j < dst_w; j++)
            out[j] = 0.0f;
        return;
    }
    __global const float *in = src + (plane * height + row) * width;
    const int right = min(left + width, dst_w);
    for (int j = 0; j < left; j++)
        out[j] = 0.0f;
    for (int j = left; j < right; j++)
        out[j] = in[j - left];
    for (int j = right; j < dst_w; j++)
        out[j] = 0.0f;
}

/* Where element `id` of packed weights [groups][tiles][ins][taps][tile]
 * (tiles of `tile` output channels, the layout of both pack kernels)
 * belongs; o, the output channel in the group, is >= outs in the last
 * tile's padding. */
typedef struct conv2d_packed_at {
    int id, group, i, tap, o;
} conv2d_packed_at;

/* This work-item's element of packed weights; 0 past the end. Written
 * through *at: Oclgrind cannot run inlined helpers that return structs. */
int conv2d_packed_at_of(int groups, int outs, int ins, int taps, int tile, conv2d_packed_at *at) {
    const int id = get_global_id(0);
    const int tiles = (outs + tile - 1) / tile;
    if (id >= groups * tiles * ins * taps * tile)
        return 0;
    const int id_tap = id / tile, id_i = id_tap / taps, id_t = id_i / ins;
    const int j = id - id_tap * tile;
    at->id = id;
    at->tap = id_tap - id_i * taps;
    at->i = id_i - id_t * ins;
    at->group = id_t / tiles;
    at->o = (id_t - at->group * tiles) * tile + j;
    return 1;
}

/* Packs weights into tiles of `tile` output channels, tap-major:
 * packed[group][t][i][r][s][j] = weight of output channel t*tile + j and
 * input channel i of that group at tap (r, s), zero past the last output
 * channel. transpose = 0 reads w as given (out = K/groups, in = C/groups);
 * transpose = 1 reads the flipped, transposed weights of the convolution
 * that computes backward data (out = C/groups, in = K/groups, tap (r, s) of
 * the packed kernel is tap (KH-1-r, KW-1-s) of w). */
__kernel void conv2d_pack_weights(__global const float *w, __global float *packed, int groups,
                                  int outs, int ins, int kernel_h, int kernel_w, int tile,
                                  int transpose) {
    const int taps = kernel_h * kernel_w;
    conv2d_packed_at at;
    if (!conv2d_packed_at_of(groups, outs, ins, taps, tile, &at))
        return;
    float value = 0.0f;
    if (at.o < outs) {
        if (transpose)
            value = w[((at.group * ins + at.i) * outs + at.o) * taps + (taps - 1 - at.tap)];
        else
            value = w[((at.group * outs + at.o) * ins + at.i) * taps + at.tap];
    }
    packed[at.id] = value;
}

/* Packs the weights of one phase of a strided convolution's backward data
 * like conv2d_pack_weights with transpose (ins = K/groups, outs =
 * C/groups): packed[group][t][i][u][v][j] = w[group * ins + i][t * tile +
 * j][r_last - u * step_h][s_last - v * step_w] for u < taps_h, v <
 * taps_w: the taps of that phase, flipped. */
__kernel void conv2d_pack_phase_weights(__global const float *w, __global float *packed, int groups,
                                        int outs, int ins, int kernel_h, int kernel_w, int taps_h,
                                        int taps_w, int r_last, int s_last, int step_h, int step_w,
                                        int tile) {
    conv2d_packed_at at;
    if (!conv2d_packed_at_of(groups, outs, ins, taps_h * taps_w, tile, &at))
        return;
    const int u = at.tap / taps_w, v = at.tap - u * taps_w;
    float value = 0.0f;
    if (at.o < outs) {
        const int r = r_last - u * step_h, s = s_last - v * step_w;
        value = w[(((at.group * ins + at.i) * outs + at.o) * kernel_h + r) * kernel_w + s];
    }
    packed[at.id] = value;
}

/* out[i] (+)= the sum over chunks of partial[chunk, i], chunk 0 first. */
__kernel void conv2d_reduce_partials(__global const float *partial, __global float *out, int count,
                                     int chunks, int accumulate) {
    const int i = get_global_id(0);
    if (i >= count)
        return;
    float sum = partial[i];
    for (int chunk = 1; chunk < chunks; chunk++)
        sum += partial[chunk * count + i];
    out[i] = accumulate ? out[i] + sum : sum;
}

/* dyt[n][group][p][kk] = dy[n][group * outs + kk][p] for kk < outs, zero up
 * to outs_padded (a multiple of 4): dy in pixel-major order per group, for
 * the direct weight gradient. Global ids (block of 4 positions, n * groups +
 * group). Moves 4 x 4 blocks: four row loads, a transpose in registers, four
 * row stores (no gathers or scatters). */
__kernel void conv2d_transpose_grad(__global const float *dy, __global float *dyt, int batch,
                                    int groups, int outs, int outs_padded, int positions) {
    const int p0 = get_global_id(0) * 4, image_group = get_global_id(1);
    if (p0 >= positions || image_group >= batch * groups)
        return;
    __global const float *src = dy + image_group * outs * positions + p0;
    __global float *dst = dyt + (image_group * positions + p0) * outs_padded;
    if (p0 + 4 <= positions) {
        for (int kk = 0; kk < outs_padded; kk += 4) {
            /* The block goes through a private array: vector literals of
             * lanes of other vectors compile to shuffles with undefined
             * lanes, which crash Oclgrind's uninitialised-value checker. */
            float block[16];
            for (int i = 0; i < 4; i++)
                vstore4(kk + i < outs ? vload4(0, src + (kk + i) * positions) : (float4)(0.0f), i,
                        block);
            for (int l = 0; l < 4; l++)
                vstore4((float4)(block[l], block[4 + l], block[8 + l], block[12 + l]), 0,
                        dst + l * outs_padded + kk);
        }
    } else {
        for (int l = 0; l < positions - p0; l++)
            for (int kk = 0; kk < outs_padded; kk++)
                dst[l * outs_padded + kk] = kk < outs ? src[kk * positions + l] : 0.0f;
    }
}

/* dw[group * outs + kk][j] (+)= the sum over chunks (chunk 0 first) of
 * partial[group][j][chunk][kk], the partial sums of the direct weight
 * gradient (outs_padded a multiple of 4). One work-item per (group, j):
 * its partial sums are one contiguous block. */
__kernel void conv2d_reduce_weight_partials(__global const float *partial, __global float *dw,
                                            int groups, int outs, int outs_padded, int count_j,
                                            int chunks, int accumulate) {
    const int id = get_global_id(0);
    if (id >= groups * count_j)
        return;
    const int group = id / count_j, j = id - group * count_j;
    __global const float *src = partial + id * chunks * outs_padded;
    for (int kk0 = 0; kk0 < outs; kk0 += 4) {
        float4 sum = (float4)(0.0f);
        for (int chunk = 0; chunk < chunks; chunk++)
            sum += vload4(0, src + chunk * outs_padded + kk0);
        float lanes[4];
        vstore4(sum, 0, lanes);
        for (int l = 0; l < 4 && kk0 + l < outs; l++) {
            __global float *dst = dw + (group * outs + kk0 + l) * count_j + j;
            *dst = accumulate ? *dst + lanes[l] : lanes[l];
        }
    }
}
