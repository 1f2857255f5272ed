/* Adaptive average pooling over NCHW planes, forward and backward (see
 * src/ops/adaptive_pool.c and include/clcnn/adaptive_pool.h). Output i of
 * an axis of `in` inputs and `out` outputs averages the window
 * [floor(i * in / out), ceil((i + 1) * in / out)), PyTorch's
 * AdaptiveAvgPool2d.
 *
 * Sums that would take one work-item past the driver's loop-trip limit
 * (llvmpipe) are split into bands of a window's elements (row-major), each
 * band's sum stored as a partial; adaptive_avg_finish adds the partials in
 * band order and divides. Every sum runs in a fixed order: results are
 * deterministic. */
#include "common.h"

/* Work-items per work-group of adaptive_avg_global_groups (a power of
 * two). */
#ifndef GROUP
#define GROUP 64
#endif

/* The window of output i along an axis: [start, end). in, out < 2^30. */
static int window_start(int i, int in, int out) {
    return (int)(((long)i * in) / out);
}

static int window_end(int i, int in, int out) {
    return (int)(((long)(i + 1) * in + out - 1) / out);
}

/* The area of output (oh, ow)'s window, as the divisor. */
static float window_area(int oh, int ow, int height, int width, int out_h, int out_w) {
    const int rows = window_end(oh, height, out_h) - window_start(oh, height, out_h);
    const int cols = window_end(ow, width, out_w) - window_start(ow, width, out_w);
    return (float)((long)rows * cols);
}

/* a / b, with the remainder as a difference: Oclgrind cannot simulate the
 * `freeze` LLVM emits when it pairs a / b with a % b. */
static ulong divide(ulong a, ulong b, int *remainder) {
    const ulong quotient = a / b;
    *remainder = (int)(a - quotient * b);
    return quotient;
}

/* Index i of [planes, rows, cols] (plane-major) as its parts. */
static ulong plane_position(ulong i, int rows, int cols, int *row, int *col) {
    return divide(divide(i, (ulong)cols, col), (ulong)rows, row);
}

/* y[o] = the mean of output o's window, or with bands > 1, partial[band][o]
 * = the sum of the window's elements [band * span, (band + 1) * span) in
 * row-major order. Dimension 0: outputs, dimension 1: bands. */
__kernel void adaptive_avg_forward(__global const float *x, __global float *out, ulong outputs,
                                   int height, int width, int out_h, int out_w, long span,
                                   int bands) {
    const ulong o = get_global_id(0);
    const int band = get_global_id(1);
    if (o >= outputs)
        return;
    int oh, ow;
    const ulong plane = plane_position(o, out_h, out_w, &oh, &ow);
    const int h0 = window_start(oh, height, out_h), w0 = window_start(ow, width, out_w);
    const int cols = window_end(ow, width, out_w) - w0;
    const long area = (long)(window_end(oh, height, out_h) - h0) * cols;
    const long first = band * span, last = min(first + span, area);
    __global const float *x_plane = x + plane * (ulong)height * (ulong)width;
    float sum = 0.0f;
    for (long r = first / cols; r * cols < last; r++) {
        __global const float *row = x_plane + (ulong)(h0 + r) * (ulong)width + (ulong)w0;
        const int begin = (int)max(first - r * cols, 0L),
                  end = (int)min(last - r * cols, (long)cols);
        for (int c = begin; c < end; c++)
            sum += row[c];
    }
    if (bands == 1)
        out[o] = sum / (float)area;
    else
        out[(ulong)band * outputs + o] = sum;
}

/* y[o] = (partial[0][o] + ... + partial[bands - 1][o]) / the window's
 * area. One work-item per output. */
__kernel void adaptive_avg_finish(__global const float *partial, __global float *y, ulong outputs,
                                  int height, int width, int out_h, int out_w, int bands) {
    const ulong o = get_global_id(0);
    if (o >= outputs)
        return;
    int oh, ow;
    plane_position(o, out_h, out_w, &oh, &ow);
    float sum = 0.0f;
    for (int band = 0; band < bands; band++)
        sum += partial[(ulong)band * outputs + o];
    y[o] = sum / window_area(oh, ow, height, width, out_h, out_w);
}

/* Stores a plane's sum: the mean with one chunk, else the chunk's partial. */
static void store_plane_sum(__global float *out, ulong plane, ulong planes, int chunk, int chunks,
                            int plane_size, float sum) {
    if (chunks == 1)
        out[plane] = sum / (float)plane_size;
    else
        out[(ulong)chunk * planes + plane] = sum;
}

/* Global average pooling for CPUs: one work-item per plane and chunk of
 * chunk_len elements, float8 loads. Dimension 0: planes, 1: chunks. */
__kernel void adaptive_avg_global_items(__global const float *x, __global float *out, ulong planes,
                                        int plane_size, int chunk_len, int chunks) {
    const ulong plane = get_global_id(0);
    const int chunk = get_global_id(1);
    if (plane >= planes)
        return;
    const int first = chunk * chunk_len, end = min(first + chunk_len, plane_size);
    __global const float *values = x + plane * (ulong)plane_size;
    const int whole = first + (end - first) / 8 * 8;
    float8 lanes = (float8)(0.0f);
    for (int i = first; i < whole; i += 8)
        lanes += vload8(0, values + i);
    float tail = 0.0f;
    for (int i = whole; i < end; i++)
        tail += values[i];
    /* The lanes added through a private array: a horizontal vector sum
     * compiles to shuffles with undefined lanes, on which Oclgrind's
     * uninitialised-value checker crashes. */
    float parts[8];
    vstore8(lanes, 0, parts);
    float sum = tail;
    for (int l = 0; l < 8; l++)
        sum += parts[l];
    store_plane_sum(out, plane, planes, chunk, chunks, plane_size, sum);
}

/* Global average pooling for GPUs: one work-group per plane and chunk
 * (group ids), neighbouring work-items read neighbouring elements, then a
 * tree in local memory (a fixed order). */
__kernel __attribute__((reqd_work_group_size(GROUP, 1, 1))) void
adaptive_avg_global_groups(__global const float *x, __global float *out, ulong planes,
                           int plane_size, int chunk_len, int chunks) {
    __local float sums[GROUP];
    const ulong plane = get_group_id(0);
    const int chunk = get_group_id(1), lid = get_local_id(0);
    const int first = chunk * chunk_len, end = min(first + chunk_len, plane_size);
    __global const float *values = x + plane * (ulong)plane_size;
    float sum = 0.0f;
    for (int i = first + lid; i < end; i += GROUP)
        sum += values[i];
    sums[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = GROUP / 2; width > 0; width /= 2) {
        if (lid < width)
            sums[lid] += sums[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        store_plane_sum(out, plane, planes, chunk, chunks, plane_size, sums[0]);
}

/* dx[e] (+)= the sum over the outputs whose windows hold input e of
 * dy / area, in output order. One work-item per input element. */
__kernel void adaptive_avg_backward(__global const float *dy, __global float *dx, ulong inputs,
                                    int height, int width, int out_h, int out_w, int accumulate) {
    const ulong e = get_global_id(0);
    if (e >= inputs)
        return;
    int h, w;
    const ulong plane = plane_position(e, height, width, &h, &w);
    /* Output i holds input h iff floor(h * out / in) <= i < ceil((h + 1) * out / in). */
    const int oh0 = window_start(h, out_h, height), oh1 = window_end(h, out_h, height);
    const int ow0 = window_start(w, out_w, width), ow1 = window_end(w, out_w, width);
    __global const float *dy_plane = dy + plane * (ulong)out_h * (ulong)out_w;
    float g = 0.0f;
    for (int oh = oh0; oh < oh1; oh++)
        for (int ow = ow0; ow < ow1; ow++)
            g += dy_plane[(ulong)oh * (ulong)out_w + (ulong)ow] /
                 window_area(oh, ow, height, width, out_h, out_w);
    dx[e] = accumulate ? dx[e] + g : g;
}

/* Global average pooling's gradient: dx[plane][i] (+)= dy[plane] /
 * plane_size. Dimension 0: elements of a plane, 1: planes. */
__kernel void adaptive_avg_global_backward(__global const float *dy, __global float *dx,
                                           int plane_size, int accumulate) {
    const int i = get_global_id(0);
    const ulong plane = get_global_id(1);
    if (i >= plane_size)
        return;
    const ulong at = plane * (ulong)plane_size + (ulong)i;
    const float g = dy[plane] / (float)plane_size;
    dx[at] = accumulate ? dx[at] + g : g;
}
