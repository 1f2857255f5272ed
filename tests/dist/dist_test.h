/* What the two-rank test (test_dist_ranks.c) shares with its helpers: the
 * context and rank of this process, the training setup and checks. */
#ifndef CLCNN_DIST_TEST_H
#define CLCNN_DIST_TEST_H

#include "clcnn.h"
#include "clcnn/dist.h"
#include "support/test_support.h"

#define STEPS 20
#define GLOBAL_BATCH 8
#define SIDE 28
#define CLASSES 10
#define TOLERANCE 1e-4

extern clcnn_context *ctx;
extern int rank, ranks;

/* Fails the test, quoting the clcnn_dist's message, unless expr is OK. */
#define DIST_OK(dist, expr)                                                   \
    do {                                                                      \
        clcnn_status dist_ok_status_ = (expr);                                \
        if (dist_ok_status_ != CLCNN_OK)                                      \
            fail_msg("%s: %s: %s", #expr, clcnn_status_name(dist_ok_status_), \
                     clcnn_dist_last_error(dist));                            \
    } while (0)

/* A clcnn_dist on MPI_COMM_WORLD (bucket_bytes 0: the default). */
clcnn_dist *make_dist(int sync, size_t bucket_bytes);

/* Fails unless max |got - expected| <= TOLERANCE * max |expected|. */
void assert_relative(const clcnn_tensor *got, const clcnn_tensor *expected, const char *name);

/* Fails unless every rank holds the same bits in t. */
void assert_same_on_every_rank(const clcnn_tensor *t, const char *name);

/* A tensor of rows [first, first + count) of `global`, a batch of samples
 * shaped sample_dims[0..ndim-1]. */
clcnn_tensor *rows_of(const float *global, size_t first, size_t count, size_t ndim,
                      const size_t *sample_dims);

/* The global batch of a step (GLOBAL_BATCH images of 1 x SIDE x SIDE, the
 * same on every rank; malloc'ed) and the labels of its samples
 * [first, first + count). */
float *step_images(int step);
clcnn_labels *step_labels(int step, size_t first, size_t count);

/* SGD with momentum 0.9 and weight decay 5e-4 (clcnn-train's), lr 0.01.
 * Not clcnn-train's lr 0.05: float rounding differs between the two runs
 * (sums in another order), and on this random data at lr 0.05 one ReLU
 * input in 100,000 lands on the other side of 0 at step 5 in one run and
 * not the other; the unit then passes or blocks its gradient, and the
 * trajectories part by 1e-2 (measured), a property of ReLU and max pool in
 * float, not of the distribution. At lr 0.01 no unit flips in 20 steps
 * here and the runs agree to 2e-6; batch norm without synchronisation
 * differs by 0.6. */
clcnn_sgd_params training_sgd(void);

#endif
