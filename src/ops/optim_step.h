/* One optimizer update element-wise over a parameter tensor, its gradient
 * and its state tensors (src/ops/optim_step.c, cl/optim.cl): PyTorch's SGD
 * (plain, momentum, Nesterov, weight decay) and Adam / AdamW (AMSGrad), with
 * the formulas of include/clcnn/optim.h. The scalar factors are computed on
 * the host in double, as Python does, and rounded to float once. Only
 * element counts matter, so one update may run over the span of many
 * parameters at once (an arena's, runtime/internal.h): the optimizers of
 * src/nn/optim.c do. Not installed. */
#ifndef CLCNN_OPS_OPTIM_STEP_H
#define CLCNN_OPS_OPTIM_STEP_H

#include <stdint.h>

#include "clcnn/optim.h"
#include "runtime/internal.h"

/* The kernel an update runs, by the state it keeps per parameter. */
typedef enum clcnn__optim_rule {
    CLCNN__OPTIM_SGD,          /* no state */
    CLCNN__OPTIM_SGD_MOMENTUM, /* momentum_buffer */
    CLCNN__OPTIM_ADAM          /* exp_avg, exp_avg_sq (and max_exp_avg_sq) */
} clcnn__optim_rule;

#define CLCNN__OPTIM_MAX_STATES 3

/* One step's update: the rule, how many state tensors it reads and writes,
 * and its factors as the kernel takes them. */
typedef struct clcnn__optim_update {
    clcnn__optim_rule rule;
    size_t states;
    struct {
        float lr, weight_decay, momentum, one_minus_dampening;
        int first_step, nesterov;
    } sgd;
    struct {
        float decoupled_factor, coupled_decay, lerp_weight, beta2, one_minus_beta2;
        float step_size, bias_correction2_sqrt, eps;
        int amsgrad;
    } adam;
} clcnn__optim_update;

/* The SGD update after steps_taken steps (0: the first, which copies the
 * gradient into the momentum buffer) at learning rate lr. */
clcnn__optim_update clcnn__optim_sgd_update(const clcnn_sgd_params *params, double lr,
                                            uint64_t steps_taken);

/* The Adam / AdamW update of step t (1 for the first) at learning rate lr. */
clcnn__optim_update clcnn__optim_adam_update(const clcnn_adam_params *params, double lr,
                                             uint64_t t);

/* Whether the update leaves elements whose parameter, gradient and state are
 * all zero at zero: every factor finite (and for Adam eps and
 * sqrt(1 - beta2^t) above 0, else 0 / 0). Only then may it run over the
 * zero gaps of arenas. */
int clcnn__optim_update_keeps_zeros(const clcnn__optim_update *update);

/* Builds the kernel of the update's rule for `width` elements per work-item
 * (0: the device table's choice, ctx->choices.optim) ahead of its first
 * step. Errors: width not 0, 4, 8 or 16: CLCNN_ERROR_INVALID_ARGUMENT; a
 * failed build's. */
clcnn_status clcnn__optim_prepare(clcnn_context *ctx, const clcnn__optim_update *update,
                                  unsigned width);

/* Enqueues the update of param (in place) from grad (only read) and
 * states[0 .. update->states - 1] (in place, in the order of the rule's
 * names), every tensor of param's element count, in any shape; width as
 * above. Each element is updated by one work-item, the same arithmetic at
 * every width. Errors: a NULL tensor or bad width:
 * CLCNN_ERROR_INVALID_ARGUMENT; another context's tensor:
 * CLCNN_ERROR_CONTEXT_MISMATCH; an element count that differs:
 * CLCNN_ERROR_INVALID_SHAPE; an enqueue failure's. */
clcnn_status clcnn__optim_step(clcnn_context *ctx, const clcnn__optim_update *update,
                               unsigned width, clcnn_tensor *param, const clcnn_tensor *grad,
                               clcnn_tensor *const *states);

#endif
