/* Shared by the element-wise kernels (activation.cl, elementwise.cl): each
 * work-item handles ITEMS consecutive vectors of VEC floats, i.e. the
 * elements [gid * POINTWISE_CHUNK, (gid + 1) * POINTWISE_CHUNK); the one
 * work-item whose chunk runs past the end handles its elements one at a
 * time (the element count need not be a multiple of anything). Wide chunks
 * suit CPUs (POCL pays per work-group and does not vectorise across
 * work-items with loops), VEC 4 and ITEMS 1 suit GPUs. */
#ifndef CLCNN_CL_POINTWISE_H
#define CLCNN_CL_POINTWISE_H

/* Vector width: 2, 4, 8 or 16. */
#ifndef VEC
#define VEC 4
#endif
/* Vectors per work-item. */
#ifndef ITEMS
#define ITEMS 1
#endif

#define POINTWISE_CAT_(a, b) a##b
#define POINTWISE_CAT(a, b) POINTWISE_CAT_(a, b)
#define floatv POINTWISE_CAT(float, VEC)
#define vloadv POINTWISE_CAT(vload, VEC)
#define vstorev POINTWISE_CAT(vstore, VEC)

#define POINTWISE_CHUNK (VEC * ITEMS)

/* First element of this work-item's chunk. */
#define POINTWISE_BASE() ((size_t)get_global_id(0) * (size_t)POINTWISE_CHUNK)

/* True when the whole chunk lies inside n elements (vector path); else the
 * caller loops over [base, n) one element at a time, using the vector
 * functions on a broadcast value and taking lane 0. */
#define POINTWISE_FULL(base, n) ((base) + POINTWISE_CHUNK <= (n))

#endif
