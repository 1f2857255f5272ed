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

/* The window tables (adaptive_avg_tables), ints in this order: for each
 * output row oh its input rows [row_start, row_end), for each output column
 * its input columns [col_start, col_end); for each input row h the output
 * rows whose windows hold it [in_row_first, in_row_end), the same for input
 * columns. The kernels below look windows up instead of dividing. */
typedef struct tables {
    __global const int *row_start, *row_end, *col_start, *col_end;
    __global const int *in_row_first, *in_row_end, *in_col_first, *in_col_end;
} tables;

static tables tables_at(__global const int *t, int height, int width, int out_h, int out_w) {
    tables r;
    r.row_start = t;
    r.row_end = r.row_start + out_h;
    r.col_start = r.row_end + out_h;
    r.col_end = r.col_start + out_w;
    r.in_row_first = r.col_end + out_w;
    r.in_row_end = r.in_row_first + height;
    r.in_col_first = r.in_row_end + height;
    r.in_col_end = r.in_col_first + width;
    return r;
}

/* Window i of `count` over `size` elements into a table pair of
 * tables_at's layout (nothing for i >= count). adaptive_avg_tables alone
 * writes the tables, hence the casts from the readers' const. */
static void store_window(__global const int *starts, __global const int *ends, int i, int size,
                         int count) {
    if (i < count) {
        ((__global int *)starts)[i] = window_start(i, size, count);
        ((__global int *)ends)[i] = window_end(i, size, count);
    }
}

/* Fills the tables: work-item i computes entry i of each (global size
 * max(out_h, out_w, height, width)). Output i holds input h iff
 * floor(h * out / in) <= i < ceil((h + 1) * out / in). */
__kernel void adaptive_avg_tables(__global int *t, int height, int width, int out_h, int out_w) {
    const int i = get_global_id(0);
    const tables r = tables_at(t, height, width, out_h, out_w);
    store_window(r.row_start, r.row_end, i, height, out_h);
    store_window(r.col_start, r.col_end, i, width, out_w);
    store_window(r.in_row_first, r.in_row_end, i, out_h, height);
    store_window(r.in_col_first, r.in_col_end, i, out_w, width);
}

/* Outputs [first_ow, first_ow + chunk) of output row oh of a plane (global
 * ids: column chunk, band * out_h + oh, plane): y = the window's mean, or
 * with bands > 1, partial[band][o] = the sum of the window's elements
 * [band * span, (band + 1) * span) in row-major order (then chunk is 1). */
__kernel void adaptive_avg_forward(__global const float *x, __global float *out,
                                   __global const int *t, uint planes, int height, int width,
                                   int out_h, int out_w, int chunk, long span, int bands) {
    const int first_ow = get_global_id(0) * chunk, id1 = get_global_id(1);
    const uint plane = get_global_id(2);
    const int band = id1 / out_h, oh = id1 - band * out_h;
    if (first_ow >= out_w || band >= bands || plane >= planes)
        return;
    const tables w = tables_at(t, height, width, out_h, out_w);
    const int h0 = w.row_start[oh], rows = w.row_end[oh] - h0;
    __global const float *x_plane = x + (ulong)plane * (ulong)height * (ulong)width;
    const ulong out_row = ((ulong)plane * (ulong)out_h + (ulong)oh) * (ulong)out_w;
    const ulong outputs = (ulong)planes * (ulong)out_h * (ulong)out_w;
    const int last_ow = min(first_ow + chunk, out_w);
    for (int ow = first_ow; ow < last_ow; ow++) {
        const int w0 = w.col_start[ow], cols = w.col_end[ow] - w0;
        __global const float *corner = x_plane + (ulong)h0 * (ulong)width + (ulong)w0;
        if (bands == 1) {
            float sum = 0.0f;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    sum += corner[r * width + c];
            out[out_row + (ulong)ow] = sum / (float)((long)rows * cols);
            continue;
        }
        const long first = band * span, last = min(first + span, (long)rows * cols);
        float sum = 0.0f;
        for (long r = first / cols; r * cols < last; r++) {
            const int begin = (int)max(first - r * cols, 0L);
            const int end = (int)min(last - r * cols, (long)cols);
            for (int c = begin; c < end; c++)
                sum += corner[(ulong)r * (ulong)width + (ulong)c];
        }
        out[(ulong)band * outputs + out_row + (ulong)ow] = sum;
    }
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

/* dx (+)= for each input, the sum over the outputs whose windows hold it
 * of dy / area, output rows outer, columns inner. Inputs [first_w, first_w
 * + chunk) of input row h of a plane (global ids: column chunk, h, plane). */
__kernel void adaptive_avg_backward(__global const float *dy, __global float *dx,
                                    __global const int *t, uint planes, int height, int width,
                                    int out_h, int out_w, int chunk, int accumulate) {
    const int first_w = get_global_id(0) * chunk, h = get_global_id(1);
    const uint plane = get_global_id(2);
    if (first_w >= width || h >= height || plane >= planes)
        return;
    const tables w = tables_at(t, height, width, out_h, out_w);
    const int oh0 = w.in_row_first[h], oh1 = w.in_row_end[h];
    __global const float *dy_plane = dy + (ulong)plane * (ulong)out_h * (ulong)out_w;
    __global float *dx_row = dx + ((ulong)plane * (ulong)height + (ulong)h) * (ulong)width;
    const int last_w = min(first_w + chunk, width);
    for (int iw = first_w; iw < last_w; iw++) {
        const int ow0 = w.in_col_first[iw], ow1 = w.in_col_end[iw];
        float g = 0.0f;
        for (int oh = oh0; oh < oh1; oh++) {
            const int rows = w.row_end[oh] - w.row_start[oh];
            __global const float *dy_row = dy_plane + (ulong)oh * (ulong)out_w;
            for (int ow = ow0; ow < ow1; ow++)
                g += dy_row[ow] / (float)((long)rows * (w.col_end[ow] - w.col_start[ow]));
        }
        dx_row[iw] = accumulate ? dx_row[iw] + g : g;
    }
}

/* Global average pooling's gradient: dx[plane][i] (+)= dy[plane] /
 * plane_size for the elements [first, first + chunk) of a plane (global
 * ids: chunk, plane). */
__kernel void adaptive_avg_global_backward(__global const float *dy, __global float *dx,
                                           uint planes, int plane_size, int chunk, int accumulate) {
    const int first = get_global_id(0) * chunk;
    const uint plane = get_global_id(1);
    if (first >= plane_size || plane >= planes)
        return;
    const float g = dy[plane] / (float)plane_size;
    __global float *values = dx + (ulong)plane * (ulong)plane_size;
    const int last = min(first + chunk, plane_size);
    for (int i = first; i < last; i++)
        values[i] = accumulate ? values[i] + g : g;
}
