/* What the ranks tell each other outside the collectives: "I reached the
 * gradient exchange of step s" and "I fail, because ...". Each rank keeps
 * one receive posted from every peer, so a report is seen by whatever wait
 * is running (dist.c's clcnn__dist_wait_all polls here) and a peer that
 * never arrives can be named. Point to point on the private communicator:
 * O(ranks) small messages per rank and step. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dist_internal.h"

#define TOKEN_TAG 7013

static clcnn_status post_receive(clcnn_dist *dist, int peer) {
    int code = MPI_Irecv(&dist->peer_tokens[peer], (int)sizeof(clcnn__dist_token), MPI_BYTE, peer,
                         TOKEN_TAG, dist->comm, &dist->peer_requests[peer]);
    return code == MPI_SUCCESS ? CLCNN_OK : clcnn__dist_fail_mpi(dist, code, "MPI_Irecv");
}

clcnn_status clcnn__dist_peers_start(clcnn_dist *dist) {
    clcnn_status status = CLCNN_OK;
    for (int peer = 0; peer < dist->size && status == CLCNN_OK; peer++)
        if (peer != dist->rank)
            status = post_receive(dist, peer);
    return status;
}

/* A peer's failure report, recorded as this call's failure. */
static clcnn_status peer_failed(clcnn_dist *dist, int peer) {
    clcnn__dist_token *token = &dist->peer_tokens[peer];
    token->message[CLCNN__DIST_TOKEN_MESSAGE - 1] = '\0';
    clcnn__dist_fail(dist, CLCNN_ERROR_PEER_FAILED, "rank %d failed (%s)%s%s", peer,
                     clcnn_status_name((clcnn_status)token->status),
                     token->message[0] != '\0' ? ": " : "", token->message);
    clcnn__dist_break(dist);
    return CLCNN_ERROR_PEER_FAILED;
}

/* Sends a token that nothing waits for (a roll call, an answer). Its
 * buffer is the dist's and stays valid: after a roll call the dist is
 * broken and kept (orphaned). */
static void send_and_forget(clcnn_dist *dist, clcnn__dist_token *token, int peer) {
    MPI_Request request = MPI_REQUEST_NULL;
    if (MPI_Isend(token, (int)sizeof *token, MPI_BYTE, peer, TOKEN_TAG, dist->comm, &request) ==
        MPI_SUCCESS)
        MPI_Request_free(&request);
    dist->orphaned = 1;
}

/* A roll call or an answer: handled here, not a report. */
static void roll_call_token(clcnn_dist *dist, int peer) {
    const clcnn__dist_token *token = &dist->peer_tokens[peer];
    if (token->kind == CLCNN__TOKEN_HERE) {
        dist->answered[peer] = token->step;
        return;
    }
    clcnn__dist_token *answer = &dist->answer_tokens[peer];
    memset(answer, 0, sizeof *answer);
    answer->kind = CLCNN__TOKEN_HERE;
    answer->step = token->step;
    answer->rank = dist->rank;
    send_and_forget(dist, answer, peer);
}

/* Takes every token that peer has sent so far. */
static clcnn_status poll_peer(clcnn_dist *dist, int peer) {
    while (dist->peer_requests[peer] != MPI_REQUEST_NULL) {
        int arrived = 0;
        int code = MPI_Test(&dist->peer_requests[peer], &arrived, MPI_STATUS_IGNORE);
        if (code != MPI_SUCCESS)
            return clcnn__dist_fail_mpi(dist, code, "MPI_Test");
        if (!arrived)
            return CLCNN_OK;
        if (dist->peer_tokens[peer].kind != CLCNN__TOKEN_REPORT) {
            roll_call_token(dist, peer);
            clcnn_status status = post_receive(dist, peer);
            if (status != CLCNN_OK)
                return status;
            continue;
        }
        if (dist->peer_tokens[peer].status != CLCNN_OK)
            return peer_failed(dist, peer); /* the receive is not posted again */
        if (dist->peer_tokens[peer].step > dist->peer_step[peer])
            dist->peer_step[peer] = dist->peer_tokens[peer].step;
        clcnn_status status = post_receive(dist, peer);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

clcnn_status clcnn__dist_peers_poll(clcnn_dist *dist) {
    for (int peer = 0; peer < dist->size; peer++) {
        clcnn_status status = poll_peer(dist, peer);
        if (status != CLCNN_OK)
            return status;
    }
    return CLCNN_OK;
}

clcnn_status clcnn__dist_peers_send(clcnn_dist *dist, clcnn_status status, const char *message) {
    clcnn__dist_token *token = &dist->own_token;
    memset(token, 0, sizeof *token);
    token->step = dist->step;
    token->status = (int32_t)status;
    token->rank = dist->rank;
    snprintf(token->message, sizeof token->message, "%s", message != NULL ? message : "");
    for (int peer = 0; peer < dist->size; peer++) {
        if (peer == dist->rank)
            continue;
        int code = MPI_Isend(token, (int)sizeof *token, MPI_BYTE, peer, TOKEN_TAG, dist->comm,
                             &dist->send_requests[peer]);
        if (code != MPI_SUCCESS)
            return clcnn__dist_fail_mpi(dist, code, "MPI_Isend");
    }
    return CLCNN_OK;
}

clcnn_status clcnn__dist_peers_flush(clcnn_dist *dist) {
    return clcnn__dist_wait_all(dist, "sending this rank's report", dist->size,
                                dist->send_requests);
}

/* "ranks 1, 3" or "rank 2": the peers that have not reached `step`. */
static void late_ranks(const clcnn_dist *dist, uint64_t step, char *text, size_t size) {
    size_t late = 0, used = 0;
    text[0] = '\0';
    for (int peer = 0; peer < dist->size; peer++)
        late += peer != dist->rank && dist->peer_step[peer] < step;
    used += (size_t)snprintf(text, size, "%s", late == 1 ? "rank" : "ranks");
    const char *separator = " ";
    for (int peer = 0; peer < dist->size && used < size; peer++) {
        if (peer == dist->rank || dist->peer_step[peer] >= step)
            continue;
        used += (size_t)snprintf(text + used, size - used, "%s%d", separator, peer);
        separator = ", ";
    }
}

static int every_peer_reached(const clcnn_dist *dist, uint64_t step) {
    for (int peer = 0; peer < dist->size; peer++)
        if (peer != dist->rank && dist->peer_step[peer] < step)
            return 0;
    return 1;
}

clcnn_status clcnn__dist_peers_wait_step(clcnn_dist *dist, uint64_t step) {
    double deadline = clcnn__dist_now() + dist->timeout_seconds;
    for (;;) {
        clcnn_status status = clcnn__dist_peers_poll(dist);
        if (status != CLCNN_OK)
            return status;
        if (every_peer_reached(dist, step))
            return CLCNN_OK;
        if (clcnn__dist_now() > deadline) {
            char ranks[256];
            late_ranks(dist, step, ranks, sizeof ranks);
            clcnn__dist_fail(dist, CLCNN_ERROR_PEER_FAILED,
                             "%s did not reach the gradient exchange of step %llu within %g s "
                             "(failed, hung or killed)",
                             ranks, (unsigned long long)step, dist->timeout_seconds);
            clcnn__dist_break(dist);
            return CLCNN_ERROR_PEER_FAILED;
        }
        struct timespec pause = {0, 20000L};
        nanosleep(&pause, NULL);
    }
}

/* How long a roll call waits for the answers. */
#define ROLL_CALL_SECONDS 3.0

void clcnn__dist_roll_call(clcnn_dist *dist, char *text, size_t size) {
    text[0] = '\0';
    if (dist->size == 1 || dist->answered == NULL)
        return;
    dist->roll_call++;
    memset(&dist->roll_token, 0, sizeof dist->roll_token);
    dist->roll_token.kind = CLCNN__TOKEN_ROLL_CALL;
    dist->roll_token.step = dist->roll_call;
    dist->roll_token.rank = dist->rank;
    for (int peer = 0; peer < dist->size; peer++)
        if (peer != dist->rank)
            send_and_forget(dist, &dist->roll_token, peer);
    double deadline = clcnn__dist_now() + ROLL_CALL_SECONDS;
    int silent = 0;
    do {
        for (int peer = 0; peer < dist->size; peer++)
            if (peer != dist->rank)
                poll_peer(dist, peer); /* a failure report now changes nothing */
        silent = 0;
        for (int peer = 0; peer < dist->size; peer++)
            silent += peer != dist->rank && dist->answered[peer] != dist->roll_call;
        struct timespec pause = {0, 1000000L};
        nanosleep(&pause, NULL);
    } while (silent > 0 && clcnn__dist_now() < deadline);
    if (silent == 0)
        return;
    size_t used = (size_t)snprintf(text, size, " (%s", silent == 1 ? "rank" : "ranks");
    const char *separator = " ";
    for (int peer = 0; peer < dist->size && used < size; peer++) {
        if (peer == dist->rank || dist->answered[peer] == dist->roll_call)
            continue;
        used += (size_t)snprintf(text + used, size - used, "%s%d", separator, peer);
        separator = ", ";
    }
    if (used < size)
        snprintf(text + used, size - used, " did not answer within %g s: hung or killed)",
                 ROLL_CALL_SECONDS);
}

/* Cancels a request and lets it finish; 0 when it would not. */
static int cancel(MPI_Request *request) {
    if (*request == MPI_REQUEST_NULL)
        return 1;
    int done = 0;
    if (MPI_Test(request, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done)
        return 1;
    MPI_Cancel(request);
    for (int attempt = 0; attempt < 1000; attempt++) {
        if (MPI_Test(request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || done)
            return done;
        struct timespec pause = {0, 1000000L};
        nanosleep(&pause, NULL);
    }
    return 0;
}

void clcnn__dist_peers_stop(clcnn_dist *dist) {
    if (dist->peer_requests == NULL || dist->send_requests == NULL)
        return;
    for (int peer = 0; peer < dist->size; peer++) {
        if (!cancel(&dist->peer_requests[peer]))
            dist->orphaned = 1;
        if (!cancel(&dist->send_requests[peer]))
            dist->orphaned = 1;
    }
}

clcnn_status clcnn_dist_report_failure(clcnn_dist *dist, clcnn_status status, const char *message) {
    if (dist == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    dist->function = __func__;
    if (status == CLCNN_OK)
        return clcnn__dist_fail(dist, CLCNN_ERROR_INVALID_ARGUMENT,
                                "status is CLCNN_OK, not a failure");
    if (dist->broken)
        return CLCNN_OK; /* the others already know, or learn it from their timeout */
    clcnn_status sent = clcnn__dist_tell_peers(dist, status, message);
    clcnn__dist_fail(dist, status, "this rank reported a failure: %s",
                     message != NULL ? message : "");
    clcnn__dist_break(dist);
    return sent;
}

clcnn_status clcnn__dist_tell_peers(clcnn_dist *dist, clcnn_status status, const char *message) {
    if (dist->size == 1)
        return CLCNN_OK;
    char copy[CLCNN__DIST_TOKEN_MESSAGE];
    snprintf(copy, sizeof copy, "%s", message != NULL ? message : "");
    clcnn_status result = clcnn__dist_peers_flush(dist); /* the previous token's sends */
    if (result == CLCNN_OK)
        result = clcnn__dist_peers_send(dist, status, copy);
    if (result == CLCNN_OK)
        result = clcnn__dist_peers_flush(dist);
    return result;
}
