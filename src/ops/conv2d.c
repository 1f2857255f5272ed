/* conv2d: parameter and shape checks, the choice of algorithm per device type
 * and shape, and the public entry points. The algorithms live in
 * conv2d_general.c (any parameters), conv2d_direct.c (CPU fast path) and
 * conv2d_tiled.c (GPU path); kernels in cl/conv2d*.cl. */
#include <stdio.h>

#include "ops/conv2d_tune.h"

clcnn_conv2d_params clcnn_conv2d_params_default(void) {
    clcnn_conv2d_params params = {1, 1, 0, 0, 1, 1, 1, CLCNN_CONV2D_ALGO_AUTO};
    return params;
}

/* ---------------------------------------------------------------- shapes */

static int add_size(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - b)
        return 0;
    *out = a + b;
    return 1;
}

/* Applies the parameter and shape rules of conv2d.h to x_dims and w_dims,
 * giving y_dims; on failure writes the reason into why (when not NULL). */
static clcnn_status shape_rules(const clcnn_conv2d_params *p, const size_t x_dims[4],
                                const size_t w_dims[4], size_t y_dims[4], char *why,
                                size_t why_size) {
#define CONV2D_REJECT(status, ...)                \
    do {                                          \
        if (why != NULL)                          \
            snprintf(why, why_size, __VA_ARGS__); \
        return (status);                          \
    } while (0)
    if (p == NULL || x_dims == NULL || w_dims == NULL || y_dims == NULL)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_ARGUMENT, "params or a dims array is NULL");
    if (p->stride_h == 0 || p->stride_w == 0)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_ARGUMENT, "stride %zux%zu has a zero", p->stride_h,
                      p->stride_w);
    if (p->dilation_h == 0 || p->dilation_w == 0)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_ARGUMENT, "dilation %zux%zu has a zero", p->dilation_h,
                      p->dilation_w);
    if (p->groups == 0)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_ARGUMENT, "groups is 0");
    if (p->algorithm < CLCNN_CONV2D_ALGO_AUTO || p->algorithm > CLCNN_CONV2D_ALGO_TILED)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_ARGUMENT, "unknown algorithm %d", p->algorithm);
    for (int i = 0; i < 4; i++)
        if (x_dims[i] == 0 || w_dims[i] == 0)
            CONV2D_REJECT(CLCNN_ERROR_INVALID_SHAPE, "a dimension is 0");
    size_t channels = x_dims[1], out_channels = w_dims[0], groups = p->groups;
    if (channels % groups != 0 || out_channels % groups != 0)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_SHAPE,
                      "groups %zu must divide the input channels %zu and the output channels "
                      "%zu",
                      groups, channels, out_channels);
    if (w_dims[1] != channels / groups)
        CONV2D_REJECT(CLCNN_ERROR_INVALID_SHAPE,
                      "the weights hold %zu input channels per group, the input %zu / %zu "
                      "groups = %zu",
                      w_dims[1], channels, groups, channels / groups);
    const size_t sizes[2] = {x_dims[2], x_dims[3]}, kernel[2] = {w_dims[2], w_dims[3]};
    const size_t stride[2] = {p->stride_h, p->stride_w}, pad[2] = {p->pad_h, p->pad_w};
    const size_t dilation[2] = {p->dilation_h, p->dilation_w};
    const char *axis[2] = {"height", "width"};
    size_t out[2];
    for (int i = 0; i < 2; i++) {
        size_t reach, padded;
        if (!clcnn__mul_size(dilation[i], kernel[i] - 1, &reach))
            CONV2D_REJECT(CLCNN_ERROR_SIZE_OVERFLOW, "the dilated kernel %s overflows", axis[i]);
        if (pad[i] > reach)
            CONV2D_REJECT(CLCNN_ERROR_INVALID_SHAPE,
                          "padding %zu along the %s is larger than the kernel allows: at most "
                          "dilation %zu x (kernel %zu - 1) = %zu",
                          pad[i], axis[i], dilation[i], kernel[i], reach);
        if (pad[i] > SIZE_MAX / 2 || !add_size(sizes[i], 2 * pad[i], &padded))
            CONV2D_REJECT(CLCNN_ERROR_SIZE_OVERFLOW, "the padded %s overflows", axis[i]);
        if (padded <= reach)
            CONV2D_REJECT(CLCNN_ERROR_INVALID_SHAPE,
                          "the output would be empty: padded %s %zu is smaller than the "
                          "dilated kernel %zu",
                          axis[i], padded, reach + 1);
        out[i] = (padded - reach - 1) / stride[i] + 1;
    }
    y_dims[0] = x_dims[0];
    y_dims[1] = out_channels;
    y_dims[2] = out[0];
    y_dims[3] = out[1];
    return CLCNN_OK;
#undef CONV2D_REJECT
}

clcnn_status clcnn_conv2d_output_shape(const clcnn_conv2d_params *params, const size_t x_dims[4],
                                       const size_t w_dims[4], size_t y_dims[4]) {
    return shape_rules(params, x_dims, w_dims, y_dims, NULL, 0);
}

clcnn__conv2d_geometry clcnn__conv2d_geometry_of(const clcnn_conv2d_params *p,
                                                 const size_t x_dims[4], const size_t w_dims[4],
                                                 const size_t y_dims[4]) {
    return (clcnn__conv2d_geometry){.n = x_dims[0],
                                    .c = x_dims[1],
                                    .h = x_dims[2],
                                    .w = x_dims[3],
                                    .k = w_dims[0],
                                    .kh = w_dims[2],
                                    .kw = w_dims[3],
                                    .ho = y_dims[2],
                                    .wo = y_dims[3],
                                    .sh = p->stride_h,
                                    .sw = p->stride_w,
                                    .ph = p->pad_h,
                                    .pw = p->pad_w,
                                    .dh = p->dilation_h,
                                    .dw = p->dilation_w,
                                    .groups = p->groups,
                                    .cg = x_dims[1] / p->groups,
                                    .kg = w_dims[0] / p->groups};
}

/* Whether a0 * a1 * a2 * a3 fits the kernels' 32-bit indices. */
static int count_fits(size_t a0, size_t a1, size_t a2, size_t a3) {
    size_t count = a0;
    return clcnn__mul_size(count, a1, &count) && clcnn__mul_size(count, a2, &count) &&
           clcnn__mul_size(count, a3, &count) && clcnn__conv2d_fits(count);
}

clcnn_status clcnn__conv2d_check_limits(clcnn_context *ctx, const char *op,
                                        const clcnn__conv2d_geometry *g) {
    if (!count_fits(g->n, g->c, g->h, g->w) || !count_fits(g->k, g->cg, g->kh, g->kw) ||
        !count_fits(g->n, g->k, g->ho, g->wo))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "%s: the input [%zu, %zu, %zu, %zu], the weights [%zu, %zu, %zu, %zu] "
                           "or the output [%zu, %zu, %zu, %zu] holds more than 2^31 - 1 elements "
                           "(the kernels index with 32 bits)",
                           op, g->n, g->c, g->h, g->w, g->k, g->cg, g->kh, g->kw, g->n, g->k, g->ho,
                           g->wo);
    /* Padded sizes and strides too: every position a kernel computes lies
     * within the padded input. (pad <= dilated kernel < padded size.) */
    if (!clcnn__conv2d_fits(g->h + 2 * g->ph) || !clcnn__conv2d_fits(g->w + 2 * g->pw) ||
        !clcnn__conv2d_fits(g->sh) || !clcnn__conv2d_fits(g->sw))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "%s: padded size %zux%zu or stride %zux%zu exceeds 2^31 - 1 (the "
                           "kernels index with 32 bits)",
                           op, g->h + 2 * g->ph, g->w + 2 * g->pw, g->sh, g->sw);
    return CLCNN_OK;
}

/* The three tensors of one pass in the roles of conv2d_forward: the input
 * (x or dx), the weights (w or dw) and the output (y or dy). */
typedef struct conv2d_operands {
    const clcnn_tensor *input, *weights, *output;
    const char *input_name, *weights_name, *output_name;
} conv2d_operands;

/* Checks shapes and fills the geometry, with the op name and every shape in
 * the message of a failure. */
static clcnn_status make_geometry(clcnn_context *ctx, const char *op, const clcnn_conv2d_params *p,
                                  const conv2d_operands *t, clcnn__conv2d_geometry *g) {
    const clcnn_tensor *tensors[3] = {t->input, t->weights, t->output};
    const char *names[3] = {t->input_name, t->weights_name, t->output_name};
    clcnn_status status = CLCNN_OK;
    for (int i = 0; i < 3 && status == CLCNN_OK; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s: %s", op, names[i]);
        status = clcnn__check_rank(ctx, what, tensors[i], 4, 4);
    }
    if (status != CLCNN_OK)
        return status;
    char in_shape[96], w_shape[96], out_shape[96];
    clcnn__shape_string(t->input, in_shape, sizeof in_shape);
    clcnn__shape_string(t->weights, w_shape, sizeof w_shape);
    clcnn__shape_string(t->output, out_shape, sizeof out_shape);
    size_t expected[4];
    char why[256];
    status = shape_rules(p, t->input->dims, t->weights->dims, expected, why, sizeof why);
    if (status != CLCNN_OK)
        return clcnn__fail(ctx, status,
                           "%s: %s %s, %s %s (stride %zux%zu, padding %zux%zu, "
                           "dilation %zux%zu, groups %zu): %s",
                           op, t->input_name, in_shape, t->weights_name, w_shape, p->stride_h,
                           p->stride_w, p->pad_h, p->pad_w, p->dilation_h, p->dilation_w, p->groups,
                           why);
    for (int i = 0; i < 4; i++)
        if (t->output->dims[i] != expected[i])
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "%s: %s is %s but %s %s and %s %s give [%zu, %zu, %zu, %zu]", op,
                               t->output_name, out_shape, t->input_name, in_shape, t->weights_name,
                               w_shape, expected[0], expected[1], expected[2], expected[3]);
    *g = clcnn__conv2d_geometry_of(p, t->input->dims, t->weights->dims, expected);
    return clcnn__conv2d_check_limits(ctx, op, g);
}

/* Checks the context, params and each tensor (NULL, other context) before
 * any shape. */
static clcnn_status check_common(clcnn_context *ctx, const char *op, const clcnn_conv2d_params *p,
                                 const conv2d_operands *t) {
    if (ctx == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (p == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: params is NULL", op);
    const clcnn_tensor *tensors[3] = {t->input, t->weights, t->output};
    const char *names[3] = {t->input_name, t->weights_name, t->output_name};
    return clcnn__check_tensors(ctx, op, tensors, names, 3);
}

/* A bias or its gradient: NULL, or [k] with k the output channels. */
static clcnn_status check_channel_vector(clcnn_context *ctx, const char *op,
                                         const clcnn_tensor *vector, const char *name, size_t k) {
    if (vector == NULL)
        return CLCNN_OK;
    char what[64];
    snprintf(what, sizeof what, "%s: %s", op, name);
    return clcnn__check_dims(ctx, what, vector, 1, &k);
}

/* An output must not share device memory with an input (those given): the
 * kernels would read what they are writing. */
static clcnn_status check_distinct_from(clcnn_context *ctx, const char *op, const clcnn_tensor *out,
                                        const char *out_name, const clcnn_tensor *const *inputs,
                                        const char *const *input_names, size_t count) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < count && status == CLCNN_OK; i++)
        if (inputs[i] != NULL)
            status = clcnn__check_distinct(ctx, op, out_name, out, input_names[i], inputs[i]);
    return status;
}

/* ------------------------------------------------------------- algorithms */

/* The device table names the algorithms by the public values. */
_Static_assert(CLCNN__CONV2D_GENERAL == CLCNN_CONV2D_ALGO_GENERAL &&
                   CLCNN__CONV2D_DIRECT == CLCNN_CONV2D_ALGO_DIRECT &&
                   CLCNN__CONV2D_TILED == CLCNN_CONV2D_ALGO_TILED,
               "runtime/choices.h and clcnn/conv2d.h disagree");

static int algorithm_supports(clcnn_context *ctx, clcnn_conv2d_algorithm algorithm,
                              const clcnn__conv2d_geometry *g, clcnn__conv2d_pass pass) {
    switch (algorithm) {
    case CLCNN_CONV2D_ALGO_DIRECT:
        return clcnn__conv2d_direct_supports(ctx, g, pass);
    case CLCNN_CONV2D_ALGO_TILED:
        return clcnn__conv2d_tiled_supports(ctx, g, pass);
    default:
        return 1;
    }
}

clcnn__conv2d_choice clcnn__conv2d_builtin_choice(clcnn_context *ctx,
                                                  const clcnn__conv2d_geometry *g,
                                                  clcnn__conv2d_pass pass) {
    /* The device table's order (runtime/device_table.c): the first that
     * takes the shape; GENERAL takes every shape. */
    clcnn__conv2d_choice choice = {CLCNN_CONV2D_ALGO_GENERAL, {0, 0, 0}};
    const int *order = ctx->choices.conv2d.algorithms;
    for (size_t i = 0; i < 3; i++)
        if (algorithm_supports(ctx, (clcnn_conv2d_algorithm)order[i], g, pass)) {
            choice.algorithm = order[i];
            break;
        }
    if (choice.algorithm == CLCNN_CONV2D_ALGO_DIRECT && pass != CLCNN__CONV2D_BACKWARD_WEIGHTS)
        choice.tiles = clcnn__conv2d_direct_builtin_tiles(g, pass);
    return choice;
}

clcnn__conv2d_choice clcnn__conv2d_choice_for(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                              clcnn__conv2d_pass pass,
                                              clcnn_conv2d_algorithm algorithm) {
    const clcnn__conv2d_choice *tuned = clcnn__conv2d_tuned(ctx, g, pass);
    if (algorithm == CLCNN_CONV2D_ALGO_AUTO) {
        if (tuned == NULL ||
            !algorithm_supports(ctx, (clcnn_conv2d_algorithm)tuned->algorithm, g, pass))
            return clcnn__conv2d_builtin_choice(ctx, g, pass);
        algorithm = (clcnn_conv2d_algorithm)tuned->algorithm;
    }
    clcnn__conv2d_choice choice = {algorithm, {0, 0, 0}};
    if (algorithm == CLCNN_CONV2D_ALGO_DIRECT && pass != CLCNN__CONV2D_BACKWARD_WEIGHTS)
        choice.tiles = tuned != NULL && tuned->algorithm == CLCNN_CONV2D_ALGO_DIRECT &&
                               clcnn__conv2d_direct_tiles_apply(ctx, g, pass, &tuned->tiles)
                           ? tuned->tiles
                           : clcnn__conv2d_direct_builtin_tiles(g, pass);
    return choice;
}

/* What runs this pass: params->algorithm when it takes the geometry (else
 * CLCNN_ERROR_UNSUPPORTED), AUTO's choice for AUTO. */
static clcnn_status choose(clcnn_context *ctx, const char *op, const clcnn_conv2d_params *p,
                           const clcnn__conv2d_geometry *g, clcnn__conv2d_pass pass,
                           clcnn__conv2d_choice *out) {
    clcnn_conv2d_algorithm algorithm = (clcnn_conv2d_algorithm)p->algorithm;
    if (algorithm != CLCNN_CONV2D_ALGO_AUTO && !algorithm_supports(ctx, algorithm, g, pass)) {
        char name[CLCNN_TUNE_CHOICE_MAX];
        clcnn__tuned_choice forced = {CLCNN__TUNED_CONV2D, {.conv2d = {algorithm, {0, 0, 0}}}};
        clcnn__tuned_choice_format(&forced, name, sizeof name);
        return clcnn__fail(ctx, CLCNN_ERROR_UNSUPPORTED,
                           "%s: the %s algorithm does not take this convolution on this "
                           "device (stride %zux%zu, %zu input and %zu output channels per "
                           "group): its stride, its workspaces (2^31 - 1 elements at most), "
                           "its work-group size or its loop lengths do not fit",
                           op, name, g->sh, g->sw, g->cg, g->kg);
    }
    *out = clcnn__conv2d_choice_for(ctx, g, pass, algorithm);
    return CLCNN_OK;
}

/* The forward: DIRECT applies the epilogue in its stores; the others write
 * the convolution (into a workspace when pooled), then the epilogue runs
 * as a pass of its own. */
static clcnn_status run_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                const clcnn__conv2d_choice *choice, const clcnn__conv2d_buffers *b,
                                const clcnn__conv2d_epilogue *epilogue) {
    if (choice->algorithm == CLCNN_CONV2D_ALGO_DIRECT)
        return clcnn__conv2d_direct_forward(ctx, g, &choice->tiles, b->input, b->weights, b->bias,
                                            epilogue, b->output);
    cl_mem conv = b->output;
    clcnn_status status = CLCNN_OK;
    if (epilogue != NULL && epilogue->pool &&
        (status = clcnn__buffer_acquire(ctx, g->n * g->k * g->ho * g->wo * sizeof(float), &conv)) !=
            CLCNN_OK)
        return status;
    if (choice->algorithm == CLCNN_CONV2D_ALGO_TILED)
        status = clcnn__conv2d_tiled_forward(ctx, g, b->input, b->weights, b->bias, conv);
    else
        status = clcnn__conv2d_general_forward(ctx, g, b->input, b->weights, b->bias, conv);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_epilogue_apply(ctx, g, epilogue, conv, b->output);
    if (conv != b->output)
        clcnn__buffer_release(ctx, conv);
    return status;
}

static clcnn_status run_backward_data(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                      const clcnn__conv2d_choice *choice,
                                      const clcnn__conv2d_buffers *b) {
    switch (choice->algorithm) {
    case CLCNN_CONV2D_ALGO_DIRECT:
        return clcnn__conv2d_direct_backward_data(ctx, g, &choice->tiles, b->output, b->weights,
                                                  b->input, b->accumulate);
    case CLCNN_CONV2D_ALGO_TILED:
        return clcnn__conv2d_tiled_backward_data(ctx, g, b->output, b->weights, b->input,
                                                 b->accumulate);
    default:
        return clcnn__conv2d_general_backward_data(ctx, g, b->output, b->weights, b->input,
                                                   b->accumulate);
    }
}

static clcnn_status run_backward_weights(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                         const clcnn__conv2d_choice *choice,
                                         const clcnn__conv2d_buffers *b) {
    clcnn_status status;
    switch (choice->algorithm) {
    case CLCNN_CONV2D_ALGO_DIRECT:
        status = clcnn__conv2d_direct_backward_weights(ctx, g, b->input, b->output, b->weights,
                                                       b->accumulate);
        break;
    case CLCNN_CONV2D_ALGO_TILED:
        status = clcnn__conv2d_tiled_backward_weights(ctx, g, b->input, b->output, b->weights,
                                                      b->accumulate);
        break;
    default:
        status = clcnn__conv2d_general_backward_weights(ctx, g, b->input, b->output, b->weights,
                                                        b->accumulate);
        break;
    }
    if (status == CLCNN_OK && b->bias != NULL)
        status = clcnn__conv2d_bias_grad(ctx, g, b->output, b->bias, b->accumulate);
    return status;
}

clcnn_status clcnn__conv2d_run_with(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                    clcnn__conv2d_pass pass, const clcnn__conv2d_choice *choice,
                                    const clcnn__conv2d_buffers *b,
                                    const clcnn__conv2d_epilogue *epilogue) {
    switch (pass) {
    case CLCNN__CONV2D_FORWARD:
        return run_forward(ctx, g, choice, b, epilogue);
    case CLCNN__CONV2D_BACKWARD_DATA:
        return run_backward_data(ctx, g, choice, b);
    default:
        return run_backward_weights(ctx, g, choice, b);
    }
}

/* ---------------------------------------------------------- entry points */

clcnn_conv2d_epilogue clcnn_conv2d_epilogue_default(void) {
    clcnn_conv2d_epilogue epilogue = {NULL, NULL, CLCNN_CONV2D_ACTIVATION_NONE, 0};
    return epilogue;
}

/* The epilogue's own checks that need no geometry: the activation, and
 * scale and shift (when given) are tensors of this context. */
static clcnn_status check_epilogue(clcnn_context *ctx, const char *op,
                                   const clcnn_conv2d_epilogue *e) {
    if (e == NULL)
        return CLCNN_OK;
    if (e->activation != CLCNN_CONV2D_ACTIVATION_NONE &&
        e->activation != CLCNN_CONV2D_ACTIVATION_RELU)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown epilogue activation %d",
                           op, e->activation);
    clcnn_status status = CLCNN_OK;
    if (e->scale != NULL)
        status = clcnn__check_tensor(ctx, e->scale, "clcnn_conv2d_forward_fused: scale");
    if (status == CLCNN_OK && e->shift != NULL)
        status = clcnn__check_tensor(ctx, e->shift, "clcnn_conv2d_forward_fused: shift");
    return status;
}

/* With a pooling epilogue: checks that y is the 2x2 max pool of the
 * convolution's output and makes *view, y with the convolution's shape, for
 * the geometry. Shapes that give no convolution output are left to
 * make_geometry (with y itself) to report. */
static clcnn_status pooled_view(clcnn_context *ctx, const char *op,
                                const clcnn_conv2d_params *params, const clcnn_tensor *x,
                                const clcnn_tensor *w, const clcnn_tensor *y, clcnn_tensor *view,
                                const clcnn_tensor **geometry_output) {
    size_t conv[4];
    *geometry_output = y;
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 ||
        clcnn_conv2d_output_shape(params, x->dims, w->dims, conv) != CLCNN_OK)
        return CLCNN_OK;
    if (conv[2] < 2 || conv[3] < 2 || y->dims[0] != conv[0] || y->dims[1] != conv[1] ||
        y->dims[2] != conv[2] / 2 || y->dims[3] != conv[3] / 2) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s: y is %s but the 2x2 max pool of the convolution's [%zu, %zu, "
                           "%zu, %zu] is [%zu, %zu, %zu, %zu] (at least 2 x 2 needed)",
                           op, clcnn__shape_string(y, shape, sizeof shape), conv[0], conv[1],
                           conv[2], conv[3], conv[0], conv[1], conv[2] / 2, conv[3] / 2);
    }
    size_t count = 1;
    for (int i = 0; i < 4; i++)
        if (!clcnn__mul_size(count, conv[i], &count))
            return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                               "%s: the convolution's size overflows", op);
    *view = *y;
    for (int i = 0; i < 4; i++)
        view->dims[i] = conv[i];
    view->numel = count;
    *geometry_output = view;
    return CLCNN_OK;
}

/* The forward with an optional epilogue; op names the entry point in
 * messages. */
static clcnn_status forward_with(clcnn_context *context, const char *op,
                                 const clcnn_conv2d_params *params, const clcnn_tensor *x,
                                 const clcnn_tensor *w, const clcnn_tensor *bias,
                                 const clcnn_conv2d_epilogue *epilogue, clcnn_tensor *y) {
    conv2d_operands t = {x, w, y, "x", "w", "y"};
    clcnn_status status = check_common(context, op, params, &t);
    if (status == CLCNN_OK && bias != NULL)
        status = clcnn__check_tensor(context, bias, "clcnn_conv2d_forward: bias");
    if (status == CLCNN_OK)
        status = check_epilogue(context, op, epilogue);
    clcnn_tensor conv_view;
    if (status == CLCNN_OK && epilogue != NULL && epilogue->max_pool)
        status = pooled_view(context, op, params, x, w, y, &conv_view, &t.output);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_geometry g;
    status = make_geometry(context, op, params, &t, &g);
    if (status != CLCNN_OK)
        return status;
    const clcnn_tensor *scale = epilogue != NULL ? epilogue->scale : NULL;
    const clcnn_tensor *shift = epilogue != NULL ? epilogue->shift : NULL;
    const clcnn_tensor *inputs[5] = {x, w, bias, scale, shift};
    const char *names[5] = {"x", "w", "bias", "scale", "shift"};
    for (int i = 2; i < 5 && status == CLCNN_OK; i++)
        status = check_channel_vector(context, op, inputs[i], names[i], g.k);
    if (status == CLCNN_OK)
        status = check_distinct_from(context, op, y, "y", inputs, names, 5);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_choice choice;
    status = choose(context, op, params, &g, CLCNN__CONV2D_FORWARD, &choice);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_epilogue fused = {
        scale != NULL ? scale->storage->mem : NULL, shift != NULL ? shift->storage->mem : NULL,
        epilogue != NULL && epilogue->activation == CLCNN_CONV2D_ACTIVATION_RELU,
        epilogue != NULL && epilogue->max_pool};
    clcnn__conv2d_buffers b = {x->storage->mem, w->storage->mem, y->storage->mem,
                               bias != NULL ? bias->storage->mem : NULL, 0};
    return clcnn__conv2d_run_with(context, &g, CLCNN__CONV2D_FORWARD, &choice, &b, &fused);
}

static clcnn_status conv2d_forward(clcnn_context *context, const clcnn_conv2d_params *params,
                                   const clcnn_tensor *x, const clcnn_tensor *w,
                                   const clcnn_tensor *bias, clcnn_tensor *y) {
    return forward_with(context, "clcnn_conv2d_forward", params, x, w, bias, NULL, y);
}

clcnn_status clcnn_conv2d_forward(clcnn_context *context, const clcnn_conv2d_params *params,
                                  const clcnn_tensor *x, const clcnn_tensor *w,
                                  const clcnn_tensor *bias, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, conv2d_forward(context, params, x, w, bias, y));
}

static clcnn_status conv2d_forward_fused(clcnn_context *context, const clcnn_conv2d_params *params,
                                         const clcnn_tensor *x, const clcnn_tensor *w,
                                         const clcnn_tensor *bias,
                                         const clcnn_conv2d_epilogue *epilogue, clcnn_tensor *y) {
    return forward_with(context, "clcnn_conv2d_forward_fused", params, x, w, bias, epilogue, y);
}

clcnn_status clcnn_conv2d_forward_fused(clcnn_context *context, const clcnn_conv2d_params *params,
                                        const clcnn_tensor *x, const clcnn_tensor *w,
                                        const clcnn_tensor *bias,
                                        const clcnn_conv2d_epilogue *epilogue, clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        conv2d_forward_fused(context, params, x, w, bias, epilogue, y));
}

/* What both backward passes check first (operands, parameters, grad mode),
 * then their geometry. */
static clcnn_status check_backward(clcnn_context *context, const char *op,
                                   const clcnn_conv2d_params *params, const conv2d_operands *t,
                                   clcnn_grad_mode mode, clcnn__conv2d_geometry *g) {
    clcnn_status status = check_common(context, op, params, t);
    if (status == CLCNN_OK)
        status = clcnn__check_grad_mode(context, op, mode);
    return status == CLCNN_OK ? make_geometry(context, op, params, t, g) : status;
}

/* Chooses the algorithm of a backward pass and runs it (no epilogue). */
static clcnn_status run_backward(clcnn_context *context, const char *op,
                                 const clcnn_conv2d_params *params, const clcnn__conv2d_geometry *g,
                                 clcnn__conv2d_pass pass, const clcnn__conv2d_buffers *b) {
    clcnn__conv2d_choice choice;
    clcnn_status status = choose(context, op, params, g, pass, &choice);
    return status == CLCNN_OK ? clcnn__conv2d_run_with(context, g, pass, &choice, b, NULL) : status;
}

static clcnn_status conv2d_backward_data(clcnn_context *context, const clcnn_conv2d_params *params,
                                         const clcnn_tensor *dy, const clcnn_tensor *w,
                                         clcnn_tensor *dx, clcnn_grad_mode mode) {
    static const char op[] = "clcnn_conv2d_backward_data";
    conv2d_operands t = {dx, w, dy, "dx", "w", "dy"};
    clcnn__conv2d_geometry g;
    clcnn_status status = check_backward(context, op, params, &t, mode, &g);
    const clcnn_tensor *inputs[2] = {dy, w};
    const char *names[2] = {"dy", "w"};
    if (status == CLCNN_OK)
        status = check_distinct_from(context, op, dx, "dx", inputs, names, 2);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_buffers b = {dx->storage->mem, w->storage->mem, dy->storage->mem, NULL,
                               mode == CLCNN_GRAD_ACCUMULATE};
    return run_backward(context, op, params, &g, CLCNN__CONV2D_BACKWARD_DATA, &b);
}

clcnn_status clcnn_conv2d_backward_data(clcnn_context *context, const clcnn_conv2d_params *params,
                                        const clcnn_tensor *dy, const clcnn_tensor *w,
                                        clcnn_tensor *dx, clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        conv2d_backward_data(context, params, dy, w, dx, mode));
}

static clcnn_status conv2d_backward_weights(clcnn_context *context,
                                            const clcnn_conv2d_params *params,
                                            const clcnn_tensor *x, const clcnn_tensor *dy,
                                            clcnn_tensor *dw, clcnn_tensor *db,
                                            clcnn_grad_mode mode) {
    static const char op[] = "clcnn_conv2d_backward_weights";
    conv2d_operands t = {x, dw, dy, "x", "dw", "dy"};
    clcnn__conv2d_geometry g;
    clcnn_status status = check_backward(context, op, params, &t, mode, &g);
    if (status == CLCNN_OK && db != NULL)
        status = clcnn__check_tensor(context, db, "clcnn_conv2d_backward_weights: db");
    const clcnn_tensor *inputs[3] = {x, dy, dw};
    const char *names[3] = {"x", "dy", "dw"};
    if (status == CLCNN_OK)
        status = check_channel_vector(context, op, db, "db", g.k);
    if (status == CLCNN_OK)
        status = check_distinct_from(context, op, dw, "dw", inputs, names, 2);
    if (status == CLCNN_OK && db != NULL)
        status = check_distinct_from(context, op, db, "db", inputs, names, 3);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_buffers b = {x->storage->mem, dw->storage->mem, dy->storage->mem,
                               db != NULL ? db->storage->mem : NULL, mode == CLCNN_GRAD_ACCUMULATE};
    return run_backward(context, op, params, &g, CLCNN__CONV2D_BACKWARD_WEIGHTS, &b);
}

clcnn_status clcnn_conv2d_backward_weights(clcnn_context *context,
                                           const clcnn_conv2d_params *params, const clcnn_tensor *x,
                                           const clcnn_tensor *dy, clcnn_tensor *dw,
                                           clcnn_tensor *db, clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        conv2d_backward_weights(context, params, x, dy, dw, db, mode));
}
