/* Bits of the `flags` argument of the kernels of cl/batchnorm.cl, included
 * by those kernels and by the host code that sets them (src/ops/batchnorm*.c),
 * so both read one definition: plain #defines, valid C and OpenCL C. */
#ifndef CLCNN_CL_BATCHNORM_FLAGS_H
#define CLCNN_CL_BATCHNORM_FLAGS_H

#define BN_HAS_GAMMA 1u
#define BN_HAS_BETA 2u
#define BN_TRACK_RUNNING 4u
#define BN_WANT_DX 8u
#define BN_WANT_DGAMMA 16u
#define BN_WANT_DBETA 32u
#define BN_ACCUMULATE 64u
#define BN_HAS_BIAS 128u
#define BN_RELU 256u /* forward: ReLU on y; backward: dy masked by y */

#endif
