/* Parameter initialisation kernel (cl/init.cl through clcnn_net_init): each
 * weight equals low + u (high - low) with u from the host reference Philox
 * stream (seed, 2^63 + parameter index), bit for bit, on shapes small
 * enough for Oclgrind; and a different seed gives different values. */
#include <math.h>
#include <stdlib.h>

#include "support/test_support.h"

#include "clcnn/net.h"
#include "ref/philox_ref.h"

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
        float *values = ts_tensor_read_all(p.value);
        float bound = (float)(1.0 / sqrt(fan_in[i]));
        for (size_t e = 0; e < clcnn_tensor_numel(p.value); e++) {
            uint32_t word = philox_ref_stream_word(seed, (UINT64_C(1) << 63) + i, e);
            float u = (float)(word >> 8) * 0x1.0p-24f;
            float scaled = u * (bound - -bound);
            float expected = -bound + scaled;
            if (values[e] != expected)
                fail_msg("%s[%zu] = %.9g, expected %.9g", p.name, e, (double)values[e],
                         (double)expected);
        }
        free(values);
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
        cmocka_unit_test_setup_teardown(test_init_matches_reference, ts_setup_context,
                                        ts_teardown_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
