/* The state of a clcnn_dist, shared by the files of src/dist/: the handle,
 * messages and waiting (dist.c), failure reports between ranks
 * (dist_peers.c), gradient buckets (dist_grads.c), batch norm across ranks
 * (dist_batchnorm.c). The component uses only libclcnn's public API. */
#ifndef CLCNN_DIST_INTERNAL_H
#define CLCNN_DIST_INTERNAL_H

#include <stdint.h>

#include "clcnn/dist.h"

/* What one rank tells the others, point to point: a report, "I reached the
 * gradient exchange of `step`" (status CLCNN_OK) or "I fail" (an error
 * status and a message); or, after a timeout, a roll call (`step` its
 * number) and the answers of the ranks still alive. 256 bytes: small
 * enough for every MPI's eager protocol, so a send completes without the
 * receiver. */
#define CLCNN__DIST_TOKEN_MESSAGE 236
enum { CLCNN__TOKEN_REPORT = 0, CLCNN__TOKEN_ROLL_CALL = 1, CLCNN__TOKEN_HERE = 2 };
typedef struct clcnn__dist_token {
    uint64_t step;
    int32_t status;
    int32_t rank;
    int32_t kind;
    char message[CLCNN__DIST_TOKEN_MESSAGE];
} clcnn__dist_token;

/* A run of one gradient tensor's elements inside a bucket. */
typedef struct clcnn__dist_piece {
    clcnn_tensor *grad;
    size_t grad_index;    /* its registration index */
    size_t offset, count; /* elements of the tensor */
    float *host;          /* its place in the staging memory */
    clcnn_event *read;    /* the pending read, NULL when none */
} clcnn__dist_piece;

/* A bucket: consecutive pieces, reduced by one MPI_Iallreduce. */
typedef struct clcnn__dist_bucket {
    size_t first_piece, piece_count;
    float *host;
    size_t count;
    MPI_Request request;
    int reducing; /* the all-reduce is in flight */
} clcnn__dist_bucket;

struct clcnn_dist {
    clcnn_context *ctx;
    MPI_Comm comm;
    int rank, size;
    size_t bucket_floats;
    double timeout_seconds;
    int sync_batchnorm;

    /* The public function running: every message starts with its name. */
    const char *function;
    char error[1024];
    /* An earlier failure made the dist unusable (every call fails). */
    int broken;
    char broken_reason[512];
    /* MPI operations were left unfinished by a failure: the memory they may
     * still write, and the communicator, must outlive the dist. */
    int orphaned;

    /* Tokens (dist_peers.c): one receive posted per peer at all times. */
    clcnn__dist_token *peer_tokens; /* [size] */
    MPI_Request *peer_requests;     /* [size], MPI_REQUEST_NULL for self */
    uint64_t *peer_step;            /* [size]: the last step each peer reached */
    clcnn__dist_token own_token;
    MPI_Request *send_requests; /* [size] */
    uint64_t step;              /* gradient exchanges started */
    /* Roll calls after a timeout: this rank's last one, its token, and the
     * last roll call of this rank each peer answered; answers to peers'. */
    uint64_t roll_call;
    clcnn__dist_token roll_token;
    uint64_t *answered;               /* [size] */
    clcnn__dist_token *answer_tokens; /* [size] */

    /* Gradients (dist_grads.c). */
    clcnn_tensor **grads;
    size_t grad_count, grad_capacity;
    size_t total_floats;
    clcnn__dist_piece *pieces;
    size_t piece_count;
    clcnn__dist_bucket *buckets;
    size_t bucket_count;
    float *staging;
    int exchanging; /* between the exchange's start and grad_end */
    /* Buckets whose reads are enqueued, and whose all-reduces are started:
     * always a prefix of the bucket order. */
    size_t buckets_read, buckets_started;

    /* The network of clcnn_dist_attach_net, whose gradient callback starts
     * the exchange during the backward pass (dist_grads.c) and whose batch
     * norm runs across ranks (dist_batchnorm.c). */
    clcnn_net *net;
    size_t net_first_grad; /* registration index of the net's parameter 0 */
    /* The exchange was started by the callback: the first_final it last
     * gave (a larger one is a new backward pass). */
    int started_by_net;
    size_t last_first_final;
    /* The running statistics of the network's batch-norm layers, in the
     * order its training forward first used them. */
    clcnn_batchnorm_state **bn_states;
    size_t bn_state_count, bn_state_capacity;

    /* Gathers and broadcasts: memory MPI writes, owned by the dist. */
    double *gather_send, *gather_recv;
    size_t gather_capacity; /* doubles per rank */
    float *transfer;
    size_t transfer_capacity;
};

/* ----------------------------------------------------------------- dist.c */

/* Records "<function>: <message>" as the last error and returns status. */
clcnn_status clcnn__dist_fail(clcnn_dist *dist, clcnn_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* clcnn__dist_fail with the context's last error appended to `what`, for
 * a core call that failed. */
clcnn_status clcnn__dist_fail_core(clcnn_dist *dist, clcnn_status status, const char *what);

/* clcnn__dist_fail for an MPI error code, with MPI's text; the dist is
 * unusable afterwards. */
clcnn_status clcnn__dist_fail_mpi(clcnn_dist *dist, int code, const char *call);

/* Every public function that takes a dist starts here: names the messages
 * it records and refuses a dist that an earlier failure ended. */
clcnn_status clcnn__dist_enter(clcnn_dist *dist, const char *function);

/* Marks the dist unusable after the failure just recorded. */
void clcnn__dist_break(clcnn_dist *dist);

/* Seconds on a monotonic clock. */
double clcnn__dist_now(void);

/* Waits until every request is complete, watching for failure reports of
 * the other ranks, for at most the timeout. `what` names the exchange in
 * messages. A timeout or a report leaves the requests unfinished: the dist
 * is then broken and orphaned. */
clcnn_status clcnn__dist_wait_all(clcnn_dist *dist, const char *what, int count,
                                  MPI_Request *requests);

/* Gathers `count` doubles from every rank into dist->gather_recv (rank r's
 * at r * count), from dist->gather_send, which the caller filled after
 * clcnn__dist_gather_reserve. */
clcnn_status clcnn__dist_gather_reserve(clcnn_dist *dist, size_t count);
clcnn_status clcnn__dist_gather(clcnn_dist *dist, const char *what, size_t count);

/* A new tensor of `like`'s shape (from the context's pool). */
clcnn_status clcnn__dist_tensor_like(clcnn_dist *dist, const clcnn_tensor *like,
                                     clcnn_tensor **out);

/* ---------------------------------------------------------- dist_peers.c */

/* Posts the token receives from every peer (at creation). */
clcnn_status clcnn__dist_peers_start(clcnn_dist *dist);

/* Takes every token that has arrived; a failure report is recorded
 * (CLCNN_ERROR_PEER_FAILED naming the rank) and returned. */
clcnn_status clcnn__dist_peers_poll(clcnn_dist *dist);

/* Sends this rank's token (step, status, message) to every peer. The
 * previous token's sends must be complete (clcnn__dist_peers_flush). */
clcnn_status clcnn__dist_peers_send(clcnn_dist *dist, clcnn_status status, const char *message);

/* Waits for this rank's token sends to complete (with the timeout). */
clcnn_status clcnn__dist_peers_flush(clcnn_dist *dist);

/* Waits until every peer has reached `step`, naming the ones that did not
 * within the timeout. */
clcnn_status clcnn__dist_peers_wait_step(clcnn_dist *dist, uint64_t step);

/* Tells every peer that this rank fails with `status` and `message` (after
 * the previous token's sends), waiting for the sends with the timeout. */
clcnn_status clcnn__dist_tell_peers(clcnn_dist *dist, clcnn_status status, const char *message);

/* After a timeout: asks every peer whether it is still there and waits a
 * few seconds for the answers (a live peer answers from whatever wait it
 * is in); writes " (ranks ... did not answer ...)" naming the silent ones
 * -- the ranks that hang or were killed -- into text, or "" when all
 * answered. */
void clcnn__dist_roll_call(clcnn_dist *dist, char *text, size_t size);

/* Cancels what is posted (at destruction); sets dist->orphaned when a send
 * cannot be finished. */
void clcnn__dist_peers_stop(clcnn_dist *dist);

/* ---------------------------------------------------------- dist_grads.c */

/* Frees the gradient layout and staging memory (unless orphaned). */
void clcnn__dist_grads_release(clcnn_dist *dist);

/* The network's gradient callback (clcnn_net_set_gradient_callback). */
clcnn_status clcnn__dist_net_gradients_final(void *user, size_t first_final);

/* ------------------------------------------------------- dist_batchnorm.c */

/* The network's batch-norm replacements (clcnn_net_set_batchnorm_ops):
 * clcnn_dist_batchnorm_* on this dist. */
clcnn_net_batchnorm_ops clcnn__dist_net_batchnorm_ops(clcnn_dist *dist);

#endif
