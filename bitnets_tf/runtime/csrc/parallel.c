/* See parallel.h. Workers are created on first use and live until the process exits. */
#include "parallel.h"

#include <pthread.h>
#include <stdatomic.h>

#define BN_MAX_WORKERS 63

static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static int workers = 0;           /* started so far */
static unsigned long generation;  /* incremented per job */
static int participants;          /* workers taking part in the current job */
static int active;                /* participants not finished yet */
static BnTask job_task;
static void* job_context;
static int job_count;
static atomic_int next_index;

static void run_chunks(int thread) {
  int i;
  while ((i = atomic_fetch_add(&next_index, 1)) < job_count) job_task(job_context, i, thread);
}

static void* worker_main(void* arg) {
  const int id = (int)(long)arg; /* 1-based thread id */
  /* Created under `lock` just before the job it is needed for: generation 0 is never a job, so
   * the first generation it sees is that job. */
  unsigned long seen = 0;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (generation == seen) pthread_cond_wait(&work, &lock);
    seen = generation;
    if (id > participants) continue;
    pthread_mutex_unlock(&lock);
    run_chunks(id);
    pthread_mutex_lock(&lock);
    if (--active == 0) pthread_cond_signal(&done);
  }
  return NULL;
}

void bn_parallel_for(int count, int threads, BnTask task, void* context) {
  if (threads > BN_MAX_WORKERS + 1) threads = BN_MAX_WORKERS + 1;
  if (threads > count) threads = count;
  if (threads <= 1) {
    for (int i = 0; i < count; ++i) task(context, i, 0);
    return;
  }
  pthread_mutex_lock(&submit);
  pthread_mutex_lock(&lock);
  while (workers < threads - 1) {
    pthread_t handle;
    if (pthread_create(&handle, NULL, worker_main, (void*)(long)(workers + 1)) != 0) break;
    pthread_detach(handle);
    ++workers;
  }
  participants = threads - 1 < workers ? threads - 1 : workers;
  active = participants;
  job_task = task;
  job_context = context;
  job_count = count;
  atomic_store(&next_index, 0);
  ++generation;
  pthread_cond_broadcast(&work);
  pthread_mutex_unlock(&lock);
  run_chunks(0);
  pthread_mutex_lock(&lock);
  while (active > 0) pthread_cond_wait(&done, &lock);
  pthread_mutex_unlock(&lock);
  pthread_mutex_unlock(&submit);
}
