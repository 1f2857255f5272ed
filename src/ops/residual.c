/* The join of a residual connection (cl/residual.cl): argument checks and
 * launches. An element-wise op like clcnn_add (ops/elementwise.c), kept in
 * its own file with its fused ReLU; it runs in the element-wise family's
 * launch layout (ops/pointwise.h: tuned, else per device). The ReLU is a
 * build option: one small program with it, one without. */
#include <stdio.h>

#include "clcnn/residual.h"
#include "ops/pointwise.h"

/* What the kernel does with a gradient (GRAD_* in residual.cl). */
#define GRAD_SKIP 0
#define GRAD_WRITE 1
#define GRAD_ADD 2

/* One operand of a call: its name in messages, the tensor (NULL: absent),
 * and whether the op writes it. */
typedef struct operand {
    const char *name;
    const clcnn_tensor *tensor;
    int written;
} operand;

/* Every present operand is of ctx and has the shape of the first present
 * one. */
static clcnn_status check_operands(clcnn_context *ctx, const char *function,
                                   const operand *operands, size_t count) {
    const operand *first = NULL;
    char label[96];
    for (size_t i = 0; i < count; i++) {
        if (operands[i].tensor == NULL)
            continue;
        snprintf(label, sizeof label, "%s: %s", function, operands[i].name);
        clcnn_status status = clcnn__check_tensor(ctx, operands[i].tensor, label);
        if (status == CLCNN_OK && first != NULL)
            status = clcnn__check_same_shape(ctx, function, first->name, first->tensor,
                                             operands[i].name, operands[i].tensor);
        if (status != CLCNN_OK)
            return status;
        if (first == NULL)
            first = &operands[i];
    }
    return CLCNN_OK;
}

/* A written operand is the same storage as another, or shares no memory
 * with it: whole tensors alias safely (each element is read before it is
 * written, by one work-item), overlapping views would not. */
static clcnn_status check_aliasing(clcnn_context *ctx, const char *function,
                                   const operand *operands, size_t count) {
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < count; j++) {
            const clcnn_tensor *out = operands[i].tensor, *other = operands[j].tensor;
            if (i == j || !operands[i].written || out == NULL || other == NULL ||
                out->storage == other->storage || !clcnn__tensors_overlap(out, other))
                continue;
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                               "%s: %s and %s share memory without being the same tensor", function,
                               operands[i].name, operands[j].name);
        }
    }
    return CLCNN_OK;
}

/* Prepares `kernel` of residual.cl with the ReLU or without, in the
 * element-wise layout. */
static clcnn_status prepare(clcnn_context *ctx, int relu, const char *kernel,
                            clcnn__pointwise_layout *layout, clcnn__launch *launch) {
    *layout = clcnn__pointwise_layout_for(ctx, CLCNN__POINTWISE_ELEMENTWISE);
    char layout_options[64], options[96];
    clcnn__pointwise_options(layout, layout_options, sizeof layout_options);
    snprintf(options, sizeof options, "-DRESIDUAL_RELU=%d %s", relu ? 1 : 0, layout_options);
    return clcnn__launch_prepare(ctx, "residual.cl", options, kernel, launch);
}

/* One work-item per VEC * ITEMS elements (cl/pointwise.h). */
static clcnn_status run(clcnn__launch *launch, const clcnn__pointwise_layout *layout,
                        size_t numel) {
    const size_t chunk = (size_t)layout->vec * (size_t)layout->items;
    const size_t local = layout->local;
    const size_t global = clcnn__round_up((numel + chunk - 1) / chunk, local);
    return clcnn__launch_run_fitted(launch, 1, &global, &local);
}

static clcnn_status residual_forward(clcnn_context *ctx, const clcnn_tensor *a,
                                     const clcnn_tensor *b, int relu, clcnn_tensor *y) {
    static const char function[] = "clcnn_residual_forward";
    const operand operands[3] = {{"a", a, 0}, {"b", b, 0}, {"y", y, 1}};
    for (size_t i = 0; i < 3; i++)
        if (operands[i].tensor == NULL)
            return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", function,
                               operands[i].name);
    clcnn_status status = check_operands(ctx, function, operands, 3);
    if (status == CLCNN_OK)
        status = check_aliasing(ctx, function, operands, 3);
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(ctx, relu, "residual_forward", &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_ulong(&launch, a->numel);
    clcnn__arg_tensor(&launch, a);
    clcnn__arg_tensor(&launch, b);
    clcnn__arg_tensor(&launch, y);
    return run(&launch, &layout, a->numel);
}

/* The ReLU flag of a fused activation; -1 for an unknown one. */
static int relu_of(clcnn_fused_activation activation) {
    return activation == CLCNN_FUSED_NONE ? 0 : activation == CLCNN_FUSED_RELU ? 1 : -1;
}

static clcnn_status unknown_activation(clcnn_context *ctx, clcnn_fused_activation activation) {
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown fused activation %d",
                       (int)activation);
}

clcnn_status clcnn_residual_forward(clcnn_context *context, const clcnn_tensor *a,
                                    const clcnn_tensor *b, clcnn_fused_activation activation,
                                    clcnn_tensor *y) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    int relu = relu_of(activation);
    return clcnn__named(context, mark, __func__,
                        relu < 0 ? unknown_activation(context, activation)
                                 : residual_forward(context, a, b, relu, y));
}

static clcnn_status check_backward(clcnn_context *ctx, int relu, const clcnn_tensor *y,
                                   const clcnn_tensor *dy, const clcnn_tensor *da,
                                   clcnn_grad_mode da_mode, const clcnn_tensor *db,
                                   clcnn_grad_mode db_mode) {
    static const char function[] = "clcnn_residual_backward";
    if (dy == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: dy is NULL", function);
    if (relu && y == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: y is NULL, and the ReLU's gradient needs it", function);
    if (da == NULL && db == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: da and db are both NULL",
                           function);
    clcnn_status status = CLCNN_OK;
    if (da != NULL)
        status = clcnn__check_grad_mode(ctx, function, da_mode);
    if (status == CLCNN_OK && db != NULL)
        status = clcnn__check_grad_mode(ctx, function, db_mode);
    const operand operands[4] = {{"dy", dy, 0}, {"y", y, 0}, {"da", da, 1}, {"db", db, 1}};
    if (status == CLCNN_OK)
        status = check_operands(ctx, function, operands, 4);
    if (status == CLCNN_OK)
        status = check_aliasing(ctx, function, operands, 4);
    return status;
}

static int kernel_mode(const clcnn_tensor *grad, clcnn_grad_mode mode) {
    return grad == NULL ? GRAD_SKIP : mode == CLCNN_GRAD_ACCUMULATE ? GRAD_ADD : GRAD_WRITE;
}

static clcnn_status residual_backward(clcnn_context *ctx, int relu, const clcnn_tensor *y,
                                      const clcnn_tensor *dy, clcnn_tensor *da,
                                      clcnn_grad_mode da_mode, clcnn_tensor *db,
                                      clcnn_grad_mode db_mode) {
    clcnn_status status = check_backward(ctx, relu, y, dy, da, da_mode, db, db_mode);
    clcnn__pointwise_layout layout;
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = prepare(ctx, relu, "residual_backward", &layout, &launch);
    if (status != CLCNN_OK)
        return status;
    /* An absent tensor's argument is dy: the kernel never touches it. */
    clcnn__arg_ulong(&launch, dy->numel);
    clcnn__arg_tensor(&launch, relu ? y : dy);
    clcnn__arg_tensor(&launch, dy);
    clcnn__arg_tensor(&launch, da != NULL ? da : dy);
    clcnn__arg_int(&launch, (size_t)kernel_mode(da, da_mode));
    clcnn__arg_tensor(&launch, db != NULL ? db : dy);
    clcnn__arg_int(&launch, (size_t)kernel_mode(db, db_mode));
    return run(&launch, &layout, dy->numel);
}

clcnn_status clcnn_residual_backward(clcnn_context *context, clcnn_fused_activation activation,
                                     const clcnn_tensor *y, const clcnn_tensor *dy,
                                     clcnn_tensor *da, clcnn_grad_mode da_mode, clcnn_tensor *db,
                                     clcnn_grad_mode db_mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    int relu = relu_of(activation);
    return clcnn__named(context, mark, __func__,
                        relu < 0
                            ? unknown_activation(context, activation)
                            : residual_backward(context, relu, y, dy, da, da_mode, db, db_mode));
}
