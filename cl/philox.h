/* Philox4x32 counter-based random numbers (Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC'11), the one generator of libclcnn's
 * device code: dropout masks, parameter initialisation and anything else
 * random include this header (#include "philox.h") rather than a copy.
 *
 * The function. A 128-bit counter c[0..3] and a 64-bit key k[0..1] (all
 * 32-bit words) give 128 random bits o[0..3]. One round:
 *     (hi0, lo0) = M0 * c0,   (hi1, lo1) = M1 * c2      (32x32 -> 64 bits)
 *     c = { hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0 }
 * Round 0 uses the user's key; before each later round k0 += W0, k1 += W1
 * (mod 2^32). Philox4x32-10 runs 10 rounds. The constants and the word order
 * are Random123's (include/Random123/philox.h), which cuRAND, PyTorch and
 * Triton share, so philox4x32_10 passes Random123's known-answer vectors
 * (tests/data/philox4x32_kat.txt, checked by tests/test_philox.c on the
 * device at every vector width).
 *
 * Counter and key layout (the convention of every libclcnn user). A random
 * stream is named by a 64-bit seed and a 64-bit offset; its 32-bit word
 * number e (e = 0, 1, 2, ...) is
 *     word e = philox4x32_10(counter, key)[e % 4]
 *     counter = { (uint)(e / 4), (uint)((e / 4) >> 32),
 *                 (uint)offset,  (uint)(offset >> 32) }
 *     key     = { (uint)seed,    (uint)(seed >> 32) }
 * i.e. one Philox block gives the words of 4 consecutive e. This is cuRAND's
 * layout with subsequence = offset: word e equals the e-th curand() output
 * after curand_init(seed, offset, 0, &state), so masks can be cross-checked
 * against a CUDA program. Element e of a tensor draws word e, so what an
 * element gets depends only on (seed, offset, e): not on the work-group
 * size, the vector width or the device. A stream holds 2^66 words; callers
 * advance the offset by one for every fresh tensor of randoms they draw
 * (see include/clcnn/dropout.h), so successive draws never share a word.
 *
 * Words to probabilities. Bernoulli decisions compare the word against a
 * threshold computed on the host as an integer, never through floats:
 *     event with probability p  <=>  word < floor(p * 2^32)
 * which has probability floor(p * 2^32) / 2^32 (within 2^-32 of p) and gives
 * the same answer on every device (no rounding, no FMA contraction).
 * Where a uniform float is needed, philox_uniform_float takes the top 24
 * bits: u = (word >> 8) * 2^-24, exact in fp32, in [0, 1 - 2^-24] with 24
 * random bits; u < p then agrees with word < floor(p * 2^32) for every p
 * that is a multiple of 2^-24. (cuRAND's curand_uniform instead returns
 * word * 2^-32 + 2^-33 in (0, 1], rounded; see docs/dropout.md.)
 *
 * Vector widths. philox4x32_10_vN (N = 1, 2, 4, 8, 16; _v1 on scalars)
 * replaces counters c0..c3 in place by the output, N independent generators
 * in the lanes of uintN vectors (structure of arrays: c0 holds word 0 of N
 * counters, ...). Lane j of the result is bit for bit philox4x32_10 of lane
 * j's counter and key: the width is a speed choice only. On CPU devices
 * (POCL) the 16-lane form is ~14-18x faster than the scalar one; on GPUs the
 * scalar one is (see docs/benchmarks.md). philox4x32_rounds_vN takes
 * the number of rounds (tests; Random123 also publishes 7-round vectors). */
#ifndef CLCNN_CL_PHILOX_H
#define CLCNN_CL_PHILOX_H

#define PHILOX_M4x32_0 0xD2511F53u
#define PHILOX_M4x32_1 0xCD9E8D57u
#define PHILOX_W32_0 0x9E3779B9u
#define PHILOX_W32_1 0xBB67AE85u

/* One round on counters c0..c3 of type T with keys k0, k1 (all variables). */
#define PHILOX4X32_ROUND(T, c0, c1, c2, c3, k0, k1)    \
    do {                                               \
        T philox_hi0_ = mul_hi((T)PHILOX_M4x32_0, c0); \
        T philox_lo0_ = (T)PHILOX_M4x32_0 * c0;        \
        T philox_hi1_ = mul_hi((T)PHILOX_M4x32_1, c2); \
        T philox_lo1_ = (T)PHILOX_M4x32_1 * c2;        \
        c0 = philox_hi1_ ^ c1 ^ k0;                    \
        c1 = philox_lo1_;                              \
        c2 = philox_hi0_ ^ c3 ^ k1;                    \
        c3 = philox_lo0_;                              \
    } while (0)

/* The key schedule between rounds. */
#define PHILOX4X32_BUMP_KEY(T, k0, k1) \
    do {                               \
        k0 += (T)PHILOX_W32_0;         \
        k1 += (T)PHILOX_W32_1;         \
    } while (0)

/* Defines philox4x32_10<SUFFIX>(c0, c1, c2, c3, k0, k1): replaces the four
 * counter words in place by the four output words, for element type T.
 * Written out round by round so no compiler has to be trusted to unroll. */
#define PHILOX4X32_10_DEFINE(SUFFIX, T)                                  \
    void philox4x32_10##SUFFIX(T *c0, T *c1, T *c2, T *c3, T k0, T k1) { \
        T x0 = *c0, x1 = *c1, x2 = *c2, x3 = *c3;                        \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* round 1 */       \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 2 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 3 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 4 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 5 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 6 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 7 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 8 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 9 */             \
        PHILOX4X32_BUMP_KEY(T, k0, k1);                                  \
        PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1); /* 10 */            \
        *c0 = x0;                                                        \
        *c1 = x1;                                                        \
        *c2 = x2;                                                        \
        *c3 = x3;                                                        \
    }

/* Defines philox4x32_rounds<SUFFIX>(..., rounds): any number of rounds
 * (Random123 also publishes vectors for 7). Used by tests; dropout and the
 * other users call the fixed 10-round form above. */
#define PHILOX4X32_ROUNDS_DEFINE(SUFFIX, T)                                               \
    void philox4x32_rounds##SUFFIX(T *c0, T *c1, T *c2, T *c3, T k0, T k1, uint rounds) { \
        T x0 = *c0, x1 = *c1, x2 = *c2, x3 = *c3;                                         \
        for (uint r = 0; r < rounds; r++) {                                               \
            if (r > 0)                                                                    \
                PHILOX4X32_BUMP_KEY(T, k0, k1);                                           \
            PHILOX4X32_ROUND(T, x0, x1, x2, x3, k0, k1);                                  \
        }                                                                                 \
        *c0 = x0;                                                                         \
        *c1 = x1;                                                                         \
        *c2 = x2;                                                                         \
        *c3 = x3;                                                                         \
    }

PHILOX4X32_10_DEFINE(_v1, uint)
PHILOX4X32_10_DEFINE(_v2, uint2)
PHILOX4X32_10_DEFINE(_v4, uint4)
PHILOX4X32_10_DEFINE(_v8, uint8)
PHILOX4X32_10_DEFINE(_v16, uint16)

PHILOX4X32_ROUNDS_DEFINE(_v1, uint)
PHILOX4X32_ROUNDS_DEFINE(_v2, uint2)
PHILOX4X32_ROUNDS_DEFINE(_v4, uint4)
PHILOX4X32_ROUNDS_DEFINE(_v8, uint8)
PHILOX4X32_ROUNDS_DEFINE(_v16, uint16)

/* The block of one counter and key, in Random123's word order. */
uint4 philox4x32_10(uint4 counter, uint2 key) {
    uint c0 = counter.s0, c1 = counter.s1, c2 = counter.s2, c3 = counter.s3;
    philox4x32_10_v1(&c0, &c1, &c2, &c3, key.s0, key.s1);
    return (uint4)(c0, c1, c2, c3);
}

/* The counter of the block that holds word `word_index` of stream
 * (seed, offset): see the layout above. offset_lo/hi are the offset's words. */
uint4 philox_stream_counter(ulong word_index, uint offset_lo, uint offset_hi) {
    ulong block = word_index >> 2;
    return (uint4)((uint)block, (uint)(block >> 32), offset_lo, offset_hi);
}

/* Word `word_index` of stream (seed, offset), one at a time (slow path for
 * tails; bulk users vectorise over blocks). */
uint philox_stream_word(ulong word_index, uint2 key, uint offset_lo, uint offset_hi) {
    uint4 block = philox4x32_10(philox_stream_counter(word_index, offset_lo, offset_hi), key);
    uint word = (uint)word_index & 3u;
    /* Selects, not a switch: Oclgrind 21.10 picks the wrong case of a switch
     * on a uint truncated from a ulong (index 4 gives case 3). */
    uint2 pair = (word & 2u) != 0u ? block.s23 : block.s01;
    return (word & 1u) != 0u ? pair.s1 : pair.s0;
}

/* A uniform float in [0, 1 - 2^-24] from the top 24 bits of a word: exact,
 * the same on every device. */
float philox_uniform_float(uint word) {
    return (float)(word >> 8) * 0x1.0p-24f;
}

#endif
