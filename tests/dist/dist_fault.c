/* The faulty job of test_dist_faults.sh, run under mpirun with 2 ranks:
 *
 *   dist_fault FAULT STEP TIMEOUT   steps of gradient averaging; at STEP,
 *       rank 1 fails as FAULT says: `report` (clcnn_dist_report_failure,
 *       then MPI_Finalize and exit 1), `exit` (exit 1 at once, no
 *       finalize), `kill` (SIGKILL to itself), `hang` (sleeps 300 s). Rank
 *       0 prints "dist_fault: rank 0 stopped after S s: STATUS: MESSAGE"
 *       when its exchange fails (TIMEOUT seconds: the clcnn_dist's), then
 *       ends the job as clcnn-train would: MPI_Finalize when the peer
 *       reported its failure, MPI_Abort otherwise.
 *   dist_fault save PATH PID_FILE   rank 0 writes its process id to
 *       PID_FILE and saves checkpoints to PATH over and over, each holding
 *       its number in every weight and in its metadata, until it is killed
 *       (by the test, in the middle of a write); rank 1 waits.
 *   dist_fault check PATH           (one process, no mpirun) exits 0 when
 *       PATH is a whole checkpoint: it loads, and every weight holds the
 *       number its metadata names.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clcnn.h"
#include "clcnn/dist.h"

#define GRADIENT_FLOATS 4096
#define STEP_PAUSE_NS 50000000L
#define SAVE_FEATURES 1024

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static clcnn_context *make_context(void) {
    char error[512] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_context *ctx = NULL;
    if (clcnn_context_create(&options, &ctx) != CLCNN_OK) {
        fprintf(stderr, "dist_fault: no context: %s\n", error);
        exit(3);
    }
    return ctx;
}

static void check(clcnn_status status, const char *what, const clcnn_context *ctx) {
    if (status != CLCNN_OK) {
        fprintf(stderr, "dist_fault: %s: %s: %s\n", what, clcnn_status_name(status),
                ctx != NULL ? clcnn_context_last_error(ctx) : "");
        exit(3);
    }
}

/* Rank 1's failure at the chosen step. */
static void fail_now(const char *fault, int step, clcnn_dist *dist) {
    fprintf(stderr, "dist_fault: rank 1 fails (%s) at step %d\n", fault, step);
    if (strcmp(fault, "report") == 0) {
        char message[96];
        snprintf(message, sizeof message, "simulated failure at step %d", step);
        clcnn_dist_report_failure(dist, CLCNN_ERROR_IO, message);
        clcnn_dist_destroy(dist);
        MPI_Finalize();
        exit(1);
    }
    if (strcmp(fault, "exit") == 0)
        _exit(1);
    if (strcmp(fault, "kill") == 0)
        raise(SIGKILL);
    sleep(300); /* hang */
    _exit(4);
}

static int run_steps(int rank, const char *fault, int fail_step, double timeout) {
    clcnn_context *ctx = make_context();
    clcnn_dist_options options = clcnn_dist_options_default();
    options.timeout_seconds = timeout;
    clcnn_dist *dist = NULL;
    check(clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &dist), "clcnn_dist_create", ctx);
    size_t n = GRADIENT_FLOATS;
    clcnn_tensor *grad = NULL;
    check(clcnn_tensor_create(ctx, 1, &n, &grad), "clcnn_tensor_create", ctx);
    check(clcnn_dist_add_gradients(dist, 1, &grad), "clcnn_dist_add_gradients", ctx);
    for (int step = 1; step <= fail_step + 1000; step++) {
        if (rank == 1 && step == fail_step)
            fail_now(fault, step, dist);
        check(clcnn_tensor_fill(grad, (float)rank), "clcnn_tensor_fill", ctx);
        double start = now_seconds();
        clcnn_status status = clcnn_dist_allreduce_grads(dist);
        if (status != CLCNN_OK) {
            fprintf(stderr, "dist_fault: rank %d stopped after %.1f s: %s: %s\n", rank,
                    now_seconds() - start, clcnn_status_name(status), clcnn_dist_last_error(dist));
            int reported = strstr(clcnn_dist_last_error(dist), "failed (") != NULL;
            clcnn_dist_destroy(dist);
            clcnn_tensor_destroy(grad);
            clcnn_context_destroy(ctx);
            if (!reported)
                MPI_Abort(MPI_COMM_WORLD, 2); /* the peer may be hung: end the job */
            MPI_Finalize();
            return 2;
        }
        struct timespec pause = {0, STEP_PAUSE_NS};
        nanosleep(&pause, NULL);
    }
    fprintf(stderr, "dist_fault: rank %d: the fault never came\n", rank);
    MPI_Finalize();
    return 5;
}

/* ------------------------------------------------------------ checkpoints */

static clcnn_net *checkpoint_net(clcnn_context *ctx) {
    size_t sample = SAVE_FEATURES;
    clcnn_net *net = NULL;
    check(clcnn_net_create(ctx, 1, &sample, &net), "clcnn_net_create", ctx);
    check(clcnn_net_add_dense(net, "fc1", SAVE_FEATURES, 1), "clcnn_net_add_dense", ctx);
    check(clcnn_net_add_dense(net, "fc2", SAVE_FEATURES, 1), "clcnn_net_add_dense", ctx);
    return net;
}

static void fill_parameters(clcnn_net *net, float value, clcnn_context *ctx) {
    for (size_t i = 0; i < clcnn_net_parameter_count(net); i++) {
        clcnn_net_tensor p;
        check(clcnn_net_parameter(net, i, &p), "clcnn_net_parameter", ctx);
        check(clcnn_tensor_fill(p.value, value), "clcnn_tensor_fill", ctx);
    }
}

/* Rank 0 saves forever; rank 1 waits for a message that never comes.
 * The test kills rank 0 from outside, and mpirun then ends the job. */
static int save_forever(int rank, const char *path, const char *pid_file) {
    if (rank == 1) {
        int never = 0;
        MPI_Recv(&never, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        return 6;
    }
    FILE *file = fopen(pid_file, "w");
    if (file == NULL)
        return 3;
    fprintf(file, "%ld\n", (long)getpid());
    fclose(file);
    clcnn_context *ctx = make_context();
    clcnn_net *net = checkpoint_net(ctx);
    for (int number = 1;; number++) {
        fill_parameters(net, (float)number, ctx);
        char text[32];
        snprintf(text, sizeof text, "%d", number);
        const char *metadata[] = {"number", text, NULL};
        check(clcnn_net_save(net, path, metadata), "clcnn_net_save", ctx);
    }
}

static int check_checkpoint(const char *path) {
    clcnn_context *ctx = make_context();
    clcnn_net *net = checkpoint_net(ctx);
    clcnn_status status = clcnn_net_load(net, path);
    if (status != CLCNN_OK) {
        fprintf(stderr, "dist_fault: %s does not load: %s\n", path, clcnn_context_last_error(ctx));
        return 1;
    }
    char error[256] = "";
    clcnn_safetensors *file = NULL;
    check(clcnn_safetensors_load(path, error, sizeof error, &file), "clcnn_safetensors_load", NULL);
    const char *number = clcnn_safetensors_metadata(file, "number");
    float expected = number != NULL ? (float)atol(number) : -1.0f;
    int whole = number != NULL;
    float *values = malloc((size_t)SAVE_FEATURES * SAVE_FEATURES * sizeof *values);
    if (values == NULL)
        return 3;
    for (size_t i = 0; i < clcnn_net_parameter_count(net) && whole; i++) {
        clcnn_net_tensor p;
        check(clcnn_net_parameter(net, i, &p), "clcnn_net_parameter", ctx);
        size_t count = clcnn_tensor_numel(p.value);
        check(clcnn_tensor_read(p.value, 0, values, count), "clcnn_tensor_read", ctx);
        for (size_t k = 0; k < count && whole; k++)
            whole = values[k] == expected;
    }
    printf("%s: checkpoint number %s, %s\n", path, number != NULL ? number : "(none)",
           whole ? "whole" : "MIXED");
    free(values);
    clcnn_safetensors_destroy(file);
    clcnn_net_destroy(net);
    clcnn_context_destroy(ctx);
    return whole ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "check") == 0)
        return check_checkpoint(argv[2]);
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int result;
    if (argc == 4 && strcmp(argv[1], "save") == 0)
        result = save_forever(rank, argv[2], argv[3]);
    else if (argc == 4)
        result = run_steps(rank, argv[1], atoi(argv[2]), atof(argv[3]));
    else {
        fprintf(stderr, "usage: dist_fault report|exit|kill|hang STEP TIMEOUT | save PATH "
                        "PID_FILE | check PATH\n");
        result = 2;
        MPI_Finalize();
    }
    return result;
}
