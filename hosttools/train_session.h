/* What one clcnn-train run holds: the device context, the network, the
 * optimizer and the reusable batch buffers. Shared by train_run.c (set-up
 * and runs), train_loop.c (epochs and evaluation) and train_checkpoint.c. */
#ifndef CLCNN_TRAIN_SESSION_H
#define CLCNN_TRAIN_SESSION_H

#include <clcnn.h>
#include <clcnn/net.h>
#include <clcnn/optim.h>
#include <clcnn/softmax.h>

#include "train_dist.h"
#include "train_feed.h"
#include "train_loop.h"
#include "train_report.h"

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
    train_report *report;
    train_dist *dist; /* this process's rank among those training together */
} train_session;

/* Prints "clcnn-train: <what>: STATUS: <last error>" ("clcnn-train (rank r
 * of N)" when data-parallel, and the rank that failed first when another
 * rank's failure stopped this one), tells the other ranks, and returns 1. */
int train_fail(const train_session *s, const char *what, clcnn_status status);

/* CLOCK_MONOTONIC in seconds. */
double train_now_seconds(void);

/* Programs the session's context has compiled from source so far. */
uint64_t train_kernel_builds(const train_session *s);

/* One epoch of training (train_loop.c): fills the training figures of
 * *result; 0, or 1 after a message (a failure, or a loss that is not
 * finite). */
int train_epoch(train_session *s, size_t epoch, train_progress *progress, epoch_result *result);

/* Accuracy and mean loss of net on the test split; adds its time to
 * result->eval_seconds and any kernel compilation to
 * result->kernel_build_seconds. 0, or 1 after a message. */
int train_evaluate(train_session *s, clcnn_net *net, epoch_result *result, double *accuracy,
                   double *loss);

/* Checkpoints: the model as PATH (PyTorch state dict) and the optimizer
 * state and progress as PATH.optim, which names the model file it belongs
 * to by a digest of its bytes: resuming refuses a pair that does not
 * belong together (a save that stopped between the two files). */
int train_checkpoint_save(train_session *s, size_t epochs_done);
/* Loads both and sets s->first_epoch; 0, or 1 after a message. */
int train_checkpoint_resume(train_session *s, const char *path);

/* Reads input_mean and input_std from a checkpoint's metadata. */
int train_checkpoint_statistics(const char *path, double *mean, double *std);

#endif
