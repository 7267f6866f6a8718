/* test_mta_queue.c - the durable queue on a real SQLite file in a temp directory: create,
 * reopen, version refusal, insert and dedup, every transition, scheduling order, retry,
 * expiry, purge, batches, 100 MB streaming with bounded memory, recovery and quarantine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_mta_queue_util.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

typedef struct fx {
    qt_dir d;
    ox_queue *q;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    qt_dir_make(&f->d);
    if (qt_open(&f->d, true, false, &f->q, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ox_queue_close(f->q);
    qt_dir_remove(&f->d);
    free(f);
    return 0;
}

static void reopen(fx *f, ox_queue_recovery *rec)
{
    ox_queue_close(f->q);
    f->q = NULL;
    assert_int_equal(qt_open(&f->d, true, false, &f->q, rec), 0);
}

/* Reopens the queue with contents up to |inline_max| bytes kept in the row. */
static void reopen_inline(fx *f, int32_t inline_max)
{
    ox_queue_close(f->q);
    ox_queue_config cfg = {.path = f->d.db, .recover = true, .inline_max = inline_max};
    char err[256];
    assert_int_equal(ox_queue_open(&cfg, 0, &f->q, NULL, err, sizeof err), 0);
}

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

/* ---- open ---- */

static void test_open_args(void **state)
{
    (void)state;
    ox_queue *q = (ox_queue *)1;
    char err[128];
    assert_int_equal(ox_queue_open(NULL, 0, &q, NULL, err, sizeof err), OX_E_ARG);
    assert_null(q);
    ox_queue_config cfg = {.path = ""};
    assert_int_equal(ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err), OX_E_ARG);
    cfg = (ox_queue_config){.path = "/tmp/x.db", .read_only = true, .recover = true};
    assert_int_equal(ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err), OX_E_ARG);
    cfg = (ox_queue_config){.path = "/nonexistent-dir/q.db"};
    assert_int_equal(ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err), OX_E_IO);
    assert_non_null(strstr(err, "/nonexistent-dir/q.db"));
    assert_string_equal(ox_queue_errmsg(NULL), "");
    ox_queue_close(NULL);
}

static void test_newer_version_refused(void **state)
{
    fx *f = *state;
    ox_queue_close(f->q);
    f->q = NULL;
    sql_exec(f->d.db, "UPDATE format SET version=2");
    ox_queue_config cfg = {.path = f->d.db};
    char err[512];
    assert_int_equal(ox_queue_open(&cfg, 0, &f->q, NULL, err, sizeof err), OX_E_UNSUPPORTED);
    assert_null(f->q);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, "format 2"));
    sql_exec(f->d.db, "UPDATE format SET version=1");
    assert_int_equal(ox_queue_open(&cfg, 0, &f->q, NULL, err, sizeof err), 0);
}

static void test_not_a_queue_refused(void **state)
{
    (void)state;
    qt_dir d;
    qt_dir_make(&d);
    sql_exec(d.db, "CREATE TABLE other(x)");
    ox_queue *q;
    ox_queue_config cfg = {.path = d.db};
    char err[512];
    assert_int_equal(ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err), OX_E_IO);
    assert_non_null(strstr(err, "not an openx400 queue"));
    /* read-only on a missing file */
    qt_dir_remove(&d);
    qt_dir_make(&d);
    cfg = (ox_queue_config){.path = d.db, .read_only = true};
    assert_int_equal(ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err), OX_E_IO);
    qt_dir_remove(&d);
}

static void test_read_only(void **state)
{
    fx *f = *state;
    int64_t id;
    assert_int_equal(qt_insert(f->q, "ro-1", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id), 0);
    ox_queue *ro;
    ox_queue_config cfg = {.path = f->d.db, .read_only = true};
    char err[256];
    assert_int_equal(ox_queue_open(&cfg, 0, &ro, NULL, err, sizeof err), 0);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(ro, id, &m), 0);
    assert_string_equal(m.mts_id, "ro-1");
    int64_t id2;
    assert_int_equal(qt_insert(ro, "ro-2", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, (size_t)-1, &id2),
                     OX_E_STATE);
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(ro, &w), OX_E_STATE);
    assert_int_equal(ox_queue_batch_begin(ro), OX_E_STATE);
    assert_int_equal(ox_queue_mark_in_transfer(ro, qt_rcpt(ro, id, 0), 10), OX_E_STATE);
    assert_int_equal(ox_queue_purge(ro, 0, 0, NULL), OX_E_STATE);
    assert_int_equal(ox_queue_purge_msg(ro, id, 0, NULL), OX_E_STATE);
    /* the reader sees the writer's later commits */
    assert_int_equal(qt_insert(f->q, "ro-3", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id2), 0);
    assert_int_equal(ox_queue_find_mts_id(ro, "ro-3", &id), 0);
    ox_queue_close(ro);
}

static void test_second_writer_refused(void **state)
{
    fx *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ox_queue *q2;
        ox_queue_config cfg = {.path = f->d.db};
        char err[256];
        int rc = ox_queue_open(&cfg, 0, &q2, NULL, err, sizeof err);
        _exit(rc == OX_E_STATE && strstr(err, "in use") ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- insert ---- */

static void test_insert_get(void **state)
{
    fx *f = *state;
    int64_t id;
    assert_int_equal(qt_insert(f->q, "/C=GB/A= /P=Site/;x1", OX_QUEUE_PRIO_URGENT, 5000, 9000,
                               "lan1", 3, 10000, &id),
                     0);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, id, &m), 0);
    assert_int_equal(m.id, id);
    assert_string_equal(m.mts_id, "/C=GB/A= /P=Site/;x1");
    assert_int_equal(m.kind, OX_QUEUE_KIND_MESSAGE);
    assert_int_equal(m.priority, OX_QUEUE_PRIO_URGENT);
    assert_string_equal(m.originator, "/C=GB/A= /P=Site/S=Sender/");
    assert_string_equal(m.source, "peer-mta");
    assert_int_equal(m.arrival_ms, 5000);
    assert_int_equal(m.expiry_ms, 9000);
    assert_int_equal(m.content_size, 10000);
    assert_true(m.has_content);
    assert_int_equal(m.n_rcpts, 3);

    ox_buf env;
    ox_buf_init(&env, NULL, NULL, 0);
    assert_int_equal(ox_queue_get_envelope(f->q, id, &env), 0);
    static const uint8_t want[] = {0x31, 0x03, 0x02, 0x01, 0x05};
    assert_int_equal(env.len, sizeof want);
    assert_memory_equal(env.p, want, sizeof want);
    ox_buf_free(&env);
    assert_int_equal(ox_queue_get_envelope(f->q, id + 100, &env), OX_E_NOTFOUND);

    ox_queue_rcpt_info r;
    int64_t rid = qt_rcpt(f->q, id, 2);
    assert_int_equal(ox_queue_get_rcpt(f->q, rid, &r), 0);
    assert_int_equal(r.msg_id, id);
    assert_int_equal(r.index, 2);
    assert_string_equal(r.address, "/C=GB/A= /P=Site/S=User2/");
    assert_int_equal(r.state, OX_QUEUE_PENDING);
    assert_string_equal(r.connector, "lan1");
    assert_int_equal(r.next_attempt_ms, 5000);
    assert_int_equal(r.open_attempts, 0);
    assert_int_equal(r.transfer_attempts, 0);
    assert_string_equal(r.last_error, "");
    assert_int_equal(r.report_flags, 2);
    assert_int_equal(r.reason, -1);
    assert_int_equal(ox_queue_get_rcpt(f->q, rid + 100, &r), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_get_msg(f->q, id + 100, &m), OX_E_NOTFOUND);

    /* content reads back by chunks, with seek */
    ox_queue_reader rd;
    assert_int_equal(ox_queue_content_open(f->q, id, &rd), 0);
    assert_int_equal(rd.size, 10000);
    uint8_t buf[3000];
    size_t n, total = 0;
    size_t seed = strlen("/C=GB/A= /P=Site/;x1") + (uint8_t)'/';
    do {
        assert_int_equal(ox_queue_content_read(&rd, buf, sizeof buf, &n), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(buf[i], (uint8_t)(((total + i) % 4096) * 7 + seed));
        total += n;
    } while (n);
    assert_int_equal(total, 10000);
    assert_int_equal(ox_queue_content_seek(&rd, 9999), 0);
    assert_int_equal(ox_queue_content_read(&rd, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ox_queue_content_seek(&rd, 10001), OX_E_ARG);
    ox_queue_content_close(&rd);
    ox_queue_content_close(&rd);
    assert_int_equal(ox_queue_content_open(f->q, id + 100, &rd), OX_E_NOTFOUND);

    /* a probe: no content */
    int64_t pid;
    assert_int_equal(
        qt_insert(f->q, "probe-1", OX_QUEUE_PRIO_NORMAL, 1, 0, "lan1", 1, (size_t)-1, &pid), 0);
    assert_int_equal(ox_queue_get_msg(f->q, pid, &m), 0);
    assert_false(m.has_content);
    assert_int_equal(ox_queue_content_open(f->q, pid, &rd), OX_E_NOTFOUND);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
}

static void test_insert_dedup(void **state)
{
    fx *f = *state;
    int64_t id, id2 = -1;
    assert_int_equal(qt_insert(f->q, "dup-1", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 2, 100, &id), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
    /* the resend's content is removed, nothing is stored twice, the old id comes back */
    assert_int_equal(qt_insert(f->q, "dup-1", OX_QUEUE_PRIO_URGENT, 20, 0, "c", 1, 500, &id2),
                     OX_QUEUE_DUPLICATE);
    assert_int_equal(id2, id);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
    assert_int_equal(qt_count_files(&f->d, "tmp-"), 0);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, id, &m), 0);
    assert_int_equal(m.n_rcpts, 2);
    assert_int_equal(m.content_size, 100);
    int64_t found;
    assert_int_equal(ox_queue_find_mts_id(f->q, "dup-1", &found), 0);
    assert_int_equal(found, id);
    assert_int_equal(ox_queue_find_mts_id(f->q, "dup-2", &found), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_find_mts_id(f->q, NULL, &found), OX_E_ARG);
    /* inside a batch too */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(qt_insert(f->q, "dup-3", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id), 0);
    assert_int_equal(qt_insert(f->q, "dup-3", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id2),
                     OX_QUEUE_DUPLICATE);
    assert_int_equal(id2, id);
    assert_int_equal(ox_queue_batch_commit(f->q), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 2);
}

static void test_insert_errors(void **state)
{
    fx *f = *state;
    int64_t id;
    ox_queue_rcpt_in r = {.address = "/C=GB/", .next_attempt_ms = 1};
    ox_queue_msg_in good = {
        .mts_id = "e1", .originator = "/C=GB/", .source = "local", .rcpts = &r, .n_rcpts = 1};
    ox_queue_msg_in m = good;
    assert_int_equal(ox_queue_insert(NULL, &m, 0, &id), OX_E_ARG);
    assert_int_equal(ox_queue_insert(f->q, NULL, 0, &id), OX_E_ARG);
    assert_int_equal(ox_queue_insert(f->q, &m, 0, NULL), OX_E_ARG);
    m.mts_id = NULL;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    m = good;
    m.mts_id = "";
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    m = good;
    m.n_rcpts = 0;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    m = good;
    m.kind = (ox_queue_kind)3;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    m = good;
    m.priority = (ox_queue_priority)3;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    m = good;
    m.originator = NULL;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    ox_queue_rcpt_in bad = {.address = NULL};
    m = good;
    m.rcpts = &bad;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);

    static char big[OX_QUEUE_ADDR_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    m = good;
    m.originator = big;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_LIMIT);
    bad = (ox_queue_rcpt_in){.address = big};
    m = good;
    m.rcpts = &bad;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_LIMIT);
    big[OX_QUEUE_ADDR_MAX] = '\0'; /* exactly the limit is accepted */
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), 0);
    m = good;
    m.mts_id = "e2";
    m.n_rcpts = OX_QUEUE_RCPTS_MAX + 1;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_LIMIT);
    m = good;
    m.mts_id = "e2";
    m.envelope = ox_span_of(big, 1);
    m.envelope.len = OX_QUEUE_ENVELOPE_MAX + 1;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_LIMIT);

    /* a rejected insert releases its content file */
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("abc", 3)), 0);
    m = good;
    m.mts_id = NULL;
    m.content = &w;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_ARG);
    assert_int_equal(qt_count_files(&f->d, ""), 0);
    /* a finished writer cannot be used again */
    m.mts_id = "e3";
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_STATE);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("abc", 3)), OX_E_STATE);
    assert_int_equal(ox_queue_find_mts_id(f->q, "e3", &id), OX_E_NOTFOUND);
}

static void test_content_limit(void **state)
{
    fx *f = *state;
    ox_queue_close(f->q);
    ox_queue_config cfg = {.path = f->d.db, .max_content = 10};
    char err[256];
    assert_int_equal(ox_queue_open(&cfg, 0, &f->q, NULL, err, sizeof err), 0);
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("0123456789", 10)), 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("x", 1)), OX_E_LIMIT);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("", 0)), OX_E_LIMIT); /* sticky */
    ox_queue_rcpt_in r = {.address = "/C=GB/"};
    ox_queue_msg_in m = {.mts_id = "big",
                         .originator = "/C=GB/",
                         .source = "local",
                         .rcpts = &r,
                         .n_rcpts = 1,
                         .content = &w};
    int64_t id;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), OX_E_LIMIT);
    assert_int_equal(qt_count_files(&f->d, ""), 0);
    /* discard is idempotent */
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    ox_queue_content_discard(&w);
    ox_queue_content_discard(&w);
    ox_queue_content_discard(NULL);
    assert_int_equal(qt_count_files(&f->d, ""), 0);
}

/* ---- transitions ---- */

static ox_queue_rcpt_state state_of(ox_queue *q, int64_t rid)
{
    ox_queue_rcpt_info r;
    assert_int_equal(ox_queue_get_rcpt(q, rid, &r), 0);
    return r.state;
}

/* Drives a fresh recipient to |s| along legal arrows. */
static int64_t rcpt_in_state(fx *f, ox_queue_rcpt_state s, int n)
{
    char mts[32];
    snprintf(mts, sizeof mts, "st-%d-%d", (int)s, n);
    int64_t id;
    assert_int_equal(qt_insert(f->q, mts, OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, (size_t)-1, &id), 0);
    int64_t r = qt_rcpt(f->q, id, 0);
    switch (s) {
    case OX_QUEUE_PENDING: break;
    case OX_QUEUE_IN_TRANSFER: assert_int_equal(ox_queue_mark_in_transfer(f->q, r, 2), 0); break;
    case OX_QUEUE_TRANSFERRED:
        assert_int_equal(ox_queue_mark_in_transfer(f->q, r, 2), 0);
        assert_int_equal(ox_queue_mark_transferred(f->q, r, 3), 0);
        break;
    case OX_QUEUE_DELIVERED: assert_int_equal(ox_queue_mark_delivered(f->q, r, 2), 0); break;
    case OX_QUEUE_NON_DELIVERED:
        assert_int_equal(ox_queue_mark_non_delivered(f->q, r, 2, 1, 2, "x"), 0);
        break;
    case OX_QUEUE_REPORTED:
        assert_int_equal(ox_queue_mark_delivered(f->q, r, 2), 0);
        assert_int_equal(ox_queue_mark_reported(f->q, r, 3), 0);
        break;
    }
    assert_int_equal(state_of(f->q, r), s);
    return r;
}

/* Applies transition |t| (target state; PENDING = retry) to |r|. */
static int apply(fx *f, int64_t r, ox_queue_rcpt_state t)
{
    switch (t) {
    case OX_QUEUE_PENDING: return ox_queue_retry(f->q, r, 5, 50, OX_QUEUE_ATTEMPT_TRANSFER, "boom");
    case OX_QUEUE_IN_TRANSFER: return ox_queue_mark_in_transfer(f->q, r, 5);
    case OX_QUEUE_TRANSFERRED: return ox_queue_mark_transferred(f->q, r, 5);
    case OX_QUEUE_DELIVERED: return ox_queue_mark_delivered(f->q, r, 5);
    case OX_QUEUE_NON_DELIVERED: return ox_queue_mark_non_delivered(f->q, r, 5, 0, -1, NULL);
    case OX_QUEUE_REPORTED: return ox_queue_mark_reported(f->q, r, 5);
    }
    return OX_E_ARG;
}

static void test_transition_table(void **state)
{
    fx *f = *state;
    /* legal[from] = targets (bit per state), the diagram in queue.h */
    static const unsigned legal[OX_QUEUE_STATE_COUNT] = {
        [OX_QUEUE_PENDING] = 1u << 0 | 1u << 1 | 1u << 3 | 1u << 4,
        [OX_QUEUE_IN_TRANSFER] = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4,
        [OX_QUEUE_TRANSFERRED] = 0,
        [OX_QUEUE_DELIVERED] = 1u << 5,
        [OX_QUEUE_NON_DELIVERED] = 1u << 5,
        [OX_QUEUE_REPORTED] = 0,
    };
    int n = 0;
    for (int from = 0; from < OX_QUEUE_STATE_COUNT; from++) {
        for (int to = 0; to < OX_QUEUE_STATE_COUNT; to++) {
            int64_t r = rcpt_in_state(f, (ox_queue_rcpt_state)from, n++);
            int rc = apply(f, r, (ox_queue_rcpt_state)to);
            if (legal[from] & (1u << to)) {
                assert_int_equal(rc, 0);
                assert_int_equal(state_of(f->q, r), to);
            } else {
                assert_int_equal(rc, OX_E_STATE);
                assert_int_equal(state_of(f->q, r), from);
            }
        }
    }
    /* unknown recipient */
    for (int to = 0; to < OX_QUEUE_STATE_COUNT; to++)
        assert_int_equal(apply(f, 999999, (ox_queue_rcpt_state)to), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_route(f->q, 999999, "x", 1), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_retry(f->q, 1, 1, 1, (ox_queue_attempt)7, NULL), OX_E_ARG);
    assert_string_equal(ox_queue_state_name(OX_QUEUE_IN_TRANSFER), "in-transfer");
    assert_string_equal(ox_queue_state_name((ox_queue_rcpt_state)9), "?");
}

static void test_non_delivered_and_retry_fields(void **state)
{
    fx *f = *state;
    int64_t id;
    assert_int_equal(qt_insert(f->q, "nd", OX_QUEUE_PRIO_NORMAL, 100, 0, "c", 2, 1, &id), 0);
    int64_t r0 = qt_rcpt(f->q, id, 0), r1 = qt_rcpt(f->q, id, 1);
    assert_int_equal(ox_queue_retry(f->q, r0, 100, 700, OX_QUEUE_ATTEMPT_OPEN, "refused"), 0);
    assert_int_equal(ox_queue_retry(f->q, r0, 700, 1300, OX_QUEUE_ATTEMPT_OPEN, "refused 2"), 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, r0, 1300), 0);
    assert_int_equal(ox_queue_retry(f->q, r0, 1400, 1520, OX_QUEUE_ATTEMPT_TRANSFER, NULL), 0);
    ox_queue_rcpt_info ri;
    assert_int_equal(ox_queue_get_rcpt(f->q, r0, &ri), 0);
    assert_int_equal(ri.state, OX_QUEUE_PENDING);
    assert_int_equal(ri.open_attempts, 2);
    assert_int_equal(ri.transfer_attempts, 1);
    assert_int_equal(ri.next_attempt_ms, 1520);
    assert_string_equal(ri.last_error, "");
    /* long error text is cut, not refused */
    static char longtext[OX_QUEUE_ERRTEXT_MAX * 2];
    memset(longtext, 'e', sizeof longtext - 1);
    assert_int_equal(ox_queue_mark_non_delivered(f->q, r1, 200, 1, 9, longtext), 0);
    assert_int_equal(ox_queue_get_rcpt(f->q, r1, &ri), 0);
    assert_int_equal(ri.state, OX_QUEUE_NON_DELIVERED);
    assert_int_equal(ri.reason, 1);
    assert_int_equal(ri.diagnostic, 9);
    assert_int_equal(strlen(ri.last_error), OX_QUEUE_ERRTEXT_MAX);
    /* routing */
    assert_int_equal(ox_queue_route(f->q, r0, "other", 1600), 0);
    assert_int_equal(ox_queue_get_rcpt(f->q, r0, &ri), 0);
    assert_string_equal(ri.connector, "other");
    assert_int_equal(ri.open_attempts, 2);
    assert_int_equal(ox_queue_route(f->q, r0, NULL, 1600), 0);
    assert_int_equal(ox_queue_get_rcpt(f->q, r0, &ri), 0);
    assert_string_equal(ri.connector, "");
    assert_int_equal(ox_queue_route(f->q, r1, "x", 1600), OX_E_STATE);
}

/* ---- scheduling ---- */

static void test_due_order(void **state)
{
    fx *f = *state;
    int64_t a, b, c, d, e, g;
    assert_int_equal(qt_insert(f->q, "a", OX_QUEUE_PRIO_NON_URGENT, 100, 0, "c1", 1, 1, &a), 0);
    assert_int_equal(qt_insert(f->q, "b", OX_QUEUE_PRIO_NORMAL, 300, 0, "c1", 2, 1, &b), 0);
    assert_int_equal(qt_insert(f->q, "c", OX_QUEUE_PRIO_URGENT, 500, 0, "c1", 1, 1, &c), 0);
    assert_int_equal(qt_insert(f->q, "d", OX_QUEUE_PRIO_NORMAL, 200, 0, "c1", 1, 1, &d), 0);
    assert_int_equal(qt_insert(f->q, "e", OX_QUEUE_PRIO_URGENT, 50, 0, "c2", 1, 1, &e), 0);
    assert_int_equal(qt_insert(f->q, "g", OX_QUEUE_PRIO_URGENT, 50, 0, NULL, 1, 1, &g), 0);
    ox_queue_due due[10];
    size_t n;
    assert_int_equal(ox_queue_due_for(f->q, "c1", 1000, due, 10, &n), 0);
    assert_int_equal(n, 5);
    int64_t want[][2] = {{c, 0}, {d, 0}, {b, 0}, {b, 1}, {a, 0}};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(due[i].msg_id, want[i][0]);
        assert_int_equal(due[i].index, want[i][1]);
        assert_int_equal(due[i].rcpt_id, qt_rcpt(f->q, want[i][0], (uint32_t)want[i][1]));
    }
    assert_int_equal(due[0].priority, OX_QUEUE_PRIO_URGENT);
    assert_int_equal(due[0].arrival_ms, 500);
    /* now filters: at 250 only a (100) and d (200) are due */
    assert_int_equal(ox_queue_due_for(f->q, "c1", 250, due, 10, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(due[0].msg_id, d);
    assert_int_equal(due[1].msg_id, a);
    /* max */
    assert_int_equal(ox_queue_due_for(f->q, "c1", 1000, due, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ox_queue_due_for(f->q, "c1", 1000, due, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ox_queue_due_for(f->q, NULL, 1000, due, 1, &n), OX_E_ARG);
    /* due_message: only the first message's recipients, in index order */
    assert_int_equal(ox_queue_due_message(f->q, "c1", 1000, due, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].msg_id, c);
    assert_int_equal(ox_queue_due_message(f->q, "c1", 250, due, 10, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].msg_id, d);
    assert_int_equal(ox_queue_due_message(f->q, "nowhere", 1000, due, 10, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ox_queue_due_message(f->q, NULL, 1000, due, 1, &n), OX_E_ARG);
    /* in-transfer and retried recipients leave the list; retry brings them back later */
    assert_int_equal(ox_queue_mark_in_transfer(f->q, qt_rcpt(f->q, c, 0), 1000), 0);
    assert_int_equal(
        ox_queue_retry(f->q, qt_rcpt(f->q, d, 0), 1000, 5000, OX_QUEUE_ATTEMPT_OPEN, "down"), 0);
    assert_int_equal(ox_queue_due_for(f->q, "c1", 1000, due, 10, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(due[0].msg_id, b);
    assert_int_equal(ox_queue_due_message(f->q, "c1", 1000, due, 10, &n), 0);
    assert_int_equal(n, 2); /* both of b's, and nothing of a's */
    assert_int_equal(due[0].rcpt_id, qt_rcpt(f->q, b, 0));
    assert_int_equal(due[1].rcpt_id, qt_rcpt(f->q, b, 1));
    assert_int_equal(ox_queue_due_message(f->q, "c1", 1000, due, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ox_queue_due_for(f->q, "c1", 5000, due, 10, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(due[0].msg_id, d);
    assert_int_equal(due[0].next_attempt_ms, 5000);
    /* connector stats count pending and in-transfer */
    uint64_t cnt, oldest;
    assert_int_equal(ox_queue_connector_stats(f->q, "c1", &cnt, &oldest), 0);
    assert_int_equal(cnt, 5);
    assert_int_equal(oldest, 100);
    assert_int_equal(ox_queue_connector_stats(f->q, "none", &cnt, &oldest), 0);
    assert_int_equal(cnt, 0);
    assert_int_equal(oldest, 0);
    /* next due overall: the smallest pending next_attempt (e and g at 50) */
    uint64_t when;
    assert_int_equal(ox_queue_next_due(f->q, &when), 0);
    assert_int_equal(when, 50);
}

static void test_expiry_and_next_due(void **state)
{
    fx *f = *state;
    uint64_t when;
    assert_int_equal(ox_queue_next_due(f->q, &when), OX_E_NOTFOUND);
    int64_t a, b, c;
    assert_int_equal(qt_insert(f->q, "x1", OX_QUEUE_PRIO_NORMAL, 100, 1000, "c", 2, 1, &a), 0);
    assert_int_equal(qt_insert(f->q, "x2", OX_QUEUE_PRIO_URGENT, 100, 2000, "c", 1, 1, &b), 0);
    assert_int_equal(qt_insert(f->q, "x3", OX_QUEUE_PRIO_URGENT, 100, 0, "c", 1, 1, &c), 0);
    /* everything is due at 100; push attempts later to see expiry drive next_due */
    for (int64_t m = a; m <= c; m++)
        for (uint32_t i = 0; i < 2; i++) {
            int64_t r = qt_rcpt(f->q, m, i);
            if (r > 0)
                assert_int_equal(ox_queue_retry(f->q, r, 100, 5000, OX_QUEUE_ATTEMPT_OPEN, NULL),
                                 0);
        }
    assert_int_equal(ox_queue_next_due(f->q, &when), 0);
    assert_int_equal(when, 1000);
    ox_queue_due due[8];
    size_t n;
    assert_int_equal(ox_queue_expired(f->q, 999, due, 8, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ox_queue_expired(f->q, 1000, due, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(due[0].msg_id, a);
    assert_int_equal(due[1].index, 1);
    assert_int_equal(ox_queue_expired(f->q, 3000, due, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(due[0].msg_id, b); /* urgent first */
    /* an in-transfer recipient is not listed as expired (its transfer is in flight) */
    assert_int_equal(
        ox_queue_retry(f->q, qt_rcpt(f->q, b, 0), 100, 100, OX_QUEUE_ATTEMPT_OPEN, NULL), 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, qt_rcpt(f->q, b, 0), 100), 0);
    assert_int_equal(ox_queue_expired(f->q, 3000, due, 8, &n), 0);
    assert_int_equal(n, 2);
    /* expire a's recipients: next due is then x3's attempt at 5000 */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            ox_queue_mark_non_delivered(f->q, due[i].rcpt_id, 3000, 1, 5, "maximum time expired"),
            0);
    assert_int_equal(ox_queue_next_due(f->q, &when), 0);
    assert_int_equal(when, 5000);
    assert_int_equal(ox_queue_expired(f->q, 3000, NULL, 0, &n), 0);
    assert_int_equal(ox_queue_expired(NULL, 3000, due, 1, &n), OX_E_ARG);
}

/* ---- history, purge ---- */

typedef struct hist {
    int n;
    char last[600];
    int event;
} hist;

static int hist_cb(void *ctx, uint64_t t, int ev, const char *text)
{
    (void)t;
    hist *h = ctx;
    h->n++;
    h->event = ev;
    snprintf(h->last, sizeof h->last, "%s", text);
    return 0;
}

static void test_history_and_purge(void **state)
{
    fx *f = *state;
    int64_t a, b;
    assert_int_equal(qt_insert(f->q, "p-a", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 2, 50, &a), 0);
    assert_int_equal(qt_insert(f->q, "p-b", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 50, &b), 0);
    int64_t a0 = qt_rcpt(f->q, a, 0), a1 = qt_rcpt(f->q, a, 1), b0 = qt_rcpt(f->q, b, 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, a0, 20), 0);
    assert_int_equal(ox_queue_mark_transferred(f->q, a0, 30), 0);
    assert_int_equal(ox_queue_mark_delivered(f->q, a1, 30), 0);
    assert_int_equal(ox_queue_history_add(f->q, a, 31, 203, "delivered to mailbox"), 0);
    assert_int_equal(ox_queue_history_add(f->q, 9999, 31, 203, "x"), OX_E_NOTFOUND);
    hist h = {0};
    assert_int_equal(ox_queue_history_foreach(f->q, "p-a", hist_cb, &h), 0);
    assert_int_equal(h.n, 4); /* queued, transferred, delivered, the added line: in transfer
                                 is a passing state without a line of its own */
    assert_int_equal(h.event, 203);
    assert_string_equal(h.last, "delivered to mailbox");
    assert_int_equal(ox_queue_history_foreach(f->q, "nope", hist_cb, &h), OX_E_NOTFOUND);

    size_t n;
    /* a1 is delivered but not reported: not finished yet */
    assert_int_equal(ox_queue_purge(f->q, 40, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ox_queue_mark_reported(f->q, a1, 41), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 2);
    assert_int_equal(ox_queue_purge(f->q, 50, 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, a, &m), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_get_rcpt(f->q, a0, NULL), OX_E_ARG);
    ox_queue_rcpt_info ri;
    assert_int_equal(ox_queue_get_rcpt(f->q, a0, &ri), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_get_msg(f->q, b, &m), 0);
    assert_int_equal(state_of(f->q, b0), OX_QUEUE_PENDING);
    /* a late resend of the purged message is still recognised; track still works */
    int64_t id;
    assert_int_equal(qt_insert(f->q, "p-a", OX_QUEUE_PRIO_NORMAL, 60, 0, "c", 1, 5, &id),
                     OX_QUEUE_DUPLICATE);
    assert_int_equal(id, a);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
    h = (hist){0};
    assert_int_equal(ox_queue_history_foreach(f->q, "p-a", hist_cb, &h), 0);
    assert_int_equal(h.n, 6);
    assert_non_null(strstr(h.last, "removed"));
    /* forgetting: purged before 51 is forgotten at the next purge */
    assert_int_equal(ox_queue_purge(f->q, 100, 51, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "p-a", &id), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_history_foreach(f->q, "p-a", hist_cb, &h), OX_E_NOTFOUND);
    h = (hist){0};
    assert_int_equal(ox_queue_history_foreach(f->q, "p-b", hist_cb, &h), 0);
    assert_int_equal(h.n, 1);
    assert_non_null(strstr(h.last, "queued from peer-mta"));
}

/* ox_queue_purge_msg removes one message when, and only when, it is finished: like purge,
 * but without scanning the queue; read-only queues and unknown ids are handled. */
static void test_purge_msg(void **state)
{
    fx *f = *state;
    int64_t a, b;
    bool removed = true;
    assert_int_equal(qt_insert(f->q, "pm-a", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 2, 50, &a), 0);
    assert_int_equal(qt_insert(f->q, "pm-b", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 50, &b), 0);
    int64_t a0 = qt_rcpt(f->q, a, 0), a1 = qt_rcpt(f->q, a, 1), b0 = qt_rcpt(f->q, b, 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, a0, 20), 0);
    assert_int_equal(ox_queue_mark_transferred(f->q, a0, 21), 0);
    /* a1 still pending: a stays */
    assert_int_equal(ox_queue_purge_msg(f->q, a, 22, &removed), 0);
    assert_false(removed);
    assert_int_equal(ox_queue_mark_delivered(f->q, a1, 23), 0);
    assert_int_equal(ox_queue_purge_msg(f->q, a, 24, &removed), 0);
    assert_false(removed); /* delivered, not yet reported */
    assert_int_equal(ox_queue_mark_reported(f->q, a1, 25), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 2);
    /* inside a batch the content file goes only at the commit */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(ox_queue_purge_msg(f->q, a, 26, &removed), 0);
    assert_true(removed);
    assert_int_equal(qt_count_files(&f->d, ""), 2);
    assert_int_equal(ox_queue_batch_commit(f->q), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, a, &m), OX_E_NOTFOUND);
    /* gone, so a second call and an unknown id remove nothing */
    assert_int_equal(ox_queue_purge_msg(f->q, a, 27, &removed), 0);
    assert_false(removed);
    assert_int_equal(ox_queue_purge_msg(f->q, 9999, 27, NULL), 0);
    /* b untouched; a late resend of a is recognised and its history ends "removed" */
    assert_int_equal(state_of(f->q, b0), OX_QUEUE_PENDING);
    int64_t id;
    assert_int_equal(qt_insert(f->q, "pm-a", OX_QUEUE_PRIO_NORMAL, 60, 0, "c", 1, 5, &id),
                     OX_QUEUE_DUPLICATE);
    hist h = {0};
    assert_int_equal(ox_queue_history_foreach(f->q, "pm-a", hist_cb, &h), 0);
    assert_non_null(strstr(h.last, "removed"));
    /* the periodic purge then finds nothing more */
    size_t n;
    assert_int_equal(ox_queue_purge(f->q, 30, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ox_queue_purge_msg(NULL, a, 1, NULL), OX_E_ARG);
}

/* ox_queue_content_in_memory: the octets while they are all in memory, nothing once the
 * content went to a file or the writer failed. */
static void test_content_in_memory(void **state)
{
    fx *f = *state;
    reopen_inline(f, 1000);
    ox_queue_writer w;
    ox_span got;
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    assert_true(ox_queue_content_in_memory(&w, &got));
    assert_int_equal(got.len, 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("hello", 5)), 0);
    assert_true(ox_queue_content_in_memory(&w, &got));
    assert_int_equal(got.len, 5);
    assert_memory_equal(got.p, "hello", 5);
    static uint8_t big[1000];
    assert_int_equal(ox_queue_content_write(&w, ox_span_of(big, sizeof big)), 0);
    assert_false(ox_queue_content_in_memory(&w, &got)); /* spilled to a file */
    ox_queue_content_discard(&w);
    assert_false(ox_queue_content_in_memory(&w, &got));
    assert_false(ox_queue_content_in_memory(NULL, &got));
}

/* ox_queue_transferred: the sender's confirm in one operation: marks, one line, and the
 * message removed with its last recipient. */
/* A hold rolled back took the marks that ended two transfers: they go back to pending; a
 * transfer still in flight keeps (or gets back) its in-transfer mark. */
static void test_reset_transfers(void **state)
{
    fx *f = *state;
    int64_t a;
    assert_int_equal(qt_insert(f->q, "rt-a", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 4, 50, &a), 0);
    int64_t r[4];
    for (uint32_t i = 0; i < 4; i++)
        r[i] = qt_rcpt(f->q, a, i);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ox_queue_mark_in_transfer(f->q, r[i], 20), 0);
    int64_t busy[] = {r[1], r[3]}; /* r[3] is pending though in flight */
    uint32_t n = 99;
    assert_int_equal(ox_queue_reset_transfers(f->q, 30, busy, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(state_of(f->q, r[0]), OX_QUEUE_PENDING);
    assert_int_equal(state_of(f->q, r[1]), OX_QUEUE_IN_TRANSFER);
    assert_int_equal(state_of(f->q, r[2]), OX_QUEUE_PENDING);
    assert_int_equal(state_of(f->q, r[3]), OX_QUEUE_IN_TRANSFER);
    hist h = {0};
    assert_int_equal(ox_queue_history_foreach(f->q, "rt-a", hist_cb, &h), 0);
    assert_int_equal(h.n, 3); /* queued; two back to pending */
    assert_non_null(strstr(h.last, "back to pending"));
    assert_int_equal(ox_queue_reset_transfers(f->q, 31, NULL, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ox_queue_reset_transfers(f->q, 31, NULL, 1, &n), OX_E_ARG);
}

/* The confirms of a turn in one operation; one bad item (no such message) costs only itself. */
static void test_transferred_many(void **state)
{
    fx *f = *state;
    int64_t a, b;
    assert_int_equal(qt_insert(f->q, "tm-a", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 50, &a), 0);
    assert_int_equal(qt_insert(f->q, "tm-b", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 2, 50, &b), 0);
    int64_t ra = qt_rcpt(f->q, a, 0), rb0 = qt_rcpt(f->q, b, 0), rb1 = qt_rcpt(f->q, b, 1);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, ra, 20), 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, rb0, 20), 0);
    ox_queue_transfer items[] = {{a, &ra, 1, "to X"}, {b, &rb0, 1, "to Y"}};
    assert_int_equal(ox_queue_transferred_many(f->q, items, 2, 21, 202), 0);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, a, &m), OX_E_NOTFOUND); /* finished: gone */
    assert_int_equal(state_of(f->q, rb0), OX_QUEUE_TRANSFERRED);
    assert_int_equal(state_of(f->q, rb1), OX_QUEUE_PENDING);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, rb1, 22), 0);
    int64_t none = 999999;
    ox_queue_transfer bad[] = {{999999, &none, 1, "to Z"}, {b, &rb1, 1, "to Y"}};
    assert_int_equal(ox_queue_transferred_many(f->q, bad, 2, 23, 202), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_get_msg(f->q, b, &m), OX_E_NOTFOUND); /* the good one went on */
    assert_int_equal(ox_queue_transferred_many(f->q, NULL, 1, 24, 202), OX_E_ARG);
    assert_int_equal(ox_queue_transferred_many(f->q, NULL, 0, 24, 202), 0);
}

static void test_transferred(void **state)
{
    fx *f = *state;
    int64_t a;
    assert_int_equal(qt_insert(f->q, "tr-a", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 3, 50, &a), 0);
    int64_t r0 = qt_rcpt(f->q, a, 0), r1 = qt_rcpt(f->q, a, 1), r2 = qt_rcpt(f->q, a, 2);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, r0, 20), 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, r1, 20), 0);
    bool removed = true;
    /* r2 is still pending: it is left alone, and the message stays */
    int64_t first[] = {r0, r2};
    assert_int_equal(
        ox_queue_transferred(f->q, a, first, 2, 21, 202, "transferred to SITEB", &removed), 0);
    assert_false(removed);
    assert_int_equal(state_of(f->q, r0), OX_QUEUE_TRANSFERRED);
    assert_int_equal(state_of(f->q, r2), OX_QUEUE_PENDING);
    hist h = {0};
    assert_int_equal(ox_queue_history_foreach(f->q, "tr-a", hist_cb, &h), 0);
    assert_int_equal(h.n, 2); /* queued; transferred */
    assert_int_equal(h.event, 202);
    assert_string_equal(h.last, "transferred to SITEB");
    assert_int_equal(ox_queue_mark_delivered(f->q, r2, 22), 0);
    assert_int_equal(ox_queue_mark_reported(f->q, r2, 23), 0);
    int64_t last[] = {r1};
    assert_int_equal(
        ox_queue_transferred(f->q, a, last, 1, 24, 202, "transferred to SITEC", &removed), 0);
    assert_true(removed);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, a, &m), OX_E_NOTFOUND);
    h = (hist){0};
    assert_int_equal(ox_queue_history_foreach(f->q, "tr-a", hist_cb, &h), 0);
    assert_string_equal(h.last, "transferred to SITEC; finished: removed from the queue");
    int64_t id;
    assert_int_equal(ox_queue_find_mts_id(f->q, "tr-a", &id), 0); /* a resend is still known */
    /* errors */
    assert_int_equal(ox_queue_transferred(f->q, 9999, NULL, 0, 25, 202, "x", &removed),
                     OX_E_NOTFOUND);
    assert_int_equal(ox_queue_transferred(f->q, a, NULL, 1, 25, 202, "x", NULL), OX_E_ARG);
    assert_int_equal(ox_queue_transferred(NULL, a, NULL, 0, 25, 202, "x", NULL), OX_E_ARG);
}

/* A message delivered at arrival never enters the queue: note_delivered remembers its id (a
 * resend or a later insert is a duplicate) and its history, forgotten like a purged one's. */
static void test_note_delivered(void **state)
{
    fx *f = *state;
    ox_queue_line lines[] = {{0, "received from SITEB: delivered at arrival"},
                             {203, "rcpt 0 Bob: delivered in /mbox/bob/x.0.p1"}};
    assert_int_equal(ox_queue_note_delivered(f->q, "nd-a", 10, lines, 2), 0);
    assert_false(ox_queue_needs_sync(f->q)); /* the mailbox file is the durable copy */
    int64_t id = -1;
    assert_int_equal(ox_queue_find_mts_id(f->q, "nd-a", &id), 0);
    assert_int_equal(id, 0); /* never had a row */
    assert_int_equal(ox_queue_note_delivered(f->q, "nd-a", 11, lines, 2), OX_QUEUE_DUPLICATE);
    assert_int_equal(qt_insert(f->q, "nd-a", OX_QUEUE_PRIO_NORMAL, 12, 0, "c", 1, 5, &id),
                     OX_QUEUE_DUPLICATE);
    /* and the other way round: a queued id cannot be noted */
    int64_t b;
    assert_int_equal(qt_insert(f->q, "nd-b", OX_QUEUE_PRIO_NORMAL, 12, 0, "c", 1, 5, &b), 0);
    assert_int_equal(ox_queue_note_delivered(f->q, "nd-b", 13, lines, 2), OX_QUEUE_DUPLICATE);
    hist h = {0};
    assert_int_equal(ox_queue_history_foreach(f->q, "nd-a", hist_cb, &h), 0);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.event, 203);
    assert_string_equal(h.last, "rcpt 0 Bob: delivered in /mbox/bob/x.0.p1");
    /* inside a batch it goes with the batch */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(ox_queue_note_delivered(f->q, "nd-c", 14, NULL, 0), 0);
    assert_int_equal(ox_queue_batch_abort(f->q), 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "nd-c", &id), OX_E_NOTFOUND);
    /* survives a reopen; forgotten with the purged */
    ox_queue_recovery rec;
    reopen(f, &rec);
    assert_int_equal(ox_queue_find_mts_id(f->q, "nd-a", &id), 0);
    size_t n;
    assert_int_equal(ox_queue_purge(f->q, 100, 11, &n), 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "nd-a", &id), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_history_foreach(f->q, "nd-a", hist_cb, &h), OX_E_NOTFOUND);
    /* arguments */
    assert_int_equal(ox_queue_note_delivered(NULL, "x", 1, NULL, 0), OX_E_ARG);
    assert_int_equal(ox_queue_note_delivered(f->q, "", 1, NULL, 0), OX_E_ARG);
    assert_int_equal(ox_queue_note_delivered(f->q, "x", 1, NULL, 1), OX_E_ARG);
    char big[OX_QUEUE_MTS_ID_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ox_queue_note_delivered(f->q, big, 1, NULL, 0), OX_E_LIMIT);
}

/* ---- batches ---- */

static void test_batch(void **state)
{
    fx *f = *state;
    assert_int_equal(ox_queue_batch_commit(f->q), OX_E_STATE);
    assert_int_equal(ox_queue_batch_abort(f->q), OX_E_STATE);
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(ox_queue_batch_begin(f->q), OX_E_STATE);
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        char mts[16];
        snprintf(mts, sizeof mts, "b%d", i);
        assert_int_equal(qt_insert(f->q, mts, OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &ids[i]),
                         0);
    }
    /* a failing call inside the batch leaves the batch intact */
    assert_int_equal(ox_queue_mark_transferred(f->q, qt_rcpt(f->q, ids[0], 0), 10), OX_E_STATE);
    int64_t bad;
    static char big[OX_QUEUE_ADDR_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    ox_queue_rcpt_in r = {.address = big};
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    ox_queue_msg_in m = {.mts_id = "bad",
                         .originator = "/C=GB/",
                         .source = "x",
                         .rcpts = &r,
                         .n_rcpts = 1,
                         .content = &w};
    assert_int_equal(ox_queue_insert(f->q, &m, 10, &bad), OX_E_LIMIT);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, qt_rcpt(f->q, ids[1], 0), 10), 0);
    assert_int_equal(ox_queue_batch_commit(f->q), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 5);
    assert_int_equal(state_of(f->q, qt_rcpt(f->q, ids[1], 0)), OX_QUEUE_IN_TRANSFER);

    /* abort: rows and the new content files go; earlier state stays */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    int64_t x;
    assert_int_equal(qt_insert(f->q, "gone1", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &x), 0);
    assert_int_equal(qt_insert(f->q, "gone2", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &x), 0);
    assert_int_equal(ox_queue_mark_transferred(f->q, qt_rcpt(f->q, ids[1], 0), 10), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 7);
    assert_int_equal(ox_queue_batch_abort(f->q), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 5);
    assert_int_equal(ox_queue_find_mts_id(f->q, "gone1", &x), OX_E_NOTFOUND);
    assert_int_equal(state_of(f->q, qt_rcpt(f->q, ids[1], 0)), OX_QUEUE_IN_TRANSFER);

    /* purge in a batch removes files only at commit */
    assert_int_equal(ox_queue_mark_transferred(f->q, qt_rcpt(f->q, ids[1], 0), 10), 0);
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    size_t n;
    assert_int_equal(ox_queue_purge(f->q, 20, 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(qt_count_files(&f->d, ""), 5);
    assert_int_equal(ox_queue_batch_commit(f->q), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 4);
    /* close with an open batch rolls it back */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(qt_insert(f->q, "gone3", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &x), 0);
    reopen(f, NULL);
    assert_int_equal(ox_queue_find_mts_id(f->q, "gone3", &x), OX_E_NOTFOUND);
    assert_int_equal(qt_count_files(&f->d, ""), 4);
}

/* ---- reopen and recovery ---- */

typedef struct dump {
    char text[16384];
    size_t len;
} dump;

static int dump_rcpt(void *ctx, const ox_queue_rcpt_info *r)
{
    dump *d = ctx;
    d->len += (size_t)snprintf(
        d->text + d->len, sizeof d->text - d->len, "%lld %lld %u %s %d %s %llu %u %u %s %u %d %d\n",
        (long long)r->id, (long long)r->msg_id, r->index, r->address, r->state, r->connector,
        (unsigned long long)r->next_attempt_ms, r->open_attempts, r->transfer_attempts,
        r->last_error, r->report_flags, r->reason, r->diagnostic);
    return 0;
}

static int dump_msg(void *ctx, const ox_queue_msg_info *m)
{
    dump *d = ctx;
    d->len += (size_t)snprintf(d->text + d->len, sizeof d->text - d->len,
                               "%lld %s %d %d %s %s %llu %llu %llu %d %u\n", (long long)m->id,
                               m->mts_id, m->kind, m->priority, m->originator, m->source,
                               (unsigned long long)m->arrival_ms, (unsigned long long)m->expiry_ms,
                               (unsigned long long)m->content_size, m->has_content, m->n_rcpts);
    return 0;
}

static void dump_all(ox_queue *q, dump *d)
{
    d->len = 0;
    assert_int_equal(ox_queue_foreach_msg(q, dump_msg, d), 0);
    assert_int_equal(ox_queue_foreach_rcpt(q, 0, dump_rcpt, d), 0);
}

static int stop_cb(void *ctx, const ox_queue_msg_info *m)
{
    (void)ctx;
    (void)m;
    return 42;
}

static void test_reopen_preserves(void **state)
{
    fx *f = *state;
    int64_t a, b;
    assert_int_equal(qt_insert(f->q, "r-a", OX_QUEUE_PRIO_URGENT, 10, 99, "c", 3, 10, &a), 0);
    assert_int_equal(qt_insert(f->q, "r-b", OX_QUEUE_PRIO_NORMAL, 11, 0, NULL, 2, (size_t)-1, &b),
                     0);
    assert_int_equal(
        ox_queue_retry(f->q, qt_rcpt(f->q, a, 0), 12, 100, OX_QUEUE_ATTEMPT_OPEN, "refused"), 0);
    assert_int_equal(ox_queue_mark_non_delivered(f->q, qt_rcpt(f->q, a, 1), 12, 2, 3, "loop"), 0);
    assert_int_equal(ox_queue_mark_delivered(f->q, qt_rcpt(f->q, b, 1), 12), 0);
    static dump before, after;
    dump_all(f->q, &before);
    assert_true(before.len > 100);
    ox_queue_recovery rec;
    reopen(f, &rec);
    assert_int_equal(rec.orphans_removed + rec.quarantined + rec.transfers_reset, 0);
    dump_all(f->q, &after);
    assert_string_equal(before.text, after.text);
    assert_int_equal(ox_queue_foreach_msg(f->q, stop_cb, NULL), 42);
    assert_int_equal(ox_queue_foreach_msg(f->q, NULL, NULL), OX_E_ARG);
    /* ids keep growing after reopen (AUTOINCREMENT: a purged id is never reused) */
    int64_t c;
    assert_int_equal(qt_insert(f->q, "r-c", OX_QUEUE_PRIO_NORMAL, 11, 0, "c", 1, 1, &c), 0);
    assert_true(c > b);
}

static void test_recovery(void **state)
{
    fx *f = *state;
    int64_t a, b, c, d;
    assert_int_equal(qt_insert(f->q, "k-a", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 2, 100, &a), 0);
    assert_int_equal(qt_insert(f->q, "k-b", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &b), 0);
    assert_int_equal(qt_insert(f->q, "k-c", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &c), 0);
    assert_int_equal(qt_insert(f->q, "k-d", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100, &d), 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, qt_rcpt(f->q, a, 0), 20), 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, qt_rcpt(f->q, d, 0), 20), 0);
    /* an unfinished writer (crash mid-stream) */
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of("partial", 7)), 0);
    ox_queue_close(f->q); /* the writer's file stays behind as a crash would leave it */
    f->q = NULL;
    close(w.fd);
    /* a finished file whose row never committed */
    char p[600];
    snprintf(p, sizeof p, "%s/c0000000000000000-00000001", f->d.content);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    /* b's file missing, c's file truncated */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(f->d.db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT content_ref FROM msg WHERE id=?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, b);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(p, sizeof p, "%s/%s", f->d.content, sqlite3_column_text(st, 0));
    assert_int_equal(unlink(p), 0);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, c);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(p, sizeof p, "%s/%s", f->d.content, sqlite3_column_text(st, 0));
    assert_int_equal(truncate(p, 50), 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    assert_int_equal(qt_count_files(&f->d, ""), 5);

    /* read-only open does not recover */
    ox_queue *ro;
    ox_queue_config cfg = {.path = f->d.db, .read_only = true};
    char err[256];
    assert_int_equal(ox_queue_open(&cfg, 0, &ro, NULL, err, sizeof err), 0);
    ox_queue_close(ro);
    assert_int_equal(qt_count_files(&f->d, ""), 5);

    ox_queue_recovery rec;
    assert_int_equal(qt_open(&f->d, true, false, &f->q, &rec), 0);
    assert_int_equal(rec.orphans_removed, 2);
    assert_int_equal(rec.quarantined, 2);
    assert_int_equal(rec.transfers_reset, 2);
    uint64_t nq;
    assert_int_equal(ox_queue_quarantine_count(f->q, &nq), 0);
    assert_int_equal(nq, 2);
    /* the short file is kept with its quarantined row; the missing one is recorded */
    assert_int_equal(qt_count_files(&f->d, ""), 3);
    assert_int_equal(qt_count_files(&f->d, "tmp-"), 0);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, b, &m), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_get_msg(f->q, c, &m), OX_E_NOTFOUND);
    assert_int_equal(state_of(f->q, qt_rcpt(f->q, a, 0)), OX_QUEUE_PENDING);
    assert_int_equal(state_of(f->q, qt_rcpt(f->q, d, 0)), OX_QUEUE_PENDING);
    hist h2 = {0};
    assert_int_equal(ox_queue_history_foreach(f->q, "k-b", hist_cb, &h2), 0);
    assert_non_null(strstr(h2.last, "quarantined: content file"));
    assert_int_equal(ox_queue_history_foreach(f->q, "k-a", hist_cb, &h2), 0);
    assert_non_null(strstr(h2.last, "back to pending"));
    /* a second recovery finds nothing */
    reopen(f, &rec);
    assert_int_equal(rec.orphans_removed + rec.quarantined + rec.transfers_reset, 0);
    assert_int_equal(ox_queue_quarantine_count(f->q, &nq), 0);
    assert_int_equal(nq, 2);
}

/* ---- failures: SQLite errors injected with triggers, file errors ---- */

static void test_sql_failures(void **state)
{
    fx *f = *state;
    int64_t a, x;
    assert_int_equal(qt_insert(f->q, "f-a", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &a), 0);
    /* an insert failing at its second recipient leaves nothing behind */
    sql_exec(f->d.db, "CREATE TRIGGER t1 BEFORE INSERT ON rcpt WHEN NEW.address LIKE '%User1%' "
                      "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
    assert_int_equal(qt_insert(f->q, "f-b", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 2, 100, &x), OX_E_IO);
    assert_non_null(strstr(ox_queue_errmsg(f->q), "injected"));
    assert_int_equal(ox_queue_find_mts_id(f->q, "f-b", &x), OX_E_NOTFOUND);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
    /* the same inside a batch: the batch keeps its other work */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(qt_insert(f->q, "f-c", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &x), 0);
    assert_int_equal(qt_insert(f->q, "f-b", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 2, 100, &x), OX_E_IO);
    assert_int_equal(qt_insert(f->q, "f-d", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &x), 0);
    assert_int_equal(ox_queue_batch_commit(f->q), 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "f-c", &x), 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "f-d", &x), 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "f-b", &x), OX_E_NOTFOUND);
    assert_int_equal(qt_count_files(&f->d, ""), 3);

    /* a failing transition changes nothing */
    int64_t r = qt_rcpt(f->q, a, 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, r, 2), 0);
    sql_exec(f->d.db, "CREATE TRIGGER t2 BEFORE UPDATE ON rcpt WHEN NEW.state=2 "
                      "BEGIN SELECT RAISE(ABORT, 'no transfer'); END;");
    assert_int_equal(ox_queue_mark_transferred(f->q, r, 3), OX_E_IO);
    assert_int_equal(state_of(f->q, r), OX_QUEUE_IN_TRANSFER);
    sql_exec(f->d.db, "DROP TRIGGER t2");
    assert_int_equal(ox_queue_mark_transferred(f->q, r, 3), 0);

    /* a failing purge removes no file */
    sql_exec(f->d.db, "CREATE TRIGGER t3 BEFORE DELETE ON msg "
                      "BEGIN SELECT RAISE(ABORT, 'keep'); END;");
    size_t n;
    assert_int_equal(ox_queue_purge(f->q, 4, 0, &n), OX_E_IO);
    assert_int_equal(qt_count_files(&f->d, ""), 3);
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, a, &m), 0);
    sql_exec(f->d.db, "DROP TRIGGER t3");
    assert_int_equal(ox_queue_purge(f->q, 4, 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(qt_count_files(&f->d, ""), 2);

    /* a failing COMMIT (deferred foreign key) rolls the batch back and removes its files */
    sql_exec(f->d.db, "CREATE TABLE fk(x INTEGER REFERENCES msg(id) DEFERRABLE INITIALLY DEFERRED);"
                      "CREATE TRIGGER t4 AFTER INSERT ON history WHEN NEW.text LIKE '%boom%' "
                      "BEGIN INSERT INTO fk VALUES(-5); END;");
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(qt_insert(f->q, "f-e", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &x), 0);
    assert_int_equal(ox_queue_history_add(f->q, x, 5, 0, "boom"), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 3);
    assert_int_equal(ox_queue_batch_commit(f->q), OX_E_IO);
    assert_non_null(strstr(ox_queue_errmsg(f->q), "FOREIGN KEY"));
    assert_int_equal(ox_queue_find_mts_id(f->q, "f-e", &x), OX_E_NOTFOUND);
    assert_int_equal(qt_count_files(&f->d, ""), 2);
    /* and the same outside a batch */
    int64_t c;
    assert_int_equal(ox_queue_find_mts_id(f->q, "f-c", &c), 0);
    assert_int_equal(ox_queue_history_add(f->q, c, 5, 0, "boom"), OX_E_IO);
    /* the queue stays usable */
    assert_int_equal(qt_insert(f->q, "f-f", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &x), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 3);
    ox_queue_recovery rec;
    reopen(f, &rec);
    assert_int_equal(rec.orphans_removed + rec.quarantined, 0);
}

/* The schema does not make SQLite check that a recipient row has its message (queue.c):
 * recovery removes such rows and says how many. */
static void test_recover_rcpt_without_msg(void **state)
{
    fx *f = *state;
    int64_t a, b;
    assert_int_equal(qt_insert(f->q, "lone-a", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 2, 10, &a), 0);
    assert_int_equal(qt_insert(f->q, "lone-b", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 10, &b), 0);
    ox_queue_close(f->q);
    f->q = NULL;
    sql_exec(f->d.db, "DELETE FROM msg WHERE mts_id='lone-a'");
    ox_queue_recovery rec;
    assert_int_equal(qt_open(&f->d, true, false, &f->q, &rec), 0);
    assert_int_equal(rec.rcpts_removed, 2);
    ox_queue_due due[4];
    size_t n;
    assert_int_equal(ox_queue_due_for(f->q, "c", 10, due, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].msg_id, b);
    reopen(f, &rec);
    assert_int_equal(rec.rcpts_removed, 0);
}

static void test_file_failures(void **state)
{
    fx *f = *state;
    int64_t a;
    assert_int_equal(qt_insert(f->q, "ff-a", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &a), 0);
    /* the content file vanished under a running queue */
    DIR *dir = opendir(f->d.content);
    assert_non_null(dir);
    struct dirent *e;
    char p[700];
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", f->d.content, e->d_name);
            assert_int_equal(unlink(p), 0);
        }
    closedir(dir);
    ox_queue_reader rd;
    assert_int_equal(ox_queue_content_open(f->q, a, &rd), OX_E_IO);
    assert_non_null(strstr(ox_queue_errmsg(f->q), "content_open"));
    /* the content directory itself vanished */
    assert_int_equal(rmdir(f->d.content), 0);
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(f->q, &w), OX_E_IO);
    assert_non_null(strstr(ox_queue_errmsg(f->q), "content_begin"));
    ox_queue_content_discard(&w);
    /* a restart recreates the directory and quarantines the row */
    ox_queue_recovery rec;
    reopen(f, &rec);
    assert_int_equal(rec.quarantined, 1);
    assert_int_equal(qt_insert(f->q, "ff-b", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 100, &a), 0);
}

/* ---- allocation failures: fail the i-th allocation for each i ---- */

typedef struct failing {
    int left; /* allocations that succeed; then every one fails */
    int fails;
} failing;

static void *fail_realloc(void *ctx, void *p, size_t n)
{
    failing *fa = ctx;
    if (fa->left-- <= 0) {
        fa->fails++;
        return NULL;
    }
    return realloc(p, n);
}

static void fail_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static bool ok_or_nomem(int rc)
{
    return rc == 0 || rc == OX_E_NOMEM;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    bool completed = false;
    int nomem_open = 0, nomem_insert = 0, nomem_get = 0;
    for (int i = 0; i < 40 && !completed; i++) {
        qt_dir d;
        qt_dir_make(&d);
        failing fa = {.left = i};
        ox_alloc al = {.realloc = fail_realloc, .free = fail_free, .ctx = &fa};
        ox_queue_config cfg = {.path = d.db, .alloc = &al, .inline_max = 100};
        ox_queue *q;
        char err[256];
        int rc = ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err);
        assert_true(ok_or_nomem(rc));
        nomem_open += rc == OX_E_NOMEM;
        if (rc == 0) {
            int64_t id = 0;
            int r1 = qt_insert(q, "small", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 50, &id);
            int r2 = qt_insert(q, "large", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 500, &id);
            assert_true(ok_or_nomem(r1));
            assert_true(ok_or_nomem(r2));
            ox_queue_msg_info m;
            int r3 = ox_queue_get_msg(q, id, &m);
            assert_true(ok_or_nomem(r3) || (r2 != 0 && r3 == OX_E_NOTFOUND));
            completed = r1 == 0 && r2 == 0 && r3 == 0 && fa.fails == 0;
            nomem_insert += (r1 == OX_E_NOMEM) + (r2 == OX_E_NOMEM);
            nomem_get += r3 == OX_E_NOMEM;
            /* whatever failed, what is stored is whole */
            ox_queue_close(q);
            fa.left = 1000;
            assert_int_equal(ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err), 0);
            int64_t x;
            if (r2 == 0)
                assert_int_equal(ox_queue_find_mts_id(q, "large", &x), 0);
            ox_queue_close(q);
        }
        qt_dir_remove(&d);
    }
    assert_true(completed);
    assert_true(nomem_open > 0 && nomem_insert > 0 && nomem_get > 0);
}

/* ---- inline contents ---- */

static void read_check(ox_queue *q, int64_t id, const char *mts, size_t len, size_t chunk)
{
    ox_queue_reader rd;
    assert_int_equal(ox_queue_content_open(q, id, &rd), 0);
    assert_int_equal(rd.size, len);
    static uint8_t buf[4096];
    size_t n, total = 0, seed = strlen(mts) + (uint8_t)mts[0];
    do {
        assert_int_equal(ox_queue_content_read(&rd, buf, chunk, &n), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(buf[i], (uint8_t)(((total + i) % 4096) * 7 + seed));
        total += n;
    } while (n);
    assert_int_equal(total, len);
    if (len > 10) {
        assert_int_equal(ox_queue_content_seek(&rd, len - 10), 0);
        assert_int_equal(ox_queue_content_read(&rd, buf, 100, &n), 0);
        assert_int_equal(n, 10);
        assert_int_equal(buf[9], (uint8_t)(((len - 1) % 4096) * 7 + seed));
    }
    ox_queue_content_close(&rd);
}

static void test_inline_content(void **state)
{
    fx *f = *state;
    reopen_inline(f, 1000);
    int64_t a, b, c, x;
    assert_int_equal(qt_insert(f->q, "in-a", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 1000, &a), 0);
    assert_int_equal(qt_insert(f->q, "in-b", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 1001, &b), 0);
    assert_int_equal(qt_insert(f->q, "in-c", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 0, &c), 0);
    assert_int_equal(qt_count_files(&f->d, ""), 1); /* only the 1001-byte content is a file */
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(f->q, c, &m), 0);
    assert_true(m.has_content);
    assert_int_equal(m.content_size, 0);
    read_check(f->q, a, "in-a", 1000, 333);
    read_check(f->q, a, "in-a", 1000, 4096);
    read_check(f->q, b, "in-b", 1001, 333);
    read_check(f->q, c, "in-c", 0, 10);
    /* a writer spills to a file when it passes the limit in several writes */
    ox_queue_writer w;
    static uint8_t buf[600];
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of(buf, 600)), 0);
    assert_int_equal(qt_count_files(&f->d, "tmp-"), 0);
    assert_int_equal(ox_queue_content_write(&w, ox_span_of(buf, 600)), 0);
    assert_int_equal(qt_count_files(&f->d, "tmp-"), 1);
    ox_queue_content_discard(&w);
    assert_int_equal(qt_count_files(&f->d, "tmp-"), 0);
    /* dedup of an inline resend */
    assert_int_equal(qt_insert(f->q, "in-a", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 10, &x),
                     OX_QUEUE_DUPLICATE);
    assert_int_equal(x, a);
    /* batch abort drops inline rows too */
    assert_int_equal(ox_queue_batch_begin(f->q), 0);
    assert_int_equal(qt_insert(f->q, "in-d", OX_QUEUE_PRIO_NORMAL, 1, 0, "c", 1, 10, &x), 0);
    assert_int_equal(ox_queue_batch_abort(f->q), 0);
    assert_int_equal(ox_queue_find_mts_id(f->q, "in-d", &x), OX_E_NOTFOUND);
    /* reopen: nothing to recover, contents intact */
    ox_queue_recovery rec;
    ox_queue_close(f->q);
    ox_queue_config cfg = {.path = f->d.db, .recover = true, .inline_max = 1000};
    char err[256];
    assert_int_equal(ox_queue_open(&cfg, 0, &f->q, &rec, err, sizeof err), 0);
    assert_int_equal(rec.orphans_removed + rec.quarantined + rec.transfers_reset, 0);
    read_check(f->q, a, "in-a", 1000, 100);
    /* a reader whose message is purged meanwhile fails cleanly */
    ox_queue_reader rd;
    assert_int_equal(ox_queue_content_open(f->q, a, &rd), 0);
    int64_t r = qt_rcpt(f->q, a, 0);
    assert_int_equal(ox_queue_mark_in_transfer(f->q, r, 2), 0);
    assert_int_equal(ox_queue_mark_transferred(f->q, r, 2), 0);
    size_t n;
    assert_int_equal(ox_queue_purge(f->q, 3, 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ox_queue_content_read(&rd, buf, 10, &n), OX_E_IO);
    ox_queue_content_close(&rd);
    assert_int_equal(ox_queue_content_read(&rd, buf, 10, &n), OX_E_ARG);
    assert_int_equal(qt_count_files(&f->d, ""), 1);
}

/* ---- 100 MB streaming ---- */

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_stream_100mb(void **state)
{
    fx *f = *state;
    enum { CHUNK = 64 * 1024, TOTAL = 100 * 1024 * 1024 };
    static uint8_t buf[CHUNK];
    long rss0 = max_rss_kb();
    ox_queue_writer w;
    assert_int_equal(ox_queue_content_begin(f->q, &w), 0);
    uint32_t x = 12345, sum_in = 0;
    for (size_t off = 0; off < TOTAL; off += CHUNK) {
        for (size_t i = 0; i < CHUNK; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 24);
            sum_in = sum_in * 31 + buf[i];
        }
        assert_int_equal(ox_queue_content_write(&w, ox_span_of(buf, CHUNK)), 0);
    }
    ox_queue_rcpt_in r = {.address = "/C=GB/", .connector = "c"};
    ox_queue_msg_in m = {.mts_id = "huge",
                         .originator = "/C=GB/",
                         .source = "local",
                         .rcpts = &r,
                         .n_rcpts = 1,
                         .content = &w};
    int64_t id;
    assert_int_equal(ox_queue_insert(f->q, &m, 0, &id), 0);
    ox_queue_msg_info mi;
    assert_int_equal(ox_queue_get_msg(f->q, id, &mi), 0);
    assert_int_equal(mi.content_size, TOTAL);
    ox_queue_reader rd;
    assert_int_equal(ox_queue_content_open(f->q, id, &rd), 0);
    uint32_t sum_out = 0;
    size_t n, total = 0;
    do {
        assert_int_equal(ox_queue_content_read(&rd, buf, CHUNK, &n), 0);
        for (size_t i = 0; i < n; i++)
            sum_out = sum_out * 31 + buf[i];
        total += n;
    } while (n);
    ox_queue_content_close(&rd);
    assert_int_equal(total, TOTAL);
    assert_int_equal(sum_in, sum_out);
    long growth = max_rss_kb() - rss0;
    fprintf(stderr, "100 MB content: peak RSS growth %ld KB\n", growth);
    assert_true(growth < 8 * 1024); /* bounded: far below the 100 MB content */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_args),
        cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
        cmocka_unit_test(test_not_a_queue_refused),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transition_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_delivered_and_retry_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_next_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_and_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_msg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_note_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transferred_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_in_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_preserves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_rcpt_without_msg, setup, teardown),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test_setup_teardown(test_inline_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_100mb, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
