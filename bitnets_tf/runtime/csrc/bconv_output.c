/* See bconv_output.h. Every version computes the same values as the portable one:
 *   float: y = float(clamp(sum << 1)) * multiplier + bias, two float roundings (no FMA);
 *   int8:  saturate(roundf(y)), rounding half away from zero;
 *   bits:  bit c of word c / 32 set when sum > threshold, padding bits 0. */
#include "bconv_output.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define BN_X86 1
#include <immintrin.h>
#endif

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static inline float scalar_value(const BnOutput* o, const int32_t* sums, int c) {
  int32_t x = (int32_t)((uint32_t)sums[c] << 1);
  x = x < o->clamp_min ? o->clamp_min : (x > o->clamp_max ? o->clamp_max : x);
  const float scaled = (float)x * o->multiplier[c];
  return scaled + o->bias[c];
}

static inline int8_t scalar_int8(float y) {
  const int32_t r = (int32_t)roundf(y);
  return (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
}

/* Portable versions from channel `from` on (the SIMD versions finish their tails with them). */
static void float_from(const BnOutput* o, const int32_t* sums, float* out, int from) {
  for (int c = from; c < o->channels; ++c) out[c] = scalar_value(o, sums, c);
}

static void int8_from(const BnOutput* o, const int32_t* sums, int8_t* out, int from) {
  for (int c = from; c < o->channels; ++c) out[c] = scalar_int8(scalar_value(o, sums, c));
}

static void bits_from(const BnOutput* o, const int32_t* sums, uint32_t* out, int from_word) {
  const int n = o->channels;
  for (int w = from_word; w * 32 < n; ++w) {
    uint32_t bits = 0;
    const int end = (w + 1) * 32 < n ? (w + 1) * 32 : n;
    for (int c = w * 32; c < end; ++c) bits |= (uint32_t)(sums[c] > o->threshold[c]) << (c % 32);
    out[w] = bits;
  }
}

static int packed_words(const BnOutput* o) { return (o->channels + 31) / 32; }

static void float_portable(const BnOutput* o, const int32_t* sums, int ldsums, int count,
                           void* out) {
  for (int i = 0; i < count; ++i)
    float_from(o, sums + (size_t)i * ldsums, (float*)out + (size_t)i * o->channels, 0);
}

static void int8_portable(const BnOutput* o, const int32_t* sums, int ldsums, int count,
                          void* out) {
  for (int i = 0; i < count; ++i)
    int8_from(o, sums + (size_t)i * ldsums, (int8_t*)out + (size_t)i * o->channels, 0);
}

static void bits_portable(const BnOutput* o, const int32_t* sums, int ldsums, int count,
                          void* out) {
  for (int i = 0; i < count; ++i)
    bits_from(o, sums + (size_t)i * ldsums, (uint32_t*)out + (size_t)i * packed_words(o), 0);
}

#ifdef BN_X86
/* ---- AVX-512: 16 channels per vector, masked tails; each channel block's multiplier and bias
 * stay in registers for all pixels ---- */

/* The first `count` lanes (none for count <= 0). */
static inline __mmask16 mask16(int count) {
  if (count <= 0) return 0;
  return count >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << count) - 1u);
}

typedef struct {
  __mmask16 mask;
  __m512 multiplier, bias;
  __m512i lo, hi;
} Block512;

__attribute__((target("avx512f"))) static inline Block512 block512(const BnOutput* o, int c) {
  Block512 k;
  k.mask = mask16(o->channels - c);
  k.multiplier = _mm512_maskz_loadu_ps(k.mask, o->multiplier + c);
  k.bias = _mm512_maskz_loadu_ps(k.mask, o->bias + c);
  k.lo = _mm512_set1_epi32(o->clamp_min);
  k.hi = _mm512_set1_epi32(o->clamp_max);
  return k;
}

__attribute__((target("avx512f"))) static inline __m512 values512(const BnOutput* o,
                                                                  const Block512* k,
                                                                  const int32_t* sums) {
  __m512i x = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(k->mask, sums), 1);
  if (o->clamp) x = _mm512_min_epi32(_mm512_max_epi32(x, k->lo), k->hi);
  const __m512 scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(x), k->multiplier);
  return _mm512_add_ps(scaled, k->bias);
}

__attribute__((target("avx512f"))) static void float_avx512(const BnOutput* o,
                                                            const int32_t* sums, int ldsums,
                                                            int count, void* out) {
  float* dst = out;
  const int n = o->channels;
  for (int c = 0; c < n; c += 16) {
    const Block512 k = block512(o, c);
    for (int i = 0; i < count; ++i)
      _mm512_mask_storeu_ps(dst + (size_t)i * n + c, k.mask,
                            values512(o, &k, sums + (size_t)i * ldsums + c));
  }
}

/* roundf: truncate, then step away from zero when the dropped fraction (exact) is >= 0.5; the
 * conversion gives INT32_MIN outside int32 and for NaN, as the scalar conversion does on x86. */
__attribute__((target("avx512f"))) static void int8_avx512(const BnOutput* o, const int32_t* sums,
                                                           int ldsums, int count, void* out) {
  int8_t* dst = out;
  const int n = o->channels;
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
  const __m512i sign = _mm512_set1_epi32(INT32_MIN);
  for (int c = 0; c < n; c += 16) {
    const Block512 k = block512(o, c);
    for (int i = 0; i < count; ++i) {
      const __m512 y = values512(o, &k, sums + (size_t)i * ldsums + c);
      const __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m512 fraction = _mm512_abs_ps(_mm512_sub_ps(y, t));
      const __mmask16 away = _mm512_cmp_ps_mask(fraction, half, _CMP_GE_OQ);
      const __m512 step = _mm512_castsi512_ps(_mm512_or_si512(
          _mm512_and_si512(_mm512_castps_si512(y), sign), _mm512_castps_si512(one)));
      const __m512 r = _mm512_mask_add_ps(t, away, t, step);
      _mm512_mask_cvtsepi32_storeu_epi8(dst + (size_t)i * n + c, k.mask, _mm512_cvttps_epi32(r));
    }
  }
}

__attribute__((target("avx512f"))) static void bits_avx512(const BnOutput* o, const int32_t* sums,
                                                           int ldsums, int count, void* out) {
  uint32_t* dst = out;
  const int n = o->channels, words = packed_words(o);
  for (int c = 0; c < n; c += 32) {
    const __mmask16 m0 = mask16(n - c), m1 = mask16(n - c - 16);
    const __m512i t0 = _mm512_maskz_loadu_epi32(m0, o->threshold + c);
    const __m512i t1 = _mm512_maskz_loadu_epi32(m1, o->threshold + c + 16);
    for (int i = 0; i < count; ++i) {
      const int32_t* s = sums + (size_t)i * ldsums + c;
      const __mmask16 low = _mm512_mask_cmpgt_epi32_mask(m0, _mm512_maskz_loadu_epi32(m0, s), t0);
      const __mmask16 high =
          _mm512_mask_cmpgt_epi32_mask(m1, _mm512_maskz_loadu_epi32(m1, s + 16), t1);
      dst[(size_t)i * words + c / 32] = (uint32_t)low | (uint32_t)high << 16;
    }
  }
}

/* ---- AVX2: 8 channels per vector, scalar tails ---- */

__attribute__((target("avx2"))) static inline __m256 values256(const BnOutput* o,
                                                               const int32_t* sums, int c) {
  __m256i x = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i*)(sums + c)), 1);
  if (o->clamp)
    x = _mm256_min_epi32(_mm256_max_epi32(x, _mm256_set1_epi32(o->clamp_min)),
                         _mm256_set1_epi32(o->clamp_max));
  const __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(x), _mm256_loadu_ps(o->multiplier + c));
  return _mm256_add_ps(scaled, _mm256_loadu_ps(o->bias + c));
}

__attribute__((target("avx2"))) static void float_avx2(const BnOutput* o, const int32_t* sums,
                                                       int ldsums, int count, void* out) {
  for (int i = 0; i < count; ++i) {
    const int32_t* s = sums + (size_t)i * ldsums;
    float* dst = (float*)out + (size_t)i * o->channels;
    int c = 0;
    for (; c + 8 <= o->channels; c += 8) _mm256_storeu_ps(dst + c, values256(o, s, c));
    float_from(o, s, dst, c);
  }
}

__attribute__((target("avx2"))) static void int8_avx2_pixel(const BnOutput* o,
                                                            const int32_t* sums, int8_t* dst) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
  int c = 0;
  for (; c + 8 <= o->channels; c += 8) {
    const __m256 y = values256(o, sums, c);
    const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 fraction = _mm256_andnot_ps(sign, _mm256_sub_ps(y, t));
    const __m256 away = _mm256_cmp_ps(fraction, half, _CMP_GE_OQ);
    const __m256 step = _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(y, sign), one));
    const __m256i r = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
    const __m128i words =
        _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storel_epi64((__m128i*)(dst + c), _mm_packs_epi16(words, words));
  }
  int8_from(o, sums, dst, c);
}

__attribute__((target("avx2"))) static void int8_avx2(const BnOutput* o, const int32_t* sums,
                                                      int ldsums, int count, void* out) {
  for (int i = 0; i < count; ++i)
    int8_avx2_pixel(o, sums + (size_t)i * ldsums, (int8_t*)out + (size_t)i * o->channels);
}

__attribute__((target("avx2"))) static void bits_avx2_pixel(const BnOutput* o,
                                                            const int32_t* sums, uint32_t* dst) {
  int w = 0;
  for (; (w + 1) * 32 <= o->channels; ++w) {
    uint32_t bits = 0;
    for (int q = 0; q < 4; ++q) {
      const int c = w * 32 + q * 8;
      const __m256i gt = _mm256_cmpgt_epi32(_mm256_loadu_si256((const __m256i*)(sums + c)),
                                            _mm256_loadu_si256((const __m256i*)(o->threshold + c)));
      bits |= (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(gt)) << (q * 8);
    }
    dst[w] = bits;
  }
  bits_from(o, sums, dst, w);
}

__attribute__((target("avx2"))) static void bits_avx2(const BnOutput* o, const int32_t* sums,
                                                      int ldsums, int count, void* out) {
  for (int i = 0; i < count; ++i)
    bits_avx2_pixel(o, sums + (size_t)i * ldsums, (uint32_t*)out + (size_t)i * packed_words(o));
}
#endif /* BN_X86 */

void bn_output_select(BnOutput* o, BnOutputKind kind, const char* name) {
  typedef void (*Pixels)(const BnOutput*, const int32_t*, int, int, void*);
  Pixels versions[3] = {float_portable, int8_portable, bits_portable};
#ifdef BN_X86
  if (strcmp(name, "avx512") == 0) {
    versions[0] = float_avx512, versions[1] = int8_avx512, versions[2] = bits_avx512;
  } else if (strcmp(name, "avx2") == 0) {
    versions[0] = float_avx2, versions[1] = int8_avx2, versions[2] = bits_avx2;
  }
#endif
  (void)name;
  o->pixels = versions[kind];
}
