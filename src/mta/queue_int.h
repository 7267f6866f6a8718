/* queue_int.h - private parts of the durable queue shared by queue.c, queue_ops.c and
 * queue_content.c
 *
 * Why: one object (struct ox_queue) holds the SQLite handle, the prepared statements, the
 *      content directory and the batch's file bookkeeping; the three files split the database
 *      plumbing, the operations and the content files. */
#ifndef OX_MTA_QUEUE_INT_H
#define OX_MTA_QUEUE_INT_H

#include "openx400/queue.h"

#include <sqlite3.h>

/* Every SQL statement the queue runs, prepared once (lazily) and reused. */
typedef enum q_sql {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_SAVEPOINT_BATCH,
    S_RELEASE_BATCH,
    S_ROLLBACK_TO_BATCH,
    S_FIND_MTS,
    S_INSERT_MSG,
    S_INSERT_RCPT,
    S_HIST_MSG,
    S_HIST_MSG_MTS,
    S_HIST_RCPT,
    S_SET_STATE,
    S_SET_ND,
    S_SET_RETRY_OPEN,
    S_SET_RETRY_TRANSFER,
    S_SET_ROUTE,
    S_RETRY_NOW,
    S_RCPT_EXISTS,
    S_DUE,
    S_EXPIRED,
    S_NEXT_DUE,
    S_CONN_STATS,
    S_CONN_BACKLOG,
    S_GET_MSG,
    S_GET_ENV,
    S_GET_RCPT,
    S_ALL_MSG,
    S_ALL_RCPT,
    S_MSG_RCPT,
    S_HIST_LIST,
    S_FINISHED,
    S_FINISHED_ID,
    S_SEEN_ADD,
    S_SEEN_NEW,
    S_DUE_MSG,
    S_HIST_TEXT,
    S_DEL_RCPT,
    S_DEL_MSG,
    S_OLD_SEEN,
    S_DEL_HIST_MTS,
    S_DEL_SEEN,
    S_MSG_EXISTS,
    S_CONTENT_OF,
    S_READ_INLINE,
    S_REF_USED,
    S_QCOUNT,
    S_IN_TRANSFER,
    S_COUNT
} q_sql;

/* A content file name: "c" + 16 hex + "-" + 8 hex, NUL; temporaries add "tmp-". */
#define Q_NAME_LEN 32

struct ox_queue {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    ox_alloc alloc_copy;
    const ox_alloc *alloc;
    bool read_only;
    bool no_sync;
    bool in_batch;
    bool op_single;    /* the current call is one statement without a savepoint */
    bool hold;         /* ox_queue_hold_begin: batches nest inside as savepoints */
    unsigned nest;     /* batches open inside the hold */
    size_t nest_added; /* added.len when the (one level of) nested batch began */
    size_t nest_removed;
    bool dir_dirty; /* a content file was renamed in since the last directory fsync */
    bool must_sync; /* the open transaction added a message: its commit syncs the WAL */
    uint64_t max_content;
    uint32_t inline_max; /* contents up to this size live in the row */
    bool inline_never;   /* cfg.inline_max < 0: every content is a file */
    int dir_fd;          /* the content directory, -1 when read_only and absent */
    int lock_fd;         /* "<path>.lock", fcntl write lock held while open */
    uint64_t name_seed;  /* random per open, so names never collide across restarts */
    uint32_t name_counter;
    ox_buf added;      /* names (Q_NAME_LEN each) renamed in during the batch */
    ox_buf removed;    /* names to unlink once the batch commits */
    size_t added_mark; /* added.len / removed.len when the current call began */
    size_t removed_mark;
    ox_buf scratch; /* copies of text returned by get_msg / get_rcpt */
    char errmsg[512];
};

/* queue.c */
sqlite3_stmt *q_stmt(ox_queue *q, q_sql s);
int q_fail(ox_queue *q, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int q_sqlerr(ox_queue *q, const char *what);
int q_step_done(ox_queue *q, sqlite3_stmt *st, const char *what);
int q_run(ox_queue *q, q_sql s, const char *what);
int q_op_begin(ox_queue *q);
/* The same for a call that is one statement, or whose first statement makes any later
 * failure harmless: inside a batch it needs no savepoint of its own, since SQLite undoes a
 * failed statement by itself. */
int q_op_begin_single(ox_queue *q);
int q_op_end(ox_queue *q, int rc);
void q_bind_text(sqlite3_stmt *st, int i, const char *s, size_t max);
void q_bind_u64(sqlite3_stmt *st, int i, uint64_t v);
uint64_t q_col_u64(sqlite3_stmt *st, int i);
const char *q_col_text(sqlite3_stmt *st, int i);

/* queue_content.c */
/* Finishes a writer for insert: a file is fsynced, closed and renamed into place (*in_db =
 * false, writer released); an inline content stays in w->inl (*in_db = true; the caller
 * releases it with ox_queue_content_discard after binding it). */
int q_content_finish(ox_queue_writer *w, bool *in_db);
void q_content_unlink(ox_queue *q, const char *name);
int q_dir_sync(ox_queue *q);                    /* fsync the content directory if dirty */
void q_unlink_list(ox_queue *q, ox_buf *names); /* unlink each name, empty the list */
void q_unlink_from(ox_queue *q, ox_buf *names, size_t from); /* the same from offset from */
int q_recover_files(ox_queue *q, uint64_t now_ms, ox_queue_recovery *rec);

/* Configures SQLite's memory for the process, once, before its first use. */
void q_sqlite_configure(void);

#endif
