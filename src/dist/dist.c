/* The clcnn_dist handle: creation on a duplicate communicator, messages,
 * waiting with a deadline, gathers, and the small collectives (split,
 * broadcast, sum). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist_internal.h"

/* Between two polls of unfinished MPI requests: short enough not to slow a
 * reduction down, long enough to leave the cores to the device driver. */
#define POLL_PAUSE_NS 20000L

/* --------------------------------------------------------------- messages */

/* The message may quote the previous one (a peer's, the context's): it is
 * formatted aside first. */
clcnn_status clcnn__dist_fail(clcnn_dist *dist, clcnn_status status, const char *format, ...) {
    char text[sizeof dist->error];
    int used = snprintf(text, sizeof text, "%s: ", dist->function);
    size_t start = used < 0 ? 0 : (size_t)used < sizeof text ? (size_t)used : sizeof text - 1;
    va_list args;
    va_start(args, format);
    vsnprintf(text + start, sizeof text - start, format, args);
    va_end(args);
    memcpy(dist->error, text, sizeof text);
    return status;
}

/* Copies text into a buffer of `size` bytes, cut to fit. */
static void copy_text(char *buffer, size_t size, const char *text) {
    size_t length = strlen(text);
    length = length < size ? length : size - 1;
    memcpy(buffer, text, length);
    buffer[length] = '\0';
}

clcnn_status clcnn__dist_fail_core(clcnn_dist *dist, clcnn_status status, const char *what) {
    return clcnn__dist_fail(dist, status, "%s: %s", what, clcnn_context_last_error(dist->ctx));
}

clcnn_status clcnn__dist_fail_mpi(clcnn_dist *dist, int code, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", code);
    clcnn__dist_fail(dist, CLCNN_ERROR_PEER_FAILED, "%s failed: %s", call, text);
    clcnn__dist_break(dist);
    return CLCNN_ERROR_PEER_FAILED;
}

void clcnn__dist_break(clcnn_dist *dist) {
    if (dist->broken)
        return;
    dist->broken = 1;
    copy_text(dist->broken_reason, sizeof dist->broken_reason, dist->error);
}

clcnn_status clcnn__dist_enter(clcnn_dist *dist, const char *function) {
    dist->function = function;
    if (dist->broken)
        return clcnn__dist_fail(dist, CLCNN_ERROR_PEER_FAILED,
                                "unusable after an earlier failure (%s)", dist->broken_reason);
    return CLCNN_OK;
}

const char *clcnn_dist_last_error(const clcnn_dist *dist) {
    return dist != NULL ? dist->error : "";
}

size_t clcnn_dist_rank(const clcnn_dist *dist) {
    return dist != NULL ? (size_t)dist->rank : 0;
}

size_t clcnn_dist_size(const clcnn_dist *dist) {
    return dist != NULL ? (size_t)dist->size : 0;
}

/* ---------------------------------------------------------------- waiting */

double clcnn__dist_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void pause_briefly(void) {
    struct timespec pause = {0, POLL_PAUSE_NS};
    nanosleep(&pause, NULL);
}

/* The requests stay unfinished: their memory must outlive the dist. */
static clcnn_status abandon(clcnn_dist *dist, clcnn_status status) {
    dist->orphaned = 1;
    clcnn__dist_break(dist);
    return status;
}

clcnn_status clcnn__dist_wait_all(clcnn_dist *dist, const char *what, int count,
                                  MPI_Request *requests) {
    double deadline = clcnn__dist_now() + dist->timeout_seconds;
    for (;;) {
        int done = 0;
        int code = MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
        if (code != MPI_SUCCESS) {
            dist->orphaned = 1;
            return clcnn__dist_fail_mpi(dist, code, what);
        }
        if (done)
            return CLCNN_OK;
        clcnn_status status = clcnn__dist_peers_poll(dist);
        if (status != CLCNN_OK)
            return abandon(dist, status);
        if (clcnn__dist_now() > deadline) {
            char silent[256];
            clcnn__dist_roll_call(dist, silent, sizeof silent);
            return abandon(dist, clcnn__dist_fail(dist, CLCNN_ERROR_PEER_FAILED,
                                                  "%s did not complete within %g s: a rank "
                                                  "failed, hangs or was killed%s",
                                                  what, dist->timeout_seconds, silent));
        }
        pause_briefly();
    }
}

/* ---------------------------------------------------------------- gathers */

clcnn_status clcnn__dist_gather_reserve(clcnn_dist *dist, size_t count) {
    if (count <= dist->gather_capacity)
        return CLCNN_OK;
    double *send = malloc(count * sizeof *send);
    double *recv = malloc(count * (size_t)dist->size * sizeof *recv);
    if (send == NULL || recv == NULL) {
        free(send);
        free(recv);
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                "out of host memory for %zu doubles per rank", count);
    }
    free(dist->gather_send);
    free(dist->gather_recv);
    dist->gather_send = send;
    dist->gather_recv = recv;
    dist->gather_capacity = count;
    return CLCNN_OK;
}

clcnn_status clcnn__dist_gather(clcnn_dist *dist, const char *what, size_t count) {
    if (count > (size_t)INT32_MAX)
        return clcnn__dist_fail(dist, CLCNN_ERROR_SIZE_OVERFLOW, "%s: %zu values", what, count);
    MPI_Request request = MPI_REQUEST_NULL;
    int code = MPI_Iallgather(dist->gather_send, (int)count, MPI_DOUBLE, dist->gather_recv,
                              (int)count, MPI_DOUBLE, dist->comm, &request);
    if (code != MPI_SUCCESS)
        return clcnn__dist_fail_mpi(dist, code, "MPI_Iallgather");
    return clcnn__dist_wait_all(dist, what, 1, &request);
}

clcnn_status clcnn__dist_tensor_like(clcnn_dist *dist, const clcnn_tensor *like,
                                     clcnn_tensor **out) {
    size_t ndim = clcnn_tensor_ndim(like), dims[CLCNN_MAX_DIMS];
    for (size_t i = 0; i < ndim; i++)
        dims[i] = clcnn_tensor_dim(like, i);
    clcnn_status status = clcnn_tensor_create(dist->ctx, ndim, dims, out);
    return status == CLCNN_OK ? CLCNN_OK
                              : clcnn__dist_fail_core(dist, status, "making a workspace");
}

/* ------------------------------------------------------------- lifetime */

clcnn_dist_options clcnn_dist_options_default(void) {
    clcnn_dist_options options;
    memset(&options, 0, sizeof options);
    return options;
}

/* The reason clcnn_dist_create failed, into the caller's buffer. */
static clcnn_status create_failed(const clcnn_dist_options *options, clcnn_status status,
                                  const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static clcnn_status create_failed(const clcnn_dist_options *options, clcnn_status status,
                                  const char *format, ...) {
    if (options == NULL || options->error_buffer == NULL || options->error_buffer_size == 0)
        return status;
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    snprintf(options->error_buffer, options->error_buffer_size, "clcnn_dist_create: %s", text);
    return status;
}

static clcnn_status check_options(const clcnn_dist_options *o) {
    if (!isfinite(o->timeout_seconds) || o->timeout_seconds < 0.0)
        return create_failed(o, CLCNN_ERROR_INVALID_ARGUMENT,
                             "timeout_seconds %g is not a finite number >= 0", o->timeout_seconds);
    size_t bytes = o->bucket_bytes != 0 ? o->bucket_bytes : CLCNN_DIST_DEFAULT_BUCKET_BYTES;
    if (bytes / sizeof(float) > (size_t)INT32_MAX)
        return create_failed(o, CLCNN_ERROR_INVALID_ARGUMENT,
                             "bucket_bytes %zu is more than MPI can reduce in one call", bytes);
    return CLCNN_OK;
}

static clcnn_status check_mpi(const clcnn_dist_options *options) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized)
        return create_failed(options, CLCNN_ERROR_UNSUPPORTED,
                             "MPI is %s: call MPI_Init before and MPI_Finalize after",
                             finalized ? "finalized" : "not initialized");
    return CLCNN_OK;
}

/* The per-peer arrays of dist_peers.c. */
static clcnn_status allocate_peers(clcnn_dist *dist) {
    size_t n = (size_t)dist->size;
    dist->peer_tokens = calloc(n, sizeof *dist->peer_tokens);
    dist->peer_requests = malloc(n * sizeof *dist->peer_requests);
    dist->peer_step = calloc(n, sizeof *dist->peer_step);
    dist->send_requests = malloc(n * sizeof *dist->send_requests);
    dist->answered = calloc(n, sizeof *dist->answered);
    dist->answer_tokens = calloc(n, sizeof *dist->answer_tokens);
    if (dist->peer_tokens == NULL || dist->peer_requests == NULL || dist->peer_step == NULL ||
        dist->send_requests == NULL || dist->answered == NULL || dist->answer_tokens == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                "out of host memory for %zu ranks", n);
    for (size_t i = 0; i < n; i++)
        dist->peer_requests[i] = dist->send_requests[i] = MPI_REQUEST_NULL;
    return CLCNN_OK;
}

/* Every rank must bucket alike and agree on batch norm. */
static clcnn_status check_same_options(clcnn_dist *dist) {
    clcnn_status status = clcnn__dist_gather_reserve(dist, 2);
    if (status != CLCNN_OK)
        return status;
    dist->gather_send[0] = (double)dist->bucket_floats;
    dist->gather_send[1] = dist->sync_batchnorm;
    status = clcnn__dist_gather(dist, "the exchange of options", 2);
    for (int r = 0; r < dist->size && status == CLCNN_OK; r++) {
        const double *theirs = &dist->gather_recv[2 * r];
        if (theirs[0] != dist->gather_send[0] || theirs[1] != dist->gather_send[1])
            status = clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                      "rank %d has bucket_bytes %.0f and sync_batchnorm %.0f, "
                                      "rank %d %.0f and %.0f: every rank must use the same",
                                      r, theirs[0] * sizeof(float), theirs[1], dist->rank,
                                      dist->gather_send[0] * sizeof(float), dist->gather_send[1]);
    }
    return status;
}

static clcnn_status set_up(clcnn_dist *dist, MPI_Comm comm) {
    int code = MPI_Comm_dup(comm, &dist->comm);
    if (code != MPI_SUCCESS) {
        dist->comm = MPI_COMM_NULL;
        return clcnn__dist_fail_mpi(dist, code, "MPI_Comm_dup");
    }
    code = MPI_Comm_set_errhandler(dist->comm, MPI_ERRORS_RETURN);
    if (code == MPI_SUCCESS)
        code = MPI_Comm_rank(dist->comm, &dist->rank);
    if (code == MPI_SUCCESS)
        code = MPI_Comm_size(dist->comm, &dist->size);
    if (code != MPI_SUCCESS)
        return clcnn__dist_fail_mpi(dist, code, "setting up the communicator");
    clcnn_status status = allocate_peers(dist);
    if (status == CLCNN_OK)
        status = clcnn__dist_peers_start(dist);
    if (status == CLCNN_OK)
        status = check_same_options(dist);
    return status;
}

clcnn_status clcnn_dist_create(clcnn_context *context, MPI_Comm comm,
                               const clcnn_dist_options *options, clcnn_dist **out) {
    clcnn_dist_options o = options != NULL ? *options : clcnn_dist_options_default();
    if (out != NULL)
        *out = NULL;
    if (out == NULL || context == NULL)
        return create_failed(&o, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                             out == NULL ? "out" : "context");
    clcnn_status status = check_options(&o);
    if (status == CLCNN_OK)
        status = check_mpi(&o);
    if (status != CLCNN_OK)
        return status;
    clcnn_dist *dist = calloc(1, sizeof *dist);
    if (dist == NULL)
        return create_failed(&o, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    dist->ctx = context;
    dist->function = "clcnn_dist_create";
    dist->comm = MPI_COMM_NULL;
    size_t bytes = o.bucket_bytes != 0 ? o.bucket_bytes : CLCNN_DIST_DEFAULT_BUCKET_BYTES;
    dist->bucket_floats = (bytes + sizeof(float) - 1) / sizeof(float);
    dist->timeout_seconds =
        o.timeout_seconds != 0.0 ? o.timeout_seconds : CLCNN_DIST_DEFAULT_TIMEOUT_SECONDS;
    dist->sync_batchnorm = o.sync_batchnorm != 0;
    status = set_up(dist, comm == MPI_COMM_NULL ? MPI_COMM_WORLD : comm);
    if (status != CLCNN_OK) {
        create_failed(&o, status, "%s", dist->error + strlen("clcnn_dist_create: "));
        clcnn_dist_destroy(dist);
        return status;
    }
    *out = dist;
    return CLCNN_OK;
}

void clcnn_dist_destroy(clcnn_dist *dist) {
    if (dist == NULL)
        return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (dist->net != NULL) { /* the network no longer calls this dist */
        clcnn_net_set_gradient_callback(dist->net, NULL, NULL);
        clcnn_net_set_batchnorm_ops(dist->net, NULL);
    }
    if (!finalized && !dist->orphaned)
        clcnn__dist_peers_stop(dist);
    clcnn__dist_grads_release(dist);
    if (!dist->orphaned) {
        /* Otherwise MPI may still write these, so they must outlive the dist. */
        free(dist->peer_tokens);
        free(dist->peer_requests);
        free(dist->send_requests);
        free(dist->gather_send);
        free(dist->gather_recv);
        free(dist->transfer);
        free(dist->answer_tokens);
        if (!finalized && dist->comm != MPI_COMM_NULL)
            MPI_Comm_free(&dist->comm);
    }
    free(dist->peer_step);
    free(dist->answered);
    free(dist->bn_states);
    free(dist);
}

/* ------------------------------------------------------- the global batch */

clcnn_status clcnn_dist_split(size_t global_count, size_t ranks, size_t rank, size_t *first,
                              size_t *count) {
    if (ranks == 0 || rank >= ranks || first == NULL || count == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    size_t share = global_count / ranks, extra = global_count % ranks;
    *first = rank * share + (rank < extra ? rank : extra);
    *count = share + (rank < extra ? 1 : 0);
    return CLCNN_OK;
}

/* ------------------------------------------------------------------- sum */

clcnn_status clcnn_dist_sum(clcnn_dist *dist, double *values, size_t count) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    if (status != CLCNN_OK)
        return status;
    if (values == NULL || count == 0)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                values == NULL ? "values is NULL" : "count is 0");
    status = clcnn__dist_gather_reserve(dist, count);
    if (status != CLCNN_OK)
        return status;
    memcpy(dist->gather_send, values, count * sizeof *values);
    status = clcnn__dist_gather(dist, "the sum", count);
    if (status != CLCNN_OK)
        return status;
    for (size_t i = 0; i < count; i++) {
        double sum = 0.0;
        for (int r = 0; r < dist->size; r++)
            sum += dist->gather_recv[(size_t)r * count + i];
        values[i] = sum;
    }
    return CLCNN_OK;
}

/* -------------------------------------------------------------- broadcast */

static clcnn_status check_tensor_list(clcnn_dist *dist, size_t count, clcnn_tensor *const *tensors,
                                      const char *name) {
    if (count == 0 || tensors == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "%s",
                                count == 0 ? "count is 0" : "the tensor array is NULL");
    for (size_t i = 0; i < count; i++) {
        if (tensors[i] == NULL)
            return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "%s %zu is NULL", name, i);
        if (clcnn_tensor_context(tensors[i]) != dist->ctx)
            return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                    "%s %zu belongs to another context", name, i);
    }
    return CLCNN_OK;
}

/* Every rank must hold as many tensors of the same sizes as the root. */
static clcnn_status check_broadcast_sizes(clcnn_dist *dist, size_t root, size_t count,
                                          clcnn_tensor *const *tensors) {
    clcnn_status status = clcnn__dist_gather_reserve(dist, 2);
    if (status != CLCNN_OK)
        return status;
    double elements = 0.0;
    for (size_t i = 0; i < count; i++)
        elements += (double)clcnn_tensor_numel(tensors[i]);
    dist->gather_send[0] = (double)count;
    dist->gather_send[1] = elements;
    status = clcnn__dist_gather(dist, "the exchange of tensor sizes", 2);
    const double *at_root = &dist->gather_recv[2 * root];
    for (int r = 0; r < dist->size && status == CLCNN_OK; r++) {
        const double *theirs = &dist->gather_recv[2 * r];
        if (theirs[0] != at_root[0] || theirs[1] != at_root[1])
            status = clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE,
                                      "rank %d holds %.0f tensors of %.0f elements, the root "
                                      "(rank %zu) %.0f of %.0f",
                                      r, theirs[0], theirs[1], root, at_root[0], at_root[1]);
    }
    return status;
}

static clcnn_status reserve_transfer(clcnn_dist *dist, size_t count) {
    if (count <= dist->transfer_capacity)
        return CLCNN_OK;
    float *memory = malloc(count * sizeof *memory);
    if (memory == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                "out of host memory for %zu floats", count);
    free(dist->transfer);
    dist->transfer = memory;
    dist->transfer_capacity = count;
    return CLCNN_OK;
}

static clcnn_status broadcast_one(clcnn_dist *dist, size_t root, clcnn_tensor *tensor,
                                  size_t index) {
    size_t n = clcnn_tensor_numel(tensor);
    if (n > (size_t)INT32_MAX)
        return clcnn__dist_fail(dist, CLCNN_ERROR_SIZE_OVERFLOW, "tensor %zu: %zu elements", index,
                                n);
    clcnn_status status = reserve_transfer(dist, n);
    if (status == CLCNN_OK && (size_t)dist->rank == root) {
        status = clcnn_tensor_read(tensor, 0, dist->transfer, n);
        if (status != CLCNN_OK)
            return clcnn__dist_fail_core(dist, status, "reading a tensor");
    }
    if (status != CLCNN_OK)
        return status;
    MPI_Request request = MPI_REQUEST_NULL;
    int code = MPI_Ibcast(dist->transfer, (int)n, MPI_FLOAT, (int)root, dist->comm, &request);
    if (code != MPI_SUCCESS)
        return clcnn__dist_fail_mpi(dist, code, "MPI_Ibcast");
    status = clcnn__dist_wait_all(dist, "the broadcast", 1, &request);
    if (status == CLCNN_OK && (size_t)dist->rank != root) {
        status = clcnn_tensor_write(tensor, 0, dist->transfer, n);
        if (status != CLCNN_OK)
            return clcnn__dist_fail_core(dist, status, "writing a tensor");
    }
    return status;
}

static clcnn_status broadcast(clcnn_dist *dist, size_t root, size_t count,
                              clcnn_tensor *const *tensors) {
    clcnn_status status = CLCNN_OK;
    if (root >= (size_t)dist->size)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "root %zu is not a rank (there are %d)", root, dist->size);
    status = check_tensor_list(dist, count, tensors, "tensor");
    if (status != CLCNN_OK)
        return status;
    status = check_broadcast_sizes(dist, root, count, tensors);
    for (size_t i = 0; i < count && status == CLCNN_OK; i++)
        status = broadcast_one(dist, root, tensors[i], i);
    if (status != CLCNN_OK && status != CLCNN_ERROR_INVALID_SHAPE && !dist->broken) {
        /* A rank that fails half-way leaves the others waiting: tell them. */
        clcnn__dist_tell_peers(dist, status, dist->error);
        clcnn__dist_break(dist);
    }
    return status;
}

clcnn_status clcnn_dist_broadcast(clcnn_dist *dist, size_t root, size_t count,
                                  clcnn_tensor *const *tensors) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    return status != CLCNN_OK ? status : broadcast(dist, root, count, tensors);
}

/* The running statistics the attached network's batch-norm layers have
 * trained (recorded by dist_batchnorm.c's replacement forward). */
clcnn_status clcnn_dist_broadcast_running_stats(clcnn_dist *dist, size_t root) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    if (status == CLCNN_OK && root >= (size_t)dist->size)
        status = clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                  "root %zu is not a rank (there are %d)", root, dist->size);
    if (status != CLCNN_OK || dist->bn_state_count == 0)
        return status; /* no layers: alike on every rank (the same network) */
    size_t count = 2 * dist->bn_state_count;
    clcnn_tensor **tensors = malloc(count * sizeof *tensors);
    if (tensors == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t i = 0; i < dist->bn_state_count; i++) {
        tensors[2 * i] = dist->bn_states[i]->running_mean;
        tensors[2 * i + 1] = dist->bn_states[i]->running_var;
    }
    status = broadcast(dist, root, count, tensors);
    free(tensors);
    return status;
}
