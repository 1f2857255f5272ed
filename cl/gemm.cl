/* SGEMM for devices where one work-item should compute a register tile (CPU
 * drivers such as POCL): C = alpha * op(A) * op(B) + beta * C, row-major.
 *
 * op(B) (k x n) is first packed into zero-padded panels of a canonical
 * layout, which takes care of its transpose, leading dimension and ragged
 * edge once:
 *   B panel q (columns q*NR .. q*NR+NR-1) at b_packed + q*k*NR, k-major:
 *       element (depth kk, column q*NR + c) at [kk*NR + c].
 * op(A) (m x k) is read in place when its rows are contiguous; transposed,
 * it is packed the same way into MR-row panels (element (row p*MR + r,
 * depth kk) at a_packed + p*k*MR + kk*MR + r), whose depth steps are then
 * contiguous too. gemm_tile gives each work-item one MR x NR tile of C: per
 * step of the k loop it loads NR contiguous floats of B as vectors and
 * broadcasts the MR scalars of A into them. No __local memory, no barriers;
 * each element of C is summed in a fixed order (deterministic). */
#include "common.h"

/* Rows of C per work-item (fixed: the tile's accumulators are spelled out). */
#define MR 8

/* Columns of C per work-item: 16 (one float16 per row) or 32 (two). */
#ifndef NR
#define NR 16
#endif

/* Depth elements packed per work-item by the packing kernels. */
#ifndef PACK_DEPTH
#define PACK_DEPTH 16
#endif

#if NR != 16 && NR != 32
#error "NR must be 16 or 32"
#endif

/* Copies op(X) into panels. op(X)'s element (row, depth) is at
 * x[offset + row * row_stride + depth * depth_stride], so one kernel serves
 * both orientations. One work-item packs PACK_DEPTH depths of one panel of
 * WIDTH (MR or NR) rows; rows past `rows` are written as zeros. Whole
 * blocks take a vector path for the two layouts that occur (rows
 * contiguous, or depths contiguous); the ragged last panel and depth block
 * take the element-wise path. */
#define PACK_PANEL(WIDTH, VLOAD_ROWS, VSTORE_ROWS)                                        \
    uint panel = (uint)get_global_id(1);                                                  \
    uint depth_begin = (uint)get_global_id(0) * PACK_DEPTH;                               \
    if (depth_begin >= depth)                                                             \
        return;                                                                           \
    uint depth_count = min((uint)PACK_DEPTH, depth - depth_begin);                        \
    uint row_begin = panel * (WIDTH);                                                     \
    uint valid_rows = min((uint)(WIDTH), rows - row_begin);                               \
    __global float *out = packed + ((size_t)panel * depth + depth_begin) * (WIDTH);       \
    __global const float *in =                                                            \
        x + offset + (size_t)row_begin * row_stride + (size_t)depth_begin * depth_stride; \
    if (valid_rows == (WIDTH) && row_stride == 1) {                                       \
        for (uint d = 0; d < depth_count; d++)                                            \
            VSTORE_ROWS(VLOAD_ROWS(in + (size_t)d * depth_stride), out + d * (WIDTH));    \
    } else if (valid_rows == (WIDTH) && depth_stride == 1 && depth_count == PACK_DEPTH) { \
        for (uint r = 0; r < (WIDTH); r++)                                                \
            scatter_depths(vload16(0, in + (size_t)r * row_stride), out + r, (WIDTH));    \
    } else {                                                                              \
        for (uint d = 0; d < depth_count; d++) {                                          \
            __global const float *column = in + (size_t)d * depth_stride;                 \
            for (uint r = 0; r < valid_rows; r++)                                         \
                out[d * (WIDTH) + r] = column[(size_t)r * row_stride];                    \
            for (uint r = valid_rows; r < (WIDTH); r++)                                   \
                out[d * (WIDTH) + r] = 0.0f;                                              \
        }                                                                                 \
    }

#if PACK_DEPTH != 16
#error "PACK_DEPTH must be 16 (scatter_depths handles one float16)"
#endif

/* out[d * stride] = v[d] for the 16 depths of one row. */
static void scatter_depths(float16 v, __global float *out, uint stride) {
    out[0 * stride] = v.s0;
    out[1 * stride] = v.s1;
    out[2 * stride] = v.s2;
    out[3 * stride] = v.s3;
    out[4 * stride] = v.s4;
    out[5 * stride] = v.s5;
    out[6 * stride] = v.s6;
    out[7 * stride] = v.s7;
    out[8 * stride] = v.s8;
    out[9 * stride] = v.s9;
    out[10 * stride] = v.sa;
    out[11 * stride] = v.sb;
    out[12 * stride] = v.sc;
    out[13 * stride] = v.sd;
    out[14 * stride] = v.se;
    out[15 * stride] = v.sf;
}

#define VLOAD_A(p) vload8(0, (p))
#define VSTORE_A(v, p) vstore8((v), 0, (p))

/* Packs op(A), m x k, into MR-row panels (global size: ceil(k/PACK_DEPTH)
 * x ceil(m/MR)). */
__kernel void gemm_pack_a(__global const float *x, ulong offset, uint row_stride, uint depth_stride,
                          uint rows, uint depth, __global float *packed) {
    PACK_PANEL(MR, VLOAD_A, VSTORE_A)
}

#if NR == 16
#define VLOAD_B(p) vload16(0, (p))
#define VSTORE_B(v, p) vstore16((v), 0, (p))
#else
#define VLOAD_B(p) (p)
#define VSTORE_B(src, p)                               \
    do {                                               \
        vstore16(vload16(0, (src)), 0, (p));           \
        vstore16(vload16(0, (src) + 16), 0, (p) + 16); \
    } while (0)
#endif

/* Packs op(B), k x n, into NR-column panels (global size:
 * ceil(k/PACK_DEPTH) x ceil(n/NR)); the "rows" of a B panel are columns of
 * op(B). */
__kernel void gemm_pack_b(__global const float *x, ulong offset, uint row_stride, uint depth_stride,
                          uint rows, uint depth, __global float *packed) {
    PACK_PANEL(NR, VLOAD_B, VSTORE_B)
}

#if NR == 16
typedef float16 row_t;
#else
typedef struct row_t {
    float16 lo, hi;
} row_t;
#endif

/* acc = fma(scalar, b, acc) on a whole tile row. */
#if NR == 16
#define ROW_FMA(acc, scalar, b) (acc) = fma((float16)(scalar), (b), (acc))
#define ROW_ZERO(acc) (acc) = (float16)(0.0f)
#else
#define ROW_FMA(acc, scalar, b)                              \
    do {                                                     \
        (acc).lo = fma((float16)(scalar), (b).lo, (acc).lo); \
        (acc).hi = fma((float16)(scalar), (b).hi, (acc).hi); \
    } while (0)
#define ROW_ZERO(acc) (acc).lo = (acc).hi = (float16)(0.0f)
#endif

/* Writes one tile row: out[j] = alpha * acc[j] (+ beta * out[j]) for the
 * `valid` leading columns. */
static void store_row(row_t acc, float alpha, float beta, uint valid, __global float *out) {
    float values[NR];
#if NR == 16
    vstore16(acc, 0, values);
#else
    vstore16(acc.lo, 0, values);
    vstore16(acc.hi, 0, values + 16);
#endif
    if (valid == NR) {
        for (uint j = 0; j < NR; j += 16) {
            float16 result = alpha * vload16(0, values + j);
            if (beta != 0.0f)
                result = fma((float16)(beta), vload16(0, out + j), result);
            vstore16(result, 0, out + j);
        }
        return;
    }
    for (uint j = 0; j < valid; j++) {
        float result = alpha * values[j];
        if (beta != 0.0f)
            result = fma(beta, out[j], result);
        out[j] = result;
    }
}

/* One MR x NR tile of C per work-item: global size ceil(n/NR) x ceil(m/MR)
 * (rounded up to the work-group size; extra work-items return). Row r
 * (0 .. MR-1) of tile t of op(A) is read at
 *   a[a_offset + t * a_tile_stride + r * a_row_stride + depth * a_depth_stride]
 * which describes A in place (a_tile_stride = MR * a_row_stride) as well as
 * A packed by gemm_pack_a (a_tile_stride = k * MR, a_row_stride = 1,
 * a_depth_stride = MR). Rows past m read row m - 1 again (always in bounds)
 * and are not stored. B comes packed. beta == 0 never reads C, so C may
 * hold anything (NaN) then, as in BLAS. */
__kernel void gemm_tile(uint m, uint n, uint k, float alpha, __global const float *a,
                        ulong a_offset, ulong a_tile_stride, uint a_row_stride, uint a_depth_stride,
                        __global const float *b_packed, float beta, __global float *c,
                        ulong c_offset, uint ldc) {
    uint tile_col = (uint)get_global_id(0);
    uint tile_row = (uint)get_global_id(1);
    if (tile_col * NR >= n || tile_row * MR >= m)
        return;
    uint row = tile_row * MR;
    __global const float *a_tile = a + a_offset + tile_row * a_tile_stride;
#define A_ROW(r) (a_tile + (size_t)(min(row + (r), m - 1) - row) * a_row_stride)
    __global const float *a0 = A_ROW(0), *a1 = A_ROW(1), *a2 = A_ROW(2), *a3 = A_ROW(3);
    __global const float *a4 = A_ROW(4), *a5 = A_ROW(5), *a6 = A_ROW(6), *a7 = A_ROW(7);
#undef A_ROW
    __global const float *b = b_packed + (size_t)tile_col * k * NR;

    row_t acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7;
    ROW_ZERO(acc0);
    ROW_ZERO(acc1);
    ROW_ZERO(acc2);
    ROW_ZERO(acc3);
    ROW_ZERO(acc4);
    ROW_ZERO(acc5);
    ROW_ZERO(acc6);
    ROW_ZERO(acc7);
    for (uint d = 0; d < k; d++) {
#if NR == 16
        row_t bv = vload16(0, b);
#else
        row_t bv;
        bv.lo = vload16(0, b);
        bv.hi = vload16(0, b + 16);
#endif
        size_t at = (size_t)d * a_depth_stride;
        ROW_FMA(acc0, a0[at], bv);
        ROW_FMA(acc1, a1[at], bv);
        ROW_FMA(acc2, a2[at], bv);
        ROW_FMA(acc3, a3[at], bv);
        ROW_FMA(acc4, a4[at], bv);
        ROW_FMA(acc5, a5[at], bv);
        ROW_FMA(acc6, a6[at], bv);
        ROW_FMA(acc7, a7[at], bv);
        b += NR;
    }

    uint col = tile_col * NR;
    uint valid_rows = min((uint)MR, m - row);
    uint valid_cols = min((uint)NR, n - col);
    __global float *out = c + c_offset + (size_t)row * ldc + col;
    row_t rows[MR] = {acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7};
    for (uint r = 0; r < valid_rows; r++)
        store_row(rows[r], alpha, beta, valid_cols, out + (size_t)r * ldc);
}
