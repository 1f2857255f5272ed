/* Vector helpers shared by the register-tiled conv2d kernels: a float vector
 * type of VW lanes (4, 8 or 16) with its load and store, so each kernel is
 * written once for every width. */
#ifndef CLCNN_CL_CONV2D_VECTOR_H
#define CLCNN_CL_CONV2D_VECTOR_H

/* Lanes per vector. */
#ifndef VW
#define VW 16
#endif

#if VW == 16
typedef float16 floatv;
#define LOADV(p) vload16(0, (p))
#define STOREV(v, p) vstore16((v), 0, (p))
#elif VW == 8
typedef float8 floatv;
#define LOADV(p) vload8(0, (p))
#define STOREV(v, p) vstore8((v), 0, (p))
#elif VW == 4
typedef float4 floatv;
#define LOADV(p) vload4(0, (p))
#define STOREV(v, p) vstore4((v), 0, (p))
#else
#error "VW must be 4, 8 or 16"
#endif

#endif
