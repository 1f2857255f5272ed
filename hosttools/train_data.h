/* Fashion-MNIST (or any MNIST-format) data for clcnn-train: loading the IDX
 * files, normalising with the training set's statistics, seeded shuffling
 * and batch assembly. */
#ifndef CLCNN_TRAIN_DATA_H
#define CLCNN_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include <clcnn.h>

typedef struct train_split {
    size_t count; /* images */
    size_t height, width;
    float *pixels;   /* count * height * width, in [0, 1] then normalised */
    int32_t *labels; /* count */
} train_split;

typedef struct train_data {
    train_split train, test;
    double mean, std; /* of the training pixels in [0, 1] */
} train_data;

/* Loads t10k-{images-idx3,labels-idx1}-ubyte[.gz] from dir, and the
 * train-* pair too when with_training is set (else the training split stays
 * empty). On failure returns a status and writes the reason into error. */
clcnn_status train_data_load(const char *dir, int with_training, train_data *out, char *error,
                             size_t error_size);
void train_data_free(train_data *data);

/* Mean and standard deviation (population) of the training pixels. */
void train_data_statistics(const train_data *data, double *mean, double *std);

/* (x - mean) / std on both splits, in place. */
void train_data_normalise(train_data *data, double mean, double std);

/* Keeps the first `count` samples of a split (for short runs); 0 keeps
 * them all. */
void train_split_truncate(train_split *split, size_t count);

/* A permutation of 0..count-1 drawn from `seed` and `epoch` (Fisher-Yates
 * with a SplitMix64 generator seeded by both: the same seed and epoch give
 * the same order on every machine). */
void train_shuffle(size_t *order, size_t count, uint64_t seed, uint64_t epoch);

/* Gathers samples order[first .. first+n-1] into pixels and labels. */
void train_gather(const train_split *split, const size_t *order, size_t first, size_t n,
                  float *pixels, int32_t *labels);

#endif
