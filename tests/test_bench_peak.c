/* cl/peak.cl, the kernels of clcnn-bench's `peak_fma`: each width's kernel
 * writes, for every work-item below `count` and nothing past it, the sum of
 * its fma chains (a vector of that width), compared lane by lane with a
 * double-precision reference stepped one by one. Small sizes: also runs
 * under Oclgrind. */
#include <math.h>

#include "ref/peak_ref.h"
#include "support/test_support.h"

#define CHAINS 8 /* cl/peak.cl's PEAK_CHAINS and PEAK_UNROLL */
#define UNROLL 4
#define COUNT 37  /* work-items with an output */
#define GLOBAL 64 /* launched: the rest must return without writing */
#define SENTINEL -7.5f
#define TOLERANCE 1e-5 /* relative: a few float roundings over short chains */
#define MAX_WIDTH 16

static const struct {
    const char *kernel;
    unsigned width;
} widths[] = {{"peak_fma_float", 1},
              {"peak_fma_float4", 4},
              {"peak_fma_float8", 8},
              {"peak_fma_float16", 16}};

/* Runs every width with this trip count, scale and offset and checks all
 * GLOBAL outputs, every lane. */
static void check_peak(clcnn_context *ctx, cl_uint iterations, float scale, float offset) {
    size_t global = GLOBAL, elements = GLOBAL * MAX_WIDTH;
    clcnn_tensor *out = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &elements, &out));
    cl_uint count = COUNT;
    float got[GLOBAL * MAX_WIDTH];
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        /* Not built where the device's compiler chokes on the width (see
         * runtime/device_traits.c); the same macro makes every width, and
         * float16 is checked on every other device. */
        if (widths[w].width > ctx->traits.widest_vector)
            continue;
        clcnn_kernel *kernel = ts_builtin_kernel(ctx, "peak.cl", NULL, widths[w].kernel);
        TS_ASSERT_OK(ctx, clcnn_tensor_fill(out, SENTINEL));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, out));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 1, count));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, iterations));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 3, scale));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 4, offset));
        TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
        clcnn_kernel_destroy(kernel);
        TS_ASSERT_OK(ctx, clcnn_tensor_read(out, 0, got, elements));
        unsigned width = widths[w].width;
        for (unsigned i = 0; i < GLOBAL * MAX_WIDTH; i++) {
            unsigned item = i / width, lane = i % width;
            if (item >= COUNT) {
                assert_float_equal(got[i], SENTINEL, 0.0f);
                continue;
            }
            double want = peak_ref_lane(item, lane, CHAINS, (unsigned long)iterations * UNROLL,
                                        scale, offset);
            if (fabs((double)got[i] - want) > TOLERANCE * fabs(want))
                fail_msg("%s, %u iterations: item %u lane %u wrote %.9g, expected %.9g",
                         widths[w].kernel, (unsigned)iterations, item, lane, (double)got[i], want);
        }
    }
    clcnn_tensor_destroy(out);
}

/* No trip: the sum of the chains' starts. */
static void test_peak_no_iterations(void **state) {
    check_peak(*state, 0, 0.999f, 0.001f);
}

/* The bench's scale and offset: chains drift towards 1. */
static void test_peak_converging(void **state) {
    check_peak(*state, 5, 0.999f, 0.001f);
}

/* A scale far from 1 and a negative offset: every step shows. */
static void test_peak_contracting(void **state) {
    check_peak(*state, 3, 0.5f, -0.25f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_no_iterations),
        cmocka_unit_test(test_peak_converging),
        cmocka_unit_test(test_peak_contracting),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
