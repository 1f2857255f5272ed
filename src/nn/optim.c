/* SGD, Adam and AdamW on the kernels of cl/optim.cl (see
 * include/clcnn/optim.h): hyper-parameter checks with PyTorch's rules, state
 * tensors owned by the optimizer, scalar factors computed on the host in
 * double, and the launches: one over every parameter at once when the
 * parameters and gradients are views laid out alike in two arenas (a
 * network's, see src/nn/net.c), else one per parameter tensor.
 *
 * The fused launch also updates the alignment gaps between the views. The
 * arenas keep them zero (clcnn__storage.arena), and an update of zeros
 * gives zeros as long as every factor is finite and Adam's eps is not 0
 * (0 / (sqrt(0) + 0) would be NaN); otherwise the step falls back to one
 * launch per tensor. Each element goes through the same arithmetic either
 * way, so both paths give bit-identical results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/optim.h"
#include "nn/optim_internal.h"
#include "runtime/internal.h"

/* ------------------------------------------------------------ device table */

/* Elements per work-item and work-group size, per device type. CPU (POCL):
 * float16 per work-item keeps the work-groups few and the loads wide; GPUs:
 * one float4 per work-item, many work-items to hide memory latency. */
/* The device table's row (runtime/device_table.c, clcnn__optim_choices). */
static const clcnn__optim_choices *tuning_for(const clcnn_context *ctx) {
    return &ctx->choices.optim;
}

/* ---------------------------------------------------------------- object */

typedef enum optimizer_kind { OPTIMIZER_SGD, OPTIMIZER_ADAM } optimizer_kind;

#define MAX_STATES 3

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
    clcnn_tensor **states; /* owned: count * states_per_param, views of state_arenas */
    /* Owned: one buffer per state name holding the states of every
     * parameter, laid out as arena_elements says (NULL: separate tensors). */
    clcnn_tensor *state_arenas[MAX_STATES];
    /* Fused path: views over every parameter and every gradient at once
     * (with the gaps between them), span elements long; NULL when the
     * parameters do not lie in one arena as the states do. */
    clcnn_tensor *param_span, *grad_span;
    size_t span;
    const char *kernel_name;
    cl_kernel kernel;
    unsigned width; /* elements per work-item (OPTIM_WIDTH) */
    size_t local_size;
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
    if (optimizer->states != NULL)
        for (size_t i = 0; i < optimizer->count * optimizer->states_per_param; i++)
            clcnn_tensor_destroy(optimizer->states[i]);
    for (size_t k = 0; k < MAX_STATES; k++)
        clcnn_tensor_destroy(optimizer->state_arenas[k]);
    clcnn_tensor_destroy(optimizer->param_span);
    clcnn_tensor_destroy(optimizer->grad_span);
    free(optimizer->states);
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

static clcnn_status check_sgd_params(clcnn_context *ctx, const clcnn_sgd_params *p) {
    const char *op = "clcnn_optimizer_create_sgd";
    clcnn_status status = check_non_negative(ctx, op, "lr", p->lr);
    if (status == CLCNN_OK)
        status = check_non_negative(ctx, op, "momentum", p->momentum);
    if (status == CLCNN_OK)
        status = check_non_negative(ctx, op, "weight_decay", p->weight_decay);
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
    const char *op = "clcnn_optimizer_create_adam";
    clcnn_status status = check_non_negative(ctx, op, "lr", p->lr);
    if (status == CLCNN_OK)
        status = check_non_negative(ctx, op, "eps", p->eps);
    if (status == CLCNN_OK)
        status = check_non_negative(ctx, op, "weight_decay", p->weight_decay);
    if (status == CLCNN_OK)
        status = check_beta(ctx, "beta1", p->beta1);
    if (status == CLCNN_OK)
        status = check_beta(ctx, "beta2", p->beta2);
    return status;
}

static int same_shape(const clcnn_tensor *a, const clcnn_tensor *b) {
    if (a->ndim != b->ndim)
        return 0;
    for (size_t i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

/* Whether two tensors share elements: one storage, a buffer and a view of
 * it, or overlapping views of one buffer. */
static int overlap(const clcnn_tensor *a, const clcnn_tensor *b) {
    const clcnn__storage *x = a->storage, *y = b->storage;
    if (x == y || x->parent == y || y->parent == x)
        return 1;
    if (x->parent == NULL || x->parent != y->parent)
        return 0;
    return x->offset < y->offset + y->bytes / sizeof(float) &&
           y->offset < x->offset + x->bytes / sizeof(float);
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
        if (!same_shape(params[i], grads[i])) {
            char a[96], b[96];
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "%s: parameter %zu %s and its gradient %s differ in shape", op, i,
                               clcnn__shape_string(params[i], a, sizeof a),
                               clcnn__shape_string(grads[i], b, sizeof b));
        }
        for (size_t j = 0; j < i; j++)
            if (overlap(params[j], params[i]))
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

/* The optimizer's kernel built for `width` elements per work-item. */
static clcnn_status select_kernel(clcnn_optimizer *opt, unsigned width) {
    char options[32];
    snprintf(options, sizeof options, "-DOPTIM_WIDTH=%u", width);
    clcnn_status status =
        clcnn__kernel_get(opt->ctx, "optim.cl", options, opt->kernel_name, &opt->kernel);
    if (status == CLCNN_OK)
        opt->width = width;
    return status;
}

clcnn_status clcnn__optimizer_set_width(clcnn_optimizer *optimizer, unsigned width) {
    if (optimizer == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (width != 4 && width != 8 && width != 16)
        return clcnn__fail(optimizer->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "optimizer: %u elements per work-item is not 4, 8 or 16", width);
    return select_kernel(optimizer, width);
}

/* ------------------------------------------------------------------ layout */

/* Elements in an arena holding the parameters' elements one after another,
 * each starting at a multiple of `align` elements; 0 when the byte size
 * overflows. */
static size_t arena_elements(const clcnn_optimizer *opt, size_t align) {
    size_t end = 0;
    for (size_t i = 0; i < opt->count; i++) {
        size_t start = clcnn__round_up(end, align);
        if (start < end || opt->params[i]->numel > SIZE_MAX / sizeof(float) - start)
            return 0;
        end = start + opt->params[i]->numel;
    }
    return end;
}

/* Zero state tensors shaped as their parameters: per state name, views of
 * one arena laid out as arena_elements says, so that a fused step can run
 * over the arena whole; separate tensors when the arena would not fit in one
 * allocation of the device. */
static clcnn_status make_states(clcnn_optimizer *opt, size_t align) {
    clcnn_context *ctx = opt->ctx;
    size_t total = arena_elements(opt, align);
    int in_arena = total != 0 && total * sizeof(float) <= ctx->info.max_alloc_bytes;
    for (size_t k = 0; k < opt->states_per_param; k++) {
        clcnn_status status = CLCNN_OK;
        if (in_arena)
            status = clcnn_tensor_create(ctx, 1, &total, &opt->state_arenas[k]);
        size_t end = 0;
        for (size_t i = 0; i < opt->count && status == CLCNN_OK; i++) {
            const clcnn_tensor *param = opt->params[i];
            clcnn_tensor **state = &opt->states[i * opt->states_per_param + k];
            size_t start = clcnn__round_up(end, align);
            end = start + param->numel;
            if (in_arena)
                status = clcnn__storage_view(opt->state_arenas[k]->storage, start, param->ndim,
                                             param->dims, state);
            else
                status = clcnn_tensor_create(ctx, param->ndim, param->dims, state);
        }
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

/* Decides the fused path: every parameter a view of one arena and every
 * gradient of another, placed as the states are (from the first one's
 * offset on), and the states in arenas. Then makes the two span views. */
static clcnn_status plan_fused(clcnn_optimizer *opt, size_t align) {
    if (opt->states_per_param != 0 && opt->state_arenas[0] == NULL)
        return CLCNN_OK;
    clcnn__storage *param_root = opt->params[0]->storage->parent;
    clcnn__storage *grad_root = opt->grads[0]->storage->parent;
    if (param_root == NULL || grad_root == NULL || !param_root->arena || !grad_root->arena ||
        param_root == grad_root)
        return CLCNN_OK;
    size_t param_first = opt->params[0]->storage->offset;
    size_t grad_first = opt->grads[0]->storage->offset;
    size_t end = 0;
    for (size_t i = 0; i < opt->count; i++) {
        const clcnn__storage *param = opt->params[i]->storage, *grad = opt->grads[i]->storage;
        size_t start = clcnn__round_up(end, align);
        if (param->parent != param_root || grad->parent != grad_root ||
            param->offset != param_first + start || grad->offset != grad_first + start)
            return CLCNN_OK;
        end = start + opt->params[i]->numel;
    }
    clcnn_status status = clcnn__storage_view(param_root, param_first, 1, &end, &opt->param_span);
    if (status == CLCNN_OK)
        status = clcnn__storage_view(grad_root, grad_first, 1, &end, &opt->grad_span);
    if (status == CLCNN_OK)
        opt->span = end;
    return status;
}

/* Everything after the checks: the object, its arrays, zero state tensors
 * shaped as their parameters, and the kernel (built now, not at the first
 * step). */
static clcnn_status optimizer_make(clcnn_context *ctx, clcnn_optimizer *opt, size_t count,
                                   clcnn_tensor *const *params, clcnn_tensor *const *grads,
                                   const char *kernel_name) {
    opt->ctx = ctx;
    opt->count = count;
    opt->params = calloc(count, sizeof *opt->params);
    opt->grads = calloc(count, sizeof *opt->grads);
    size_t state_total = 0;
    if (!clcnn__mul_size(count, opt->states_per_param, &state_total))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW, "optimizer: too many parameters");
    opt->states = state_total != 0 ? calloc(state_total, sizeof *opt->states) : NULL;
    if (opt->params == NULL || opt->grads == NULL || (state_total != 0 && opt->states == NULL))
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    memcpy(opt->params, params, count * sizeof *params);
    memcpy(opt->grads, grads, count * sizeof *grads);
    size_t align = 0;
    clcnn_status status = clcnn__view_alignment(ctx, &align);
    if (status == CLCNN_OK)
        status = make_states(opt, align / sizeof(float));
    if (status == CLCNN_OK)
        status = plan_fused(opt, align / sizeof(float));
    if (status != CLCNN_OK)
        return status;
    const clcnn__optim_choices *tuning = tuning_for(ctx);
    opt->kernel_name = kernel_name;
    opt->local_size = tuning->local;
    if (opt->local_size > ctx->info.max_work_group_size)
        opt->local_size = ctx->info.max_work_group_size;
    if (opt->local_size == 0)
        opt->local_size = 1;
    return select_kernel(opt, tuning->width);
}

static clcnn_status optimizer_finish_create(clcnn_context *ctx, clcnn_optimizer *opt, size_t count,
                                            clcnn_tensor *const *params, clcnn_tensor *const *grads,
                                            const char *kernel_name, clcnn_optimizer **out) {
    clcnn_status status = optimizer_make(ctx, opt, count, params, grads, kernel_name);
    if (status != CLCNN_OK) {
        clcnn_optimizer_destroy(opt);
        return status;
    }
    *out = opt;
    return CLCNN_OK;
}

static clcnn_status optimizer_create_sgd(clcnn_context *context, const clcnn_sgd_params *params,
                                         size_t count, clcnn_tensor *const *parameters,
                                         clcnn_tensor *const *grads, clcnn_optimizer **out) {
    if (context == NULL || out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_optimizer_create_sgd: out is NULL");
    *out = NULL;
    clcnn_sgd_params chosen = params != NULL ? *params : clcnn_sgd_params_default();
    clcnn_status status = check_sgd_params(context, &chosen);
    if (status == CLCNN_OK)
        status = check_pairs(context, "clcnn_optimizer_create_sgd", count, parameters, grads);
    if (status != CLCNN_OK)
        return status;
    clcnn_optimizer *opt = calloc(1, sizeof *opt);
    if (opt == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    opt->kind = OPTIMIZER_SGD;
    opt->sgd = chosen;
    opt->lr = chosen.lr;
    opt->states_per_param = chosen.momentum != 0.0 ? 1 : 0;
    return optimizer_finish_create(context, opt, count, parameters, grads,
                                   chosen.momentum != 0.0 ? "sgd_momentum_step" : "sgd_step", out);
}

clcnn_status clcnn_optimizer_create_sgd(clcnn_context *context, const clcnn_sgd_params *params,
                                        size_t count, clcnn_tensor *const *parameters,
                                        clcnn_tensor *const *grads, clcnn_optimizer **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        optimizer_create_sgd(context, params, count, parameters, grads, out));
}

static clcnn_status optimizer_create_adam(clcnn_context *context, const clcnn_adam_params *params,
                                          size_t count, clcnn_tensor *const *parameters,
                                          clcnn_tensor *const *grads, clcnn_optimizer **out) {
    if (context == NULL || out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_optimizer_create_adam: out is NULL");
    *out = NULL;
    clcnn_adam_params chosen = params != NULL ? *params : clcnn_adam_params_default();
    clcnn_status status = check_adam_params(context, &chosen);
    if (status == CLCNN_OK)
        status = check_pairs(context, "clcnn_optimizer_create_adam", count, parameters, grads);
    if (status != CLCNN_OK)
        return status;
    clcnn_optimizer *opt = calloc(1, sizeof *opt);
    if (opt == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    opt->kind = OPTIMIZER_ADAM;
    opt->adam = chosen;
    opt->lr = chosen.lr;
    opt->states_per_param = chosen.amsgrad ? 3 : 2;
    return optimizer_finish_create(context, opt, count, parameters, grads, "adam_step", out);
}

clcnn_status clcnn_optimizer_create_adam(clcnn_context *context, const clcnn_adam_params *params,
                                         size_t count, clcnn_tensor *const *parameters,
                                         clcnn_tensor *const *grads, clcnn_optimizer **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        optimizer_create_adam(context, params, count, parameters, grads, out));
}

/* ------------------------------------------------------------------- steps */

/* Sets the kernel's arguments from a list of (size, pointer) pairs. */
static clcnn_status set_args(clcnn_context *ctx, cl_kernel kernel, size_t count,
                             const size_t *sizes, const void *const *values) {
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, sizes[i], values[i]);
        if (err != CL_SUCCESS)
            return clcnn__fail_cl(ctx, err, "clSetKernelArg (optimizer)");
    }
    return CLCNN_OK;
}

/* Launches the optimizer's kernel over the chunks of a tensor of numel
 * elements (the arguments are set). */
static clcnn_status launch(clcnn_optimizer *opt, size_t numel) {
    size_t chunks = numel / opt->width + (numel % opt->width != 0);
    size_t global = clcnn__round_up(chunks, opt->local_size);
    return clcnn__enqueue_kernel(opt->ctx, opt->kernel, 1, &global, &opt->local_size);
}

/* The SGD factors of one step, as PyTorch rounds them (Python double ->
 * float). */
typedef struct sgd_scalars {
    cl_float lr, weight_decay, momentum, one_minus_dampening;
    cl_uint first_step, nesterov;
} sgd_scalars;

/* The buffers of one launch: parameter `index`, or with index SIZE_MAX the
 * spans of the fused path. */
typedef struct launch_buffers {
    cl_mem param, grad;
    cl_mem state[MAX_STATES];
    cl_ulong count;
} launch_buffers;

static launch_buffers buffers_for(const clcnn_optimizer *opt, size_t index) {
    launch_buffers b;
    memset(&b, 0, sizeof b);
    int fused = index == SIZE_MAX;
    b.param = (fused ? opt->param_span : opt->params[index])->storage->mem;
    b.grad = (fused ? opt->grad_span : opt->grads[index])->storage->mem;
    b.count = fused ? opt->span : opt->params[index]->numel;
    for (size_t k = 0; k < opt->states_per_param; k++)
        b.state[k] = (fused ? opt->state_arenas[k] : opt->states[index * opt->states_per_param + k])
                         ->storage->mem;
    return b;
}

/* Whether every float factor is finite: then an update of the zero gaps
 * of the arenas leaves them zero (with Adam's eps > 0 too). */
static int all_finite(const cl_float *values, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(values[i]))
            return 0;
    return 1;
}

static clcnn_status sgd_launch(clcnn_optimizer *opt, size_t index, const sgd_scalars *s) {
    launch_buffers b = buffers_for(opt, index);
    cl_mem param = b.param, grad = b.grad;
    cl_ulong count = b.count;
    clcnn_status status;
    if (opt->states_per_param == 0) {
        const size_t sizes[] = {sizeof param, sizeof grad, sizeof count, sizeof s->lr,
                                sizeof s->weight_decay};
        const void *const values[] = {&param, &grad, &count, &s->lr, &s->weight_decay};
        status = set_args(opt->ctx, opt->kernel, 5, sizes, values);
    } else {
        cl_mem buf = b.state[0];
        const size_t sizes[] = {sizeof param,         sizeof grad,
                                sizeof buf,           sizeof count,
                                sizeof s->lr,         sizeof s->weight_decay,
                                sizeof s->momentum,   sizeof s->one_minus_dampening,
                                sizeof s->first_step, sizeof s->nesterov};
        const void *const values[] = {&param,         &grad,
                                      &buf,           &count,
                                      &s->lr,         &s->weight_decay,
                                      &s->momentum,   &s->one_minus_dampening,
                                      &s->first_step, &s->nesterov};
        status = set_args(opt->ctx, opt->kernel, 10, sizes, values);
    }
    return status == CLCNN_OK ? launch(opt, (size_t)count) : status;
}

static clcnn_status sgd_step(clcnn_optimizer *opt) {
    const clcnn_sgd_params *h = &opt->sgd;
    sgd_scalars s;
    s.lr = (cl_float)opt->lr;
    s.weight_decay = (cl_float)h->weight_decay;
    s.momentum = (cl_float)h->momentum;
    s.one_minus_dampening = (cl_float)(1.0 - h->dampening);
    s.first_step = opt->step == 0;
    s.nesterov = h->nesterov != 0;
    const cl_float factors[] = {s.lr, s.weight_decay, s.momentum, s.one_minus_dampening};
    if (opt->param_span != NULL && all_finite(factors, sizeof factors / sizeof factors[0]))
        return sgd_launch(opt, SIZE_MAX, &s);
    for (size_t i = 0; i < opt->count; i++) {
        clcnn_status status = sgd_launch(opt, i, &s);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

/* The Adam factors of step t, computed in double as torch.optim.Adam does in
 * Python, rounded to float once. */
typedef struct adam_scalars {
    cl_float decoupled_factor, coupled_decay, lerp_weight, beta2, one_minus_beta2;
    cl_float step_size, bias_correction2_sqrt, eps;
    cl_uint amsgrad;
} adam_scalars;

static adam_scalars adam_scalars_for(const clcnn_optimizer *opt, uint64_t t) {
    const clcnn_adam_params *h = &opt->adam;
    double bias_correction1 = 1.0 - pow(h->beta1, (double)t);
    double bias_correction2 = 1.0 - pow(h->beta2, (double)t);
    adam_scalars s;
    s.decoupled_factor =
        h->decoupled_weight_decay ? (cl_float)(1.0 - opt->lr * h->weight_decay) : 1.0f;
    s.coupled_decay = h->decoupled_weight_decay ? 0.0f : (cl_float)h->weight_decay;
    s.lerp_weight = (cl_float)(1.0 - h->beta1);
    s.beta2 = (cl_float)h->beta2;
    s.one_minus_beta2 = (cl_float)(1.0 - h->beta2);
    s.step_size = (cl_float)(opt->lr / bias_correction1);
    s.bias_correction2_sqrt = (cl_float)sqrt(bias_correction2);
    s.eps = (cl_float)h->eps;
    s.amsgrad = h->amsgrad != 0;
    return s;
}

static clcnn_status adam_launch(clcnn_optimizer *opt, size_t index, const adam_scalars *s) {
    launch_buffers b = buffers_for(opt, index);
    cl_mem param = b.param, grad = b.grad;
    cl_mem exp_avg = b.state[0];
    cl_mem exp_avg_sq = b.state[1];
    /* Without amsgrad the kernel never touches this argument. */
    cl_mem max_exp_avg_sq = s->amsgrad ? b.state[2] : exp_avg_sq;
    cl_ulong count = b.count;
    const size_t sizes[] = {sizeof param,
                            sizeof grad,
                            sizeof exp_avg,
                            sizeof exp_avg_sq,
                            sizeof max_exp_avg_sq,
                            sizeof count,
                            sizeof s->decoupled_factor,
                            sizeof s->coupled_decay,
                            sizeof s->lerp_weight,
                            sizeof s->beta2,
                            sizeof s->one_minus_beta2,
                            sizeof s->step_size,
                            sizeof s->bias_correction2_sqrt,
                            sizeof s->eps,
                            sizeof s->amsgrad};
    const void *const values[] = {&param,
                                  &grad,
                                  &exp_avg,
                                  &exp_avg_sq,
                                  &max_exp_avg_sq,
                                  &count,
                                  &s->decoupled_factor,
                                  &s->coupled_decay,
                                  &s->lerp_weight,
                                  &s->beta2,
                                  &s->one_minus_beta2,
                                  &s->step_size,
                                  &s->bias_correction2_sqrt,
                                  &s->eps,
                                  &s->amsgrad};
    clcnn_status status = set_args(opt->ctx, opt->kernel, 15, sizes, values);
    return status == CLCNN_OK ? launch(opt, (size_t)count) : status;
}

static clcnn_status adam_step(clcnn_optimizer *opt) {
    adam_scalars s = adam_scalars_for(opt, opt->step + 1);
    const cl_float factors[] = {
        s.decoupled_factor, s.coupled_decay, s.lerp_weight,          s.beta2,
        s.one_minus_beta2,  s.step_size,     s.bias_correction2_sqrt};
    if (opt->param_span != NULL && s.eps > 0.0f && s.bias_correction2_sqrt > 0.0f &&
        all_finite(factors, sizeof factors / sizeof factors[0]))
        return adam_launch(opt, SIZE_MAX, &s);
    for (size_t i = 0; i < opt->count; i++) {
        clcnn_status status = adam_launch(opt, i, &s);
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
    clcnn_status status =
        optimizer->kind == OPTIMIZER_SGD ? sgd_step(optimizer) : adam_step(optimizer);
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
    out->param_index = index / optimizer->states_per_param;
    out->name = state_names(optimizer)[index % optimizer->states_per_param];
    out->tensor = optimizer->states[index];
    return CLCNN_OK;
}
