/* The training loop of clcnn-train: options, and one run (training epochs or
 * an evaluation) on prepared data. */
#ifndef CLCNN_TRAIN_LOOP_H
#define CLCNN_TRAIN_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "train_data.h"

typedef enum train_optimizer { TRAIN_SGD, TRAIN_NESTEROV, TRAIN_ADAM, TRAIN_ADAMW } train_optimizer;

typedef enum train_schedule { TRAIN_COSINE, TRAIN_STEP, TRAIN_CONSTANT } train_schedule;

typedef enum train_model { TRAIN_MODEL_SEED, TRAIN_MODEL_RESNET8 } train_model;

typedef struct train_options {
    train_model model;
    size_t epochs, batch;
    double lr, momentum, weight_decay;
    int augment; /* random crops and flips of the training batches */
    train_optimizer optimizer;
    train_schedule schedule;
    uint64_t seed;
    const char *device, *data_dir, *resume_path, *eval_path;
    /* Where each epoch's checkpoint goes: --save, else the resumed
     * checkpoint, else TRAIN_DEFAULT_SAVE_PATH; NULL with --eval-only. */
    const char *save_path;
    const char *save_origin;        /* why that path: "--save", "the default", ... */
    size_t train_limit, test_limit; /* 0: all */
    int json;
    int sync_bn; /* data-parallel: batch norm over the global batch */
} train_options;

/* The checkpoint of a run without --save, in the current directory. */
#define TRAIN_DEFAULT_SAVE_PATH "clcnn-seed.safetensors"
#define TRAIN_DEFAULT_RESNET8_SAVE_PATH "clcnn-resnet8.safetensors"

/* The default recipe: the seed network, SGD lr 0.05, momentum 0.9, weight
 * decay 5e-4, cosine schedule over 10 epochs, batch 128, seed 1, no
 * augmentation. */
train_options train_options_default(void);

/* The recipe of a model where the user did not choose otherwise: ResNet-8
 * trains with lr 0.1 and augmentation (issue 12's recipe). */
void train_options_for_model(train_options *o, int lr_given, int augment_given);

/* The names of train_optimizer and train_schedule values, in enum order. */
extern const char *const train_optimizer_names[4];
extern const char *const train_schedule_names[3];
extern const char *const train_model_names[2];

struct train_dist;

/* Trains (or only evaluates, with eval_path) and prints progress and
 * results, as one rank of `dist` (train_dist.h). Normalises `data` in
 * place. Returns the process exit code. */
int train_run(const train_options *options, train_data *data, struct train_dist *dist);

#endif
