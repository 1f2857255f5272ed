/* Peak arithmetic throughput, clpeak-style: each work-item runs PEAK_CHAINS
 * independent fma chains of one vector width, x = fma(x, scale, offset), and
 * writes the sum of its chains (one vector) so that no compiler can drop the
 * work. Scale,
 * offset and the trip count are kernel arguments (nothing to fold), and the
 * lanes of a vector start from different values (no narrowing a vector of
 * equal lanes to one scalar). With 0 < scale < 1 every chain converges to
 * offset / (1 - scale): no overflow, no denormals. One kernel per width; no
 * -D options needed. Each loop trip does PEAK_UNROLL rounds over the chains,
 * i.e. 2 * width * PEAK_CHAINS * PEAK_UNROLL floating-point operations. */

#define PEAK_CHAINS 8
#define PEAK_UNROLL 4

/* fma, not clpeak's mad: POCL 3.1 compiles mad as a multiply and an add,
 * which measured 277 GFLOP/s here against 434 with fma (the library's
 * kernels use fma too). */

/* Lane multipliers: lane l starts at its chain's value times 1 + l / 100. */
#define PEAK_LANES_1 1.0f
#define PEAK_LANES_4 (float4)(1.00f, 1.01f, 1.02f, 1.03f)
#define PEAK_LANES_8 (float8)(1.00f, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f)
#define PEAK_LANES_16                                                                             \
    (float16)(1.00f, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f, 1.08f, 1.09f, 1.10f, 1.11f, \
              1.12f, 1.13f, 1.14f, 1.15f)

/* The start of chain `chain` in work-item `item` (host code mirrors it). */
static float peak_start(uint item, uint chain) {
    return 0.25f + 0.001f * (float)(item & 255u) + 0.05f * (float)chain;
}

/* One step of every chain; the loop body holds PEAK_UNROLL of them. */
#define PEAK_ROUND      \
    x0 = fma(x0, s, o); \
    x1 = fma(x1, s, o); \
    x2 = fma(x2, s, o); \
    x3 = fma(x3, s, o); \
    x4 = fma(x4, s, o); \
    x5 = fma(x5, s, o); \
    x6 = fma(x6, s, o); \
    x7 = fma(x7, s, o);

/* out[i] = the sum over the chains after iterations * PEAK_UNROLL steps, for
 * i < count (the global size may exceed count). The sum stays a vector:
 * reducing its lanes would cost nothing worth measuring, and Oclgrind 21.10's
 * uninitialised-value check crashes on extracting lanes of a loaded or
 * computed vector. */
#define PEAK_FMA_KERNEL(WIDTH, TYPE)                                                            \
    __kernel void peak_fma_##TYPE(__global TYPE *out, uint count, uint iterations, float scale, \
                                  float offset) {                                               \
        uint item = (uint)get_global_id(0);                                                     \
        if (item >= count)                                                                      \
            return;                                                                             \
        TYPE s = (TYPE)(scale), o = (TYPE)(offset);                                             \
        TYPE x0 = peak_start(item, 0u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x1 = peak_start(item, 1u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x2 = peak_start(item, 2u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x3 = peak_start(item, 3u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x4 = peak_start(item, 4u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x5 = peak_start(item, 5u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x6 = peak_start(item, 6u) * PEAK_LANES_##WIDTH;                                    \
        TYPE x7 = peak_start(item, 7u) * PEAK_LANES_##WIDTH;                                    \
        for (uint i = 0; i < iterations; i++) {                                                 \
            PEAK_ROUND PEAK_ROUND PEAK_ROUND PEAK_ROUND                                         \
        }                                                                                       \
        out[item] = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));                          \
    }

PEAK_FMA_KERNEL(1, float)
PEAK_FMA_KERNEL(4, float4)
PEAK_FMA_KERNEL(8, float8)
PEAK_FMA_KERNEL(16, float16)
