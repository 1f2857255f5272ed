/* clcnn-bench reference figures: docs/benchmarks.md's PyTorch numbers, in
 * one table, attached to results for comparison. They were measured on
 * another run (another machine of the same kind, another day); the live,
 * same-run comparison is hosttools/pytorch/compare.py. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "bench.h"

#define REFERENCE_BATCH 128

static const char *const cpu_source =
    "PyTorch 1.13 CPU (oneDNN, 2 threads, 2-core AMD EPYC Zen 4, idle), docs/benchmarks.md, "
    "another run";
static const char *const h200_source =
    "PyTorch 2.11 + cuDNN on NVIDIA H200 (fp32, TF32 off), docs/benchmarks.md, another run; "
    "of a range, the faster figure";

/* A figure in "ms" (time) or "gflops" (throughput); value 0: none. */
typedef struct figure {
    double value;
    const char *unit;
} figure;

typedef struct reference_row {
    const char *name;
    figure cpu;    /* "this machine's kind": PyTorch CPU */
    figure h200;   /* PyTorch + cuDNN (cuBLAS for GEMM) */
    int per_batch; /* a network figure, valid for batch 128 only */
} reference_row;

static const reference_row reference_rows[] = {
    {"gemm_1024", {204, "gflops"}, {0.089, "ms"}, 0},
    {"conv_a_fwd", {124, "gflops"}, {0.155, "ms"}, 0},
    {"conv_a_bwd_data", {158, "gflops"}, {0.290, "ms"}, 0},
    {"conv_a_bwd_weights", {124, "gflops"}, {0.285, "ms"}, 0},
    {"conv_b_fwd", {213, "gflops"}, {0.119, "ms"}, 0},
    {"conv_b_bwd_data", {223, "gflops"}, {0.167, "ms"}, 0},
    {"conv_b_bwd_weights", {202, "gflops"}, {0.121, "ms"}, 0},
    {"conv_c_fwd", {190, "gflops"}, {0.068, "ms"}, 0},
    {"conv_c_bwd_data", {154, "gflops"}, {0.110, "ms"}, 0},
    {"conv_c_bwd_weights", {185, "gflops"}, {0.140, "ms"}, 0},
    {"bn_train_fwd_bwd", {35.1, "ms"}, {0.46, "ms"}, 0},
    {"dropout_fwd_bwd", {144, "ms"}, {0.17, "ms"}, 0},
    {"net_fmnist_train_step", {62.0, "ms"}, {2.2, "ms"}, 1}, /* H200: 2.2-2.7 */
    {"net_fmnist_infer", {20.4, "ms"}, {0.28, "ms"}, 1},     /* H200: 0.28-0.55 */
    {"net_cifar_train_step", {84.0, "ms"}, {2.2, "ms"}, 1},  /* H200: 2.2-2.3 */
    {"net_cifar_infer", {28.0, "ms"}, {0.47, "ms"}, 1},      /* H200: 0.47-0.55 */
};

/* H200: PyTorch's peak device memory in net_fmnist_train_step, N=128. */
#define H200_FMNIST_PEAK_MIB 147.0
#define H200_FMNIST_HELD_MIB 70.0

static int is_h200(const clcnn_device_info *info) {
    return strstr(info->device_name, "H200") != NULL;
}

const char *bench_reference_source(const clcnn_device_info *info) {
    if (is_h200(info))
        return h200_source;
    if (info->type == CLCNN_DEVICE_TYPE_CPU)
        return cpu_source;
    return NULL;
}

static const reference_row *find_row(const char *name) {
    for (size_t i = 0; i < sizeof reference_rows / sizeof reference_rows[0]; i++)
        if (strcmp(reference_rows[i].name, name) == 0)
            return &reference_rows[i];
    return NULL;
}

/* The reference in the result's own unit, from the speed-up: a time
 * ("ms", "us") that much longer, a throughput that much lower. */
static double row_value(const bench_result *result, double speedup) {
    int is_time = strcmp(result->unit, "ms") == 0 || strcmp(result->unit, "us") == 0;
    return is_time ? result->value * speedup : result->value / speedup;
}

void bench_reference_attach(bench_result *result, const clcnn_device_info *info, size_t batch) {
    memset(&result->reference, 0, sizeof result->reference);
    const reference_row *row = find_row(result->name);
    const char *source = bench_reference_source(info);
    if (row == NULL || source == NULL || (row->per_batch && batch != REFERENCE_BATCH))
        return;
    const figure *fig = is_h200(info) ? &row->h200 : &row->cpu;
    int time = strcmp(fig->unit, "ms") == 0;
    if (fig->value <= 0.0 || (!time && strcmp(result->unit, fig->unit) != 0))
        return;
    bench_reference *ref = &result->reference;
    ref->source = source;
    ref->unit = fig->unit;
    ref->value = fig->value;
    ref->speedup = time ? fig->value / result->ms : result->value / fig->value;
    ref->row_value = row_value(result, ref->speedup);
    if (is_h200(info) && strcmp(result->name, "net_fmnist_train_step") == 0) {
        bench_result_extra(result, "ref_peak_mib", H200_FMNIST_PEAK_MIB);
        bench_result_extra(result, "ref_held_mib", H200_FMNIST_HELD_MIB);
    }
}
