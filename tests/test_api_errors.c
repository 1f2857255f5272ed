/* Every public function that can fail on a valid handle explains its own
 * failure: after an unrelated failure has left a stale message, each is
 * called with a bad argument and must return its documented status with a
 * fresh message that names the function. One row of API_ERROR_CASES per
 * function; the functions that cannot fail on a valid handle are listed,
 * with the reason, in exempt[]. test_every_public_function_is_listed reads
 * every CLCNN_API declaration of include/clcnn.h and include/clcnn/ *.h and
 * fails for one that is in neither list (or for a listed name that is not
 * declared), so a new function cannot be forgotten. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "clcnn.h"
#include "clcnn/opencl.h"

/* ---------------------------------------------------------------- fixtures */

static clcnn_context *ctx;
static clcnn_tensor *t4, *t4_out, *vec4, *vec5, *grad4, *logits, *loss;
static clcnn_net *open_net, *built_net;
static clcnn_labels *labels;
static clcnn_optimizer *optimizer;
static clcnn_dropout_mask *mask;
static clcnn_dropout_state dropout_state;
static char *temp_dir, *not_a_dir;
static float host[64];
static const size_t dims4[4] = {2, 3, 4, 4}, five = 5;
static const size_t conv_x[4] = {1, 1, 4, 4}, conv_w[4] = {1, 1, 3, 3};
static size_t count;
static clcnn_tensor *scratch;
static clcnn_net *scratch_net;
static clcnn_event *scratch_event;
static clcnn_profile *scratch_profile;
static clcnn_optimizer *scratch_optimizer;
static clcnn_dropout_mask *scratch_mask;
static clcnn_labels *scratch_labels;
static clcnn_net_tensor scratch_parameter;
static clcnn_optimizer_state scratch_state;
static clcnn_tune_result tune_results[8];
static size_t out_dims[4];
static clcnn_tensor *concat_grads[2]; /* t4 and t4_out: too many channels for t4_out */
static clcnn_kernel *copy_kernel;     /* util.cl's copy_float4: three arguments */
static clcnn_kernel *scratch_kernel;
static const size_t eight = 8;

static clcnn_tensor *tensor(size_t ndim, const size_t *dims) {
    clcnn_tensor *t = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, ndim, dims, &t));
    return t;
}

static int setup(void **state) {
    (void)state;
    ctx = ts_context_create();
    t4 = tensor(4, dims4);
    t4_out = tensor(4, dims4);
    size_t four = 4, two_by_ten[2] = {2, 10}, one = 1;
    vec4 = tensor(1, &four);
    vec5 = tensor(1, &five);
    logits = tensor(2, two_by_ten);
    loss = tensor(1, &one);
    size_t sample[3] = {1, 8, 8};
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, sample, &open_net));
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, sample, &built_net));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(built_net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(built_net, "fc", 10, 1));
    TS_ASSERT_OK(ctx, clcnn_net_init(built_net, 1));
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, 2, 10, &labels));
    grad4 = tensor(1, &four);
    concat_grads[0] = t4;
    concat_grads[1] = t4_out;
    clcnn_tensor *parameters[1] = {vec4}, *grads[1] = {grad4};
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, NULL, 1, parameters, grads, &optimizer));
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_create(ctx, 96, NULL, &mask));
    TS_ASSERT_OK(ctx,
                 clcnn_kernel_create_builtin(ctx, "util.cl", NULL, "copy_float4", &copy_kernel));
    dropout_state = clcnn_dropout_state_init(1);
    temp_dir = ts_temp_dir_create();
    size_t length = strlen(temp_dir) + 32;
    not_a_dir = ts_malloc(length);
    snprintf(not_a_dir, length, "%s/file", temp_dir);
    FILE *file = fopen(not_a_dir, "w");
    assert_non_null(file);
    fclose(file);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    clcnn_optimizer_destroy(optimizer);
    clcnn_dropout_mask_destroy(mask);
    clcnn_kernel_destroy(copy_kernel);
    clcnn_labels_destroy(labels);
    clcnn_net_destroy(open_net);
    clcnn_net_destroy(built_net);
    clcnn_tensor *tensors[] = {t4, t4_out, vec4, vec5, grad4, logits, loss};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
    ts_temp_dir_remove(temp_dir);
    free(not_a_dir);
    clcnn_context_destroy(ctx);
    return 0;
}

/* ------------------------------------------------------------------- cases */

static clcnn_activation_params bad_activation(void) {
    clcnn_activation_params params = clcnn_activation_params_default();
    params.kind = (clcnn_activation)99;
    return params;
}

static clcnn_status profile_start_without_profiling(void) {
    return clcnn_context_profile_start(ctx); /* ctx was made without enable_profiling */
}

static clcnn_status optimizer_step_at_the_last_step(void) {
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_step(optimizer, UINT64_MAX));
    clcnn_status status = clcnn_optimizer_step(optimizer);
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_step(optimizer, 0));
    return status;
}

static clcnn_status add_activation_of_unknown_kind(void) {
    clcnn_activation_params params = bad_activation();
    return clcnn_net_add_activation(open_net, &params);
}

static clcnn_status activation_backward_unknown_grad_mode(void) {
    clcnn_activation_params params = clcnn_activation_params_default();
    return clcnn_activation_backward(ctx, &params, t4, t4, t4_out, (clcnn_grad_mode)99);
}

/* X(function, status it must return, the bad call). Messages go to ctx,
 * the context of every handle used. */
#define API_ERROR_CASES(X)                                                                         \
    X(clcnn_context_device_info, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_context_device_info(ctx, NULL))                                                        \
    X(clcnn_context_memory_stats, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_context_memory_stats(ctx, NULL))                                                       \
    X(clcnn_context_cache_stats, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_context_cache_stats(ctx, NULL))                                                        \
    X(clcnn_tensor_create, CLCNN_ERROR_INVALID_SHAPE,                                              \
      clcnn_tensor_create(ctx, 0, dims4, &scratch))                                                \
    X(clcnn_tensor_create_uninitialized, CLCNN_ERROR_INVALID_SHAPE,                                \
      clcnn_tensor_create_uninitialized(ctx, 0, dims4, &scratch))                                  \
    X(clcnn_tensor_reshape, CLCNN_ERROR_INVALID_SHAPE,                                             \
      clcnn_tensor_reshape(vec4, 1, &five, &scratch))                                              \
    X(clcnn_tensor_write, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_write(vec4, 0, NULL, 4))      \
    X(clcnn_tensor_read, CLCNN_ERROR_OUT_OF_RANGE, clcnn_tensor_read(vec4, 4, host, 1))            \
    X(clcnn_tensor_copy, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_copy(vec4, vec5))                 \
    X(clcnn_tensor_read_async, CLCNN_ERROR_INVALID_ARGUMENT,                                       \
      clcnn_tensor_read_async(vec4, 0, host, 4, NULL))                                             \
    X(clcnn_tensor_upload_async, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_tensor_upload_async(vec4, 0, host, 4, NULL, NULL))                                     \
    X(clcnn_context_marker, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_marker(ctx, NULL))         \
    X(clcnn_context_wait_event, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_wait_event(ctx, NULL)) \
    X(clcnn_activation_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                      \
      clcnn_activation_forward(ctx, NULL, t4, t4_out))                                             \
    X(clcnn_activation_backward, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      activation_backward_unknown_grad_mode())                                                     \
    X(clcnn_batchnorm_state_init, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_batchnorm_state_init(ctx, 3, NULL))                                                    \
    X(clcnn_batchnorm_forward_train, CLCNN_ERROR_INVALID_ARGUMENT,                                 \
      clcnn_batchnorm_forward_train(ctx, NULL, t4, NULL, NULL, NULL, t4_out, NULL))                \
    X(clcnn_batchnorm_forward_eval, CLCNN_ERROR_INVALID_ARGUMENT,                                  \
      clcnn_batchnorm_forward_eval(ctx, NULL, t4, NULL, NULL, NULL, t4_out))                       \
    X(clcnn_batchnorm_backward, CLCNN_ERROR_INVALID_ARGUMENT,                                      \
      clcnn_batchnorm_backward(ctx, NULL, t4, NULL, t4, NULL, NULL, t4_out, NULL))                 \
    X(clcnn_batchnorm_eval_affine, CLCNN_ERROR_INVALID_ARGUMENT,                                   \
      clcnn_batchnorm_eval_affine(ctx, NULL, NULL, NULL, NULL, vec4, vec5))                        \
    X(clcnn_batchnorm_fold_into_conv, CLCNN_ERROR_INVALID_ARGUMENT,                                \
      clcnn_batchnorm_fold_into_conv(ctx, NULL, NULL, NULL, NULL, t4, NULL, t4_out, vec4))         \
    X(clcnn_conv2d_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                          \
      clcnn_conv2d_forward(ctx, NULL, t4, t4, NULL, t4_out))                                       \
    X(clcnn_conv2d_forward_fused, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_conv2d_forward_fused(ctx, NULL, t4, t4, NULL, NULL, t4_out))                           \
    X(clcnn_conv2d_backward_data, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_conv2d_backward_data(ctx, NULL, t4, t4, t4_out, CLCNN_GRAD_OVERWRITE))                 \
    X(clcnn_conv2d_backward_weights, CLCNN_ERROR_INVALID_ARGUMENT,                                 \
      clcnn_conv2d_backward_weights(ctx, NULL, t4, t4, t4_out, NULL, CLCNN_GRAD_OVERWRITE))        \
    X(clcnn_dense_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                           \
      clcnn_dense_forward(ctx, NULL, logits, NULL, logits))                                        \
    X(clcnn_dense_backward_data, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_dense_backward_data(ctx, NULL, logits, logits, CLCNN_GRAD_OVERWRITE))                  \
    X(clcnn_dense_backward_weights, CLCNN_ERROR_INVALID_ARGUMENT,                                  \
      clcnn_dense_backward_weights(ctx, NULL, logits, logits, NULL, CLCNN_GRAD_OVERWRITE))         \
    X(clcnn_dropout_mask_create, CLCNN_ERROR_INVALID_SHAPE,                                        \
      clcnn_dropout_mask_create(ctx, 0, NULL, &scratch_mask))                                      \
    X(clcnn_dropout_mask_get_info, CLCNN_ERROR_INVALID_ARGUMENT,                                   \
      clcnn_dropout_mask_get_info(mask, NULL))                                                     \
    X(clcnn_dropout_mask_read, CLCNN_ERROR_INVALID_ARGUMENT,                                       \
      clcnn_dropout_mask_read(mask, NULL, 0))                                                      \
    X(clcnn_dropout_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                         \
      clcnn_dropout_forward(ctx, &dropout_state, 1.5f, 1, t4, t4_out, NULL))                       \
    X(clcnn_dropout_backward, CLCNN_ERROR_INVALID_ARGUMENT,                                        \
      clcnn_dropout_backward(ctx, NULL, t4, t4_out, CLCNN_GRAD_OVERWRITE))                         \
    X(clcnn_augment_crop_flip, CLCNN_ERROR_INVALID_ARGUMENT,                                       \
      clcnn_augment_crop_flip(ctx, NULL, t4, t4_out))                                              \
    X(clcnn_add, CLCNN_ERROR_INVALID_SHAPE, clcnn_add(ctx, vec4, vec5, vec4))                      \
    X(clcnn_scale, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_scale(ctx, NULL, 2.0f, vec4))               \
    X(clcnn_axpby, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_axpby(ctx, 1.0f, NULL, 1.0f, vec4))         \
    X(clcnn_residual_forward, CLCNN_ERROR_INVALID_SHAPE,                                           \
      clcnn_residual_forward(ctx, t4, vec4, 0, t4_out))                                            \
    X(clcnn_residual_backward, CLCNN_ERROR_INVALID_ARGUMENT,                                       \
      clcnn_residual_backward(ctx, 1, NULL, t4, t4_out, CLCNN_GRAD_OVERWRITE, NULL,                \
                              CLCNN_GRAD_OVERWRITE))                                               \
    X(clcnn_concat_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                          \
      clcnn_concat_forward(ctx, 1, (const clcnn_tensor *const *)&t4, t4_out))                      \
    X(clcnn_concat_backward, CLCNN_ERROR_INVALID_SHAPE,                                            \
      clcnn_concat_backward(ctx, t4_out, 2, concat_grads, CLCNN_GRAD_OVERWRITE))                   \
    X(clcnn_gemm, CLCNN_ERROR_INVALID_ARGUMENT,                                                    \
      clcnn_gemm(ctx, 0, 0, 1.0f, NULL, logits, 0.0f, logits))                                     \
    X(clcnn_net_create, CLCNN_ERROR_INVALID_SHAPE, clcnn_net_create(ctx, 0, dims4, &scratch_net))  \
    X(clcnn_net_add_conv2d, CLCNN_ERROR_INVALID_ARGUMENT,                                          \
      clcnn_net_add_conv2d(open_net, NULL, 4, 3, 3, NULL, 1))                                      \
    X(clcnn_net_add_batchnorm, CLCNN_ERROR_INVALID_ARGUMENT,                                       \
      clcnn_net_add_batchnorm(open_net, NULL, NULL))                                               \
    X(clcnn_net_add_activation, CLCNN_ERROR_INVALID_ARGUMENT, add_activation_of_unknown_kind())    \
    X(clcnn_net_add_pool2d, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_pool2d(open_net, NULL))    \
    X(clcnn_net_add_flatten, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_flatten(built_net))       \
    X(clcnn_net_add_dense, CLCNN_ERROR_INVALID_ARGUMENT,                                           \
      clcnn_net_add_dense(open_net, NULL, 4, 1))                                                   \
    X(clcnn_net_add_dropout, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_dropout(open_net, 2.0f))  \
    X(clcnn_net_add_adaptive_avg_pool, CLCNN_ERROR_INVALID_SHAPE,                                  \
      clcnn_net_add_adaptive_avg_pool(open_net, 0, 2))                                             \
    X(clcnn_net_add_global_avg_pool, CLCNN_ERROR_INVALID_ARGUMENT,                                 \
      clcnn_net_add_global_avg_pool(built_net))                                                    \
    X(clcnn_net_from, CLCNN_ERROR_OUT_OF_RANGE, clcnn_net_from(open_net, 999))                     \
    X(clcnn_net_add_residual, CLCNN_ERROR_OUT_OF_RANGE,                                            \
      clcnn_net_add_residual(open_net, 0, 999, CLCNN_FUSED_NONE))                                  \
    X(clcnn_net_add_concat, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_concat(open_net, NULL, 2)) \
    X(clcnn_net_create_from_checkpoint, CLCNN_ERROR_INVALID_ARGUMENT,                              \
      clcnn_net_create_from_checkpoint(ctx, NULL, &scratch_net))                                   \
    X(clcnn_net_create_seed, CLCNN_ERROR_INVALID_ARGUMENT,                                         \
      clcnn_net_create_seed(ctx, 1, 28, 28, 10, 0.5f, NULL))                                       \
    X(clcnn_net_create_resnet8, CLCNN_ERROR_INVALID_ARGUMENT,                                      \
      clcnn_net_create_resnet8(ctx, 1, 28, 28, 10, NULL))                                          \
    X(clcnn_net_init, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_init(open_net, 1))                   \
    X(clcnn_net_forward, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_forward(built_net, NULL, NULL))   \
    X(clcnn_net_loss, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_loss(built_net, NULL, loss))         \
    X(clcnn_net_backward, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_backward(built_net))             \
    X(clcnn_net_set_batchnorm_ops, CLCNN_ERROR_INVALID_ARGUMENT,                                   \
      clcnn_net_set_batchnorm_ops(built_net, &(clcnn_net_batchnorm_ops){NULL, NULL, NULL}))        \
    X(clcnn_net_zero_grad, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_zero_grad(open_net))            \
    X(clcnn_net_parameter, CLCNN_ERROR_OUT_OF_RANGE,                                               \
      clcnn_net_parameter(built_net, 999, &scratch_parameter))                                     \
    X(clcnn_net_save, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_save(built_net, NULL, NULL))         \
    X(clcnn_net_load, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_load(built_net, NULL))               \
    X(clcnn_net_create_folded, CLCNN_ERROR_INVALID_ARGUMENT,                                       \
      clcnn_net_create_folded(built_net, NULL))                                                    \
    X(clcnn_optimizer_create_sgd, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_optimizer_create_sgd(ctx, NULL, 0, NULL, NULL, &scratch_optimizer))                    \
    X(clcnn_optimizer_create_adam, CLCNN_ERROR_INVALID_ARGUMENT,                                   \
      clcnn_optimizer_create_adam(ctx, NULL, 0, NULL, NULL, &scratch_optimizer))                   \
    X(clcnn_optimizer_step, CLCNN_ERROR_SIZE_OVERFLOW, optimizer_step_at_the_last_step())          \
    X(clcnn_optimizer_set_lr, CLCNN_ERROR_INVALID_ARGUMENT,                                        \
      clcnn_optimizer_set_lr(optimizer, -1.0))                                                     \
    X(clcnn_optimizer_state_get, CLCNN_ERROR_OUT_OF_RANGE,                                         \
      clcnn_optimizer_state_get(optimizer, 999, &scratch_state))                                   \
    X(clcnn_pool2d_output_shape, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_pool2d_output_shape(ctx, NULL, dims4, out_dims))                                       \
    X(clcnn_pool2d_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                          \
      clcnn_pool2d_forward(ctx, NULL, t4, t4_out))                                                 \
    X(clcnn_pool2d_backward, CLCNN_ERROR_INVALID_ARGUMENT,                                         \
      clcnn_pool2d_backward(ctx, NULL, t4, t4, t4_out, CLCNN_GRAD_OVERWRITE))                      \
    X(clcnn_adaptive_avg_pool2d_output_shape, CLCNN_ERROR_INVALID_ARGUMENT,                        \
      clcnn_adaptive_avg_pool2d_output_shape(ctx, dims4, NULL, out_dims))                          \
    X(clcnn_adaptive_avg_pool2d_forward, CLCNN_ERROR_INVALID_ARGUMENT,                             \
      clcnn_adaptive_avg_pool2d_forward(ctx, t4, t4))                                              \
    X(clcnn_adaptive_avg_pool2d_backward, CLCNN_ERROR_INVALID_ARGUMENT,                            \
      clcnn_adaptive_avg_pool2d_backward(ctx, t4, t4_out, (clcnn_grad_mode)9))                     \
    X(clcnn_context_profile_start, CLCNN_ERROR_INVALID_ARGUMENT,                                   \
      profile_start_without_profiling())                                                           \
    X(clcnn_context_profile_stop, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_context_profile_stop(ctx, &scratch_profile))                                           \
    X(clcnn_context_check_timestamps, CLCNN_ERROR_INVALID_ARGUMENT,                                \
      clcnn_context_check_timestamps(ctx, NULL))                                                   \
    X(clcnn_context_launch_count, CLCNN_ERROR_INVALID_ARGUMENT,                                    \
      clcnn_context_launch_count(ctx, NULL))                                                       \
    X(clcnn_labels_create, CLCNN_ERROR_INVALID_ARGUMENT,                                           \
      clcnn_labels_create(ctx, 0, 10, &scratch_labels))                                            \
    X(clcnn_labels_write, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_write(labels, NULL, 2))       \
    X(clcnn_labels_upload_async, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_labels_upload_async(labels, NULL, 2, NULL, &scratch_event))                            \
    X(clcnn_softmax_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                         \
      clcnn_softmax_forward(ctx, NULL, logits))                                                    \
    X(clcnn_log_softmax_forward, CLCNN_ERROR_INVALID_ARGUMENT,                                     \
      clcnn_log_softmax_forward(ctx, NULL, logits))                                                \
    X(clcnn_softmax_cross_entropy_forward, CLCNN_ERROR_INVALID_ARGUMENT,                           \
      clcnn_softmax_cross_entropy_forward(ctx, logits, NULL, loss))                                \
    X(clcnn_softmax_cross_entropy_backward, CLCNN_ERROR_INVALID_ARGUMENT,                          \
      clcnn_softmax_cross_entropy_backward(ctx, logits, NULL, t4_out, CLCNN_GRAD_OVERWRITE))       \
    X(clcnn_conv2d_tune, CLCNN_ERROR_INVALID_ARGUMENT,                                             \
      clcnn_conv2d_tune(ctx, NULL, conv_x, conv_w, 0, tune_results, &count))                       \
    X(clcnn_gemm_tune, CLCNN_ERROR_INVALID_ARGUMENT,                                               \
      clcnn_gemm_tune(ctx, 4, 4, 4, 0, tune_results))                                              \
    X(clcnn_pointwise_tune, CLCNN_ERROR_INVALID_ARGUMENT,                                          \
      clcnn_pointwise_tune(ctx, 1024, 0, tune_results, &count))                                    \
    X(clcnn_context_save_tuning, CLCNN_ERROR_IO, clcnn_context_save_tuning(ctx, not_a_dir))        \
    X(clcnn_context_load_tuning, CLCNN_ERROR_NOT_FOUND, clcnn_context_load_tuning(ctx, temp_dir))  \
    X(clcnn_kernel_create, CLCNN_ERROR_INVALID_ARGUMENT,                                           \
      clcnn_kernel_create(ctx, NULL, NULL, "k", &scratch_kernel))                                  \
    X(clcnn_kernel_create_builtin, CLCNN_ERROR_NOT_FOUND,                                          \
      clcnn_kernel_create_builtin(ctx, "no_such.cl", NULL, "k", &scratch_kernel))                  \
    X(clcnn_kernel_set_tensor, CLCNN_ERROR_OUT_OF_RANGE,                                           \
      clcnn_kernel_set_tensor(copy_kernel, 3, vec4))                                               \
    X(clcnn_kernel_set_mem, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_mem(copy_kernel, 3, NULL))  \
    X(clcnn_kernel_set_int, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_int(copy_kernel, 3, -1))    \
    X(clcnn_kernel_set_uint, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_uint(copy_kernel, 3, 1))   \
    X(clcnn_kernel_set_ulong, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_ulong(copy_kernel, 3, 1)) \
    X(clcnn_kernel_set_float, CLCNN_ERROR_OUT_OF_RANGE,                                            \
      clcnn_kernel_set_float(copy_kernel, 3, 1.0f))                                                \
    X(clcnn_kernel_set_local, CLCNN_ERROR_INVALID_ARGUMENT,                                        \
      clcnn_kernel_set_local(copy_kernel, 0, 0))                                                   \
    X(clcnn_kernel_work_group_limit, CLCNN_ERROR_INVALID_ARGUMENT,                                 \
      clcnn_kernel_work_group_limit(copy_kernel, NULL))                                            \
    X(clcnn_kernel_launch, CLCNN_ERROR_INVALID_ARGUMENT,                                           \
      clcnn_kernel_launch(copy_kernel, 0, &eight, NULL))                                           \
    X(clcnn_kernel_launch_cl_event, CLCNN_ERROR_INVALID_ARGUMENT,                                  \
      clcnn_kernel_launch_cl_event(copy_kernel, 1, &eight, NULL, NULL))                            \
    X(clcnn_context_device_traits, CLCNN_ERROR_INVALID_ARGUMENT,                                   \
      clcnn_context_device_traits(ctx, NULL))

/* One function per case, then the table. */
#define API_ERROR_CALL(function, status, call)  \
    static clcnn_status call_##function(void) { \
        return call;                            \
    }
API_ERROR_CASES(API_ERROR_CALL)

typedef struct api_error_case {
    const char *function;
    clcnn_status status;
    clcnn_status (*call)(void);
} api_error_case;

#define API_ERROR_ROW(function, status, call) {#function, status, call_##function},
static const api_error_case cases[] = {API_ERROR_CASES(API_ERROR_ROW)};

/* The MPI component's functions (clcnn/dist.h) are in libclcnn_dist, which
 * this test does not link (it is optional), and record their messages in
 * the clcnn_dist, not the context: test_dist_api checks every one of them
 * the way this test checks the core's. */
#define DIST_REASON "libclcnn_dist: messages in clcnn_dist_last_error, checked by test_dist_api"

/* Functions that cannot fail on a valid handle, or have no context to
 * record a message in, and why. */
static const struct {
    const char *function, *reason;
} exempt[] = {
    {"clcnn_version", "cannot fail"},
    {"clcnn_status_name", "cannot fail"},
    {"clcnn_status_string", "cannot fail"},
    {"clcnn_device_type_name", "cannot fail"},
    {"clcnn_device_list_create", "no context (status only: NO_PLATFORM)"},
    {"clcnn_device_list_destroy", "destroy"},
    {"clcnn_device_list_count", "no status"},
    {"clcnn_device_list_get", "no context (status only)"},
    {"clcnn_device_list_select", "no context: its message goes to the caller's buffer"},
    {"clcnn_context_options_default", "cannot fail"},
    {"clcnn_context_create", "no context yet: the reason goes to options->error_buffer"},
    {"clcnn_context_destroy", "destroy"},
    {"clcnn_context_last_error", "cannot fail"},
    {"clcnn_context_finish", "fails only when the device reports an error"},
    {"clcnn_context_prepare_programs", "fails only when a built-in program does not build"},
    {"clcnn_context_trim_pool", "no status"},
    {"clcnn_tensor_destroy", "destroy"},
    {"clcnn_tensor_context", "no status"},
    {"clcnn_tensor_ndim", "no status"},
    {"clcnn_tensor_dim", "no status (0 past the last axis)"},
    {"clcnn_tensor_numel", "no status"},
    {"clcnn_tensor_fill", "fails only when the device reports an error"},
    {"clcnn_event_wait", "fails only when the device reports an error"},
    {"clcnn_event_destroy", "destroy"},
    {"clcnn_context_cl_context", "no status"},
    {"clcnn_context_cl_device", "no status"},
    {"clcnn_context_cl_queue", "no status"},
    {"clcnn_tensor_cl_mem", "no status"},
    {"clcnn_activation_params_default", "cannot fail"},
    {"clcnn_batchnorm_params_default", "cannot fail"},
    {"clcnn_batchnorm_state_release", "destroy"},
    {"clcnn_conv2d_params_default", "cannot fail"},
    {"clcnn_conv2d_epilogue_default", "cannot fail"},
    {"clcnn_conv2d_output_shape", "no context (status only)"},
    {"clcnn_dropout_state_init", "cannot fail"},
    {"clcnn_augment_params_default", "cannot fail"},
    {"clcnn_dropout_mask_options_default", "cannot fail"},
    {"clcnn_dropout_mask_destroy", "destroy"},
    {"clcnn_idx_load", "no context: its message goes to the caller's buffer"},
    {"clcnn_idx_parse", "no context: its message goes to the caller's buffer"},
    {"clcnn_idx_destroy", "destroy"},
    {"clcnn_net_destroy", "destroy"},
    {"clcnn_net_set_training", "cannot fail on a valid network"},
    {"clcnn_net_set_gradient_callback", "cannot fail on a valid network"},
    {"clcnn_net_set_first_sample", "cannot fail on a valid network"},
    {"clcnn_net_parameter_count", "no status"},
    {"clcnn_net_output_features", "no status"},
    {"clcnn_net_layer_count", "no status"},
    {"clcnn_net_last_node", "no status"},
    {"clcnn_net_layer_kind", "no status (CLCNN_LAYER_NONE for a bad index, test_net)"},
    {"clcnn_sgd_params_default", "cannot fail"},
    {"clcnn_adam_params_default", "cannot fail"},
    {"clcnn_adamw_params_default", "cannot fail"},
    {"clcnn_optimizer_destroy", "destroy"},
    {"clcnn_optimizer_get_lr", "no status"},
    {"clcnn_optimizer_param_count", "no status"},
    {"clcnn_optimizer_get_step", "no status"},
    {"clcnn_optimizer_set_step", "cannot fail on a valid optimizer"},
    {"clcnn_optimizer_state_count", "no status"},
    {"clcnn_lr_step", "no status"},
    {"clcnn_lr_cosine", "no status"},
    {"clcnn_pool2d_params_default", "cannot fail"},
    {"clcnn_profile_destroy", "destroy"},
    {"clcnn_profile_count", "no status"},
    {"clcnn_profile_entry_get", "no context: a profile is independent of its context"},
    {"clcnn_profile_find", "no context: a profile is independent of its context"},
    {"clcnn_profile_totals_get", "no context: a profile is independent of its context"},
    {"clcnn_dtype_name", "cannot fail"},
    {"clcnn_dtype_size", "cannot fail"},
    {"clcnn_safetensors_create", "no context (status only)"},
    {"clcnn_safetensors_destroy", "destroy"},
    {"clcnn_safetensors_add", "no context (status only)"},
    {"clcnn_safetensors_set_metadata", "no context (status only)"},
    {"clcnn_safetensors_save", "no context: its message goes to the caller's buffer"},
    {"clcnn_safetensors_load", "no context: its message goes to the caller's buffer"},
    {"clcnn_safetensors_parse", "no context: its message goes to the caller's buffer"},
    {"clcnn_safetensors_count", "no status"},
    {"clcnn_safetensors_at", "no status"},
    {"clcnn_safetensors_find", "no status"},
    {"clcnn_safetensors_metadata", "no status"},
    {"clcnn_labels_destroy", "destroy"},
    {"clcnn_labels_count", "no status"},
    {"clcnn_labels_num_classes", "no status"},
    {"clcnn_context_clear_tuning", "cannot fail on a valid context"},
    {"clcnn_dist_options_default", DIST_REASON},
    {"clcnn_dist_create", DIST_REASON},
    {"clcnn_dist_destroy", DIST_REASON},
    {"clcnn_dist_last_error", DIST_REASON},
    {"clcnn_dist_rank", DIST_REASON},
    {"clcnn_dist_size", DIST_REASON},
    {"clcnn_dist_split", DIST_REASON},
    {"clcnn_dist_add_gradients", DIST_REASON},
    {"clcnn_dist_attach_net", DIST_REASON},
    {"clcnn_dist_grad_begin", DIST_REASON},
    {"clcnn_dist_grad_end", DIST_REASON},
    {"clcnn_dist_allreduce_grads", DIST_REASON},
    {"clcnn_dist_report_failure", DIST_REASON},
    {"clcnn_dist_broadcast", DIST_REASON},
    {"clcnn_dist_sum", DIST_REASON},
    {"clcnn_dist_broadcast_running_stats", DIST_REASON},
    {"clcnn_dist_batchnorm_forward_train", DIST_REASON},
    {"clcnn_dist_batchnorm_backward", DIST_REASON},
    {"clcnn_gemm_tune_key", "no context (status only)"},
    {"clcnn_default_cache_dir", "no context (status only)"},
    {"clcnn_kernel_destroy", "destroy"},
};

/* A failure whose message is unmistakable: a layer name with a '-' (dotted
 * names are module paths, so a '.' no longer fails). */
#define STALE_MARKER "stale-marker"

static void leave_stale_message(void) {
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_net_add_dense(open_net, STALE_MARKER, 1, 1));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), STALE_MARKER);
}

/* A failed call makes nothing. */
static void assert_nothing_made(void) {
    assert_null(scratch);
    assert_null(scratch_net);
    assert_null(scratch_event);
    assert_null(scratch_profile);
    assert_null(scratch_optimizer);
    assert_null(scratch_mask);
    assert_null(scratch_labels);
    assert_null(scratch_kernel);
}

/* What the message must contain: the function's name. The tuning file
 * functions of src/runtime/tuning.c still say "saving tuning:" and
 * "loading tuning:"; that file is reworked by issue 10's cache work, which
 * names them (then this exception goes). */
static const char *name_in_message(const api_error_case *c) {
    if (strcmp(c->function, "clcnn_context_save_tuning") == 0)
        return "saving tuning";
    if (strcmp(c->function, "clcnn_context_load_tuning") == 0)
        return "loading tuning";
    return c->function;
}

static void test_every_failure_names_its_function(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const api_error_case *c = &cases[i];
        leave_stale_message();
        clcnn_status status = c->call();
        const char *message = clcnn_context_last_error(ctx);
        if (status != c->status)
            fail_msg("%s returned %s, expected %s (message: %s)", c->function,
                     clcnn_status_name(status), clcnn_status_name(c->status), message);
        if (strstr(message, STALE_MARKER) != NULL || strstr(message, name_in_message(c)) == NULL)
            fail_msg("%s left the message \"%s\", which does not name it", c->function, message);
        assert_nothing_made();
    }
}

/* ------------------------------------------------------------ completeness */

typedef struct name_list {
    char **names;
    size_t count, capacity;
} name_list;

static void name_list_add(name_list *list, const char *name, size_t length) {
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 64;
        list->names = realloc(list->names, list->capacity * sizeof *list->names);
        assert_non_null(list->names);
    }
    char *copy = ts_malloc(length + 1);
    memcpy(copy, name, length);
    copy[length] = '\0';
    list->names[list->count++] = copy;
}

/* The function declared by each line that starts with CLCNN_API: the
 * identifier before the first '(' after it (declarations span lines). */
static void read_declarations(const char *path, name_list *list) {
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        fail_msg("cannot open %s", path);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = ts_malloc((size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    text[size] = '\0';
    fclose(file);
    for (const char *p = strstr(text, "CLCNN_API"); p != NULL; p = strstr(p + 1, "CLCNN_API")) {
        if (p != text && p[-1] != '\n')
            continue; /* the macro's own definition, or a mention */
        const char *paren = strchr(p, '(');
        assert_non_null(paren);
        const char *end = paren;
        while (end > p && end[-1] == ' ')
            end--;
        const char *start = end;
        while (start > p && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                             (start[-1] >= '0' && start[-1] <= '9')))
            start--;
        name_list_add(list, start, (size_t)(end - start));
    }
    free(text);
}

static int listed(const char *name) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].function, name) == 0)
            return 1;
    for (size_t i = 0; i < sizeof exempt / sizeof exempt[0]; i++)
        if (strcmp(exempt[i].function, name) == 0)
            return 1;
    return 0;
}

static int declared(const name_list *list, const char *name) {
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->names[i], name) == 0)
            return 1;
    return 0;
}

static void test_every_public_function_is_listed(void **state) {
    (void)state;
    name_list list = {0};
    read_declarations(CLCNN_TEST_SOURCE_DIR "/include/clcnn.h", &list);
    const char *dir_path = CLCNN_TEST_SOURCE_DIR "/include/clcnn";
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
        size_t length = strlen(entry->d_name);
        if (length < 3 || strcmp(entry->d_name + length - 2, ".h") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir_path, entry->d_name);
        read_declarations(path, &list);
    }
    closedir(dir);
    assert_true(list.count > 100); /* the parser found the API */
    size_t missing = 0, stray = 0;
    for (size_t i = 0; i < list.count; i++)
        if (!listed(list.names[i])) {
            print_error("%s is declared but neither a case nor exempt\n", list.names[i]);
            missing++;
        }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!declared(&list, cases[i].function)) {
            print_error("case %s is not a declared function\n", cases[i].function);
            stray++;
        }
    for (size_t i = 0; i < sizeof exempt / sizeof exempt[0]; i++)
        if (!declared(&list, exempt[i].function)) {
            print_error("exempt %s is not a declared function\n", exempt[i].function);
            stray++;
        }
    for (size_t i = 0; i < list.count; i++)
        free(list.names[i]);
    free(list.names);
    assert_int_equal(missing, 0);
    assert_int_equal(stray, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failure_names_its_function),
        cmocka_unit_test(test_every_public_function_is_listed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
