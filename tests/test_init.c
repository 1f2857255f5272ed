/* Parameter initialisation: the op clcnn__init_uniform (src/ops/init.c,
 * cl/init.cl) gives low + u (high - low) with u from the host reference
 * Philox stream (seed, offset), bit for bit, on awkward sizes and with both
 * words of seed and offset in use; it writes its tensor and nothing next to
 * it (a view in an arena); it refuses bad bounds and tensors. Through
 * clcnn_net_init every weight and bias is drawn from stream (seed, 2^63 +
 * parameter index) in [-1/sqrt(fan_in), 1/sqrt(fan_in)]; and a different
 * seed gives different values. Shapes small enough for Oclgrind. */
#include <math.h>
#include <stdlib.h>

#include "support/test_support.h"

#include "clcnn/net.h"
#include "ops/init.h"
#include "ref/philox_ref.h"

/* What element e of a tensor drawn from stream (seed, offset) holds, with
 * the kernel's roundings. */
static float reference_value(float low, float high, uint64_t seed, uint64_t offset, size_t e) {
    uint32_t word = philox_ref_stream_word(seed, offset, e);
    float u = (float)(word >> 8) * 0x1.0p-24f;
    float scaled = u * (high - low);
    return low + scaled;
}

/* Fails unless tensor holds the draw of (low, high, seed, offset). */
static void check_drawn(const clcnn_tensor *tensor, const char *name, float low, float high,
                        uint64_t seed, uint64_t offset) {
    float *values = ts_tensor_read_all(tensor);
    for (size_t e = 0; e < clcnn_tensor_numel(tensor); e++) {
        float expected = reference_value(low, high, seed, offset, e);
        if (values[e] != expected)
            fail_msg("%s[%zu] = %.9g, expected %.9g", name, e, (double)values[e], (double)expected);
    }
    free(values);
}

/* ------------------------------------------------------------------- the op */

static void test_op_matches_reference(void **state) {
    clcnn_context *ctx = *state;
    static const size_t sizes[] = {1, 63, 65, 1000};
    static const float bounds[][2] = {{-0.25f, 0.75f}, {-3.0f, -1.0f}, {2.0f, 2.0f}};
    const uint64_t seed = UINT64_C(0xfedcba9876543210);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
            const size_t dims[2] = {sizes[i], 1};
            clcnn_tensor *tensor = ts_tensor_filled(ctx, 2, dims, NAN);
            uint64_t offset = (UINT64_C(1) << 40) + 5 + i;
            TS_ASSERT_OK(
                ctx, clcnn__init_uniform(ctx, tensor, bounds[b][0], bounds[b][1], seed, offset));
            check_drawn(tensor, "tensor", bounds[b][0], bounds[b][1], seed, offset);
            clcnn_tensor_destroy(tensor);
        }
}

/* Drawn into the middle view of an arena, the values land in that view
 * only: the other views and the gaps stay zero. Values in [1, 2) are never
 * zero, so counting the arena's non-zero elements finds any stray write. */
static void test_op_writes_its_view_only(void **state) {
    clcnn_context *ctx = *state;
    const clcnn__shape shapes[3] = {{1, {5}}, {2, {7, 10}}, {1, {3}}};
    clcnn_tensor *views[3] = {NULL}, *arena = NULL;
    TS_ASSERT_OK(ctx, clcnn__arena_create(ctx, 3, shapes, views, &arena));
    assert_non_null(arena);
    TS_ASSERT_OK(ctx, clcnn__init_uniform(ctx, views[1], 1.0f, 2.0f, 7, 9));
    check_drawn(views[1], "view 1", 1.0f, 2.0f, 7, 9);
    float *all = ts_tensor_read_all(arena);
    size_t nonzero = 0;
    for (size_t e = 0; e < clcnn_tensor_numel(arena); e++)
        nonzero += all[e] != 0.0f;
    assert_int_equal(nonzero, 70);
    free(all);
    for (size_t i = 0; i < 3; i++)
        clcnn_tensor_destroy(views[i]);
    clcnn_tensor_destroy(arena);
}

static void test_op_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 4;
    clcnn_tensor *tensor = ts_tensor_filled(ctx, 1, &n, 0.5f);
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT;
    TS_ASSERT_STATUS(ctx, bad, clcnn__init_uniform(ctx, NULL, 0.0f, 1.0f, 1, 2));
    TS_ASSERT_STATUS(ctx, bad, clcnn__init_uniform(ctx, tensor, 1.0f, 0.0f, 1, 2));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "low <= high");
    TS_ASSERT_STATUS(ctx, bad, clcnn__init_uniform(ctx, tensor, NAN, 1.0f, 1, 2));
    TS_ASSERT_STATUS(ctx, bad, clcnn__init_uniform(ctx, tensor, 0.0f, INFINITY, 1, 2));
    clcnn_context *other = ts_context_create();
    TS_ASSERT_STATUS(other, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn__init_uniform(other, tensor, 0.0f, 1.0f, 1, 2));
    clcnn_context_destroy(other);
    /* Nothing was drawn by the refused calls. */
    float values[4];
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tensor, 0, values, n));
    for (size_t e = 0; e < n; e++)
        assert_true(values[e] == 0.5f);
    clcnn_tensor_destroy(tensor);
}

/* -------------------------------------------------------------- a network */

static clcnn_net *small_net(clcnn_context *ctx) {
    size_t dims[3] = {2, 5, 4};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv", 3, 3, 3, NULL, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc", 7, 1));
    return net;
}

static void check_parameters(clcnn_context *ctx, clcnn_net *net, uint64_t seed,
                             const double *fan_in) {
    for (size_t i = 0; i < clcnn_net_parameter_count(net); i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        float bound = (float)(1.0 / sqrt(fan_in[i]));
        check_drawn(p.value, p.name, -bound, bound, seed, (UINT64_C(1) << 63) + i);
    }
}

static void test_init_matches_reference(void **state) {
    clcnn_context *ctx = *state;
    clcnn_net *net = small_net(ctx);
    /* conv: 2 * 3 * 3 inputs per output; fc: 3 * 3 * 2 = 18 features. */
    const double fan_in[4] = {18, 18, 18, 18};
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 99));
    assert_int_equal(clcnn_net_parameter_count(net), 4);
    check_parameters(ctx, net, 99, fan_in);
    TS_ASSERT_OK(ctx, clcnn_net_init(net, UINT64_C(0x123456789abcdef)));
    check_parameters(ctx, net, UINT64_C(0x123456789abcdef), fan_in);
    clcnn_net_destroy(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_matches_reference),
        cmocka_unit_test(test_op_writes_its_view_only),
        cmocka_unit_test(test_op_bad_arguments),
        cmocka_unit_test(test_init_matches_reference),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
