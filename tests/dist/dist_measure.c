/* Measures what docs/distributed.md reports, on the ranks of the job (run
 * under mpirun; rank 0 prints):
 *
 *   allreduce   MPI_Allreduce of the seed network's and ResNet-8's gradient
 *               bytes between host buffers, and clcnn_dist_allreduce_grads
 *               of the same gradients as device tensors (reads, reduction,
 *               writes back), with the queue idle: milliseconds, algorithm
 *               bandwidth (bytes / time) and bus bandwidth (2 (N-1) / N
 *               bytes / time, the figure a link's speed bounds).
 *   step        the seed network's training step on this rank's share of a
 *               global batch: compute alone (forward, loss, backward), the
 *               gradient exchange alone, and both in one step; overlap =
 *               compute + exchange - step (compute includes the optimizer
 *               step). Then images per second. The machine's noise shows
 *               from run to run: take several.
 *
 * Usage: dist_measure [GLOBAL_BATCH [REPEATS]] (default 128 and 20).
 * Not a test (it asserts nothing about speed); built with the tests until
 * clcnn-bench gains its allreduce entries. */
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

/* ResNet-8's parameters (docs/benchmarks.md) in state-dict order: 308,074. */
static const size_t resnet8_sizes[] = {
    288,  32, 32, 9216,  32,  32,  9216,   32,  32,  18432, 64,  64,  36864, 64, 64,
    2048, 64, 64, 73728, 128, 128, 147456, 128, 128, 8192,  128, 128, 1280,  10};

static void report(const char *name, size_t bytes, double ms) {
    double gb = (double)bytes / 1e9, seconds = ms / 1e3;
    double bus = 2.0 * (ranks - 1) / ranks * gb / seconds;
    if (rank == 0)
        printf("%-34s %9zu bytes %8.3f ms  algbw %6.2f GB/s  busbw %6.2f GB/s\n", name, bytes, ms,
               gb / seconds, bus);
}

static void host_allreduce(const char *name, size_t floats, size_t repeats) {
    float *buffer = calloc(floats, sizeof *buffer);
    double *samples = malloc(repeats * sizeof *samples);
    if (buffer == NULL || samples == NULL)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t i = 0; i < repeats + 3; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = now_ms();
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int)floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (i >= 3)
            samples[i - 3] = now_ms() - start;
    }
    report(name, floats * sizeof(float), median(samples, repeats));
    free(buffer);
    free(samples);
}

static void device_allreduce(clcnn_context *ctx, const char *name, const size_t *sizes,
                             size_t count, size_t bucket_bytes, size_t repeats) {
    clcnn_dist_options options = clcnn_dist_options_default();
    options.bucket_bytes = bucket_bytes;
    clcnn_dist *dist = NULL;
    check(clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &dist), "clcnn_dist_create", ctx, NULL);
    clcnn_tensor **grads = calloc(count, sizeof *grads);
    double *samples = malloc(repeats * sizeof *samples);
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        check(clcnn_tensor_create(ctx, 1, &sizes[i], &grads[i]), "clcnn_tensor_create", ctx, NULL);
        bytes += sizes[i] * sizeof(float);
    }
    check(clcnn_dist_add_gradients(dist, count, grads), "clcnn_dist_add_gradients", ctx, dist);
    for (size_t i = 0; i < repeats + 3; i++) {
        check(clcnn_context_finish(ctx), "clcnn_context_finish", ctx, NULL);
        MPI_Barrier(MPI_COMM_WORLD);
        double start = now_ms();
        check(clcnn_dist_allreduce_grads(dist), "clcnn_dist_allreduce_grads", ctx, dist);
        check(clcnn_context_finish(ctx), "clcnn_context_finish", ctx, NULL);
        if (i >= 3)
            samples[i - 3] = now_ms() - start;
    }
    report(name, bytes, median(samples, repeats));
    for (size_t i = 0; i < count; i++)
        clcnn_tensor_destroy(grads[i]);
    free(grads);
    free(samples);
    clcnn_dist_destroy(dist);
}

/* ------------------------------------------------------------------- step */

typedef struct step_setup {
    clcnn_context *ctx;
    clcnn_dist *dist;
    clcnn_net *net;
    clcnn_tensor *input, *loss;
    clcnn_labels *labels;
    clcnn_optimizer *optimizer;
} step_setup;

/* 0: compute only (forward, loss, backward, optimizer); 1: the gradient
 * exchange only; 2: the whole step. */
static double timed_step(step_setup *s, int what) {
    const clcnn_tensor *logits = NULL;
    check(clcnn_context_finish(s->ctx), "finish", s->ctx, NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = now_ms();
    if (what != 1) {
        check(clcnn_net_zero_grad(s->net), "zero_grad", s->ctx, NULL);
        check(clcnn_net_forward(s->net, s->input, &logits), "forward", s->ctx, NULL);
        check(clcnn_net_loss(s->net, s->labels, s->loss), "loss", s->ctx, NULL);
        check(clcnn_net_backward(s->net), "backward", s->ctx, NULL);
    }
    if (what != 0)
        check(clcnn_dist_allreduce_grads(s->dist), "allreduce", s->ctx, s->dist);
    if (what != 1)
        check(clcnn_optimizer_step(s->optimizer), "optimizer", s->ctx, NULL);
    check(clcnn_context_finish(s->ctx), "finish", s->ctx, NULL);
    return now_ms() - start;
}

static void measure_step(clcnn_context *ctx, size_t global_batch, size_t repeats) {
    step_setup s = {ctx, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t first = 0, count = 0;
    check(clcnn_dist_split(global_batch, (size_t)ranks, (size_t)rank, &first, &count), "split", ctx,
          NULL);
    check(clcnn_dist_create(ctx, MPI_COMM_WORLD, NULL, &s.dist), "clcnn_dist_create", ctx, NULL);
    check(clcnn_net_create_seed(ctx, 1, 28, 28, 10, 0.5f, &s.net), "net", ctx, NULL);
    check(clcnn_net_set_training(s.net, 1), "training", ctx, NULL);
    check(clcnn_dist_attach_net(s.dist, s.net), "attach", ctx, s.dist);
    size_t dims[4] = {count, 1, 28, 28}, one = 1;
    check(clcnn_tensor_create(ctx, 4, dims, &s.input), "input", ctx, NULL);
    check(clcnn_tensor_fill(s.input, 0.5f), "input", ctx, NULL);
    check(clcnn_tensor_create(ctx, 1, &one, &s.loss), "loss", ctx, NULL);
    check(clcnn_labels_create(ctx, count, 10, &s.labels), "labels", ctx, NULL);
    int32_t *labels = calloc(count, sizeof *labels);
    check(clcnn_labels_write(s.labels, labels, count), "labels", ctx, NULL);
    free(labels);
    size_t params = clcnn_net_parameter_count(s.net);
    clcnn_tensor **values = calloc(params, sizeof *values), **grads = calloc(params, sizeof *grads);
    for (size_t i = 0; i < params; i++) {
        clcnn_net_tensor p;
        check(clcnn_net_parameter(s.net, i, &p), "parameter", ctx, NULL);
        values[i] = p.value;
        grads[i] = p.grad;
    }
    clcnn_sgd_params sgd = clcnn_sgd_params_default();
    sgd.momentum = 0.9;
    check(clcnn_optimizer_create_sgd(ctx, &sgd, params, values, grads, &s.optimizer), "sgd", ctx,
          NULL);
    double *samples[3];
    for (int what = 0; what < 3; what++) {
        samples[what] = malloc(repeats * sizeof(double));
        for (size_t i = 0; i < repeats + 2; i++) {
            double ms = timed_step(&s, what);
            if (i >= 2)
                samples[what][i - 2] = ms;
        }
    }
    double compute = median(samples[0], repeats), exchange = median(samples[1], repeats),
           step = median(samples[2], repeats);
    if (rank == 0) {
        printf("seed net, global batch %zu on %d ranks (%zu here):\n", global_batch, ranks, count);
        printf("  compute %.2f ms, exchange alone %.2f ms, step %.2f ms, overlap %.2f ms\n",
               compute, exchange, step, compute + exchange - step);
        printf("  %.0f images/s\n", (double)global_batch / (step / 1e3));
    }
    for (int what = 0; what < 3; what++)
        free(samples[what]);
    free(values);
    free(grads);
    clcnn_optimizer_destroy(s.optimizer);
    clcnn_labels_destroy(s.labels);
    clcnn_tensor_destroy(s.input);
    clcnn_tensor_destroy(s.loss);
    clcnn_net_destroy(s.net);
    clcnn_dist_destroy(s.dist);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    size_t global_batch = argc > 1 ? (size_t)atol(argv[1]) : 128;
    size_t repeats = argc > 2 ? (size_t)atol(argv[2]) : 20;
    clcnn_context *ctx = NULL;
    char error[512] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    if (clcnn_context_create(&options, &ctx) != CLCNN_OK) {
        fprintf(stderr, "dist_measure: %s\n", error);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    clcnn_net *seed = NULL;
    check(clcnn_net_create_seed(ctx, 1, 28, 28, 10, 0.5f, &seed), "seed net", ctx, NULL);
    size_t seed_count = clcnn_net_parameter_count(seed), seed_floats = 0;
    size_t *seed_sizes = calloc(seed_count, sizeof *seed_sizes);
    for (size_t i = 0; i < seed_count; i++) {
        clcnn_net_tensor p;
        check(clcnn_net_parameter(seed, i, &p), "parameter", ctx, NULL);
        seed_sizes[i] = clcnn_tensor_numel(p.value);
        seed_floats += seed_sizes[i];
    }
    clcnn_net_destroy(seed);
    size_t resnet_count = sizeof resnet8_sizes / sizeof resnet8_sizes[0], resnet_floats = 0;
    for (size_t i = 0; i < resnet_count; i++)
        resnet_floats += resnet8_sizes[i];
    if (rank == 0)
        printf("%d ranks; seed net %zu parameters, ResNet-8 %zu\n", ranks, seed_floats,
               resnet_floats);
    host_allreduce("MPI_Allreduce, seed net", seed_floats, repeats * 5);
    host_allreduce("MPI_Allreduce, ResNet-8", resnet_floats, repeats * 5);
    device_allreduce(ctx, "clcnn_dist, seed net", seed_sizes, seed_count, 0, repeats);
    device_allreduce(ctx, "clcnn_dist, ResNet-8", resnet8_sizes, resnet_count, 0, repeats);
    device_allreduce(ctx, "clcnn_dist, seed net, 256 KiB buckets", seed_sizes, seed_count,
                     256 * 1024, repeats);
    measure_step(ctx, global_batch, repeats);
    free(seed_sizes);
    clcnn_context_destroy(ctx);
    MPI_Finalize();
    return 0;
}
