/* queue.c - the durable queue's database plumbing: open, schema, statements, transactions,
 * group commit and start-up recovery
 *
 * Why: everything the MTA has accepted lives here across crashes, so the rules are few and
 *      strict: a commit that adds a message (or is followed by unlinking content files)
 *      returns only after its WAL frames are on disk; content files are durable before the
 *      row that names them commits; nothing is acknowledged before its commit. Group commit
 *      lets one fsync cover many messages.
 * Durability by what a commit holds: the database runs WAL + synchronous=NORMAL (a commit
 *      is atomic and survives the process; only a power loss or OS crash can take back the
 *      last commits) and q_op_end syncs the WAL itself after a commit that inserted a
 *      message or will unlink files. A commit of state marks only (in transfer,
 *      transferred, delivered, retry counts) is not synced: losing it to a power loss puts
 *      the message back one step, and every step is repeatable without a duplicate (the
 *      peer drops a resent MTS identifier; a repeated local delivery rewrites the same
 *      file, whose data ox_mta_sync_mailboxes made durable before the mark). The next
 *      synced commit makes the earlier ones durable too: the WAL is one file, in order.
 *      (SQLite refuses to change synchronous inside a transaction, and whether a turn's
 *      hold will store a message is known only at its end, hence the hand-made sync.)
 * Transactions: outside a batch each call is BEGIN IMMEDIATE ... COMMIT. Inside a batch each
 *      call is a SAVEPOINT, so a call that fails leaves the batch as it was before the call
 *      and the batch can still commit the others.
 * Schema (format 1): format(version); msg (one row per message, mts_id UNIQUE); rcpt (one row
 *      per recipient with its state, connector, attempts; priority and arrival copied from
 *      msg so the due index orders without a join); seen (MTS ids of purged messages, for
 *      dedup of late resends); history (per-message lines for track); quarantine and
 *      quarantine_rcpt (rows whose content went missing; never silently deleted).
 * Diagnostics: OX_E_IO with "what: sqlite's or the OS's message" in ox_queue_errmsg.
 * Limits: the OX_QUEUE_*_MAX constants in queue.h, checked before anything is written. */
#include "queue_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The rcpt columns every rcpt_info reader uses, in the order q_fill_rcpt expects. */
#define RCPT_COLS                                                                                  \
    "id, msg_id, idx, address, state, ifnull(connector,''), next_attempt, open_attempts, "         \
    "transfer_attempts, last_error, report_flags, reason, diagnostic"
#define MSG_COLS                                                                                   \
    "id, mts_id, kind, priority, originator, source, arrival, expiry, content_size, "              \
    "content_ref IS NOT NULL OR content_inline IS NOT NULL, n_rcpts"

static const char *const q_sql_text[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT op",
    [S_RELEASE] = "RELEASE op",
    [S_ROLLBACK_TO] = "ROLLBACK TO op",
    [S_SAVEPOINT_BATCH] = "SAVEPOINT batch",
    [S_RELEASE_BATCH] = "RELEASE batch",
    [S_ROLLBACK_TO_BATCH] = "ROLLBACK TO batch",
    [S_FIND_MTS] = "SELECT id FROM msg WHERE mts_id=?1 UNION ALL "
                   "SELECT msg_id FROM seen WHERE mts_id=?1 LIMIT 1",
    [S_INSERT_MSG] = "INSERT INTO msg(mts_id, kind, priority, originator, source, arrival, "
                     "expiry, content_size, content_ref, envelope, n_rcpts, content_inline) "
                     "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_INSERT_RCPT] = "INSERT INTO rcpt(msg_id, idx, address, state, connector, next_attempt, "
                      "report_flags, priority, arrival) VALUES(?,?,?,0,?,?,?,?,?)",
    [S_HIST_MSG] = "INSERT INTO history(msg_id, mts_id, time, event, text) "
                   "SELECT id, mts_id, ?2, ?3, ?4 FROM msg WHERE id=?1",
    [S_HIST_MSG_MTS] = "INSERT INTO history(msg_id, mts_id, time, event, text) "
                       "VALUES(?1, ?5, ?2, ?3, ?4)",
    [S_HIST_RCPT] = "INSERT INTO history(msg_id, mts_id, time, event, text) "
                    "SELECT m.id, m.mts_id, ?2, 0, 'rcpt ' || r.idx || ' ' || r.address || "
                    "': ' || ?3 FROM rcpt r JOIN msg m ON m.id=r.msg_id WHERE r.id=?1",
    [S_SET_STATE] = "UPDATE rcpt SET state=?2 WHERE id=?1 AND ((1<<state) & ?3) != 0",
    [S_SET_ND] = "UPDATE rcpt SET state=4, reason=?2, diagnostic=?3, last_error=?4 "
                 "WHERE id=?1 AND ((1<<state) & ?5) != 0",
    [S_SET_RETRY_OPEN] = "UPDATE rcpt SET state=0, next_attempt=?2, open_attempts="
                         "open_attempts+1, last_error=?3 WHERE id=?1 AND state IN (0,1)",
    [S_SET_RETRY_TRANSFER] = "UPDATE rcpt SET state=0, next_attempt=?2, transfer_attempts="
                             "transfer_attempts+1, last_error=?3 WHERE id=?1 AND state IN (0,1)",
    [S_SET_ROUTE] = "UPDATE rcpt SET connector=?2 WHERE id=?1 AND state=0",
    [S_RETRY_NOW] = "UPDATE rcpt SET next_attempt=?2 WHERE connector=?1 AND state=0 AND "
                    "next_attempt>?2",
    [S_RCPT_EXISTS] = "SELECT 1 FROM rcpt WHERE id=?",
    [S_DUE] = "SELECT id, msg_id, idx, priority, arrival, next_attempt, report_flags FROM rcpt "
              "WHERE state=0 AND connector=?1 AND next_attempt<=?2 "
              "ORDER BY priority, arrival, msg_id, idx LIMIT ?3",
    [S_DUE_MSG] = "SELECT id, msg_id, idx, priority, arrival, next_attempt, report_flags FROM rcpt "
                  "WHERE msg_id=(SELECT msg_id FROM rcpt WHERE state=0 AND connector=?1 AND "
                  "next_attempt<=?2 ORDER BY priority, arrival, msg_id, idx LIMIT 1) "
                  "AND state=0 AND connector=?1 AND next_attempt<=?2 ORDER BY idx LIMIT ?3",
    [S_EXPIRED] = "SELECT r.id, r.msg_id, r.idx, r.priority, r.arrival, r.next_attempt, "
                  "r.report_flags "
                  "FROM msg m JOIN rcpt r ON r.msg_id=m.id "
                  "WHERE m.expiry>0 AND m.expiry<=?1 AND r.state=0 "
                  "ORDER BY r.priority, r.arrival, r.msg_id, r.idx LIMIT ?2",
    [S_NEXT_DUE] = "SELECT min(t) FROM (SELECT min(next_attempt) AS t FROM rcpt WHERE state=0 "
                   "UNION ALL SELECT min(m.expiry) FROM msg m WHERE m.expiry>0 AND EXISTS "
                   "(SELECT 1 FROM rcpt r WHERE r.msg_id=m.id AND r.state=0))",
    [S_CONN_STATS] = "SELECT count(*), ifnull(min(arrival),0) FROM rcpt "
                     "WHERE connector=? AND state IN (0,1)",
    [S_CONN_BACKLOG] = "SELECT count(*) FROM (SELECT 1 FROM rcpt "
                       "WHERE connector=?1 AND state IN (0,1) LIMIT ?2)",
    [S_GET_MSG] = "SELECT " MSG_COLS " FROM msg WHERE id=?",
    [S_GET_ENV] = "SELECT envelope FROM msg WHERE id=?",
    [S_GET_RCPT] = "SELECT " RCPT_COLS " FROM rcpt WHERE id=?",
    [S_ALL_MSG] = "SELECT " MSG_COLS " FROM msg ORDER BY id",
    [S_ALL_RCPT] = "SELECT " RCPT_COLS " FROM rcpt ORDER BY msg_id, idx",
    [S_MSG_RCPT] = "SELECT " RCPT_COLS " FROM rcpt WHERE msg_id=? ORDER BY idx",
    [S_HIST_LIST] = "SELECT time, event, text FROM history WHERE mts_id=? ORDER BY id",
    [S_FINISHED] = "SELECT id, mts_id, content_ref FROM msg m WHERE NOT EXISTS "
                   "(SELECT 1 FROM rcpt r WHERE r.msg_id=m.id AND r.state NOT IN (2,5)) "
                   "AND id>? ORDER BY id LIMIT 1",
    [S_FINISHED_ID] = "SELECT id, mts_id, content_ref FROM msg m WHERE id=?1 AND NOT EXISTS "
                      "(SELECT 1 FROM rcpt r WHERE r.msg_id=m.id AND r.state NOT IN (2,5))",
    [S_SEEN_ADD] = "INSERT OR REPLACE INTO seen(mts_id, msg_id, purged) VALUES(?,?,?)",
    [S_SEEN_NEW] = "INSERT INTO seen(mts_id, msg_id, purged) VALUES(?1, 0, ?2)",
    [S_HIST_TEXT] = "INSERT INTO history(msg_id, mts_id, time, event, text) "
                    "VALUES(0, ?1, ?2, ?3, ?4)",
    [S_DEL_RCPT] = "DELETE FROM rcpt WHERE msg_id=?",
    [S_DEL_MSG] = "DELETE FROM msg WHERE id=?",
    [S_OLD_SEEN] = "SELECT mts_id FROM seen WHERE purged<? LIMIT 1",
    [S_DEL_HIST_MTS] = "DELETE FROM history WHERE mts_id=? AND msg_id NOT IN "
                       "(SELECT id FROM msg WHERE mts_id=?1)",
    [S_DEL_SEEN] = "DELETE FROM seen WHERE mts_id=?",
    [S_MSG_EXISTS] = "SELECT 1 FROM msg WHERE id=?",
    [S_CONTENT_OF] = "SELECT content_ref, content_size, content_inline IS NOT NULL FROM msg "
                     "WHERE id=?",
    [S_READ_INLINE] = "SELECT substr(content_inline, ?2, ?3) FROM msg WHERE id=?1",
    [S_REF_USED] = "SELECT 1 FROM msg WHERE content_ref=?1 UNION ALL "
                   "SELECT 1 FROM quarantine WHERE content_ref=?1 LIMIT 1",
    [S_QCOUNT] = "SELECT count(*) FROM quarantine",
    [S_IN_TRANSFER] = "SELECT id FROM rcpt WHERE state=1",
};

/* Measured with bench/mta_throughput.sh (docs/BENCH.md): the default 2 MB page cache made
 * the sender re-read each queued message page by page (25 preads a message); savepoint
 * journals in temporary files cost the sender 20 pwrites a message inside a hold, and with
 * files past a 4 MB in-memory part the flapping-link test ran up to 6 times slower; mmap serves
 * reads of the database file without a system call. Known cost of temp_store=MEMORY: SQLite
 * keeps the journal in 1 KB pieces, and the end of a statement that has a journal of its own
 * (one that may fail half-way: a foreign key, INSERT ... SELECT) walks them from the first;
 * the hot statements have none (docs/QUEUE.md), and queue_sqlite_memory.c recycles the
 * pieces. foreign_keys stays on for keys a future table may declare; rcpt has none. */
static const char q_tuning[] = "PRAGMA foreign_keys=ON;"
                               "PRAGMA cache_size=-65536;"    /* KiB: 64 MB at most */
                               "PRAGMA temp_store=MEMORY;"    /* journals of savepoints too */
                               "PRAGMA mmap_size=268435456;"; /* 256 MB of address space */

/* rcpt.msg_id names its msg row without REFERENCES: with a foreign key every statement that
 * writes rcpt or deletes from msg may fail half-way, so inside a savepoint SQLite journals each
 * page it touches once more for the statement, and the sender's confirm cost twice as much
 * (bench_mta_queue, docs/BENCH.md). A message's row is written before its recipients' and
 * deleted after them, and recovery removes any recipient row left without its message. Queues
 * made before keep the key: slower, not wrong. */
static const char q_schema[] =
    "CREATE TABLE format(version INTEGER NOT NULL);"
    "CREATE TABLE msg(id INTEGER PRIMARY KEY AUTOINCREMENT, mts_id TEXT NOT NULL UNIQUE,"
    " kind INTEGER NOT NULL, priority INTEGER NOT NULL, originator TEXT NOT NULL,"
    " source TEXT NOT NULL, arrival INTEGER NOT NULL, expiry INTEGER NOT NULL,"
    " content_size INTEGER NOT NULL, content_ref TEXT, envelope BLOB NOT NULL,"
    " n_rcpts INTEGER NOT NULL, content_inline BLOB);"
    "CREATE INDEX msg_content ON msg(content_ref) WHERE content_ref IS NOT NULL;"
    "CREATE INDEX msg_expiry ON msg(expiry) WHERE expiry > 0;"
    "CREATE TABLE rcpt(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " msg_id INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " address TEXT NOT NULL, state INTEGER NOT NULL, connector TEXT,"
    " next_attempt INTEGER NOT NULL, open_attempts INTEGER NOT NULL DEFAULT 0,"
    " transfer_attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
    " report_flags INTEGER NOT NULL, reason INTEGER NOT NULL DEFAULT -1,"
    " diagnostic INTEGER NOT NULL DEFAULT -1, priority INTEGER NOT NULL,"
    " arrival INTEGER NOT NULL, UNIQUE(msg_id, idx));"
    "CREATE INDEX rcpt_due ON rcpt(connector, priority, arrival, msg_id, idx) WHERE state=0;"
    "CREATE INDEX rcpt_next ON rcpt(next_attempt) WHERE state=0;"
    "CREATE INDEX rcpt_active ON rcpt(connector, state) WHERE state IN (0,1);"
    "CREATE TABLE seen(mts_id TEXT PRIMARY KEY, msg_id INTEGER NOT NULL,"
    " purged INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX seen_purged ON seen(purged);"
    "CREATE TABLE history(id INTEGER PRIMARY KEY, msg_id INTEGER NOT NULL,"
    " mts_id TEXT NOT NULL, time INTEGER NOT NULL, event INTEGER NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX history_mts ON history(mts_id, id);"
    "CREATE TABLE quarantine(id INTEGER PRIMARY KEY, mts_id TEXT NOT NULL, kind INTEGER,"
    " priority INTEGER, originator TEXT, source TEXT, arrival INTEGER, expiry INTEGER,"
    " content_size INTEGER, content_ref TEXT, envelope BLOB, n_rcpts INTEGER, content_inline BLOB,"
    " q_time INTEGER NOT NULL, q_reason TEXT NOT NULL);"
    "CREATE TABLE quarantine_rcpt(id INTEGER PRIMARY KEY, msg_id INTEGER, idx INTEGER,"
    " address TEXT, state INTEGER, connector TEXT, next_attempt INTEGER, open_attempts INTEGER,"
    " transfer_attempts INTEGER, last_error TEXT, report_flags INTEGER, reason INTEGER,"
    " diagnostic INTEGER, priority INTEGER, arrival INTEGER);";

const char *ox_queue_state_name(ox_queue_rcpt_state s)
{
    switch (s) {
    case OX_QUEUE_PENDING: return "pending";
    case OX_QUEUE_IN_TRANSFER: return "in-transfer";
    case OX_QUEUE_TRANSFERRED: return "transferred";
    case OX_QUEUE_DELIVERED: return "delivered";
    case OX_QUEUE_NON_DELIVERED: return "non-delivered";
    case OX_QUEUE_REPORTED: return "reported";
    }
    return "?";
}

const char *ox_queue_errmsg(const ox_queue *q)
{
    return q ? q->errmsg : "";
}

int q_fail(ox_queue *q, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->errmsg, sizeof q->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

int q_sqlerr(ox_queue *q, const char *what)
{
    int ext = sqlite3_extended_errcode(q->db);
    return q_fail(q, ext == SQLITE_NOMEM ? OX_E_NOMEM : OX_E_IO, "%s: %s", what,
                  sqlite3_errmsg(q->db));
}

sqlite3_stmt *q_stmt(ox_queue *q, q_sql s)
{
    if (!q->st[s]) {
        if (sqlite3_prepare_v3(q->db, q_sql_text[s], -1, SQLITE_PREPARE_PERSISTENT, &q->st[s],
                               NULL) != SQLITE_OK) {
            q_sqlerr(q, "prepare");
            q->st[s] = NULL;
            return NULL;
        }
    } else {
        sqlite3_reset(q->st[s]);
        sqlite3_clear_bindings(q->st[s]);
    }
    return q->st[s];
}

int q_step_done(ox_queue *q, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int e = q_sqlerr(q, what);
        sqlite3_reset(st);
        return e;
    }
    sqlite3_reset(st);
    return 0;
}

int q_run(ox_queue *q, q_sql s, const char *what)
{
    sqlite3_stmt *st = q_stmt(q, s);
    return st ? q_step_done(q, st, what) : OX_E_IO;
}

void q_bind_text(sqlite3_stmt *st, int i, const char *s, size_t max)
{
    if (!s) {
        sqlite3_bind_null(st, i);
        return;
    }
    size_t len = strlen(s);
    if (len > max) {
        len = max; /* cut texts only (errors, history); identities are checked before */
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--; /* do not split a UTF-8 sequence */
    }
    sqlite3_bind_text(st, i, s, (int)len, SQLITE_TRANSIENT);
}

void q_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

uint64_t q_col_u64(sqlite3_stmt *st, int i)
{
    return (uint64_t)sqlite3_column_int64(st, i);
}

const char *q_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* fdatasync of the WAL through SQLite's own handle of it (the file stays open while the
 * database is), after a COMMIT whose frames must be on disk before we answer. */
static int q_wal_sync(ox_queue *q)
{
    sqlite3_file *wal = NULL;
    if (q->no_sync)
        return 0;
    if (sqlite3_file_control(q->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
        !wal || !wal->pMethods)
        return q_fail(q, OX_E_IO, "commit: the write-ahead log is not open");
    int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    return rc == SQLITE_OK
               ? 0
               : q_fail(q, OX_E_IO, "commit: syncing the write-ahead log: %s", sqlite3_errstr(rc));
}

/* Starts the transaction of one call: BEGIN IMMEDIATE, or a SAVEPOINT inside a batch. */
int q_op_begin(ox_queue *q)
{
    if (q->read_only)
        return q_fail(q, OX_E_STATE, "queue opened read-only");
    q->added_mark = q->added.len;
    q->removed_mark = q->removed.len;
    return q_run(q, q->in_batch ? S_SAVEPOINT : S_BEGIN, "begin");
}

int q_op_begin_single(ox_queue *q)
{
    if (!q->in_batch) /* a batch is never open on a read-only queue */
        return q_op_begin(q);
    q->op_single = true;
    return 0;
}

/* Ends the call's transaction: on rc == 0 commits (outside a batch: directory fsync first,
 * then COMMIT, then removals), else rolls back; returns rc or the commit's error. */
int q_op_end(ox_queue *q, int rc)
{
    if (q->op_single) { /* only ever set inside a batch */
        q->op_single = false;
        return rc;
    }
    if (q->in_batch) {
        if (rc != 0) {
            /* This call's new files go; its removals are forgotten; the batch stays. */
            q_unlink_from(q, &q->added, q->added_mark);
            q->removed.len = q->removed_mark;
            if (q_run(q, S_ROLLBACK_TO, "rollback to savepoint") != 0)
                return rc;
        }
        int r2 = q_run(q, S_RELEASE, "release savepoint");
        return rc ? rc : r2;
    }
    if (rc == 0) {
        bool sync = ox_queue_needs_sync(q);
        q->must_sync = false;
        rc = q_dir_sync(q);
        if (rc == 0)
            rc = q_run(q, S_COMMIT, "commit");
        if (rc == 0 && sync)
            rc = q_wal_sync(q);
        if (rc == 0) {
            q_unlink_list(q, &q->removed);
            q->added.len = 0;
            return 0;
        }
    }
    if (!sqlite3_get_autocommit(q->db))
        (void)q_run(q, S_ROLLBACK, "rollback");
    q_unlink_list(q, &q->added);
    q->removed.len = 0;
    q->must_sync = false;
    return rc;
}

int ox_queue_hold_begin(ox_queue *q)
{
    int rc = ox_queue_batch_begin(q);
    if (rc == 0) {
        q->hold = true;
        q->nest = 0;
    }
    return rc;
}

int ox_queue_hold_commit(ox_queue *q)
{
    if (!q)
        return OX_E_ARG;
    if (!q->hold || q->nest)
        return q_fail(q, OX_E_STATE, "hold_commit: %s", q->hold ? "a batch is open" : "no hold");
    q->hold = false;
    return ox_queue_batch_commit(q);
}

bool ox_queue_holding(const ox_queue *q)
{
    return q && q->hold;
}

bool ox_queue_needs_sync(const ox_queue *q)
{
    return q && (q->must_sync || q->removed.len);
}

int ox_queue_batch_begin(ox_queue *q)
{
    if (!q)
        return OX_E_ARG;
    if (q->hold && q->nest == 0) { /* inside a hold: a savepoint, committed with the hold */
        int rc = q_run(q, S_SAVEPOINT_BATCH, "batch savepoint");
        if (rc == 0) {
            q->nest = 1;
            q->nest_added = q->added.len;
            q->nest_removed = q->removed.len;
        }
        return rc;
    }
    if (q->read_only || q->in_batch)
        return q_fail(q, OX_E_STATE, "batch_begin: %s",
                      q->read_only ? "queue opened read-only" : "a batch is already open");
    int rc = q_run(q, S_BEGIN, "batch begin");
    if (rc == 0)
        q->in_batch = true;
    return rc;
}

int ox_queue_batch_commit(ox_queue *q)
{
    if (!q)
        return OX_E_ARG;
    if (q->hold && q->nest) {
        q->nest = 0;
        return q_run(q, S_RELEASE_BATCH, "batch release");
    }
    if (!q->in_batch || q->hold)
        return q_fail(q, OX_E_STATE, "batch_commit: no batch open");
    q->in_batch = false;
    return q_op_end(q, 0);
}

int ox_queue_batch_abort(ox_queue *q)
{
    if (!q)
        return OX_E_ARG;
    if (q->hold && q->nest) {
        q->nest = 0;
        q_unlink_from(q, &q->added, q->nest_added);
        q->removed.len = q->nest_removed;
        (void)q_run(q, S_ROLLBACK_TO_BATCH, "batch rollback");
        (void)q_run(q, S_RELEASE_BATCH, "batch release");
        return 0;
    }
    if (!q->in_batch)
        return q_fail(q, OX_E_STATE, "batch_abort: no batch open");
    q->hold = false;
    q->in_batch = false;
    (void)q_op_end(q, OX_E_STATE);
    return 0;
}

/* ---- open ---- */

static int q_exec(ox_queue *q, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = q_fail(q, OX_E_IO, "%s: %s", what, msg ? msg : sqlite3_errmsg(q->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* Reads the format table; creates the schema in an empty database. */
static int q_check_format(ox_queue *q, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, "SELECT version FROM format", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        int64_t v = -1;
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (v > OX_QUEUE_FORMAT_VERSION)
            return q_fail(q, OX_E_UNSUPPORTED,
                          "%s: queue database format %lld is newer than this openx400 knows "
                          "(%d); run the newer openx400 or point the queue at another path",
                          path, (long long)v, OX_QUEUE_FORMAT_VERSION);
        if (v < 1)
            return q_fail(q, OX_E_IO, "%s: queue database has no format version", path);
        return 0;
    }
    sqlite3_finalize(st);
    /* No format table: an empty file becomes a queue; anything else is not ours. */
    if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK)
        return q_sqlerr(q, path);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n != 0)
        return q_fail(q, OX_E_IO, "%s: not an openx400 queue database (no format table)", path);
    if (q->read_only)
        return q_fail(q, OX_E_IO, "%s: queue database is empty", path);
    char sql[sizeof q_schema + 64];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE;%sINSERT INTO format VALUES(%d);COMMIT;", q_schema,
             OX_QUEUE_FORMAT_VERSION);
    rc = q_exec(q, sql, "create schema");
    if (rc)
        (void)q_exec(q, "ROLLBACK", "rollback");
    return rc;
}

/* WAL is what makes readers (the CLI) never block the writer and a COMMIT one fsync; a file
 * system that cannot do it (no shared memory, some network file systems) is refused. */
static int q_set_wal(ox_queue *q, const char *path)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return q_sqlerr(q, path);
    int rc = 0;
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = q_sqlerr(q, path);
    else if (strcmp(q_col_text(st, 0), "wal") != 0)
        rc = q_fail(q, OX_E_IO,
                    "%s: cannot use WAL mode (journal mode stays %s); put the queue "
                    "on a local file system",
                    path, q_col_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

static int q_lock(ox_queue *q, const char *path)
{
    char lp[4096];
    if ((size_t)snprintf(lp, sizeof lp, "%s.lock", path) >= sizeof lp)
        return q_fail(q, OX_E_ARG, "%s: path too long", path);
    q->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->lock_fd < 0)
        return q_fail(q, OX_E_IO, "%s: %s", lp, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(q->lock_fd, F_SETLK, &fl) != 0)
        return q_fail(q, OX_E_STATE, "%s: the queue is in use by another process (%s)", lp,
                      strerror(errno));
    return 0;
}

static int q_open_dir(ox_queue *q, const char *path)
{
    char dp[4096];
    if ((size_t)snprintf(dp, sizeof dp, "%s.content", path) >= sizeof dp)
        return q_fail(q, OX_E_ARG, "%s: path too long", path);
    if (!q->read_only && mkdir(dp, 0700) != 0 && errno != EEXIST)
        return q_fail(q, OX_E_IO, "%s: cannot create content directory: %s", dp, strerror(errno));
    q->dir_fd = open(dp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (q->dir_fd < 0 && !(q->read_only && errno == ENOENT))
        return q_fail(q, OX_E_IO, "%s: %s", dp, strerror(errno));
    return 0;
}

static void q_seed(ox_queue *q)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed)
            seed = 0;
        close(fd);
    }
    /* Without randomness names still differ per process; O_EXCL catches the rest. */
    q->name_seed = seed ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)q;
}

static int q_recover(ox_queue *q, uint64_t now_ms, ox_queue_recovery *rec)
{
    int rc = q_recover_files(q, now_ms, rec);
    if (rc)
        return rc;
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN IMMEDIATE;"
             "INSERT INTO history(msg_id, mts_id, time, event, text) SELECT m.id, m.mts_id, "
             "%lld, 0, 'rcpt ' || r.idx || ' ' || r.address || ': in-transfer at restart, "
             "back to pending' FROM rcpt r JOIN msg m ON m.id=r.msg_id WHERE r.state=1;"
             "UPDATE rcpt SET state=0 WHERE state=1;",
             (long long)now_ms);
    if ((rc = q_exec(q, sql, "recovery: reset in-transfer")) != 0) {
        (void)q_exec(q, "ROLLBACK", "rollback");
        return rc;
    }
    rec->transfers_reset = (uint32_t)sqlite3_changes(q->db);
    if ((rc = q_exec(q, "DELETE FROM rcpt WHERE msg_id NOT IN (SELECT id FROM msg)",
                     "recovery: recipients without a message")) != 0) {
        (void)q_exec(q, "ROLLBACK", "rollback");
        return rc;
    }
    rec->rcpts_removed = (uint32_t)sqlite3_changes(q->db);
    return q_exec(q, "COMMIT", "recovery: commit");
}

int ox_queue_open(const ox_queue_config *cfg, uint64_t now_ms, ox_queue **out,
                  ox_queue_recovery *rec, char *err, size_t err_cap)
{
    ox_queue_recovery rec_local = {0};
    if (!rec)
        rec = &rec_local;
    *rec = (ox_queue_recovery){0};
    if (out)
        *out = NULL;
    if (err && err_cap)
        err[0] = '\0';
    if (!cfg || !cfg->path || !cfg->path[0] || !out || (cfg->read_only && cfg->recover)) {
        if (err && err_cap)
            snprintf(err, err_cap, "queue open: missing path or read_only with recover");
        return OX_E_ARG;
    }
    ox_queue *q = ox_realloc(cfg->alloc, NULL, sizeof *q);
    if (!q) {
        if (err && err_cap)
            snprintf(err, err_cap, "queue open: out of memory");
        return OX_E_NOMEM;
    }
    *q = (ox_queue){.read_only = cfg->read_only,
                    .no_sync = cfg->no_sync,
                    .max_content = cfg->max_content ? cfg->max_content : OX_QUEUE_CONTENT_LIMIT,
                    .inline_max = cfg->inline_max == 0  ? OX_QUEUE_INLINE_DEFAULT
                                  : cfg->inline_max < 0 ? 0
                                  : cfg->inline_max > (int32_t)OX_QUEUE_INLINE_LIMIT
                                      ? OX_QUEUE_INLINE_LIMIT
                                      : (uint32_t)cfg->inline_max,
                    .inline_never = cfg->inline_max < 0,
                    .dir_fd = -1,
                    .lock_fd = -1};
    if (cfg->alloc) {
        q->alloc_copy = *cfg->alloc;
        q->alloc = &q->alloc_copy;
    }
    ox_buf_init(&q->added, q->alloc, NULL, 0);
    ox_buf_init(&q->removed, q->alloc, NULL, 0);
    ox_buf_init(&q->scratch, q->alloc, NULL, 0);
    q_seed(q);

    q_sqlite_configure();
    int rc = 0;
    if (!q->read_only)
        rc = q_lock(q, cfg->path);
    if (rc == 0) {
        int flags =
            q->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        if (sqlite3_open_v2(cfg->path, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
            rc = q->db ? q_sqlerr(q, cfg->path)
                       : q_fail(q, OX_E_NOMEM, "%s: out of memory", cfg->path);
    }
    if (rc == 0) {
        sqlite3_extended_result_codes(q->db, 1);
        sqlite3_busy_timeout(q->db, 5000);
        if (!q->read_only) {
            rc = q_exec(q, "PRAGMA page_size=16384", cfg->path); /* a new database only */
            if (rc == 0)
                rc = q_set_wal(q, cfg->path);
            if (rc == 0)
                rc = q_exec(q, q->no_sync ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=NORMAL",
                            cfg->path);
        }
    }
    if (rc == 0)
        rc = q_check_format(q, cfg->path);
    if (rc == 0)
        rc = q_exec(q, q_tuning, cfg->path);
    if (rc == 0)
        rc = q_open_dir(q, cfg->path);
    if (rc == 0 && cfg->recover)
        rc = q_recover(q, now_ms, rec);
    if (rc != 0) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s", q->errmsg);
        ox_queue_close(q);
        return rc;
    }
    *out = q;
    return 0;
}

void ox_queue_close(ox_queue *q)
{
    if (!q)
        return;
    if (q->in_batch)
        (void)ox_queue_batch_abort(q);
    for (size_t i = 0; i < S_COUNT; i++)
        sqlite3_finalize(q->st[i]);
    sqlite3_close_v2(q->db);
    if (q->dir_fd >= 0)
        close(q->dir_fd);
    if (q->lock_fd >= 0)
        close(q->lock_fd);
    ox_buf_free(&q->added);
    ox_buf_free(&q->removed);
    ox_buf_free(&q->scratch);
    ox_free(q->alloc, q);
}
