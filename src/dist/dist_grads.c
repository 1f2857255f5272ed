/* Gradient averaging in buckets. The registered gradients, last registered
 * first, form one sequence of floats cut into buckets of bucket_floats; a
 * bucket is a run of pieces (parts of tensors) staged in one host array.
 * Reads are enqueued bucket by bucket, by an attached network's gradient
 * callback as the backward pass finishes them (which also starts the
 * all-reduces of the buckets read a layer before), and by grad_begin for
 * the rest; grad_end waits for the other ranks to arrive, then, bucket
 * after bucket in the fixed order, completes the reductions in flight,
 * waits for the next bucket's reads and starts its MPI_Iallreduce; each
 * finished bucket is divided by the rank count and written back through
 * the upload queue. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist_internal.h"

/* ----------------------------------------------------------------- layout */

static void release_reads(clcnn__dist_piece *pieces, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (pieces[i].read != NULL) {
            clcnn_event_wait(pieces[i].read); /* the device must not write freed memory */
            clcnn_event_destroy(pieces[i].read);
            pieces[i].read = NULL;
        }
    }
}

/* Frees the staging buffer, pieces and buckets, and takes these in their
 * place. */
static void set_layout(clcnn_dist *dist, float *staging, clcnn__dist_piece *pieces,
                       size_t piece_count, clcnn__dist_bucket *buckets, size_t bucket_count) {
    free(dist->staging);
    free(dist->pieces);
    free(dist->buckets);
    dist->staging = staging;
    dist->pieces = pieces;
    dist->buckets = buckets;
    dist->piece_count = piece_count;
    dist->bucket_count = bucket_count;
}

void clcnn__dist_grads_release(clcnn_dist *dist) {
    release_reads(dist->pieces, dist->piece_count);
    if (dist->orphaned)
        dist->staging = NULL; /* not freed: an unfinished all-reduce may still write it */
    set_layout(dist, NULL, NULL, 0, NULL, 0);
    free(dist->grads);
    dist->grads = NULL;
    dist->grad_count = dist->grad_capacity = 0;
}

/* Pieces and buckets: reverse registration order, cut every bucket_floats. */
static size_t count_pieces(const clcnn_dist *dist) {
    size_t pieces = 0, filled = 0;
    for (size_t g = dist->grad_count; g-- > 0;) {
        size_t left = clcnn_tensor_numel(dist->grads[g]);
        while (left > 0) {
            size_t take = dist->bucket_floats - filled < left ? dist->bucket_floats - filled : left;
            pieces++;
            left -= take;
            filled = (filled + take) % dist->bucket_floats;
        }
    }
    return pieces;
}

static void place_pieces(clcnn_dist *dist) {
    size_t piece = 0, position = 0;
    for (size_t g = dist->grad_count; g-- > 0;) {
        size_t numel = clcnn_tensor_numel(dist->grads[g]), offset = 0;
        while (offset < numel) {
            size_t room = dist->bucket_floats - position % dist->bucket_floats;
            size_t take = room < numel - offset ? room : numel - offset;
            dist->pieces[piece++] = (clcnn__dist_piece){dist->grads[g],           g,   offset, take,
                                                        dist->staging + position, NULL};
            offset += take;
            position += take;
        }
    }
}

static void group_buckets(clcnn_dist *dist) {
    size_t bucket = 0, filled = 0;
    for (size_t i = 0; i < dist->piece_count; i++) {
        clcnn__dist_bucket *b = &dist->buckets[bucket];
        if (b->piece_count == 0) {
            b->first_piece = i;
            b->host = dist->pieces[i].host;
            b->request = MPI_REQUEST_NULL;
        }
        b->piece_count++;
        b->count += dist->pieces[i].count;
        filled += dist->pieces[i].count;
        if (filled == dist->bucket_floats) {
            bucket++;
            filled = 0;
        }
    }
}

static clcnn_status build_layout(clcnn_dist *dist) {
    size_t total = 0;
    for (size_t g = 0; g < dist->grad_count; g++)
        total += clcnn_tensor_numel(dist->grads[g]);
    size_t pieces = count_pieces(dist);
    size_t buckets = (total + dist->bucket_floats - 1) / dist->bucket_floats;
    float *staging = dist->size > 1 ? malloc(total * sizeof *staging) : NULL;
    clcnn__dist_piece *piece_array = calloc(pieces, sizeof *piece_array);
    clcnn__dist_bucket *bucket_array = calloc(buckets, sizeof *bucket_array);
    if ((dist->size > 1 && staging == NULL) || piece_array == NULL || bucket_array == NULL) {
        free(staging);
        free(piece_array);
        free(bucket_array);
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                "out of host memory for %zu gradient floats", total);
    }
    set_layout(dist, staging, piece_array, pieces, bucket_array, buckets);
    dist->total_floats = total;
    if (dist->size > 1) {
        place_pieces(dist);
        group_buckets(dist);
    }
    return CLCNN_OK;
}

/* ----------------------------------------------------------- registration */

/* A 52-bit digest of the gradients' sizes, exact in a double. */
static double sizes_digest(const clcnn_dist *dist) {
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    for (size_t g = 0; g < dist->grad_count; g++) {
        hash ^= (uint64_t)clcnn_tensor_numel(dist->grads[g]);
        hash *= UINT64_C(0x100000001b3);
    }
    return (double)(hash >> 12);
}

/* Every rank must have registered the same sizes in the same order. */
static clcnn_status check_same_layout(clcnn_dist *dist) {
    clcnn_status status = clcnn__dist_gather_reserve(dist, 3);
    if (status != CLCNN_OK)
        return status;
    double *mine = dist->gather_send;
    mine[0] = (double)dist->grad_count;
    mine[1] = (double)dist->total_floats;
    mine[2] = sizes_digest(dist);
    status = clcnn__dist_gather(dist, "the exchange of gradient sizes", 3);
    for (int r = 0; r < dist->size && status == CLCNN_OK; r++) {
        const double *theirs = &dist->gather_recv[3 * r];
        if (theirs[0] != mine[0] || theirs[1] != mine[1] || theirs[2] != mine[2])
            status = clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_SHAPE,
                                      "rank %d registered %.0f gradients of %.0f floats, rank %d "
                                      "%.0f of %.0f%s: every rank must register the same sizes",
                                      r, theirs[0], theirs[1], dist->rank, mine[0], mine[1],
                                      theirs[1] == mine[1] ? " (in another order)" : "");
    }
    return status;
}

static clcnn_status check_new_gradients(clcnn_dist *dist, size_t count,
                                        clcnn_tensor *const *grads) {
    if (dist->exchanging)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "a gradient exchange is in progress (clcnn_dist_grad_end first)");
    if (count == 0 || grads == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "%s",
                                count == 0 ? "count is 0" : "grads is NULL");
    for (size_t i = 0; i < count; i++) {
        if (grads[i] == NULL)
            return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "gradient %zu is NULL", i);
        if (clcnn_tensor_context(grads[i]) != dist->ctx)
            return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                    "gradient %zu belongs to another context", i);
        for (size_t j = 0; j < dist->grad_count + i; j++)
            if ((j < dist->grad_count ? dist->grads[j] : grads[j - dist->grad_count]) == grads[i])
                return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                        "gradient %zu is registered twice", i);
    }
    return CLCNN_OK;
}

static clcnn_status append_gradients(clcnn_dist *dist, size_t count, clcnn_tensor *const *grads) {
    size_t needed = dist->grad_count + count;
    if (needed > dist->grad_capacity) {
        size_t capacity = needed > 2 * dist->grad_capacity ? needed : 2 * dist->grad_capacity;
        clcnn_tensor **array = realloc(dist->grads, capacity * sizeof *array);
        if (array == NULL)
            return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                    "out of host memory for %zu gradients", needed);
        dist->grads = array;
        dist->grad_capacity = capacity;
    }
    memcpy(dist->grads + dist->grad_count, grads, count * sizeof *grads);
    dist->grad_count = needed;
    return CLCNN_OK;
}

/* Appends, lays the buckets out again and checks the ranks agree; on a
 * disagreement every rank goes back to what it had. */
static clcnn_status register_gradients(clcnn_dist *dist, size_t count, clcnn_tensor *const *grads) {
    clcnn_status status = check_new_gradients(dist, count, grads);
    if (status != CLCNN_OK)
        return status;
    size_t before = dist->grad_count;
    status = append_gradients(dist, count, grads);
    if (status == CLCNN_OK)
        status = build_layout(dist);
    if (status != CLCNN_OK) { /* out of memory here: the others wait at the check */
        clcnn__dist_tell_peers(dist, status, dist->error);
        clcnn__dist_break(dist);
        return status;
    }
    status = check_same_layout(dist);
    if (status == CLCNN_ERROR_INVALID_SHAPE) { /* every rank saw the mismatch */
        dist->grad_count = before;
        if (build_layout(dist) != CLCNN_OK)
            clcnn__dist_break(dist);
    } else if (status != CLCNN_OK && !dist->broken) {
        clcnn__dist_tell_peers(dist, status, dist->error);
        clcnn__dist_break(dist);
    }
    return status;
}

clcnn_status clcnn_dist_add_gradients(clcnn_dist *dist, size_t count, clcnn_tensor *const *grads) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    return status != CLCNN_OK ? status : register_gradients(dist, count, grads);
}

clcnn_status clcnn_dist_attach_net(clcnn_dist *dist, clcnn_net *net) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    if (status != CLCNN_OK)
        return status;
    if (net == NULL || dist->net != NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT, "%s",
                                net == NULL ? "net is NULL" : "a network is already attached");
    size_t count = clcnn_net_parameter_count(net);
    if (count == 0)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "the network has no trainable parameters");
    clcnn_tensor **grads = malloc(count * sizeof *grads);
    if (grads == NULL)
        return clcnn__dist_fail(dist, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    for (size_t i = 0; i < count && status == CLCNN_OK; i++) {
        clcnn_net_tensor parameter;
        status = clcnn_net_parameter(net, i, &parameter);
        if (status != CLCNN_OK)
            clcnn__dist_fail_core(dist, status, "listing the parameters");
        grads[i] = parameter.grad;
    }
    size_t first = dist->grad_count;
    if (status == CLCNN_OK)
        status = register_gradients(dist, count, grads);
    free(grads);
    if (status != CLCNN_OK)
        return status;
    dist->net = net;
    dist->net_first_grad = first;
    clcnn_net_set_gradient_callback(net, clcnn__dist_net_gradients_final, dist);
    /* Without sync_batchnorm the dist functions are the local ops; through
     * them the dist learns the layers' running statistics. */
    clcnn_net_batchnorm_ops ops = clcnn__dist_net_batchnorm_ops(dist);
    clcnn_net_set_batchnorm_ops(net, &ops);
    return CLCNN_OK;
}

/* --------------------------------------------------------------- exchange */

/* A local failure in the middle of an exchange: the device must stop
 * writing the staging memory, and the other ranks must not wait for this
 * one. */
static clcnn_status fail_exchange(clcnn_dist *dist, clcnn_status status) {
    release_reads(dist->pieces, dist->piece_count);
    if (!dist->broken && status != CLCNN_ERROR_PEER_FAILED)
        clcnn__dist_tell_peers(dist, status, dist->error); /* not for a peer's own failure */
    clcnn__dist_break(dist);
    for (size_t k = 0; k < dist->bucket_count; k++)
        if (dist->buckets[k].reducing)
            dist->orphaned = 1;
    return status;
}

/* Enqueues the reads of buckets [dist->buckets_read, end). */
static clcnn_status read_buckets(clcnn_dist *dist, size_t end) {
    for (; dist->buckets_read < end; dist->buckets_read++) {
        const clcnn__dist_bucket *bucket = &dist->buckets[dist->buckets_read];
        for (size_t i = 0; i < bucket->piece_count; i++) {
            clcnn__dist_piece *p = &dist->pieces[bucket->first_piece + i];
            clcnn_status status =
                clcnn_tensor_read_async(p->grad, p->offset, p->host, p->count, &p->read);
            if (status != CLCNN_OK)
                return clcnn__dist_fail_core(dist, status, "reading a gradient");
        }
    }
    return CLCNN_OK;
}

/* Tells the other ranks this one has arrived at the next exchange. */
static clcnn_status start_exchange(clcnn_dist *dist) {
    dist->exchanging = 1;
    dist->buckets_read = dist->buckets_started = 0;
    if (dist->size == 1)
        return CLCNN_OK; /* the average of one rank is its own gradient */
    dist->step++;
    clcnn_status status = clcnn__dist_peers_flush(dist);
    return status == CLCNN_OK ? clcnn__dist_peers_send(dist, CLCNN_OK, NULL) : status;
}

static clcnn_status grad_begin(clcnn_dist *dist) {
    if (dist->grad_count == 0)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "no gradients registered (clcnn_dist_attach_net)");
    if (dist->exchanging && !dist->started_by_net)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "an exchange is already in progress (clcnn_dist_grad_end)");
    clcnn_status status = dist->exchanging ? CLCNN_OK : start_exchange(dist);
    dist->started_by_net = 0; /* what is left to read is read now */
    if (status == CLCNN_OK && dist->size > 1)
        status = read_buckets(dist, dist->bucket_count);
    return status == CLCNN_OK ? CLCNN_OK : fail_exchange(dist, status);
}

/* The bucket's mean, written back; the context's queue waits for it. */
static clcnn_status write_back(clcnn_dist *dist, clcnn__dist_bucket *bucket) {
    float ranks = (float)dist->size;
    for (size_t i = 0; i < bucket->count; i++)
        bucket->host[i] /= ranks;
    for (size_t i = 0; i < bucket->piece_count; i++) {
        clcnn__dist_piece *p = &dist->pieces[bucket->first_piece + i];
        clcnn_event *written = NULL;
        clcnn_status status =
            clcnn_tensor_upload_async(p->grad, p->offset, p->host, p->count, NULL, &written);
        if (status == CLCNN_OK) {
            status = clcnn_context_wait_event(dist->ctx, written);
            clcnn_event_destroy(written);
        }
        if (status != CLCNN_OK)
            return clcnn__dist_fail_core(dist, status, "writing an averaged gradient");
    }
    return CLCNN_OK;
}

/* Finishes every reduction that has completed; *pending counts the others. */
static clcnn_status progress(clcnn_dist *dist, size_t *pending) {
    *pending = 0;
    for (size_t k = 0; k < dist->bucket_count; k++) {
        clcnn__dist_bucket *bucket = &dist->buckets[k];
        if (!bucket->reducing)
            continue;
        int done = 0;
        int code = MPI_Test(&bucket->request, &done, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS)
            return clcnn__dist_fail_mpi(dist, code, "MPI_Iallreduce");
        if (!done) {
            (*pending)++;
            continue;
        }
        bucket->reducing = 0;
        clcnn_status status = write_back(dist, bucket);
        if (status != CLCNN_OK)
            return status;
    }
    return clcnn__dist_peers_poll(dist);
}

/* Waits for the next bucket's reads, then starts its reduction. */
static clcnn_status start_next_bucket(clcnn_dist *dist) {
    clcnn__dist_bucket *bucket = &dist->buckets[dist->buckets_started];
    size_t pending = 0;
    for (size_t i = 0; i < bucket->piece_count; i++) {
        clcnn__dist_piece *p = &dist->pieces[bucket->first_piece + i];
        clcnn_status status = clcnn_event_wait(p->read);
        clcnn_event_destroy(p->read);
        p->read = NULL;
        if (status != CLCNN_OK)
            return clcnn__dist_fail_core(dist, status, "reading a gradient");
    }
    int code = MPI_Iallreduce(MPI_IN_PLACE, bucket->host, (int)bucket->count, MPI_FLOAT, MPI_SUM,
                              dist->comm, &bucket->request);
    if (code != MPI_SUCCESS)
        return clcnn__dist_fail_mpi(dist, code, "MPI_Iallreduce");
    bucket->reducing = 1;
    dist->buckets_started++;
    return progress(dist, &pending);
}

/* Completes every reduction in flight, watching for failures of the other
 * ranks, for at most the timeout. */
static clcnn_status finish_buckets(clcnn_dist *dist) {
    double deadline = clcnn__dist_now() + dist->timeout_seconds;
    for (;;) {
        size_t pending = 0;
        clcnn_status status = progress(dist, &pending);
        if (status != CLCNN_OK || pending == 0)
            return status;
        if (clcnn__dist_now() > deadline) {
            char silent[256];
            clcnn__dist_roll_call(dist, silent, sizeof silent);
            return clcnn__dist_fail(dist, CLCNN_ERROR_PEER_FAILED,
                                    "%zu gradient all-reduces did not complete within %g s: a "
                                    "rank failed, hangs or was killed%s",
                                    pending, dist->timeout_seconds, silent);
        }
        struct timespec pause = {0, 20000L};
        nanosleep(&pause, NULL);
    }
}

/* Bucket after bucket in the fixed order: the reductions in flight are
 * completed (MPI progresses them only inside MPI calls) before this rank
 * blocks on the device for the next bucket's reads, so that they run while
 * the device computes. */
static clcnn_status exchange(clcnn_dist *dist) {
    clcnn_status status = clcnn__dist_peers_wait_step(dist, dist->step);
    while (status == CLCNN_OK && dist->buckets_started < dist->bucket_count) {
        status = finish_buckets(dist);
        if (status == CLCNN_OK)
            status = start_next_bucket(dist);
    }
    if (status == CLCNN_OK)
        status = finish_buckets(dist);
    if (status == CLCNN_OK)
        status = clcnn__dist_peers_flush(dist);
    return status;
}

/* ------------------------------------------------- the network's callback */

/* Buckets whose every piece is a gradient from registration index `first`
 * on: pieces run in reverse registration order, so a prefix. */
static size_t final_buckets(const clcnn_dist *dist, size_t first) {
    size_t k = dist->buckets_read;
    while (k < dist->bucket_count) {
        const clcnn__dist_bucket *b = &dist->buckets[k];
        if (dist->pieces[b->first_piece + b->piece_count - 1].grad_index < first)
            break;
        k++;
    }
    return k;
}

/* Called by clcnn_net_backward after each layer's parameter gradients: the
 * first call of a step starts the exchange; each starts the all-reduces of
 * the buckets whose reads an earlier call enqueued (their gradients were
 * final a layer ago, so the wait is short) and enqueues the reads of the
 * buckets that became final. Which buckets start where depends only on the
 * network, so every rank makes the same MPI calls in the same order. */
static clcnn_status net_gradients_final(clcnn_dist *dist, size_t first_final) {
    if (dist->exchanging && (!dist->started_by_net || first_final >= dist->last_first_final))
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "a backward pass began before clcnn_dist_grad_end ended the "
                                "previous exchange (to accumulate several backward passes, "
                                "remove the callback: clcnn_net_set_gradient_callback(net, "
                                "NULL, NULL))");
    clcnn_status status = CLCNN_OK;
    if (!dist->exchanging) {
        status = start_exchange(dist);
        dist->started_by_net = 1;
    }
    dist->last_first_final = first_final;
    if (dist->size == 1 || status != CLCNN_OK)
        return status;
    size_t already_read = dist->buckets_read;
    while (status == CLCNN_OK && dist->buckets_started < already_read)
        status = start_next_bucket(dist);
    if (status == CLCNN_OK)
        status = read_buckets(dist, final_buckets(dist, dist->net_first_grad + first_final));
    return status;
}

clcnn_status clcnn__dist_net_gradients_final(void *user, size_t first_final) {
    clcnn_dist *dist = user;
    clcnn_status status = clcnn__dist_enter(dist, "clcnn_net_backward (clcnn_dist's callback)");
    if (status == CLCNN_OK)
        status = net_gradients_final(dist, first_final);
    return status == CLCNN_OK || status == CLCNN_ERROR_INVALID_ARGUMENT
               ? status
               : fail_exchange(dist, status);
}

static clcnn_status grad_end(clcnn_dist *dist) {
    if (!dist->exchanging)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "no exchange in progress (clcnn_dist_grad_begin first)");
    clcnn_status status = CLCNN_OK;
    if (dist->started_by_net) /* grad_end without grad_begin: read the rest */
        status = grad_begin(dist);
    dist->exchanging = 0;
    if (dist->size == 1 || status != CLCNN_OK)
        return status;
    status = exchange(dist);
    return status == CLCNN_OK ? CLCNN_OK : fail_exchange(dist, status);
}

clcnn_status clcnn_dist_grad_begin(clcnn_dist *dist) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    return status != CLCNN_OK ? status : grad_begin(dist);
}

clcnn_status clcnn_dist_grad_end(clcnn_dist *dist) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    return status != CLCNN_OK ? status : grad_end(dist);
}

clcnn_status clcnn_dist_allreduce_grads(clcnn_dist *dist) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__dist_enter(dist, __func__);
    if (status == CLCNN_OK)
        status = grad_begin(dist);
    return status != CLCNN_OK ? status : grad_end(dist);
}
