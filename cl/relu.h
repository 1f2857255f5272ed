/* ReLU and its gradient, shared by every kernel that applies one
 * (activation.cl, batchnorm.cl, the conv2d epilogues), so that a fused ReLU
 * gives the bits of a separate one. `lanes` is a vector width (2, 4, 8,
 * 16, or a macro that expands to one); the _1 forms are scalar.
 *
 * Forward: x < 0 ? 0 : x. isless is false for NaN, so NaN passes, as in
 * PyTorch.
 *
 * Backward, PyTorch's threshold_backward: saved <= 0 ? +0 : dy, where
 * saved is the ReLU's input or output (a NaN passes dy). The +0 is made by
 * clearing dy's bits under the mask:
 * - select(0, dy, mask) became a masked load of dy that ran 20 times slower
 *   on POCL (AVX-512, AMD Zen 4) when no lane was positive; clearing bits
 *   keeps dy loaded unconditionally.
 * - copysign(0, dy) + 0.0f, used before, is -0 for a negative dy on Mesa
 *   22.3's rusticl, whose compiler drops "+ 0.0f" although OpenCL keeps
 *   signed zeros (a driver bug). Reproducer: out[0] = copysign(0.0f,
 *   in[0]) + 0.0f with in[0] = -0.5f stores 0x80000000 on rusticl/llvmpipe
 *   and 0x00000000 on POCL (tests/test_activation.c, test_special_values). */
#ifndef CLCNN_CL_RELU_H
#define CLCNN_CL_RELU_H

#define RELU_CAT_(a, b) a##b
#define RELU_CAT(a, b) RELU_CAT_(a, b)

#define RELU_VEC(x, lanes) \
    select((x), (RELU_CAT(float, lanes))(0.0f), isless((x), (RELU_CAT(float, lanes))(0.0f)))
#define RELU_1(x) (isless((x), 0.0f) ? 0.0f : (x))

/* Vector comparisons give all bits set where true. */
#define RELU_GRAD_VEC(dy, saved, lanes)                                  \
    RELU_CAT(as_float, lanes)                                            \
    (RELU_CAT(as_uint, lanes)(dy) &                                      \
     ~RELU_CAT(as_uint, lanes)(islessequal((saved), (RELU_CAT(float, lanes))(0.0f))))
/* A scalar comparison gives 1 where true. */
#define RELU_GRAD_1(dy, saved) \
    as_float(as_uint(dy) & (islessequal((saved), 0.0f) ? 0u : 0xffffffffu))

#endif
