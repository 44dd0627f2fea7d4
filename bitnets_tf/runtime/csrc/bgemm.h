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
