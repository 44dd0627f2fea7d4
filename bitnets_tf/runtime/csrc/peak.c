/* The XNOR+popcount limit of one core for the kernel in use, so that binary convolutions can be
 * reported as a share of it: the faster of (a) independent register-resident XOR+popcount chains
 * (bn_limit_loop) and (b) the binary GEMM kernel itself on a cache-resident tile with a long
 * reduction (BN_TILE rows x 8 filters x 32,768 bits). */
#include <stdlib.h>
#include <time.h>

#include "bgemm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static volatile uint64_t checksum; /* keeps the loop's work observable */

enum { FILTERS = 8, KP = 1024 };

typedef struct {
  uint32_t rows[BN_TILE * KP];
  uint32_t filters[FILTERS * KP];
  int32_t acc[BN_TILE * FILTERS];
  BnBgemm bgemm;
} Tile;

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
  tile->bgemm = bn_bgemm_select();
  const double chains = best_rate(chains_step, tile, seconds / 2);
  const double kernel = best_rate(tile_step, tile, seconds / 2);
  free(tile);
  return chains > kernel ? chains : kernel;
}
