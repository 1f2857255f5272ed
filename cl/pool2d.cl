/* 2-D max and average pooling over NCHW planes, forward and backward, with
 * PyTorch's window, padding and divisor rules (see src/ops/pool2d.c).
 *
 * Every kernel takes the plane count, the sizes (H, W, OH, OW) as an int4
 * and the window (kernel h/w, stride h/w, pad h/w, count_include_pad) as an
 * int8, so that one program serves every pooling configuration (POCL
 * compiles each kernel of each program again for each work-group size; a
 * per-configuration program would multiply that).
 *
 * Launch shape: a 3-D range (chunk of a row, row, plane), so that no
 * work-item divides to find its place; the global size may be rounded up
 * past every dimension. The generic kernels give each work-item OW_CHUNK
 * consecutive outputs of one output row (forward) or IW_CHUNK consecutive
 * elements of one input row (backward): CPUs take long chunks, GPUs one
 * element. Backward gathers: a work-item visits every window that covers
 * its elements and only writes its own elements, so overlapping windows
 * need no atomics and always sum in the same (row-major window) order.
 * Coordinates inside a plane are ints (the host checks that H * W fits);
 * plane offsets are size_t. */
#include "common.h"

/* Outputs per work-item in the generic forward kernels, inputs per
 * work-item in the generic backward kernels (consecutive, in one row). */
#ifndef OW_CHUNK
#define OW_CHUNK 1
#endif
#ifndef IW_CHUNK
#define IW_CHUNK 1
#endif

typedef struct pool_shape {
    int H, W, OH, OW;
    int KH, KW, SH, SW, PH, PW;
    int count_include_pad;
} pool_shape;

static pool_shape unpack(int4 sizes, int8 window) {
    pool_shape p;
    p.H = sizes.s0;
    p.W = sizes.s1;
    p.OH = sizes.s2;
    p.OW = sizes.s3;
    p.KH = window.s0;
    p.KW = window.s1;
    p.SH = window.s2;
    p.SW = window.s3;
    p.PH = window.s4;
    p.PW = window.s5;
    p.count_include_pad = window.s6;
    return p;
}

/* First window (along one axis) that covers input index i. */
static int first_window(int i, int pad, int size, int stride) {
    const int reach = i + pad - size + 1;
    return reach <= 0 ? 0 : (reach + stride - 1) / stride;
}

/* Last window that starts at or before input index i (clamp to the output
 * size at the call site). */
static int last_window(int i, int pad, int stride) {
    return (i + pad) / stride;
}

/* PyTorch's average-pool divisor for the window whose top-left corner (in
 * unpadded coordinates) is (h0, w0): the window is first clipped to the
 * padded input, then, without count_include_pad, to the input itself. */
static float avg_divisor(const pool_shape *p, int h0, int w0) {
    const int h1 = min(h0 + p->KH, p->H + p->PH);
    const int w1 = min(w0 + p->KW, p->W + p->PW);
    if (p->count_include_pad)
        return (float)((h1 - h0) * (w1 - w0));
    return (float)((min(h1, p->H) - max(h0, 0)) * (min(w1, p->W) - max(w0, 0)));
}

/* Row and column of the first maximum in row-major order of the window at
 * (h0, w0); a NaN replaces the running maximum (PyTorch's rule). */
static void window_argmax(const pool_shape *p, __global const float *plane, int h0, int w0,
                          int *best_h, int *best_w) {
    float best = 0.0f;
    int found = 0;
    const int h_end = min(h0 + p->KH, p->H), w_end = min(w0 + p->KW, p->W);
    for (int ih = max(h0, 0); ih < h_end; ih++) {
        for (int iw = max(w0, 0); iw < w_end; iw++) {
            const float v = plane[ih * p->W + iw];
            if (!found || v > best || isnan(v)) {
                best = v;
                *best_h = ih;
                *best_w = iw;
                found = 1;
            }
        }
    }
}

/* y[plane, oh, ow] for the OW_CHUNK outputs of this work-item. */
static void forward_chunk(uint planes, const pool_shape *p, __global const float *x,
                          __global float *y, int is_max) {
    const int ow_begin = (int)get_global_id(0) * OW_CHUNK;
    const int oh = (int)get_global_id(1);
    const size_t plane_index = get_global_id(2);
    if (ow_begin >= p->OW || oh >= p->OH || plane_index >= planes)
        return;
    const int ow_end = min(ow_begin + OW_CHUNK, p->OW);
    const int h0 = oh * p->SH - p->PH;
    const int h_begin = max(h0, 0), h_end = min(h0 + p->KH, p->H);
    __global const float *plane = x + plane_index * (size_t)p->H * (size_t)p->W;
    __global float *out = y + (plane_index * (size_t)p->OH + (size_t)oh) * (size_t)p->OW;
    for (int ow = ow_begin; ow < ow_end; ow++) {
        const int w0 = ow * p->SW - p->PW;
        const int w_begin = max(w0, 0), w_end = min(w0 + p->KW, p->W);
        float acc = is_max ? -INFINITY : 0.0f;
        for (int ih = h_begin; ih < h_end; ih++) {
            for (int iw = w_begin; iw < w_end; iw++) {
                const float v = plane[ih * p->W + iw];
                if (is_max)
                    acc = (v > acc || isnan(v)) ? v : acc;
                else
                    acc += v;
            }
        }
        out[ow] = is_max ? acc : acc / avg_divisor(p, h0, w0);
    }
}

__kernel void pool2d_max_forward(uint planes, int4 sizes, int8 window, __global const float *x,
                                 __global float *y) {
    const pool_shape p = unpack(sizes, window);
    forward_chunk(planes, &p, x, y, 1);
}

__kernel void pool2d_avg_forward(uint planes, int4 sizes, int8 window, __global const float *x,
                                 __global float *y) {
    const pool_shape p = unpack(sizes, window);
    forward_chunk(planes, &p, x, y, 0);
}

/* The IW_CHUNK input elements [iw_begin, iw_end) of row ih of a plane
 * whose dx one work-item of the backward kernels computes, with that
 * plane's dy and the row's dx. */
typedef struct dx_chunk {
    int iw_begin, iw_end, ih;
    size_t plane;
    __global const float *grad;
    __global float *out;
} dx_chunk;

/* This work-item's chunk; 0 when it lies past the tensor. */
static int dx_chunk_of(const pool_shape *p, uint planes, __global const float *dy,
                       __global float *dx, dx_chunk *chunk) {
    chunk->iw_begin = (int)get_global_id(0) * IW_CHUNK;
    chunk->ih = (int)get_global_id(1);
    chunk->plane = get_global_id(2);
    if (chunk->iw_begin >= p->W || chunk->ih >= p->H || chunk->plane >= planes)
        return 0;
    chunk->iw_end = min(chunk->iw_begin + IW_CHUNK, p->W);
    chunk->grad = dy + chunk->plane * (size_t)p->OH * (size_t)p->OW;
    chunk->out = dx + (chunk->plane * (size_t)p->H + (size_t)chunk->ih) * (size_t)p->W;
    return 1;
}

/* dx for the IW_CHUNK input elements of this work-item. Each window
 * covering them recomputes its first maximum from x and hands its dy over
 * when that maximum is one of this work-item's elements. */
__kernel void pool2d_max_backward(uint planes, int4 sizes, int8 window, int accumulate,
                                  __global const float *x, __global const float *dy,
                                  __global float *dx) {
    const pool_shape p = unpack(sizes, window);
    dx_chunk d;
    if (!dx_chunk_of(&p, planes, dy, dx, &d))
        return;
    const int iw_begin = d.iw_begin, iw_end = d.iw_end, ih = d.ih;
    __global const float *plane = x + d.plane * (size_t)p.H * (size_t)p.W;

    float acc[IW_CHUNK];
    for (int i = 0; i < IW_CHUNK; i++)
        acc[i] = 0.0f;
    const int oh_end = min(last_window(ih, p.PH, p.SH) + 1, p.OH);
    const int ow_first = first_window(iw_begin, p.PW, p.KW, p.SW);
    const int ow_end = min(last_window(iw_end - 1, p.PW, p.SW) + 1, p.OW);
    for (int oh = first_window(ih, p.PH, p.KH, p.SH); oh < oh_end; oh++) {
        for (int ow = ow_first; ow < ow_end; ow++) {
            int best_h = -1, best_w = -1;
            window_argmax(&p, plane, oh * p.SH - p.PH, ow * p.SW - p.PW, &best_h, &best_w);
            if (best_h == ih && best_w >= iw_begin && best_w < iw_end)
                acc[best_w - iw_begin] += d.grad[oh * p.OW + ow];
        }
    }
    for (int iw = iw_begin; iw < iw_end; iw++)
        d.out[iw] = accumulate ? d.out[iw] + acc[iw - iw_begin] : acc[iw - iw_begin];
}

/* dx[ih, iw] = sum over the windows covering it of dy / divisor. */
__kernel void pool2d_avg_backward(uint planes, int4 sizes, int8 window, int accumulate,
                                  __global const float *dy, __global float *dx) {
    const pool_shape p = unpack(sizes, window);
    dx_chunk d;
    if (!dx_chunk_of(&p, planes, dy, dx, &d))
        return;
    const int ih = d.ih;
    __global const float *grad = d.grad;
    __global float *out = d.out;
    const int oh_first = first_window(ih, p.PH, p.KH, p.SH);
    const int oh_end = min(last_window(ih, p.PH, p.SH) + 1, p.OH);
    for (int iw = d.iw_begin; iw < d.iw_end; iw++) {
        const int ow_end = min(last_window(iw, p.PW, p.SW) + 1, p.OW);
        float sum = 0.0f;
        for (int oh = oh_first; oh < oh_end; oh++)
            for (int ow = first_window(iw, p.PW, p.KW, p.SW); ow < ow_end; ow++)
                sum += grad[oh * p.OW + ow] / avg_divisor(&p, oh * p.SH - p.PH, ow * p.SW - p.PW);
        out[iw] = accumulate ? out[iw] + sum : sum;
    }
}

/* ---------------------------------------------------------------------------
 * 2x2 windows, stride 2, no padding (the common case) on CPUs: one work-item
 * per output row, 8, then 4, then 2 windows at a time from vector loads of
 * the two input rows (.even/.odd split the window columns), so at most one
 * window of a row takes the scalar code; so do windows that the ceil mode
 * clips at the right or bottom edge. Windows do not overlap, so backward
 * writes each window's four elements itself; the work-item of an output row
 * also writes the columns right of its last window, and that of the last
 * output row the input rows below it (zero gradient). The host launches
 * these only for 2x2 windows of stride 2 without padding. */
/* The output row oh that one work-item of the 2x2 kernels takes: outputs
 * at row * OW in y (dy), its two input rows at r0 and r0 + W in x (dx), the
 * plane at plane_offset. The vector steps take its first `full` windows,
 * those inside the input (none when the bottom edge clips the row). */
typedef struct row_2x2 {
    int oh, full;
    size_t row, plane_offset, r0;
} row_2x2;

/* This work-item's row; 0 when it lies past the tensor. */
static int row_2x2_of(const pool_shape *p, uint planes, row_2x2 *r) {
    r->oh = (int)get_global_id(1);
    const size_t plane_index = get_global_id(2);
    if (r->oh >= p->OH || plane_index >= planes)
        return 0;
    r->row = plane_index * (size_t)p->OH + (size_t)r->oh;
    r->plane_offset = plane_index * (size_t)p->H * (size_t)p->W;
    r->r0 = r->plane_offset + (size_t)(2 * r->oh) * (size_t)p->W;
    r->full = 2 * r->oh + 1 < p->H ? min(p->OW, p->W / 2) : 0;
    return 1;
}

/* Forward for N windows from 2N-wide loads at column 2 * ow. The maximum
 * follows PyTorch's scan: a later element replaces it when larger or NaN. */
#define FORWARD_2X2_STEP(N, N2)                                                       \
    for (; ow + N <= full; ow += N) {                                                 \
        const float##N2 a = vload##N2(0, r0 + 2 * ow), b = vload##N2(0, r1 + 2 * ow); \
        float##N v;                                                                   \
        if (is_max) {                                                                 \
            v = a.even;                                                               \
            v = select(v, a.odd, isgreater(a.odd, v) | isnan(a.odd));                 \
            v = select(v, b.even, isgreater(b.even, v) | isnan(b.even));              \
            v = select(v, b.odd, isgreater(b.odd, v) | isnan(b.odd));                 \
        } else {                                                                      \
            v = (((a.even + a.odd) + b.even) + b.odd) / 4.0f;                         \
        }                                                                             \
        vstore##N(v, 0, out + ow);                                                    \
    }

__kernel void pool2d_forward_2x2(uint planes, int4 sizes, int8 window, int is_max,
                                 __global const float *x, __global float *y) {
    const pool_shape p = unpack(sizes, window);
    const int H = p.H, W = p.W, OW = p.OW;
    row_2x2 r;
    if (!row_2x2_of(&p, planes, &r))
        return;
    const int oh = r.oh;
    __global const float *plane = x + r.plane_offset;
    __global const float *r0 = x + r.r0;
    __global const float *r1 = r0 + W;
    __global float *out = y + r.row * (size_t)OW;
    const int full = r.full;
    int ow = 0;
    FORWARD_2X2_STEP(8, 16)
    FORWARD_2X2_STEP(4, 8)
    FORWARD_2X2_STEP(2, 4)
    /* Remaining and clipped windows (K = S = 2, P = 0 here). */
    for (; ow < OW; ow++) {
        float acc = is_max ? -INFINITY : 0.0f;
        for (int ih = 2 * oh; ih < min(2 * oh + 2, H); ih++)
            for (int iw = 2 * ow; iw < min(2 * ow + 2, W); iw++) {
                const float v = plane[ih * W + iw];
                acc = is_max ? ((v > acc || isnan(v)) ? v : acc) : acc + v;
            }
        out[ow] = is_max ? acc : acc / avg_divisor(&p, 2 * oh, 2 * ow);
    }
}

/* Backward for N windows: the gradient goes to the first maximum in the
 * order a.even, a.odd, b.even, b.odd (max pool) or a quarter to each. */
#define BACKWARD_2X2_STEP(N, N2)                                                                  \
    for (; ow + N <= full; ow += N) {                                                             \
        const float##N g = vload##N(0, grad + ow);                                                \
        float##N2 d0, d1;                                                                         \
        if (is_max) {                                                                             \
            const float##N2 a = vload##N2(0, x + r0 + 2 * ow), b = vload##N2(0, x + r1 + 2 * ow); \
            float##N best = a.even;                                                               \
            int##N at = (int##N)(0);                                                              \
            int##N take = isgreater(a.odd, best) | isnan(a.odd);                                  \
            best = select(best, a.odd, take);                                                     \
            at = select(at, (int##N)(1), take);                                                   \
            take = isgreater(b.even, best) | isnan(b.even);                                       \
            best = select(best, b.even, take);                                                    \
            at = select(at, (int##N)(2), take);                                                   \
            take = isgreater(b.odd, best) | isnan(b.odd);                                         \
            at = select(at, (int##N)(3), take);                                                   \
            const float##N zero = (float##N)(0.0f);                                               \
            d0.even = select(zero, g, at == 0);                                                   \
            d0.odd = select(zero, g, at == 1);                                                    \
            d1.even = select(zero, g, at == 2);                                                   \
            d1.odd = select(zero, g, at == 3);                                                    \
        } else {                                                                                  \
            const float##N share = g / 4.0f;                                                      \
            d0.even = share;                                                                      \
            d0.odd = share;                                                                       \
            d1 = d0;                                                                              \
        }                                                                                         \
        if (accumulate) {                                                                         \
            d0 += vload##N2(0, dx + r0 + 2 * ow);                                                 \
            d1 += vload##N2(0, dx + r1 + 2 * ow);                                                 \
        }                                                                                         \
        vstore##N2(d0, 0, dx + r0 + 2 * ow);                                                      \
        vstore##N2(d1, 0, dx + r1 + 2 * ow);                                                      \
    }

__kernel void pool2d_backward_2x2(uint planes, int4 sizes, int8 window, int is_max, int accumulate,
                                  __global const float *x, __global const float *dy,
                                  __global float *dx) {
    const pool_shape p = unpack(sizes, window);
    const int H = p.H, W = p.W, OH = p.OH, OW = p.OW;
    row_2x2 r;
    if (!row_2x2_of(&p, planes, &r))
        return;
    const int oh = r.oh;
    const size_t plane_offset = r.plane_offset, r0 = r.r0, r1 = r0 + W;
    __global const float *grad = dy + r.row * (size_t)OW;
    const int full = r.full;
    int ow = 0;
    BACKWARD_2X2_STEP(8, 16)
    BACKWARD_2X2_STEP(4, 8)
    BACKWARD_2X2_STEP(2, 4)
    /* Remaining and clipped windows: each writes its own elements. */
    const int h_end = min(2 * oh + 2, H);
    for (; ow < OW; ow++) {
        const int w_end = min(2 * ow + 2, W);
        int best_h = 2 * oh, best_w = 2 * ow;
        if (is_max)
            window_argmax(&p, x + plane_offset, 2 * oh, 2 * ow, &best_h, &best_w);
        const float g = grad[ow];
        const float share = g / avg_divisor(&p, 2 * oh, 2 * ow);
        for (int ih = 2 * oh; ih < h_end; ih++)
            for (int iw = 2 * ow; iw < w_end; iw++) {
                const float v = is_max ? ((ih == best_h && iw == best_w) ? g : 0.0f) : share;
                __global float *target = dx + plane_offset + (size_t)ih * (size_t)W + iw;
                *target = accumulate ? *target + v : v;
            }
    }
    if (accumulate)
        return;
    /* Columns right of the last window, and rows below the last window row. */
    for (int ih = 2 * oh; ih < h_end; ih++)
        for (int iw = 2 * OW; iw < W; iw++)
            dx[plane_offset + (size_t)ih * (size_t)W + iw] = 0.0f;
    if (oh == OH - 1)
        for (int ih = 2 * OH; ih < H; ih++)
            for (int iw = 0; iw < W; iw++)
                dx[plane_offset + (size_t)ih * (size_t)W + iw] = 0.0f;
}
