/* queue_ops.c - the durable queue's operations: insert with MTS-id dedup, recipient state
 * transitions, scheduling queries, reading rows, history and purge
 *
 * Why: each operation is one transaction (or one savepoint inside a batch) so that a crash
 *      leaves every message either wholly present or wholly absent, and a failed call leaves
 *      the queue as it was.
 * States: the legality table q_allowed below is the diagram in queue.h; every transition is a
 *      single conditional UPDATE (WHERE state is one of the allowed sources), so the check and
 *      the change cannot be separated.
 * Limits: OX_QUEUE_*_MAX (queue.h), checked before anything is written. */
#include "queue_int.h"

#include <stdio.h>
#include <string.h>

/* Sources each target state may be entered from (bit = 1 << source state). */
#define B(s) (1u << (s))
static const unsigned q_allowed[OX_QUEUE_STATE_COUNT] = {
    [OX_QUEUE_PENDING] = B(OX_QUEUE_PENDING) | B(OX_QUEUE_IN_TRANSFER),
    [OX_QUEUE_IN_TRANSFER] = B(OX_QUEUE_PENDING),
    [OX_QUEUE_TRANSFERRED] = B(OX_QUEUE_IN_TRANSFER),
    [OX_QUEUE_DELIVERED] = B(OX_QUEUE_PENDING) | B(OX_QUEUE_IN_TRANSFER),
    [OX_QUEUE_NON_DELIVERED] = B(OX_QUEUE_PENDING) | B(OX_QUEUE_IN_TRANSFER),
    [OX_QUEUE_REPORTED] = B(OX_QUEUE_DELIVERED) | B(OX_QUEUE_NON_DELIVERED),
};
#undef B

static bool q_text_ok(const char *s, size_t max)
{
    return s && strlen(s) <= max;
}

int ox_queue_find_mts_id(ox_queue *q, const char *mts_id, int64_t *id)
{
    if (!q || !mts_id || !id)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_FIND_MTS);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, mts_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    int out = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? OX_E_NOTFOUND : q_sqlerr(q, "find mts id");
    sqlite3_reset(st);
    return out;
}

static int q_check_msg(ox_queue *q, const ox_queue_msg_in *m)
{
    if (!m->mts_id || !m->mts_id[0] || !m->originator || !m->source || !m->rcpts ||
        m->n_rcpts == 0 || (unsigned)m->kind > OX_QUEUE_KIND_PROBE ||
        (unsigned)m->priority > OX_QUEUE_PRIO_NON_URGENT || (m->envelope.len && !m->envelope.p))
        return q_fail(q, OX_E_ARG, "insert: missing field or value out of range");
    if (!q_text_ok(m->mts_id, OX_QUEUE_MTS_ID_MAX) ||
        !q_text_ok(m->originator, OX_QUEUE_ADDR_MAX) || !q_text_ok(m->source, OX_QUEUE_NAME_MAX) ||
        m->n_rcpts > OX_QUEUE_RCPTS_MAX || m->envelope.len > OX_QUEUE_ENVELOPE_MAX)
        return q_fail(q, OX_E_LIMIT, "insert: a field is above its OX_QUEUE_*_MAX limit");
    for (size_t i = 0; i < m->n_rcpts; i++) {
        const ox_queue_rcpt_in *r = &m->rcpts[i];
        if (!r->address)
            return q_fail(q, OX_E_ARG, "insert: recipient %zu has no address", i);
        if (!q_text_ok(r->address, OX_QUEUE_ADDR_MAX) ||
            (r->connector && !q_text_ok(r->connector, OX_QUEUE_NAME_MAX)))
            return q_fail(q, OX_E_LIMIT, "insert: recipient %zu text above its limit", i);
    }
    return 0;
}

/* Adds the history line |text| (cut at OX_QUEUE_ERRTEXT_MAX) with |event_id| to message
 * |msg_id| of MTS id |mts|, or when |mts| is NULL taking it from the row: OX_E_NOTFOUND (with
 * |what|) when there is no such message. An INSERT with a SELECT makes SQLite journal each page
 * it writes once more for the statement (as any statement that may fail half-way), so callers
 * that know the MTS id pass it. */
static int q_history_line_of(ox_queue *q, int64_t msg_id, const char *mts, uint64_t now_ms,
                             int event_id, const char *text, const char *what)
{
    sqlite3_stmt *st = q_stmt(q, mts ? S_HIST_MSG_MTS : S_HIST_MSG);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, msg_id);
    q_bind_u64(st, 2, now_ms);
    sqlite3_bind_int(st, 3, event_id);
    q_bind_text(st, 4, text ? text : "", OX_QUEUE_ERRTEXT_MAX);
    if (mts)
        sqlite3_bind_text(st, 5, mts, -1, SQLITE_STATIC);
    int rc = q_step_done(q, st, what);
    if (rc == 0 && sqlite3_changes(q->db) == 0)
        rc = q_fail(q, OX_E_NOTFOUND, "%s: no message %lld", what, (long long)msg_id);
    return rc;
}

static int q_history_line(ox_queue *q, int64_t msg_id, uint64_t now_ms, int event_id,
                          const char *text, const char *what)
{
    return q_history_line_of(q, msg_id, NULL, now_ms, event_id, text, what);
}

static int q_insert_rows(ox_queue *q, const ox_queue_msg_in *m, const char *content_ref,
                         const ox_buf *inl, uint64_t content_size, uint64_t now_ms, int64_t *id)
{
    sqlite3_stmt *st = q_stmt(q, S_INSERT_MSG);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, m->mts_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)m->kind);
    sqlite3_bind_int(st, 3, (int)m->priority);
    sqlite3_bind_text(st, 4, m->originator, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, m->source, -1, SQLITE_STATIC);
    q_bind_u64(st, 6, m->arrival_ms);
    q_bind_u64(st, 7, m->expiry_ms);
    q_bind_u64(st, 8, content_size);
    if (content_ref)
        sqlite3_bind_text(st, 9, content_ref, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 10, m->envelope.len ? (const void *)m->envelope.p : "",
                      (int)m->envelope.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)m->n_rcpts);
    if (inl) /* "" for an empty content: a NULL pointer would bind NULL */
        sqlite3_bind_blob(st, 12, inl->len ? (const void *)inl->p : "", (int)inl->len,
                          SQLITE_STATIC);
    int rc = q_step_done(q, st, "insert message");
    if (rc)
        return rc;
    int64_t mid = sqlite3_last_insert_rowid(q->db);
    q->must_sync = true;
    for (size_t i = 0; i < m->n_rcpts; i++) {
        const ox_queue_rcpt_in *r = &m->rcpts[i];
        if (!(st = q_stmt(q, S_INSERT_RCPT)))
            return OX_E_IO;
        sqlite3_bind_int64(st, 1, mid);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, r->address, -1, SQLITE_STATIC);
        if (r->connector)
            sqlite3_bind_text(st, 4, r->connector, -1, SQLITE_STATIC);
        q_bind_u64(st, 5, r->next_attempt_ms);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)r->report_flags);
        sqlite3_bind_int(st, 7, (int)m->priority);
        q_bind_u64(st, 8, m->arrival_ms);
        if ((rc = q_step_done(q, st, "insert recipient")) != 0)
            return rc;
    }
    char text[OX_QUEUE_NAME_MAX + 96];
    snprintf(text, sizeof text, "queued from %s: %zu recipient(s), %llu content bytes", m->source,
             m->n_rcpts, (unsigned long long)content_size);
    if ((rc = q_history_line(q, mid, now_ms, 0, text, "insert history")) != 0)
        return rc;
    *id = mid;
    return 0;
}

int ox_queue_insert(ox_queue *q, const ox_queue_msg_in *m, uint64_t now_ms, int64_t *id)
{
    if (!q || !m || !id) {
        if (m && m->content)
            ox_queue_content_discard(m->content);
        return OX_E_ARG;
    }
    ox_queue_writer *w = m->content;
    int rc = q_check_msg(q, m);
    if (rc == 0 && q->read_only)
        rc = q_fail(q, OX_E_STATE, "insert: queue opened read-only");
    if (rc == 0 && w && w->q != q)
        rc = q_fail(q, OX_E_ARG, "insert: content writer of another queue");
    if (rc == 0) {
        int64_t old;
        int f = ox_queue_find_mts_id(q, m->mts_id, &old);
        if (f == 0) {
            *id = old;
            rc = OX_QUEUE_DUPLICATE;
        } else if (f != OX_E_NOTFOUND) {
            rc = f;
        }
    }
    if (rc != 0) {
        if (w)
            ox_queue_content_discard(w);
        return rc;
    }
    /* The file is durable and in place before the transaction starts. */
    char ref[Q_NAME_LEN + 1] = {0};
    uint64_t size = 0;
    bool in_db = false, file;
    if (w) {
        size = w->size;
        if ((rc = q_content_finish(w, &in_db)) != 0)
            return rc;
        snprintf(ref, sizeof ref, "%s", w->name);
    }
    file = w && !in_db;
    size_t mark = q->added.len - (file ? Q_NAME_LEN : 0);
    if ((rc = q_op_begin(q)) == 0) {
        q->added_mark = mark; /* this call's file belongs to this call */
        rc = q_op_end(
            q, q_insert_rows(q, m, file ? ref : NULL, in_db ? &w->inl : NULL, size, now_ms, id));
    } else if (file) {
        q_content_unlink(q, ref);
        q->added.len = mark;
    }
    if (in_db)
        ox_queue_content_discard(w); /* frees the buffer; there is no file */
    return rc;
}

/* ---- transitions ---- */

static int q_rcpt_missing(ox_queue *q, int64_t rcpt_id, const char *what)
{
    sqlite3_stmt *st = q_stmt(q, S_RCPT_EXISTS);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, rcpt_id);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s == SQLITE_ROW)
        return q_fail(q, OX_E_STATE, "%s: recipient %lld is not in a state that allows it", what,
                      (long long)rcpt_id);
    if (s == SQLITE_DONE)
        return q_fail(q, OX_E_NOTFOUND, "%s: no recipient %lld", what, (long long)rcpt_id);
    return q_sqlerr(q, what);
}

/* Adds the history line |text| of recipient |rcpt_id| to its message's history. */
static int q_rcpt_history(ox_queue *q, int64_t rcpt_id, uint64_t now_ms, const char *text)
{
    sqlite3_stmt *st = q_stmt(q, S_HIST_RCPT);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, rcpt_id);
    q_bind_u64(st, 2, now_ms);
    q_bind_text(st, 3, text, OX_QUEUE_ERRTEXT_MAX);
    return q_step_done(q, st, "history");
}

/* Runs |st| (already bound) as the transition, then the history line (none if |hist| is
 * NULL). */
static int q_transition(ox_queue *q, sqlite3_stmt *st, int64_t rcpt_id, uint64_t now_ms,
                        const char *what, const char *hist)
{
    int rc = q_step_done(q, st, what);
    if (rc)
        return rc;
    if (sqlite3_changes(q->db) == 0)
        return q_rcpt_missing(q, rcpt_id, what);
    return hist ? q_rcpt_history(q, rcpt_id, now_ms, hist) : 0;
}

static bool q_in(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* Sets recipient |id| from |from| to |to|; *changed says whether it was in |from|. */
static int q_set_transfer_state(ox_queue *q, int64_t id, ox_queue_rcpt_state from,
                                ox_queue_rcpt_state to, bool *changed)
{
    sqlite3_stmt *st = q_stmt(q, S_SET_STATE);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, (int)to);
    sqlite3_bind_int(st, 3, 1 << from);
    int rc = q_step_done(q, st, "reset transfer");
    *changed = rc == 0 && sqlite3_changes(q->db) > 0;
    return rc;
}

static int q_reset_transfers(ox_queue *q, uint64_t now_ms, const int64_t *busy, size_t n_busy,
                             uint32_t *n_reset)
{
    sqlite3_stmt *st = q_stmt(q, S_IN_TRANSFER);
    if (!st)
        return OX_E_IO;
    ox_buf ids;
    ox_buf_init(&ids, NULL, NULL, 0);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (!q_in(busy, n_busy, id) && ox_buf_append(&ids, &id, sizeof id) != 0)
            s = SQLITE_NOMEM;
    }
    sqlite3_reset(st);
    int rc = s == SQLITE_DONE ? 0 : s == SQLITE_NOMEM ? OX_E_NOMEM : q_sqlerr(q, "reset");
    bool changed;
    for (size_t i = 0; rc == 0 && i < ids.len / sizeof(int64_t); i++) {
        int64_t id;
        memcpy(&id, ids.p + i * sizeof id, sizeof id);
        rc = q_set_transfer_state(q, id, OX_QUEUE_IN_TRANSFER, OX_QUEUE_PENDING, &changed);
        if (rc == 0 && changed) {
            (*n_reset)++;
            rc = q_rcpt_history(q, id, now_ms, "in transfer when a commit failed, back to pending");
        }
    }
    for (size_t i = 0; rc == 0 && i < n_busy; i++)
        rc = q_set_transfer_state(q, busy[i], OX_QUEUE_PENDING, OX_QUEUE_IN_TRANSFER, &changed);
    ox_buf_free(&ids);
    return rc;
}

int ox_queue_reset_transfers(ox_queue *q, uint64_t now_ms, const int64_t *busy, size_t n_busy,
                             uint32_t *n_reset)
{
    uint32_t n = 0;
    if (n_reset)
        *n_reset = 0;
    if (!q || (n_busy && !busy))
        return OX_E_ARG;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    rc = q_op_end(q, q_reset_transfers(q, now_ms, busy, n_busy, &n));
    if (rc == 0 && n_reset)
        *n_reset = n;
    return rc;
}

static int q_set_state(ox_queue *q, int64_t rcpt_id, uint64_t now_ms, ox_queue_rcpt_state to)
{
    if (!q)
        return OX_E_ARG;
    /* In transfer is a passing state that recovery undoes: its outcome (transferred, retry)
     * is the step worth a history line. */
    const char *hist = to == OX_QUEUE_IN_TRANSFER ? NULL : ox_queue_state_name(to);
    int rc = hist ? q_op_begin(q) : q_op_begin_single(q);
    if (rc)
        return rc;
    sqlite3_stmt *st = q_stmt(q, S_SET_STATE);
    if (!st)
        return q_op_end(q, OX_E_IO);
    sqlite3_bind_int64(st, 1, rcpt_id);
    sqlite3_bind_int(st, 2, (int)to);
    sqlite3_bind_int(st, 3, (int)q_allowed[to]);
    return q_op_end(q, q_transition(q, st, rcpt_id, now_ms, ox_queue_state_name(to), hist));
}

int ox_queue_mark_in_transfer(ox_queue *q, int64_t rcpt_id, uint64_t now_ms)
{
    return q_set_state(q, rcpt_id, now_ms, OX_QUEUE_IN_TRANSFER);
}

int ox_queue_mark_transferred(ox_queue *q, int64_t rcpt_id, uint64_t now_ms)
{
    return q_set_state(q, rcpt_id, now_ms, OX_QUEUE_TRANSFERRED);
}

int ox_queue_mark_delivered(ox_queue *q, int64_t rcpt_id, uint64_t now_ms)
{
    return q_set_state(q, rcpt_id, now_ms, OX_QUEUE_DELIVERED);
}

int ox_queue_mark_reported(ox_queue *q, int64_t rcpt_id, uint64_t now_ms)
{
    return q_set_state(q, rcpt_id, now_ms, OX_QUEUE_REPORTED);
}

int ox_queue_mark_non_delivered(ox_queue *q, int64_t rcpt_id, uint64_t now_ms, int reason,
                                int diagnostic, const char *text)
{
    if (!q)
        return OX_E_ARG;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    sqlite3_stmt *st = q_stmt(q, S_SET_ND);
    if (!st)
        return q_op_end(q, OX_E_IO);
    sqlite3_bind_int64(st, 1, rcpt_id);
    sqlite3_bind_int(st, 2, reason);
    sqlite3_bind_int(st, 3, diagnostic);
    q_bind_text(st, 4, text ? text : "", OX_QUEUE_ERRTEXT_MAX);
    sqlite3_bind_int(st, 5, (int)q_allowed[OX_QUEUE_NON_DELIVERED]);
    char hist[OX_QUEUE_ERRTEXT_MAX + 64];
    snprintf(hist, sizeof hist, "non-delivered (reason %d, diagnostic %d)%s%s", reason, diagnostic,
             text && text[0] ? ": " : "", text ? text : "");
    return q_op_end(q, q_transition(q, st, rcpt_id, now_ms, "non-delivered", hist));
}

int ox_queue_retry(ox_queue *q, int64_t rcpt_id, uint64_t now_ms, uint64_t at_ms,
                   ox_queue_attempt kind, const char *error)
{
    if (!q || (unsigned)kind > OX_QUEUE_ATTEMPT_TRANSFER)
        return OX_E_ARG;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    sqlite3_stmt *st =
        q_stmt(q, kind == OX_QUEUE_ATTEMPT_OPEN ? S_SET_RETRY_OPEN : S_SET_RETRY_TRANSFER);
    if (!st)
        return q_op_end(q, OX_E_IO);
    sqlite3_bind_int64(st, 1, rcpt_id);
    q_bind_u64(st, 2, at_ms);
    q_bind_text(st, 3, error ? error : "", OX_QUEUE_ERRTEXT_MAX);
    char hist[OX_QUEUE_ERRTEXT_MAX + 96];
    snprintf(hist, sizeof hist, "%s failed, retry at %llu%s%s",
             kind == OX_QUEUE_ATTEMPT_OPEN ? "open" : "transfer", (unsigned long long)at_ms,
             error && error[0] ? ": " : "", error ? error : "");
    return q_op_end(q, q_transition(q, st, rcpt_id, now_ms, "retry", hist));
}

int ox_queue_route(ox_queue *q, int64_t rcpt_id, const char *connector, uint64_t now_ms)
{
    if (!q)
        return OX_E_ARG;
    if (connector && !q_text_ok(connector, OX_QUEUE_NAME_MAX))
        return q_fail(q, OX_E_LIMIT, "route: connector name too long");
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    sqlite3_stmt *st = q_stmt(q, S_SET_ROUTE);
    if (!st)
        return q_op_end(q, OX_E_IO);
    sqlite3_bind_int64(st, 1, rcpt_id);
    if (connector)
        sqlite3_bind_text(st, 2, connector, -1, SQLITE_STATIC);
    char hist[OX_QUEUE_NAME_MAX + 32];
    snprintf(hist, sizeof hist, "routed to %s", connector ? connector : "(none)");
    return q_op_end(q, q_transition(q, st, rcpt_id, now_ms, "route", hist));
}

int ox_queue_retry_now(ox_queue *q, const char *connector, uint64_t now_ms, size_t *n)
{
    *n = 0;
    if (!q || !connector)
        return OX_E_ARG;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    sqlite3_stmt *st = q_stmt(q, S_RETRY_NOW);
    if (!st)
        return q_op_end(q, OX_E_IO);
    q_bind_text(st, 1, connector, OX_QUEUE_NAME_MAX);
    q_bind_u64(st, 2, now_ms);
    rc = q_step_done(q, st, "retry now");
    if (rc == 0)
        *n = (size_t)sqlite3_changes(q->db);
    return q_op_end(q, rc);
}

/* ---- scheduling queries ---- */

static int q_due_rows(ox_queue *q, sqlite3_stmt *st, ox_queue_due *out, size_t max, size_t *n)
{
    int s;
    while (*n < max && (s = sqlite3_step(st)) == SQLITE_ROW) {
        out[*n] = (ox_queue_due){
            .rcpt_id = sqlite3_column_int64(st, 0),
            .msg_id = sqlite3_column_int64(st, 1),
            .index = (uint32_t)sqlite3_column_int64(st, 2),
            .priority = (ox_queue_priority)sqlite3_column_int(st, 3),
            .arrival_ms = q_col_u64(st, 4),
            .next_attempt_ms = q_col_u64(st, 5),
            .report_flags = (uint32_t)sqlite3_column_int64(st, 6),
        };
        (*n)++;
    }
    int rc = (*n < max && s != SQLITE_DONE) ? q_sqlerr(q, "due query") : 0;
    sqlite3_reset(st);
    return rc;
}

static int q_due(ox_queue *q, q_sql which, const char *connector, uint64_t now_ms,
                 ox_queue_due *out, size_t max, size_t *n)
{
    if (!q || !connector || !n || (max && !out))
        return OX_E_ARG;
    *n = 0;
    if (max == 0)
        return 0;
    sqlite3_stmt *st = q_stmt(q, which);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, connector, -1, SQLITE_STATIC);
    q_bind_u64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    return q_due_rows(q, st, out, max, n);
}

int ox_queue_due_for(ox_queue *q, const char *connector, uint64_t now_ms, ox_queue_due *out,
                     size_t max, size_t *n)
{
    return q_due(q, S_DUE, connector, now_ms, out, max, n);
}

int ox_queue_due_message(ox_queue *q, const char *connector, uint64_t now_ms, ox_queue_due *out,
                         size_t max, size_t *n)
{
    return q_due(q, S_DUE_MSG, connector, now_ms, out, max, n);
}

int ox_queue_expired(ox_queue *q, uint64_t now_ms, ox_queue_due *out, size_t max, size_t *n)
{
    if (!q || !n || (max && !out))
        return OX_E_ARG;
    *n = 0;
    if (max == 0)
        return 0;
    sqlite3_stmt *st = q_stmt(q, S_EXPIRED);
    if (!st)
        return OX_E_IO;
    q_bind_u64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    return q_due_rows(q, st, out, max, n);
}

int ox_queue_next_due(ox_queue *q, uint64_t *when_ms)
{
    if (!q || !when_ms)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_NEXT_DUE);
    if (!st)
        return OX_E_IO;
    int s = sqlite3_step(st);
    int rc;
    if (s != SQLITE_ROW)
        rc = q_sqlerr(q, "next due");
    else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        rc = OX_E_NOTFOUND;
    else {
        *when_ms = q_col_u64(st, 0);
        rc = 0;
    }
    sqlite3_reset(st);
    return rc;
}

int ox_queue_connector_stats(ox_queue *q, const char *connector, uint64_t *count,
                             uint64_t *oldest_arrival_ms)
{
    if (!q || !connector || !count || !oldest_arrival_ms)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_CONN_STATS);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, connector, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *count = q_col_u64(st, 0);
        *oldest_arrival_ms = q_col_u64(st, 1);
    } else {
        rc = q_sqlerr(q, "connector stats");
    }
    sqlite3_reset(st);
    return rc;
}

/* Runs a query of one number (a count) and resets it. Returns 0 or OX_E_IO. */
static int q_step_u64(ox_queue *q, sqlite3_stmt *st, const char *what, uint64_t *out)
{
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = q_col_u64(st, 0);
    else
        rc = q_sqlerr(q, what);
    sqlite3_reset(st);
    return rc;
}

int ox_queue_connector_backlog(ox_queue *q, const char *connector, uint64_t cap, uint64_t *count)
{
    if (!q || !connector || !count)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_CONN_BACKLOG);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, connector, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, cap > INT64_MAX ? INT64_MAX : (sqlite3_int64)cap);
    return q_step_u64(q, st, "connector backlog", count);
}

/* ---- reading rows ---- */

static void q_fill_msg(sqlite3_stmt *st, ox_queue_msg_info *m)
{
    *m = (ox_queue_msg_info){
        .id = sqlite3_column_int64(st, 0),
        .mts_id = q_col_text(st, 1),
        .kind = (ox_queue_kind)sqlite3_column_int(st, 2),
        .priority = (ox_queue_priority)sqlite3_column_int(st, 3),
        .originator = q_col_text(st, 4),
        .source = q_col_text(st, 5),
        .arrival_ms = q_col_u64(st, 6),
        .expiry_ms = q_col_u64(st, 7),
        .content_size = q_col_u64(st, 8),
        .has_content = sqlite3_column_int(st, 9) != 0,
        .n_rcpts = (uint32_t)sqlite3_column_int64(st, 10),
    };
}

static void q_fill_rcpt(sqlite3_stmt *st, ox_queue_rcpt_info *r)
{
    *r = (ox_queue_rcpt_info){
        .id = sqlite3_column_int64(st, 0),
        .msg_id = sqlite3_column_int64(st, 1),
        .index = (uint32_t)sqlite3_column_int64(st, 2),
        .address = q_col_text(st, 3),
        .state = (ox_queue_rcpt_state)sqlite3_column_int(st, 4),
        .connector = q_col_text(st, 5),
        .next_attempt_ms = q_col_u64(st, 6),
        .open_attempts = (uint32_t)sqlite3_column_int64(st, 7),
        .transfer_attempts = (uint32_t)sqlite3_column_int64(st, 8),
        .last_error = q_col_text(st, 9),
        .report_flags = (uint32_t)sqlite3_column_int64(st, 10),
        .reason = sqlite3_column_int(st, 11),
        .diagnostic = sqlite3_column_int(st, 12),
    };
}

/* Copies the texts |n| pointers point to into q->scratch and repoints them there. */
static int q_keep_texts(ox_queue *q, const char **texts[], size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(*texts[i]) + 1;
    q->scratch.len = 0;
    q->scratch.err = 0;
    if (ox_buf_reserve(&q->scratch, total) != 0)
        return q_fail(q, OX_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t at = q->scratch.len;
        ox_buf_append(&q->scratch, *texts[i], strlen(*texts[i]) + 1);
        *texts[i] = (const char *)q->scratch.p + at;
    }
    return 0;
}

int ox_queue_get_msg(ox_queue *q, int64_t msg_id, ox_queue_msg_info *out)
{
    if (!q || !out)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_GET_MSG);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, msg_id);
    int s = sqlite3_step(st), rc;
    if (s == SQLITE_ROW) {
        q_fill_msg(st, out);
        const char **t[] = {&out->mts_id, &out->originator, &out->source};
        rc = q_keep_texts(q, t, OX_ARRAY_LEN(t));
    } else {
        rc = s == SQLITE_DONE ? q_fail(q, OX_E_NOTFOUND, "no message %lld", (long long)msg_id)
                              : q_sqlerr(q, "get message");
    }
    sqlite3_reset(st);
    return rc;
}

int ox_queue_get_envelope(ox_queue *q, int64_t msg_id, ox_buf *out)
{
    if (!q || !out)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_GET_ENV);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, msg_id);
    int s = sqlite3_step(st), rc;
    if (s == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        rc = len ? ox_buf_append(out, p, len) : 0;
    } else {
        rc = s == SQLITE_DONE ? q_fail(q, OX_E_NOTFOUND, "no message %lld", (long long)msg_id)
                              : q_sqlerr(q, "get envelope");
    }
    sqlite3_reset(st);
    return rc;
}

int ox_queue_get_rcpt(ox_queue *q, int64_t rcpt_id, ox_queue_rcpt_info *out)
{
    if (!q || !out)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_GET_RCPT);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, rcpt_id);
    int s = sqlite3_step(st), rc;
    if (s == SQLITE_ROW) {
        q_fill_rcpt(st, out);
        const char **t[] = {&out->address, &out->connector, &out->last_error};
        rc = q_keep_texts(q, t, OX_ARRAY_LEN(t));
    } else {
        rc = s == SQLITE_DONE ? q_fail(q, OX_E_NOTFOUND, "no recipient %lld", (long long)rcpt_id)
                              : q_sqlerr(q, "get recipient");
    }
    sqlite3_reset(st);
    return rc;
}

int ox_queue_foreach_msg(ox_queue *q, int (*fn)(void *ctx, const ox_queue_msg_info *m), void *ctx)
{
    if (!q || !fn)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_ALL_MSG);
    if (!st)
        return OX_E_IO;
    int s, rc = 0;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        ox_queue_msg_info m;
        q_fill_msg(st, &m);
        rc = fn(ctx, &m);
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = q_sqlerr(q, "list messages");
    sqlite3_reset(st);
    return rc;
}

int ox_queue_foreach_rcpt(ox_queue *q, int64_t msg_id,
                          int (*fn)(void *ctx, const ox_queue_rcpt_info *r), void *ctx)
{
    if (!q || !fn)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, msg_id ? S_MSG_RCPT : S_ALL_RCPT);
    if (!st)
        return OX_E_IO;
    if (msg_id)
        sqlite3_bind_int64(st, 1, msg_id);
    int s, rc = 0;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        ox_queue_rcpt_info r;
        q_fill_rcpt(st, &r);
        rc = fn(ctx, &r);
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = q_sqlerr(q, "list recipients");
    sqlite3_reset(st);
    return rc;
}

/* ---- history ---- */

int ox_queue_history_add(ox_queue *q, int64_t msg_id, uint64_t now_ms, int event_id,
                         const char *text)
{
    if (!q)
        return OX_E_ARG;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    return q_op_end(q, q_history_line(q, msg_id, now_ms, event_id, text, "history"));
}

int ox_queue_history_foreach(ox_queue *q, const char *mts_id,
                             int (*fn)(void *ctx, uint64_t time_ms, int event_id, const char *text),
                             void *ctx)
{
    if (!q || !mts_id || !fn)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_HIST_LIST);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, mts_id, -1, SQLITE_STATIC);
    int s, rc = 0;
    size_t n = 0;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        rc = fn(ctx, q_col_u64(st, 0), sqlite3_column_int(st, 1), q_col_text(st, 2));
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = q_sqlerr(q, "history");
    else if (rc == 0 && n == 0)
        rc = q_fail(q, OX_E_NOTFOUND, "no history for %s", mts_id);
    sqlite3_reset(st);
    return rc;
}

static int q_note_rows(ox_queue *q, const char *mts_id, uint64_t now_ms, const ox_queue_line *lines,
                       size_t n)
{
    sqlite3_stmt *st = q_stmt(q, S_SEEN_NEW);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_text(st, 1, mts_id, -1, SQLITE_STATIC);
    q_bind_u64(st, 2, now_ms);
    int rc = q_step_done(q, st, "note delivered");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(st = q_stmt(q, S_HIST_TEXT)))
            return OX_E_IO;
        sqlite3_bind_text(st, 1, mts_id, -1, SQLITE_STATIC);
        q_bind_u64(st, 2, now_ms);
        sqlite3_bind_int(st, 3, lines[i].event_id);
        q_bind_text(st, 4, lines[i].text ? lines[i].text : "", OX_QUEUE_ERRTEXT_MAX);
        rc = q_step_done(q, st, "history");
    }
    return rc;
}

int ox_queue_note_delivered(ox_queue *q, const char *mts_id, uint64_t now_ms,
                            const ox_queue_line *lines, size_t n)
{
    if (!q || !mts_id || !mts_id[0] || (n && !lines))
        return OX_E_ARG;
    if (!q_text_ok(mts_id, OX_QUEUE_MTS_ID_MAX))
        return q_fail(q, OX_E_LIMIT, "note delivered: MTS identifier above its limit");
    int64_t old;
    int rc = ox_queue_find_mts_id(q, mts_id, &old);
    if (rc == 0)
        return OX_QUEUE_DUPLICATE;
    if (rc != OX_E_NOTFOUND)
        return rc;
    /* No savepoint of its own inside a batch (SQLite would journal the seen and history pages
     * once more for each message): the seen row goes first, so a failed history line leaves a
     * message recorded as delivered with a line missing, and its resend is recognised, never
     * delivered twice. A failure that ends the transaction rolls back the whole batch. */
    if ((rc = q_op_begin_single(q)) != 0)
        return rc;
    return q_op_end(q, q_note_rows(q, mts_id, now_ms, lines, n));
}

/* ---- purge ---- */

#define Q_PURGED_TEXT "finished: removed from the queue"

/* Removes the finished message that |st| (S_FINISHED or S_FINISHED_ID, bound) finds, if
 * any: a history line (|hist|, NULL for the usual), its MTS id into seen, its rows, its
 * content file at commit.
 * *found says whether there was one; *id gets its id. */
static int q_purge_found(ox_queue *q, sqlite3_stmt *st, uint64_t now_ms, const char *hist,
                         int64_t *id, bool *found)
{
    int s = sqlite3_step(st);
    *found = s == SQLITE_ROW;
    if (!*found) {
        int rc = s == SQLITE_DONE ? 0 : q_sqlerr(q, "purge");
        sqlite3_reset(st);
        return rc;
    }
    *id = sqlite3_column_int64(st, 0);
    char mts[OX_QUEUE_MTS_ID_MAX + 1];
    char rec[Q_NAME_LEN] = {0};
    snprintf(mts, sizeof mts, "%s", q_col_text(st, 1));
    bool has_file = sqlite3_column_type(st, 2) != SQLITE_NULL;
    if (has_file)
        snprintf(rec, sizeof rec, "%.*s", Q_NAME_LEN - 1, q_col_text(st, 2));
    sqlite3_reset(st);

    int rc =
        q_history_line_of(q, *id, mts, now_ms, 0, hist ? hist : Q_PURGED_TEXT, "purge history");
    if (rc)
        return rc;
    if (!(st = q_stmt(q, S_SEEN_ADD)))
        return OX_E_IO;
    sqlite3_bind_text(st, 1, mts, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, *id);
    q_bind_u64(st, 3, now_ms);
    if ((rc = q_step_done(q, st, "purge seen")) != 0)
        return rc;
    if (!(st = q_stmt(q, S_DEL_RCPT)))
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, *id);
    if ((rc = q_step_done(q, st, "purge recipients")) != 0)
        return rc;
    if (!(st = q_stmt(q, S_DEL_MSG)))
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, *id);
    if ((rc = q_step_done(q, st, "purge message")) != 0)
        return rc;
    if (has_file && ox_buf_append(&q->removed, rec, sizeof rec) != 0)
        return q_fail(q, OX_E_NOMEM, "purge: out of memory");
    return 0;
}

static int q_purge_one(ox_queue *q, uint64_t now_ms, int64_t *last, bool *done)
{
    sqlite3_stmt *st = q_stmt(q, S_FINISHED);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, *last);
    bool found;
    int rc = q_purge_found(q, st, now_ms, NULL, last, &found);
    *done = rc == 0 && !found;
    return rc;
}

int ox_queue_purge_msg(ox_queue *q, int64_t msg_id, uint64_t now_ms, bool *removed)
{
    if (!q)
        return OX_E_ARG;
    if (removed)
        *removed = false;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    sqlite3_stmt *st = q_stmt(q, S_FINISHED_ID);
    if (!st)
        return q_op_end(q, OX_E_IO);
    sqlite3_bind_int64(st, 1, msg_id);
    bool found = false;
    int64_t id;
    rc = q_op_end(q, q_purge_found(q, st, now_ms, NULL, &id, &found));
    if (rc == 0 && removed)
        *removed = found;
    return rc;
}

static int q_transferred_rows(ox_queue *q, int64_t msg_id, const int64_t *rcpt_ids, size_t n,
                              uint64_t now_ms, int event_id, const char *text, bool *removed)
{
    sqlite3_stmt *st;
    for (size_t i = 0; i < n; i++) {
        if (!(st = q_stmt(q, S_SET_STATE)))
            return OX_E_IO;
        sqlite3_bind_int64(st, 1, rcpt_ids[i]);
        sqlite3_bind_int(st, 2, (int)OX_QUEUE_TRANSFERRED);
        sqlite3_bind_int(st, 3, (int)q_allowed[OX_QUEUE_TRANSFERRED]);
        int rc = q_step_done(q, st, "transferred");
        if (rc)
            return rc;
    }
    if (!(st = q_stmt(q, S_FINISHED_ID)))
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, msg_id);
    if (!text)
        text = "transferred";
    char hist[OX_QUEUE_ERRTEXT_MAX + 64];
    snprintf(hist, sizeof hist, "%.*s; " Q_PURGED_TEXT, OX_QUEUE_ERRTEXT_MAX, text);
    int64_t id;
    int rc = q_purge_found(q, st, now_ms, hist, &id, removed);
    if (rc || *removed)
        return rc; /* the purge wrote the line */
    return q_history_line(q, msg_id, now_ms, event_id, text, "transferred");
}

int ox_queue_transferred(ox_queue *q, int64_t msg_id, const int64_t *rcpt_ids, size_t n,
                         uint64_t now_ms, int event_id, const char *text, bool *removed)
{
    bool gone = false;
    if (removed)
        *removed = false;
    if (!q || (n && !rcpt_ids))
        return OX_E_ARG;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    rc = q_op_end(q, q_transferred_rows(q, msg_id, rcpt_ids, n, now_ms, event_id, text, &gone));
    if (rc == 0 && removed)
        *removed = gone;
    return rc;
}

int ox_queue_transferred_many(ox_queue *q, const ox_queue_transfer *items, size_t n,
                              uint64_t now_ms, int event_id)
{
    if (!q || (n && !items))
        return OX_E_ARG;
    if (n == 0)
        return 0;
    int rc = q_op_begin(q);
    if (rc == 0) {
        bool gone;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = q_transferred_rows(q, items[i].msg_id, items[i].rcpt_ids, items[i].n, now_ms,
                                    event_id, items[i].text, &gone);
        if (q_op_end(q, rc) == 0)
            return 0;
    }
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        rc = ox_queue_transferred(q, items[i].msg_id, items[i].rcpt_ids, items[i].n, now_ms,
                                  event_id, items[i].text, NULL);
        if (rc && !first)
            first = rc;
    }
    return first;
}

static int q_forget(ox_queue *q, uint64_t forget_before_ms)
{
    for (;;) {
        sqlite3_stmt *st = q_stmt(q, S_OLD_SEEN);
        if (!st)
            return OX_E_IO;
        q_bind_u64(st, 1, forget_before_ms);
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            int rc = s == SQLITE_DONE ? 0 : q_sqlerr(q, "forget");
            sqlite3_reset(st);
            return rc;
        }
        char mts[OX_QUEUE_MTS_ID_MAX + 1];
        snprintf(mts, sizeof mts, "%s", q_col_text(st, 0));
        sqlite3_reset(st);
        int rc;
        if (!(st = q_stmt(q, S_DEL_HIST_MTS)))
            return OX_E_IO;
        sqlite3_bind_text(st, 1, mts, -1, SQLITE_STATIC);
        if ((rc = q_step_done(q, st, "forget history")) != 0)
            return rc;
        if (!(st = q_stmt(q, S_DEL_SEEN)))
            return OX_E_IO;
        sqlite3_bind_text(st, 1, mts, -1, SQLITE_STATIC);
        if ((rc = q_step_done(q, st, "forget seen")) != 0)
            return rc;
    }
}

int ox_queue_purge(ox_queue *q, uint64_t now_ms, uint64_t forget_before_ms, size_t *n_removed)
{
    if (!q)
        return OX_E_ARG;
    size_t n = 0;
    if (n_removed)
        *n_removed = 0;
    int rc = q_op_begin(q);
    if (rc)
        return rc;
    bool done = false;
    int64_t last = 0;
    while (rc == 0 && !done) {
        rc = q_purge_one(q, now_ms, &last, &done);
        if (rc == 0 && !done)
            n++;
    }
    if (rc == 0)
        rc = q_forget(q, forget_before_ms);
    rc = q_op_end(q, rc);
    if (rc == 0 && n_removed)
        *n_removed = n;
    return rc;
}

int ox_queue_quarantine_count(ox_queue *q, uint64_t *n)
{
    if (!q || !n)
        return OX_E_ARG;
    sqlite3_stmt *st = q_stmt(q, S_QCOUNT);
    if (!st)
        return OX_E_IO;
    return q_step_u64(q, st, "quarantine count", n);
}
