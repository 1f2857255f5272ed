/* Compile-time geometry of the direct conv2d kernels (conv2d_direct.cl,
 * conv2d_direct_weights.cl): taps, dilation and stride, so the tap loops
 * unroll. The host passes each as -D; these defaults serve a build
 * without them. */
#ifndef CLCNN_CL_CONV2D_GEOMETRY_H
#define CLCNN_CL_CONV2D_GEOMETRY_H

/* Kernel taps. */
#ifndef KH
#define KH 3
#endif
#ifndef KW
#define KW 3
#endif
/* Dilation. */
#ifndef DH
#define DH 1
#endif
#ifndef DW
#define DW 1
#endif
/* Stride. */
#ifndef SH
#define SH 1
#endif
#ifndef SW
#define SW 1
#endif

#endif
