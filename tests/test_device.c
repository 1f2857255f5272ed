/* Device enumeration and the selection rules of clcnn_device_list_select. The
 * expected answers are computed here from the list itself, so the test holds
 * on any machine (POCL's one CPU device in CI); the rules themselves are also
 * checked on a made-up list of devices (clcnn__device_find). Devices older
 * than OpenCL 1.2 are met for real through Mesa's Clover: the test runs
 * itself again with Clover's llvmpipe device turned on (LP_CL=1), since the
 * OpenCL drivers read their environment once per process. */
#include <ctype.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* First index of a device of that type, or count when there is none; a
 * usable device comes before an unusable one. */
static size_t first_of_type(const fixture *f, clcnn_device_type type) {
    for (int usable_only = 1; usable_only >= 0; usable_only--)
        for (size_t i = 0; i < f->count; i++)
            if (f->infos[i].type == type && (f->infos[i].supported || !usable_only))
                return i;
    return f->count;
}

static int names_contain(const clcnn_device_info *info, const char *needle) {
    return contains_ignoring_case(info->device_name, needle) ||
           contains_ignoring_case(info->platform_name, needle) ||
           contains_ignoring_case(info->platform_version, needle) ||
           contains_ignoring_case(info->vendor, needle) ||
           contains_ignoring_case(info->driver_version, needle);
}

/* First index whose device name, platform name, platform version, vendor
 * or driver version contains needle, or count; a usable device comes before
 * an unusable one. */
static size_t first_matching_name(const fixture *f, const char *needle) {
    for (int usable_only = 1; usable_only >= 0; usable_only--)
        for (size_t i = 0; i < f->count; i++)
            if (names_contain(&f->infos[i], needle) && (f->infos[i].supported || !usable_only))
                return i;
    return f->count;
}

/* The selector gives the expected device: OK for a usable one, refused with
 * CLCNN_ERROR_DEVICE_UNSUPPORTED (and the same index) for one too old. */
static void expect_select(const fixture *f, const char *selector, size_t expected) {
    size_t index = (size_t)-1;
    char message[2048];
    clcnn_status status =
        clcnn_device_list_select(f->list, selector, message, sizeof message, &index);
    clcnn_status expected_status = expected < f->count && !f->infos[expected].supported
                                       ? CLCNN_ERROR_DEVICE_UNSUPPORTED
                                       : CLCNN_OK;
    if (status != expected_status || index != expected) {
        print_error("select \"%s\": got %s index %zu, expected %s index %zu (%s)\n",
                    selector ? selector : "(NULL)", clcnn_status_name(status), index,
                    clcnn_status_name(expected_status), expected, message);
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
        /* Usable exactly when device, OpenCL C and platform are 1.2 or later,
         * as sscanf reads them; else the reason says why. */
        int device_major = 0, device_minor = 0, platform_major = 0, platform_minor = 0;
        sscanf(info->device_version, "OpenCL %d.%d", &device_major, &device_minor);
        sscanf(info->platform_version, "OpenCL %d.%d", &platform_major, &platform_minor);
        int new_enough = device_major * 100 + device_minor >= 102 &&
                         info->opencl_c_major * 100 + info->opencl_c_minor >= 102 &&
                         platform_major * 100 + platform_minor >= 102;
        assert_int_equal(info->supported, new_enough);
        assert_int_equal(info->unsupported_reason[0] == '\0', info->supported);
        assert_non_null(memchr(info->unsupported_reason, '\0', sizeof info->unsupported_reason));
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

/* The default: the first usable GPU, else CPU, else device; only when no
 * device is usable, the first GPU, else CPU, else device. */
static size_t first_by_default(const fixture *f) {
    for (int usable_only = 1; usable_only >= 0; usable_only--)
        for (int wish = 0; wish < 3; wish++)
            for (size_t i = 0; i < f->count; i++) {
                const clcnn_device_info *info = &f->infos[i];
                int fits = wish == 0   ? info->type == CLCNN_DEVICE_TYPE_GPU
                           : wish == 1 ? info->type == CLCNN_DEVICE_TYPE_CPU
                                       : 1;
                if (fits && (info->supported || !usable_only))
                    return i;
            }
    return f->count;
}

static void test_select_default(void **state) {
    fixture *f = *state;
    expect_select(f, NULL, first_by_default(f));
    expect_select(f, "", first_by_default(f));
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
    clcnn__device_check_support(&info);
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

/* ------------------------------------- versions and what libclcnn can use */

static void test_parse_version(void **state) {
    (void)state;
    static const struct {
        const char *text, *prefix;
        int readable, major, minor;
    } cases[] = {
        {"OpenCL 1.1 Mesa 22.3.6", "OpenCL ", 1, 1, 1}, /* Clover */
        {"OpenCL 3.0 ", "OpenCL ", 1, 3, 0},            /* rusticl */
        {"OpenCL 3.0 PoCL HSTR: pthread-x86_64", "OpenCL ", 1, 3, 0},
        {"OpenCL 1.2", "OpenCL ", 1, 1, 2},       /* nothing after */
        {"OpenCL 12.34 x", "OpenCL ", 1, 12, 34}, /* more than one digit */
        {"OpenCL C 1.2 PoCL", "OpenCL C ", 1, 1, 2},
        {"OpenCL C 1.1 ", "OpenCL C ", 1, 1, 1},
        {"OpenCL C 3.0", "OpenCL C ", 1, 3, 0},
        {"OpenCL C 1.2", "OpenCL ", 0, 0, 0}, /* not a device version */
        {"", "OpenCL ", 0, 0, 0},
        {"OpenCL", "OpenCL ", 0, 0, 0},
        {"OpenCL ", "OpenCL ", 0, 0, 0},
        {"OpenCL 1", "OpenCL ", 0, 0, 0},
        {"OpenCL 1.", "OpenCL ", 0, 0, 0},
        {"OpenCL .2", "OpenCL ", 0, 0, 0},
        {"OpenCL x.y", "OpenCL ", 0, 0, 0},
        {"OpenCL -1.2", "OpenCL ", 0, 0, 0},
        {"OpenCL  1.2", "OpenCL ", 0, 0, 0},
        {"OpenCL 1.2x", "OpenCL ", 0, 0, 0},
        {"OpenCL 1.-2", "OpenCL ", 0, 0, 0},
        {"OpenCL 99999.1", "OpenCL ", 0, 0, 0}, /* no version is that long */
        {"opencl 1.2", "OpenCL ", 0, 0, 0},     /* the spec's spelling only */
        {" OpenCL 1.2", "OpenCL ", 0, 0, 0},
        {"garbage", "OpenCL C ", 0, 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int major = -1, minor = -1;
        int readable = clcnn__parse_version(cases[c].text, cases[c].prefix, &major, &minor);
        if (readable != cases[c].readable || major != cases[c].major || minor != cases[c].minor) {
            print_error("\"%s\" after \"%s\": got %d %d.%d, expected %d %d.%d\n", cases[c].text,
                        cases[c].prefix, readable, major, minor, cases[c].readable, cases[c].major,
                        cases[c].minor);
            fail();
        }
    }
}

/* Facts with the three version strings given and a stale verdict, which
 * clcnn__device_check_support must overwrite. */
static clcnn_device_info with_versions(const char *device, const char *c, const char *platform) {
    clcnn_device_info info;
    memset(&info, 0, sizeof info);
    snprintf(info.device_version, sizeof info.device_version, "%s", device);
    snprintf(info.opencl_c_version, sizeof info.opencl_c_version, "%s", c);
    snprintf(info.platform_version, sizeof info.platform_version, "%s", platform);
    info.supported = -1;
    snprintf(info.unsupported_reason, sizeof info.unsupported_reason, "stale");
    return info;
}

static void test_support_decision(void **state) {
    (void)state;
    static const struct {
        const char *device, *c, *platform;
        int supported;
        const char *reason; /* exact */
    } cases[] = {
        {"OpenCL 1.2 x", "OpenCL C 1.2 x", "OpenCL 1.2 x", 1, ""},
        {"OpenCL 2.0 AMD-APP", "OpenCL C 2.0 ", "OpenCL 2.0 AMD-APP (3513.0)", 1, ""},
        {"OpenCL 2.1 ", "OpenCL C 1.2 ", "OpenCL 3.0 ", 1, ""},
        /* OpenCL 3.0 with OpenCL C 1.2 (rusticl, NVIDIA) is fine */
        {"OpenCL 3.0 ", "OpenCL C 1.2 ", "OpenCL 3.0 ", 1, ""},
        {"OpenCL 3.0 CUDA", "OpenCL C 1.2 ", "OpenCL 3.0 CUDA 12.2.140", 1, ""},
        {"OpenCL 3.0 ", "OpenCL C 3.0 ", "OpenCL 3.0 ", 1, ""},
        /* Mesa's Clover */
        {"OpenCL 1.1 Mesa 22.3.6", "OpenCL C 1.1 ", "OpenCL 1.1 Mesa 22.3.6", 0,
         "supports OpenCL 1.1 (OpenCL C 1.1); libclcnn needs 1.2"},
        {"OpenCL 1.0 ", "OpenCL C 1.0 ", "OpenCL 1.2 ", 0,
         "supports OpenCL 1.0 (OpenCL C 1.0); libclcnn needs 1.2"},
        {"OpenCL 0.9 ", "OpenCL C 2.0 ", "OpenCL 3.0 ", 0,
         "supports OpenCL 0.9 (OpenCL C 2.0); libclcnn needs 1.2"},
        /* each version on its own is enough to refuse */
        {"OpenCL 1.2 ", "OpenCL C 1.1 ", "OpenCL 1.2 ", 0,
         "supports OpenCL 1.2 (OpenCL C 1.1); libclcnn needs 1.2"},
        {"OpenCL 1.1 ", "OpenCL C 1.2 ", "OpenCL 1.2 ", 0,
         "supports OpenCL 1.1 (OpenCL C 1.2); libclcnn needs 1.2"},
        /* Clover told to claim 1.2 for its device keeps a 1.1 platform */
        {"OpenCL 1.2 Mesa 22.3.6", "OpenCL C 1.2 ", "OpenCL 1.1 Mesa 22.3.6", 0,
         "is on a platform that supports OpenCL 1.1; libclcnn needs 1.2"},
        /* garbage and empty strings are never taken for a version */
        {"garbage", "OpenCL C 1.2 ", "OpenCL 3.0 ", 0,
         "gives unreadable versions (CL_DEVICE_VERSION \"garbage\", "
         "CL_DEVICE_OPENCL_C_VERSION \"OpenCL C 1.2 \"); libclcnn needs OpenCL 1.2"},
        {"OpenCL 3.0 ", "1.2", "OpenCL 3.0 ", 0,
         "gives unreadable versions (CL_DEVICE_VERSION \"OpenCL 3.0 \", "
         "CL_DEVICE_OPENCL_C_VERSION \"1.2\"); libclcnn needs OpenCL 1.2"},
        {"", "", "", 0,
         "gives unreadable versions (CL_DEVICE_VERSION \"\", CL_DEVICE_OPENCL_C_VERSION \"\"); "
         "libclcnn needs OpenCL 1.2"},
        {"OpenCL 3.0 ", "OpenCL C 1.2 ", "", 0,
         "is on a platform with an unreadable version (CL_PLATFORM_VERSION \"\"); libclcnn needs "
         "OpenCL 1.2"},
        {"OpenCL 3.0 ", "OpenCL C 1.2 ", "OpenCL three", 0,
         "is on a platform with an unreadable version (CL_PLATFORM_VERSION \"OpenCL three\"); "
         "libclcnn needs OpenCL 1.2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        clcnn_device_info info = with_versions(cases[c].device, cases[c].c, cases[c].platform);
        clcnn__device_check_support(&info);
        if (info.supported != cases[c].supported ||
            strcmp(info.unsupported_reason, cases[c].reason) != 0) {
            print_error("\"%s\" / \"%s\" / \"%s\": got %d \"%s\", expected %d \"%s\"\n",
                        cases[c].device, cases[c].c, cases[c].platform, info.supported,
                        info.unsupported_reason, cases[c].supported, cases[c].reason);
            fail();
        }
    }
}

/* A version string as long as the field fits the reason, shortened. */
static void test_support_reason_long_version(void **state) {
    (void)state;
    char long_text[CLCNN_NAME_MAX];
    memset(long_text, 'v', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    clcnn_device_info info = with_versions(long_text, long_text, long_text);
    clcnn__device_check_support(&info);
    assert_int_equal(info.supported, 0);
    assert_non_null(memchr(info.unsupported_reason, '\0', sizeof info.unsupported_reason));
    TS_ASSERT_CONTAINS(info.unsupported_reason, "gives unreadable versions");
    TS_ASSERT_CONTAINS(info.unsupported_reason, "libclcnn needs OpenCL 1.2");
}

/* Two unusable devices (an old GPU, Clover's llvmpipe) before two usable
 * ones (POCL, rusticl's llvmpipe), as their drivers describe themselves. */
static void made_up_mixed(clcnn_device_info infos[4]) {
    infos[0] = made_up(0, 0, CLCNN_DEVICE_TYPE_GPU, "Old Vendor OpenCL", "OpenCL 1.1 Old 1.0",
                       "Old GPU 9000", "Old Vendor", "1.0");
    snprintf(infos[0].device_version, CLCNN_NAME_MAX, "OpenCL 1.1 Old");
    infos[1] = made_up(1, 0, CLCNN_DEVICE_TYPE_CPU, "Clover", "OpenCL 1.1 Mesa 22.3.6",
                       "llvmpipe (LLVM 15.0.6, 256 bits)", "Mesa", "22.3.6");
    snprintf(infos[1].device_version, CLCNN_NAME_MAX, "OpenCL 1.1 Mesa 22.3.6");
    snprintf(infos[1].opencl_c_version, CLCNN_NAME_MAX, "OpenCL C 1.1 ");
    infos[2] = made_up(2, 0, CLCNN_DEVICE_TYPE_CPU, "Portable Computing Language",
                       "OpenCL 3.0 PoCL 3.1+debian  Linux", "pthread-skylake-avx512-AMD EPYC",
                       "AuthenticAMD", "3.1+debian");
    infos[3] = made_up(3, 0, CLCNN_DEVICE_TYPE_CPU, "rusticl", "OpenCL 3.0 ",
                       "llvmpipe (LLVM 15.0.6, 256 bits)", "Mesa/X.org", "22.3.6");
    clcnn__device_check_support(&infos[0]);
    clcnn__device_check_support(&infos[1]);
}

/* Default, type and name selectors pass over devices libclcnn cannot use;
 * "P:D" does not, and an unusable device is the answer only when nothing
 * usable fits (the caller then refuses it). */
static void test_select_skips_unsupported(void **state) {
    (void)state;
    clcnn_device_info infos[4];
    made_up_mixed(infos);
    assert_int_equal(infos[0].supported, 0);
    assert_int_equal(infos[1].supported, 0);
    assert_int_equal(infos[2].supported, 1);
    assert_int_equal(infos[3].supported, 1);
    static const struct {
        const char *selector;
        size_t expected; /* SIZE_MAX: matches nothing */
    } cases[] = {
        {NULL, 2},       /* not the old GPU: the first usable CPU */
        {"", 2},         /* the same */
        {"cpu", 2},      /* not Clover's CPU device */
        {"gpu", 0},      /* only an unusable GPU: found, to be refused */
        {"llvmpipe", 3}, /* rusticl's, not Clover's */
        {"mesa", 3},     /* vendor of both */
        {"22.3.6", 3},   /* driver version of both */
        {"clover", 1},   /* only Clover's: found, to be refused */
        {"old gpu", 0},  /* the same */
        {"0:0", 0},      /* indices name exactly one device */
        {"1:0", 1},      /* the same */
        {"2:0", 2},      /* the same */
        {"accelerator", SIZE_MAX},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t index = SIZE_MAX;
        int found = clcnn__device_find(infos, 4, cases[c].selector, &index);
        if (found != (cases[c].expected != SIZE_MAX) || (found && index != cases[c].expected)) {
            print_error("selector \"%s\": found %d index %zu, expected %zu\n",
                        cases[c].selector ? cases[c].selector : "(NULL)", found, index,
                        cases[c].expected);
            fail();
        }
    }
    /* Nothing usable at all: the default falls back to the old rule (the
     * first GPU, else CPU), so that the refusal names a device. */
    size_t index = SIZE_MAX;
    assert_true(clcnn__device_find(infos, 2, NULL, &index));
    assert_int_equal(index, 0);
    assert_true(clcnn__device_find(infos + 1, 1, NULL, &index));
    assert_int_equal(index, 0);
}

/* clcnn_device_list_select over a made-up list: the status, the index and
 * the whole message of a refusal. */
static void test_select_refuses_unsupported(void **state) {
    (void)state;
    clcnn_device_info infos[4];
    made_up_mixed(infos);
    clcnn_device_list list;
    memset(&list, 0, sizeof list);
    list.count = 4;
    list.infos = infos;
    char message[2048];
    size_t index = SIZE_MAX;
    TS_ASSERT_OK(NULL, clcnn_device_list_select(&list, NULL, message, sizeof message, &index));
    assert_int_equal(index, 2);
    assert_string_equal(message, "");

    memset(message, 'x', sizeof message);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_UNSUPPORTED,
                     clcnn_device_list_select(&list, "1:0", message, sizeof message, &index));
    assert_int_equal(index, 1);
    assert_string_equal(message,
                        "device 1:0 (llvmpipe (LLVM 15.0.6, 256 bits), Clover) supports OpenCL 1.1 "
                        "(OpenCL C 1.1); libclcnn needs 1.2; devices it can use: 2:0 "
                        "pthread-skylake-avx512-AMD EPYC (cpu, Portable Computing Language); 3:0 "
                        "llvmpipe (LLVM 15.0.6, 256 bits) (cpu, rusticl);");
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_UNSUPPORTED,
                     clcnn_device_list_select(&list, "GPU", message, sizeof message, &index));
    assert_int_equal(index, 0);
    TS_ASSERT_CONTAINS(message, "device 0:0 (Old GPU 9000, Old Vendor OpenCL) supports OpenCL "
                                "1.1 (OpenCL C 1.2); libclcnn needs 1.2;");
    /* No buffer is fine; a small one is cut and terminated. */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_UNSUPPORTED,
                     clcnn_device_list_select(&list, "clover", NULL, 0, &index));
    memset(message, 'x', sizeof message);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_UNSUPPORTED,
                     clcnn_device_list_select(&list, "clover", message, 12, &index));
    assert_string_equal(message, "device 1:0 ");
    assert_int_equal(message[12], 'x');

    /* Only unusable devices: the refusal says that none is new enough. */
    list.count = 2;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_UNSUPPORTED,
                     clcnn_device_list_select(&list, NULL, message, sizeof message, &index));
    assert_int_equal(index, 0);
    assert_string_equal(message, "device 0:0 (Old GPU 9000, Old Vendor OpenCL) supports OpenCL "
                                 "1.1 (OpenCL C 1.2); libclcnn needs 1.2; no device here is new "
                                 "enough");
}

/* -------------------------------------------------- platforms without devices */

/* A platform that shows no device (Clover and rusticl unless enabled, where
 * clGetDeviceIDs answers CL_DEVICE_NOT_FOUND) is left out quietly: no entry
 * carries its index, and the list of the others is made all the same. */
static void test_empty_platforms_skipped(void **state) {
    fixture *f = *state;
    cl_uint platform_count = 0;
    assert_int_equal(clGetPlatformIDs(0, NULL, &platform_count), CL_SUCCESS);
    cl_platform_id *platforms = ts_malloc(platform_count * sizeof *platforms);
    assert_int_equal(clGetPlatformIDs(platform_count, platforms, NULL), CL_SUCCESS);
    size_t empty = 0;
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_uint n = 0;
        cl_int err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n);
        if (err == CL_SUCCESS && n > 0)
            continue;
        empty++;
        for (size_t i = 0; i < f->count; i++)
            assert_int_not_equal(f->infos[i].platform_index, p);
    }
    free(platforms);
    if (empty == 0)
        skip(); /* every platform here has a device */
    assert_true(f->count >= 1);
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

/* ------------------------------------------------- Mesa's Clover, for real */

/* Clover (Mesa's OpenCL 1.1 platform, package mesa-opencl-icd) shows its
 * llvmpipe device only with LP_CL=1; CLOVER_DEVICE_VERSION_OVERRIDE and
 * CLOVER_DEVICE_CLC_VERSION_OVERRIDE make that device claim 1.2 while the
 * platform stays at 1.1. OpenCL drivers read such variables once, when the
 * process first asks for platforms, so each setting runs in a fresh copy of
 * this program ("--child MODE"). */
#define CLOVER_ICD "/etc/OpenCL/vendors/mesa.icd"
#define CHILD_SKIPPED 77 /* the child found no Clover device to test */

static char *self_path;                    /* argv[0] */
static const char *clover_expected_reason; /* what the child's Clover device lacks */

static int names_variable(const char *entry, const char *name) {
    size_t length = strlen(name);
    return strncmp(entry, name, length) == 0 && entry[length] == '=';
}

/* Runs this program as "--child mode" with every variable of `clear`
 * removed and each "NAME=VALUE" of `set` added; returns its exit status. */
static int run_child(const char *mode, const char *const *set, const char *const *clear) {
    extern char **environ;
    size_t count = 0, set_count = 0;
    while (environ[count] != NULL)
        count++;
    while (set[set_count] != NULL)
        set_count++;
    char **env = ts_malloc((count + set_count + 1) * sizeof *env);
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        int dropped = 0;
        for (const char *const *name = clear; *name != NULL; name++)
            dropped |= names_variable(environ[i], *name);
        if (!dropped)
            env[kept++] = environ[i];
    }
    size_t first_set = kept;
    for (size_t i = 0; i < set_count; i++)
        env[kept++] = strdup(set[i]);
    env[kept] = NULL;
    char child_flag[] = "--child", *child_mode = strdup(mode);
    char *argv[] = {self_path, child_flag, child_mode, NULL};
    pid_t pid = 0;
    int spawned = posix_spawn(&pid, self_path, NULL, NULL, argv, env);
    for (size_t i = first_set; i < kept; i++)
        free(env[i]);
    free(env);
    free(child_mode);
    assert_int_equal(spawned, 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Every variable that changes what Mesa shows, so the user's own settings
 * do not leak into a child. */
static const char *const mesa_variables[] = {"LP_CL",
                                             "RUSTICL_ENABLE",
                                             "CLCNN_DEVICE",
                                             "CLOVER_DEVICE_VERSION_OVERRIDE",
                                             "CLOVER_DEVICE_CLC_VERSION_OVERRIDE",
                                             "CLOVER_PLATFORM_VERSION_OVERRIDE",
                                             "CLOVER_DEVICE_TYPE",
                                             "OCL_ICD_VENDORS",
                                             "OCL_ICD_FILENAMES",
                                             NULL};

static void expect_child_passes(const char *mode, const char *const *set) {
    if (access(CLOVER_ICD, R_OK) != 0)
        skip(); /* mesa-opencl-icd is not installed */
    int status = run_child(mode, set, mesa_variables);
    if (status == CHILD_SKIPPED)
        skip();
    assert_int_equal(status, 0);
}

/* Clover's llvmpipe at OpenCL 1.1 next to POCL and rusticl's llvmpipe. */
static void test_clover_old_device(void **state) {
    (void)state;
    const char *const set[] = {"LP_CL=1", "RUSTICL_ENABLE=llvmpipe", NULL};
    expect_child_passes("clover-old-device", set);
}

/* Clover's device claiming 1.2 on its 1.1 platform. */
static void test_clover_old_platform(void **state) {
    (void)state;
    const char *const set[] = {"LP_CL=1", "CLOVER_DEVICE_VERSION_OVERRIDE=1.2",
                               "CLOVER_DEVICE_CLC_VERSION_OVERRIDE=1.2", NULL};
    expect_child_passes("clover-old-platform", set);
}

/* Clover alone, without its device. */
static void test_clover_only_empty(void **state) {
    (void)state;
    const char *const set[] = {"OCL_ICD_VENDORS=" CLOVER_ICD, NULL};
    expect_child_passes("clover-empty", set);
}

/* The index of Clover's device in the list, or count. */
static size_t find_clover(const fixture *f) {
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->infos[i].platform_name, "Clover") == 0)
            return i;
    return f->count;
}

/* A context on the device the selector names is refused, with the reason. */
static void expect_context_refused(const char *selector, const clcnn_device_info *refused) {
    char reason[2048];
    memset(reason, 'x', sizeof reason);
    clcnn_context_options options = clcnn_context_options_default();
    options.device = selector;
    options.error_buffer = reason;
    options.error_buffer_size = sizeof reason;
    clcnn_context *ctx = (clcnn_context *)&options; /* anything non-NULL */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_DEVICE_UNSUPPORTED, clcnn_context_create(&options, &ctx));
    assert_null(ctx);
    assert_non_null(memchr(reason, '\0', sizeof reason));
    char expected[1024];
    snprintf(expected, sizeof expected,
             "device %zu:%zu (%s, Clover) %s; devices it can use: ", refused->platform_index,
             refused->device_index, refused->device_name, clover_expected_reason);
    if (strncmp(reason, expected, strlen(expected)) != 0) {
        print_error("selector \"%s\": got \"%s\", expected it to start with \"%s\"\n", selector,
                    reason, expected);
        fail();
    }
    TS_ASSERT_CONTAINS(reason, "OpenCL 1.1");
}

/* Listed with its facts, refused when named, passed over otherwise. */
static void test_clover_refused(void **state) {
    fixture *f = *state;
    size_t clover = find_clover(f);
    assert_true(clover < f->count);
    const clcnn_device_info *info = &f->infos[clover];
    TS_ASSERT_CONTAINS(info->platform_version, "OpenCL 1.1");
    TS_ASSERT_CONTAINS(info->device_name, "llvmpipe");
    assert_int_equal(info->supported, 0);
    assert_string_equal(info->unsupported_reason, clover_expected_reason);

    char selector[48];
    snprintf(selector, sizeof selector, "%zu:%zu", info->platform_index, info->device_index);
    expect_context_refused(selector, info);
    expect_context_refused("clover", info);
    ts_saved_env saved;
    ts_env_set(&saved, "CLCNN_DEVICE", "Clover");
    expect_context_refused(NULL, info);
    ts_env_restore(&saved);

    /* The default, "cpu" and "llvmpipe" (rusticl's where it is on) give
     * a device that works. */
    const char *usable[] = {NULL, "cpu", "llvmpipe"};
    for (size_t i = 0; i < sizeof usable / sizeof usable[0]; i++) {
        size_t index = first_matching_name(f, usable[i] != NULL ? usable[i] : "");
        if (usable[i] != NULL && strcmp(usable[i], "cpu") != 0 && !f->infos[index].supported)
            continue; /* only Clover has an llvmpipe here (rusticl is not installed) */
        clcnn_context_options options = clcnn_context_options_default();
        options.device = usable[i];
        clcnn_context *ctx = ts_context_create_with(&options);
        clcnn_device_info got = ts_device_info(ctx);
        assert_int_equal(got.supported, 1);
        assert_string_not_equal(got.platform_name, "Clover");
        clcnn_context_destroy(ctx);
    }
}

/* Only Clover, which shows no device: no platform with a device, said
 * plainly by the list and by a context. */
static void test_only_empty_platforms(void **state) {
    (void)state;
    cl_uint platform_count = 0;
    assert_int_equal(clGetPlatformIDs(0, NULL, &platform_count), CL_SUCCESS);
    assert_true(platform_count >= 1);
    cl_platform_id *platforms = ts_malloc(platform_count * sizeof *platforms);
    assert_int_equal(clGetPlatformIDs(platform_count, platforms, NULL), CL_SUCCESS);
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_uint n = 0;
        assert_int_equal(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n),
                         CL_DEVICE_NOT_FOUND);
    }
    free(platforms);
    clcnn_device_list *list = (clcnn_device_list *)&platform_count; /* anything non-NULL */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_NO_PLATFORM, clcnn_device_list_create(&list));
    assert_null(list);
    char reason[512] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.error_buffer = reason;
    options.error_buffer_size = sizeof reason;
    clcnn_context *ctx = NULL;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_NO_PLATFORM, clcnn_context_create(&options, &ctx));
    assert_null(ctx);
    TS_ASSERT_CONTAINS(reason, "no OpenCL platform with a device was found");
}

/* The tests that read the real list, run by the parent and each child. */
#define REAL_LIST_TESTS                                                                           \
    cmocka_unit_test(test_list_sane), cmocka_unit_test(test_list_matches_opencl),                 \
        cmocka_unit_test(test_get_bounds), cmocka_unit_test(test_select_indices),                 \
        cmocka_unit_test(test_select_types), cmocka_unit_test(test_select_gpu_missing),           \
        cmocka_unit_test(test_select_default), cmocka_unit_test(test_select_device_name),         \
        cmocka_unit_test(test_select_platform_name), cmocka_unit_test(test_select_other_strings), \
        cmocka_unit_test(test_select_not_found), cmocka_unit_test(test_select_invalid_arguments), \
        cmocka_unit_test(test_select_message_truncated),                                          \
        cmocka_unit_test(test_empty_platforms_skipped)

/* Whether the list holds a Clover device (the child has nothing to test
 * without one). */
static int clover_present(void) {
    fixture *f = NULL;
    if (setup((void **)&f) != 0)
        return 0;
    int present = find_clover(f) < f->count;
    teardown((void **)&f);
    return present;
}

static int run_as_child(const char *mode) {
    if (strcmp(mode, "clover-empty") == 0) {
        const struct CMUnitTest empty[] = {cmocka_unit_test(test_only_empty_platforms)};
        return cmocka_run_group_tests(empty, NULL, NULL) == 0 ? 0 : 1;
    }
    if (strcmp(mode, "clover-old-device") == 0)
        clover_expected_reason = "supports OpenCL 1.1 (OpenCL C 1.1); libclcnn needs 1.2";
    else if (strcmp(mode, "clover-old-platform") == 0)
        clover_expected_reason = "is on a platform that supports OpenCL 1.1; libclcnn needs 1.2";
    else
        return 2;
    if (!clover_present())
        return CHILD_SKIPPED;
    const struct CMUnitTest clover[] = {REAL_LIST_TESTS, cmocka_unit_test(test_clover_refused)};
    return cmocka_run_group_tests(clover, setup, teardown) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    self_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return run_as_child(argv[2]);
    const struct CMUnitTest tests[] = {
        REAL_LIST_TESTS,
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_select_rules),
        cmocka_unit_test(test_parse_version),
        cmocka_unit_test(test_support_decision),
        cmocka_unit_test(test_support_reason_long_version),
        cmocka_unit_test(test_select_skips_unsupported),
        cmocka_unit_test(test_select_refuses_unsupported),
        cmocka_unit_test(test_clover_old_device),
        cmocka_unit_test(test_clover_old_platform),
        cmocka_unit_test(test_clover_only_empty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
