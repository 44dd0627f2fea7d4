/* Binary GEMM micro-kernels: XOR + popcount dot products of BN_TILE im2col rows against filters.
 *
 * rows:    BN_TILE rows of kp 32-bit words (row i at rows + i * kp); kp is even.
 * filters: nfilters rows of kp words.
 * acc:     acc[i * ldacc + f] = sum over k of popcount(rows[i][k] ^ filters[f][k]).
 */
#ifndef BITNETS_BGEMM_H_
#define BITNETS_BGEMM_H_

#include <stdint.h>

#define BN_TILE 4

typedef void (*BnBgemm)(const uint32_t* rows, const uint32_t* filters, int nfilters, int kp,
                        int32_t* acc, int ldacc);

/* Channel-major binary GEMM (SIMD families), for ungrouped convolutions: BN_CM_ROWS rows of k
 * words, word w of row i at rows[i][offsets[w]] (an indirection: the words of a pixel's taps read
 * in place from the image), against filters packed in blocks of BN_CM_BLOCK channels, word-major
 * (word w of channel c of block b at filters[(b * k + w) * BN_CM_BLOCK + c]):
 *   acc[i * ldacc + b * BN_CM_BLOCK + c] = sum over w of popcount(row i word w ^ filter[b][w][c]).
 * One 32-bit lane per output channel: the sums need no horizontal reduction and no lane is
 * wasted however short the rows are. */
#define BN_CM_ROWS 8
#define BN_CM_BLOCK 16

typedef void (*BnBgemmCm)(const uint32_t* const* rows, const int32_t* offsets, int k,
                          const uint32_t* filters, int nblocks, int32_t* acc, int ldacc);

/* The channel-major kernel of the kernel family `name` (as bn_bgemm_by_name), or NULL: the
 * scalar families ("portable", "popcnt") have none, their 64-bit row-major kernel being faster. */
BnBgemmCm bn_bgemm_cm_by_name(const char* name);

/* The kernel new operators use: the fastest this CPU supports, unless one is forced. */
BnBgemm bn_bgemm_select(void);
const char* bn_bgemm_name(void);
/* A kernel by name ("portable", "popcnt", "avx2", "avx512", "neon"), or NULL if this build or
 * CPU cannot run it. */
BnBgemm bn_bgemm_by_name(const char* name);

/* Makes new operators use the kernel `name` (NULL: back to the fastest). Returns 0 if this
 * build or CPU cannot run it. */
int bn_bgemm_force(const char* name);

/* The XNOR+popcount limit loop of the kernel in use: `iterations` steps of independent,
 * register-resident XOR+popcount+accumulate chains; sets the bits processed per step and returns
 * a checksum (to keep the work). */
uint64_t bn_limit_loop(long iterations, int* bits_per_iteration);

#endif /* BITNETS_BGEMM_H_ */
