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

#ifdef __cplusplus
extern "C" {
#endif

CLCNN_API cl_context clcnn_context_cl_context(const clcnn_context *context);
CLCNN_API cl_device_id clcnn_context_cl_device(const clcnn_context *context);
CLCNN_API cl_command_queue clcnn_context_cl_queue(const clcnn_context *context);
/* The buffer holding the tensor's elements, starting at byte 0. */
CLCNN_API cl_mem clcnn_tensor_cl_mem(const clcnn_tensor *tensor);

#ifdef __cplusplus
}
#endif

#endif
