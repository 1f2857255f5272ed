/* Parameter initialisation (src/ops/init.h) on the kernel of cl/init.cl. */
#include <math.h>

#include "ops/init.h"

/* The global size is a multiple of this; the driver picks the work-group. */
#define INIT_GLOBAL_MULTIPLE 64

static clcnn_status check_bounds(clcnn_context *ctx, float low, float high) {
    if (!isfinite(low) || !isfinite(high) || low > high)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "init_uniform: the bounds [%g, %g] must be finite, low <= high",
                           (double)low, (double)high);
    return CLCNN_OK;
}

clcnn_status clcnn__init_uniform(clcnn_context *ctx, clcnn_tensor *tensor, float low, float high,
                                 uint64_t seed, uint64_t offset) {
    clcnn_status status = clcnn__check_tensor(ctx, tensor, "init_uniform: tensor");
    if (status == CLCNN_OK)
        status = check_bounds(ctx, low, high);
    clcnn__launch launch;
    if (status == CLCNN_OK)
        status = clcnn__launch_prepare(ctx, "init.cl", NULL, "init_uniform", &launch);
    if (status != CLCNN_OK)
        return status;
    size_t count = tensor->numel;
    clcnn__arg_tensor(&launch, tensor);
    clcnn__arg_uint(&launch, count);
    clcnn__arg_float(&launch, low);
    clcnn__arg_float(&launch, high);
    clcnn__arg_uint(&launch, (uint32_t)seed);
    clcnn__arg_uint(&launch, (uint32_t)(seed >> 32));
    clcnn__arg_uint(&launch, (uint32_t)offset);
    clcnn__arg_uint(&launch, (uint32_t)(offset >> 32));
    size_t global = clcnn__round_up(count, INIT_GLOBAL_MULTIPLE);
    return clcnn__launch_run(&launch, 1, &global, NULL);
}
