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

/* The build options of the work-group kernels of a plan (NULL: the
 * defaults of cl/batchnorm.cl, the build the runtime prepares). */
static const char *build_options(const clcnn__batchnorm_plan *plan, char *buffer, size_t size) {
    if (!plan->work_group_reduce || plan->items == 16)
        return NULL;
    snprintf(buffer, size, "-DBN_ITEMS=%zu", plan->items);
    return buffer;
}

/* Prepares kernel `name` of cl/batchnorm.cl from the default build: every
 * kernel but the *_wg ones, which alone depend on the build options. */
static clcnn_status prepare(clcnn_context *ctx, const char *name, clcnn__launch *launch) {
    return clcnn__launch_prepare(ctx, "batchnorm.cl", NULL, name, launch);
}

/* Runs a kernel other than the *_wg ones over items[0..dims-1] work-items
 * with a fixed local size, so that drivers that specialise kernels per
 * local size (POCL) compile each once: one work-item per work-group on the
 * per-work-item path (POCL then spreads the few, long work-items over its
 * threads), else up to 64 along the last dimension with the global size
 * rounded up. These kernels guard their ranges and use no local memory, so
 * any work-group the compiled kernel takes will do. */
static clcnn_status run_items(clcnn__launch *launch, const clcnn__batchnorm_plan *plan,
                              cl_uint dims, const size_t *items) {
    size_t global[2] = {items[0], dims > 1 ? items[1] : 1}, local[2] = {1, 1};
    if (plan->work_group_reduce) {
        size_t size = plan->work_group_size < 64 ? plan->work_group_size : 64;
        local[dims - 1] = size;
        global[dims - 1] = clcnn__round_up(global[dims - 1], size);
    }
    return clcnn__launch_run_fitted(launch, dims, global, local);
}

/* Runs a *_wg kernel: one work-group of the fitted plan's size (its local
 * memory and tree merge are sized for it; fit_plan checked that the
 * compiled kernel takes it) per (part, channel). */
static clcnn_status run_work_groups(clcnn__launch *launch, const clcnn__batchnorm_plan *fitted,
                                    size_t parts, size_t channels) {
    size_t global[2] = {parts * fitted->work_group_size, channels};
    size_t local[2] = {fitted->work_group_size, 1};
    return clcnn__launch_run(launch, 2, global, local);
}

/* The largest work-group size kernel `name` may run with. */
static clcnn_status kernel_limit(clcnn_context *ctx, const char *options, const char *name,
                                 size_t *limit) {
    cl_kernel kernel = NULL;
    clcnn_status status = clcnn__kernel_get(ctx, "batchnorm.cl", options, name, &kernel);
    return status == CLCNN_OK ? clcnn__kernel_work_group_limit(ctx, kernel, limit) : status;
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
    while (size * 2 <= plan->work_group_size && size * 2 <= stats_limit && size * 2 <= sums_limit &&
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
                                 const char *kernel_name, size_t channels, partial_buffers *work,
                                 cl_mem *current, size_t *parts) {
    cl_mem spare = work->second;
    *current = work->first;
    while (*parts > plan->fanin) {
        size_t parts_out = ceil_div(*parts, plan->fanin);
        clcnn__launch launch;
        clcnn_status status = prepare(ctx, kernel_name, &launch);
        if (status != CLCNN_OK)
            return status;
        clcnn__arg_mem(&launch, *current);
        clcnn__arg_mem(&launch, spare);
        clcnn__arg_uint(&launch, channels);
        clcnn__arg_uint(&launch, *parts);
        clcnn__arg_uint(&launch, parts_out);
        clcnn__arg_uint(&launch, plan->fanin);
        const size_t items[2] = {parts_out, channels};
        status = run_items(&launch, plan, 2, items);
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

/* How the partials of a call are cut: `parts` per channel, of `batches`
 * batch rows each on the batch-rows path (0 on the others). */
typedef struct partition {
    size_t batches, parts;
} partition;

static partition partition_of(const clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                              const clcnn__batchnorm_shape *shape) {
    partition p;
    p.batches = batch_rows_per_item(ctx, fitted, shape);
    p.parts =
        p.batches > 0 ? ceil_div(shape->batch, p.batches) : ceil_div(shape->count, fitted->chunk);
    return p;
}

/* Prepares the partials kernel of the plan's reduction shape: `prefix`
 * then "_wg", "_batch_rows" or "_rows". */
static clcnn_status prepare_partials(clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                                     const partition *cut, const char *prefix,
                                     clcnn__launch *launch) {
    char name[64], options[64];
    const char *suffix = fitted->work_group_reduce ? "_wg"
                         : cut->batches > 0        ? "_batch_rows"
                                                   : "_rows";
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    return clcnn__launch_prepare(ctx, "batchnorm.cl",
                                 build_options(fitted, options, sizeof options), name, launch);
}

/* Sets the arguments of a partials kernel after its inputs (the partials
 * buffer, the shape and the cut, the flags where it takes them) and runs
 * it. */
static clcnn_status run_partials(clcnn__launch *launch, const clcnn__batchnorm_plan *fitted,
                                 const clcnn__batchnorm_shape *shape, const partition *cut,
                                 cl_mem partials, int has_flags, unsigned flags,
                                 size_t floats_per_partial) {
    clcnn__arg_mem(launch, partials);
    clcnn__arg_uint(launch, shape->channels);
    clcnn__arg_uint(launch, shape->inner);
    if (fitted->work_group_reduce) {
        clcnn__arg_uint(launch, shape->count);
        if (has_flags)
            clcnn__arg_uint(launch, flags);
        clcnn__arg_local(launch, floats_per_partial * sizeof(cl_float) * fitted->work_group_size);
        return run_work_groups(launch, fitted, cut->parts, shape->channels);
    }
    if (cut->batches > 0) {
        clcnn__arg_uint(launch, shape->batch);
        clcnn__arg_uint(launch, cut->batches);
    } else {
        clcnn__arg_uint(launch, shape->count);
        clcnn__arg_uint(launch, fitted->chunk);
    }
    clcnn__arg_uint(launch, cut->parts);
    if (has_flags)
        clcnn__arg_uint(launch, flags);
    const size_t items[2] = {cut->parts, shape->channels};
    return run_items(launch, fitted, cut->batches > 0 ? 1 : 2, items);
}

/* Merges the `parts` partials per channel in work->first down to at most
 * fanin (merge kernel `merge_name`), then prepares `finalize_name` with
 * the merged partials and their count as its first two arguments. */
static clcnn_status prepare_finalize(clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                                     const char *merge_name, const char *finalize_name,
                                     const clcnn__batchnorm_shape *shape, partial_buffers *work,
                                     size_t parts, clcnn__launch *launch) {
    cl_mem partials = NULL;
    clcnn_status status =
        merge_stages(ctx, fitted, merge_name, shape->channels, work, &partials, &parts);
    if (status == CLCNN_OK)
        status = prepare(ctx, finalize_name, launch);
    if (status == CLCNN_OK) {
        clcnn__arg_mem(launch, partials);
        clcnn__arg_uint(launch, parts);
    }
    return status;
}

/* --------------------------------------------------------------- forward */

/* Sets the arguments that end both element-wise passes (bn_normalize,
 * bn_backward_dx): the per-channel coefficients, the shape, the span and the
 * flags; then runs the pass, a work-item per span values. */
static clcnn_status run_elementwise(clcnn__launch *launch, const clcnn__batchnorm_plan *plan,
                                    const clcnn__batchnorm_shape *shape, cl_mem coef,
                                    unsigned flags) {
    clcnn__arg_mem(launch, coef);
    clcnn__arg_uint(launch, shape->channels);
    clcnn__arg_uint(launch, shape->inner);
    clcnn__arg_uint(launch, shape->total);
    clcnn__arg_uint(launch, plan->span);
    clcnn__arg_uint(launch, flags);
    size_t items = ceil_div(shape->total, plan->span);
    return run_items(launch, plan, 1, &items);
}

static clcnn_status normalize(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                              const clcnn__batchnorm_shape *shape, cl_mem x, cl_mem y, cl_mem coef,
                              unsigned flags) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "bn_normalize", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, x);
    clcnn__arg_mem(&launch, y);
    return run_elementwise(&launch, plan, shape, coef, flags);
}

/* The affine parameters and the statistics a training pass updates, in the
 * order bn_train_small and bn_train_finalize take them. */
static void arg_statistics(clcnn__launch *launch, const clcnn__batchnorm_buffers *b) {
    clcnn__arg_mem(launch, b->gamma);
    clcnn__arg_mem(launch, b->beta);
    clcnn__arg_mem(launch, b->running_mean);
    clcnn__arg_mem(launch, b->running_var);
    clcnn__arg_mem(launch, b->save_mean);
    clcnn__arg_mem(launch, b->save_invstd);
}

/* Channels of up to small_limit values: statistics, running statistics and
 * y in one launch. */
static clcnn_status train_small(clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                                const clcnn__batchnorm_shape *shape,
                                const clcnn__batchnorm_buffers *b, float eps, float factor,
                                unsigned flags) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "bn_train_small", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, b->x);
    clcnn__arg_mem(&launch, b->y);
    arg_statistics(&launch, b);
    clcnn__arg_uint(&launch, shape->channels);
    clcnn__arg_uint(&launch, shape->inner);
    clcnn__arg_uint(&launch, shape->count);
    clcnn__arg_float(&launch, eps);
    clcnn__arg_float(&launch, factor);
    clcnn__arg_uint(&launch, flags);
    return run_items(&launch, fitted, 1, &shape->channels);
}

/* Moment partials of x, merged down to at most fanin per channel, then the
 * per-channel coefficients (and running statistics) into work->coef. */
static clcnn_status train_statistics(clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                                     const clcnn__batchnorm_shape *shape,
                                     const clcnn__batchnorm_buffers *b, partition cut,
                                     partial_buffers *work, float eps, float factor,
                                     unsigned flags) {
    clcnn__launch launch;
    clcnn_status status = prepare_partials(ctx, fitted, &cut, "bn_stats", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, b->x);
    status = run_partials(&launch, fitted, shape, &cut, work->first, 0, flags, 4);
    if (status == CLCNN_OK)
        status = prepare_finalize(ctx, fitted, "bn_moments_merge", "bn_train_finalize", shape, work,
                                  cut.parts, &launch);
    if (status != CLCNN_OK)
        return status;
    arg_statistics(&launch, b);
    clcnn__arg_mem(&launch, work->coef);
    clcnn__arg_uint(&launch, shape->channels);
    clcnn__arg_uint(&launch, shape->count);
    clcnn__arg_float(&launch, eps);
    clcnn__arg_float(&launch, factor);
    clcnn__arg_uint(&launch, flags);
    return run_items(&launch, fitted, 1, &shape->channels);
}

clcnn_status clcnn__batchnorm_enqueue_train(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                            const clcnn__batchnorm_shape *shape,
                                            const clcnn__batchnorm_buffers *buffers, float eps,
                                            float factor, unsigned flags) {
    clcnn__batchnorm_buffers filled = fill_absent(buffers);
    clcnn__batchnorm_plan fitted;
    clcnn_status status = fit_plan(ctx, plan, &fitted);
    if (status != CLCNN_OK)
        return status;
    if (shape->count <= fitted.small_limit)
        return train_small(ctx, &fitted, shape, &filled, eps, factor, flags);
    partition cut = partition_of(ctx, &fitted, shape);
    partial_buffers work;
    status = acquire_partials(ctx, shape->channels, cut.parts, fitted.fanin, 4 * sizeof(cl_float),
                              1, &work);
    if (status != CLCNN_OK)
        return status;
    status = train_statistics(ctx, &fitted, shape, &filled, cut, &work, eps, factor, flags);
    if (status == CLCNN_OK)
        status = normalize(ctx, &fitted, shape, filled.x, filled.y, work.coef, flags);
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
    clcnn__launch launch;
    status = prepare(ctx, "bn_eval_coef", &launch);
    if (status == CLCNN_OK) {
        clcnn__arg_mem(&launch, b->running_mean);
        clcnn__arg_mem(&launch, b->running_var);
        clcnn__arg_mem(&launch, b->gamma);
        clcnn__arg_mem(&launch, b->beta);
        clcnn__arg_mem(&launch, coef);
        clcnn__arg_uint(&launch, shape->channels);
        clcnn__arg_float(&launch, eps);
        clcnn__arg_uint(&launch, flags);
        status = run_items(&launch, &fitted, 1, &shape->channels);
    }
    if (status == CLCNN_OK)
        status = normalize(ctx, &fitted, shape, b->x, b->y, coef, flags);
    clcnn__buffer_release(ctx, coef);
    return status;
}

/* -------------------------------------------------------------- backward */

/* The first arguments of the gradient kernels: x, dy and y. */
static void gradient_inputs(clcnn__launch *launch, const clcnn__batchnorm_buffers *b) {
    clcnn__arg_mem(launch, b->x);
    clcnn__arg_mem(launch, b->dy);
    clcnn__arg_mem(launch, b->y);
}

/* gamma and the saved statistics, in the order bn_backward_small and
 * bn_backward_finalize take them. */
static void arg_saved_statistics(clcnn__launch *launch, const clcnn__batchnorm_buffers *b) {
    clcnn__arg_mem(launch, b->gamma);
    clcnn__arg_mem(launch, b->save_mean);
    clcnn__arg_mem(launch, b->save_invstd);
}

static clcnn_status backward_small(clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                                   const clcnn__batchnorm_shape *shape,
                                   const clcnn__batchnorm_buffers *b, unsigned flags) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "bn_backward_small", &launch);
    if (status != CLCNN_OK)
        return status;
    gradient_inputs(&launch, b);
    arg_saved_statistics(&launch, b);
    clcnn__arg_mem(&launch, b->dx);
    clcnn__arg_mem(&launch, b->dgamma);
    clcnn__arg_mem(&launch, b->dbeta);
    clcnn__arg_uint(&launch, shape->channels);
    clcnn__arg_uint(&launch, shape->inner);
    clcnn__arg_uint(&launch, shape->count);
    clcnn__arg_uint(&launch, flags);
    return run_items(&launch, fitted, 1, &shape->channels);
}

/* Gradient-sum partials, merged down to at most fanin per channel, then
 * dgamma, dbeta and the dx coefficients into work->coef. */
static clcnn_status backward_sums(clcnn_context *ctx, const clcnn__batchnorm_plan *fitted,
                                  const clcnn__batchnorm_shape *shape,
                                  const clcnn__batchnorm_buffers *b, partition cut,
                                  partial_buffers *work, unsigned flags) {
    clcnn__launch launch;
    clcnn_status status = prepare_partials(ctx, fitted, &cut, "bn_grad_sums", &launch);
    if (status != CLCNN_OK)
        return status;
    gradient_inputs(&launch, b);
    clcnn__arg_mem(&launch, b->save_mean);
    status = run_partials(&launch, fitted, shape, &cut, work->first, 1, flags, 2);
    if (status == CLCNN_OK)
        status = prepare_finalize(ctx, fitted, "bn_sums_merge", "bn_backward_finalize", shape, work,
                                  cut.parts, &launch);
    if (status != CLCNN_OK)
        return status;
    arg_saved_statistics(&launch, b);
    clcnn__arg_mem(&launch, b->dgamma);
    clcnn__arg_mem(&launch, b->dbeta);
    clcnn__arg_mem(&launch, work->coef);
    clcnn__arg_uint(&launch, shape->channels);
    clcnn__arg_uint(&launch, shape->count);
    clcnn__arg_uint(&launch, flags);
    return run_items(&launch, fitted, 1, &shape->channels);
}

static clcnn_status backward_dx(clcnn_context *ctx, const clcnn__batchnorm_plan *plan,
                                const clcnn__batchnorm_shape *shape,
                                const clcnn__batchnorm_buffers *b, cl_mem coef, unsigned flags) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "bn_backward_dx", &launch);
    if (status != CLCNN_OK)
        return status;
    gradient_inputs(&launch, b);
    clcnn__arg_mem(&launch, b->dx);
    return run_elementwise(&launch, plan, shape, coef, flags);
}

clcnn_status clcnn__batchnorm_enqueue_backward(clcnn_context *ctx,
                                               const clcnn__batchnorm_plan *plan,
                                               const clcnn__batchnorm_shape *shape,
                                               const clcnn__batchnorm_buffers *buffers,
                                               unsigned flags) {
    clcnn__batchnorm_buffers filled = fill_absent(buffers);
    clcnn__batchnorm_plan fitted;
    clcnn_status status = fit_plan(ctx, plan, &fitted);
    if (status != CLCNN_OK)
        return status;
    if (shape->count <= fitted.small_limit)
        return backward_small(ctx, &fitted, shape, &filled, flags);
    partition cut = partition_of(ctx, &fitted, shape);
    partial_buffers work;
    status = acquire_partials(ctx, shape->channels, cut.parts, fitted.fanin, 2 * sizeof(cl_float),
                              1, &work);
    if (status != CLCNN_OK)
        return status;
    status = backward_sums(ctx, &fitted, shape, &filled, cut, &work, flags);
    if (status == CLCNN_OK && (flags & BN_WANT_DX))
        status = backward_dx(ctx, &fitted, shape, &filled, work.coef, flags);
    release_partials(ctx, &work);
    return status;
}

/* ------------------------------------------------------------------ fold */

/* Prepares a kernel of one work-item per channel with the context's plan,
 * fitted to the device, into *fitted (the plan run_items takes). */
static clcnn_status prepare_per_channel(clcnn_context *ctx, const char *name,
                                        clcnn__batchnorm_plan *fitted, clcnn__launch *launch) {
    clcnn__batchnorm_plan device_plan = clcnn__batchnorm_plan_for(ctx);
    clcnn_status status = fit_plan(ctx, &device_plan, fitted);
    return status == CLCNN_OK ? prepare(ctx, name, launch) : status;
}

clcnn_status clcnn__batchnorm_enqueue_fold(clcnn_context *ctx, size_t channels, size_t inner,
                                           cl_mem weight, cl_mem bias, cl_mem gamma, cl_mem beta,
                                           cl_mem running_mean, cl_mem running_var,
                                           cl_mem folded_weight, cl_mem folded_bias, float eps,
                                           unsigned flags) {
    clcnn__batchnorm_plan plan;
    clcnn__launch launch;
    clcnn_status status = prepare_per_channel(ctx, "bn_fold_conv", &plan, &launch);
    if (status != CLCNN_OK)
        return status;
    /* Absent optional buffers: see fill_absent. */
    clcnn__arg_mem(&launch, weight);
    clcnn__arg_mem(&launch, bias != NULL ? bias : weight);
    clcnn__arg_mem(&launch, gamma != NULL ? gamma : weight);
    clcnn__arg_mem(&launch, beta != NULL ? beta : weight);
    clcnn__arg_mem(&launch, running_mean);
    clcnn__arg_mem(&launch, running_var);
    clcnn__arg_mem(&launch, folded_weight);
    clcnn__arg_mem(&launch, folded_bias);
    clcnn__arg_uint(&launch, channels);
    clcnn__arg_uint(&launch, inner);
    clcnn__arg_float(&launch, eps);
    clcnn__arg_uint(&launch, flags);
    return run_items(&launch, &plan, 1, &channels);
}

/* ----------------------------------------------------------- eval affine */

clcnn_status clcnn__batchnorm_enqueue_eval_affine(clcnn_context *ctx, size_t channels, cl_mem gamma,
                                                  cl_mem beta, cl_mem running_mean,
                                                  cl_mem running_var, cl_mem scale, cl_mem shift,
                                                  float eps, unsigned flags) {
    clcnn__batchnorm_plan plan;
    clcnn__launch launch;
    clcnn_status status = prepare_per_channel(ctx, "bn_eval_affine", &plan, &launch);
    if (status != CLCNN_OK)
        return status;
    /* Absent optional buffers: see fill_absent. */
    clcnn__arg_mem(&launch, running_mean);
    clcnn__arg_mem(&launch, running_var);
    clcnn__arg_mem(&launch, gamma != NULL ? gamma : running_mean);
    clcnn__arg_mem(&launch, beta != NULL ? beta : running_mean);
    clcnn__arg_mem(&launch, scale);
    clcnn__arg_mem(&launch, shift);
    clcnn__arg_uint(&launch, channels);
    clcnn__arg_float(&launch, eps);
    clcnn__arg_uint(&launch, flags);
    return run_items(&launch, &plan, 1, &channels);
}
