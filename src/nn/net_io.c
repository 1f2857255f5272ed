/* Checkpoints: the state dict as safetensors with PyTorch's names and
 * dtypes, the architecture (net_arch.c) in its metadata; and networks
 * rebuilt from a checkpoint alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/safetensors.h"
#include "nn/net_internal.h"

/* Calls visit for each entry in PyTorch's state-dict order. */
static clcnn_status for_each_entry(clcnn_net *net,
                                   clcnn_status (*visit)(clcnn_net *, clcnn__node_tensor *, void *),
                                   void *data) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < net->node_count && status == CLCNN_OK; i++)
        for (size_t j = 0; j < net->nodes[i].state_count && status == CLCNN_OK; j++)
            status = visit(net, &net->nodes[i].state[j], data);
    return status;
}

/* ------------------------------------------------------------------- save */

static clcnn_status save_entry(clcnn_net *net, clcnn__node_tensor *entry, void *data) {
    clcnn_safetensors *file = data;
    if (entry->value == NULL)
        return clcnn_safetensors_add(file, entry->name, CLCNN_DTYPE_I64, 0, NULL, &entry->counter);
    size_t count = clcnn_tensor_numel(entry->value), dims[CLCNN_MAX_DIMS];
    size_t ndim = clcnn_tensor_ndim(entry->value);
    for (size_t i = 0; i < ndim; i++)
        dims[i] = clcnn_tensor_dim(entry->value, i);
    float *host = malloc(count * sizeof *host);
    if (host == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status status = clcnn_tensor_read(entry->value, 0, host, count);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_add(file, entry->name, CLCNN_DTYPE_F32, ndim, dims, host);
    free(host);
    return status;
}

static clcnn_status add_metadata(clcnn_net *net, clcnn_safetensors *file,
                                 const char *const *metadata) {
    char *architecture = clcnn__net_describe(net);
    clcnn_status status = architecture != NULL
                              ? clcnn_safetensors_set_metadata(file, "architecture", architecture)
                              : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    free(architecture);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_set_metadata(file, "format", "pt");
    for (size_t i = 0; metadata != NULL && metadata[i] != NULL && status == CLCNN_OK; i += 2)
        status = metadata[i + 1] != NULL
                     ? clcnn_safetensors_set_metadata(file, metadata[i], metadata[i + 1])
                     : CLCNN_ERROR_INVALID_ARGUMENT;
    if (status != CLCNN_OK)
        return clcnn__fail(net->ctx, status, "checkpoint metadata: %s",
                           clcnn_status_string(status));
    return CLCNN_OK;
}

static clcnn_status net_save(clcnn_net *net, const char *path, const char *const *metadata) {
    if (path == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "path is NULL");
    clcnn_safetensors *file = NULL;
    clcnn_status status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_create(&file);
    if (status == CLCNN_OK)
        status = for_each_entry(net, save_entry, file);
    if (status == CLCNN_OK)
        status = add_metadata(net, file, metadata);
    char error[512] = "";
    if (status == CLCNN_OK) {
        status = clcnn_safetensors_save(file, path, error, sizeof error);
        if (status != CLCNN_OK)
            clcnn__fail(net->ctx, status, "%s", error);
    }
    clcnn_safetensors_destroy(file);
    return status;
}

clcnn_status clcnn_net_save(clcnn_net *net, const char *path, const char *const *metadata) {
    CLCNN__NET_PUBLIC(net, net_save(net, path, metadata));
}

/* ------------------------------------------------------------------- load */

/* Loading checks every entry first and writes only when all fit, so a
 * rejected file leaves the network as it was. */
typedef struct load_state {
    const clcnn_safetensors *file;
    int write;
} load_state;

static clcnn_status check_entry_shape(clcnn_net *net, const clcnn__node_tensor *entry,
                                      const clcnn_safetensors_tensor *found) {
    clcnn_dtype want = entry->value != NULL ? CLCNN_DTYPE_F32 : CLCNN_DTYPE_I64;
    int fits = found->dtype == want;
    if (entry->value != NULL) {
        fits = fits && found->ndim == clcnn_tensor_ndim(entry->value);
        for (size_t i = 0; fits && i < found->ndim; i++)
            fits = found->dims[i] == clcnn_tensor_dim(entry->value, i);
    } else {
        fits = fits && found->count == 1;
    }
    if (fits)
        return CLCNN_OK;
    char shape[96] = "[]";
    if (entry->value != NULL)
        clcnn__shape_string(entry->value, shape, sizeof shape);
    return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE,
                       "checkpoint tensor %s is %s with %zu dimensions; the network needs %s %s",
                       entry->name, clcnn_dtype_name(found->dtype), found->ndim,
                       clcnn_dtype_name(want), shape);
}

static clcnn_status load_entry(clcnn_net *net, clcnn__node_tensor *entry, void *data) {
    load_state *state = data;
    const clcnn_safetensors_tensor *found = clcnn_safetensors_find(state->file, entry->name);
    if (found == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE, "checkpoint lacks tensor %s",
                           entry->name);
    if (!state->write)
        return check_entry_shape(net, entry, found);
    if (entry->value == NULL) {
        memcpy(&entry->counter, found->data, sizeof entry->counter);
        return CLCNN_OK;
    }
    return clcnn_tensor_write(entry->value, 0, found->data, found->count);
}

/* The name of a file tensor the network does not have, or NULL. */
static const char *unknown_tensor(const clcnn_net *net, const clcnn_safetensors *file) {
    for (size_t i = 0; i < clcnn_safetensors_count(file); i++) {
        const char *name = clcnn_safetensors_at(file, i)->name;
        if (clcnn__net_state_named(net, name) == NULL)
            return name;
    }
    return NULL;
}

/* Writes the file's tensors into the network when every one fits. */
static clcnn_status load_file(clcnn_net *net, const char *path, const clcnn_safetensors *file) {
    const char *unknown = unknown_tensor(net, file);
    if (unknown != NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE,
                           "checkpoint %s has tensor %s, which the network does not", path,
                           unknown);
    load_state state = {file, 0};
    clcnn_status status = for_each_entry(net, load_entry, &state);
    state.write = 1;
    if (status == CLCNN_OK)
        status = for_each_entry(net, load_entry, &state);
    return status;
}

static clcnn_status open_file(clcnn_context *ctx, const char *path, clcnn_safetensors **file) {
    char error[512] = "";
    clcnn_status status = clcnn_safetensors_load(path, error, sizeof error, file);
    if (status != CLCNN_OK)
        clcnn__fail(ctx, status, "%s", error);
    return status;
}

static clcnn_status net_load(clcnn_net *net, const char *path) {
    if (path == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "path is NULL");
    clcnn_safetensors *file = NULL;
    clcnn_status status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK)
        status = open_file(net->ctx, path, &file);
    if (status == CLCNN_OK)
        status = load_file(net, path, file);
    clcnn_safetensors_destroy(file);
    return status;
}

clcnn_status clcnn_net_load(clcnn_net *net, const char *path) {
    CLCNN__NET_PUBLIC(net, net_load(net, path));
}

/* -------------------------------------------------- rebuilt from a file */

static clcnn_status create_from_checkpoint(clcnn_context *ctx, const char *path, clcnn_net **out) {
    if (path == NULL || out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                           path == NULL ? "path" : "out");
    *out = NULL;
    clcnn_safetensors *file = NULL;
    clcnn_net *net = NULL;
    clcnn_status status = open_file(ctx, path, &file);
    const char *architecture =
        status == CLCNN_OK ? clcnn_safetensors_metadata(file, "architecture") : NULL;
    if (status == CLCNN_OK && architecture == NULL)
        status = clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE,
                             "checkpoint %s has no \"architecture\" in its metadata", path);
    if (status == CLCNN_OK)
        status = clcnn__net_from_architecture(ctx, architecture, &net);
    if (status == CLCNN_OK)
        status = clcnn__net_allocate_parameters(net); /* every value loaded below */
    if (status == CLCNN_OK)
        status = load_file(net, path, file);
    clcnn_safetensors_destroy(file);
    if (status != CLCNN_OK) {
        clcnn_net_destroy(net);
        return status;
    }
    *out = net;
    return CLCNN_OK;
}

clcnn_status clcnn_net_create_from_checkpoint(clcnn_context *context, const char *path,
                                              clcnn_net **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, create_from_checkpoint(context, path, out));
}
