/* Loading, normalising, shuffling and batching the training data. */
#include "train_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clcnn/idx.h>

/* Opens name (or name.gz) in dir. */
static clcnn_status load_idx(const char *dir, const char *name, clcnn_idx **out, char *error,
                             size_t error_size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", dir, name);
    FILE *probe = fopen(path, "rb");
    if (probe == NULL)
        snprintf(path, sizeof path, "%s/%s", dir, name);
    else
        fclose(probe);
    return clcnn_idx_load(path, error, error_size, out);
}

static clcnn_status load_split(const char *dir, const char *prefix, train_split *split, char *error,
                               size_t error_size) {
    char images_name[64], labels_name[64];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
    clcnn_idx *images = NULL, *labels = NULL;
    clcnn_status status = load_idx(dir, images_name, &images, error, error_size);
    if (status == CLCNN_OK)
        status = load_idx(dir, labels_name, &labels, error, error_size);
    if (status == CLCNN_OK &&
        (images->type != CLCNN_IDX_U8 || images->ndim != 3 || labels->type != CLCNN_IDX_U8 ||
         labels->ndim != 1 || labels->dims[0] != images->dims[0])) {
        snprintf(error, error_size, "%s/%s: expected N x H x W bytes and N byte labels", dir,
                 images_name);
        status = CLCNN_ERROR_CORRUPT_FILE;
    }
    if (status == CLCNN_OK) {
        split->count = images->dims[0];
        split->height = images->dims[1];
        split->width = images->dims[2];
        split->pixels = malloc(images->count * sizeof *split->pixels);
        split->labels = malloc(split->count * sizeof *split->labels);
        if (split->pixels == NULL || split->labels == NULL)
            status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    }
    for (size_t i = 0; status == CLCNN_OK && i < images->count; i++)
        split->pixels[i] = ((const unsigned char *)images->data)[i] / 255.0f;
    for (size_t i = 0; status == CLCNN_OK && i < split->count; i++)
        split->labels[i] = ((const unsigned char *)labels->data)[i];
    clcnn_idx_destroy(images);
    clcnn_idx_destroy(labels);
    return status;
}

clcnn_status train_data_load(const char *dir, int with_training, train_data *out, char *error,
                             size_t error_size) {
    memset(out, 0, sizeof *out);
    clcnn_status status = CLCNN_OK;
    if (with_training)
        status = load_split(dir, "train", &out->train, error, error_size);
    if (status == CLCNN_OK)
        status = load_split(dir, "t10k", &out->test, error, error_size);
    if (status == CLCNN_OK && with_training &&
        (out->train.height != out->test.height || out->train.width != out->test.width)) {
        snprintf(error, error_size, "%s: training and test images differ in size", dir);
        status = CLCNN_ERROR_CORRUPT_FILE;
    }
    if (status != CLCNN_OK)
        train_data_free(out);
    return status;
}

void train_data_free(train_data *data) {
    free(data->train.pixels);
    free(data->train.labels);
    free(data->test.pixels);
    free(data->test.labels);
    memset(data, 0, sizeof *data);
}

void train_data_statistics(const train_data *data, double *mean, double *std) {
    size_t n = data->train.count * data->train.height * data->train.width;
    double sum = 0.0, squares = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += data->train.pixels[i];
    *mean = n > 0 ? sum / (double)n : 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = data->train.pixels[i] - *mean;
        squares += d * d;
    }
    *std = n > 0 ? sqrt(squares / (double)n) : 1.0;
}

static void normalise_split(train_split *split, double mean, double std) {
    size_t n = split->count * split->height * split->width;
    for (size_t i = 0; i < n; i++)
        split->pixels[i] = (float)((split->pixels[i] - mean) / std);
}

void train_data_normalise(train_data *data, double mean, double std) {
    data->mean = mean;
    data->std = std;
    normalise_split(&data->train, mean, std);
    normalise_split(&data->test, mean, std);
}

void train_split_truncate(train_split *split, size_t count) {
    if (count > 0 && count < split->count)
        split->count = count;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias (rejection). */
static uint64_t uniform_below(uint64_t *state, uint64_t bound) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t value;
    do
        value = splitmix64(state);
    while (value >= limit);
    return value % bound;
}

void train_shuffle(size_t *order, size_t count, uint64_t seed, uint64_t epoch) {
    uint64_t state = seed ^ (epoch * UINT64_C(0xD1B54A32D192ED03));
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)uniform_below(&state, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

void train_gather(const train_split *split, const size_t *order, size_t first, size_t n,
                  float *pixels, int32_t *labels) {
    size_t image = split->height * split->width;
    for (size_t i = 0; i < n; i++) {
        size_t sample = order != NULL ? order[first + i] : first + i;
        memcpy(pixels + i * image, split->pixels + sample * image, image * sizeof *pixels);
        labels[i] = split->labels[sample];
    }
}
