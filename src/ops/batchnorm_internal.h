/* Internal interface of the batch-norm op, shared by batchnorm.c (API and
 * argument checks) and batchnorm_launch.c (per-device plans and kernel
 * launches), and used by tests to force either reduction shape on any
 * device. Not installed. */
#ifndef CLCNN_OPS_BATCHNORM_INTERNAL_H
#define CLCNN_OPS_BATCHNORM_INTERNAL_H

#include "clcnn/batchnorm.h"
#include "runtime/internal.h"

/* How the reductions and element-wise passes are cut up on a device. */
/* clcnn__batchnorm_plan is in runtime/choices.h (the device table's). */

/* The plan for the context's device, from the device table. */
clcnn__batchnorm_plan clcnn__batchnorm_plan_for(const clcnn_context *ctx);

/* The plans of the table's rows, so that tests may run both on any device. */
clcnn__batchnorm_plan clcnn__batchnorm_plan_rows(void);
clcnn__batchnorm_plan clcnn__batchnorm_plan_work_group(void);

/* A validated problem: x viewed as [batch, channels, inner]. */
typedef struct clcnn__batchnorm_shape {
    size_t batch;
    size_t channels;
    size_t inner; /* H * W, L or 1 */
    size_t count; /* values per channel: batch * inner */
    size_t total; /* elements of x */
} clcnn__batchnorm_shape;

/* Device buffers of one call; NULL where an optional tensor is absent (in
 * the backward, y is the fused ReLU forward's output, read under BN_RELU
 * only). `flags` arguments below are the bits of cl/batchnorm_flags.h. */
typedef struct clcnn__batchnorm_buffers {
    cl_mem x, y, dy, dx;
    cl_mem gamma, beta, running_mean, running_var;
    cl_mem save_mean, save_invstd, dgamma, dbeta;
} clcnn__batchnorm_buffers;

/* Enqueue the kernels of a checked call (batchnorm_launch.c). */
clcnn_status clcnn__batchnorm_enqueue_train(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                            const clcnn__batchnorm_shape *shape,
                                            const clcnn__batchnorm_buffers *buffers, float eps,
                                            float factor, unsigned flags);
clcnn_status clcnn__batchnorm_enqueue_eval(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                           const clcnn__batchnorm_shape *shape,
                                           const clcnn__batchnorm_buffers *buffers, float eps,
                                           unsigned flags);
clcnn_status clcnn__batchnorm_enqueue_backward(clcnn_context *ctx,
                                               const clcnn__batchnorm_plan *plan,
                                               const clcnn__batchnorm_shape *shape,
                                               const clcnn__batchnorm_buffers *buffers,
                                               unsigned flags);
clcnn_status clcnn__batchnorm_enqueue_fold(clcnn_context *ctx, size_t channels, size_t inner,
                                           cl_mem weight, cl_mem bias, cl_mem gamma, cl_mem beta,
                                           cl_mem running_mean, cl_mem running_var,
                                           cl_mem folded_weight, cl_mem folded_bias, float eps,
                                           unsigned flags);

clcnn_status clcnn__batchnorm_enqueue_eval_affine(clcnn_context *ctx, size_t channels, cl_mem gamma,
                                                  cl_mem beta, cl_mem running_mean,
                                                  cl_mem running_var, cl_mem scale, cl_mem shift,
                                                  float eps, unsigned flags);

/* The public calls with an explicit plan (the public ones pass
 * clcnn__batchnorm_plan_for(context)). */
clcnn_status
clcnn__batchnorm_forward_train_planned(clcnn_context *context, const clcnn__batchnorm_plan *plan,
                                       const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                       const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                       clcnn_batchnorm_state *state, clcnn_tensor *y,
                                       clcnn_tensor *save_mean, clcnn_tensor *save_invstd);
clcnn_status
clcnn__batchnorm_forward_eval_planned(clcnn_context *context, const clcnn__batchnorm_plan *plan,
                                      const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                      const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                      const clcnn_batchnorm_state *state, clcnn_tensor *y);
clcnn_status clcnn__batchnorm_backward_planned(
    clcnn_context *context, const clcnn__batchnorm_plan *plan, const clcnn_tensor *x,
    const clcnn_tensor *dy, const clcnn_tensor *gamma, const clcnn_tensor *save_mean,
    const clcnn_tensor *save_invstd, clcnn_tensor *dx, clcnn_tensor *dgamma, clcnn_tensor *dbeta,
    clcnn_grad_mode param_grad_mode);

/* clcnn_batchnorm_backward_relu with an explicit plan. */
clcnn_status clcnn__batchnorm_backward_relu_planned(
    clcnn_context *context, const clcnn__batchnorm_plan *plan, const clcnn_tensor *x,
    const clcnn_tensor *y, const clcnn_tensor *dy, const clcnn_tensor *gamma,
    const clcnn_tensor *save_mean, const clcnn_tensor *save_invstd, clcnn_tensor *dx,
    clcnn_tensor *dgamma, clcnn_tensor *dbeta, clcnn_grad_mode param_grad_mode);

#endif
