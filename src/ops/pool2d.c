/* 2-D max and average pooling (cl/pool2d.cl): parameter checks, output
 * shapes, and the per-device choice of how many elements of a row one
 * work-item handles. The window, stride and padding are kernel arguments:
 * one program serves every configuration, and on POCL, which compiles a
 * kernel again for every work-group size it meets, CPUs launch with one
 * fixed work-group size. */
#include <limits.h>
#include <stdio.h>

#include "clcnn/pool2d.h"
#include "runtime/internal.h"

/* Elements of a row per work-item. POCL runs a work-item's loop as scalar
 * code and pays per work-group, so a CPU takes whole rows (up to 32) and,
 * for 2x2 windows of stride 2, explicit float8 loads; a GPU takes one
 * element per work-item so that neighbours read neighbouring memory. */
/* The device table's row (runtime/device_table.c, clcnn__pool2d_choices). */
static const clcnn__pool2d_choices *tuning_for(const clcnn_context *ctx) {
    return &ctx->choices.pool2d;
}

clcnn_pool2d_params clcnn_pool2d_params_default(void) {
    clcnn_pool2d_params params;
    params.mode = CLCNN_POOL2D_MAX;
    params.kernel_h = 2;
    params.kernel_w = 2;
    params.stride_h = 0;
    params.stride_w = 0;
    params.pad_h = 0;
    params.pad_w = 0;
    params.ceil_mode = 0;
    params.count_include_pad = 1;
    return params;
}

/* The kernels compute window coordinates with ints: parameters stay below
 * 2^24 and planes below 2^30 elements, so no sum of them overflows. */
#define POOL_PARAM_LIMIT (1 << 24)
#define POOL_PLANE_LIMIT ((size_t)1 << 30)

/* The parameters of one axis with the stride resolved. */
typedef struct pool_axis {
    size_t kernel, stride, pad;
} pool_axis;

static clcnn_status check_axis(clcnn_context *ctx, const char *axis, size_t kernel, size_t stride,
                               size_t pad, pool_axis *out) {
    if (kernel == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "kernel_%s is 0", axis);
    if (kernel > POOL_PARAM_LIMIT || stride > POOL_PARAM_LIMIT || pad > POOL_PARAM_LIMIT)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "kernel_%s %zu, stride_%s %zu or pad_%s %zu exceeds %d", axis, kernel,
                           axis, stride, axis, pad, POOL_PARAM_LIMIT);
    if (pad > kernel / 2)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "pad_%s %zu is more than half of kernel_%s %zu", axis, pad, axis,
                           kernel);
    out->kernel = kernel;
    out->stride = stride == 0 ? kernel : stride;
    out->pad = pad;
    return CLCNN_OK;
}

static clcnn_status check_params(clcnn_context *ctx, const clcnn_pool2d_params *params,
                                 pool_axis *rows, pool_axis *cols) {
    if (params == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "params is NULL");
    if (params->mode != CLCNN_POOL2D_MAX && params->mode != CLCNN_POOL2D_AVG)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown mode %d", (int)params->mode);
    clcnn_status status =
        check_axis(ctx, "h", params->kernel_h, params->stride_h, params->pad_h, rows);
    if (status != CLCNN_OK)
        return status;
    return check_axis(ctx, "w", params->kernel_w, params->stride_w, params->pad_w, cols);
}

/* PyTorch's pooling_output_shape with dilation 1. */
static clcnn_status output_size(clcnn_context *ctx, const char *axis, size_t input,
                                const pool_axis *p, int ceil_mode, size_t *out) {
    /* input is at most SIZE_MAX / 4 (it is a dimension of a float tensor)
     * and pad at most 2^24, so the sums below cannot overflow. */
    if (input == 0 || input > SIZE_MAX / 8)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "input %s is %zu", axis, input);
    const size_t reach = input + 2 * p->pad + (ceil_mode ? p->stride - 1 : 0);
    if (reach < p->kernel)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "the %s window %zu does not fit in the padded input %zu "
                           "(output size below 1)",
                           axis, p->kernel, input + 2 * p->pad);
    size_t size = (reach - p->kernel) / p->stride + 1;
    /* The last window must start inside the input or the left padding. */
    if (ceil_mode && (size - 1) * p->stride >= input + p->pad)
        size--;
    *out = size;
    return CLCNN_OK;
}

static clcnn_status shape_of(clcnn_context *ctx, const clcnn_pool2d_params *params,
                             const size_t input[4], size_t output[4], pool_axis *rows,
                             pool_axis *cols) {
    clcnn_status status = check_params(ctx, params, rows, cols);
    if (status != CLCNN_OK)
        return status;
    if (input[0] == 0 || input[1] == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "input [%zu, %zu, %zu, %zu] has a zero dimension", input[0], input[1],
                           input[2], input[3]);
    status = output_size(ctx, "height", input[2], rows, params->ceil_mode, &output[2]);
    if (status == CLCNN_OK)
        status = output_size(ctx, "width", input[3], cols, params->ceil_mode, &output[3]);
    if (status != CLCNN_OK)
        return status;
    output[0] = input[0];
    output[1] = input[1];
    return CLCNN_OK;
}

static clcnn_status pool2d_output_shape(clcnn_context *context, const clcnn_pool2d_params *params,
                                        const size_t input_dims[4], size_t output_dims[4]) {
    if (input_dims == NULL || output_dims == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_pool2d_output_shape: input_dims or output_dims is NULL");
    pool_axis rows, cols;
    size_t result[4];
    clcnn_status status = shape_of(context, params, input_dims, result, &rows, &cols);
    if (status != CLCNN_OK)
        return status;
    for (int i = 0; i < 4; i++)
        output_dims[i] = result[i];
    return CLCNN_OK;
}

clcnn_status clcnn_pool2d_output_shape(clcnn_context *context, const clcnn_pool2d_params *params,
                                       const size_t input_dims[4], size_t output_dims[4]) {
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        pool2d_output_shape(context, params, input_dims, output_dims));
}

/* Everything a launch needs, checked. */
typedef struct pool_plan {
    pool_axis rows, cols;
    size_t input[4], output[4];
} pool_plan;

/* Checks the input-shaped tensor `in` and the output-shaped tensor `out`
 * against the parameters and fills the plan. */
static clcnn_status make_plan(clcnn_context *ctx, const char *fn, const clcnn_pool2d_params *params,
                              const clcnn_tensor *in, const char *in_name, const clcnn_tensor *out,
                              const char *out_name, pool_plan *plan) {
    if (in->ndim != 4) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s %s is not 4-D (NCHW)", in_name,
                           clcnn__shape_string(in, shape, sizeof shape));
    }
    for (int i = 0; i < 4; i++)
        plan->input[i] = in->dims[i];
    clcnn_status status =
        shape_of(ctx, params, plan->input, plan->output, &plan->rows, &plan->cols);
    if (status != CLCNN_OK)
        return status;
    status = clcnn__check_dims_match(ctx, fn, out_name, out, 4, plan->output, in_name, in);
    if (status != CLCNN_OK)
        return status;
    if (plan->input[0] > UINT_MAX / plan->input[1])
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW, "%zu x %zu planes are more than %u",
                           plan->input[0], plan->input[1], UINT_MAX);
    if (plan->input[2] > POOL_PLANE_LIMIT / plan->input[3] ||
        plan->output[2] > POOL_PLANE_LIMIT / plan->output[3])
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "a plane of %zu x %zu (output %zu x %zu) has more than %zu "
                           "elements",
                           plan->input[2], plan->input[3], plan->output[2], plan->output[3],
                           POOL_PLANE_LIMIT);
    return CLCNN_OK;
}

/* Prepares kernel `name` built with the device's chunks. */
static clcnn_status prepare(clcnn_context *ctx, const char *name, clcnn__launch *launch) {
    const clcnn__pool2d_choices *t = tuning_for(ctx);
    char options[64];
    snprintf(options, sizeof options, "-DOW_CHUNK=%d -DIW_CHUNK=%d", t->out_chunk, t->in_chunk);
    return clcnn__launch_prepare(ctx, "pool2d.cl", options, name, launch);
}

/* Runs over (row chunks, rows, planes): one work-item per `chunk`
 * elements of each of the `rows` rows of `width` elements of every plane.
 * The kernels ignore work-items past the end of a dimension and use no
 * local memory, so a smaller work-group than preferred will do. A
 * work-group spans planes only (CPU), or fills the dimensions in order
 * (GPU, so that neighbouring work-items take neighbouring elements). */
static clcnn_status run(clcnn__launch *launch, size_t width, int chunk, size_t rows,
                        size_t planes) {
    clcnn_context *ctx = launch->ctx;
    const clcnn__pool2d_choices *t = tuning_for(ctx);
    size_t limit =
        t->local < ctx->info.max_work_group_size ? t->local : ctx->info.max_work_group_size;
    /* The compiled kernel may take fewer than the device's maximum (32 on
     * llvmpipe): a group of odd sides (7 x 9) cannot be halved to fit. */
    size_t allowed = 0;
    if (launch->kernel != NULL &&
        clcnn__kernel_work_group_limit(ctx, launch->kernel, &allowed) == CLCNN_OK && allowed > 0 &&
        allowed < limit)
        limit = allowed;
    const size_t counts[3] = {(width + (size_t)chunk - 1) / (size_t)chunk, rows, planes};
    size_t local[3] = {1, 1, limit}, global[3];
    size_t room = limit;
    for (int d = 0; d < 3; d++) {
        if (!t->by_plane) {
            local[d] = counts[d] < room ? counts[d] : room;
            room /= local[d];
        }
        global[d] = clcnn__round_up(counts[d], local[d]);
    }
    return clcnn__launch_run_fitted(launch, 3, global, local);
}

/* Whether the float8 kernels for 2x2 windows of stride 2 apply. */
static int use_vector_2x2(const clcnn_context *ctx, const pool_plan *plan) {
    return tuning_for(ctx)->vector_2x2 && plan->rows.kernel == 2 && plan->cols.kernel == 2 &&
           plan->rows.stride == 2 && plan->cols.stride == 2 && plan->rows.pad == 0 &&
           plan->cols.pad == 0;
}

/* The arguments every kernel starts with: the plane count, the sizes
 * (H, W, OH, OW) as an int4 and the window (kernel h/w, stride h/w, pad
 * h/w, count_include_pad) as an int8. */
static void arg_shape(clcnn__launch *launch, const clcnn_pool2d_params *params,
                      const pool_plan *plan) {
    const size_t sizes[4] = {plan->input[2], plan->input[3], plan->output[2], plan->output[3]};
    const size_t window[8] = {plan->rows.kernel,
                              plan->cols.kernel,
                              plan->rows.stride,
                              plan->cols.stride,
                              plan->rows.pad,
                              plan->cols.pad,
                              params->count_include_pad ? 1 : 0,
                              0};
    clcnn__arg_uint(launch, plan->input[0] * plan->input[1]);
    clcnn__arg_int_vector(launch, sizes, 4);
    clcnn__arg_int_vector(launch, window, 8);
}

/* Prepares a pass's kernel, names[0] where the 2x2 vector form applies
 * (*vector then 1), else names[1] for max or names[2] for average pooling,
 * and sets the arguments they start with (the 2x2 kernels then take the
 * mode). */
static clcnn_status prepare_pass(clcnn_context *context, const clcnn_pool2d_params *params,
                                 const pool_plan *plan, const char *const names[3], int *vector,
                                 clcnn__launch *launch) {
    const int is_max = params->mode == CLCNN_POOL2D_MAX;
    *vector = use_vector_2x2(context, plan);
    clcnn_status status = prepare(context,
                                  *vector  ? names[0]
                                  : is_max ? names[1]
                                           : names[2],
                                  launch);
    if (status != CLCNN_OK)
        return status;
    arg_shape(launch, params, plan);
    if (*vector)
        clcnn__arg_int(launch, (size_t)is_max);
    return CLCNN_OK;
}

static clcnn_status pool2d_forward(clcnn_context *context, const clcnn_pool2d_params *params,
                                   const clcnn_tensor *x, clcnn_tensor *y) {
    static const char fn[] = "clcnn_pool2d_forward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[] = {x, y};
    const char *names[] = {"x", "y"};
    clcnn_status status = clcnn__check_tensors(context, fn, operands, names, 2);
    pool_plan plan;
    if (status == CLCNN_OK)
        status = make_plan(context, fn, params, x, "x", y, "y", &plan);
    if (status == CLCNN_OK)
        status = clcnn__check_distinct(context, fn, "y", y, "x", x);
    if (status != CLCNN_OK)
        return status;
    static const char *const kernels[3] = {"pool2d_forward_2x2", "pool2d_max_forward",
                                           "pool2d_avg_forward"};
    int vector = 0;
    clcnn__launch launch;
    if ((status = prepare_pass(context, params, &plan, kernels, &vector, &launch)) != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, x);
    clcnn__arg_tensor(&launch, y);
    const size_t planes = plan.input[0] * plan.input[1];
    if (vector) /* one work-item per output row */
        return run(&launch, 1, 1, plan.output[2], planes);
    return run(&launch, plan.output[3], tuning_for(context)->out_chunk, plan.output[2], planes);
}

clcnn_status clcnn_pool2d_forward(clcnn_context *context, const clcnn_pool2d_params *params,
                                  const clcnn_tensor *x, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, pool2d_forward(context, params, x, y));
}

static clcnn_status pool2d_backward(clcnn_context *context, const clcnn_pool2d_params *params,
                                    const clcnn_tensor *x, const clcnn_tensor *dy, clcnn_tensor *dx,
                                    clcnn_grad_mode grad_mode) {
    static const char fn[] = "clcnn_pool2d_backward";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (params == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: params is NULL", fn);
    const int is_max = params->mode == CLCNN_POOL2D_MAX;
    clcnn_status status = CLCNN_OK;
    if (is_max || x != NULL)
        status = clcnn__check_tensor(context, x, "clcnn_pool2d_backward: x");
    const clcnn_tensor *grads[] = {dy, dx};
    const char *grad_names[] = {"dy", "dx"};
    if (status == CLCNN_OK)
        status = clcnn__check_tensors(context, fn, grads, grad_names, 2);
    if (status == CLCNN_OK)
        status = clcnn__check_grad_mode(context, fn, grad_mode);
    pool_plan plan;
    if (status == CLCNN_OK)
        status = make_plan(context, fn, params, dx, "dx", dy, "dy", &plan);
    if (status == CLCNN_OK && x != NULL)
        status = clcnn__check_dims(context, "clcnn_pool2d_backward: x", x, 4, plan.input);
    if (status == CLCNN_OK)
        status = clcnn__check_distinct(context, fn, "dx", dx, "dy", dy);
    if (status == CLCNN_OK && x != NULL)
        status = clcnn__check_distinct(context, fn, "dx", dx, "x", x);
    if (status != CLCNN_OK)
        return status;
    static const char *const kernels[3] = {"pool2d_backward_2x2", "pool2d_max_backward",
                                           "pool2d_avg_backward"};
    int vector = 0;
    clcnn__launch launch;
    if ((status = prepare_pass(context, params, &plan, kernels, &vector, &launch)) != CLCNN_OK)
        return status;
    clcnn__arg_int(&launch, grad_mode == CLCNN_GRAD_ACCUMULATE);
    if (vector || is_max) /* the 2x2 kernel's average pool does not read x */
        clcnn__arg_tensor(&launch, is_max ? x : dy);
    clcnn__arg_tensor(&launch, dy);
    clcnn__arg_tensor(&launch, dx);
    const size_t planes = plan.input[0] * plan.input[1];
    if (vector) /* one work-item per output row */
        return run(&launch, 1, 1, plan.output[2], planes);
    return run(&launch, plan.input[3], tuning_for(context)->in_chunk, plan.input[2], planes);
}

clcnn_status clcnn_pool2d_backward(clcnn_context *context, const clcnn_pool2d_params *params,
                                   const clcnn_tensor *x, const clcnn_tensor *dy, clcnn_tensor *dx,
                                   clcnn_grad_mode grad_mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        pool2d_backward(context, params, x, dy, dx, grad_mode));
}
