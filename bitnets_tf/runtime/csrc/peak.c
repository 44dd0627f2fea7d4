/* The XNOR+popcount limit of one core: the selected binary GEMM kernel on data that stays in the
 * L1 cache, so that binary convolutions can be reported as a share of it. */
#include <stdlib.h>
#include <time.h>

#include "bgemm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Binary multiply-accumulates per second of the current kernel on one thread, measured for
 * about `seconds`: BN_TILE rows against 16 filters of 256 words (8,192 bits) each. */
double bitnets_peak_macs(double seconds) {
  enum { FILTERS = 16, KP = 256 };
  uint32_t* rows = malloc(sizeof(uint32_t) * BN_TILE * KP);
  uint32_t* filters = malloc(sizeof(uint32_t) * FILTERS * KP);
  int32_t* acc = malloc(sizeof(int32_t) * BN_TILE * FILTERS);
  if (!rows || !filters || !acc) {
    free(rows);
    free(filters);
    free(acc);
    return 0.0;
  }
  uint32_t state = 12345u;
  for (int i = 0; i < BN_TILE * KP; ++i) rows[i] = state = state * 1664525u + 1013904223u;
  for (int i = 0; i < FILTERS * KP; ++i) filters[i] = state = state * 1664525u + 1013904223u;
  const BnBgemm bgemm = bn_bgemm_select();
  long calls = 0;
  volatile int32_t sink = 0;
  const double start = now();
  double elapsed = 0.0;
  do {
    for (int i = 0; i < 64; ++i) bgemm(rows, filters, FILTERS, KP, acc, FILTERS);
    sink += acc[calls % (BN_TILE * FILTERS)];
    calls += 64;
    elapsed = now() - start;
  } while (elapsed < seconds);
  free(rows);
  free(filters);
  free(acc);
  return (double)calls * BN_TILE * FILTERS * KP * 32.0 / elapsed;
}
