/* clcnn-train: trains the seed network or ResNet-8 on Fashion-MNIST (or any MNIST-format
 * data set) on an OpenCL device, evaluates it, saves and resumes
 * checkpoints. See --help. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clcnn.h>

#include "tool_cli.h"
#include "train_data.h"
#include "train_dist.h"
#include "train_loop.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

static void usage(FILE *out) {
    fprintf(out,
            "usage: clcnn-train [options]\n"
            "Trains the seed network (conv-BN-ReLU-pool x2, dense-ReLU-dropout-dense) or\n"
            "ResNet-8 on Fashion-MNIST with softmax cross-entropy, evaluating on the test set\n"
            "each epoch. Options take their value as --name VALUE or --name=VALUE.\n\n"
            "  --model NAME        seed (default) or resnet8 (torchvision's BasicBlock layout,\n"
            "                      state-dict names PyTorch loads strictly)\n"
            "  --epochs N          epochs (default 10)\n"
            "  --batch N           batch size (default 128); under mpirun the global batch,\n"
            "                      split across the ranks\n"
            "  --lr X              base learning rate (default 0.05, resnet8 0.1; cosine\n"
            "                      schedule)\n"
            "  --augment           random 28x28 crops of the zero-padded (2 pixels) normalised\n"
            "                      images and horizontal flips, on the device (default for\n"
            "                      resnet8); --no-augment turns it off\n"
            "  --momentum X        SGD momentum (default 0.9)\n"
            "  --weight-decay X    weight decay (default 5e-4)\n"
            "  --optimizer NAME    sgd, nesterov, adam or adamw (default sgd)\n"
            "  --schedule NAME     cosine, step (x0.1 every 3 epochs) or constant\n"
            "  --seed N            initialisation, shuffling and dropout seed (default 1)\n"
            "  --device SPEC       OpenCL device: P:D, gpu, cpu or a name substring\n"
            "                      (default: $CLCNN_DEVICE, else the first GPU, else the CPU)\n"
            "  --data DIR          MNIST-format IDX files (default " DEFAULT_DATA_DIR ")\n"
            "  --save PATH         the safetensors checkpoint written after each epoch, with\n"
            "                      the optimizer state for --resume in PATH.optim (default:\n"
            "                      the --resume checkpoint, else " TRAIN_DEFAULT_SAVE_PATH
            " in the\n"
            "                      current directory; an existing file is replaced)\n"
            "  --resume PATH       continue training from a checkpoint saved by clcnn-train\n"
            "  --eval-only PATH    evaluate a checkpoint of any model on the test set (the\n"
            "                      network is rebuilt from the checkpoint; only the t10k\n"
            "                      files are needed), then exit\n"
            "  --train-limit N     use only the first N training images (short runs)\n"
            "  --test-limit N      use only the first N test images\n"
            "  --json              print one JSON document with every epoch's figures\n"
            "  --sync-bn           under mpirun: batch norm over the global batch\n"
            "                      (SyncBatchNorm) instead of each rank's share\n"
            "  --version           the version, then exit\n"
            "  --help              this text\n\n"
            "Data-parallel: `mpirun -np N clcnn-train ...` trains on N processes (each its\n"
            "own device; local rank r takes device r mod the count of the devices that match\n"
            "--device or $CLCNN_DEVICE, or entry r of a comma-separated list such as\n"
            "CLCNN_DEVICE=0:0,0:1), with the same model, shuffle and dropout masks as one\n"
            "process; rank 0 prints and saves. --resume takes any rank count.\n\n"
            "Exit status: 0 on success, 1 on a failure (with a message), 2 on a usage error.\n");
}

enum train_option_id {
    OPT_MODEL,
    OPT_AUGMENT,
    OPT_NO_AUGMENT,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_MOMENTUM,
    OPT_WEIGHT_DECAY,
    OPT_OPTIMIZER,
    OPT_SCHEDULE,
    OPT_SEED,
    OPT_DEVICE,
    OPT_DATA,
    OPT_SAVE,
    OPT_RESUME,
    OPT_EVAL_ONLY,
    OPT_TRAIN_LIMIT,
    OPT_TEST_LIMIT,
    OPT_JSON,
    OPT_SYNC_BN,
    OPT_HELP,
    OPT_VERSION
};

static const tool_option train_cli_options[] = {
    {"--model", NULL, 1, OPT_MODEL},
    {"--augment", NULL, 0, OPT_AUGMENT},
    {"--no-augment", NULL, 0, OPT_NO_AUGMENT},
    {"--epochs", NULL, 1, OPT_EPOCHS},
    {"--batch", NULL, 1, OPT_BATCH},
    {"--lr", NULL, 1, OPT_LR},
    {"--momentum", NULL, 1, OPT_MOMENTUM},
    {"--weight-decay", NULL, 1, OPT_WEIGHT_DECAY},
    {"--optimizer", NULL, 1, OPT_OPTIMIZER},
    {"--schedule", NULL, 1, OPT_SCHEDULE},
    {"--seed", NULL, 1, OPT_SEED},
    {"--device", NULL, 1, OPT_DEVICE},
    {"--data", NULL, 1, OPT_DATA},
    {"--save", NULL, 1, OPT_SAVE},
    {"--resume", NULL, 1, OPT_RESUME},
    {"--eval-only", NULL, 1, OPT_EVAL_ONLY},
    {"--train-limit", NULL, 1, OPT_TRAIN_LIMIT},
    {"--test-limit", NULL, 1, OPT_TEST_LIMIT},
    {"--json", NULL, 0, OPT_JSON},
    {"--sync-bn", NULL, 0, OPT_SYNC_BN},
    {"--help", "-h", 0, OPT_HELP},
    {"--version", NULL, 0, OPT_VERSION},
};

#define PROGRAM "clcnn-train"
#define MAX_COUNT ((size_t)1 << 40)

/* A whole number in [min, max]; 0, or TOOL_EXIT_USAGE after a message. */
static int whole_value(const char *option, const char *text, size_t min, size_t max, size_t *out) {
    if (tool_parse_count(text, min, max, out))
        return 0;
    char expected[64];
    snprintf(expected, sizeof expected, "expected a whole number of at least %zu", min);
    return tool_invalid_value(PROGRAM, option, text, expected);
}

/* A count (epochs, images) of at least min. */
static int count_value(const char *option, const char *text, size_t min, size_t *out) {
    return whole_value(option, text, min, MAX_COUNT, out);
}

/* A number, zero or more; 0, or TOOL_EXIT_USAGE after a message. */
static int real_value(const char *option, const char *text, double *out) {
    if (tool_parse_real(text, 0.0, out))
        return 0;
    return tool_invalid_value(PROGRAM, option, text, "expected a number, 0 or more");
}

static int choice_value(const char *option, const char *text, const char *const *names,
                        size_t count, size_t *index) {
    return tool_parse_choice(PROGRAM, option, text, names, count, index) ? 0 : TOOL_EXIT_USAGE;
}

/* Which recipe defaults the user overrode (train_options_for_model). */
static int lr_given, augment_given;

/* Takes one option's value; 0, or TOOL_EXIT_USAGE after a message. */
static int apply_option(train_options *o, int id, const char *name, const char *value) {
    size_t n = 0;
    int result = 0;
    switch (id) {
    case OPT_MODEL:
        result = choice_value(name, value, train_model_names, 2, &n);
        o->model = result == 0 ? (train_model)n : o->model;
        return result;
    case OPT_AUGMENT:
    case OPT_NO_AUGMENT:
        o->augment = id == OPT_AUGMENT;
        augment_given = 1;
        return 0;
    case OPT_EPOCHS:
        return count_value(name, value, 1, &o->epochs);
    case OPT_BATCH:
        return count_value(name, value, 2, &o->batch);
    case OPT_LR:
        lr_given = 1;
        return real_value(name, value, &o->lr);
    case OPT_MOMENTUM:
        return real_value(name, value, &o->momentum);
    case OPT_WEIGHT_DECAY:
        return real_value(name, value, &o->weight_decay);
    case OPT_OPTIMIZER:
        result = choice_value(name, value, train_optimizer_names, 4, &n);
        o->optimizer = result == 0 ? (train_optimizer)n : o->optimizer;
        return result;
    case OPT_SCHEDULE:
        result = choice_value(name, value, train_schedule_names, 3, &n);
        o->schedule = result == 0 ? (train_schedule)n : o->schedule;
        return result;
    case OPT_SEED:
        result = whole_value(name, value, 0, SIZE_MAX, &n);
        o->seed = result == 0 ? n : o->seed;
        return result;
    case OPT_DEVICE:
        o->device = value;
        return 0;
    case OPT_DATA:
        o->data_dir = value;
        return 0;
    case OPT_SAVE:
        o->save_path = value;
        return 0;
    case OPT_RESUME:
        o->resume_path = value;
        return 0;
    case OPT_EVAL_ONLY:
        o->eval_path = value;
        return 0;
    case OPT_TRAIN_LIMIT:
        return count_value(name, value, 2, &o->train_limit);
    case OPT_TEST_LIMIT:
        return count_value(name, value, 1, &o->test_limit);
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_SYNC_BN:
        o->sync_bn = 1;
        return 0;
    default:
        return TOOL_EXIT_USAGE;
    }
}

static const char *option_name(int id) {
    for (size_t i = 0; i < sizeof train_cli_options / sizeof train_cli_options[0]; i++)
        if (train_cli_options[i].id == id)
            return train_cli_options[i].name;
    return "?";
}

/* Where each epoch's checkpoint goes when --save is not given. */
static int choose_save_path(train_options *o) {
    if (o->eval_path != NULL && o->resume_path != NULL)
        return tool_usage_error(PROGRAM, "--eval-only and --resume exclude each other");
    if (o->eval_path != NULL && o->save_path != NULL)
        return tool_usage_error(PROGRAM, "--eval-only saves nothing: drop --save");
    if (o->eval_path != NULL)
        return 0;
    if (o->save_path != NULL)
        o->save_origin = "--save";
    else if (o->resume_path != NULL)
        o->save_origin = "the resumed checkpoint; --save PATH to choose";
    else
        o->save_origin = "the default; --save PATH to choose";
    const char *default_path =
        o->model == TRAIN_MODEL_RESNET8 ? TRAIN_DEFAULT_RESNET8_SAVE_PATH : TRAIN_DEFAULT_SAVE_PATH;
    if (o->save_path == NULL)
        o->save_path = o->resume_path != NULL ? o->resume_path : default_path;
    return 0;
}

#define SHOWN_AND_DONE (-1) /* --help or --version printed */

/* 0 to go on, SHOWN_AND_DONE, or TOOL_EXIT_USAGE after a message. */
static int parse_arguments(int argc, char **argv, train_options *o) {
    tool_cli cli;
    tool_cli_init(&cli, PROGRAM, argc, argv);
    size_t count = sizeof train_cli_options / sizeof train_cli_options[0];
    for (;;) {
        const char *value = NULL;
        int id = tool_cli_next(&cli, train_cli_options, count, &value);
        if (id == TOOL_CLI_END)
            break;
        if (id == TOOL_CLI_ERROR)
            return TOOL_EXIT_USAGE;
        if (id == TOOL_CLI_OPERAND)
            return tool_usage_error(PROGRAM, "unexpected argument \"%s\"", value);
        if (id == OPT_HELP || id == OPT_VERSION) {
            if (id == OPT_HELP)
                usage(stdout);
            else
                tool_print_version(PROGRAM);
            return SHOWN_AND_DONE;
        }
        int result = apply_option(o, id, option_name(id), value);
        if (result != 0)
            return result;
    }
    train_options_for_model(o, lr_given, augment_given);
    return choose_save_path(o);
}

/* Fails now, not after the first epoch, when the checkpoint cannot be
 * written: a directory, or a folder that is missing or read-only (a file
 * is saved as a temporary file beside it, then renamed). */
static int check_save_target(const char *path) {
    struct stat info;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
        fprintf(stderr,
                PROGRAM ": cannot save the checkpoint as %s: it is a directory "
                        "(give a file name, such as %s/" TRAIN_DEFAULT_SAVE_PATH ")\n",
                path, path);
        return 1;
    }
    size_t size = strlen(path) + 16;
    char *probe = malloc(size);
    if (probe == NULL)
        return 1;
    snprintf(probe, size, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(probe);
    if (fd < 0)
        fprintf(stderr,
                PROGRAM ": cannot save the checkpoint as %s: cannot create a file there: %s\n",
                path, strerror(errno));
    else {
        close(fd);
        unlink(probe);
    }
    free(probe);
    return fd < 0;
}

static int load_data(const train_options *o, train_data *data) {
    char error[1024];
    int with_training = o->eval_path == NULL;
    clcnn_status status = train_data_load(o->data_dir, with_training, data, error, sizeof error);
    if (status == CLCNN_OK)
        return 0;
    if (status == CLCNN_ERROR_IO)
        fprintf(stderr,
                PROGRAM ": cannot read the Fashion-MNIST files: %s\n"
                        "  Install them with: sudo apt-get install dataset-fashion-mnist\n"
                        "  (Debian puts them in " DEFAULT_DATA_DIR "), or pass --data DIR with\n"
                        "  %st10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz].\n",
                error,
                with_training ? "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],\n  "
                              : "");
    else
        fprintf(stderr, PROGRAM ": %s: %s\n", clcnn_status_name(status), error);
    return 1;
}

/* Everything after the command line; the exit status. */
static int run(train_options *options, train_dist *dist) {
    if (options->batch < dist->size) {
        fprintf(stderr,
                PROGRAM ": --batch %zu is smaller than the %zu ranks: each rank needs "
                        "at least one sample of every batch\n",
                options->batch, dist->size);
        return 1;
    }
    /* Rank 0 alone writes the checkpoint, so only its target matters. */
    if (dist->rank == 0 && options->save_path != NULL && check_save_target(options->save_path) != 0)
        return 1;
    train_data data;
    if (load_data(options, &data) != 0)
        return 1;
    train_split_truncate(&data.train, options->train_limit);
    train_split_truncate(&data.test, options->test_limit);
    int result = train_run(options, &data, dist);
    train_data_free(&data);
    return result;
}

int main(int argc, char **argv) {
    train_dist dist;
    if (train_dist_start(&argc, &argv, &dist) != 0)
        return 1;
    if (dist.rank > 0 && freopen("/dev/null", "w", stdout) == NULL)
        fprintf(stderr, PROGRAM ": rank %zu: cannot silence its output\n", dist.rank);
    train_options options = train_options_default();
    options.data_dir = DEFAULT_DATA_DIR;
    int result = parse_arguments(argc, argv, &options);
    if (result == 0)
        result = run(&options, &dist);
    else if (result == SHOWN_AND_DONE)
        result = 0;
    /* A usage error is every rank's alike: they end together. */
    train_dist_end(&dist, result == 1);
    return result;
}
