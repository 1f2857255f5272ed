/* Data-parallel training across processes with MPI: gradient averaging in
 * buckets, batch norm across ranks, splitting a global batch, and failure
 * reports between ranks.
 *
 * An optional component: its own library, libclcnn_dist (CMake target
 * clcnn::clcnn_dist or clcnn::clcnn_dist_static, pkg-config module
 * clcnn-dist), built when MPI is found (CMake option CLCNN_MPI). clcnn.h
 * does not include this header, so a program that does not use it needs
 * neither MPI's headers nor its library; include "clcnn/dist.h" and link
 * the component to use it. It uses only the public API of libclcnn.
 *
 * Each rank (MPI process) owns a context, a copy of the network and a
 * clcnn_dist, runs forward and backward on its share of the global batch,
 * then averages the gradients with the other ranks before its optimizer
 * step, as PyTorch's DistributedDataParallel does:
 *
 *     clcnn_dist_create(ctx, MPI_COMM_WORLD, NULL, &dist);
 *     clcnn_dist_attach_net(dist, net);
 *     clcnn_dist_split(global_batch, size, rank, &first, &count);
 *     clcnn_net_set_first_sample(net, first);
 *     each step: clcnn_net_zero_grad, forward (samples first .. first +
 *                count - 1 of the global batch), loss, clcnn_net_backward,
 *                clcnn_dist_allreduce_grads(dist), clcnn_optimizer_step.
 *
 * Gradients. Every registered gradient is averaged over the ranks: each
 * rank ends with the mean of the ranks' gradients (so the mean loss of a
 * rank's local batch gives the gradient of the mean over the global batch
 * when the ranks' batches are equal in size). The gradients, taken in
 * reverse registration order (for a network: the last layer first, the
 * order in which backward finishes them), form one sequence of floats cut
 * into buckets of options.bucket_bytes (a tensor may straddle two). Each
 * bucket is read into host memory with non-blocking reads, reduced by one
 * MPI_Iallreduce once its reads are done, and the average written back
 * through the context's upload queue; the context's queue is made to wait
 * for those writes, so that an optimizer step enqueued next sees the
 * averages without the host waiting for them. For a network attached with
 * clcnn_dist_attach_net the exchange starts inside clcnn_net_backward: the
 * network's gradient callback enqueues a bucket's reads as soon as the
 * layers that own it have enqueued their gradient kernels, and starts its
 * all-reduce at the next layer, so the last layers' buckets are reduced
 * while the first layers' backward runs; clcnn_dist_grad_end then reduces
 * what is left, completing the reductions in flight (MPI progresses them
 * only inside MPI calls) before it blocks on the device for the next
 * bucket. Otherwise clcnn_dist_grad_begin enqueues every read once the
 * backward pass is enqueued.
 *
 * Determinism. The bucket layout and the order in which buckets are reduced
 * are fixed; each bucket is summed by MPI_SUM of MPI_FLOAT and divided by
 * the rank count. The result depends only on the gradients, the rank count
 * and the MPI library (whose all-reduce algorithms sum in an order fixed by
 * the rank count and message size, and give every rank the same bits; Open
 * MPI's do), never on timing. Another rank count sums in another order, so
 * results agree to float rounding only.
 *
 * Failures. A rank that fails tells the others with clcnn_dist_report_failure;
 * every waiting rank then stops with CLCNN_ERROR_PEER_FAILED and a message
 * such as "clcnn_dist_grad_end: rank 1 failed: <its message>". A rank that
 * never arrives (killed, hung, crashed) stops the others after
 * options.timeout_seconds of waiting, with a message naming the ranks that
 * did not reach the gradient exchange. (A killed rank usually ends the job
 * sooner: mpirun terminates the other ranks and names it.) After a failure
 * the communicator may hold unfinished operations: the job should end (the
 * caller prints the message and calls MPI_Abort or MPI_Finalize and exits);
 * every later call on the clcnn_dist fails.
 *
 * Errors. Every function that fails on a valid clcnn_dist records a message
 * starting with its own name in the clcnn_dist (clcnn_dist_last_error), not
 * in the context; when a call of the core library failed inside, the
 * message ends with the context's. clcnn_dist_create, which has no
 * clcnn_dist yet, writes its reason to options->error_buffer. A NULL
 * clcnn_dist gives CLCNN_ERROR_INVALID_ARGUMENT (rank and size 0, last
 * error "").
 *
 * Threads and MPI. The caller initialises MPI (MPI_Init or MPI_Init_thread
 * with any level) before clcnn_dist_create and finalises it after
 * clcnn_dist_destroy. A clcnn_dist calls MPI only inside its own functions,
 * from the calling thread, on a private duplicate of the communicator (its
 * error handler set to return errors: the library never aborts); use it
 * from the thread that uses its context, one thread at a time. Calls that
 * communicate are collective over the communicator: every rank makes the
 * same calls in the same order. */
#ifndef CLCNN_DIST_H
#define CLCNN_DIST_H

#include <mpi.h>
#include <stddef.h>

#include "clcnn/batchnorm.h"
#include "clcnn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A rank's handle on the data-parallel group. Created by clcnn_dist_create,
 * freed by clcnn_dist_destroy (NULL is a no-op) before its context. */
typedef struct clcnn_dist clcnn_dist;

#define CLCNN_DIST_DEFAULT_BUCKET_BYTES ((size_t)1 << 20)
#define CLCNN_DIST_DEFAULT_TIMEOUT_SECONDS 45.0

typedef struct clcnn_dist_options {
    /* Size of a gradient bucket in bytes (rounded up to whole floats);
     * 0: CLCNN_DIST_DEFAULT_BUCKET_BYTES. Every rank must use the same. */
    size_t bucket_bytes;
    /* How long a rank waits for the others at any exchange before it stops
     * with CLCNN_ERROR_PEER_FAILED; 0: CLCNN_DIST_DEFAULT_TIMEOUT_SECONDS
     * (so that a failed job stops within a minute). It bounds the time by
     * which ranks may drift apart, e.g. while rank 0 writes a checkpoint. */
    double timeout_seconds;
    /* Non-zero: clcnn_dist_batchnorm_* take their statistics over the
     * global batch (PyTorch's SyncBatchNorm); 0 (default): each rank over
     * its own batch, as PyTorch's DistributedDataParallel does. Every rank
     * must use the same. */
    int sync_batchnorm;
    /* Optional caller-owned buffer that receives the reason when
     * clcnn_dist_create fails. */
    char *error_buffer;
    size_t error_buffer_size;
} clcnn_dist_options;

/* Options with every field at its default. */
CLCNN_API clcnn_dist_options clcnn_dist_options_default(void);

/* A clcnn_dist for `context` over a duplicate of `comm` (MPI_COMM_NULL:
 * MPI_COMM_WORLD); options NULL: defaults. Collective over comm. Errors:
 * NULL context or out, a negative or non-finite timeout, ranks whose
 * bucket_bytes or sync_batchnorm differ (named):
 * CLCNN_ERROR_INVALID_ARGUMENT; MPI not initialised, or finalised:
 * CLCNN_ERROR_UNSUPPORTED; an MPI failure: CLCNN_ERROR_PEER_FAILED;
 * memory: CLCNN_ERROR_OUT_OF_HOST_MEMORY. *out is NULL on failure. */
CLCNN_API clcnn_status clcnn_dist_create(clcnn_context *context, MPI_Comm comm,
                                         const clcnn_dist_options *options, clcnn_dist **out);

/* Frees the clcnn_dist and its duplicate communicator. Not collective. After
 * a failure that left MPI operations unfinished, the host buffers those
 * operations may still write are not freed (they live until the process
 * ends), nor is the communicator. */
CLCNN_API void clcnn_dist_destroy(clcnn_dist *dist);

/* The message of the last failed call on the clcnn_dist ("" when none);
 * valid until the next call on it. "" for NULL. */
CLCNN_API const char *clcnn_dist_last_error(const clcnn_dist *dist);

/* This rank's index and the number of ranks in the communicator; 0 for
 * NULL. */
CLCNN_API size_t clcnn_dist_rank(const clcnn_dist *dist);
CLCNN_API size_t clcnn_dist_size(const clcnn_dist *dist);

/* ------------------------------------------------------- the global batch */

/* The samples of a global batch of `global_count` that rank `rank` of
 * `ranks` takes: *first and *count, a contiguous range; the first
 * global_count % ranks ranks take one more than the others. The same on
 * every rank with the same arguments: with a shuffle drawn from a seed that
 * every rank shares, the ranks together take the global batch exactly once,
 * whatever their number. A rank may get 0 samples (global_count < ranks).
 * Errors (no message: there is no handle): ranks 0, rank >= ranks, a NULL
 * output: CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_dist_split(size_t global_count, size_t ranks, size_t rank,
                                        size_t *first, size_t *count);

/* ------------------------------------------------------------- gradients */

/* Registers gradient tensors to average, appended after those registered
 * before (the tensors stay the caller's and must outlive their use here).
 * Collective: every rank must register tensors of the same sizes in the
 * same order, which the call checks. Errors: count 0, NULL array or
 * element, a tensor of another context, a tensor registered twice, a
 * registration while an exchange is in progress:
 * CLCNN_ERROR_INVALID_ARGUMENT (nothing sent: make the same mistake on
 * every rank or none); ranks whose sizes differ: CLCNN_ERROR_INVALID_SHAPE
 * naming them, and every rank keeps what it had. */
CLCNN_API clcnn_status clcnn_dist_add_gradients(clcnn_dist *dist, size_t count,
                                                clcnn_tensor *const *grads);

/* Registers every trainable parameter's gradient of `net`, in its
 * state-dict order (clcnn_net_parameter), as clcnn_dist_add_gradients
 * (collective), and installs two hooks in the network (clcnn/net.h): its
 * gradient callback, which starts each step's exchange during
 * clcnn_net_backward (see "Gradients" above), and its batch-norm
 * replacements, so that its batch-norm layers train with
 * clcnn_dist_batchnorm_* (the local ops without options.sync_batchnorm;
 * the dist learns the layers' running statistics through them). The network's first
 * sample (clcnn_net_set_first_sample) stays the caller's to set. Destroy
 * the dist before the network: clcnn_dist_destroy removes the hooks. With
 * the callback a step is one backward pass then clcnn_dist_grad_end (or
 * clcnn_dist_allreduce_grads); a second backward pass before it fails
 * with CLCNN_ERROR_INVALID_ARGUMENT (to accumulate several, remove the
 * callback with clcnn_net_set_gradient_callback(net, NULL, NULL)). Errors:
 * NULL net, one without parameters, a second network:
 * CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_dist_attach_net(clcnn_dist *dist, clcnn_net *net);

/* Starts the exchange of this step's gradients: call it as soon as the
 * backward pass is enqueued. Tells the other ranks this rank has arrived
 * (unless an attached network's callback already did) and enqueues the
 * reads of every bucket not read yet. Does not block on the device or on
 * other ranks. Errors: nothing registered, an exchange already begun by
 * clcnn_dist_grad_begin: CLCNN_ERROR_INVALID_ARGUMENT; a failed read: its status (the
 * other ranks are told). */
CLCNN_API clcnn_status clcnn_dist_grad_begin(clcnn_dist *dist);

/* Finishes the exchange started by clcnn_dist_grad_begin or by an attached
 * network's backward pass (then implying clcnn_dist_grad_begin): waits until
 * every rank has arrived, reduces the buckets as their reads complete,
 * writes the averages back and makes the context's queue wait for them.
 * Returns once every bucket is reduced; the writes may still be running,
 * and anything enqueued on the context from then on runs after them.
 * Errors: no exchange in progress: CLCNN_ERROR_INVALID_ARGUMENT; a rank that
 * reported a failure or did not arrive within the timeout:
 * CLCNN_ERROR_PEER_FAILED naming it; a failed read or write: its status. */
CLCNN_API clcnn_status clcnn_dist_grad_end(clcnn_dist *dist);

/* clcnn_dist_grad_begin then clcnn_dist_grad_end. */
CLCNN_API clcnn_status clcnn_dist_allreduce_grads(clcnn_dist *dist);

/* ------------------------------------------------------------- failures */

/* Tells every other rank that this rank fails: those waiting in (or next
 * entering) an exchange stop with CLCNN_ERROR_PEER_FAILED and a message
 * naming this rank, followed by `message` (may be NULL; cut to 200 bytes).
 * `status` is the failure's status (an error, not CLCNN_OK). Waits at most
 * the timeout for the reports to leave. The clcnn_dist is unusable
 * afterwards. Errors: status CLCNN_OK: CLCNN_ERROR_INVALID_ARGUMENT; the
 * report could not be sent: CLCNN_ERROR_PEER_FAILED. */
CLCNN_API clcnn_status clcnn_dist_report_failure(clcnn_dist *dist, clcnn_status status,
                                                 const char *message);

/* --------------------------------------------------------- other exchanges */

/* Copies rank `root`'s tensors into every other rank's tensors of the same
 * sizes, e.g. the parameters and batch-norm statistics of a network that
 * only rank 0 loaded from a checkpoint. Blocking (reads and writes the
 * device); collective. Errors: root >= size, count 0, NULL array or element,
 * a tensor of another context: CLCNN_ERROR_INVALID_ARGUMENT; a peer failure
 * or timeout: CLCNN_ERROR_PEER_FAILED. */
CLCNN_API clcnn_status clcnn_dist_broadcast(clcnn_dist *dist, size_t root, size_t count,
                                            clcnn_tensor *const *tensors);

/* Copies rank `root`'s running statistics (running_mean, running_var) of
 * the attached network's batch-norm layers into every other rank's, as
 * PyTorch's DistributedDataParallel broadcasts its buffers: without
 * sync_batchnorm each rank's running statistics follow its own batches, so
 * call it before an evaluation that every rank shares, or before rank 0
 * saves the model (with sync_batchnorm they are the same everywhere
 * already). The layers are those the network's training forward passes
 * have used; none yet: nothing to do. Blocking; collective. Errors: root >=
 * size: CLCNN_ERROR_INVALID_ARGUMENT; a peer failure or timeout:
 * CLCNN_ERROR_PEER_FAILED. */
CLCNN_API clcnn_status clcnn_dist_broadcast_running_stats(clcnn_dist *dist, size_t root);

/* Replaces values[0..count-1] by their sums over the ranks, summed in rank
 * order in double on every rank (the same bits everywhere), for metrics
 * such as a sharded evaluation's correct predictions and loss. Collective;
 * every rank passes the same count. Errors: NULL values or count 0:
 * CLCNN_ERROR_INVALID_ARGUMENT; a peer failure or timeout:
 * CLCNN_ERROR_PEER_FAILED. */
CLCNN_API clcnn_status clcnn_dist_sum(clcnn_dist *dist, double *values, size_t count);

/* ------------------------------------------------------------ batch norm */

/* Batch norm across ranks: the same arguments and results as
 * clcnn_batchnorm_forward_train and clcnn_batchnorm_backward (see
 * clcnn/batchnorm.h; params->activation fused alike), on this rank's part
 * of the batch. Without options.sync_batchnorm they are exactly those
 * functions on the local batch. With it (PyTorch's SyncBatchNorm):
 *
 * - forward: the mean and biased variance of each channel are those of the
 *   global batch (every rank's x together): each rank's count, mean and
 *   variance are gathered and merged with Chan's formula in double, in rank
 *   order, so every rank normalises with the same bits; saved->mean and
 *   saved->invstd hold the global statistics; the running statistics
 *   (state) are updated from them, the variance made unbiased with the
 *   global count, identically on every rank.
 * - backward: with g = dy, or the gradient through params->activation from
 *   y, sum(g) and sum(g * xhat) of each channel are summed over the ranks
 *   (in rank order, in double) and dx uses the global sums and count;
 *   grads->dgamma and dbeta receive this rank's own sums, which the
 *   gradient averaging then completes, as PyTorch's SyncBatchNorm with DDP
 *   does.
 *
 * So with equal local batches, N ranks give y, dx and the averaged
 * parameter gradients of one process running batch norm over the
 * concatenated batch, to float rounding. Every rank must call them in the
 * same order on the same channels (each call is one collective exchange of
 * 1 + 2 x channels doubles, with the timeout); a rank may hold any number of
 * samples from 1 up, and the global count must exceed 1. Built from the
 * public batch norm, activation and element-wise ops: a forward costs one
 * more pass over x than the local op, a backward three more over x and dy,
 * plus a host round trip for the statistics (a sync point per layer).
 * Errors: those of the local functions (the message names the dist
 * function, then quotes the op's); with sync_batchnorm, argument errors
 * are found before any exchange and change nothing, and a failure after
 * that tells the other ranks; a peer failure or timeout:
 * CLCNN_ERROR_PEER_FAILED. y may be x, and dx x, y or dy, as for the local
 * ops. */
CLCNN_API clcnn_status clcnn_dist_batchnorm_forward_train(
    clcnn_dist *dist, const clcnn_batchnorm_params *params, const clcnn_tensor *x,
    const clcnn_tensor *gamma, const clcnn_tensor *beta, clcnn_batchnorm_state *state,
    clcnn_tensor *y, const clcnn_batchnorm_saved *saved);

CLCNN_API clcnn_status clcnn_dist_batchnorm_backward(
    clcnn_dist *dist, const clcnn_batchnorm_params *params, const clcnn_tensor *x,
    const clcnn_tensor *y, const clcnn_tensor *dy, const clcnn_tensor *gamma,
    const clcnn_batchnorm_saved *saved, clcnn_tensor *dx, const clcnn_batchnorm_grads *grads);

#ifdef __cplusplus
}
#endif

#endif
