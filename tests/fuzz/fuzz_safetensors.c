/* libFuzzer target: clcnn_safetensors_parse must accept or reject any bytes
 * without crashing, reading out of bounds or leaking; an accepted file must
 * re-save and re-load to the same tensors. Built and run by ci/fuzz.sh. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clcnn/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const clcnn_safetensors *file) {
    char path[] = "/tmp/clcnn-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    close(fd);
    clcnn_safetensors *again = NULL;
    if (clcnn_safetensors_save(file, path, NULL, 0) != CLCNN_OK ||
        clcnn_safetensors_load(path, NULL, 0, &again) != CLCNN_OK)
        abort();
    if (clcnn_safetensors_count(again) != clcnn_safetensors_count(file))
        abort();
    for (size_t i = 0; i < clcnn_safetensors_count(file); i++) {
        const clcnn_safetensors_tensor *a = clcnn_safetensors_at(file, i);
        const clcnn_safetensors_tensor *b = clcnn_safetensors_find(again, a->name);
        if (b == NULL || b->nbytes != a->nbytes || memcmp(a->data, b->data, a->nbytes) != 0)
            abort();
    }
    clcnn_safetensors_destroy(again);
    remove(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    clcnn_safetensors *file = NULL;
    char error[256];
    clcnn_status status = clcnn_safetensors_parse(data, size, error, sizeof error, &file);
    if ((status == CLCNN_OK) != (file != NULL))
        abort();
    if (file != NULL)
        check_round_trip(file);
    clcnn_safetensors_destroy(file);
    return 0;
}
