/* The `allreduce_seed` and `allreduce_resnet8` benchmarks: averaging the
 * seed network's (421,834 floats) and ResNet-8's (308,074) gradients
 * across the ranks of an MPI job with clcnn_dist (device -> host reads, one
 * MPI_Iallreduce per 1 MiB bucket, writes back), as gigabytes of gradient
 * per second (algorithm bandwidth: bytes / time; with N ranks the bus
 * bandwidth is 2 (N - 1) / N of it). Extras: the bare MPI_Allreduce of the
 * same bytes between host buffers (mpi_gbps), the rank count, the bytes.
 *
 * Run under mpirun, every rank running the same selection, e.g.
 *     mpirun -np 2 clcnn-bench --filter 'allreduce*'
 * (rank 0 prints). On one rank (no mpirun) there is nothing to reduce: the
 * figure is the local cost the component adds per step, the gradients'
 * copy to the host and back, and the result says so. Built without MPI,
 * the same local cost, with a note that the all-reduce needs an MPI build. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifdef CLCNN_BENCH_MPI
#include <mpi.h>

#include <clcnn/dist.h>
#endif

/* ResNet-8's parameters (docs/benchmarks.md) in state-dict order: 308,074. */
static const size_t resnet8_sizes[] = {
    288,  32, 32, 9216,  32,  32,  9216,   32,  32,  18432, 64,  64,  36864, 64, 64,
    2048, 64, 64, 73728, 128, 128, 147456, 128, 128, 8192,  128, 128, 1280,  10};

/* The seed network's, for 1 x 28 x 28 inputs: conv1, bn1, conv2, bn2, fc1,
 * fc2 (weight, bias), 421,834. */
static const size_t seed_sizes[] = {288, 32, 32, 32, 18432, 64, 64, 64, 401408, 128, 1280, 10};

typedef struct gradient_set {
    const size_t *sizes;
    size_t count;
} gradient_set;

static const gradient_set seed_set = {seed_sizes, sizeof seed_sizes / sizeof seed_sizes[0]};
static const gradient_set resnet8_set = {resnet8_sizes,
                                         sizeof resnet8_sizes / sizeof resnet8_sizes[0]};

#define WARMUP 3

/* --------------------------------------------------------------- the job */

static size_t job_rank = 0, job_size = 1;

#ifdef CLCNN_BENCH_MPI
/* What MPI launchers put in the environment (as clcnn-train checks). */
static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMI_SIZE") != NULL ||
           getenv("PMIX_RANK") != NULL;
}
static int mpi_started;
#endif

int bench_mpi_start(int *argc, char ***argv) {
#ifdef CLCNN_BENCH_MPI
    if (!launched_by_mpi())
        return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "clcnn-bench: MPI_Init failed\n");
        return -1;
    }
    mpi_started = 1;
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    job_rank = (size_t)rank;
    job_size = (size_t)size;
    if (job_rank > 0 && freopen("/dev/null", "w", stdout) == NULL) /* rank 0 prints */
        fprintf(stderr, "clcnn-bench: rank %zu: cannot silence its output\n", job_rank);
#else
    (void)argc;
    (void)argv;
#endif
    return 0;
}

void bench_mpi_end(int failed) {
#ifdef CLCNN_BENCH_MPI
    if (!mpi_started)
        return;
    if (failed && job_size > 1) { /* the others may wait in a collective */
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
#else
    (void)failed;
#endif
}

/* ------------------------------------------------------------- gradients */

typedef struct gradients {
    clcnn_tensor **tensors;
    size_t count, floats;
} gradients;

static void gradients_free(gradients *g) {
    for (size_t i = 0; g->tensors != NULL && i < g->count; i++)
        clcnn_tensor_destroy(g->tensors[i]);
    free(g->tensors);
}

static int gradients_make(clcnn_context *ctx, const gradient_set *set, gradients *g) {
    memset(g, 0, sizeof *g);
    g->tensors = calloc(set->count, sizeof *g->tensors);
    if (g->tensors == NULL)
        return bench_fail_message("allocating", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    g->count = set->count;
    for (size_t i = 0; i < set->count; i++) {
        clcnn_status status = clcnn_tensor_create(ctx, 1, &set->sizes[i], &g->tensors[i]);
        if (status == CLCNN_OK)
            status = clcnn_tensor_fill(g->tensors[i], 1.0f);
        if (status != CLCNN_OK)
            return bench_fail("making gradients", status, ctx);
        g->floats += set->sizes[i];
    }
    return 0;
}

/* ------------------------------------------------------- one rank: staging */

/* Every gradient read to the host and written back: what the component
 * costs a step besides the network. */
static int stage_once(clcnn_context *ctx, const gradients *g, float *host) {
    size_t offset = 0;
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < g->count && status == CLCNN_OK; i++) {
        size_t n = clcnn_tensor_numel(g->tensors[i]);
        status = clcnn_tensor_read(g->tensors[i], 0, host + offset, n);
        if (status == CLCNN_OK)
            status = clcnn_tensor_write(g->tensors[i], 0, host + offset, n);
        offset += n;
    }
    if (status == CLCNN_OK)
        status = clcnn_context_finish(ctx);
    return status == CLCNN_OK ? 0 : bench_fail("staging gradients", status, ctx);
}

static int measure_staging(bench_session *s, clcnn_context *ctx, const gradients *g, double *ms) {
    float *host = malloc(g->floats * sizeof *host);
    if (host == NULL)
        return bench_fail_message("allocating", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    size_t repeats = s->run->repeats;
    int failed = 0;
    for (size_t i = 0; i < repeats + WARMUP && !failed; i++) {
        double start = bench_now_ms();
        failed = stage_once(ctx, g, host) != 0;
        if (i >= WARMUP)
            s->samples[i - WARMUP] = bench_now_ms() - start;
    }
    free(host);
    if (!failed)
        *ms = bench_median(s->samples, repeats);
    return failed ? -1 : 0;
}

/* ---------------------------------------------------------- ranks: MPI */

#ifdef CLCNN_BENCH_MPI
/* The bare MPI_Allreduce of the bytes between host buffers. */
static int measure_mpi(bench_session *s, size_t floats, double *ms) {
    float *buffer = calloc(floats, sizeof *buffer);
    if (buffer == NULL)
        return bench_fail_message("allocating", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    size_t repeats = s->run->repeats;
    for (size_t i = 0; i < repeats + WARMUP; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = bench_now_ms();
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int)floats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (i >= WARMUP)
            s->samples[i - WARMUP] = bench_now_ms() - start;
    }
    free(buffer);
    *ms = bench_median(s->samples, repeats);
    return 0;
}

/* clcnn_dist_allreduce_grads of the gradients, the queue idle before. */
static int measure_dist(bench_session *s, clcnn_context *ctx, const gradients *g, double *ms) {
    char error[512] = "";
    clcnn_dist_options options = clcnn_dist_options_default();
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_dist *dist = NULL;
    clcnn_status status = clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &dist);
    if (status != CLCNN_OK)
        return bench_fail_message("clcnn_dist_create", status, error);
    status = clcnn_dist_add_gradients(dist, g->count, g->tensors);
    size_t repeats = s->run->repeats;
    for (size_t i = 0; i < repeats + WARMUP && status == CLCNN_OK; i++) {
        status = clcnn_context_finish(ctx);
        MPI_Barrier(MPI_COMM_WORLD);
        double start = bench_now_ms();
        if (status == CLCNN_OK)
            status = clcnn_dist_allreduce_grads(dist);
        if (status == CLCNN_OK)
            status = clcnn_context_finish(ctx);
        if (i >= WARMUP)
            s->samples[i - WARMUP] = bench_now_ms() - start;
    }
    if (status != CLCNN_OK)
        bench_fail_message("the gradient all-reduce", status, clcnn_dist_last_error(dist));
    clcnn_dist_destroy(dist);
    if (status == CLCNN_OK)
        *ms = bench_median(s->samples, repeats);
    return status == CLCNN_OK ? 0 : -1;
}
#endif

/* --------------------------------------------------------------- the entry */

static int bench_allreduce(bench_session *s, const bench_entry *entry, bench_result *result) {
    const gradient_set *set = entry->param;
    clcnn_context *ctx = NULL;
    gradients g;
    if (bench_session_context(s, 0, &ctx) != 0 || gradients_make(ctx, set, &g) != 0)
        return -1;
    double bytes = (double)g.floats * sizeof(float), ms = 0.0;
    int failed = 0;
    bench_result_init(result, entry->name, "gbps");
#ifdef CLCNN_BENCH_MPI
    if (job_size > 1) {
        double mpi_ms = 0.0;
        failed = measure_mpi(s, g.floats, &mpi_ms) != 0 || measure_dist(s, ctx, &g, &ms) != 0;
        if (!failed)
            bench_result_extra(result, "mpi_gbps", bytes / (mpi_ms * 1e6));
    }
#endif
    if (job_size == 1) {
        failed = measure_staging(s, ctx, &g, &ms) != 0;
#ifdef CLCNN_BENCH_MPI
        bench_result_text(result, "note",
                          "1 rank: the gradients' copy to the host and back, no all-reduce "
                          "(run under mpirun -np N for that)");
#else
        bench_result_text(result, "note",
                          "built without MPI: the gradients' copy to the host and back only "
                          "(the all-reduce needs libclcnn_dist)");
#endif
    }
    gradients_free(&g);
    if (failed)
        return -1;
    result->ms = ms;
    result->value = bytes / (ms * 1e6);
    result->samples = s->run->repeats;
    bench_result_extra(result, "ranks", (double)job_size);
    bench_result_extra(result, "bytes", bytes);
    return 0;
}

const bench_entry bench_allreduce_entries[] = {
    {"allreduce_seed", bench_allreduce, &seed_set},
    {"allreduce_resnet8", bench_allreduce, &resnet8_set},
};
const size_t bench_allreduce_entry_count =
    sizeof bench_allreduce_entries / sizeof bench_allreduce_entries[0];
