/* Checkpoints (the state dict as safetensors, PyTorch's names and dtypes)
 * and the folded inference network. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/safetensors.h"
#include "nn/net_internal.h"

/* One entry of the state dict: a float tensor, or a layer's
 * num_batches_tracked (tensor NULL). */
typedef struct state_entry {
    const char *name;
    clcnn_tensor *tensor;
    clcnn__layer *layer;
} state_entry;

/* Calls visit for each entry in PyTorch's state-dict order. */
static clcnn_status for_each_entry(clcnn_net *net,
                                   clcnn_status (*visit)(clcnn_net *, const state_entry *, void *),
                                   void *data) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++) {
        clcnn__layer *l = &net->layers[i];
        if (l->weight == NULL)
            continue;
        state_entry entries[5] = {{l->names.weight, l->weight, l},
                                  {l->names.bias, l->bias, l},
                                  {l->names.running_mean, l->bn_state.running_mean, l},
                                  {l->names.running_var, l->bn_state.running_var, l},
                                  {l->names.num_batches_tracked, NULL, l}};
        size_t count = l->kind == CLCNN_LAYER_BATCHNORM ? 5 : (l->bias != NULL ? 2 : 1);
        for (size_t e = 0; e < count && status == CLCNN_OK; e++)
            status = visit(net, &entries[e], data);
    }
    return status;
}

/* ------------------------------------------------------------------- save */

static clcnn_status save_entry(clcnn_net *net, const state_entry *entry, void *data) {
    clcnn_safetensors *file = data;
    if (entry->tensor == NULL) {
        int64_t tracked = entry->layer->bn_state.num_batches_tracked;
        return clcnn_safetensors_add(file, entry->name, CLCNN_DTYPE_I64, 0, NULL, &tracked);
    }
    size_t count = clcnn_tensor_numel(entry->tensor), dims[CLCNN_MAX_DIMS];
    size_t ndim = clcnn_tensor_ndim(entry->tensor);
    for (size_t i = 0; i < ndim; i++)
        dims[i] = clcnn_tensor_dim(entry->tensor, i);
    float *host = malloc(count * sizeof *host);
    if (host == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status status = clcnn_tensor_read(entry->tensor, 0, host, count);
    if (status == CLCNN_OK)
        status = clcnn_safetensors_add(file, entry->name, CLCNN_DTYPE_F32, ndim, dims, host);
    free(host);
    return status;
}

/* A float as the double nearest to its shortest decimal that reads back as
 * the same float (1e-05f: 1e-05), so that the architecture, dumped with 9
 * significant digits, says 1e-05 rather than 9.99999975e-06. */
static json_t *short_real(float value) {
    char text[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)value);
        if (strtof(text, NULL) == value)
            break;
    }
    return json_real(strtod(text, NULL));
}

static json_t *describe_layer(const clcnn__layer *l) {
    json_t *layer = json_pack("{s:s}", "kind", clcnn__layer_kind_name(l->kind));
    if (l->name[0] != '\0')
        json_object_set_new(layer, "name", json_string(l->name));
    if (l->kind == CLCNN_LAYER_CONV2D)
        json_object_set_new(
            layer, "conv",
            json_pack("{s:I,s:[I,I],s:[I,I],s:[I,I],s:[I,I],s:I,s:b}", "out_channels",
                      (json_int_t)l->out_dims[0], "kernel", (json_int_t)l->kernel_h,
                      (json_int_t)l->kernel_w, "stride", (json_int_t)l->conv.stride_h,
                      (json_int_t)l->conv.stride_w, "padding", (json_int_t)l->conv.pad_h,
                      (json_int_t)l->conv.pad_w, "dilation", (json_int_t)l->conv.dilation_h,
                      (json_int_t)l->conv.dilation_w, "groups", (json_int_t)l->conv.groups, "bias",
                      l->has_bias));
    else if (l->kind == CLCNN_LAYER_DENSE)
        json_object_set_new(layer, "out_features", json_integer((json_int_t)l->out_dims[0]));
    else if (l->kind == CLCNN_LAYER_BATCHNORM)
        json_object_set_new(layer, "eps", short_real(l->bn.eps));
    else if (l->kind == CLCNN_LAYER_POOL2D)
        json_object_set_new(layer, "pool",
                            json_pack("{s:s,s:[I,I],s:[I,I]}", "mode",
                                      l->pool.mode == CLCNN_POOL2D_MAX ? "max" : "avg", "kernel",
                                      (json_int_t)l->pool.kernel_h, (json_int_t)l->pool.kernel_w,
                                      "stride", (json_int_t)l->pool.stride_h,
                                      (json_int_t)l->pool.stride_w));
    else if (l->kind == CLCNN_LAYER_DROPOUT)
        json_object_set_new(layer, "p", short_real(l->dropout_p));
    return layer;
}

/* {"input": [C, H, W], "layers": [...]} as compact JSON (malloc'ed). */
static char *describe_architecture(const clcnn_net *net) {
    json_t *input = json_array(), *layers = json_array();
    for (size_t i = 0; i < net->in_ndim; i++)
        json_array_append_new(input, json_integer((json_int_t)net->in_dims[i]));
    for (size_t i = 0; i < net->layer_count; i++)
        json_array_append_new(layers, describe_layer(&net->layers[i]));
    json_t *root = json_pack("{s:o,s:o}", "input", input, "layers", layers);
    char *text = root != NULL
                     ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))
                     : NULL;
    json_decref(root);
    return text;
}

static clcnn_status add_metadata(clcnn_net *net, clcnn_safetensors *file,
                                 const char *const *metadata) {
    char *architecture = describe_architecture(net);
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
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_save(net, path, metadata));
}

/* ------------------------------------------------------------------- load */

/* Loading checks every entry first and writes only when all fit, so a
 * rejected file leaves the network as it was. */
typedef struct load_state {
    const clcnn_safetensors *file;
    int write;
} load_state;

static clcnn_status check_entry_shape(clcnn_net *net, const state_entry *entry,
                                      const clcnn_safetensors_tensor *found) {
    clcnn_dtype want = entry->tensor != NULL ? CLCNN_DTYPE_F32 : CLCNN_DTYPE_I64;
    int fits = found->dtype == want;
    if (entry->tensor != NULL) {
        fits = fits && found->ndim == clcnn_tensor_ndim(entry->tensor);
        for (size_t i = 0; fits && i < found->ndim; i++)
            fits = found->dims[i] == clcnn_tensor_dim(entry->tensor, i);
    } else {
        fits = fits && found->count == 1;
    }
    if (fits)
        return CLCNN_OK;
    char shape[96] = "[]";
    if (entry->tensor != NULL)
        clcnn__shape_string(entry->tensor, shape, sizeof shape);
    return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE,
                       "checkpoint tensor %s is %s with %zu dimensions; the network needs %s %s",
                       entry->name, clcnn_dtype_name(found->dtype), found->ndim,
                       clcnn_dtype_name(want), shape);
}

static clcnn_status load_entry(clcnn_net *net, const state_entry *entry, void *data) {
    load_state *state = data;
    const clcnn_safetensors_tensor *found = clcnn_safetensors_find(state->file, entry->name);
    if (found == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE, "checkpoint lacks tensor %s",
                           entry->name);
    if (!state->write)
        return check_entry_shape(net, entry, found);
    if (entry->tensor == NULL) {
        int64_t tracked;
        memcpy(&tracked, found->data, sizeof tracked);
        entry->layer->bn_state.num_batches_tracked = tracked;
        return CLCNN_OK;
    }
    return clcnn_tensor_write(entry->tensor, 0, found->data, found->count);
}

/* The name of a file tensor the network does not have, or NULL. */
static const char *unknown_tensor(clcnn_net *net, const clcnn_safetensors *file) {
    for (size_t i = 0; i < clcnn_safetensors_count(file); i++) {
        const char *name = clcnn_safetensors_at(file, i)->name;
        int known = 0;
        for (size_t l = 0; l < net->layer_count && !known; l++) {
            const clcnn__layer_names *n = &net->layers[l].names;
            known = strcmp(n->weight, name) == 0 || strcmp(n->bias, name) == 0 ||
                    strcmp(n->running_mean, name) == 0 || strcmp(n->running_var, name) == 0 ||
                    strcmp(n->num_batches_tracked, name) == 0;
        }
        if (!known)
            return name;
    }
    return NULL;
}

static clcnn_status net_load(clcnn_net *net, const char *path) {
    if (path == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "path is NULL");
    clcnn_safetensors *file = NULL;
    char error[512] = "";
    clcnn_status status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK) {
        status = clcnn_safetensors_load(path, error, sizeof error, &file);
        if (status != CLCNN_OK)
            clcnn__fail(net->ctx, status, "%s", error);
    }
    const char *unknown = status == CLCNN_OK ? unknown_tensor(net, file) : NULL;
    if (unknown != NULL)
        status =
            clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE,
                        "checkpoint %s has tensor %s, which the network does not", path, unknown);
    load_state state = {file, 0};
    if (status == CLCNN_OK)
        status = for_each_entry(net, load_entry, &state);
    state.write = 1;
    if (status == CLCNN_OK)
        status = for_each_entry(net, load_entry, &state);
    clcnn_safetensors_destroy(file);
    return status;
}

clcnn_status clcnn_net_load(clcnn_net *net, const char *path) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_load(net, path));
}
