/* clcnn-train's checkpoints: the model as a PyTorch-compatible state dict
 * (PATH) with the input normalisation in its metadata, and what --resume
 * needs besides (optimizer state, step count, epochs done) in PATH.optim.
 * Each file is written atomically, but not the two together: PATH.optim
 * carries a digest of the model file it was saved with, and --resume
 * refuses a pair whose digests differ (a save stopped between the two
 * writes, a file copied over the other). The model file stays a plain state
 * dict that PyTorch loads strictly. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clcnn/safetensors.h>

#include "train_session.h"

static char *optimizer_path(const char *path) {
    size_t length = strlen(path) + 7;
    char *result = malloc(length);
    if (result != NULL)
        snprintf(result, length, "%s.optim", path);
    return result;
}

/* "<parameter name>.<state name>", e.g. "fc1.weight.momentum_buffer". */
static void state_name(train_session *s, const clcnn_optimizer_state *state, char *out,
                       size_t size) {
    clcnn_net_tensor parameter;
    clcnn_net_parameter(s->net, state->param_index, &parameter);
    snprintf(out, size, "%s.%s", parameter.name, state->name);
}

static clcnn_status add_optimizer_state(train_session *s, clcnn_safetensors *file) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < clcnn_optimizer_state_count(s->optimizer) && status == CLCNN_OK; i++) {
        clcnn_optimizer_state state;
        status = clcnn_optimizer_state_get(s->optimizer, i, &state);
        size_t count = clcnn_tensor_numel(state.tensor), dims[CLCNN_MAX_DIMS];
        float *host = status == CLCNN_OK ? malloc(count * sizeof *host) : NULL;
        if (status == CLCNN_OK && host == NULL)
            status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
        if (status == CLCNN_OK)
            status = clcnn_tensor_read(state.tensor, 0, host, count);
        for (size_t d = 0; d < clcnn_tensor_ndim(state.tensor); d++)
            dims[d] = clcnn_tensor_dim(state.tensor, d);
        char name[160];
        state_name(s, &state, name, sizeof name);
        if (status == CLCNN_OK)
            status = clcnn_safetensors_add(file, name, CLCNN_DTYPE_F32,
                                           clcnn_tensor_ndim(state.tensor), dims, host);
        free(host);
    }
    return status;
}

/* ------------------------------------------------------------ model digest */

/* FNV-1a (64 bits) of a file's bytes, as "fnv1a64:<16 hex digits>": it
 * tells one model file from another, which is all the pairing needs (it is
 * no defence against a forger). 0, or 1 when the file cannot be read. */
static int file_digest(const char *path, char *out, size_t size) {
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return 1;
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    unsigned char buffer[65536];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, file)) > 0)
        for (size_t i = 0; i < got; i++)
            hash = (hash ^ buffer[i]) * UINT64_C(0x100000001b3);
    int failed = ferror(file);
    fclose(file);
    snprintf(out, size, "fnv1a64:%016" PRIx64, hash);
    return failed;
}

/* ------------------------------------------------------------------ saving */

static int save_optimizer(train_session *s, const char *path, size_t epochs_done,
                          const char *model_digest) {
    clcnn_safetensors *file = NULL;
    char step[32], epochs[32], error[512] = "";
    snprintf(step, sizeof step, "%llu", (unsigned long long)clcnn_optimizer_get_step(s->optimizer));
    snprintf(epochs, sizeof epochs, "%zu", epochs_done);
    clcnn_status status = clcnn_safetensors_create(&file);
    if (status == CLCNN_OK)
        status = add_optimizer_state(s, file);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_set_metadata(file, "step", step);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_set_metadata(file, "epochs_done", epochs);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_set_metadata(file, "model_digest", model_digest);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_save(file, path, error, sizeof error);
    clcnn_safetensors_destroy(file);
    if (status != CLCNN_OK)
        fprintf(stderr, "clcnn-train: saving %s: %s %s\n", path, clcnn_status_name(status), error);
    return status == CLCNN_OK ? 0 : 1;
}

int train_checkpoint_save(train_session *s, size_t epochs_done) {
    char mean[32], std[32], epochs[32], seed[32];
    snprintf(mean, sizeof mean, "%.9g", s->data->mean);
    snprintf(std, sizeof std, "%.9g", s->data->std);
    snprintf(epochs, sizeof epochs, "%zu", epochs_done);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->options->seed);
    const char *metadata[] = {"input_mean", mean, "input_std", std,        "epochs_done", epochs,
                              "seed",       seed, "library",   "libclcnn", NULL};
    const char *model_path = s->options->save_path;
    clcnn_status status = clcnn_net_save(s->net, model_path, metadata);
    if (status != CLCNN_OK)
        return train_fail(s, "saving the checkpoint", status);
    char digest[32];
    if (file_digest(model_path, digest, sizeof digest) != 0) {
        fprintf(stderr, "clcnn-train: cannot read back %s after saving it\n", model_path);
        return 1;
    }
    char *path = optimizer_path(model_path);
    int failed = path == NULL || save_optimizer(s, path, epochs_done, digest);
    free(path);
    return failed;
}

/* ----------------------------------------------------------------- reading */

static int read_metadata_number(const clcnn_safetensors *file, const char *path, const char *key,
                                double *out) {
    const char *text = clcnn_safetensors_metadata(file, key);
    char *end = NULL;
    if (text != NULL)
        *out = strtod(text, &end);
    if (text == NULL || end == text || *end != '\0') {
        fprintf(stderr, "clcnn-train: %s has no numeric \"%s\" in its metadata\n", path, key);
        return 1;
    }
    return 0;
}

/* Reads a safetensors file; `what` says why it is needed, for the message. */
static int open_file(const char *path, const char *what, clcnn_safetensors **file) {
    char error[512] = "";
    clcnn_status status = clcnn_safetensors_load(path, error, sizeof error, file);
    if (status != CLCNN_OK)
        fprintf(stderr, "clcnn-train: %s: %s: %s\n", what, clcnn_status_name(status), error);
    return status == CLCNN_OK ? 0 : 1;
}

int train_checkpoint_statistics(const char *path, double *mean, double *std) {
    clcnn_safetensors *file = NULL;
    if (open_file(path, "reading the checkpoint", &file) != 0)
        return 1;
    int failed = read_metadata_number(file, path, "input_mean", mean) ||
                 read_metadata_number(file, path, "input_std", std);
    clcnn_safetensors_destroy(file);
    if (!failed && !(*std > 0)) {
        fprintf(stderr, "clcnn-train: %s: input_std must be positive\n", path);
        failed = 1;
    }
    return failed;
}

static int restore_optimizer_state(train_session *s, const clcnn_safetensors *file,
                                   const char *path) {
    for (size_t i = 0; i < clcnn_optimizer_state_count(s->optimizer); i++) {
        clcnn_optimizer_state state;
        char name[160];
        if (clcnn_optimizer_state_get(s->optimizer, i, &state) != CLCNN_OK)
            return 1;
        state_name(s, &state, name, sizeof name);
        const clcnn_safetensors_tensor *t = clcnn_safetensors_find(file, name);
        if (t == NULL || t->dtype != CLCNN_DTYPE_F32 ||
            t->count != clcnn_tensor_numel(state.tensor)) {
            fprintf(stderr, "clcnn-train: %s lacks a matching %s (another optimizer?)\n", path,
                    name);
            return 1;
        }
        clcnn_status status = clcnn_tensor_write(state.tensor, 0, t->data, t->count);
        if (status != CLCNN_OK)
            return train_fail(s, "restoring the optimizer", status);
    }
    return 0;
}

/* Refuses an optimizer state saved with another model file. */
static int check_pair(const clcnn_safetensors *optim, const char *optim_path,
                      const char *model_path) {
    const char *saved = clcnn_safetensors_metadata(optim, "model_digest");
    char digest[32] = "";
    if (file_digest(model_path, digest, sizeof digest) != 0) {
        fprintf(stderr, "clcnn-train: cannot read %s\n", model_path);
        return 1;
    }
    if (saved != NULL && strcmp(saved, digest) == 0)
        return 0;
    if (saved == NULL) {
        fprintf(stderr,
                "clcnn-train: cannot resume: %s names no model file (an older clcnn-train saved "
                "it), so it cannot be checked against %s; train afresh without --resume\n",
                optim_path, model_path);
        return 1;
    }
    const char *optim_epochs = clcnn_safetensors_metadata(optim, "epochs_done");
    clcnn_safetensors *model = NULL;
    char error[512] = "";
    const char *model_epochs = NULL;
    if (clcnn_safetensors_load(model_path, error, sizeof error, &model) == CLCNN_OK)
        model_epochs = clcnn_safetensors_metadata(model, "epochs_done");
    fprintf(stderr,
            "clcnn-train: cannot resume: %s and %s were not saved together (the model is from "
            "epoch %s, the optimizer state from epoch %s).\n"
            "  A save stopped between the two files, or one was replaced. Resume from a pair "
            "saved together, or train afresh without --resume.\n",
            model_path, optim_path, model_epochs != NULL ? model_epochs : "?",
            optim_epochs != NULL ? optim_epochs : "?");
    clcnn_safetensors_destroy(model);
    return 1;
}

int train_checkpoint_resume(train_session *s, const char *path) {
    char *optim = optimizer_path(path);
    clcnn_safetensors *file = NULL;
    double step = 0, epochs_done = 0;
    int failed = optim == NULL || open_file(optim, "reading its optimizer state", &file) ||
                 check_pair(file, optim, path) ||
                 read_metadata_number(file, optim, "step", &step) ||
                 read_metadata_number(file, optim, "epochs_done", &epochs_done);
    clcnn_status status = CLCNN_OK;
    if (!failed)
        status = clcnn_net_load(s->net, path);
    if (status != CLCNN_OK)
        failed = train_fail(s, "loading the checkpoint", status);
    if (!failed)
        failed = restore_optimizer_state(s, file, optim);
    if (!failed)
        failed = clcnn_optimizer_set_step(s->optimizer, (uint64_t)step) != CLCNN_OK;
    s->first_epoch = (size_t)epochs_done;
    clcnn_safetensors_destroy(file);
    free(optim);
    return failed;
}
