/* Every SIMD output stage of LceBconv2d this build and CPU can run against the portable one:
 * float, int8 and bitpacked outputs for 1 to 70 channels and 1 to 3 pixels with padded sums, with
 * and without clamping, on random sums, multipliers and biases that include exact halves (int8
 * rounding ties), values far outside the int8 range and thresholds equal to the sums. Prints the
 * stages checked; exits 1 on the first mismatch. */
#include <stdio.h>
#include <string.h>

#include "bconv_output.h"
#include "bgemm.h"

static uint32_t state = 11u;

static uint32_t next(void) { return state = state * 1664525u + 1013904223u; }

static float pick_float(void) {
  static const float special[] = {0.25f, -0.5f, 1.0f, -2.0f, 0.0f, 1e-3f, -1e3f, 1e5f, 0.5f};
  const uint32_t r = next();
  if (r % 3 == 0) return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
  return ((float)(int32_t)(next() % 2000001u) - 1000000.0f) / 4096.0f; /* k / 4096, many ties */
}

enum { MAX_CHANNELS = 70, PIXELS = 3, LDSUMS = MAX_CHANNELS + 3 };

static int check(const char* name, BnOutputKind kind) {
  BnOutput reference, simd;
  float multiplier[MAX_CHANNELS], bias[MAX_CHANNELS];
  int32_t threshold[MAX_CHANNELS], sums[PIXELS * LDSUMS];
  unsigned char expected[PIXELS * 4 * MAX_CHANNELS], actual[PIXELS * 4 * MAX_CHANNELS];
  bn_output_select(&reference, kind, "portable");
  bn_output_select(&simd, kind, name);
  for (int trial = 0; trial < 300; ++trial) {
    const int channels = 1 + trial % MAX_CHANNELS, pixels = 1 + trial % PIXELS;
    for (int i = 0; i < PIXELS * LDSUMS; ++i) sums[i] = (int32_t)(next() % 600u);
    for (int c = 0; c < channels; ++c) {
      threshold[c] = next() % 4 == 0 ? sums[c] : (int32_t)(next() % 600u) - 5;
      multiplier[c] = pick_float();
      bias[c] = pick_float();
    }
    const int clamp = trial % 2;
    reference.channels = simd.channels = channels;
    reference.clamp = simd.clamp = clamp;
    reference.clamp_min = simd.clamp_min = clamp ? (int32_t)(next() % 300u) : 0;
    reference.clamp_max = simd.clamp_max = clamp ? reference.clamp_min + (int32_t)(next() % 600u)
                                                 : 1200;
    reference.multiplier = simd.multiplier = multiplier;
    reference.bias = simd.bias = bias;
    reference.threshold = simd.threshold = threshold;
    memset(expected, 0xa5, sizeof(expected));
    memset(actual, 0xa5, sizeof(actual)); /* bytes past the output must stay untouched */
    reference.pixels(&reference, sums, LDSUMS, pixels, expected);
    simd.pixels(&simd, sums, LDSUMS, pixels, actual);
    if (memcmp(expected, actual, sizeof(expected)) != 0) {
      printf("MISMATCH %s kind=%d channels=%d pixels=%d clamp=%d\n", name, (int)kind, channels,
             pixels, clamp);
      return 0;
    }
  }
  return 1;
}

int main(void) {
  static const char* names[] = {"avx2", "avx512"};
  for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); ++n) {
    if (!bn_bgemm_by_name(names[n])) continue; /* not this CPU */
    for (int kind = BN_OUT_FLOAT; kind <= BN_OUT_BITS; ++kind)
      if (!check(names[n], (BnOutputKind)kind)) return 1;
    printf("%s ok\n", names[n]);
  }
  return 0;
}
