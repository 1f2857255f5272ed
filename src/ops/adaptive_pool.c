/* Adaptive average pooling (cl/adaptive_pool.cl): shape checks and the
 * choice of kernels. Global pooling (1 x 1 output) sums each contiguous
 * plane, per work-item with float8 loads on CPUs or per work-group with a
 * tree on GPUs (the device table's adaptive_pool row); other output sizes
 * take one work-item per output. Sums longer than the driver's loop-trip
 * limit allows one work-item are split into partial sums that a second
 * kernel adds in order. */
#include <stdio.h>

#include "clcnn/adaptive_pool.h"
#include "runtime/internal.h"

/* The kernels index windows with ints: output sides stay at most 2^24 and
 * planes at most 2^30 elements, so no product of them overflows a long. */
#define SIDE_LIMIT ((size_t)1 << 24)
#define PLANE_LIMIT ((size_t)1 << 30)

/* The shapes of a call. */
typedef struct geometry {
    size_t planes; /* N * C */
    size_t height, width, out_h, out_w;
} geometry;

static clcnn_status output_shape(clcnn_context *ctx, const size_t input_dims[4],
                                 const size_t output_size[2], size_t output_dims[4]) {
    if (input_dims == NULL || output_size == NULL || output_dims == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "input_dims, output_size or output_dims is NULL");
    for (int i = 0; i < 4; i++)
        if (input_dims[i] == 0)
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "input [%zu, %zu, %zu, %zu] has a zero dimension", input_dims[0],
                               input_dims[1], input_dims[2], input_dims[3]);
    if (output_size[0] == 0 || output_size[1] == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "output size %zu x %zu has a zero side",
                           output_size[0], output_size[1]);
    if (output_size[0] > SIDE_LIMIT || output_size[1] > SIDE_LIMIT)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "output size %zu x %zu has a side above %zu", output_size[0],
                           output_size[1], SIDE_LIMIT);
    output_dims[0] = input_dims[0];
    output_dims[1] = input_dims[1];
    output_dims[2] = output_size[0];
    output_dims[3] = output_size[1];
    return CLCNN_OK;
}

clcnn_status clcnn_adaptive_avg_pool2d_output_shape(clcnn_context *context,
                                                    const size_t input_dims[4],
                                                    const size_t output_size[2],
                                                    size_t output_dims[4]) {
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        output_shape(context, input_dims, output_size, output_dims));
}

/* x (input side) and y (output side), both present, of ctx, 4-D, with the
 * same N and C, not sharing memory, within the kernels' limits. */
static clcnn_status check_pair(clcnn_context *ctx, const char *function, const char *x_name,
                               const clcnn_tensor *x, const char *y_name, const clcnn_tensor *y,
                               geometry *g) {
    char x_what[96], y_what[96];
    snprintf(x_what, sizeof x_what, "%s: %s", function, x_name);
    snprintf(y_what, sizeof y_what, "%s: %s", function, y_name);
    clcnn_status status = clcnn__check_tensor(ctx, x, x_what);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(ctx, y, y_what);
    if (status == CLCNN_OK)
        status = clcnn__check_rank(ctx, x_what, x, 4, 4);
    if (status == CLCNN_OK) {
        const size_t dims[4] = {x->dims[0], x->dims[1], CLCNN__ANY_DIM, CLCNN__ANY_DIM};
        status = clcnn__check_dims(ctx, y_what, y, 4, dims);
    }
    if (status == CLCNN_OK)
        status = clcnn__check_distinct(ctx, function, x_name, x, y_name, y);
    if (status != CLCNN_OK)
        return status;
    *g = (geometry){x->dims[0] * x->dims[1], x->dims[2], x->dims[3], y->dims[2], y->dims[3]};
    if (g->out_h > SIDE_LIMIT || g->out_w > SIDE_LIMIT || g->height * g->width > PLANE_LIMIT ||
        g->out_h * g->out_w > PLANE_LIMIT)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "%s: planes of %zu x %zu to %zu x %zu exceed the kernels' limits "
                           "(sides up to 2^24, planes up to 2^30 elements)",
                           function, g->height, g->width, g->out_h, g->out_w);
    return CLCNN_OK;
}

/* The largest window side of `outputs` windows over `inputs` elements. */
static size_t widest_window(size_t inputs, size_t outputs) {
    return (inputs + outputs - 1) / outputs + 1;
}

/* A scratch buffer of count floats from the pool. */
static clcnn_status acquire_floats(clcnn_context *ctx, size_t count, cl_mem *out) {
    return clcnn__buffer_acquire(ctx, count * sizeof(float), out);
}

/* The work-group size of the tree kernel here: the table's, no larger than
 * the device allows; 0 when the per-work-item kernel runs instead. */
static size_t tree_group(const clcnn_context *ctx) {
    if (!ctx->choices.adaptive_pool.work_groups)
        return 0;
    size_t group = ctx->choices.adaptive_pool.local;
    while (group > ctx->info.max_work_group_size)
        group /= 2;
    return group >= 2 ? group : 0;
}

/* The one build of adaptive_pool.cl on ctx: the tree's work-group size
 * (1 without the tree, so that no kernel asks for more than the device
 * has). */
static const char *program_options(const clcnn_context *ctx, char *options, size_t size) {
    size_t group = tree_group(ctx);
    snprintf(options, size, "-DGROUP=%zu", group ? group : 1);
    return options;
}

static clcnn_status prepare(clcnn_context *ctx, const char *kernel, clcnn__launch *launch) {
    char options[32];
    return clcnn__launch_prepare(ctx, "adaptive_pool.cl",
                                 program_options(ctx, options, sizeof options), kernel, launch);
}

/* Launches over counts[0..dims-1] work-items (the kernels ignore those
 * past the end of a dimension): work-groups across planes only (the last
 * dimension) on CPUs, where POCL runs one fixed size best, else filling the
 * dimensions in order, so that neighbouring work-items take neighbouring
 * elements (GPUs). */
static clcnn_status run_over(clcnn_context *ctx, clcnn__launch *launch, cl_uint dims,
                             const size_t *counts) {
    size_t room = ctx->choices.adaptive_pool.local, local[3] = {1, 1, 1}, global[3];
    const int by_plane = !ctx->choices.adaptive_pool.work_groups;
    for (cl_uint d = 0; d < dims; d++) {
        if (!by_plane || d == dims - 1) {
            /* Powers of two, so that a fitted launch can halve them. */
            while (local[d] < room && local[d] < counts[d])
                local[d] *= 2;
            room /= local[d];
        }
        global[d] = clcnn__round_up(counts[d], local[d]);
    }
    return clcnn__launch_run_fitted(launch, dims, global, local);
}

/* The window tables of cl/adaptive_pool.cl (adaptive_avg_tables) in a
 * buffer from the pool, which the caller releases. */
static clcnn_status make_tables(clcnn_context *ctx, const geometry *g, cl_mem *out) {
    size_t count = 2 * (g->out_h + g->out_w + g->height + g->width);
    *out = NULL;
    clcnn_status status = clcnn__buffer_acquire(ctx, count * sizeof(cl_int), out);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(ctx, "adaptive_avg_tables", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, *out);
    clcnn__arg_int(&launch, g->height);
    clcnn__arg_int(&launch, g->width);
    clcnn__arg_int(&launch, g->out_h);
    clcnn__arg_int(&launch, g->out_w);
    size_t longest = g->height > g->width ? g->height : g->width;
    longest = longest > g->out_h ? longest : g->out_h;
    longest = longest > g->out_w ? longest : g->out_w;
    return run_over(ctx, &launch, 1, &longest);
}

/* How many of `wanted` units of `trips_per_unit` loop trips one work-item
 * may take here (at least 1). */
static size_t units_allowed(const clcnn_context *ctx, size_t wanted, size_t trips_per_unit) {
    size_t allowed = clcnn__loop_trips_allowed(ctx, trips_per_unit);
    return wanted < allowed ? wanted : allowed;
}

/* ---------------------------------------------------------------- forward */

/* partial[band][o] summed in band order and divided: y. */
static clcnn_status finish(clcnn_context *ctx, const geometry *g, cl_mem partial, size_t outputs,
                           size_t bands, clcnn_tensor *y) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "adaptive_avg_finish", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, partial);
    clcnn__arg_tensor(&launch, y);
    clcnn__arg_ulong(&launch, outputs);
    clcnn__arg_int(&launch, g->height);
    clcnn__arg_int(&launch, g->width);
    clcnn__arg_int(&launch, g->out_h);
    clcnn__arg_int(&launch, g->out_w);
    clcnn__arg_int(&launch, bands);
    const size_t local = ctx->choices.adaptive_pool.local;
    const size_t global = clcnn__round_up(outputs, local);
    return clcnn__launch_run_fitted(&launch, 1, &global, &local);
}

/* Ends a forward pass that wrote `parts` partial sums per output into
 * `partial` (NULL: it wrote y itself): their sum into y where the pass went
 * well, and the partials back to the pool either way. */
static clcnn_status finish_partials(clcnn_context *ctx, const geometry *g, clcnn_status status,
                                    cl_mem partial, size_t outputs, size_t parts, clcnn_tensor *y) {
    if (partial == NULL)
        return status;
    if (status == CLCNN_OK)
        status = finish(ctx, g, partial, outputs, parts, y);
    clcnn__buffer_release(ctx, partial);
    return status;
}

/* The first two arguments of the forward kernels: x, and where they write,
 * the partial sums when there are any, else y. */
static void arg_input_output(clcnn__launch *launch, const clcnn_tensor *x, cl_mem partial,
                             const clcnn_tensor *y) {
    clcnn__arg_tensor(launch, x);
    if (partial != NULL)
        clcnn__arg_mem(launch, partial);
    else
        clcnn__arg_tensor(launch, y);
}

/* The shape arguments of the window kernels adaptive_avg_forward and
 * adaptive_avg_backward, in their order. */
static void arg_window_shape(clcnn__launch *launch, const geometry *g, size_t chunk) {
    clcnn__arg_uint(launch, g->planes);
    clcnn__arg_int(launch, g->height);
    clcnn__arg_int(launch, g->width);
    clcnn__arg_int(launch, g->out_h);
    clcnn__arg_int(launch, g->out_w);
    clcnn__arg_int(launch, chunk);
}

/* One work-item per `chunk` outputs of an output row; where one window
 * alone passes the loop-trip limit, one per output and band of `span`
 * window elements, the bands' partial sums then added in order. */
static clcnn_status forward_windows(clcnn_context *ctx, const geometry *g, const clcnn_tensor *x,
                                    clcnn_tensor *y) {
    const size_t outputs = g->planes * g->out_h * g->out_w;
    const size_t rows = widest_window(g->height, g->out_h);
    const size_t area = rows * widest_window(g->width, g->out_w);
    /* A window costs a trip per element and one per row, and one more. */
    const size_t window_trips = area + rows + 1;
    size_t chunk = 1, span = area;
    if (window_trips <= clcnn__loop_trips_allowed(ctx, 1)) {
        chunk = units_allowed(ctx, ctx->choices.adaptive_pool.chunk, window_trips);
    } else {
        size_t allowed = clcnn__loop_trips_allowed(ctx, 1);
        span = allowed > 2 * rows ? allowed - rows - 1 : allowed / 2 + 1;
    }
    const size_t bands = (area + span - 1) / span;
    cl_mem tables = NULL, partial = NULL;
    clcnn_status status = make_tables(ctx, g, &tables);
    if (status == CLCNN_OK && bands > 1)
        status = acquire_floats(ctx, bands * outputs, &partial);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(ctx, "adaptive_avg_forward", &launch);
    if (status == CLCNN_OK) {
        arg_input_output(&launch, x, partial, y);
        clcnn__arg_mem(&launch, tables);
        arg_window_shape(&launch, g, chunk);
        clcnn__arg_ulong(&launch, span);
        clcnn__arg_int(&launch, bands);
        const size_t counts[3] = {(g->out_w + chunk - 1) / chunk, g->out_h * bands, g->planes};
        status = run_over(ctx, &launch, 3, counts);
    }
    status = finish_partials(ctx, g, status, partial, outputs, bands, y);
    if (tables != NULL)
        clcnn__buffer_release(ctx, tables);
    return status;
}

/* The global kernel's name and work-group size: the tree where the compiled
 * kernel takes the table's size (group > 0), else the per-work-item kernel
 * (group 0). */
static clcnn_status global_kernel(clcnn_context *ctx, size_t *group, const char **name) {
    *group = tree_group(ctx);
    *name = "adaptive_avg_global_items";
    if (*group == 0)
        return CLCNN_OK;
    char options[32];
    cl_kernel kernel;
    size_t allowed = 0;
    clcnn_status status =
        clcnn__kernel_get(ctx, "adaptive_pool.cl", program_options(ctx, options, sizeof options),
                          "adaptive_avg_global_groups", &kernel);
    if (status == CLCNN_OK)
        status = clcnn__kernel_work_group_limit(ctx, kernel, &allowed);
    if (status == CLCNN_OK && allowed >= *group)
        *name = "adaptive_avg_global_groups";
    else
        *group = 0;
    return status;
}

/* Elements of a plane one work-item (or work-group of `group`) may sum:
 * a trip per 8 elements (per `group` elements), plus the tail's and the
 * tree's. */
static size_t global_chunk_length(const clcnn_context *ctx, size_t plane_size, size_t group) {
    size_t trips = clcnn__loop_trips_allowed(ctx, 1);
    if (trips == SIZE_MAX)
        return plane_size;
    size_t per_trip = group ? group : 8;
    size_t length = (trips > 32 ? trips - 32 : 1) * per_trip;
    return length < plane_size ? length : plane_size;
}

/* Global average pooling: a reduction per plane. */
static clcnn_status forward_global(clcnn_context *ctx, const geometry *g, const clcnn_tensor *x,
                                   clcnn_tensor *y) {
    size_t group = 0;
    const char *name = NULL;
    clcnn_status status = global_kernel(ctx, &group, &name);
    const size_t plane_size = g->height * g->width;
    const size_t chunk_len = global_chunk_length(ctx, plane_size, group);
    const size_t chunks = (plane_size + chunk_len - 1) / chunk_len;
    cl_mem partial = NULL;
    if (status == CLCNN_OK && chunks > 1)
        status = acquire_floats(ctx, chunks * g->planes, &partial);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(ctx, name, &launch);
    if (status == CLCNN_OK) {
        arg_input_output(&launch, x, partial, y);
        clcnn__arg_ulong(&launch, g->planes);
        clcnn__arg_int(&launch, plane_size);
        clcnn__arg_int(&launch, chunk_len);
        clcnn__arg_int(&launch, chunks);
        if (group > 0) {
            const size_t local[2] = {group, 1}, global[2] = {g->planes * group, chunks};
            status = clcnn__launch_run(&launch, 2, global, local);
        } else {
            const size_t local[2] = {ctx->choices.adaptive_pool.local, 1};
            const size_t global[2] = {clcnn__round_up(g->planes, local[0]), chunks};
            status = clcnn__launch_run_fitted(&launch, 2, global, local);
        }
    }
    return finish_partials(ctx, g, status, partial, g->planes, chunks, y);
}

static clcnn_status adaptive_forward(clcnn_context *ctx, const clcnn_tensor *x, clcnn_tensor *y) {
    geometry g;
    clcnn_status status = check_pair(ctx, "clcnn_adaptive_avg_pool2d_forward", "x", x, "y", y, &g);
    if (status != CLCNN_OK)
        return status;
    if (g.out_h == 1 && g.out_w == 1)
        return forward_global(ctx, &g, x, y);
    return forward_windows(ctx, &g, x, y);
}

clcnn_status clcnn_adaptive_avg_pool2d_forward(clcnn_context *context, const clcnn_tensor *x,
                                               clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, adaptive_forward(context, x, y));
}

/* --------------------------------------------------------------- backward */

static clcnn_status backward_windows(clcnn_context *ctx, const geometry *g, const clcnn_tensor *dy,
                                     clcnn_tensor *dx, int accumulate) {
    /* Each input visits every output window that holds it. */
    const size_t input_trips =
        widest_window(g->out_h, g->height) * (widest_window(g->out_w, g->width) + 1) + 1;
    if (input_trips > clcnn__loop_trips_allowed(ctx, 1))
        return clcnn__fail(ctx, CLCNN_ERROR_UNSUPPORTED,
                           "clcnn_adaptive_avg_pool2d_backward: each input of %zu x %zu feeds up "
                           "to %zu outputs of %zu x %zu, more loop trips than this driver allows "
                           "one work-item",
                           g->height, g->width, input_trips, g->out_h, g->out_w);
    const size_t chunk = units_allowed(ctx, ctx->choices.adaptive_pool.chunk, input_trips);
    cl_mem tables = NULL;
    clcnn_status status = make_tables(ctx, g, &tables);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(ctx, "adaptive_avg_backward", &launch);
    if (status == CLCNN_OK) {
        clcnn__arg_tensor(&launch, dy);
        clcnn__arg_tensor(&launch, dx);
        clcnn__arg_mem(&launch, tables);
        arg_window_shape(&launch, g, chunk);
        clcnn__arg_int(&launch, (size_t)accumulate);
        const size_t counts[3] = {(g->width + chunk - 1) / chunk, g->height, g->planes};
        status = run_over(ctx, &launch, 3, counts);
    }
    if (tables != NULL)
        clcnn__buffer_release(ctx, tables);
    return status;
}

/* dy / plane_size over each plane, `chunk` elements per work-item. */
static clcnn_status backward_global(clcnn_context *ctx, const geometry *g, const clcnn_tensor *dy,
                                    clcnn_tensor *dx, int accumulate) {
    const size_t plane_size = g->height * g->width;
    const size_t chunk = units_allowed(ctx, ctx->choices.adaptive_pool.chunk, 1);
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, "adaptive_avg_global_backward", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, dy);
    clcnn__arg_tensor(&launch, dx);
    clcnn__arg_uint(&launch, g->planes);
    clcnn__arg_int(&launch, plane_size);
    clcnn__arg_int(&launch, chunk);
    clcnn__arg_int(&launch, (size_t)accumulate);
    const size_t counts[2] = {(plane_size + chunk - 1) / chunk, g->planes};
    return run_over(ctx, &launch, 2, counts);
}

static clcnn_status adaptive_backward(clcnn_context *ctx, const clcnn_tensor *dy, clcnn_tensor *dx,
                                      clcnn_grad_mode grad_mode) {
    static const char function[] = "clcnn_adaptive_avg_pool2d_backward";
    geometry g;
    clcnn_status status = clcnn__check_grad_mode(ctx, function, grad_mode);
    if (status == CLCNN_OK)
        status = check_pair(ctx, function, "dx", dx, "dy", dy, &g);
    if (status != CLCNN_OK)
        return status;
    const int accumulate = grad_mode == CLCNN_GRAD_ACCUMULATE;
    if (g.out_h == 1 && g.out_w == 1)
        return backward_global(ctx, &g, dy, dx, accumulate);
    return backward_windows(ctx, &g, dy, dx, accumulate);
}

clcnn_status clcnn_adaptive_avg_pool2d_backward(clcnn_context *context, const clcnn_tensor *dy,
                                                clcnn_tensor *dx, clcnn_grad_mode grad_mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, adaptive_backward(context, dy, dx, grad_mode));
}
