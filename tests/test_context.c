/* Contexts: creation and its failures, options, the CLCNN_DEVICE variable,
 * last-error handling, statistics and the OpenCL interop getters. */
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

/* The index the default selection gives, and the list's facts for it. */
static clcnn_device_info default_device_info(void) {
    clcnn_device_list *list = NULL;
    TS_ASSERT_OK(NULL, clcnn_device_list_create(&list));
    size_t index = 0;
    TS_ASSERT_OK(NULL, clcnn_device_list_select(list, getenv("CLCNN_DEVICE"), NULL, 0, &index));
    clcnn_device_info info;
    TS_ASSERT_OK(NULL, clcnn_device_list_get(list, index, &info));
    clcnn_device_list_destroy(list);
    return info;
}

static void test_create_null_options(void **state) {
    (void)state;
    clcnn_context *ctx = NULL;
    TS_ASSERT_OK(NULL, clcnn_context_create(NULL, &ctx));
    assert_non_null(ctx);
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_context_destroy(ctx);
}

static void test_options_default(void **state) {
    (void)state;
    clcnn_context_options options = clcnn_context_options_default();
    assert_null(options.device);
    assert_int_equal(options.enable_profiling, 0);
    assert_int_equal(options.disk_cache, CLCNN_CACHE_DEFAULT);
    assert_null(options.cache_dir);
    assert_null(options.error_buffer);
    assert_int_equal(options.error_buffer_size, 0);
}

static void test_create_unknown_device(void **state) {
    (void)state;
    char reason[2048];
    memset(reason, 'x', sizeof reason);
    clcnn_context_options options = clcnn_context_options_default();
    options.device = "nonexistent";
    options.error_buffer = reason;
    options.error_buffer_size = sizeof reason;
    clcnn_context *ctx = (clcnn_context *)&options; /* anything non-NULL */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND, clcnn_context_create(&options, &ctx));
    assert_null(ctx);
    assert_non_null(memchr(reason, '\0', sizeof reason));
    TS_ASSERT_CONTAINS(reason, "nonexistent");
    TS_ASSERT_CONTAINS(reason, default_device_info().device_name);

    /* A small error buffer is truncated and stays terminated. */
    char small[8];
    memset(small, 'x', sizeof small);
    options.error_buffer = small;
    options.error_buffer_size = 5;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND, clcnn_context_create(&options, &ctx));
    assert_null(ctx);
    assert_int_equal(strlen(small), 4);
    assert_int_equal(small[5], 'x');
}

static void test_device_env(void **state) {
    (void)state;
    ts_saved_env saved;
    clcnn_context *ctx = NULL;
    char reason[1024] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.error_buffer = reason;
    options.error_buffer_size = sizeof reason;

    /* "cpu" works where a CPU device exists (POCL). */
    clcnn_device_list *list = NULL;
    TS_ASSERT_OK(NULL, clcnn_device_list_create(&list));
    size_t cpu_index = 0;
    int have_cpu = clcnn_device_list_select(list, "cpu", NULL, 0, &cpu_index) == CLCNN_OK;
    clcnn_device_info cpu_info;
    memset(&cpu_info, 0, sizeof cpu_info);
    if (have_cpu)
        TS_ASSERT_OK(NULL, clcnn_device_list_get(list, cpu_index, &cpu_info));
    clcnn_device_list_destroy(list);

    ts_env_set(&saved, "CLCNN_DEVICE", "cpu");
    clcnn_status status = clcnn_context_create(&options, &ctx);
    ts_env_restore(&saved);
    if (have_cpu) {
        TS_ASSERT_STATUS(NULL, CLCNN_OK, status);
        clcnn_device_info info = ts_device_info(ctx);
        assert_int_equal(info.type, CLCNN_DEVICE_TYPE_CPU);
        assert_string_equal(info.device_name, cpu_info.device_name);
        clcnn_context_destroy(ctx);
    } else {
        TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND, status);
    }

    /* A bogus value fails, and says which value. */
    ts_env_set(&saved, "CLCNN_DEVICE", "bogus");
    ctx = NULL;
    status = clcnn_context_create(&options, &ctx);
    clcnn_context *explicit_ctx = NULL;
    options.device = "0:0"; /* an explicit choice wins over the variable */
    clcnn_status explicit_status = clcnn_context_create(&options, &explicit_ctx);
    ts_env_restore(&saved);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND, status);
    assert_null(ctx);
    TS_ASSERT_OK(NULL, explicit_status);
    assert_non_null(explicit_ctx);
    clcnn_device_info info = ts_device_info(explicit_ctx);
    assert_int_equal(info.platform_index, 0);
    assert_int_equal(info.device_index, 0);
    clcnn_context_destroy(explicit_ctx);

    options.device = NULL;
    options.error_buffer = reason;
    ts_env_set(&saved, "CLCNN_DEVICE", "bogus");
    memset(reason, 0, sizeof reason);
    status = clcnn_context_create(&options, &ctx);
    ts_env_restore(&saved);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND, status);
    TS_ASSERT_CONTAINS(reason, "bogus");
}

static void test_create_null_out(void **state) {
    (void)state;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_create(NULL, NULL));
    clcnn_context_options options = clcnn_context_options_default();
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_create(&options, NULL));
}

static void test_last_error(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    assert_non_null(clcnn_context_last_error(ctx));
    assert_string_equal(clcnn_context_last_error(ctx), "");
    clcnn_tensor *tensor = NULL;
    size_t dims[1] = {4};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_create(ctx, 0, dims, &tensor));
    assert_non_null(clcnn_context_last_error(ctx));
    assert_true(strlen(clcnn_context_last_error(ctx)) > 0);
    clcnn_context_destroy(ctx);
}

static void test_device_info_matches_list(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    clcnn_device_info got = ts_device_info(ctx);
    clcnn_device_info expected = default_device_info();
    assert_int_equal(got.platform_index, expected.platform_index);
    assert_int_equal(got.device_index, expected.device_index);
    assert_string_equal(got.device_name, expected.device_name);
    assert_string_equal(got.platform_name, expected.platform_name);
    assert_string_equal(got.driver_version, expected.driver_version);
    assert_int_equal(got.type, expected.type);
    assert_int_equal(got.global_mem_bytes, expected.global_mem_bytes);
    assert_int_equal(got.max_alloc_bytes, expected.max_alloc_bytes);
    assert_int_equal(got.max_work_group_size, expected.max_work_group_size);
    /* A context is only ever made on a device libclcnn can use. */
    assert_int_equal(got.supported, 1);
    assert_string_equal(got.unsupported_reason, "");
    assert_int_equal(expected.supported, 1);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_device_info(ctx, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_device_info(NULL, &got));
    clcnn_context_destroy(ctx);
}

static void test_finish_and_destroy(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_context_destroy(ctx);
    clcnn_context_destroy(NULL);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_finish(NULL));
}

static void test_stats_arguments(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    clcnn_memory_stats memory;
    clcnn_cache_stats cache;
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &memory));
    TS_ASSERT_OK(ctx, clcnn_context_cache_stats(ctx, &cache));
    assert_int_equal(memory.bytes_in_use, 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_memory_stats(ctx, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_memory_stats(NULL, &memory));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_cache_stats(ctx, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_cache_stats(NULL, &cache));
    clcnn_context_trim_pool(NULL);
    clcnn_context_destroy(ctx);
}

static void test_interop(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    cl_context cl = clcnn_context_cl_context(ctx);
    cl_device_id device = clcnn_context_cl_device(ctx);
    cl_command_queue queue = clcnn_context_cl_queue(ctx);
    assert_non_null(cl);
    assert_non_null(device);
    assert_non_null(queue);
    cl_context queue_context = NULL;
    cl_device_id queue_device = NULL;
    cl_command_queue_properties properties = 0;
    assert_int_equal(
        clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof queue_context, &queue_context, NULL),
        CL_SUCCESS);
    assert_int_equal(
        clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof queue_device, &queue_device, NULL),
        CL_SUCCESS);
    assert_int_equal(
        clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof properties, &properties, NULL),
        CL_SUCCESS);
    assert_ptr_equal(queue_context, cl);
    assert_ptr_equal(queue_device, device);
    assert_int_equal(properties & CL_QUEUE_PROFILING_ENABLE, 0);
    assert_int_equal(properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, 0);
    char name[CLCNN_NAME_MAX] = "";
    assert_int_equal(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL), CL_SUCCESS);
    assert_string_equal(name, ts_device_info(ctx).device_name);
    clcnn_context_destroy(ctx);
}

static void test_profiling_option(void **state) {
    (void)state;
    clcnn_context_options options = clcnn_context_options_default();
    options.enable_profiling = 1;
    clcnn_context *ctx = ts_context_create_with(&options);
    cl_command_queue_properties properties = 0;
    assert_int_equal(clGetCommandQueueInfo(clcnn_context_cl_queue(ctx), CL_QUEUE_PROPERTIES,
                                           sizeof properties, &properties, NULL),
                     CL_SUCCESS);
    assert_int_not_equal(properties & CL_QUEUE_PROFILING_ENABLE, 0);
    clcnn_context_destroy(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_null_options),      cmocka_unit_test(test_options_default),
        cmocka_unit_test(test_create_unknown_device),    cmocka_unit_test(test_device_env),
        cmocka_unit_test(test_create_null_out),          cmocka_unit_test(test_last_error),
        cmocka_unit_test(test_device_info_matches_list), cmocka_unit_test(test_finish_and_destroy),
        cmocka_unit_test(test_stats_arguments),          cmocka_unit_test(test_interop),
        cmocka_unit_test(test_profiling_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
