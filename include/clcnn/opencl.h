/* OpenCL interoperability: the raw OpenCL objects behind libclcnn handles,
 * for callers that enqueue their own kernels on the same queue. The handles
 * stay owned by libclcnn: retain them to keep them past the owner's life. */
#ifndef CLCNN_OPENCL_H
#define CLCNN_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "clcnn/core.h"
#include "clcnn/kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

CLCNN_API cl_context clcnn_context_cl_context(const clcnn_context *context);
CLCNN_API cl_device_id clcnn_context_cl_device(const clcnn_context *context);
CLCNN_API cl_command_queue clcnn_context_cl_queue(const clcnn_context *context);
/* The buffer holding the tensor's elements, starting at byte 0. */
CLCNN_API cl_mem clcnn_tensor_cl_mem(const clcnn_tensor *tensor);

/* User kernels (clcnn/kernel.h) with buffers and events of the caller's. */

/* Sets argument `index` of the kernel to a buffer of the context's OpenCL
 * context (e.g. one made with clCreateBuffer on clcnn_context_cl_context),
 * kept like the other setters' values; NULL passes a NULL pointer. The
 * buffer is not retained: it must stay valid until the launches that use
 * it have completed. Errors: as clcnn_kernel_set_tensor's (an index past
 * the kernel's arguments: CLCNN_ERROR_OUT_OF_RANGE). */
CLCNN_API clcnn_status clcnn_kernel_set_mem(clcnn_kernel *kernel, size_t index, cl_mem mem);

/* clcnn_kernel_launch that also gives the launch's OpenCL event in *event,
 * e.g. to read its profiling counters (on a context made with
 * enable_profiling) or to wait for it alone. The caller releases it with
 * clReleaseEvent. *event is NULL when nothing was enqueued (a global size
 * of 0, or a failure). Errors: NULL event: CLCNN_ERROR_INVALID_ARGUMENT;
 * else as clcnn_kernel_launch's. */
CLCNN_API clcnn_status clcnn_kernel_launch_cl_event(clcnn_kernel *kernel, size_t dims,
                                                    const size_t *global, const size_t *local,
                                                    cl_event *event);

#ifdef __cplusplus
}
#endif

#endif
