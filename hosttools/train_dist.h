/* Data-parallel clcnn-train under mpirun: launch detection, the rank's
 * device, the shares of global batches and of the test set, sums over the
 * ranks, and stopping every rank when one fails. Built with MPI when the
 * library's MPI component (libclcnn_dist) is; without it, or when not
 * launched by mpirun, the process is rank 0 of 1 and every function is a
 * no-op. */
#ifndef CLCNN_TRAIN_DIST_H
#define CLCNN_TRAIN_DIST_H

#include <stddef.h>

#include <clcnn.h>

typedef struct train_dist {
    size_t rank, size; /* 0 and 1 when not data-parallel */
    size_t local_rank; /* among the ranks on this host */
    int mpi_started;   /* MPI_Init was called (launched by mpirun) */
    void *handle;      /* the clcnn_dist, once made */
    char device[256];  /* the device chosen for this rank, or "" */
} train_dist;

/* Starts MPI when the process was launched by an MPI launcher (mpirun,
 * mpiexec: seen in the environment); otherwise the process is one rank of
 * one. Returns 0, or 1 after a message. */
int train_dist_start(int *argc, char ***argv, train_dist *d);

/* Ends MPI: MPI_Finalize after a success, MPI_Abort (which stops every
 * rank) after a failure, so that no rank is left waiting. */
void train_dist_end(train_dist *d, int failed);

/* The device of this rank for the selector (--device, else
 * $CLCNN_DEVICE, else the default): a comma-separated list names one per
 * local rank (entry local_rank mod its length); otherwise local rank r takes
 * device r mod the count of the devices that match the selector. Fills
 * d->device ("P:D") and returns it, or returns `selector` unchanged with
 * one rank or when no device matches (the context then says why). */
const char *train_dist_device(train_dist *d, const char *selector);

/* The clcnn_dist over MPI_COMM_WORLD for the context, attached to the
 * network (batch norm across ranks with sync_bn). 0, or 1 after a
 * message. No-op with one rank. */
int train_dist_attach(train_dist *d, clcnn_context *ctx, clcnn_net *net, int sync_bn);

/* Frees the clcnn_dist (before the network). */
void train_dist_detach(train_dist *d);

/* Copies rank 0's parameters into every rank's. */
clcnn_status train_dist_broadcast_parameters(train_dist *d, clcnn_net *net);

/* Gives every rank rank 0's batch-norm running statistics (as PyTorch's
 * DDP broadcasts buffers): before an evaluation and a save. */
clcnn_status train_dist_share_running_stats(train_dist *d);

/* Averages the gradients that the backward pass has started exchanging. */
clcnn_status train_dist_gradients(train_dist *d);

/* values[i] = the sum over the ranks of values[i]. */
clcnn_status train_dist_sum(train_dist *d, double *values, size_t count);

/* This rank's part [*first, *first + *count) of `total` items. */
void train_dist_share(const train_dist *d, size_t total, size_t *first, size_t *count);

/* The message of the clcnn_dist's last failure ("" without one). */
const char *train_dist_error(const train_dist *d);

/* Tells the other ranks this one fails (they stop with a message naming
 * it). */
void train_dist_report(train_dist *d, clcnn_status status, const char *message);

#endif
