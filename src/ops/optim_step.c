/* Optimizer updates (src/ops/optim_step.h) on the kernels of cl/optim.cl:
 * the factors of a step, and its launch over OPTIM_WIDTH elements per
 * work-item in work-groups of the device table's size (ctx->choices.optim:
 * on CPUs float16 per work-item keeps the work-groups few and the loads
 * wide; on GPUs one float4 per work-item, many work-items to hide memory
 * latency). */
#include <math.h>
#include <string.h>

#include "ops/optim_step.h"

/* By clcnn__optim_rule. */
static const char *const kernel_names[] = {"sgd_step", "sgd_momentum_step", "adam_step"};

/* ----------------------------------------------------------------- factors */

clcnn__optim_update clcnn__optim_sgd_update(const clcnn_sgd_params *params, double lr,
                                            uint64_t steps_taken) {
    clcnn__optim_update u;
    memset(&u, 0, sizeof u);
    int momentum = params->momentum != 0.0;
    u.rule = momentum ? CLCNN__OPTIM_SGD_MOMENTUM : CLCNN__OPTIM_SGD;
    u.states = momentum ? 1 : 0;
    u.sgd.lr = (float)lr;
    u.sgd.weight_decay = (float)params->weight_decay;
    u.sgd.momentum = (float)params->momentum;
    u.sgd.one_minus_dampening = (float)(1.0 - params->dampening);
    u.sgd.first_step = steps_taken == 0;
    u.sgd.nesterov = params->nesterov != 0;
    return u;
}

clcnn__optim_update clcnn__optim_adam_update(const clcnn_adam_params *params, double lr,
                                             uint64_t t) {
    double bias_correction1 = 1.0 - pow(params->beta1, (double)t);
    double bias_correction2 = 1.0 - pow(params->beta2, (double)t);
    clcnn__optim_update u;
    memset(&u, 0, sizeof u);
    u.rule = CLCNN__OPTIM_ADAM;
    u.states = params->amsgrad ? 3 : 2;
    u.adam.decoupled_factor =
        params->decoupled_weight_decay ? (float)(1.0 - lr * params->weight_decay) : 1.0f;
    u.adam.coupled_decay = params->decoupled_weight_decay ? 0.0f : (float)params->weight_decay;
    u.adam.lerp_weight = (float)(1.0 - params->beta1);
    u.adam.beta2 = (float)params->beta2;
    u.adam.one_minus_beta2 = (float)(1.0 - params->beta2);
    u.adam.step_size = (float)(lr / bias_correction1);
    u.adam.bias_correction2_sqrt = (float)sqrt(bias_correction2);
    u.adam.eps = (float)params->eps;
    u.adam.amsgrad = params->amsgrad != 0;
    return u;
}

static int all_finite(const float *values, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(values[i]))
            return 0;
    return 1;
}

int clcnn__optim_update_keeps_zeros(const clcnn__optim_update *update) {
    if (update->rule != CLCNN__OPTIM_ADAM) {
        const float factors[] = {update->sgd.lr, update->sgd.weight_decay, update->sgd.momentum,
                                 update->sgd.one_minus_dampening};
        return all_finite(factors, sizeof factors / sizeof factors[0]);
    }
    const float factors[] = {update->adam.decoupled_factor,     update->adam.coupled_decay,
                             update->adam.lerp_weight,          update->adam.beta2,
                             update->adam.one_minus_beta2,      update->adam.step_size,
                             update->adam.bias_correction2_sqrt};
    return update->adam.eps > 0.0f && update->adam.bias_correction2_sqrt > 0.0f &&
           all_finite(factors, sizeof factors / sizeof factors[0]);
}

/* ------------------------------------------------------------------ kernel */

/* Elements per work-item: width, or the device table's for 0. */
static clcnn_status resolve_width(clcnn_context *ctx, unsigned width, unsigned *out) {
    *out = width != 0 ? width : ctx->choices.optim.width;
    if (*out != 4 && *out != 8 && *out != 16)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "optim_step: %u elements per work-item is not 4, 8 or 16", *out);
    return CLCNN_OK;
}

/* The build options of a width resolve_width accepted. */
static const char *width_option(unsigned width) {
    return width == 4 ? "-DOPTIM_WIDTH=4" : width == 8 ? "-DOPTIM_WIDTH=8" : "-DOPTIM_WIDTH=16";
}

clcnn_status clcnn__optim_prepare(clcnn_context *ctx, const clcnn__optim_update *update,
                                  unsigned width) {
    unsigned chosen = 0;
    clcnn_status status = resolve_width(ctx, width, &chosen);
    if (status != CLCNN_OK)
        return status;
    cl_kernel kernel = NULL;
    return clcnn__kernel_get(ctx, "optim.cl", width_option(chosen), kernel_names[update->rule],
                             &kernel);
}

/* ------------------------------------------------------------------- steps */

/* The operands after the parameter, as messages name them. */
static const struct {
    const char *what, *name;
} operands[] = {{"optim_step: grad", "grad"},
                {"optim_step: state 0", "state 0"},
                {"optim_step: state 1", "state 1"},
                {"optim_step: state 2", "state 2"}};

static clcnn_status check_operand(clcnn_context *ctx, const clcnn_tensor *param,
                                  const clcnn_tensor *operand, size_t index) {
    clcnn_status status = clcnn__check_tensor(ctx, operand, operands[index].what);
    return status == CLCNN_OK ? clcnn__check_same_numel(ctx, "optim_step", "param", param,
                                                        operands[index].name, operand)
                              : status;
}

static clcnn_status check_operands(clcnn_context *ctx, const clcnn__optim_update *update,
                                   const clcnn_tensor *param, const clcnn_tensor *grad,
                                   clcnn_tensor *const *states) {
    clcnn_status status = clcnn__check_tensor(ctx, param, "optim_step: param");
    if (status == CLCNN_OK)
        status = check_operand(ctx, param, grad, 0);
    if (status == CLCNN_OK && update->states != 0 && states == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "optim_step: the update keeps %zu states and states is NULL",
                           update->states);
    for (size_t k = 0; k < update->states && status == CLCNN_OK; k++)
        status = check_operand(ctx, param, states[k], 1 + k);
    return status;
}

static void sgd_arguments(clcnn__launch *launch, const clcnn__optim_update *update,
                          clcnn_tensor *const *states, size_t count) {
    int momentum = update->rule == CLCNN__OPTIM_SGD_MOMENTUM;
    if (momentum)
        clcnn__arg_tensor(launch, states[0]);
    clcnn__arg_ulong(launch, count);
    clcnn__arg_float(launch, update->sgd.lr);
    clcnn__arg_float(launch, update->sgd.weight_decay);
    if (momentum) {
        clcnn__arg_float(launch, update->sgd.momentum);
        clcnn__arg_float(launch, update->sgd.one_minus_dampening);
        clcnn__arg_uint(launch, (size_t)update->sgd.first_step);
        clcnn__arg_uint(launch, (size_t)update->sgd.nesterov);
    }
}

static void adam_arguments(clcnn__launch *launch, const clcnn__optim_update *update,
                           clcnn_tensor *const *states, size_t count) {
    clcnn__arg_tensor(launch, states[0]); /* exp_avg */
    clcnn__arg_tensor(launch, states[1]); /* exp_avg_sq */
    /* max_exp_avg_sq: without amsgrad the kernel never touches it. */
    clcnn__arg_tensor(launch, states[update->adam.amsgrad ? 2 : 1]);
    clcnn__arg_ulong(launch, count);
    clcnn__arg_float(launch, update->adam.decoupled_factor);
    clcnn__arg_float(launch, update->adam.coupled_decay);
    clcnn__arg_float(launch, update->adam.lerp_weight);
    clcnn__arg_float(launch, update->adam.beta2);
    clcnn__arg_float(launch, update->adam.one_minus_beta2);
    clcnn__arg_float(launch, update->adam.step_size);
    clcnn__arg_float(launch, update->adam.bias_correction2_sqrt);
    clcnn__arg_float(launch, update->adam.eps);
    clcnn__arg_uint(launch, (size_t)update->adam.amsgrad);
}

/* The table's work-group size, within the device's limit. */
static size_t local_size(const clcnn_context *ctx) {
    size_t local = ctx->choices.optim.local;
    if (local > ctx->info.max_work_group_size)
        local = ctx->info.max_work_group_size;
    return local != 0 ? local : 1;
}

clcnn_status clcnn__optim_step(clcnn_context *ctx, const clcnn__optim_update *update,
                               unsigned width, clcnn_tensor *param, const clcnn_tensor *grad,
                               clcnn_tensor *const *states) {
    unsigned chosen = 0;
    clcnn_status status = resolve_width(ctx, width, &chosen);
    if (status == CLCNN_OK)
        status = check_operands(ctx, update, param, grad, states);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = clcnn__launch_prepare(ctx, "optim.cl", width_option(chosen),
                                       kernel_names[update->rule], &launch);
    if (status != CLCNN_OK)
        return status;
    size_t count = param->numel;
    clcnn__arg_tensor(&launch, param);
    clcnn__arg_tensor(&launch, grad);
    if (update->rule == CLCNN__OPTIM_ADAM)
        adam_arguments(&launch, update, states, count);
    else
        sgd_arguments(&launch, update, states, count);
    size_t chunks = count / chosen + (count % chosen != 0);
    size_t local = local_size(ctx);
    size_t global = clcnn__round_up(chunks, local);
    return clcnn__launch_run_fitted(&launch, 1, &global, &local);
}
