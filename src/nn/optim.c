/* SGD, Adam and AdamW (include/clcnn/optim.h) over a list of parameters:
 * hyper-parameter checks with PyTorch's rules, state tensors owned by the
 * optimizer, and each step's update (src/ops/optim_step.h): one launch over
 * every parameter at once when the parameters and gradients are views laid
 * out alike in two arenas (a network's, src/nn/net_params.c) and the states
 * lie in arenas too, else one per parameter tensor.
 *
 * The launch over the arenas also updates the alignment gaps between the
 * views, which stay zero when the update maps zeros to zeros (every factor
 * finite, Adam's eps not 0: clcnn__optim_update_keeps_zeros); otherwise
 * the step falls back to one launch per tensor. Each element goes through
 * the same arithmetic either way, so both paths give bit-identical
 * results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/optim.h"
#include "nn/optim_internal.h"
#include "ops/optim_step.h"
#include "runtime/internal.h"

/* ---------------------------------------------------------------- object */

typedef enum optimizer_kind { OPTIMIZER_SGD, OPTIMIZER_ADAM } optimizer_kind;

#define MAX_STATES CLCNN__OPTIM_MAX_STATES

/* State names per kind, in state_get order (PyTorch's state_dict keys). */
static const char *const sgd_state_names[] = {"momentum_buffer"};
static const char *const adam_state_names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};

struct clcnn_optimizer {
    clcnn_context *ctx;
    optimizer_kind kind;
    clcnn_sgd_params sgd;   /* OPTIMIZER_SGD */
    clcnn_adam_params adam; /* OPTIMIZER_ADAM */
    double lr;
    uint64_t step;
    size_t count;
    clcnn_tensor **params; /* the caller's tensors, not owned */
    clcnn_tensor **grads;
    size_t states_per_param;
    /* Owned, per state name: the state of each parameter (count tensors),
     * views of state_arenas[k] (NULL: separate tensors). */
    clcnn_tensor **states[MAX_STATES];
    clcnn_tensor *state_arenas[MAX_STATES];
    /* Views over every parameter and every gradient at once (with the gaps
     * between them) when the parameters lie in one arena as the states do;
     * else NULL. */
    clcnn_tensor *param_span, *grad_span;
    unsigned width; /* elements per work-item; 0: the device table's */
};

clcnn_sgd_params clcnn_sgd_params_default(void) {
    clcnn_sgd_params p = {1e-3, 0.0, 0.0, 0.0, 0};
    return p;
}

clcnn_adam_params clcnn_adam_params_default(void) {
    clcnn_adam_params p = {1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0};
    return p;
}

clcnn_adam_params clcnn_adamw_params_default(void) {
    clcnn_adam_params p = clcnn_adam_params_default();
    p.weight_decay = 1e-2;
    p.decoupled_weight_decay = 1;
    return p;
}

void clcnn_optimizer_destroy(clcnn_optimizer *optimizer) {
    if (optimizer == NULL)
        return;
    for (size_t k = 0; k < MAX_STATES; k++) {
        for (size_t i = 0; optimizer->states[k] != NULL && i < optimizer->count; i++)
            clcnn_tensor_destroy(optimizer->states[k][i]);
        free(optimizer->states[k]);
        clcnn_tensor_destroy(optimizer->state_arenas[k]);
    }
    clcnn_tensor_destroy(optimizer->param_span);
    clcnn_tensor_destroy(optimizer->grad_span);
    free(optimizer->params);
    free(optimizer->grads);
    free(optimizer);
}

/* ------------------------------------------------------------------ checks */

/* Fails unless value is finite and >= 0. */
static clcnn_status check_non_negative(clcnn_context *ctx, const char *op, const char *name,
                                       double value) {
    if (!isfinite(value) || value < 0.0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %s = %g must be finite and >= 0",
                           op, name, value);
    return CLCNN_OK;
}

/* lr, the optimizer's own `name` and weight_decay, in that order (as both
 * optimizers check them). */
static clcnn_status check_rates(clcnn_context *ctx, const char *op, double lr, const char *name,
                                double value, double weight_decay) {
    clcnn_status status = check_non_negative(ctx, op, "lr", lr);
    if (status == CLCNN_OK)
        status = check_non_negative(ctx, op, name, value);
    if (status == CLCNN_OK)
        status = check_non_negative(ctx, op, "weight_decay", weight_decay);
    return status;
}

static clcnn_status check_sgd_params(clcnn_context *ctx, const clcnn_sgd_params *p) {
    const char *op = "clcnn_optimizer_create_sgd";
    clcnn_status status = check_rates(ctx, op, p->lr, "momentum", p->momentum, p->weight_decay);
    if (status != CLCNN_OK)
        return status;
    if (!isfinite(p->dampening))
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: dampening = %g is not finite",
                           op, p->dampening);
    if (p->nesterov && (p->momentum <= 0.0 || p->dampening != 0.0))
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: Nesterov momentum requires a momentum > 0 and zero dampening "
                           "(momentum = %g, dampening = %g)",
                           op, p->momentum, p->dampening);
    return CLCNN_OK;
}

static clcnn_status check_beta(clcnn_context *ctx, const char *name, double beta) {
    if (!(beta >= 0.0 && beta < 1.0))
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_optimizer_create_adam: %s = %g is outside [0, 1)", name, beta);
    return CLCNN_OK;
}

static clcnn_status check_adam_params(clcnn_context *ctx, const clcnn_adam_params *p) {
    clcnn_status status =
        check_rates(ctx, "clcnn_optimizer_create_adam", p->lr, "eps", p->eps, p->weight_decay);
    if (status == CLCNN_OK)
        status = check_beta(ctx, "beta1", p->beta1);
    if (status == CLCNN_OK)
        status = check_beta(ctx, "beta2", p->beta2);
    return status;
}

/* The (parameter, gradient) list: present, of this context, matching shapes,
 * no parameter twice. */
static clcnn_status check_pairs(clcnn_context *ctx, const char *op, size_t count,
                                clcnn_tensor *const *params, clcnn_tensor *const *grads) {
    if (count == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: no parameters (count is 0)", op);
    if (params == NULL || grads == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %s array is NULL", op,
                           params == NULL ? "the parameter" : "the gradient");
    for (size_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s: parameter %zu", op, i);
        clcnn_status status = clcnn__check_tensor(ctx, params[i], what);
        if (status != CLCNN_OK)
            return status;
        snprintf(what, sizeof what, "%s: gradient %zu", op, i);
        status = clcnn__check_tensor(ctx, grads[i], what);
        if (status != CLCNN_OK)
            return status;
        if (!clcnn__same_shape(params[i], grads[i])) {
            char a[96], b[96];
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "%s: parameter %zu %s and its gradient %s differ in shape", op, i,
                               clcnn__shape_string(params[i], a, sizeof a),
                               clcnn__shape_string(grads[i], b, sizeof b));
        }
        for (size_t j = 0; j < i; j++)
            if (clcnn__tensors_overlap(params[j], params[i]))
                return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                                   "%s: parameters %zu and %zu are the same tensor (or views of "
                                   "one storage, or overlap)",
                                   op, j, i);
    }
    return CLCNN_OK;
}

/* ---------------------------------------------------------------- creation */

static const char *const *state_names(const clcnn_optimizer *opt) {
    return opt->kind == OPTIMIZER_SGD ? sgd_state_names : adam_state_names;
}

/* The update the next step makes. */
static clcnn__optim_update next_update(const clcnn_optimizer *opt) {
    if (opt->kind == OPTIMIZER_SGD)
        return clcnn__optim_sgd_update(&opt->sgd, opt->lr, opt->step);
    return clcnn__optim_adam_update(&opt->adam, opt->lr, opt->step + 1);
}

clcnn_status clcnn__optimizer_set_width(clcnn_optimizer *optimizer, unsigned width) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__optim_update update = next_update(optimizer);
    clcnn_status status = clcnn__optim_prepare(optimizer->ctx, &update, width);
    if (status == CLCNN_OK)
        optimizer->width = width;
    return status;
}

/* ------------------------------------------------------------------ layout */

/* Zero state tensors shaped as their parameters: per state name, views of
 * one arena laid out as the parameters of a network are, so that a step
 * can run over the arena whole (separate tensors when it would not fit in
 * one allocation of the device). */
static clcnn_status make_states(clcnn_optimizer *opt) {
    clcnn__shape *shapes = calloc(opt->count, sizeof *shapes);
    if (shapes == NULL)
        return clcnn__fail(opt->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t i = 0; i < opt->count; i++) {
        shapes[i].ndim = clcnn_tensor_ndim(opt->params[i]);
        for (size_t d = 0; d < shapes[i].ndim; d++)
            shapes[i].dims[d] = clcnn_tensor_dim(opt->params[i], d);
    }
    clcnn_status status = CLCNN_OK;
    for (size_t k = 0; k < opt->states_per_param && status == CLCNN_OK; k++) {
        opt->states[k] = calloc(opt->count, sizeof *opt->states[k]);
        if (opt->states[k] == NULL)
            status = clcnn__fail(opt->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        else
            status = clcnn__arena_create(opt->ctx, opt->count, shapes, opt->states[k],
                                         &opt->state_arenas[k]);
    }
    free(shapes);
    return status;
}

/* Decides the one-launch path: the parameters a run of one arena's views,
 * the gradients a run of another's (so laid out as the states are), and the
 * states in arenas. Then keeps the two spans. */
static clcnn_status plan_fused(clcnn_optimizer *opt) {
    if (opt->states_per_param != 0 && opt->state_arenas[0] == NULL)
        return CLCNN_OK;
    clcnn_status status = clcnn__arena_span(opt->count, opt->params, &opt->param_span);
    if (status == CLCNN_OK)
        status = clcnn__arena_span(opt->count, opt->grads, &opt->grad_span);
    if (status != CLCNN_OK || opt->param_span == NULL || opt->grad_span == NULL ||
        clcnn__tensors_overlap(opt->param_span, opt->grad_span)) {
        clcnn_tensor_destroy(opt->param_span);
        clcnn_tensor_destroy(opt->grad_span);
        opt->param_span = opt->grad_span = NULL;
    }
    return status;
}

/* Everything after the checks: the object, its arrays, zero state tensors
 * shaped as their parameters, and the kernel (built now, not at the first
 * step). */
static clcnn_status optimizer_make(clcnn_context *ctx, clcnn_optimizer *opt, size_t count,
                                   clcnn_tensor *const *params, clcnn_tensor *const *grads) {
    opt->ctx = ctx;
    opt->count = count;
    opt->params = calloc(count, sizeof *opt->params);
    opt->grads = calloc(count, sizeof *opt->grads);
    if (opt->params == NULL || opt->grads == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    memcpy(opt->params, params, count * sizeof *params);
    memcpy(opt->grads, grads, count * sizeof *grads);
    clcnn__optim_update update = next_update(opt);
    opt->states_per_param = update.states;
    clcnn_status status = make_states(opt);
    if (status == CLCNN_OK)
        status = plan_fused(opt);
    return status == CLCNN_OK ? clcnn__optim_prepare(ctx, &update, opt->width) : status;
}

static clcnn_status check_hyper_params(clcnn_context *ctx, const clcnn_optimizer *prototype) {
    return prototype->kind == OPTIMIZER_SGD ? check_sgd_params(ctx, &prototype->sgd)
                                            : check_adam_params(ctx, &prototype->adam);
}

/* Checks the call, then builds an optimizer like `prototype` (its kind
 * and hyper-parameters) over the list. */
static clcnn_status optimizer_build(clcnn_context *ctx, const char *op,
                                    const clcnn_optimizer *prototype, size_t count,
                                    clcnn_tensor *const *params, clcnn_tensor *const *grads,
                                    clcnn_optimizer **out) {
    if (ctx == NULL || out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", op);
    *out = NULL;
    clcnn_status status = check_hyper_params(ctx, prototype);
    if (status == CLCNN_OK)
        status = check_pairs(ctx, op, count, params, grads);
    if (status != CLCNN_OK)
        return status;
    clcnn_optimizer *opt = malloc(sizeof *opt);
    if (opt == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    *opt = *prototype;
    opt->lr = opt->kind == OPTIMIZER_SGD ? opt->sgd.lr : opt->adam.lr;
    status = optimizer_make(ctx, opt, count, params, grads);
    if (status != CLCNN_OK) {
        clcnn_optimizer_destroy(opt);
        return status;
    }
    *out = opt;
    return CLCNN_OK;
}

/* The public constructors' common body; `prototype` as optimizer_build. */
static clcnn_status optimizer_create(clcnn_context *ctx, const clcnn_optimizer *prototype,
                                     size_t count, clcnn_tensor *const *params,
                                     clcnn_tensor *const *grads, clcnn_optimizer **out) {
    if (ctx == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const char *op = prototype->kind == OPTIMIZER_SGD ? "clcnn_optimizer_create_sgd"
                                                      : "clcnn_optimizer_create_adam";
    clcnn__error_mark mark = clcnn__error_mark_take(ctx);
    return clcnn__named(ctx, mark, op,
                        optimizer_build(ctx, op, prototype, count, params, grads, out));
}

clcnn_status clcnn_optimizer_create_sgd(clcnn_context *context, const clcnn_sgd_params *params,
                                        size_t count, clcnn_tensor *const *parameters,
                                        clcnn_tensor *const *grads, clcnn_optimizer **out) {
    clcnn_optimizer prototype = {.kind = OPTIMIZER_SGD,
                                 .sgd = params != NULL ? *params : clcnn_sgd_params_default()};
    return optimizer_create(context, &prototype, count, parameters, grads, out);
}

clcnn_status clcnn_optimizer_create_adam(clcnn_context *context, const clcnn_adam_params *params,
                                         size_t count, clcnn_tensor *const *parameters,
                                         clcnn_tensor *const *grads, clcnn_optimizer **out) {
    clcnn_optimizer prototype = {.kind = OPTIMIZER_ADAM,
                                 .adam = params != NULL ? *params : clcnn_adam_params_default()};
    return optimizer_create(context, &prototype, count, parameters, grads, out);
}

/* ------------------------------------------------------------------- steps */

/* One launch over the spans when the update keeps their gaps zero, else one
 * per parameter. */
static clcnn_status apply_update(clcnn_optimizer *opt, const clcnn__optim_update *update) {
    if (opt->param_span != NULL && clcnn__optim_update_keeps_zeros(update))
        return clcnn__optim_step(opt->ctx, update, opt->width, opt->param_span, opt->grad_span,
                                 opt->state_arenas);
    for (size_t i = 0; i < opt->count; i++) {
        clcnn_tensor *states[MAX_STATES] = {NULL};
        for (size_t k = 0; k < opt->states_per_param; k++)
            states[k] = opt->states[k][i];
        clcnn_status status =
            clcnn__optim_step(opt->ctx, update, opt->width, opt->params[i], opt->grads[i], states);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

static clcnn_status optimizer_step(clcnn_optimizer *optimizer) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (optimizer->step == UINT64_MAX)
        return clcnn__fail(optimizer->ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "clcnn_optimizer_step: the step counter is at its maximum");
    clcnn__optim_update update = next_update(optimizer);
    clcnn_status status = apply_update(optimizer, &update);
    if (status == CLCNN_OK)
        optimizer->step++;
    return status;
}

clcnn_status clcnn_optimizer_step(clcnn_optimizer *optimizer) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(optimizer->ctx);
    return clcnn__named(optimizer->ctx, mark, __func__, optimizer_step(optimizer));
}

/* ------------------------------------------------------ accessors and state */

clcnn_status clcnn_optimizer_set_lr(clcnn_optimizer *optimizer, double lr) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_non_negative(optimizer->ctx, "clcnn_optimizer_set_lr", "lr", lr);
    if (status == CLCNN_OK)
        optimizer->lr = lr;
    return status;
}

double clcnn_optimizer_get_lr(const clcnn_optimizer *optimizer) {
    return optimizer != NULL ? optimizer->lr : NAN;
}

size_t clcnn_optimizer_param_count(const clcnn_optimizer *optimizer) {
    return optimizer != NULL ? optimizer->count : 0;
}

uint64_t clcnn_optimizer_get_step(const clcnn_optimizer *optimizer) {
    return optimizer != NULL ? optimizer->step : 0;
}

clcnn_status clcnn_optimizer_set_step(clcnn_optimizer *optimizer, uint64_t step) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    optimizer->step = step;
    return CLCNN_OK;
}

size_t clcnn_optimizer_state_count(const clcnn_optimizer *optimizer) {
    return optimizer != NULL ? optimizer->count * optimizer->states_per_param : 0;
}

clcnn_status clcnn_optimizer_state_get(clcnn_optimizer *optimizer, size_t index,
                                       clcnn_optimizer_state *out) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(optimizer->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_optimizer_state_get: out is NULL");
    size_t total = clcnn_optimizer_state_count(optimizer);
    if (index >= total)
        return clcnn__fail(optimizer->ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "clcnn_optimizer_state_get: index %zu is out of range (the optimizer "
                           "has %zu states)",
                           index, total);
    size_t k = index % optimizer->states_per_param;
    out->param_index = index / optimizer->states_per_param;
    out->name = state_names(optimizer)[k];
    out->tensor = optimizer->states[k][out->param_index];
    return CLCNN_OK;
}
