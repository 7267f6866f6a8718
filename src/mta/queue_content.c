/* queue_content.c - message content files: streaming writer and reader, start-up file recovery
 *
 * Why: a 100 MB content must never sit whole in memory, and SQLite BLOBs that size bloat the
 *      WAL. Each content is one file in "<db>.content/", named by the queue (never by the
 *      peer). Writing goes to "tmp-<name>", and ox_queue_insert fsyncs it and renames it to
 *      "<name>"; the directory is fsynced before the COMMIT of the row naming it, so a
 *      committed row always has its file. Purged files are unlinked only after their rows'
 *      deletion commits, so a crash leaves at worst an orphan file, never a row without one.
 * Recovery: tmp- files and files no row names are removed; rows whose file is missing or
 *      shorter/longer than content_size move to quarantine (the file, if any, is kept).
 * Diagnostics: OX_E_IO with "what: path: strerror" in ox_queue_errmsg. */
#include "queue_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int q_errno(ox_queue *q, const char *what, const char *name)
{
    return q_fail(q, OX_E_IO, "%s %s: %s", what, name, strerror(errno));
}

/* Releases the writer's descriptor and buffer and marks it finished (no file operation). */
static void w_release(ox_queue_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    ox_buf_free(&w->inl);
    w->finished = true;
}

/* Creates the writer's temporary file under a fresh name. */
static int w_create(ox_queue_writer *w)
{
    ox_queue *q = w->q;
    for (int tries = 0; tries < 16; tries++) {
        char tmp[Q_NAME_LEN + 8];
        uint32_t c = q->name_counter++;
        snprintf(w->name, sizeof w->name, "c%016llx-%08x", (unsigned long long)q->name_seed,
                 (unsigned)c);
        snprintf(tmp, sizeof tmp, "tmp-%s", w->name);
        w->fd = openat(q->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd >= 0)
            return 0;
        if (errno != EEXIST)
            return q_errno(q, "content_begin: create", tmp);
        if (c == UINT32_MAX)
            q->name_seed++;
    }
    return q_fail(q, OX_E_IO, "content_begin: no free file name");
}

static int w_write_fd(ox_queue_writer *w, const uint8_t *p, size_t left)
{
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return q_errno(w->q, "content_write", w->name);
        }
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

int ox_queue_content_begin(ox_queue *q, ox_queue_writer *w)
{
    if (!q || !w)
        return OX_E_ARG;
    *w = (ox_queue_writer){.q = q, .fd = -1, .finished = true};
    ox_buf_init(&w->inl, q->alloc, NULL, 0);
    if (q->read_only || q->dir_fd < 0)
        return q_fail(q, OX_E_STATE, "content_begin: queue opened read-only");
    if (q->inline_never) {
        int rc = w_create(w);
        if (rc)
            return rc;
    }
    w->finished = false;
    return 0;
}

int ox_queue_content_write(ox_queue_writer *w, ox_span data)
{
    if (!w || !w->q || (data.len && !data.p))
        return OX_E_ARG;
    if (w->err)
        return w->err;
    if (w->finished)
        return w->err = q_fail(w->q, OX_E_STATE, "content_write: writer finished");
    if (data.len > w->q->max_content - w->size)
        return w->err = q_fail(w->q, OX_E_LIMIT, "content_write: content above %llu bytes",
                               (unsigned long long)w->q->max_content);
    int rc = 0;
    if (w->fd < 0 && data.len <= w->q->inline_max - w->inl.len) {
        if (data.len && ox_buf_append(&w->inl, data.p, data.len) != 0)
            rc = q_fail(w->q, OX_E_NOMEM, "content_write: out of memory");
    } else {
        if (w->fd < 0) { /* spill: the content is too big for the row */
            rc = w_create(w);
            if (rc == 0)
                rc = w_write_fd(w, w->inl.p, w->inl.len);
            ox_buf_free(&w->inl);
        }
        if (rc == 0)
            rc = w_write_fd(w, data.p, data.len);
    }
    if (rc)
        return w->err = rc;
    w->size += data.len;
    return 0;
}

void ox_queue_content_discard(ox_queue_writer *w)
{
    if (!w || !w->q || w->finished)
        return;
    bool file = w->fd >= 0;
    char tmp[Q_NAME_LEN + 8];
    snprintf(tmp, sizeof tmp, "tmp-%s", w->name);
    w_release(w);
    if (file)
        (void)unlinkat(w->q->dir_fd, tmp, 0);
}

bool ox_queue_content_in_memory(const ox_queue_writer *w, ox_span *out)
{
    if (!w || !w->q || w->finished || w->err || w->fd >= 0)
        return false;
    *out = ox_buf_span(&w->inl);
    return true;
}

int q_content_finish(ox_queue_writer *w, bool *in_db)
{
    ox_queue *q = w->q;
    *in_db = false;
    if (w->finished || w->err) {
        int rc = w->err ? w->err : q_fail(q, OX_E_STATE, "insert: content writer finished");
        ox_queue_content_discard(w);
        return rc == OX_E_LIMIT || rc == OX_E_NOMEM ? rc : OX_E_STATE;
    }
    if (w->fd < 0) {
        *in_db = true;
        return 0;
    }
    char tmp[Q_NAME_LEN + 8];
    snprintf(tmp, sizeof tmp, "tmp-%s", w->name);
    if (!q->no_sync && fdatasync(w->fd) != 0) {
        int rc = q_errno(q, "content fsync", tmp);
        ox_queue_content_discard(w);
        return rc;
    }
    w_release(w);
    if (renameat(q->dir_fd, tmp, q->dir_fd, w->name) != 0) {
        int rc = q_errno(q, "content rename", tmp);
        (void)unlinkat(q->dir_fd, tmp, 0);
        return rc;
    }
    q->dir_dirty = true;
    char rec[Q_NAME_LEN] = {0};
    memcpy(rec, w->name, strlen(w->name));
    if (ox_buf_append(&q->added, rec, sizeof rec) != 0) {
        (void)unlinkat(q->dir_fd, w->name, 0);
        return q_fail(q, OX_E_NOMEM, "insert: out of memory");
    }
    return 0;
}

void q_content_unlink(ox_queue *q, const char *name)
{
    if (q->dir_fd >= 0 && name && name[0])
        (void)unlinkat(q->dir_fd, name, 0);
}

int q_dir_sync(ox_queue *q)
{
    if (!q->dir_dirty)
        return 0;
    if (!q->no_sync && fsync(q->dir_fd) != 0)
        return q_errno(q, "fsync", "content directory");
    q->dir_dirty = false;
    return 0;
}

void q_unlink_list(ox_queue *q, ox_buf *names)
{
    q_unlink_from(q, names, 0);
}

void q_unlink_from(ox_queue *q, ox_buf *names, size_t from)
{
    for (size_t off = from; off + Q_NAME_LEN <= names->len; off += Q_NAME_LEN) {
        char name[Q_NAME_LEN + 1];
        memcpy(name, names->p + off, Q_NAME_LEN);
        name[Q_NAME_LEN] = '\0';
        q_content_unlink(q, name);
    }
    if (names->len > from)
        names->len = from;
}

/* ---- reading ---- */

int ox_queue_content_open(ox_queue *q, int64_t msg_id, ox_queue_reader *r)
{
    if (!q || !r)
        return OX_E_ARG;
    *r = (ox_queue_reader){.q = q, .msg_id = msg_id, .fd = -1};
    sqlite3_stmt *st = q_stmt(q, S_CONTENT_OF);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, msg_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int e = rc == SQLITE_DONE
                    ? q_fail(q, OX_E_NOTFOUND, "content_open: no message %lld", (long long)msg_id)
                    : q_sqlerr(q, "content_open");
        sqlite3_reset(st);
        return e;
    }
    if (sqlite3_column_int(st, 2)) {
        r->in_db = true;
        r->size = q_col_u64(st, 1);
        sqlite3_reset(st);
        return 0;
    }
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        sqlite3_reset(st);
        return q_fail(q, OX_E_NOTFOUND, "content_open: message %lld has no content",
                      (long long)msg_id);
    }
    char name[Q_NAME_LEN + 1];
    snprintf(name, sizeof name, "%s", q_col_text(st, 0));
    r->size = q_col_u64(st, 1);
    sqlite3_reset(st);
    if (q->dir_fd < 0 || (r->fd = openat(q->dir_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
        return q_errno(q, "content_open", name);
    return 0;
}

/* Reads |want| bytes of an inline content: one bounded substr() of the row. */
static int q_read_inline(ox_queue_reader *r, void *buf, size_t want, size_t *n)
{
    if (want == 0)
        return 0;
    sqlite3_stmt *st = q_stmt(r->q, S_READ_INLINE);
    if (!st)
        return OX_E_IO;
    sqlite3_bind_int64(st, 1, r->msg_id);
    q_bind_u64(st, 2, r->off + 1);
    q_bind_u64(st, 3, want);
    int rc = OX_E_IO;
    if (sqlite3_step(st) == SQLITE_ROW && (size_t)sqlite3_column_bytes(st, 0) == want) {
        memcpy(buf, sqlite3_column_blob(st, 0), want);
        *n = want;
        r->off += want;
        rc = 0;
    } else {
        q_fail(r->q, OX_E_IO, "content_read: message %lld changed or gone", (long long)r->msg_id);
    }
    sqlite3_reset(st);
    return rc;
}

int ox_queue_content_read(ox_queue_reader *r, void *buf, size_t cap, size_t *n)
{
    if (!r || !n || (cap && !buf) || (r->fd < 0 && !r->in_db))
        return OX_E_ARG;
    *n = 0;
    uint64_t left = r->size - r->off;
    size_t want = cap < left ? cap : (size_t)left;
    if (r->in_db)
        return q_read_inline(r, buf, want, n);
    while (*n < want) {
        ssize_t got = pread(r->fd, (uint8_t *)buf + *n, want - *n, (off_t)(r->off + *n));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return OX_E_IO; /* error, or the file is shorter than the row says */
        *n += (size_t)got;
    }
    r->off += *n;
    return 0;
}

int ox_queue_content_seek(ox_queue_reader *r, uint64_t off)
{
    if (!r || off > r->size)
        return OX_E_ARG;
    r->off = off;
    return 0;
}

void ox_queue_content_close(ox_queue_reader *r)
{
    if (r && r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r)
        r->in_db = false;
}

/* ---- recovery ---- */

/* Moves message |id| and its recipients to quarantine with |why|. */
static int q_quarantine(ox_queue *q, int64_t id, uint64_t now_ms, const char *why)
{
    static const char *const sql[] = {
        "INSERT INTO history(msg_id, mts_id, time, event, text) SELECT id, mts_id, ?2, 0, "
        "'quarantined: ' || ?3 FROM msg WHERE id=?1",
        "INSERT INTO quarantine SELECT id, mts_id, kind, priority, originator, source, "
        "arrival, expiry, content_size, content_ref, envelope, n_rcpts, content_inline, ?2, ?3 "
        "FROM msg WHERE id=?1",
        "INSERT INTO quarantine_rcpt SELECT id, msg_id, idx, address, state, connector, "
        "next_attempt, open_attempts, transfer_attempts, last_error, report_flags, reason, "
        "diagnostic, priority, arrival FROM rcpt WHERE msg_id=?1",
        "DELETE FROM rcpt WHERE msg_id=?1",
        "DELETE FROM msg WHERE id=?1",
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(sql); i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(q->db, sql[i], -1, &st, NULL) != SQLITE_OK)
            return q_sqlerr(q, "quarantine");
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_bind_parameter_count(st) >= 2) {
            q_bind_u64(st, 2, now_ms);
            sqlite3_bind_text(st, 3, why, -1, SQLITE_STATIC);
        }
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return q_sqlerr(q, "quarantine");
    }
    return 0;
}

/* Rows whose content file is missing or has the wrong size go to quarantine. */
static int q_check_rows(ox_queue *q, uint64_t now_ms, ox_queue_recovery *rec)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(q->db,
                           "SELECT id, content_ref, content_size FROM msg WHERE id>? AND "
                           "content_ref IS NOT NULL ORDER BY id LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return q_sqlerr(q, "recovery: check rows");
    int64_t last = 0;
    int rc = 0;
    for (;;) {
        sqlite3_bind_int64(st, 1, last);
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = q_sqlerr(q, "recovery: check rows");
            break;
        }
        last = sqlite3_column_int64(st, 0);
        char name[Q_NAME_LEN + 1];
        snprintf(name, sizeof name, "%s", q_col_text(st, 1));
        uint64_t size = q_col_u64(st, 2);
        sqlite3_reset(st);
        struct stat sb;
        char why[128];
        if (fstatat(q->dir_fd, name, &sb, 0) != 0)
            snprintf(why, sizeof why, "content file %s missing (%s)", name, strerror(errno));
        else if ((uint64_t)sb.st_size != size)
            snprintf(why, sizeof why, "content file %s has %llu bytes, row says %llu", name,
                     (unsigned long long)sb.st_size, (unsigned long long)size);
        else
            continue;
        if ((rc = q_quarantine(q, last, now_ms, why)) != 0)
            break;
        rec->quarantined++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Removes temporaries and files that no row (message or quarantine) names. */
static int q_remove_orphans(ox_queue *q, ox_queue_recovery *rec)
{
    int fd = dup(q->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return q_errno(q, "recovery: read", "content directory");
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] == '.')
            continue;
        bool orphan = strncmp(name, "tmp-", 4) == 0;
        if (!orphan) {
            sqlite3_stmt *st = q_stmt(q, S_REF_USED);
            if (!st) {
                rc = OX_E_IO;
                break;
            }
            sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
            int s = sqlite3_step(st);
            sqlite3_reset(st);
            if (s != SQLITE_ROW && s != SQLITE_DONE) {
                rc = q_sqlerr(q, "recovery: orphans");
                break;
            }
            orphan = s == SQLITE_DONE;
        }
        if (orphan) {
            if (unlinkat(q->dir_fd, name, 0) != 0)
                rc = q_errno(q, "recovery: remove", name);
            else
                rec->orphans_removed++;
        }
    }
    closedir(d);
    if (rc == 0 && rec->orphans_removed && !q->no_sync && fsync(q->dir_fd) != 0)
        rc = q_errno(q, "fsync", "content directory");
    return rc;
}

int q_recover_files(ox_queue *q, uint64_t now_ms, ox_queue_recovery *rec)
{
    int rc = q_run(q, S_BEGIN, "recovery: begin");
    if (rc)
        return rc;
    rc = q_check_rows(q, now_ms, rec);
    if (rc == 0)
        rc = q_run(q, S_COMMIT, "recovery: commit");
    if (rc) {
        if (!sqlite3_get_autocommit(q->db))
            (void)q_run(q, S_ROLLBACK, "rollback");
        rec->quarantined = 0;
        return rc;
    }
    return q_remove_orphans(q, rec);
}
