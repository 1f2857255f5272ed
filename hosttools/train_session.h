/* What one clcnn-train run holds: the device context, the network, the
 * optimizer and the reusable batch buffers. Shared by train_loop.c and
 * train_checkpoint.c. */
#ifndef CLCNN_TRAIN_SESSION_H
#define CLCNN_TRAIN_SESSION_H

#include <clcnn.h>
#include <clcnn/net.h>
#include <clcnn/optim.h>
#include <clcnn/softmax.h>

#include "train_feed.h"
#include "train_loop.h"

typedef struct train_session {
    const train_options *options;
    train_data *data;
    clcnn_context *ctx;
    clcnn_net *net;
    clcnn_optimizer *optimizer;
    clcnn_tensor *loss;
    train_feed feed; /* double-buffered batch uploads */
    float *host_logits;
    size_t first_epoch; /* 0, or the epoch after a resumed checkpoint */
} train_session;

/* Prints "clcnn-train: <what>: STATUS: <last error>" and returns 1. */
int train_fail(const train_session *s, const char *what, clcnn_status status);

/* Checkpoints: the model as PATH (PyTorch state dict) and the optimizer
 * state and progress as PATH.optim. */
int train_checkpoint_save(train_session *s, size_t epochs_done);
int train_checkpoint_resume(train_session *s, const char *path);

/* Reads input_mean and input_std from a checkpoint's metadata. */
int train_checkpoint_statistics(const char *path, double *mean, double *std);

#endif
