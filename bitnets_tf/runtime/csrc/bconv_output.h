/* The output stage of LceBconv2d: output pixels' XOR+popcount sums to float, int8 or bitpacked
 * values (formulas in bconv.c), with SIMD versions chosen by kernel family. */
#ifndef BITNETS_BCONV_OUTPUT_H_
#define BITNETS_BCONV_OUTPUT_H_

#include <stdint.h>

typedef enum { BN_OUT_FLOAT, BN_OUT_INT8, BN_OUT_BITS } BnOutputKind;

typedef struct BnOutput BnOutput;
struct BnOutput {
  int channels;
  int32_t clamp_min, clamp_max; /* applied to sum << 1 (float and int8) */
  int clamp;                    /* 0 when [clamp_min, clamp_max] holds every possible sum << 1 */
  const float* multiplier;      /* float and int8 */
  const float* bias;
  const int32_t* threshold; /* bitpacked: bit set when sum > threshold */
  /* count pixels, sums of pixel i at sums + i * ldsums, outputs one pixel after another */
  void (*pixels)(const BnOutput* o, const int32_t* sums, int ldsums, int count, void* out);
};

/* Sets o->pixels to the `kind` output stage of the kernel family `name` ("avx512", "avx2", ...;
 * the portable one for families without their own). */
void bn_output_select(BnOutput* o, BnOutputKind kind, const char* name);

#endif /* BITNETS_BCONV_OUTPUT_H_ */
