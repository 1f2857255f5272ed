/* conv2d: the forward's epilogue (per-channel scale and shift, ReLU, 2x2
 * max pool) as a pass of its own over the output, for the algorithms that
 * do not apply it in their stores (cl/conv2d_epilogue.cl). */
#include "conv2d_flags.h"
#include "ops/conv2d_internal.h"

/* Positions of one output plane per work-item (the device table's: long
 * runs on CPUs, few work-groups; one float4 on other devices). */
static size_t epilogue_span(const clcnn_context *ctx) {
    return ctx->choices.conv2d.epilogue_span;
}

int clcnn__conv2d_epilogue_active(const clcnn__conv2d_epilogue *epilogue) {
    return epilogue != NULL &&
           (epilogue->scale != NULL || epilogue->shift != NULL || epilogue->relu || epilogue->pool);
}

clcnn_status clcnn__conv2d_epilogue_apply(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                          const clcnn__conv2d_epilogue *epilogue, cl_mem src,
                                          cl_mem y) {
    if (!clcnn__conv2d_epilogue_active(epilogue))
        return CLCNN_OK;
    const char *name = epilogue->pool ? "conv2d_epilogue_pool" : "conv2d_epilogue";
    clcnn__launch launch;
    clcnn_status status = clcnn__launch_prepare(ctx, "conv2d_epilogue.cl", NULL, name, &launch);
    if (status != CLCNN_OK)
        return status;
    int flags = (epilogue->scale != NULL ? CONV2D_HAS_SCALE : 0) |
                (epilogue->shift != NULL ? CONV2D_HAS_SHIFT : 0) |
                (epilogue->relu ? CONV2D_RELU : 0);
    size_t planes = g->n * g->k, span = epilogue_span(ctx);
    if (epilogue->pool)
        clcnn__arg_mem(&launch, src);
    clcnn__arg_mem(&launch, y);
    /* Absent operands are never read: any buffer will do. */
    clcnn__arg_mem(&launch, epilogue->scale != NULL ? epilogue->scale : y);
    clcnn__arg_mem(&launch, epilogue->shift != NULL ? epilogue->shift : y);
    clcnn__arg_int(&launch, (size_t)flags);
    clcnn__arg_int(&launch, planes);
    clcnn__arg_int(&launch, g->k);
    if (epilogue->pool) {
        clcnn__arg_int(&launch, g->ho);
        clcnn__arg_int(&launch, g->wo);
    } else {
        clcnn__arg_int(&launch, g->ho * g->wo);
    }
    clcnn__arg_int(&launch, span);
    if (epilogue->pool) {
        size_t pooled_w = g->wo / 2;
        const size_t global[3] = {(pooled_w + span - 1) / span, g->ho / 2, planes};
        const size_t local[3] = {1, 1, 16};
        return clcnn__conv2d_launch(&launch, 3, global, local);
    }
    size_t positions = g->ho * g->wo;
    const size_t global[2] = {(positions + span - 1) / span, planes};
    const size_t local[2] = {1, 16};
    return clcnn__conv2d_launch(&launch, 2, global, local);
}
