/* clcnn-bench's rule for a device time (hosttools/bench_common.c): a sample
 * timed by the device's profiling counters stands only when it could be
 * true next to the host's wall time of the same, otherwise idle, enqueue.
 * rusticl's placeholder timestamps (every command 1 ns) made a 256 MiB copy
 * read as 536,870,912 GB/s; such samples must fall back to the host. */
#include <math.h>

#include "support/test_support.h"

#include "bench.h"

static void test_plausible_device_times_are_used(void **state) {
    (void)state;
    assert_true(bench_device_time_usable(91.2, 104.7)); /* POCL's 256 MiB copy */
    assert_true(bench_device_time_usable(0.004, 0.05)); /* a tiny kernel: launch overhead */
    assert_true(bench_device_time_usable(0.001, 0.9));  /* short samples: any share */
    assert_true(bench_device_time_usable(1.0, 100.0));  /* exactly 1% */
    assert_true(bench_device_time_usable(10.5, 10.0));  /* clocks read apart: 1 ms slack */
}

static void test_implausible_device_times_are_not(void **state) {
    (void)state;
    assert_false(bench_device_time_usable(0.0, 50.0));   /* no timestamps */
    assert_false(bench_device_time_usable(-1.0, 50.0));  /* end before start */
    assert_false(bench_device_time_usable(0.0, 0.5));    /* zero even when short */
    assert_false(bench_device_time_usable(1e-6, 104.7)); /* rusticl: 1 ns for 100 ms */
    assert_false(bench_device_time_usable(0.99, 100.0)); /* below 1% of a long wait */
    assert_false(bench_device_time_usable(12.0, 10.0));  /* longer than the host waited */
    assert_false(bench_device_time_usable(NAN, 5.0));    /* NaN */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plausible_device_times_are_used),
        cmocka_unit_test(test_implausible_device_times_are_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
