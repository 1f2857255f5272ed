/* Device enumeration and the selection rules of clcnn_device_list_select. The
 * expected answers are computed here from the list itself, so the test holds
 * on any machine (POCL's one CPU device in CI); the rules themselves are also
 * checked on a made-up list of devices (clcnn__device_find). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

typedef struct fixture {
    clcnn_device_list *list;
    size_t count;
    clcnn_device_info *infos;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (clcnn_device_list_create(&f->list) != CLCNN_OK) {
        free(f);
        return -1;
    }
    f->count = clcnn_device_list_count(f->list);
    f->infos = calloc(f->count > 0 ? f->count : 1, sizeof *f->infos);
    if (f->infos == NULL)
        return -1;
    for (size_t i = 0; i < f->count; i++)
        if (clcnn_device_list_get(f->list, i, &f->infos[i]) != CLCNN_OK)
            return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f != NULL) {
        clcnn_device_list_destroy(f->list);
        free(f->infos);
        free(f);
    }
    return 0;
}

static int contains_ignoring_case(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack != '\0'; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] != '\0' &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* First index of a device of that type, or count when there is none. */
static size_t first_of_type(const fixture *f, clcnn_device_type type) {
    for (size_t i = 0; i < f->count; i++)
        if (f->infos[i].type == type)
            return i;
    return f->count;
}

/* First index whose device name, platform name, platform version, vendor
 * or driver version contains needle, or count. */
static size_t first_matching_name(const fixture *f, const char *needle) {
    for (size_t i = 0; i < f->count; i++) {
        const clcnn_device_info *info = &f->infos[i];
        if (contains_ignoring_case(info->device_name, needle) ||
            contains_ignoring_case(info->platform_name, needle) ||
            contains_ignoring_case(info->platform_version, needle) ||
            contains_ignoring_case(info->vendor, needle) ||
            contains_ignoring_case(info->driver_version, needle))
            return i;
    }
    return f->count;
}

static void expect_select(const fixture *f, const char *selector, size_t expected) {
    size_t index = (size_t)-1;
    char message[2048];
    clcnn_status status =
        clcnn_device_list_select(f->list, selector, message, sizeof message, &index);
    if (status != CLCNN_OK || index != expected) {
        print_error("select \"%s\": got %s index %zu, expected index %zu (%s)\n",
                    selector ? selector : "(NULL)", clcnn_status_name(status), index, expected,
                    message);
        fail();
    }
}

static void expect_not_found(const fixture *f, const char *selector) {
    size_t index = 12345;
    char message[2048];
    memset(message, 'x', sizeof message);
    clcnn_status status =
        clcnn_device_list_select(f->list, selector, message, sizeof message, &index);
    if (status != CLCNN_ERROR_DEVICE_NOT_FOUND) {
        print_error("select \"%s\": got %s index %zu, expected CLCNN_ERROR_DEVICE_NOT_FOUND\n",
                    selector, clcnn_status_name(status), index);
        fail();
    }
    assert_non_null(memchr(message, '\0', sizeof message));
    /* The message lists every device that does exist. */
    for (size_t i = 0; i < f->count; i++)
        TS_ASSERT_CONTAINS(message, f->infos[i].device_name);
}

static void test_list_sane(void **state) {
    fixture *f = *state;
    assert_true(f->count >= 1);
    for (size_t i = 0; i < f->count; i++) {
        const clcnn_device_info *info = &f->infos[i];
        assert_true(strlen(info->device_name) > 0);
        assert_true(strlen(info->platform_name) > 0);
        assert_true(strlen(info->vendor) > 0);
        assert_true(strlen(info->driver_version) > 0);
        assert_int_equal(strncmp(info->device_version, "OpenCL ", 7), 0);
        assert_int_equal(strncmp(info->opencl_c_version, "OpenCL C ", 9), 0);
        int major = 0, minor = 0;
        assert_int_equal(sscanf(info->opencl_c_version, "OpenCL C %d.%d", &major, &minor), 2);
        assert_int_equal(info->opencl_c_major, major);
        assert_int_equal(info->opencl_c_minor, minor);
        assert_true(info->opencl_c_major >= 1);
        assert_true(info->compute_units > 0);
        assert_true(info->global_mem_bytes > 0);
        assert_true(info->max_alloc_bytes > 0);
        assert_true(info->max_alloc_bytes <= info->global_mem_bytes);
        assert_true(info->local_mem_bytes > 0);
        assert_true(info->max_work_group_size >= 1);
        assert_true(info->has_fp64 == 0 || info->has_fp64 == 1);
        assert_true(info->has_fp16 == 0 || info->has_fp16 == 1);
        /* POCL's CPU driver ("pthread-..." / "cpu-...") is a CPU device. */
        if (strstr(info->platform_name, "Portable Computing Language") != NULL &&
            (strncmp(info->device_name, "pthread", 7) == 0 ||
             strncmp(info->device_name, "cpu", 3) == 0))
            assert_int_equal(info->type, CLCNN_DEVICE_TYPE_CPU);
        /* Each "P:D" pair names one device. */
        for (size_t j = 0; j < i; j++)
            assert_false(f->infos[j].platform_index == info->platform_index &&
                         f->infos[j].device_index == info->device_index);
    }
    assert_int_equal(f->infos[0].platform_index, 0);
    assert_int_equal(f->infos[0].device_index, 0);
}

/* The list agrees with what OpenCL itself reports. */
static void test_list_matches_opencl(void **state) {
    fixture *f = *state;
    cl_uint platform_count = 0;
    assert_int_equal(clGetPlatformIDs(0, NULL, &platform_count), CL_SUCCESS);
    cl_platform_id *platforms = ts_malloc(platform_count * sizeof *platforms);
    assert_int_equal(clGetPlatformIDs(platform_count, platforms, NULL), CL_SUCCESS);
    size_t total = 0;
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_uint n = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS)
            continue;
        cl_device_id *devices = ts_malloc(n * sizeof *devices);
        assert_int_equal(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, n, devices, NULL),
                         CL_SUCCESS);
        for (cl_uint d = 0; d < n; d++) {
            char name[CLCNN_NAME_MAX] = "";
            cl_ulong global = 0;
            cl_device_type type = 0;
            clGetDeviceInfo(devices[d], CL_DEVICE_NAME, sizeof name, name, NULL);
            clGetDeviceInfo(devices[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
            clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            name[sizeof name - 1] = '\0';
            size_t found = f->count;
            for (size_t i = 0; i < f->count; i++)
                if (f->infos[i].platform_index == p && f->infos[i].device_index == d)
                    found = i;
            assert_true(found < f->count);
            assert_string_equal(f->infos[found].device_name, name);
            assert_int_equal(f->infos[found].global_mem_bytes, global);
            if (type & CL_DEVICE_TYPE_GPU)
                assert_int_equal(f->infos[found].type, CLCNN_DEVICE_TYPE_GPU);
            else if (type & CL_DEVICE_TYPE_CPU)
                assert_int_equal(f->infos[found].type, CLCNN_DEVICE_TYPE_CPU);
            total++;
        }
        free(devices);
    }
    free(platforms);
    assert_int_equal(total, f->count);
}

static void test_type_names(void **state) {
    (void)state;
    assert_string_equal(clcnn_device_type_name(CLCNN_DEVICE_TYPE_GPU), "gpu");
    assert_string_equal(clcnn_device_type_name(CLCNN_DEVICE_TYPE_CPU), "cpu");
    assert_string_equal(clcnn_device_type_name(CLCNN_DEVICE_TYPE_ACCELERATOR), "accelerator");
    assert_string_equal(clcnn_device_type_name(CLCNN_DEVICE_TYPE_OTHER), "other");
}

static void test_get_bounds(void **state) {
    fixture *f = *state;
    clcnn_device_info info;
    TS_ASSERT_OK(NULL, clcnn_device_list_get(f->list, f->count - 1, &info));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_device_list_get(f->list, f->count, &info));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_device_list_get(f->list, (size_t)-1, &info));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_device_list_get(NULL, 0, &info));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_device_list_get(f->list, 0, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_device_list_create(NULL));
    clcnn_device_list_destroy(NULL);
}

static void test_select_indices(void **state) {
    fixture *f = *state;
    size_t expected_00 = f->count;
    for (size_t i = 0; i < f->count; i++)
        if (f->infos[i].platform_index == 0 && f->infos[i].device_index == 0)
            expected_00 = i;
    assert_true(expected_00 < f->count);
    expect_select(f, "0:0", expected_00);
    for (size_t i = 0; i < f->count; i++) {
        char selector[64];
        snprintf(selector, sizeof selector, "%zu:%zu", f->infos[i].platform_index,
                 f->infos[i].device_index);
        expect_select(f, selector, i);
    }
}

static void test_select_types(void **state) {
    fixture *f = *state;
    static const struct {
        const char *selector;
        clcnn_device_type type;
    } cases[] = {{"cpu", CLCNN_DEVICE_TYPE_CPU},
                 {"CPU", CLCNN_DEVICE_TYPE_CPU},
                 {"gpu", CLCNN_DEVICE_TYPE_GPU},
                 {"GPU", CLCNN_DEVICE_TYPE_GPU},
                 {"accelerator", CLCNN_DEVICE_TYPE_ACCELERATOR}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t expected = first_of_type(f, cases[c].type);
        if (expected < f->count)
            expect_select(f, cases[c].selector, expected);
        else
            expect_not_found(f, cases[c].selector);
    }
}

/* "gpu" on a machine with none (POCL in CI): not found, and the message
 * names the devices that exist. */
static void test_select_gpu_missing(void **state) {
    fixture *f = *state;
    if (first_of_type(f, CLCNN_DEVICE_TYPE_GPU) < f->count)
        skip();
    expect_not_found(f, "gpu");
}

static void test_select_default(void **state) {
    fixture *f = *state;
    size_t expected = first_of_type(f, CLCNN_DEVICE_TYPE_GPU);
    if (expected == f->count)
        expected = first_of_type(f, CLCNN_DEVICE_TYPE_CPU);
    if (expected == f->count)
        expected = 0;
    expect_select(f, NULL, expected);
    expect_select(f, "", expected);
}

/* An upper-cased piece from the middle of s that is not a type keyword and
 * not an index pair; "" when s is too short. */
static void middle_piece(const char *s, char *out, size_t size) {
    size_t n = strlen(s);
    out[0] = '\0';
    if (n < 4 || size < 2)
        return;
    size_t start = n / 4, length = n / 2;
    if (length >= size)
        length = size - 1;
    size_t k = 0;
    for (size_t i = start; i < start + length && k + 1 < size && s[i] != ':'; i++)
        out[k++] = (char)toupper((unsigned char)s[i]);
    out[k] = '\0';
    if (k < 2)
        out[0] = '\0';
    if (strcmp(out, "CPU") == 0 || strcmp(out, "GPU") == 0 || strcmp(out, "ACCELERATOR") == 0)
        out[0] = '\0';
}

static void test_select_device_name(void **state) {
    fixture *f = *state;
    for (size_t i = 0; i < f->count; i++) {
        char piece[CLCNN_NAME_MAX];
        middle_piece(f->infos[i].device_name, piece, sizeof piece);
        if (piece[0] == '\0')
            continue;
        size_t expected = first_matching_name(f, piece);
        assert_true(expected <= i);
        expect_select(f, piece, expected);
        /* The whole name, lower-cased, selects the same way. */
        char lower[CLCNN_NAME_MAX];
        size_t k = 0;
        for (; f->infos[i].device_name[k] != '\0' && k + 1 < sizeof lower; k++)
            lower[k] = (char)tolower((unsigned char)f->infos[i].device_name[k]);
        lower[k] = '\0';
        if (strchr(lower, ':') == NULL)
            expect_select(f, lower, first_matching_name(f, lower));
    }
}

static void test_select_platform_name(void **state) {
    fixture *f = *state;
    for (size_t i = 0; i < f->count; i++) {
        char piece[CLCNN_NAME_MAX];
        middle_piece(f->infos[i].platform_name, piece, sizeof piece);
        if (piece[0] == '\0')
            continue;
        expect_select(f, piece, first_matching_name(f, piece));
    }
    size_t pocl = first_matching_name(f, "Portable Computing Language");
    if (pocl < f->count) {
        expect_select(f, "portable", first_matching_name(f, "portable"));
        assert_true(first_matching_name(f, "portable") <= pocl);
        /* The README's example: POCL says "pocl" only in its version. */
        expect_select(f, "pocl", first_matching_name(f, "pocl"));
        assert_true(first_matching_name(f, "pocl") <= pocl);
    }
}

/* Every device is found by a piece of its platform version, vendor and
 * driver version too. */
static void test_select_other_strings(void **state) {
    fixture *f = *state;
    for (size_t i = 0; i < f->count; i++) {
        const char *texts[] = {f->infos[i].platform_version, f->infos[i].vendor,
                               f->infos[i].driver_version};
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            char piece[CLCNN_NAME_MAX];
            middle_piece(texts[t], piece, sizeof piece);
            if (piece[0] == '\0')
                continue;
            size_t expected = first_matching_name(f, piece);
            assert_true(expected <= i);
            expect_select(f, piece, expected);
        }
    }
}

/* ------------------------------------------ the rules, on made-up devices */

static clcnn_device_info made_up(size_t platform, size_t device, clcnn_device_type type,
                                 const char *platform_name, const char *platform_version,
                                 const char *device_name, const char *vendor,
                                 const char *driver_version) {
    clcnn_device_info info;
    memset(&info, 0, sizeof info);
    info.platform_index = platform;
    info.device_index = device;
    info.type = type;
    snprintf(info.platform_name, sizeof info.platform_name, "%s", platform_name);
    snprintf(info.platform_version, sizeof info.platform_version, "%s", platform_version);
    snprintf(info.device_name, sizeof info.device_name, "%s", device_name);
    snprintf(info.vendor, sizeof info.vendor, "%s", vendor);
    snprintf(info.driver_version, sizeof info.driver_version, "%s", driver_version);
    snprintf(info.device_version, sizeof info.device_version, "OpenCL 3.0 DEVICEVERSIONONLY");
    snprintf(info.opencl_c_version, sizeof info.opencl_c_version, "OpenCL C 1.2 CVERSIONONLY");
    return info;
}

/* What each kind of selector matches, on a machine with an NVIDIA GPU, POCL,
 * Mesa's rusticl and an Intel GPU, as their drivers describe themselves. */
static void test_select_rules(void **state) {
    (void)state;
    const clcnn_device_info infos[] = {
        made_up(0, 0, CLCNN_DEVICE_TYPE_GPU, "NVIDIA CUDA", "OpenCL 3.0 CUDA 12.2.140",
                "NVIDIA GeForce RTX 3090", "NVIDIA Corporation", "535.104.05"),
        made_up(1, 0, CLCNN_DEVICE_TYPE_CPU, "Portable Computing Language",
                "OpenCL 3.0 PoCL 3.1+debian  Linux, None+Asserts, RELOC, LLVM 15.0.6",
                "pthread-skylake-avx512-AMD EPYC", "AuthenticAMD", "3.1+debian"),
        made_up(2, 0, CLCNN_DEVICE_TYPE_CPU, "rusticl", "OpenCL 3.0 ",
                "llvmpipe (LLVM 15.0.6, 256 bits)", "Mesa/X.org", "23.2.1"),
        made_up(3, 0, CLCNN_DEVICE_TYPE_GPU, "Intel(R) OpenCL Graphics", "OpenCL 3.0 ",
                "Intel(R) UHD Graphics 770", "Intel(R) Corporation", "23.17.26241.33"),
    };
    const size_t count = sizeof infos / sizeof infos[0];
    static const struct {
        const char *selector;
        size_t expected; /* SIZE_MAX: matches nothing */
    } cases[] = {
        {NULL, 0},                       /* the default: the first GPU */
        {"", 0},                         /* the same */
        {"gpu", 0},                      /* the first of a type */
        {"CPU", 1},                      /* the same, any case */
        {"accelerator", SIZE_MAX},       /* none of that type */
        {"1:0", 1},                      /* indices */
        {"3:0", 3},                      /* indices */
        {"0:1", SIZE_MAX},               /* no such pair */
        {"pocl", 1},                     /* platform version */
        {"PoCL", 1},                     /* platform version */
        {"cuda 12", 0},                  /* platform version */
        {"portable", 1},                 /* platform name */
        {"rusticl", 2},                  /* platform name */
        {"LLVMPIPE", 2},                 /* device name */
        {"uhd graphics", 3},             /* device name */
        {"authenticamd", 1},             /* vendor */
        {"mesa", 2},                     /* vendor */
        {"535.104", 0},                  /* driver version */
        {"23.17.26241", 3},              /* driver version */
        {"nvidia", 0},                   /* device name and vendor */
        {"intel", 3},                    /* device name and vendor */
        {"opencl 3.0", 0},               /* all match: the first in order */
        {"llvm 15.0.6", 1},              /* POCL's version comes before rusticl */
        {"DEVICEVERSIONONLY", SIZE_MAX}, /* the device version is not matched */
        {"CVERSIONONLY", SIZE_MAX},      /* nor the OpenCL C version */
        {"nothing-like-this", SIZE_MAX},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t index = SIZE_MAX;
        int found = clcnn__device_find(infos, count, cases[c].selector, &index);
        if (found != (cases[c].expected != SIZE_MAX) || (found && index != cases[c].expected)) {
            print_error("selector \"%s\": found %d index %zu, expected %s %zu\n",
                        cases[c].selector ? cases[c].selector : "(NULL)", found, index,
                        cases[c].expected == SIZE_MAX ? "nothing" : "index", cases[c].expected);
            fail();
        }
    }
    /* No GPU: the default is the first CPU; no device at all: nothing. */
    size_t index = SIZE_MAX;
    assert_true(clcnn__device_find(infos + 1, 2, NULL, &index));
    assert_int_equal(index, 0);
    assert_false(clcnn__device_find(infos, 0, NULL, &index));
}

static void test_select_not_found(void **state) {
    fixture *f = *state;
    const char *selectors[] = {"9:9", "nonexistent-device", "1:", ":0", "0:x", "0:0:0"};
    for (size_t i = 0; i < sizeof selectors / sizeof selectors[0]; i++) {
        if (strcmp(selectors[i], "9:9") == 0 && f->count > 9)
            continue;
        expect_not_found(f, selectors[i]);
    }
}

static void test_select_invalid_arguments(void **state) {
    fixture *f = *state;
    size_t index = 0;
    char message[64];
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_device_list_select(NULL, "cpu", message, sizeof message, &index));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_device_list_select(f->list, "cpu", message, sizeof message, NULL));
    /* No message buffer is fine. */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND,
                     clcnn_device_list_select(f->list, "nonexistent-device", NULL, 0, &index));
}

static void test_select_message_truncated(void **state) {
    fixture *f = *state;
    char message[32];
    size_t index = 0;
    memset(message, 'x', sizeof message);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND,
                     clcnn_device_list_select(f->list, "nonexistent-device", message, 8, &index));
    assert_int_equal(message[7], '\0');
    assert_int_equal(strlen(message), 7);
    for (size_t i = 8; i < sizeof message; i++)
        assert_int_equal(message[i], 'x');

    /* Size 1 leaves just the terminator; size 0 writes nothing. */
    memset(message, 'x', sizeof message);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND,
                     clcnn_device_list_select(f->list, "nonexistent-device", message, 1, &index));
    assert_int_equal(message[0], '\0');
    assert_int_equal(message[1], 'x');
    memset(message, 'x', sizeof message);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_NOT_FOUND,
                     clcnn_device_list_select(f->list, "nonexistent-device", message, 0, &index));
    assert_int_equal(message[0], 'x');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_sane),
        cmocka_unit_test(test_list_matches_opencl),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_get_bounds),
        cmocka_unit_test(test_select_indices),
        cmocka_unit_test(test_select_types),
        cmocka_unit_test(test_select_gpu_missing),
        cmocka_unit_test(test_select_default),
        cmocka_unit_test(test_select_device_name),
        cmocka_unit_test(test_select_platform_name),
        cmocka_unit_test(test_select_other_strings),
        cmocka_unit_test(test_select_rules),
        cmocka_unit_test(test_select_not_found),
        cmocka_unit_test(test_select_invalid_arguments),
        cmocka_unit_test(test_select_message_truncated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
