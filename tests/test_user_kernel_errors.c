/* User kernels (include/clcnn/kernel.h): the failures that the driver
 * reports, each with its status and a message that names the public
 * function: a source that does not build (with the build log), kernel and
 * program names that are not there, an argument value of the wrong size.
 * Not a KERNEL test: Oclgrind's API check counts every call it refuses as
 * a problem, and these cases are made of refused calls
 * (test_user_kernel.c covers the rest, under Oclgrind too). */
#include "clcnn.h"
#include "support/test_support.h"

/* x[i] += value for i < count. */
static const char add_source[] =
    "__kernel void user_add(__global float *x, float value, uint count) {\n"
    "    uint i = get_global_id(0);\n"
    "    if (i < count)\n"
    "        x[i] += value;\n"
    "}\n";

/* A source that does not compile: BUILD_FAILED, the driver's log (which
 * names the undeclared identifier) in the message. */
static void test_build_failure(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = NULL;
    const char *broken = "__kernel void broken(__global float *x) { x[0] = undeclared_thing; }\n";
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_BUILD_FAILED,
                     clcnn_kernel_create(ctx, broken, "-DUNUSED=1", "broken", &kernel));
    assert_null(kernel);
    const char *message = clcnn_context_last_error(ctx);
    TS_ASSERT_CONTAINS(message, "clcnn_kernel_create: ");
    TS_ASSERT_CONTAINS(message, "user:broken");
    TS_ASSERT_CONTAINS(message, "-DUNUSED=1");
    TS_ASSERT_CONTAINS(message, "build log:");
    TS_ASSERT_CONTAINS(message, "undeclared_thing");
}

/* Names that are not there: NOT_FOUND, naming them; names that are not C
 * identifiers and missing text: INVALID_ARGUMENT. Nothing is made. */
static void test_missing_names(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND,
                     clcnn_kernel_create(ctx, add_source, NULL, "user_sub", &kernel));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_kernel_create: ");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "user_sub");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND,
                     clcnn_kernel_create_builtin(ctx, "nothing.cl", NULL, "k", &kernel));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_kernel_create_builtin: ");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "nothing.cl");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_NOT_FOUND,
                     clcnn_kernel_create_builtin(ctx, "util.cl", NULL, "no_such_kernel", &kernel));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "no_such_kernel");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_create(ctx, add_source, NULL, "user add", &kernel));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "not a C identifier");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_create(ctx, NULL, NULL, "user_add", &kernel));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_create_builtin(ctx, "util.cl", NULL, NULL, &kernel));
    assert_null(kernel);
}

/* A value the driver refuses (the float argument given a ulong's 8 bytes)
 * fails the launch with the argument's index. */
static void test_wrong_argument_size(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn_kernel_create(ctx, add_source, NULL, "user_add", &kernel));
    const size_t n = 4, global = 4;
    clcnn_tensor *x = ts_tensor_filled(ctx, 1, &n, 0.0f);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_ulong(kernel, 1, 1));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OPENCL, clcnn_kernel_launch(kernel, 1, &global, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_kernel_launch: ");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "kernel 'user_add', argument 1");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "CL_INVALID_ARG_SIZE");
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_failure),
        cmocka_unit_test(test_missing_names),
        cmocka_unit_test(test_wrong_argument_size),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
