/* queue_sqlite_memory.c - how SQLite allocates memory in this process: no allocation counter,
 * and the pieces of savepoint journals recycled instead of freed
 *
 * Why: every queue operation inside a hold (a group commit) is a SAVEPOINT, and SQLite copies
 *      each page the operation changes into the savepoint's journal. With temp_store=MEMORY
 *      that journal is a chain of 1 KB pieces, one malloc each (17 for a 16 KB page), all
 *      freed at the RELEASE: malloc and free of them were a fifth of the sender's time
 *      (docs/BENCH.md). Freed pieces go on a list here and the next journal takes them from
 *      it. (A journal in one large piece instead, SQLITE_CONFIG_STMTJRNL_SPILL without
 *      temp_store=MEMORY, spills into a temporary file once an operation outgrows it, and a
 *      batch of a thousand recipient updates did: slower, and on the flapping-link test a
 *      write of that file failed with SQLITE_FULL, which rolls back the whole transaction.)
 * Only possible before SQLite's first use in the process; later calls change nothing. */
#include "queue_int.h"

#include <stdatomic.h>

/* The size SQLite asks for a piece of an in-memory journal (memjournal.c: 1 KB less its
 * header, plus the header), and how many freed pieces are kept: 8 MB. */
#define PIECE_SIZE  1024
#define PIECES_KEPT 8192

typedef struct piece {
    struct piece *next;
} piece;

static sqlite3_mem_methods base;
static atomic_flag lock = ATOMIC_FLAG_INIT; /* SQLite may allocate from any thread */
static piece *kept;
static int n_kept;

static void take_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        ;
}

static void *piece_malloc(int n)
{
    if (n == PIECE_SIZE) {
        take_lock();
        piece *p = kept;
        if (p) {
            kept = p->next;
            n_kept--;
        }
        atomic_flag_clear_explicit(&lock, memory_order_release);
        if (p)
            return p;
    }
    return base.xMalloc(n);
}

static void piece_free(void *p)
{
    if (base.xSize(p) == PIECE_SIZE) {
        take_lock();
        bool keep = n_kept < PIECES_KEPT;
        if (keep) {
            ((piece *)p)->next = kept;
            kept = p;
            n_kept++;
        }
        atomic_flag_clear_explicit(&lock, memory_order_release);
        if (keep)
            return;
    }
    base.xFree(p);
}

void q_sqlite_configure(void)
{
    static atomic_flag done = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&done))
        return;
    /* SQLite counts every allocation under a global mutex unless told not to (a lock and an
     * unlock around each malloc: ~3% of the sender's time). */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &base) != SQLITE_OK)
        return;
    sqlite3_mem_methods m = base;
    m.xMalloc = piece_malloc;
    m.xFree = piece_free;
    (void)sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}
