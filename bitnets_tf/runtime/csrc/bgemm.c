/* Binary GEMM micro-kernels (see bgemm.h): a portable C kernel, x86-64 kernels for POPCNT, AVX2
 * and AVX-512 VPOPCNTDQ (compiled with per-function target attributes and chosen by CPUID at run
 * time), and a NEON kernel for aarch64 and armv7. All compute the same integers. */
#include "bgemm.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define BN_X86 1
#include <immintrin.h>
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
#define BN_NEON 1
#include <arm_neon.h>
#endif

static inline uint64_t load64(const uint32_t* p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

/* One filter against the BN_TILE rows, 64 bits at a time. */
#define BN_PORTABLE_BODY(POPCOUNT)                                         \
  for (int f = 0; f < nfilters; ++f) {                                     \
    const uint32_t* w = filters + (size_t)f * kp;                          \
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;                               \
    for (int k = 0; k < kp; k += 2) {                                      \
      const uint64_t x = load64(w + k);                                    \
      s0 += POPCOUNT(load64(rows + k) ^ x);                                \
      s1 += POPCOUNT(load64(rows + kp + k) ^ x);                           \
      s2 += POPCOUNT(load64(rows + 2 * (size_t)kp + k) ^ x);               \
      s3 += POPCOUNT(load64(rows + 3 * (size_t)kp + k) ^ x);               \
    }                                                                      \
    acc[f] = (int32_t)s0;                                                  \
    acc[ldacc + f] = (int32_t)s1;                                          \
    acc[2 * ldacc + f] = (int32_t)s2;                                      \
    acc[3 * ldacc + f] = (int32_t)s3;                                      \
  }

static void bgemm_portable(const uint32_t* rows, const uint32_t* filters, int nfilters, int kp,
                           int32_t* acc, int ldacc) {
  BN_PORTABLE_BODY(__builtin_popcountll)
}

#ifdef BN_X86
__attribute__((target("popcnt"))) static void bgemm_popcnt(const uint32_t* rows,
                                                            const uint32_t* filters,
                                                            int nfilters, int kp, int32_t* acc,
                                                            int ldacc) {
  BN_PORTABLE_BODY(_mm_popcnt_u64)
}

/* Bytes of popcounts via a nibble lookup table (W. Muła), summed per 64-bit lane. */
__attribute__((target("avx2"))) static inline __m256i popcount256(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                       1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
  const __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
  return _mm256_add_epi8(lo, hi);
}

__attribute__((target("avx2"))) static inline int64_t sum_lanes(__m256i v) {
  return _mm256_extract_epi64(v, 0) + _mm256_extract_epi64(v, 1) + _mm256_extract_epi64(v, 2) +
         _mm256_extract_epi64(v, 3);
}

__attribute__((target("avx2"))) static inline __m256i sad_add(__m256i acc, __m256i bytes) {
  return _mm256_add_epi64(acc, _mm256_sad_epu8(bytes, _mm256_setzero_si256()));
}

__attribute__((target("avx2,popcnt"))) static void bgemm_avx2(const uint32_t* rows,
                                                                const uint32_t* filters,
                                                                int nfilters, int kp,
                                                                int32_t* acc, int ldacc) {
  const int blocks = kp / 8; /* 256-bit blocks; the rest (kp % 8 words) in 64-bit steps */
  int f = 0;
  for (; f + 2 <= nfilters; f += 2) {
    const uint32_t* w0 = filters + (size_t)f * kp;
    const uint32_t* w1 = w0 + kp;
    __m256i a[BN_TILE][2];
    for (int i = 0; i < BN_TILE; ++i) a[i][0] = a[i][1] = _mm256_setzero_si256();
    for (int b = 0; b < blocks; ++b) {
      const __m256i x0 = _mm256_loadu_si256((const __m256i*)(w0 + 8 * b));
      const __m256i x1 = _mm256_loadu_si256((const __m256i*)(w1 + 8 * b));
      for (int i = 0; i < BN_TILE; ++i) {
        const __m256i r = _mm256_loadu_si256((const __m256i*)(rows + (size_t)i * kp + 8 * b));
        a[i][0] = sad_add(a[i][0], popcount256(_mm256_xor_si256(r, x0)));
        a[i][1] = sad_add(a[i][1], popcount256(_mm256_xor_si256(r, x1)));
      }
    }
    for (int i = 0; i < BN_TILE; ++i) {
      int64_t s0 = sum_lanes(a[i][0]), s1 = sum_lanes(a[i][1]);
      const uint32_t* r = rows + (size_t)i * kp;
      for (int k = 8 * blocks; k < kp; k += 2) {
        s0 += _mm_popcnt_u64(load64(r + k) ^ load64(w0 + k));
        s1 += _mm_popcnt_u64(load64(r + k) ^ load64(w1 + k));
      }
      acc[(size_t)i * ldacc + f] = (int32_t)s0;
      acc[(size_t)i * ldacc + f + 1] = (int32_t)s1;
    }
  }
  if (f < nfilters) bgemm_popcnt(rows, filters + (size_t)f * kp, nfilters - f, kp, acc + f, ldacc);
}

/* Channel-major, 4 rows x 16 channels (two vectors) per step: byte popcounts accumulated in
 * 8-bit lanes for up to 31 words (at most 8 per byte per word), then summed into the 32-bit
 * lanes. */
#define BN_CM_BYTE_WORDS 31

__attribute__((target("avx2"))) static void bgemm_cm_avx2(const uint32_t* const* rows,
                                                           const int32_t* offsets, int k,
                                                           const uint32_t* filters, int nblocks,
                                                           int32_t* acc, int ldacc) {
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int b = 0; b < nblocks; ++b) {
    const uint32_t* f = filters + (size_t)b * k * BN_CM_BLOCK;
    for (int i0 = 0; i0 < BN_CM_ROWS; i0 += 4) {
      __m256i sums[4][2];
      for (int i = 0; i < 4; ++i) sums[i][0] = sums[i][1] = _mm256_setzero_si256();
      for (int w0 = 0; w0 < k; w0 += BN_CM_BYTE_WORDS) {
        const int w1 = k - w0 > BN_CM_BYTE_WORDS ? w0 + BN_CM_BYTE_WORDS : k;
        __m256i bytes[4][2];
        for (int i = 0; i < 4; ++i) bytes[i][0] = bytes[i][1] = _mm256_setzero_si256();
        for (int w = w0; w < w1; ++w) {
          const __m256i y0 = _mm256_loadu_si256((const __m256i*)(f + w * BN_CM_BLOCK));
          const __m256i y1 = _mm256_loadu_si256((const __m256i*)(f + w * BN_CM_BLOCK + 8));
          for (int i = 0; i < 4; ++i) {
            const __m256i x = _mm256_set1_epi32((int)rows[i0 + i][offsets[w]]);
            bytes[i][0] = _mm256_add_epi8(bytes[i][0], popcount256(_mm256_xor_si256(x, y0)));
            bytes[i][1] = _mm256_add_epi8(bytes[i][1], popcount256(_mm256_xor_si256(x, y1)));
          }
        }
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 2; ++j)
            sums[i][j] = _mm256_add_epi32(
                sums[i][j], _mm256_madd_epi16(_mm256_maddubs_epi16(bytes[i][j], ones8), ones16));
      }
      for (int i = 0; i < 4; ++i) {
        int32_t* a = acc + (size_t)(i0 + i) * ldacc + b * BN_CM_BLOCK;
        _mm256_storeu_si256((__m256i*)a, sums[i][0]);
        _mm256_storeu_si256((__m256i*)(a + 8), sums[i][1]);
      }
    }
  }
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i xor_popcount512(
    __m512i a, __m512i b) {
  return _mm512_popcnt_epi64(_mm512_xor_si512(a, b));
}

/* The total of each of 4 vectors of 64-bit counts, stored as 4 int32: pairs within 128-bit lanes
 * first, then across lanes, with fewer shuffles than 4 separate reductions. */
__attribute__((target("avx512f"))) static inline void store_sums4(const __m512i v[4],
                                                                 int32_t* out) {
  const __m512i t01 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[0], v[1]),
                                       _mm512_unpackhi_epi64(v[0], v[1]));  /* [s0 s1] x 4 */
  const __m512i t23 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2], v[3]),
                                       _mm512_unpackhi_epi64(v[2], v[3]));  /* [s2 s3] x 4 */
  const __m512i u = _mm512_add_epi64(_mm512_shuffle_i64x2(t01, t23, 0x44),
                                     _mm512_shuffle_i64x2(t01, t23, 0xee));
  const __m512i w = _mm512_add_epi64(_mm512_shuffle_i64x2(u, u, 0x88),
                                     _mm512_shuffle_i64x2(u, u, 0xdd)); /* s0 s1 s2 s3 ... */
  _mm_storeu_si128((__m128i*)out, _mm256_castsi256_si128(_mm512_cvtepi64_epi32(w)));
}

/* Rows shorter than this go to the scalar POPCNT kernel. */
#define BN_AVX512_MIN_WORDS 8

/* 4 rows x 4 filters per step, 512 bits at a time; the last block is a masked load. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static void bgemm_avx512(
    const uint32_t* rows, const uint32_t* filters, int nfilters, int kp, int32_t* acc,
    int ldacc) {
  if (kp < BN_AVX512_MIN_WORDS) { /* a few words: scalar popcounts waste no vector lanes */
    bgemm_popcnt(rows, filters, nfilters, kp, acc, ldacc);
    return;
  }
  const int blocks = kp / 16;
  const int tail = kp % 16;
  const __mmask16 tail_mask = (__mmask16)((1u << tail) - 1u);
  const uint32_t* r0 = rows;
  const uint32_t* r1 = rows + kp;
  const uint32_t* r2 = rows + 2 * (size_t)kp;
  const uint32_t* r3 = rows + 3 * (size_t)kp;
  int f = 0;
  for (; f + 4 <= nfilters; f += 4) {
    const uint32_t* w = filters + (size_t)f * kp;
    __m512i a[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) a[i][j] = _mm512_setzero_si512();
    for (int b = 0; b <= blocks; ++b) {
      if (b == blocks && tail == 0) break;
      const __mmask16 m = b < blocks ? (__mmask16)0xffff : tail_mask;
      const size_t o = 16 * (size_t)b;
      const __m512i x0 = _mm512_maskz_loadu_epi32(m, r0 + o);
      const __m512i x1 = _mm512_maskz_loadu_epi32(m, r1 + o);
      const __m512i x2 = _mm512_maskz_loadu_epi32(m, r2 + o);
      const __m512i x3 = _mm512_maskz_loadu_epi32(m, r3 + o);
      for (int j = 0; j < 4; ++j) {
        const __m512i y = _mm512_maskz_loadu_epi32(m, w + (size_t)j * kp + o);
        a[0][j] = _mm512_add_epi64(a[0][j], xor_popcount512(x0, y));
        a[1][j] = _mm512_add_epi64(a[1][j], xor_popcount512(x1, y));
        a[2][j] = _mm512_add_epi64(a[2][j], xor_popcount512(x2, y));
        a[3][j] = _mm512_add_epi64(a[3][j], xor_popcount512(x3, y));
      }
    }
    for (int i = 0; i < 4; ++i) store_sums4(a[i], acc + (size_t)i * ldacc + f);
  }
  for (; f < nfilters; ++f) {
    const uint32_t* w = filters + (size_t)f * kp;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int b = 0; b <= blocks; ++b) {
      if (b == blocks && tail == 0) break;
      const __mmask16 m = b < blocks ? (__mmask16)0xffff : tail_mask;
      const size_t o = 16 * (size_t)b;
      const __m512i y = _mm512_maskz_loadu_epi32(m, w + o);
      a0 = _mm512_add_epi64(a0, xor_popcount512(_mm512_maskz_loadu_epi32(m, r0 + o), y));
      a1 = _mm512_add_epi64(a1, xor_popcount512(_mm512_maskz_loadu_epi32(m, r1 + o), y));
      a2 = _mm512_add_epi64(a2, xor_popcount512(_mm512_maskz_loadu_epi32(m, r2 + o), y));
      a3 = _mm512_add_epi64(a3, xor_popcount512(_mm512_maskz_loadu_epi32(m, r3 + o), y));
    }
    acc[f] = (int32_t)_mm512_reduce_add_epi64(a0);
    acc[ldacc + f] = (int32_t)_mm512_reduce_add_epi64(a1);
    acc[2 * (size_t)ldacc + f] = (int32_t)_mm512_reduce_add_epi64(a2);
    acc[3 * (size_t)ldacc + f] = (int32_t)_mm512_reduce_add_epi64(a3);
  }
}
/* Channel-major: BN_CM_ROWS rows x `blocks` blocks of 16 channels, one broadcast word of a row
 * against one word of 16 filters per XOR; the filter words stay in registers for all rows. */
__attribute__((target("avx512f,avx512vpopcntdq"), always_inline)) static inline void
cm_avx512_blocks(const uint32_t* const* rows, const int32_t* offsets, int k, const uint32_t* f,
                 int blocks, int32_t* acc, int ldacc) {
  const uint32_t* r[BN_CM_ROWS];
  for (int i = 0; i < BN_CM_ROWS; ++i) r[i] = rows[i];
  __m512i a[BN_CM_ROWS][2];
  for (int i = 0; i < BN_CM_ROWS; ++i) a[i][0] = a[i][1] = _mm512_setzero_si512();
  for (int w = 0; w < k; ++w) {
    const int32_t o = offsets[w];
    __m512i y[2];
    for (int j = 0; j < blocks; ++j)
      y[j] = _mm512_loadu_si512(f + ((size_t)j * k + w) * BN_CM_BLOCK);
    for (int i = 0; i < BN_CM_ROWS; ++i) {
      const __m512i x = _mm512_set1_epi32((int)r[i][o]);
      for (int j = 0; j < blocks; ++j)
        a[i][j] = _mm512_add_epi32(a[i][j], _mm512_popcnt_epi32(_mm512_xor_si512(x, y[j])));
    }
  }
  for (int i = 0; i < BN_CM_ROWS; ++i)
    for (int j = 0; j < blocks; ++j)
      _mm512_storeu_si512(acc + (size_t)i * ldacc + j * BN_CM_BLOCK, a[i][j]);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static void bgemm_cm_avx512(
    const uint32_t* const* rows, const int32_t* offsets, int k, const uint32_t* filters,
    int nblocks, int32_t* acc, int ldacc) {
  int b = 0;
  for (; b + 2 <= nblocks; b += 2)
    cm_avx512_blocks(rows, offsets, k, filters + (size_t)b * k * BN_CM_BLOCK, 2,
                     acc + b * BN_CM_BLOCK, ldacc);
  if (b < nblocks)
    cm_avx512_blocks(rows, offsets, k, filters + (size_t)b * k * BN_CM_BLOCK, 1,
                     acc + b * BN_CM_BLOCK, ldacc);
}
#endif /* BN_X86 */

#ifdef BN_NEON
static inline uint64_t vaddvq_u16_portable(uint16x8_t v) {
  const uint64x2_t wide = vpaddlq_u32(vpaddlq_u16(v));
  return vgetq_lane_u64(wide, 0) + vgetq_lane_u64(wide, 1);
}

/* 4 rows x 2 filters, 128 bits at a time: byte popcounts (vcnt) pairwise-added into 16-bit lanes,
 * widened to 32 bits every 1024 blocks (at most 16 per lane per block, so no overflow). */
static void bgemm_neon(const uint32_t* rows, const uint32_t* filters, int nfilters, int kp,
                       int32_t* acc, int ldacc) {
  const int blocks = kp / 4;
  for (int f = 0; f < nfilters; ++f) {
    const uint32_t* w = filters + (size_t)f * kp;
    for (int i = 0; i < BN_TILE; ++i) {
      const uint32_t* r = rows + (size_t)i * kp;
      uint32x4_t total = vdupq_n_u32(0);
      int b = 0;
      while (b < blocks) {
        const int end = blocks - b > 1024 ? b + 1024 : blocks;
        uint16x8_t s = vdupq_n_u16(0);
        for (; b < end; ++b) {
          const uint8x16_t x = veorq_u8(vreinterpretq_u8_u32(vld1q_u32(r + 4 * b)),
                                        vreinterpretq_u8_u32(vld1q_u32(w + 4 * b)));
          s = vpadalq_u8(s, vcntq_u8(x));
        }
        total = vpadalq_u16(total, s);
      }
      uint64x2_t t2 = vpaddlq_u32(total);
      uint64_t sum = vgetq_lane_u64(t2, 0) + vgetq_lane_u64(t2, 1);
      for (int k = 4 * blocks; k < kp; k += 2) sum += __builtin_popcountll(load64(r + k) ^ load64(w + k));
      acc[(size_t)i * ldacc + f] = (int32_t)sum;
    }
  }
}
/* Channel-major, 2 rows x 16 channels (four vectors) per step: byte popcounts accumulated in
 * 8-bit lanes for up to 31 words (at most 8 per byte per word), then widened pairwise into the
 * 32-bit lanes. */
static void bgemm_cm_neon(const uint32_t* const* rows, const int32_t* offsets, int k,
                          const uint32_t* filters, int nblocks, int32_t* acc, int ldacc) {
  for (int b = 0; b < nblocks; ++b) {
    const uint32_t* f = filters + (size_t)b * k * BN_CM_BLOCK;
    for (int i0 = 0; i0 < BN_CM_ROWS; i0 += 2) {
      uint32x4_t sums[2][4];
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 4; ++j) sums[i][j] = vdupq_n_u32(0);
      for (int w0 = 0; w0 < k; w0 += 31) {
        const int w1 = k - w0 > 31 ? w0 + 31 : k;
        uint8x16_t bytes[2][4];
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 4; ++j) bytes[i][j] = vdupq_n_u8(0);
        for (int w = w0; w < w1; ++w) {
          uint8x16_t y[4];
          for (int j = 0; j < 4; ++j)
            y[j] = vreinterpretq_u8_u32(vld1q_u32(f + w * BN_CM_BLOCK + 4 * j));
          for (int i = 0; i < 2; ++i) {
            const uint32_t word = rows[i0 + i][offsets[w]];
            const uint8x16_t x = vreinterpretq_u8_u32(vdupq_n_u32(word));
            for (int j = 0; j < 4; ++j)
              bytes[i][j] = vaddq_u8(bytes[i][j], vcntq_u8(veorq_u8(x, y[j])));
          }
        }
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 4; ++j) sums[i][j] = vpadalq_u16(sums[i][j], vpaddlq_u8(bytes[i][j]));
      }
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 4; ++j)
          vst1q_s32(acc + (size_t)(i0 + i) * ldacc + b * BN_CM_BLOCK + 4 * j,
                    vreinterpretq_s32_u32(sums[i][j]));
    }
  }
}
#endif /* BN_NEON */

/* ---- XNOR+popcount limit loops: 8 independent register-resident XOR+popcount+add chains per
 * iteration, the operand changing every iteration so nothing can be hoisted. ---- */

#define BN_LIMIT_CHAINS 8

static uint64_t limit_portable(long iterations, int* bits) {
  uint64_t x[BN_LIMIT_CHAINS], a[BN_LIMIT_CHAINS] = {0}, y = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) x[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1);
  for (long n = 0; n < iterations; ++n, ++y)
    for (int i = 0; i < BN_LIMIT_CHAINS; ++i) a[i] += (uint64_t)__builtin_popcountll(x[i] ^ y);
  *bits = 64 * BN_LIMIT_CHAINS;
  uint64_t sum = 0;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) sum += a[i];
  return sum;
}

#ifdef BN_X86
__attribute__((target("popcnt"))) static uint64_t limit_popcnt(long iterations, int* bits) {
  uint64_t x[BN_LIMIT_CHAINS], a[BN_LIMIT_CHAINS] = {0}, y = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) x[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1);
  for (long n = 0; n < iterations; ++n, ++y)
    for (int i = 0; i < BN_LIMIT_CHAINS; ++i) a[i] += _mm_popcnt_u64(x[i] ^ y);
  *bits = 64 * BN_LIMIT_CHAINS;
  uint64_t sum = 0;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) sum += a[i];
  return sum;
}

__attribute__((target("avx2"))) static uint64_t limit_avx2(long iterations, int* bits) {
  __m256i x[BN_LIMIT_CHAINS], a[BN_LIMIT_CHAINS], y = _mm256_set1_epi64x(0x5bd1e995);
  const __m256i one = _mm256_set1_epi64x(1);
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) {
    x[i] = _mm256_set1_epi64x(0x0123456789abcdefLL * (i + 1));
    a[i] = _mm256_setzero_si256();
  }
  for (long n = 0; n < iterations; ++n) {
    y = _mm256_add_epi64(y, one);
    for (int i = 0; i < BN_LIMIT_CHAINS; ++i)
      a[i] = sad_add(a[i], popcount256(_mm256_xor_si256(x[i], y)));
  }
  *bits = 256 * BN_LIMIT_CHAINS;
  int64_t sum = 0;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) sum += sum_lanes(a[i]);
  return (uint64_t)sum;
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static uint64_t limit_avx512(long iterations,
                                                                                 int* bits) {
  __m512i x[BN_LIMIT_CHAINS], a[BN_LIMIT_CHAINS], y = _mm512_set1_epi64(0x5bd1e995);
  const __m512i one = _mm512_set1_epi64(1);
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) {
    x[i] = _mm512_set1_epi64(0x0123456789abcdefLL * (i + 1));
    a[i] = _mm512_setzero_si512();
  }
  for (long n = 0; n < iterations; ++n) {
    y = _mm512_add_epi64(y, one);
    for (int i = 0; i < BN_LIMIT_CHAINS; ++i) a[i] = _mm512_add_epi64(a[i], xor_popcount512(x[i], y));
  }
  *bits = 512 * BN_LIMIT_CHAINS;
  uint64_t sum = 0;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) sum += (uint64_t)_mm512_reduce_add_epi64(a[i]);
  return sum;
}
#endif

#ifdef BN_NEON
static uint64_t limit_neon(long iterations, int* bits) {
  uint8x16_t x[BN_LIMIT_CHAINS], y = vdupq_n_u8(0x5b);
  uint16x8_t a[BN_LIMIT_CHAINS];
  uint64_t sum = 0;
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) {
    x[i] = vdupq_n_u8((uint8_t)(0x35 * (i + 1)));
    a[i] = vdupq_n_u16(0);
  }
  for (long n = 0; n < iterations; ++n) {
    y = vaddq_u8(y, vdupq_n_u8(1));
    for (int i = 0; i < BN_LIMIT_CHAINS; ++i) a[i] = vpadalq_u8(a[i], vcntq_u8(veorq_u8(x[i], y)));
    if ((n & 1023) == 1023) /* 16-bit lanes hold at most 4,096 blocks */
      for (int i = 0; i < BN_LIMIT_CHAINS; ++i) {
        sum += vaddvq_u16_portable(a[i]);
        a[i] = vdupq_n_u16(0);
      }
  }
  for (int i = 0; i < BN_LIMIT_CHAINS; ++i) sum += vaddvq_u16_portable(a[i]);
  *bits = 128 * BN_LIMIT_CHAINS;
  return sum;
}
#endif

uint64_t bn_limit_loop(long iterations, int* bits_per_iteration) {
  const char* name = bn_bgemm_name();
#ifdef BN_X86
  if (strcmp(name, "avx512") == 0) return limit_avx512(iterations, bits_per_iteration);
  if (strcmp(name, "avx2") == 0) return limit_avx2(iterations, bits_per_iteration);
  if (strcmp(name, "popcnt") == 0) return limit_popcnt(iterations, bits_per_iteration);
#endif
#ifdef BN_NEON
  if (strcmp(name, "neon") == 0) return limit_neon(iterations, bits_per_iteration);
#endif
  (void)name;
  return limit_portable(iterations, bits_per_iteration);
}

BnBgemm bn_bgemm_by_name(const char* name) {
  if (strcmp(name, "portable") == 0) return bgemm_portable;
#ifdef BN_X86
  __builtin_cpu_init();
  if (strcmp(name, "popcnt") == 0 && __builtin_cpu_supports("popcnt")) return bgemm_popcnt;
  if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("popcnt"))
    return bgemm_avx2;
  if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512vpopcntdq"))
    return bgemm_avx512;
#endif
#ifdef BN_NEON
  if (strcmp(name, "neon") == 0) return bgemm_neon;
#endif
  return NULL;
}

BnBgemmCm bn_bgemm_cm_by_name(const char* name) {
  if (!bn_bgemm_by_name(name)) return NULL;
#ifdef BN_X86
  if (strcmp(name, "avx2") == 0) return bgemm_cm_avx2;
  if (strcmp(name, "avx512") == 0) return bgemm_cm_avx512;
#endif
#ifdef BN_NEON
  if (strcmp(name, "neon") == 0) return bgemm_cm_neon;
#endif
  return NULL;
}

static const char* const preference[] = {"avx512", "avx2", "popcnt", "neon", "portable"};
static const char* forced = NULL; /* set by bn_bgemm_force */

static const char* best_name(void) {
  for (size_t i = 0; i < sizeof(preference) / sizeof(preference[0]); ++i)
    if (bn_bgemm_by_name(preference[i])) return preference[i];
  return "portable";
}

const char* bn_bgemm_name(void) { return forced ? forced : best_name(); }

int bn_bgemm_force(const char* name) {
  if (name == NULL) {
    forced = NULL;
    return 1;
  }
  for (size_t i = 0; i < sizeof(preference) / sizeof(preference[0]); ++i)
    if (strcmp(name, preference[i]) == 0 && bn_bgemm_by_name(preference[i])) {
      forced = preference[i];
      return 1;
    }
  return 0;
}

BnBgemm bn_bgemm_select(void) { return bn_bgemm_by_name(bn_bgemm_name()); }
