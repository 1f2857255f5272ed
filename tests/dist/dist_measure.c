/* Measures the overlap that docs/distributed.md reports, on the ranks of
 * the job (run under mpirun; rank 0 prints): the seed network's training
 * step on this rank's share of a global batch,
 *
 *   compute     forward, loss, backward and the optimizer step of a network
 *               without exchange;
 *   exchange    clcnn_dist_allreduce_grads alone, the queue idle;
 *   serial      the step with the exchange after the backward pass (the
 *               gradients registered with clcnn_dist_add_gradients: no
 *               callback);
 *   early       the step of a network attached with clcnn_dist_attach_net,
 *               whose backward pass starts the buckets;
 *
 * and overlap = compute + exchange - step for both, then images per
 * second. The machine's noise shows from run to run: take several. The
 * all-reduce bandwidths are clcnn-bench's (allreduce_seed,
 * allreduce_resnet8).
 *
 * Usage: dist_measure [GLOBAL_BATCH [REPEATS [BUCKET_BYTES]]] (default 128,
 * 20 and the default bucket). Not a test: it asserts nothing about speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clcnn.h"
#include "clcnn/dist.h"

static int rank, ranks;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median over the ranks' medians is not needed: rank 0's, after a
 * barrier per sample, times the collective as every rank sees it. */
static double median(double *values, size_t count) {
    qsort(values, count, sizeof *values, compare);
    return values[count / 2];
}

static void check(clcnn_status status, const char *what, clcnn_context *ctx, clcnn_dist *dist) {
    if (status == CLCNN_OK)
        return;
    fprintf(stderr, "dist_measure: rank %d: %s: %s: %s\n", rank, what, clcnn_status_name(status),
            dist != NULL ? clcnn_dist_last_error(dist) : clcnn_context_last_error(ctx));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* ------------------------------------------------------------------- step */

typedef struct step_net {
    clcnn_net *net;
    clcnn_optimizer *optimizer;
    clcnn_dist *dist; /* NULL: compute only */
} step_net;

typedef struct step_setup {
    clcnn_context *ctx;
    clcnn_tensor *input, *loss;
    clcnn_labels *labels;
} step_setup;

/* what: 0 compute only, 1 the exchange alone, 2 the whole step. */
static double timed_step(step_setup *s, step_net *n, int what) {
    const clcnn_tensor *logits = NULL;
    check(clcnn_context_finish(s->ctx), "finish", s->ctx, NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = now_ms();
    if (what != 1) {
        check(clcnn_net_zero_grad(n->net), "zero_grad", s->ctx, NULL);
        check(clcnn_net_forward(n->net, s->input, &logits), "forward", s->ctx, NULL);
        check(clcnn_net_loss(n->net, s->labels, s->loss), "loss", s->ctx, NULL);
        check(clcnn_net_backward(n->net), "backward", s->ctx, n->dist);
    }
    if (what != 0)
        check(clcnn_dist_allreduce_grads(n->dist), "allreduce", s->ctx, n->dist);
    if (what != 1)
        check(clcnn_optimizer_step(n->optimizer), "optimizer", s->ctx, NULL);
    check(clcnn_context_finish(s->ctx), "finish", s->ctx, NULL);
    return now_ms() - start;
}

/* A seed network and its SGD; with a dist attached (early) or its
 * gradients only registered (serial); NULL dist: none. */
static void make_net(clcnn_context *ctx, clcnn_dist *dist, int attach, step_net *n) {
    n->dist = dist;
    check(clcnn_net_create_seed(ctx, 1, 28, 28, 10, 0.5f, &n->net), "net", ctx, NULL);
    check(clcnn_net_set_training(n->net, 1), "training", ctx, NULL);
    size_t params = clcnn_net_parameter_count(n->net);
    clcnn_tensor **values = calloc(params, sizeof *values), **grads = calloc(params, sizeof *grads);
    for (size_t i = 0; i < params; i++) {
        clcnn_net_tensor p;
        check(clcnn_net_parameter(n->net, i, &p), "parameter", ctx, NULL);
        values[i] = p.value;
        grads[i] = p.grad;
    }
    clcnn_sgd_params sgd = clcnn_sgd_params_default();
    sgd.momentum = 0.9;
    check(clcnn_optimizer_create_sgd(ctx, &sgd, params, values, grads, &n->optimizer), "sgd", ctx,
          NULL);
    if (dist != NULL && attach)
        check(clcnn_dist_attach_net(dist, n->net), "attach", ctx, dist);
    else if (dist != NULL)
        check(clcnn_dist_add_gradients(dist, params, grads), "add_gradients", ctx, dist);
    free(values);
    free(grads);
}

/* The four timings of measure_step, sampled in turn (so that the machine's
 * load, which drifts, weighs on each alike): their medians into ms[4]. */
static void sample_in_turn(step_setup *s, step_net *alone, step_net *serial, step_net *early,
                           size_t repeats, double ms[4]) {
    step_net *nets[4] = {alone, serial, serial, early};
    const int what[4] = {0, 1, 2, 2};
    double *samples = malloc(4 * repeats * sizeof *samples);
    for (size_t i = 0; i < repeats + 2; i++)
        for (int k = 0; k < 4; k++) {
            double t = timed_step(s, nets[k], what[k]);
            if (i >= 2)
                samples[(size_t)k * repeats + i - 2] = t;
        }
    for (int k = 0; k < 4; k++)
        ms[k] = median(samples + (size_t)k * repeats, repeats);
    free(samples);
}

static void measure_step(clcnn_context *ctx, size_t global_batch, size_t repeats,
                         size_t bucket_bytes) {
    step_setup s = {ctx, NULL, NULL, NULL};
    size_t first = 0, count = 0;
    check(clcnn_dist_split(global_batch, (size_t)ranks, (size_t)rank, &first, &count), "split", ctx,
          NULL);
    clcnn_dist_options options = clcnn_dist_options_default();
    options.bucket_bytes = bucket_bytes;
    clcnn_dist *serial_dist = NULL, *early_dist = NULL;
    check(clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &serial_dist), "create", ctx, NULL);
    check(clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &early_dist), "create", ctx, NULL);
    step_net alone, serial, early;
    make_net(ctx, NULL, 0, &alone);
    make_net(ctx, serial_dist, 0, &serial);
    make_net(ctx, early_dist, 1, &early);
    size_t dims[4] = {count, 1, 28, 28}, one = 1;
    check(clcnn_tensor_create(ctx, 4, dims, &s.input), "input", ctx, NULL);
    check(clcnn_tensor_fill(s.input, 0.5f), "input", ctx, NULL);
    check(clcnn_tensor_create(ctx, 1, &one, &s.loss), "loss", ctx, NULL);
    check(clcnn_labels_create(ctx, count, 10, &s.labels), "labels", ctx, NULL);
    int32_t *labels = calloc(count, sizeof *labels);
    check(clcnn_labels_write(s.labels, labels, count), "labels", ctx, NULL);
    free(labels);
    double ms[4];
    sample_in_turn(&s, &alone, &serial, &early, repeats, ms);
    double compute = ms[0], exchange = ms[1], serial_step = ms[2], early_step = ms[3];
    if (rank == 0) {
        printf("seed net, global batch %zu on %d ranks (%zu here), buckets of %zu bytes:\n",
               global_batch, ranks, count,
               bucket_bytes != 0 ? bucket_bytes : (size_t)CLCNN_DIST_DEFAULT_BUCKET_BYTES);
        printf("  compute %.2f ms, exchange alone %.2f ms\n", compute, exchange);
        printf("  exchange after backward: step %.2f ms, overlap %.2f ms, %.0f images/s\n",
               serial_step, compute + exchange - serial_step,
               (double)global_batch / (serial_step / 1e3));
        printf("  buckets started in backward: step %.2f ms, overlap %.2f ms, %.0f images/s\n",
               early_step, compute + exchange - early_step,
               (double)global_batch / (early_step / 1e3));
    }
    clcnn_dist_destroy(early_dist); /* before the network it is attached to */
    step_net *nets[3] = {&alone, &serial, &early};
    for (int i = 0; i < 3; i++) {
        clcnn_optimizer_destroy(nets[i]->optimizer);
        clcnn_net_destroy(nets[i]->net);
    }
    clcnn_dist_destroy(serial_dist);
    clcnn_labels_destroy(s.labels);
    clcnn_tensor_destroy(s.input);
    clcnn_tensor_destroy(s.loss);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    size_t global_batch = argc > 1 ? (size_t)atol(argv[1]) : 128;
    size_t repeats = argc > 2 ? (size_t)atol(argv[2]) : 20;
    size_t bucket_bytes = argc > 3 ? (size_t)atol(argv[3]) : 0;
    clcnn_context *ctx = NULL;
    char error[512] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    if (clcnn_context_create(&options, &ctx) != CLCNN_OK) {
        fprintf(stderr, "dist_measure: %s\n", error);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    measure_step(ctx, global_batch, repeats, bucket_bytes);
    clcnn_context_destroy(ctx);
    MPI_Finalize();
    return 0;
}
