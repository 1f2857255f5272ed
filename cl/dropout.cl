/* Inverted dropout with masks drawn by Philox4x32-10 (see philox.h for the
 * counter layout): element e of a tensor is kept iff word e of the stream
 * (seed, offset) is >= threshold, threshold = floor(p * 2^32) computed on the
 * host, and a kept element is multiplied by `scale` (1 / (1 - p), rounded to
 * float once on the host). Masks are a function of (seed, offset, e) only:
 * DROPOUT_VEC changes the speed, never a bit of the result.
 *
 * Kernels:
 *   dropout_apply            dst = keep ? src * scale : 0   (or dst += that)
 *                            forward, and backward that regenerates the mask
 *   dropout_apply_bits       the same, and stores the mask as bits
 *   dropout_mask_bits        stores the mask as bits only
 *   dropout_apply_from_bits  dst (+)= bit ? src * scale : 0 (backward from bits)
 *   dropout_accumulate       dst += src (backward of an identity pass)
 * Bits: bit (e % 32) of word (e / 32) is 1 iff element e is kept; the bits of
 * a last partial word past the element count are 0. */
#include "dropout_layout.h"
#include "philox.h"

/* Philox generators per work-item (vector lanes): 1 for GPUs, 16 (or 8) for
 * CPU devices, where explicit vectors are what gets vectorised: 1, 8 or 16. */
#ifndef DROPOUT_VEC
#define DROPOUT_VEC 1
#endif

/* One Philox call of DROPOUT_VEC lanes yields the words of CHUNK consecutive
 * elements, handled as EQ vectors of EW elements in element order. */
#define CHUNK DROPOUT_CHUNK(DROPOUT_VEC)

#if DROPOUT_VEC == 1
#define EW 4
#define EQ 1
#define floatE float4
#define intE int4
#define vloadE vload4
#define vstoreE vstore4
#elif DROPOUT_VEC == 8
#define EW 8
#define EQ 4
#define floatE float8
#define intE int8
#define vloadE vload8
#define vstoreE vstore8
#define uintP uint8
#define PHILOX_VEC philox4x32_10_v8
#define LANE_IDS ((uint8)(0, 1, 2, 3, 4, 5, 6, 7))
#define INTERLEAVE_LO ((uint8)(0, 8, 1, 9, 2, 10, 3, 11))
#define INTERLEAVE_HI ((uint8)(4, 12, 5, 13, 6, 14, 7, 15))
#define PAIRS_LO ((uint8)(0, 1, 8, 9, 2, 3, 10, 11))
#define PAIRS_HI ((uint8)(4, 5, 12, 13, 6, 7, 14, 15))
#elif DROPOUT_VEC == 16
#define EW 16
#define EQ 4
#define floatE float16
#define intE int16
#define vloadE vload16
#define vstoreE vstore16
#define uintP uint16
#define PHILOX_VEC philox4x32_10_v16
#define LANE_IDS ((uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define INTERLEAVE_LO ((uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23))
#define INTERLEAVE_HI ((uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31))
#define PAIRS_LO ((uint16)(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23))
#define PAIRS_HI ((uint16)(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31))
#else
#error "DROPOUT_VEC must be 1, 8 or 16"
#endif

/* The bits kernels give each work-item whole 32-bit words: BITS_CALLS Philox
 * calls, i.e. BITS_ELEMS elements and BITS_WORDS words. */
#define BITS_ELEMS DROPOUT_BITS_ELEMS(DROPOUT_VEC)
#define BITS_CALLS (BITS_ELEMS / CHUNK)
#define BITS_WORDS (BITS_ELEMS / 32)

/* Appends lane `lane`'s 4 keep bits (elements 4j .. 4j+3 of lane j's block)
 * below the bits so far: Horner form, from the last lane down. (An OR tree of
 * the lanes would compile to llvm.vector.reduce.or, which crashes Oclgrind
 * 21.10's uninitialised-value checker.) */
#define PUSH_NIBBLE(bits, nibbles, lane) bits = (bits << 4) | (ulong)(nibbles).lane

#if DROPOUT_VEC != 1
/* Appends 8 lanes' keep bits, lane 7 first (a 16-lane call pushes its .hi,
 * then its .lo half). */
ulong push_nibbles8(ulong bits, uint8 nibbles) {
    PUSH_NIBBLE(bits, nibbles, s7);
    PUSH_NIBBLE(bits, nibbles, s6);
    PUSH_NIBBLE(bits, nibbles, s5);
    PUSH_NIBBLE(bits, nibbles, s4);
    PUSH_NIBBLE(bits, nibbles, s3);
    PUSH_NIBBLE(bits, nibbles, s2);
    PUSH_NIBBLE(bits, nibbles, s1);
    PUSH_NIBBLE(bits, nibbles, s0);
    return bits;
}
#endif

/* The keep decisions of elements 4 * first_block .. + CHUNK - 1, in element
 * order (keep[q] holds elements q * EW .. q * EW + EW - 1 of the chunk, -1
 * kept, 0 dropped) and as bits (bit i: element i of the chunk). first_block
 * is a multiple of DROPOUT_VEC, so the lanes' block numbers never carry into
 * counter word 1. */
void chunk_keep(ulong first_block, uint key0, uint key1, uint offset_lo, uint offset_hi,
                uint threshold, intE *keep, ulong *bits) {
#if DROPOUT_VEC == 1
    uint c0 = (uint)first_block, c1 = (uint)(first_block >> 32), c2 = offset_lo, c3 = offset_hi;
    philox4x32_10_v1(&c0, &c1, &c2, &c3, key0, key1);
    keep[0] = (uint4)(c0, c1, c2, c3) >= (uint4)threshold;
    *bits = (ulong)((c0 >= threshold) | (c1 >= threshold) << 1 | (c2 >= threshold) << 2 |
                    (c3 >= threshold) << 3);
#else
    /* Lane j runs block first_block + j, whose 4 words belong to 4
     * consecutive elements: the 4 x DROPOUT_VEC decisions are transposed. */
    uintP c0 = (uintP)((uint)first_block) + LANE_IDS;
    uintP c1 = (uintP)((uint)(first_block >> 32));
    uintP c2 = (uintP)offset_lo;
    uintP c3 = (uintP)offset_hi;
    PHILOX_VEC(&c0, &c1, &c2, &c3, (uintP)key0, (uintP)key1);
    intE m0 = c0 >= (uintP)threshold, m1 = c1 >= (uintP)threshold;
    intE m2 = c2 >= (uintP)threshold, m3 = c3 >= (uintP)threshold;
    intE lo01 = shuffle2(m0, m1, INTERLEAVE_LO), hi01 = shuffle2(m0, m1, INTERLEAVE_HI);
    intE lo23 = shuffle2(m2, m3, INTERLEAVE_LO), hi23 = shuffle2(m2, m3, INTERLEAVE_HI);
    keep[0] = shuffle2(lo01, lo23, PAIRS_LO);
    keep[1] = shuffle2(lo01, lo23, PAIRS_HI);
    keep[2] = shuffle2(hi01, hi23, PAIRS_LO);
    keep[3] = shuffle2(hi01, hi23, PAIRS_HI);

    /* select, not as_uint(m) & 1: Oclgrind 21.10 computes the latter wrongly. */
    uintP nibbles = select((uintP)0u, (uintP)1u, m0) | select((uintP)0u, (uintP)2u, m1) |
                    select((uintP)0u, (uintP)4u, m2) | select((uintP)0u, (uintP)8u, m3);
#if DROPOUT_VEC == 16
    *bits = push_nibbles8(push_nibbles8(0, nibbles.hi), nibbles.lo);
#else
    *bits = push_nibbles8(0, nibbles);
#endif
#endif
}

/* Loads the EQ element vectors of a chunk starting at element `first`; past
 * `count` the values are 0 (the slow path runs for the last chunk only). */
void load_chunk(__global const float *src, ulong first, ulong count, floatE *values) {
    if (first + CHUNK <= count) {
        for (int q = 0; q < EQ; q++)
            values[q] = vloadE(0, src + first + (ulong)(q * EW));
        return;
    }
    float staged[CHUNK];
    for (int i = 0; i < CHUNK; i++)
        staged[i] = first + (ulong)i < count ? src[first + (ulong)i] : 0.0f;
    for (int q = 0; q < EQ; q++)
        values[q] = vloadE(0, staged + q * EW);
}

/* Stores the chunk's element vectors, the last chunk up to `count` only. */
void store_chunk(__global float *dst, ulong first, ulong count, const floatE *values) {
    if (first + CHUNK <= count) {
        for (int q = 0; q < EQ; q++)
            vstoreE(values[q], 0, dst + first + (ulong)(q * EW));
        return;
    }
    float staged[CHUNK];
    for (int q = 0; q < EQ; q++)
        vstoreE(values[q], 0, staged + q * EW);
    for (int i = 0; i < CHUNK; i++)
        if (first + (ulong)i < count)
            dst[first + (ulong)i] = staged[i];
}

/* out = keep ? in * scale : 0, plus the old dst when accumulating. */
void apply_chunk(__global const float *src, __global float *dst, ulong first, ulong count,
                 const intE *keep, float scale, uint accumulate) {
    floatE in[EQ], out[EQ];
    load_chunk(src, first, count, in);
    for (int q = 0; q < EQ; q++)
        out[q] = select((floatE)(0.0f), in[q] * scale, keep[q]);
    if (accumulate) {
        floatE old[EQ];
        load_chunk(dst, first, count, old);
        for (int q = 0; q < EQ; q++)
            out[q] = old[q] + out[q];
    }
    store_chunk(dst, first, count, out);
}

/* One work-item per chunk: global size ceil(count / CHUNK). */
__kernel void dropout_apply(__global const float *src, __global float *dst, ulong count, uint key0,
                            uint key1, uint offset_lo, uint offset_hi, uint threshold, float scale,
                            uint accumulate) {
    ulong item = get_global_id(0);
    ulong first = item * CHUNK;
    if (first >= count)
        return;
    intE keep[EQ];
    ulong unused_bits;
    chunk_keep(item * DROPOUT_VEC, key0, key1, offset_lo, offset_hi, threshold, keep, &unused_bits);
    apply_chunk(src, dst, first, count, keep, scale, accumulate);
}

/* The keep decisions of the BITS_CALLS chunks from element `first` as bits
 * (elements at or past `count` give 0); with `apply`, also writes dst. */
ulong chunks_with_bits(__global const float *src, __global float *dst, ulong first, ulong count,
                       uint key0, uint key1, uint offset_lo, uint offset_hi, uint threshold,
                       float scale, int apply) {
    ulong bits = 0;
    for (int call = 0; call < BITS_CALLS; call++) {
        ulong chunk_first = first + (ulong)(call * CHUNK);
        if (chunk_first >= count)
            break;
        intE keep[EQ];
        ulong chunk_bits;
        chunk_keep(chunk_first / 4, key0, key1, offset_lo, offset_hi, threshold, keep, &chunk_bits);
        if (chunk_first + CHUNK > count) /* no bits past the end */
            chunk_bits &= ((ulong)1 << (uint)(count - chunk_first)) - 1;
        bits |= chunk_bits << (call * CHUNK);
        if (apply)
            apply_chunk(src, dst, chunk_first, count, keep, scale, 0);
    }
    return bits;
}

/* Stores the bits of one work-item's words, the words past the mask's end
 * excepted. */
void store_bits(__global uint *mask_bits, ulong first, ulong count, ulong bits) {
    ulong word = first / 32;
    for (int w = 0; w < BITS_WORDS; w++)
        if ((word + (ulong)w) * 32 < count)
            mask_bits[word + (ulong)w] = (uint)(bits >> (32 * w));
}

/* dropout_apply that also stores the mask as bits. One work-item per
 * BITS_ELEMS elements: global size ceil(count / BITS_ELEMS). */
__kernel void dropout_apply_bits(__global const float *src, __global float *dst,
                                 __global uint *mask_bits, ulong count, uint key0, uint key1,
                                 uint offset_lo, uint offset_hi, uint threshold, float scale) {
    ulong first = get_global_id(0) * BITS_ELEMS;
    if (first >= count)
        return;
    ulong bits = chunks_with_bits(src, dst, first, count, key0, key1, offset_lo, offset_hi,
                                  threshold, scale, 1);
    store_bits(mask_bits, first, count, bits);
}

/* The mask as bits only (reading back a mask that is not stored). Global
 * size ceil(count / BITS_ELEMS). */
__kernel void dropout_mask_bits(__global uint *mask_bits, ulong count, uint key0, uint key1,
                                uint offset_lo, uint offset_hi, uint threshold) {
    ulong first = get_global_id(0) * BITS_ELEMS;
    if (first >= count)
        return;
    ulong bits =
        chunks_with_bits(0, 0, first, count, key0, key1, offset_lo, offset_hi, threshold, 1.0f, 0);
    store_bits(mask_bits, first, count, bits);
}

/* The kernels below need no random numbers: their work-items take a float4
 * (DROPOUT_PLAIN_ELEMS elements) whatever DROPOUT_VEC is (POCL vectorises
 * such kernels across work-items by itself; they measured 2-3x faster than
 * explicit 16-wide vectors). Global size ceil(count / DROPOUT_PLAIN_ELEMS). */

/* Elements first .. first + 3 of src, 0 past count. */
float4 load4(__global const float *src, ulong first, ulong count) {
    if (first + 4 <= count)
        return vload4(0, src + first);
    float4 v = (float4)(0.0f);
    v.s0 = src[first];
    if (first + 1 < count)
        v.s1 = src[first + 1];
    if (first + 2 < count)
        v.s2 = src[first + 2];
    return v;
}

void store4(__global float *dst, ulong first, ulong count, float4 v) {
    if (first + 4 <= count) {
        vstore4(v, 0, dst + first);
        return;
    }
    dst[first] = v.s0;
    if (first + 1 < count)
        dst[first + 1] = v.s1;
    if (first + 2 < count)
        dst[first + 2] = v.s2;
}

/* dst = bit ? src * scale : 0 (dst += that when accumulating), the mask read
 * from bits. */
__kernel void dropout_apply_from_bits(__global const float *src, __global float *dst,
                                      __global const uint *mask_bits, ulong count, float scale,
                                      uint accumulate) {
    ulong first = get_global_id(0) * DROPOUT_PLAIN_ELEMS;
    if (first >= count)
        return;
    uint word = mask_bits[first / 32] >> (uint)(first % 32);
    int4 keep = ((uint4)word & (uint4)(1u, 2u, 4u, 8u)) != (uint4)0u;
    float4 out = select((float4)(0.0f), load4(src, first, count) * scale, keep);
    if (accumulate)
        out = load4(dst, first, count) + out;
    store4(dst, first, count, out);
}

/* dst += src (the backward of a pass that kept everything). */
__kernel void dropout_accumulate(__global const float *src, __global float *dst, ulong count) {
    ulong first = get_global_id(0) * DROPOUT_PLAIN_ELEMS;
    if (first >= count)
        return;
    store4(dst, first, count, load4(dst, first, count) + load4(src, first, count));
}
