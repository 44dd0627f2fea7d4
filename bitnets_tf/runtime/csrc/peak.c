/* The XNOR+popcount limit of one core for the kernel in use, so that binary convolutions can be
 * reported as a share of it: the fastest of (a) independent register-resident XOR+popcount chains
 * (bn_limit_loop), (b) the binary GEMM kernel itself on a cache-resident tile with a long
 * reduction (BN_TILE rows x 8 filters x 32,768 bits) and (c) the channel-major kernel, if the
 * family has one, on a cache-resident tile (BN_CM_ROWS rows x 32 channels x 8,192 bits). */
#include <stdlib.h>
#include <time.h>

#include "bgemm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static volatile uint64_t checksum; /* keeps the loop's work observable */

enum { FILTERS = 8, KP = 1024, CM_BLOCKS = 2, CM_K = 256 };

typedef struct {
  uint32_t rows[BN_TILE * KP];       /* also BN_CM_ROWS rows of CM_K words */
  uint32_t filters[FILTERS * KP];    /* also CM_BLOCKS blocks of CM_K x BN_CM_BLOCK words */
  int32_t acc[BN_CM_ROWS * CM_BLOCKS * BN_CM_BLOCK];
  int32_t offsets[CM_K]; /* 0, 1, ...: contiguous rows */
  BnBgemm bgemm;
  BnBgemmCm bgemm_cm;
} Tile;
_Static_assert(BN_CM_ROWS * CM_K <= BN_TILE * KP, "channel-major rows fit the tile");
_Static_assert(CM_BLOCKS * CM_K * BN_CM_BLOCK <= FILTERS * KP, "channel-major filters fit");

/* One step of each method; returns the bits processed. */
static double chains_step(Tile* tile) {
  (void)tile;
  int bits = 0;
  checksum += bn_limit_loop(1L << 10, &bits);
  return (double)(1L << 10) * bits;
}

static double tile_step(Tile* tile) {
  tile->bgemm(tile->rows, tile->filters, FILTERS, KP, tile->acc, FILTERS);
  checksum += (uint64_t)tile->acc[0];
  return (double)BN_TILE * FILTERS * KP * 32.0;
}

static double cm_step(Tile* tile) {
  const uint32_t* rows[BN_CM_ROWS];
  for (int i = 0; i < BN_CM_ROWS; ++i) rows[i] = tile->rows + (size_t)i * CM_K;
  tile->bgemm_cm(rows, tile->offsets, CM_K, tile->filters, CM_BLOCKS, tile->acc,
                 CM_BLOCKS * BN_CM_BLOCK);
  checksum += (uint64_t)tile->acc[0];
  return (double)BN_CM_ROWS * CM_BLOCKS * BN_CM_BLOCK * CM_K * 32.0;
}

/* The best rate of `step` over repeated 1 ms slices (so that preemption does not count). */
static double best_rate(double (*step)(Tile*), Tile* tile, double seconds) {
  double best = 0.0;
  const double end = now() + seconds;
  do {
    double bits = 0.0, elapsed;
    const double start = now();
    do {
      bits += step(tile);
      elapsed = now() - start;
    } while (elapsed < 0.001);
    if (bits / elapsed > best) best = bits / elapsed;
  } while (now() < end);
  return best;
}

/* Binary multiply-accumulates (bits XORed and counted) per second on one thread, measured for
 * about `seconds`. */
double bitnets_peak_macs(double seconds) {
  Tile* tile = malloc(sizeof(Tile));
  if (!tile) return 0.0;
  uint32_t state = 12345u;
  for (int i = 0; i < BN_TILE * KP; ++i) tile->rows[i] = state = state * 1664525u + 1013904223u;
  for (int i = 0; i < FILTERS * KP; ++i) tile->filters[i] = state = state * 1664525u + 1013904223u;
  for (int i = 0; i < CM_K; ++i) tile->offsets[i] = i;
  tile->bgemm = bn_bgemm_select();
  tile->bgemm_cm = bn_bgemm_cm_by_name(bn_bgemm_name());
  const int methods = tile->bgemm_cm ? 3 : 2;
  const double rates[3] = {best_rate(chains_step, tile, seconds / methods),
                           best_rate(tile_step, tile, seconds / methods),
                           tile->bgemm_cm ? best_rate(cm_step, tile, seconds / methods) : 0.0};
  free(tile);
  double best = rates[0];
  for (int i = 1; i < 3; ++i) best = rates[i] > best ? rates[i] : best;
  return best;
}
