/* The keys the tuners store, for callers that tune many shapes
 * (clcnn/tune.h). Kept apart from the tuners themselves: naming a key
 * needs no device. */
#include "ops/gemm.h"

clcnn_status clcnn_gemm_tune_key(size_t m, size_t n, size_t k, char key[CLCNN_TUNE_KEY_MAX]) {
    if (key == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    key[0] = '\0';
    if (m == 0 || n == 0 || k == 0)
        return CLCNN_ERROR_INVALID_SHAPE;
    /* Three buckets of at most 20 digits each always fit the key's room. */
    clcnn__gemm_tuning_key(m, n, k, key, CLCNN_TUNE_KEY_MAX);
    return CLCNN_OK;
}
