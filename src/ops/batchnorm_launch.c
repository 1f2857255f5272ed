/* Batch norm on the device: the per-device plan table and the kernel
 * sequences of cl/batchnorm.cl. The callers in batchnorm.c have checked
 * every argument; here sizes are known to fit the kernels' 32-bit indices.
 *
 * Training forward, n values per channel:
 *   n <= small_limit: bn_train_small (one launch);
 *   else: statistics partials -> merge stages while more than `fanin` remain
 *         -> bn_train_finalize -> bn_normalize.
 * Backward has the same shape with gradient sums. Workspaces come from the
 * context's pool and go back right after enqueueing (the queue is in
 * order). */
#include <stdio.h>

#include "batchnorm_flags.h"
#include "ops/batchnorm_internal.h"

/* ------------------------------------------------------------------ plans */

/* The device table's plans (runtime/device_table.c). CPUs (POCL):
 * reductions read whole batch rows in memory order when rows of a channel
 * are 16 values or longer and the batch gives 16 work-items, else one
 * work-item per chunk of 4096 values of a channel (16 KiB: its second pass
 * reads from L1); element-wise passes of 16384 values per work-item so
 * that work-groups stay few; channels of up to 4096 values in one fused
 * kernel. GPUs: work-groups of 256 x 16 values with a local tree, one
 * element per work-item in element-wise passes. */
clcnn__batchnorm_plan clcnn__batchnorm_plan_rows(void) {
    return clcnn__device_class_row(CLCNN_DEVICE_TYPE_CPU)->batchnorm;
}

clcnn__batchnorm_plan clcnn__batchnorm_plan_work_group(void) {
    return clcnn__device_class_row(CLCNN_DEVICE_TYPE_GPU)->batchnorm;
}

clcnn__batchnorm_plan clcnn__batchnorm_plan_for(const clcnn_context *ctx) {
    return ctx->choices.batchnorm;
}

/* -------------------------------------------------------------- launching */

typedef struct kernel_arg {
    size_t size;
    const void *value;
} kernel_arg;

/* Typed constructors, so that each argument's size matches its type. */
static kernel_arg arg_mem(const cl_mem *mem) {
    return (kernel_arg){sizeof *mem, mem};
}

static kernel_arg arg_uint(const cl_uint *value) {
    return (kernel_arg){sizeof *value, value};
}

static kernel_arg arg_float(const cl_float *value) {
    return (kernel_arg){sizeof *value, value};
}

/* `bytes` of local memory. */
static kernel_arg arg_local(size_t bytes) {
    return (kernel_arg){bytes, NULL};
}

#define ARG_COUNT(args) (sizeof(args) / sizeof((args)[0]))

/* The build options of the work-group kernels of a plan (NULL: the
 * defaults of cl/batchnorm.cl, the build the runtime prepares). */
static const char *build_options(const clcnn__batchnorm_plan *plan, char *buffer, size_t size) {
    if (!plan->work_group_reduce || plan->items == 16)
        return NULL;
    snprintf(buffer, size, "-DBN_ITEMS=%zu", plan->items);
    return buffer;
}

/* Sets the arguments of kernel `name` of cl/batchnorm.cl built with
 * `options` and enqueues it. Only the *_wg kernels depend on the options;
 * every other kernel comes from the default build. */
static clcnn_status launch(clcnn_context *ctx, const char *options, const char *name,
                           const kernel_arg *args, size_t arg_count, cl_uint dims,
                           const size_t *global, const size_t *local) {
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "batchnorm.cl", options, name, &kernel);
    if (status != CLCNN_OK)
        return status;
    for (size_t i = 0; i < arg_count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "setting argument %zu of kernel '%s'", i, name);
            return clcnn__fail_cl(ctx, err, what);
        }
    }
    return clcnn__enqueue_kernel(ctx, kernel, dims, global, local);
}

/* Launches a kernel other than the *_wg ones over items[0..dims-1]
 * work-items with a fixed local size, so that drivers that specialise
 * kernels per local size (POCL) compile each once: one work-item per
 * work-group on the per-work-item path (POCL then spreads the few, long
 * work-items over its threads), else up to 64 along the last dimension
 * with the global size rounded up (kernels guard their ranges). */
static clcnn_status launch_items(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                 const char *name, const kernel_arg *args, size_t arg_count,
                                 cl_uint dims, const size_t *items) {
    size_t global[2] = {items[0], dims > 1 ? items[1] : 1}, local[2] = {1, 1};
    if (plan->work_group_reduce) {
        size_t size = plan->work_group_size < 64 ? plan->work_group_size : 64;
        local[dims - 1] = size;
        global[dims - 1] = clcnn__round_up(global[dims - 1], size);
    }
    return launch(ctx, NULL, name, args, arg_count, dims, global, local);
}

/* The largest work-group size kernel `name` may run with. */
static clcnn_status kernel_limit(clcnn_context *ctx, const char *options, const char *name,
                                 size_t *limit) {
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "batchnorm.cl", options, name, &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_int err = clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof *limit, limit, NULL);
    return err == CL_SUCCESS ? CLCNN_OK
                             : clcnn__fail_cl(ctx, err, "clGetKernelWorkGroupInfo(batchnorm)");
}

/* Makes the plan fit the device: the work-group size becomes the largest
 * power of two within the plan's, the device's and the kernels' limits and
 * local memory (16 bytes a work-item). */
static clcnn_status fit_plan(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                             clcnn__batchnorm_plan *fitted) {
    *fitted = *plan;
    if (!plan->work_group_reduce)
        return CLCNN_OK;
    char options[64];
    const char *build = build_options(plan, options, sizeof options);
    size_t stats_limit = 0, sums_limit = 0;
    clcnn_status status = kernel_limit(ctx, build, "bn_stats_wg", &stats_limit);
    if (status == CLCNN_OK)
        status = kernel_limit(ctx, build, "bn_grad_sums_wg", &sums_limit);
    if (status != CLCNN_OK)
        return status;
    size_t size = 1;
    while (size * 2 <= plan->work_group_size && size * 2 <= ctx->info.max_work_group_size &&
           size * 2 <= stats_limit && size * 2 <= sums_limit &&
           size * 2 * 4 * sizeof(cl_float) <= ctx->info.local_mem_bytes)
        size *= 2;
    fitted->work_group_size = size;
    fitted->chunk = size * plan->items;
    return CLCNN_OK;
}

static size_t ceil_div(size_t a, size_t b) {
    return (a + b - 1) / b;
}

/* Batch rows per work-item of the *_batch_rows kernels, or 0 when the plan
 * and shape call for per-channel chunks instead, or when one batch row is
 * more than a work-item may loop over under the driver's loop-trip limit
 * (two float8 passes: about one trip per two values, counted generously). */
static size_t batch_rows_per_item(const clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                  const clcnn__batchnorm_shape *shape) {
    if (plan->work_group_reduce || plan->batch_rows_min_inner == 0 ||
        shape->inner < plan->batch_rows_min_inner || shape->batch < plan->batch_rows_min_parts)
        return 0;
    size_t trips = clcnn__loop_trips_allowed(ctx, 1);
    if (trips != SIZE_MAX && shape->channels * shape->inner > trips * 2)
        return 0;
    size_t by_span = plan->span / (shape->channels * shape->inner);
    size_t by_parallelism =
        shape->batch / (plan->batch_rows_min_parts > 0 ? plan->batch_rows_min_parts : 1);
    size_t rows = by_span < by_parallelism ? by_span : by_parallelism;
    return rows > 0 ? rows : 1;
}

/* Two workspaces for partials of `bytes_per_partial` bytes: `first` holds
 * channels * parts of them, `second` the first merge stage's output (or
 * nothing when no merge is needed). */
typedef struct partial_buffers {
    cl_mem first, second, coef;
} partial_buffers;

static void release_partials(clcnn_context *ctx, partial_buffers *buffers) {
    cl_mem *all[] = {&buffers->first, &buffers->second, &buffers->coef};
    for (size_t i = 0; i < 3; i++) {
        if (*all[i] != NULL)
            clcnn__buffer_release(ctx, *all[i]);
        *all[i] = NULL;
    }
}

static clcnn_status acquire_partials(clcnn_context *ctx, size_t channels, size_t parts,
                                     size_t fanin, size_t bytes_per_partial, int want_coef,
                                     partial_buffers *out) {
    *out = (partial_buffers){NULL, NULL, NULL};
    clcnn_status status =
        clcnn__buffer_acquire(ctx, channels * parts * bytes_per_partial, &out->first);
    if (status == CLCNN_OK && parts > fanin)
        status = clcnn__buffer_acquire(ctx, channels * ceil_div(parts, fanin) * bytes_per_partial,
                                       &out->second);
    if (status == CLCNN_OK && want_coef)
        status = clcnn__buffer_acquire(ctx, channels * 4 * sizeof(cl_float), &out->coef);
    if (status != CLCNN_OK)
        release_partials(ctx, out);
    return status;
}

/* Merge stages until at most `fanin` partials per channel remain; *current
 * ends on the buffer that holds them. */
static clcnn_status merge_stages(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                 const char *kernel_name, cl_uint channels, partial_buffers *work,
                                 cl_mem *current, cl_uint *parts) {
    cl_mem spare = work->second;
    *current = work->first;
    cl_uint fanin = (cl_uint)plan->fanin;
    while (*parts > fanin) {
        cl_uint parts_out = (cl_uint)ceil_div(*parts, fanin);
        kernel_arg args[] = {arg_mem(current), arg_mem(&spare),      arg_uint(&channels),
                             arg_uint(parts),  arg_uint(&parts_out), arg_uint(&fanin)};
        size_t global[2] = {parts_out, channels};
        clcnn_status status =
            launch_items(ctx, plan, kernel_name, args, ARG_COUNT(args), 2, global);
        if (status != CLCNN_OK)
            return status;
        cl_mem done = *current;
        *current = spare;
        spare = done;
        *parts = parts_out;
    }
    return CLCNN_OK;
}

/* The call's buffers with every absent optional one replaced by x: kernels
 * never touch an argument that their flags mark absent, and some tools
 * (Oclgrind's uninitialised-memory checker) cannot take NULL buffers. */
static clcnn__batchnorm_buffers fill_absent(const clcnn__batchnorm_buffers *buffers) {
    clcnn__batchnorm_buffers filled = *buffers;
    cl_mem *all[] = {&filled.y,           &filled.dy,        &filled.dx,
                     &filled.gamma,       &filled.beta,      &filled.running_mean,
                     &filled.running_var, &filled.save_mean, &filled.save_invstd,
                     &filled.dgamma,      &filled.dbeta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i] == NULL)
            *all[i] = filled.x;
    return filled;
}

/* --------------------------------------------------------------- forward */

static clcnn_status normalize(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                              const clcnn__batchnorm_shape *shape, cl_mem x, cl_mem y, cl_mem coef,
                              unsigned flags) {
    cl_uint channels = (cl_uint)shape->channels, inner = (cl_uint)shape->inner;
    cl_uint total = (cl_uint)shape->total, span = (cl_uint)plan->span;
    cl_uint flag_bits = flags;
    kernel_arg args[] = {arg_mem(&x),      arg_mem(&y),      arg_mem(&coef),  arg_uint(&channels),
                         arg_uint(&inner), arg_uint(&total), arg_uint(&span), arg_uint(&flag_bits)};
    size_t global = ceil_div(shape->total, plan->span);
    return launch_items(ctx, plan, "bn_normalize", args, ARG_COUNT(args), 1, &global);
}

clcnn_status clcnn__batchnorm_enqueue_train(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                            const clcnn__batchnorm_shape *shape,
                                            const clcnn__batchnorm_buffers *buffers, float eps,
                                            float factor, unsigned flags) {
    clcnn__batchnorm_buffers filled = fill_absent(buffers);
    const clcnn__batchnorm_buffers *b = &filled;
    clcnn__batchnorm_plan fitted;
    clcnn_status status = fit_plan(ctx, plan, &fitted);
    if (status != CLCNN_OK)
        return status;
    cl_uint channels = (cl_uint)shape->channels, inner = (cl_uint)shape->inner;
    cl_uint count = (cl_uint)shape->count, flag_bits = flags;

    if (shape->count <= fitted.small_limit) {
        kernel_arg args[] = {arg_mem(&b->x),
                             arg_mem(&b->y),
                             arg_mem(&b->gamma),
                             arg_mem(&b->beta),
                             arg_mem(&b->running_mean),
                             arg_mem(&b->running_var),
                             arg_mem(&b->save_mean),
                             arg_mem(&b->save_invstd),
                             arg_uint(&channels),
                             arg_uint(&inner),
                             arg_uint(&count),
                             arg_float(&eps),
                             arg_float(&factor),
                             arg_uint(&flag_bits)};
        size_t global = shape->channels;
        return launch_items(ctx, &fitted, "bn_train_small", args, ARG_COUNT(args), 1, &global);
    }

    size_t batches = batch_rows_per_item(ctx, &fitted, shape);
    cl_uint parts = (cl_uint)(batches > 0 ? ceil_div(shape->batch, batches)
                                          : ceil_div(shape->count, fitted.chunk));
    partial_buffers work;
    status =
        acquire_partials(ctx, shape->channels, parts, fitted.fanin, 4 * sizeof(cl_float), 1, &work);
    if (status != CLCNN_OK)
        return status;
    if (fitted.work_group_reduce) {
        kernel_arg args[] = {
            arg_mem(&b->x),      arg_mem(&work.first),
            arg_uint(&channels), arg_uint(&inner),
            arg_uint(&count),    arg_local(4 * sizeof(cl_float) * fitted.work_group_size)};
        size_t global[2] = {parts * fitted.work_group_size, shape->channels};
        size_t local[2] = {fitted.work_group_size, 1};
        char options[64];
        status = launch(ctx, build_options(&fitted, options, sizeof options), "bn_stats_wg", args,
                        ARG_COUNT(args), 2, global, local);
    } else if (batches > 0) {
        cl_uint batch = (cl_uint)shape->batch, batch_rows = (cl_uint)batches;
        kernel_arg args[] = {arg_mem(&b->x),   arg_mem(&work.first), arg_uint(&channels),
                             arg_uint(&inner), arg_uint(&batch),     arg_uint(&batch_rows),
                             arg_uint(&parts)};
        size_t global = parts;
        status =
            launch_items(ctx, &fitted, "bn_stats_batch_rows", args, ARG_COUNT(args), 1, &global);
    } else {
        cl_uint chunk = (cl_uint)fitted.chunk;
        kernel_arg args[] = {arg_mem(&b->x),   arg_mem(&work.first), arg_uint(&channels),
                             arg_uint(&inner), arg_uint(&count),     arg_uint(&chunk),
                             arg_uint(&parts)};
        size_t global[2] = {parts, shape->channels};
        status = launch_items(ctx, &fitted, "bn_stats_rows", args, ARG_COUNT(args), 2, global);
    }
    cl_mem partials = NULL;
    if (status == CLCNN_OK)
        status = merge_stages(ctx, &fitted, "bn_moments_merge", channels, &work, &partials, &parts);
    if (status == CLCNN_OK) {
        kernel_arg args[] = {
            arg_mem(&partials),     arg_uint(&parts),          arg_mem(&b->gamma),
            arg_mem(&b->beta),      arg_mem(&b->running_mean), arg_mem(&b->running_var),
            arg_mem(&b->save_mean), arg_mem(&b->save_invstd),  arg_mem(&work.coef),
            arg_uint(&channels),    arg_uint(&count),          arg_float(&eps),
            arg_float(&factor),     arg_uint(&flag_bits)};
        size_t global = shape->channels;
        status = launch_items(ctx, &fitted, "bn_train_finalize", args, ARG_COUNT(args), 1, &global);
    }
    if (status == CLCNN_OK)
        status = normalize(ctx, &fitted, shape, b->x, b->y, work.coef, flags);
    release_partials(ctx, &work);
    return status;
}

clcnn_status clcnn__batchnorm_enqueue_eval(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                           const clcnn__batchnorm_shape *shape,
                                           const clcnn__batchnorm_buffers *buffers, float eps,
                                           unsigned flags) {
    clcnn__batchnorm_buffers filled = fill_absent(buffers);
    const clcnn__batchnorm_buffers *b = &filled;
    clcnn__batchnorm_plan fitted;
    clcnn_status status = fit_plan(ctx, plan, &fitted);
    if (status != CLCNN_OK)
        return status;
    cl_mem coef = NULL;
    status = clcnn__buffer_acquire(ctx, shape->channels * 4 * sizeof(cl_float), &coef);
    if (status != CLCNN_OK)
        return status;
    cl_uint channels = (cl_uint)shape->channels, flag_bits = flags;
    kernel_arg args[] = {arg_mem(&b->running_mean), arg_mem(&b->running_var), arg_mem(&b->gamma),
                         arg_mem(&b->beta),         arg_mem(&coef),           arg_uint(&channels),
                         arg_float(&eps),           arg_uint(&flag_bits)};
    size_t global = shape->channels;
    status = launch_items(ctx, &fitted, "bn_eval_coef", args, ARG_COUNT(args), 1, &global);
    if (status == CLCNN_OK)
        status = normalize(ctx, &fitted, shape, b->x, b->y, coef, flags);
    clcnn__buffer_release(ctx, coef);
    return status;
}

/* -------------------------------------------------------------- backward */

static clcnn_status backward_dx(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                const clcnn__batchnorm_shape *shape,
                                const clcnn__batchnorm_buffers *b, cl_mem coef, unsigned flags) {
    cl_uint channels = (cl_uint)shape->channels, inner = (cl_uint)shape->inner;
    cl_uint total = (cl_uint)shape->total, span = (cl_uint)plan->span, flag_bits = flags;
    kernel_arg args[] = {arg_mem(&b->x),  arg_mem(&b->dy),     arg_mem(&b->y),   arg_mem(&b->dx),
                         arg_mem(&coef),  arg_uint(&channels), arg_uint(&inner), arg_uint(&total),
                         arg_uint(&span), arg_uint(&flag_bits)};
    size_t global = ceil_div(shape->total, plan->span);
    return launch_items(ctx, plan, "bn_backward_dx", args, ARG_COUNT(args), 1, &global);
}

clcnn_status clcnn__batchnorm_enqueue_backward(clcnn_context *ctx,
                                               const clcnn__batchnorm_plan *plan,
                                               const clcnn__batchnorm_shape *shape,
                                               const clcnn__batchnorm_buffers *buffers,
                                               unsigned flags) {
    clcnn__batchnorm_buffers filled = fill_absent(buffers);
    const clcnn__batchnorm_buffers *b = &filled;
    clcnn__batchnorm_plan fitted;
    clcnn_status status = fit_plan(ctx, plan, &fitted);
    if (status != CLCNN_OK)
        return status;
    cl_uint channels = (cl_uint)shape->channels, inner = (cl_uint)shape->inner;
    cl_uint count = (cl_uint)shape->count, flag_bits = flags;

    if (shape->count <= fitted.small_limit) {
        kernel_arg args[] = {arg_mem(&b->x),      arg_mem(&b->dy),        arg_mem(&b->y),
                             arg_mem(&b->gamma),  arg_mem(&b->save_mean), arg_mem(&b->save_invstd),
                             arg_mem(&b->dx),     arg_mem(&b->dgamma),    arg_mem(&b->dbeta),
                             arg_uint(&channels), arg_uint(&inner),       arg_uint(&count),
                             arg_uint(&flag_bits)};
        size_t global = shape->channels;
        return launch_items(ctx, &fitted, "bn_backward_small", args, ARG_COUNT(args), 1, &global);
    }

    size_t batches = batch_rows_per_item(ctx, &fitted, shape);
    cl_uint parts = (cl_uint)(batches > 0 ? ceil_div(shape->batch, batches)
                                          : ceil_div(shape->count, fitted.chunk));
    partial_buffers work;
    status =
        acquire_partials(ctx, shape->channels, parts, fitted.fanin, 2 * sizeof(cl_float), 1, &work);
    if (status != CLCNN_OK)
        return status;
    if (fitted.work_group_reduce) {
        kernel_arg args[] = {
            arg_mem(&b->x),       arg_mem(&b->dy),
            arg_mem(&b->y),       arg_mem(&b->save_mean),
            arg_mem(&work.first), arg_uint(&channels),
            arg_uint(&inner),     arg_uint(&count),
            arg_uint(&flag_bits), arg_local(2 * sizeof(cl_float) * fitted.work_group_size)};
        size_t global[2] = {parts * fitted.work_group_size, shape->channels};
        size_t local[2] = {fitted.work_group_size, 1};
        char options[64];
        status = launch(ctx, build_options(&fitted, options, sizeof options), "bn_grad_sums_wg",
                        args, ARG_COUNT(args), 2, global, local);
    } else if (batches > 0) {
        cl_uint batch = (cl_uint)shape->batch, batch_rows = (cl_uint)batches;
        kernel_arg args[] = {arg_mem(&b->x),         arg_mem(&b->dy),      arg_mem(&b->y),
                             arg_mem(&b->save_mean), arg_mem(&work.first), arg_uint(&channels),
                             arg_uint(&inner),       arg_uint(&batch),     arg_uint(&batch_rows),
                             arg_uint(&parts),       arg_uint(&flag_bits)};
        size_t global = parts;
        status = launch_items(ctx, &fitted, "bn_grad_sums_batch_rows", args, ARG_COUNT(args), 1,
                              &global);
    } else {
        cl_uint chunk = (cl_uint)fitted.chunk;
        kernel_arg args[] = {arg_mem(&b->x),         arg_mem(&b->dy),      arg_mem(&b->y),
                             arg_mem(&b->save_mean), arg_mem(&work.first), arg_uint(&channels),
                             arg_uint(&inner),       arg_uint(&count),     arg_uint(&chunk),
                             arg_uint(&parts),       arg_uint(&flag_bits)};
        size_t global[2] = {parts, shape->channels};
        status = launch_items(ctx, &fitted, "bn_grad_sums_rows", args, ARG_COUNT(args), 2, global);
    }
    cl_mem partials = NULL;
    if (status == CLCNN_OK)
        status = merge_stages(ctx, &fitted, "bn_sums_merge", channels, &work, &partials, &parts);
    if (status == CLCNN_OK) {
        kernel_arg args[] = {arg_mem(&partials),     arg_uint(&parts),         arg_mem(&b->gamma),
                             arg_mem(&b->save_mean), arg_mem(&b->save_invstd), arg_mem(&b->dgamma),
                             arg_mem(&b->dbeta),     arg_mem(&work.coef),      arg_uint(&channels),
                             arg_uint(&count),       arg_uint(&flag_bits)};
        size_t global = shape->channels;
        status =
            launch_items(ctx, &fitted, "bn_backward_finalize", args, ARG_COUNT(args), 1, &global);
    }
    if (status == CLCNN_OK && (flags & BN_WANT_DX))
        status = backward_dx(ctx, &fitted, shape, b, work.coef, flags);
    release_partials(ctx, &work);
    return status;
}

/* ------------------------------------------------------------------ fold */

clcnn_status clcnn__batchnorm_enqueue_fold(clcnn_context *ctx, size_t channels, size_t inner,
                                           cl_mem weight, cl_mem bias, cl_mem gamma, cl_mem beta,
                                           cl_mem running_mean, cl_mem running_var,
                                           cl_mem folded_weight, cl_mem folded_bias, float eps,
                                           unsigned flags) {
    clcnn__batchnorm_plan plan;
    clcnn__batchnorm_plan device_plan = clcnn__batchnorm_plan_for(ctx);
    clcnn_status status = fit_plan(ctx, &device_plan, &plan);
    if (status != CLCNN_OK)
        return status;
    /* Absent optional buffers: see fill_absent. */
    bias = bias != NULL ? bias : weight;
    gamma = gamma != NULL ? gamma : weight;
    beta = beta != NULL ? beta : weight;
    cl_uint channel_count = (cl_uint)channels, inner_count = (cl_uint)inner, flag_bits = flags;
    kernel_arg args[] = {arg_mem(&weight),        arg_mem(&bias),         arg_mem(&gamma),
                         arg_mem(&beta),          arg_mem(&running_mean), arg_mem(&running_var),
                         arg_mem(&folded_weight), arg_mem(&folded_bias),  arg_uint(&channel_count),
                         arg_uint(&inner_count),  arg_float(&eps),        arg_uint(&flag_bits)};
    return launch_items(ctx, &plan, "bn_fold_conv", args, ARG_COUNT(args), 1, &channels);
}

/* ----------------------------------------------------------- eval affine */

clcnn_status clcnn__batchnorm_enqueue_eval_affine(clcnn_context *ctx, size_t channels, cl_mem gamma,
                                                  cl_mem beta, cl_mem running_mean,
                                                  cl_mem running_var, cl_mem scale, cl_mem shift,
                                                  float eps, unsigned flags) {
    clcnn__batchnorm_plan plan;
    clcnn__batchnorm_plan device_plan = clcnn__batchnorm_plan_for(ctx);
    clcnn_status status = fit_plan(ctx, &device_plan, &plan);
    if (status != CLCNN_OK)
        return status;
    /* Absent optional buffers: see fill_absent. */
    gamma = gamma != NULL ? gamma : running_mean;
    beta = beta != NULL ? beta : running_mean;
    cl_uint channel_count = (cl_uint)channels, flag_bits = flags;
    kernel_arg args[] = {arg_mem(&running_mean),   arg_mem(&running_var), arg_mem(&gamma),
                         arg_mem(&beta),           arg_mem(&scale),       arg_mem(&shift),
                         arg_uint(&channel_count), arg_float(&eps),       arg_uint(&flag_bits)};
    return launch_items(ctx, &plan, "bn_eval_affine", args, ARG_COUNT(args), 1, &channels);
}
