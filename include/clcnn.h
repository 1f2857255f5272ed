/* libclcnn: convolutional neural networks on any OpenCL device.
 *
 * The one header to include: the core (clcnn/core.h: status codes, devices,
 * contexts, tensors, events, the error model and thread safety) and every
 * op, file format, optimizer and network header, and user kernels
 * (clcnn/kernel.h). Not the optional MPI component (clcnn/dist.h, library
 * libclcnn_dist), which needs MPI's headers: include it yourself when you
 * link it. */
#ifndef CLCNN_H
#define CLCNN_H

#include "clcnn/core.h"

#include "clcnn/activation.h"
#include "clcnn/adaptive_pool.h"
#include "clcnn/augment.h"
#include "clcnn/batchnorm.h"
#include "clcnn/concat.h"
#include "clcnn/conv2d.h"
#include "clcnn/dense.h"
#include "clcnn/dropout.h"
#include "clcnn/elementwise.h"
#include "clcnn/gemm.h"
#include "clcnn/idx.h"
#include "clcnn/kernel.h"
#include "clcnn/net.h"
#include "clcnn/optim.h"
#include "clcnn/pool2d.h"
#include "clcnn/profile.h"
#include "clcnn/residual.h"
#include "clcnn/safetensors.h"
#include "clcnn/softmax.h"
#include "clcnn/tune.h"

#endif
