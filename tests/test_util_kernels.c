/* The kernels of cl/util.cl, launched through the internal program cache on
 * awkward sizes. Also runs under Oclgrind. */
#include "support/test_support.h"

static int setup(void **state) {
    clcnn_context *ctx = NULL;
    if (clcnn_context_create(NULL, &ctx) != CLCNN_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state) {
    clcnn_context_destroy(*state);
    return 0;
}

static void test_copy_float4_one(void **state) {
    ts_check_copy_float4(*state, NULL, 1);
}

static void test_copy_float4_seven(void **state) {
    ts_check_copy_float4(*state, NULL, 7);
}

static void test_copy_float4_thousand(void **state) {
    ts_check_copy_float4(*state, NULL, 1000);
}

/* The kernel handle is created once and then reused. */
static void test_kernel_reused(void **state) {
    clcnn_context *ctx = *state;
    cl_kernel first = NULL, second = NULL;
    TS_ASSERT_OK(ctx, clcnn__kernel_get(ctx, "util.cl", NULL, "copy_float4", &first));
    TS_ASSERT_OK(ctx, clcnn__kernel_get(ctx, "util.cl", NULL, "copy_float4", &second));
    assert_ptr_equal(first, second);
}

static void test_empty_kernel(void **state) {
    clcnn_context *ctx = *state;
    cl_kernel kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn__kernel_get(ctx, "util.cl", NULL, "empty_kernel", &kernel));
    cl_uint args = 99;
    assert_int_equal(clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof args, &args, NULL),
                     CL_SUCCESS);
    assert_int_equal(args, 0);
    size_t global = 1;
    TS_ASSERT_OK(ctx, clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL));
    global = 256;
    TS_ASSERT_OK(ctx, clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_float4_one),      cmocka_unit_test(test_copy_float4_seven),
        cmocka_unit_test(test_copy_float4_thousand), cmocka_unit_test(test_kernel_reused),
        cmocka_unit_test(test_empty_kernel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
