/* Concatenation along dimension 1 (channels), forward and backward (see
 * src/ops/concat.c and include/clcnn/concat.h). Each sample of y is one
 * contiguous block of `block` elements in which part k (input k, inner
 * dimensions flattened) is the run [end[k-1], end[k]) (end[-1] = begin);
 * one launch moves up to CONCAT_PARTS parts, the run [begin, end[parts-1])
 * of every sample.
 *
 * Work: a 2-D range, dimension 1 the sample, dimension 0 chunks of
 * POINTWISE_CHUNK elements of the launch's run (pointwise.h's VEC x ITEMS).
 * A chunk inside one part is copied as vectors; one that straddles parts
 * (or the run's end) element by element. Nothing is added across parts, so
 * every element is written by one work-item and results do not depend on
 * the layout. */
#include "common.h"
#include "pointwise.h"

#define CONCAT_PARTS 8

/* The parts' ends and buffers as kernel arguments. */
#define CONCAT_ENDS \
    ulong end0, ulong end1, ulong end2, ulong end3, ulong end4, ulong end5, ulong end6, ulong end7
#define CONCAT_LIST(p) p##0, p##1, p##2, p##3, p##4, p##5, p##6, p##7

/* The part holding block position p (p < the run's end): the first whose
 * end is past it. */
static int part_of(ulong p, const ulong *ends) {
    int k = 0;
    while (k < CONCAT_PARTS - 1 && p >= ends[k])
        k++;
    return k;
}

static ulong part_begin(int k, ulong begin, const ulong *ends) {
    return k == 0 ? begin : ends[k - 1];
}

/* Where block position p of sample n stands in part k's own tensor. */
static ulong part_offset(int k, ulong begin, const ulong *ends, ulong n, ulong p) {
    const ulong b = part_begin(k, begin, ends);
    return n * (ends[k] - b) + (p - b);
}

/* One work-item's chunk: run positions [first, last) of sample n, all in
 * part k when `whole` (then moved as vectors). */
typedef struct concat_chunk {
    ulong n, first, last;
    int k, whole;
} concat_chunk;

/* This work-item's chunk; 0 past the run's end. */
static int concat_chunk_of(ulong begin, int parts, const ulong *ends, concat_chunk *c) {
    const ulong run_end = ends[parts - 1];
    c->n = get_global_id(1);
    c->first = begin + (ulong)get_global_id(0) * POINTWISE_CHUNK;
    if (c->first >= run_end)
        return 0;
    c->last = min(c->first + POINTWISE_CHUNK, run_end);
    c->k = part_of(c->first, ends);
    c->whole = c->first + POINTWISE_CHUNK <= ends[c->k];
    return 1;
}

/* y[n][p] = x_k[n][p - begin_k], for the chunk of run positions
 * [q, q + POINTWISE_CHUNK) of sample n. */
__kernel void concat_forward(ulong block, ulong begin, int parts, CONCAT_ENDS,
                             __global const float *x0, __global const float *x1,
                             __global const float *x2, __global const float *x3,
                             __global const float *x4, __global const float *x5,
                             __global const float *x6, __global const float *x7,
                             __global float *y) {
    const ulong ends[CONCAT_PARTS] = {CONCAT_LIST(end)};
    __global const float *const xs[CONCAT_PARTS] = {CONCAT_LIST(x)};
    concat_chunk c;
    if (!concat_chunk_of(begin, parts, ends, &c))
        return;
    if (c.whole) {
        __global const float *src = xs[c.k] + part_offset(c.k, begin, ends, c.n, c.first);
        __global float *dst = y + c.n * block + c.first;
        for (int i = 0; i < ITEMS; i++)
            vstorev(vloadv(i, src), i, dst);
        return;
    }
    for (ulong p = c.first; p < c.last; p++) {
        const int k = part_of(p, ends);
        y[c.n * block + p] = xs[k][part_offset(k, begin, ends, c.n, p)];
    }
}

/* dx_k[n][p - begin_k] = dy[n][p] (+ the old value when accumulating). */
__kernel void concat_backward(ulong block, ulong begin, int parts, CONCAT_ENDS, __global float *x0,
                              __global float *x1, __global float *x2, __global float *x3,
                              __global float *x4, __global float *x5, __global float *x6,
                              __global float *x7, __global const float *dy, int accumulate) {
    const ulong ends[CONCAT_PARTS] = {CONCAT_LIST(end)};
    __global float *const xs[CONCAT_PARTS] = {CONCAT_LIST(x)};
    concat_chunk c;
    if (!concat_chunk_of(begin, parts, ends, &c))
        return;
    if (c.whole) {
        __global float *dst = xs[c.k] + part_offset(c.k, begin, ends, c.n, c.first);
        __global const float *src = dy + c.n * block + c.first;
        for (int i = 0; i < ITEMS; i++) {
            floatv g = vloadv(i, src);
            if (accumulate)
                g += vloadv(i, dst);
            vstorev(g, i, dst);
        }
        return;
    }
    for (ulong p = c.first; p < c.last; p++) {
        const int k = part_of(p, ends);
        __global float *dst = xs[k] + part_offset(k, begin, ends, c.n, p);
        const float g = dy[c.n * block + p];
        *dst = accumulate ? *dst + g : g;
    }
}
