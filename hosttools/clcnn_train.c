/* clcnn-train: trains the seed network on Fashion-MNIST (or any MNIST-format
 * data set) on an OpenCL device, evaluates it, saves and resumes
 * checkpoints. See --help. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clcnn.h>
#include <clcnn/net.h>
#include <clcnn/optim.h>
#include <clcnn/safetensors.h>

#include "train_data.h"
#include "train_loop.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

static void usage(FILE *out) {
    fprintf(out,
            "usage: clcnn-train [options]\n"
            "Trains the seed network (conv-BN-ReLU-pool x2, dense-ReLU-dropout-dense) on\n"
            "Fashion-MNIST with softmax cross-entropy, evaluating on the test set each epoch.\n\n"
            "  --epochs N          epochs (default 10)\n"
            "  --batch N           batch size (default 128)\n"
            "  --lr X              base learning rate (default 0.05; cosine schedule)\n"
            "  --momentum X        SGD momentum (default 0.9)\n"
            "  --weight-decay X    weight decay (default 5e-4)\n"
            "  --optimizer NAME    sgd, nesterov, adam or adamw (default sgd)\n"
            "  --schedule NAME     cosine, step (x0.1 every 3 epochs) or constant\n"
            "  --seed N            initialisation, shuffling and dropout seed (default 1)\n"
            "  --device SPEC       OpenCL device: P:D, gpu, cpu or a name substring\n"
            "                      (default: $CLCNN_DEVICE, else the first GPU, else the CPU)\n"
            "  --data DIR          MNIST-format IDX files (default " DEFAULT_DATA_DIR ")\n"
            "  --save PATH         save a safetensors checkpoint after each epoch\n"
            "                      (optimizer state in PATH.optim for --resume)\n"
            "  --resume PATH       continue training from a checkpoint saved with --save\n"
            "  --eval-only PATH    evaluate a checkpoint on the test set, then exit\n"
            "  --train-limit N     use only the first N training images (short runs)\n"
            "  --test-limit N      use only the first N test images\n"
            "  --json              print one JSON document with every epoch's figures\n"
            "  --help              this text\n");
}

static int parse_size(const char *text, size_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
        return 0;
    *out = (size_t)value;
    return 1;
}

static int parse_double(const char *text, double *out) {
    char *end = NULL;
    errno = 0;
    *out = strtod(text, &end);
    return errno == 0 && end != text && *end == '\0' && isfinite(*out);
}

/* Returns 0 on success, 2 on a usage error (message printed). */
static int parse_option(train_options *o, const char *name, const char *value) {
    size_t n;
    int ok = 1;
    if (strcmp(name, "--epochs") == 0)
        ok = parse_size(value, &o->epochs) && o->epochs > 0;
    else if (strcmp(name, "--batch") == 0)
        ok = parse_size(value, &o->batch) && o->batch > 1;
    else if (strcmp(name, "--lr") == 0)
        ok = parse_double(value, &o->lr) && o->lr >= 0;
    else if (strcmp(name, "--momentum") == 0)
        ok = parse_double(value, &o->momentum) && o->momentum >= 0;
    else if (strcmp(name, "--weight-decay") == 0)
        ok = parse_double(value, &o->weight_decay) && o->weight_decay >= 0;
    else if (strcmp(name, "--optimizer") == 0)
        ok = train_optimizer_from_name(value, &o->optimizer);
    else if (strcmp(name, "--schedule") == 0)
        ok = train_schedule_from_name(value, &o->schedule);
    else if (strcmp(name, "--seed") == 0)
        ok = parse_size(value, &n) && (o->seed = n, 1);
    else if (strcmp(name, "--device") == 0)
        o->device = value;
    else if (strcmp(name, "--data") == 0)
        o->data_dir = value;
    else if (strcmp(name, "--save") == 0)
        o->save_path = value;
    else if (strcmp(name, "--resume") == 0)
        o->resume_path = value;
    else if (strcmp(name, "--eval-only") == 0)
        o->eval_path = value;
    else if (strcmp(name, "--train-limit") == 0)
        ok = parse_size(value, &o->train_limit) && o->train_limit > 1;
    else if (strcmp(name, "--test-limit") == 0)
        ok = parse_size(value, &o->test_limit) && o->test_limit > 0;
    else {
        fprintf(stderr, "clcnn-train: unknown option %s (see --help)\n", name);
        return 2;
    }
    if (!ok) {
        fprintf(stderr, "clcnn-train: invalid value \"%s\" for %s\n", value, name);
        return 2;
    }
    return 0;
}

static int parse_arguments(int argc, char **argv, train_options *o) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "clcnn-train: %s needs a value (see --help)\n", argv[i]);
            return 2;
        }
        int result = parse_option(o, argv[i], argv[i + 1]);
        if (result != 0)
            return result;
        i++;
    }
    if (o->eval_path != NULL && o->resume_path != NULL) {
        fprintf(stderr, "clcnn-train: --eval-only and --resume exclude each other\n");
        return 2;
    }
    return 0;
}

static int load_data(const train_options *o, train_data *data) {
    char error[1024];
    clcnn_status status = train_data_load(o->data_dir, data, error, sizeof error);
    if (status == CLCNN_OK)
        return 0;
    if (status == CLCNN_ERROR_IO)
        fprintf(stderr,
                "clcnn-train: cannot read the Fashion-MNIST files: %s\n"
                "  Install them with: sudo apt-get install dataset-fashion-mnist\n"
                "  (Debian puts them in " DEFAULT_DATA_DIR "), or pass --data DIR with\n"
                "  train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],\n"
                "  t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].\n",
                error);
    else
        fprintf(stderr, "clcnn-train: %s: %s\n", clcnn_status_name(status), error);
    return 1;
}

int main(int argc, char **argv) {
    train_options options = train_options_default();
    options.data_dir = DEFAULT_DATA_DIR;
    int result = parse_arguments(argc, argv, &options);
    if (result != 0)
        return result;
    train_data data;
    if (load_data(&options, &data) != 0)
        return 1;
    train_split_truncate(&data.train, options.train_limit);
    train_split_truncate(&data.test, options.test_limit);
    result = train_run(&options, &data);
    train_data_free(&data);
    return result;
}
