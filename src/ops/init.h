/* Parameter initialisation (src/ops/init.c, cl/init.cl): uniform values
 * drawn from a Philox stream, the same on every device. What a network
 * draws PyTorch's default initialisation with (src/nn/net_params.c:
 * kaiming-uniform weights and uniform biases in [-1/sqrt(fan_in),
 * 1/sqrt(fan_in)]). Not installed. */
#ifndef CLCNN_OPS_INIT_H
#define CLCNN_OPS_INIT_H

#include <stdint.h>

#include "runtime/internal.h"

/* Enqueues tensor[e] = low + u_e * (high - low) for every element e, with
 * u_e uniform in [0, 1) from word e of the Philox stream (seed, offset)
 * (cl/philox.h's philox_uniform_float), rounded without fused
 * multiply-adds: the values depend only on (seed, offset), bit for bit.
 * Errors: a NULL tensor or low, high not finite or low > high:
 * CLCNN_ERROR_INVALID_ARGUMENT; a tensor of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH; more elements than a stream index holds
 * (2^32 - 1): CLCNN_ERROR_SIZE_OVERFLOW. */
clcnn_status clcnn__init_uniform(clcnn_context *ctx, clcnn_tensor *tensor, float low, float high,
                                 uint64_t seed, uint64_t offset);

#endif
