/* A small process-wide thread pool: workers sleep on a condition variable between jobs (no
 * spinning, so they do not compete with the interpreter's own threads for the cores). */
#ifndef BITNETS_PARALLEL_H_
#define BITNETS_PARALLEL_H_

/* task(context, index, thread) for every index in [0, count), on up to `threads` threads
 * (thread 0 is the caller; thread ids are < threads). Returns when all are done. Jobs from
 * several callers run one after another. */
typedef void (*BnTask)(void* context, int index, int thread);
void bn_parallel_for(int count, int threads, BnTask task, void* context);

#endif /* BITNETS_PARALLEL_H_ */
