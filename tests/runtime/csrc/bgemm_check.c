/* Every binary GEMM kernel this build and CPU can run against the portable one, on random data
 * with many reduction lengths and filter counts; also the float sign packing of LceQuantize is
 * covered by the Python tests. Prints the kernels checked; exits 1 on the first mismatch.
 * Built for other architectures and run under qemu by tests/runtime/test_runtime_kernels.py. */
#include <stdio.h>
#include <stdlib.h>

#include "bgemm.h"

int main(void) {
  static const char* names[] = {"neon", "popcnt", "avx2", "avx512"};
  const BnBgemm reference = bn_bgemm_by_name("portable");
  uint32_t state = 7u;
  for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); ++n) {
    const BnBgemm kernel = bn_bgemm_by_name(names[n]);
    if (!kernel) continue;
    for (int kp = 2; kp <= 300; kp += 2) {
      for (int filters = 1; filters <= 9; ++filters) {
        uint32_t* rows = malloc(sizeof(uint32_t) * BN_TILE * kp);
        uint32_t* weights = malloc(sizeof(uint32_t) * filters * kp);
        int32_t expected[BN_TILE * 9], actual[BN_TILE * 9];
        for (int i = 0; i < BN_TILE * kp; ++i) rows[i] = state = state * 1664525u + 1013904223u;
        for (int i = 0; i < filters * kp; ++i) weights[i] = state = state * 1664525u + 1013904223u;
        reference(rows, weights, filters, kp, expected, 9);
        kernel(rows, weights, filters, kp, actual, 9);
        for (int i = 0; i < BN_TILE; ++i)
          for (int f = 0; f < filters; ++f)
            if (expected[i * 9 + f] != actual[i * 9 + f]) {
              printf("MISMATCH %s kp=%d filters=%d row=%d filter=%d: %d != %d\n", names[n], kp,
                     filters, i, f, actual[i * 9 + f], expected[i * 9 + f]);
              return 1;
            }
        free(rows);
        free(weights);
      }
    }
    printf("%s ok\n", names[n]);
  }
  return 0;
}
