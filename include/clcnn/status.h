/* libclcnn status codes: one X-macro table yields the enum, the names and the
 * descriptions, so the three never drift apart. */
#ifndef CLCNN_STATUS_H
#define CLCNN_STATUS_H

#include "clcnn/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* XX(symbol, value, description). Values are stable across versions: new codes
 * are appended, none is renumbered. */
#define CLCNN_STATUS_MAP(XX)                                                                    \
    XX(OK, 0, "success")                                                                        \
    XX(ERROR_INVALID_ARGUMENT, -1, "invalid argument (NULL pointer or bad value)")              \
    XX(ERROR_INVALID_SHAPE, -2, "impossible or mismatched tensor shape")                        \
    XX(ERROR_SIZE_OVERFLOW, -3, "size computation overflows")                                   \
    XX(ERROR_OUT_OF_HOST_MEMORY, -4, "out of host memory")                                      \
    XX(ERROR_OUT_OF_DEVICE_MEMORY, -5, "out of device memory")                                  \
    XX(ERROR_NO_PLATFORM, -6, "no OpenCL platform or device is available")                      \
    XX(ERROR_DEVICE_NOT_FOUND, -7, "the requested OpenCL device does not exist")                \
    XX(ERROR_OPENCL, -8, "an OpenCL call failed")                                               \
    XX(ERROR_BUILD_FAILED, -9, "an OpenCL program failed to build")                             \
    XX(ERROR_CONTEXT_MISMATCH, -10, "objects belong to different contexts")                     \
    XX(ERROR_OUT_OF_RANGE, -11, "access outside the bounds of an object")                       \
    XX(ERROR_IO, -12, "file input/output failed")                                               \
    XX(ERROR_CORRUPT_FILE, -13, "file is corrupt or not in the expected format")                \
    XX(ERROR_UNSUPPORTED, -14, "operation not supported on this device or build")               \
    XX(ERROR_NOT_FOUND, -15, "named item not found")                                            \
    XX(ERROR_DEVICE_UNSUPPORTED, -16, "the OpenCL device or platform is older than OpenCL 1.2") \
    XX(ERROR_PEER_FAILED, -17, "another rank of a distributed job failed or did not answer in time")

typedef enum clcnn_status {
#define CLCNN_STATUS_ENUM_ENTRY(symbol, value, description) CLCNN_##symbol = (value),
    CLCNN_STATUS_MAP(CLCNN_STATUS_ENUM_ENTRY)
#undef CLCNN_STATUS_ENUM_ENTRY
} clcnn_status;

/* "CLCNN_ERROR_INVALID_ARGUMENT" for CLCNN_ERROR_INVALID_ARGUMENT; never NULL
 * ("CLCNN_UNKNOWN_STATUS" for a value outside the table). */
CLCNN_API const char *clcnn_status_name(clcnn_status status);

/* A one-line English description; never NULL. */
CLCNN_API const char *clcnn_status_string(clcnn_status status);

#ifdef __cplusplus
}
#endif

#endif
