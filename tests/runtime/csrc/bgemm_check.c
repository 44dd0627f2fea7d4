/* Every binary GEMM kernel this build and CPU can run against the portable one, on random data
 * with many reduction lengths and filter counts, and every channel-major kernel against direct
 * sums; the float sign packing of LceQuantize is covered by the Python tests. Prints the kernels
 * checked; exits 1 on the first mismatch.
 * Built for other architectures and run under qemu by tests/runtime/test_runtime_kernels.py. */
#include <stdio.h>
#include <stdlib.h>

#include "bgemm.h"

static uint32_t state = 7u;

static uint32_t next(void) { return state = state * 1664525u + 1013904223u; }

/* The channel-major kernel of `name` against a direct sum, for row lengths 1 to 80 words (byte
 * accumulators overflow after 31) and 1 to 5 channel blocks, each row's words read through
 * random offsets into its own span of the input. */
static int check_channel_major(const char* name) {
  enum { SPAN = 97 };
  const BnBgemmCm kernel = bn_bgemm_cm_by_name(name);
  if (!kernel) return 1; /* popcnt: none */
  for (int k = 1; k <= 80; ++k)
    for (int blocks = 1; blocks <= 5; ++blocks) {
      const int ldacc = blocks * BN_CM_BLOCK + 5;
      uint32_t* input = malloc(sizeof(uint32_t) * BN_CM_ROWS * SPAN);
      uint32_t* filters = malloc(sizeof(uint32_t) * blocks * k * BN_CM_BLOCK);
      int32_t* acc = malloc(sizeof(int32_t) * BN_CM_ROWS * ldacc);
      int32_t offsets[80];
      const uint32_t* rows[BN_CM_ROWS];
      for (int i = 0; i < BN_CM_ROWS * SPAN; ++i) input[i] = next();
      for (int i = 0; i < blocks * k * BN_CM_BLOCK; ++i) filters[i] = next();
      for (int w = 0; w < k; ++w) offsets[w] = (int32_t)(next() % SPAN);
      for (int i = 0; i < BN_CM_ROWS; ++i) rows[i] = input + (size_t)((i * 5) % BN_CM_ROWS) * SPAN;
      /* all-ones and all-zero words reach the largest and smallest sums */
      input[offsets[0]] = filters[0] = 0xffffffffu;
      kernel(rows, offsets, k, filters, blocks, acc, ldacc);
      for (int i = 0; i < BN_CM_ROWS; ++i)
        for (int c = 0; c < blocks * BN_CM_BLOCK; ++c) {
          int32_t expected = 0;
          const int b = c / BN_CM_BLOCK;
          for (int w = 0; w < k; ++w)
            expected += __builtin_popcount(rows[i][offsets[w]] ^
                                           filters[(b * k + w) * BN_CM_BLOCK + c % BN_CM_BLOCK]);
          if (acc[i * ldacc + c] != expected) {
            printf("MISMATCH %s channel-major k=%d blocks=%d row=%d channel=%d: %d != %d\n",
                   name, k, blocks, i, c, acc[i * ldacc + c], expected);
            return 0;
          }
        }
      free(input);
      free(filters);
      free(acc);
    }
  return 1;
}

int main(void) {
  static const char* names[] = {"neon", "popcnt", "avx2", "avx512"};
  const BnBgemm reference = bn_bgemm_by_name("portable");
  for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); ++n) {
    const BnBgemm kernel = bn_bgemm_by_name(names[n]);
    if (!kernel) continue;
    for (int kp = 2; kp <= 300; kp += 2) {
      for (int filters = 1; filters <= 9; ++filters) {
        uint32_t* rows = malloc(sizeof(uint32_t) * BN_TILE * kp);
        uint32_t* weights = malloc(sizeof(uint32_t) * filters * kp);
        int32_t expected[BN_TILE * 9], actual[BN_TILE * 9];
        for (int i = 0; i < BN_TILE * kp; ++i) rows[i] = next();
        for (int i = 0; i < filters * kp; ++i) weights[i] = next();
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
    if (!check_channel_major(names[n])) return 1;
    printf("%s ok\n", names[n]);
  }
  return 0;
}
