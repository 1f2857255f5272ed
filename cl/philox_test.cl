/* Kernels that expose cl/philox.h to the tests (tests/test_philox.c): raw
 * Philox4x32 blocks at any vector width, stream words and the uniform float
 * conversion. Not used by the library itself. */
#include "philox.h"

/* Lanes per work-item of philox_test_blocks: 1, 2, 4, 8 or 16. */
#ifndef PHILOX_TEST_VEC
#define PHILOX_TEST_VEC 1
#endif

#if PHILOX_TEST_VEC == 1
#define uintV uint
#define LOADV(i, p) ((p)[i])
#define STOREV(v, i, p) ((p)[i] = (v))
#define PHILOX10 philox4x32_10_v1
#define PHILOXR philox4x32_rounds_v1
#elif PHILOX_TEST_VEC == 2
#define uintV uint2
#define LOADV vload2
#define STOREV vstore2
#define PHILOX10 philox4x32_10_v2
#define PHILOXR philox4x32_rounds_v2
#elif PHILOX_TEST_VEC == 4
#define uintV uint4
#define LOADV vload4
#define STOREV vstore4
#define PHILOX10 philox4x32_10_v4
#define PHILOXR philox4x32_rounds_v4
#elif PHILOX_TEST_VEC == 8
#define uintV uint8
#define LOADV vload8
#define STOREV vstore8
#define PHILOX10 philox4x32_10_v8
#define PHILOXR philox4x32_rounds_v8
#elif PHILOX_TEST_VEC == 16
#define uintV uint16
#define LOADV vload16
#define STOREV vstore16
#define PHILOX10 philox4x32_10_v16
#define PHILOXR philox4x32_rounds_v16
#else
#error "PHILOX_TEST_VEC must be 1, 2, 4, 8 or 16"
#endif

/* Blocks of `padded` (counter, key) pairs, stored as planes: ctr[w * padded
 * + i] is word w of counter i, key[w * padded + i] word w of key i, and
 * out[w * padded + i] word w of block i. padded is a multiple of
 * PHILOX_TEST_VEC; one work-item per PHILOX_TEST_VEC pairs. rounds == 10
 * runs the fixed philox4x32_10 that the library uses. */
__kernel void philox_test_blocks(__global const uint *ctr, __global const uint *key,
                                 __global uint *out, uint padded, uint rounds) {
    uint item = (uint)get_global_id(0);
    if ((item + 1) * PHILOX_TEST_VEC > padded)
        return;
    uintV c0 = LOADV(item, ctr), c1 = LOADV(item, ctr + padded);
    uintV c2 = LOADV(item, ctr + 2 * padded), c3 = LOADV(item, ctr + 3 * padded);
    uintV k0 = LOADV(item, key), k1 = LOADV(item, key + padded);
    if (rounds == 10)
        PHILOX10(&c0, &c1, &c2, &c3, k0, k1);
    else
        PHILOXR(&c0, &c1, &c2, &c3, k0, k1, rounds);
    STOREV(c0, item, out);
    STOREV(c1, item, out + padded);
    STOREV(c2, item, out + 2 * padded);
    STOREV(c3, item, out + 3 * padded);
}

/* out[i] = word first + i of stream (seed, offset), through the scalar
 * philox4x32_10 and the counter layout of philox.h. */
__kernel void philox_test_stream(__global uint *out, uint count, ulong first, uint key0, uint key1,
                                 uint offset_lo, uint offset_hi) {
    uint i = (uint)get_global_id(0);
    if (i < count)
        out[i] = philox_stream_word(first + i, (uint2)(key0, key1), offset_lo, offset_hi);
}

/* out[i] = philox_uniform_float(words[i]). */
__kernel void philox_test_uniform(__global const uint *words, __global float *out, uint count) {
    uint i = (uint)get_global_id(0);
    if (i < count)
        out[i] = philox_uniform_float(words[i]);
}
