/* test_mta_queue_crash.c - kill -9 test of the durable queue
 *
 * A child process opens the queue (with recovery, as the daemon does at start), inserts
 * messages in group-commit batches, moves some recipients to in-transfer and transferred,
 * purges finished messages, and after each batch commit writes "A <mts-id>" to a pipe for
 * every message of the batch (the acknowledgement). The parent kills it with SIGKILL at a
 * random moment, reads every acknowledgement that reached the pipe, reopens the queue with
 * recovery and checks: every acknowledged MTS id is known exactly once (present, or purged and
 * remembered) and a resend of it is refused as a duplicate; every present message is whole
 * (all recipient rows, content file of the right size and bytes); no message is quarantined;
 * no content file is left without a row; nothing is in-transfer after recovery. Repeated for
 * several rounds on the same database. The seed is printed (OX_QUEUE_SEED to rerun).
 * Note: SIGKILL tests process crashes (the page cache survives); power loss is covered by the
 * ordering rules (fsync before rename, directory fsync before COMMIT), not by this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_mta_queue_util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define ROUNDS     10
#define INLINE_MAX 4096 /* contents are 0..8191 bytes: both storage paths are exercised */
#define MAX_ACKED  200000

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static size_t content_len(const char *mts)
{
    return hash(mts) % 8192;
}

static uint8_t content_byte(uint32_t h, size_t i)
{
    return (uint8_t)((h >> (i % 24)) + i * 13);
}

static int insert_msg(ox_queue *q, const char *mts, uint64_t now, int64_t *id)
{
    uint32_t h = hash(mts);
    size_t len = content_len(mts), n_rcpts = 1 + h % 3;
    ox_queue_writer w;
    int rc = ox_queue_content_begin(q, &w);
    if (rc)
        return rc;
    uint8_t buf[1024];
    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = content_byte(h, off + i);
        if ((rc = ox_queue_content_write(&w, ox_span_of(buf, n))) != 0) {
            ox_queue_content_discard(&w);
            return rc;
        }
        off += n;
    }
    ox_queue_rcpt_in r[3];
    for (size_t i = 0; i < n_rcpts; i++)
        r[i] = (ox_queue_rcpt_in){
            .address = "/C=GB/A= /P=X/S=R/", .connector = "c", .next_attempt_ms = now};
    ox_queue_msg_in m = {.mts_id = mts,
                         .originator = "/C=GB/A= /P=X/S=O/",
                         .source = "peer",
                         .arrival_ms = now,
                         .envelope = ox_span_of(mts, strlen(mts)),
                         .content = &w,
                         .rcpts = r,
                         .n_rcpts = n_rcpts};
    return ox_queue_insert(q, &m, now, id);
}

static void child_fail(int fd, const char *what, ox_queue *q)
{
    char line[700];
    int n = snprintf(line, sizeof line, "E %s: %s\n", what, q ? ox_queue_errmsg(q) : "");
    (void)!write(fd, line, (size_t)n);
    _exit(3);
}

static void child(const char *db, int fd, int round, uint64_t seed)
{
    rng = seed;
    ox_queue *q;
    ox_queue_config cfg = {.path = db, .recover = true, .inline_max = INLINE_MAX};
    char err[512];
    if (ox_queue_open(&cfg, (uint64_t)round * 1000000, &q, NULL, err, sizeof err) != 0) {
        (void)!write(fd, "E open\n", 7);
        _exit(2);
    }
    uint64_t now = (uint64_t)round * 1000000 + 1;
    for (unsigned seq = 0;; now++) {
        if (ox_queue_batch_begin(q) != 0)
            child_fail(fd, "begin", q);
        char names[16][32];
        unsigned k = 1 + (unsigned)(rnd() % 16);
        for (unsigned i = 0; i < k; i++) {
            snprintf(names[i], sizeof names[i], "r%d-%u", round, seq++);
            int64_t id;
            if (insert_msg(q, names[i], now, &id) != 0)
                child_fail(fd, "insert", q);
        }
        /* some progress: transfers started, some finished, finished ones purged */
        ox_queue_due due[8];
        size_t n;
        if (ox_queue_due_for(q, "c", now, due, 1 + rnd() % 8, &n) != 0)
            child_fail(fd, "due", q);
        for (size_t i = 0; i < n; i++) {
            if (ox_queue_mark_in_transfer(q, due[i].rcpt_id, now) != 0)
                child_fail(fd, "in-transfer", q);
            if (rnd() % 2 && ox_queue_mark_transferred(q, due[i].rcpt_id, now) != 0)
                child_fail(fd, "transferred", q);
        }
        if (rnd() % 8 == 0 && ox_queue_purge(q, now, 0, NULL) != 0)
            child_fail(fd, "purge", q);
        if (ox_queue_batch_commit(q) != 0)
            child_fail(fd, "commit", q);
        /* acknowledged: durable now */
        for (unsigned i = 0; i < k; i++) {
            char line[48];
            int len = snprintf(line, sizeof line, "A %s\n", names[i]);
            if (write(fd, line, (size_t)len) != len)
                _exit(4);
        }
    }
}

typedef struct check {
    ox_queue *q;
    size_t msgs, with_content;
} check;

static int check_msg(void *ctx, const ox_queue_msg_info *m)
{
    check *c = ctx;
    c->msgs++;
    c->with_content += m->content_size > INLINE_MAX;
    return m->id > 0 ? 0 : 1;
}

static void check_whole(ox_queue *q, int64_t id)
{
    ox_queue_msg_info m;
    assert_int_equal(ox_queue_get_msg(q, id, &m), 0);
    char mts[64];
    snprintf(mts, sizeof mts, "%s", m.mts_id);
    uint32_t h = hash(mts);
    assert_int_equal(m.n_rcpts, 1 + h % 3);
    assert_true(m.has_content);
    assert_int_equal(m.content_size, content_len(mts));
    /* every recipient row is there, none in transfer after recovery */
    ox_queue_rcpt_info r;
    for (uint32_t i = 0; i < m.n_rcpts; i++) {
        int64_t rid = qt_rcpt(q, id, i);
        assert_true(rid > 0);
        assert_int_equal(ox_queue_get_rcpt(q, rid, &r), 0);
        assert_int_not_equal(r.state, OX_QUEUE_IN_TRANSFER);
    }
    assert_int_equal(qt_rcpt(q, id, m.n_rcpts), -1);
    ox_buf env;
    ox_buf_init(&env, NULL, NULL, 0);
    assert_int_equal(ox_queue_get_envelope(q, id, &env), 0);
    assert_int_equal(env.len, strlen(mts));
    assert_memory_equal(env.p, mts, env.len);
    ox_buf_free(&env);
    ox_queue_reader rd;
    assert_int_equal(ox_queue_content_open(q, id, &rd), 0);
    uint8_t buf[4096];
    size_t n, off = 0;
    do {
        assert_int_equal(ox_queue_content_read(&rd, buf, sizeof buf, &n), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(buf[i], content_byte(h, off + i));
        off += n;
    } while (n);
    assert_int_equal(off, content_len(mts));
    ox_queue_content_close(&rd);
}

static int whole_cb(void *ctx, const ox_queue_msg_info *m)
{
    int64_t *ids = ctx;
    ids[++ids[0]] = m->id;
    return 0;
}

static char acked[MAX_ACKED][24];
static size_t n_acked;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads acknowledgement lines; returns false at EOF. */
static bool read_acks(int fd, char *pend, size_t *plen)
{
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
        return true;
    if (got <= 0)
        return false;
    for (ssize_t i = 0; i < got; i++) {
        if (buf[i] != '\n') {
            assert_true(*plen < 700);
            pend[(*plen)++] = buf[i];
            continue;
        }
        pend[*plen] = '\0';
        if (pend[0] == 'E')
            fail_msg("child failed: %s", pend);
        assert_true(pend[0] == 'A' && pend[1] == ' ');
        assert_true(n_acked < MAX_ACKED);
        snprintf(acked[n_acked++], sizeof acked[0], "%s", pend + 2);
        *plen = 0;
    }
    return true;
}

static void test_crash(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    const char *env = getenv("OX_QUEUE_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    fprintf(stderr, "queue crash: seed %llu (OX_QUEUE_SEED=%llu to rerun)\n",
            (unsigned long long)seed, (unsigned long long)seed);
    rng = seed ? seed : 1;
    qt_inline_max = INLINE_MAX;
    qt_dir d;
    qt_dir_make(&d);
    size_t orphans = 0, resets = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        uint64_t child_seed = rnd();
        double kill_after = 0.2 + (double)(rnd() % 1800) / 1000.0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(d.db, p[1], round, child_seed);
        }
        close(p[1]);
        size_t before = n_acked;
        char pend[704];
        size_t plen = 0;
        double t0 = mono();
        bool open_pipe = true;
        while (open_pipe && mono() - t0 < kill_after) {
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            if (poll(&pf, 1, 20) > 0)
                open_pipe = read_acks(p[0], pend, &plen);
        }
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        while (open_pipe && read_acks(p[0], pend, &plen))
            ;
        close(p[0]);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

        /* the restart */
        ox_queue *q;
        ox_queue_recovery rec;
        assert_int_equal(qt_open(&d, true, false, &q, &rec), 0);
        assert_int_equal(rec.quarantined, 0);
        orphans += rec.orphans_removed;
        resets += rec.transfers_reset;
        uint64_t nq;
        assert_int_equal(ox_queue_quarantine_count(q, &nq), 0);
        assert_int_equal(nq, 0);
        /* every acknowledged message is known, once, and a resend is a duplicate */
        for (size_t i = 0; i < n_acked; i++) {
            int64_t id, id2;
            assert_int_equal(ox_queue_find_mts_id(q, acked[i], &id), 0);
            if (i + 20 < n_acked && rnd() % 32 != 0)
                continue; /* a real resend for the latest and a sample of the rest */
            assert_int_equal(insert_msg(q, acked[i], 1, &id2), OX_QUEUE_DUPLICATE);
            assert_int_equal(id2, id);
        }
        /* every present message is whole; every content file has its row */
        static int64_t ids[MAX_ACKED + 1];
        ids[0] = 0;
        assert_int_equal(ox_queue_foreach_msg(q, whole_cb, ids), 0);
        for (int64_t i = 1; i <= ids[0]; i++)
            check_whole(q, ids[i]);
        check c = {.q = q};
        assert_int_equal(ox_queue_foreach_msg(q, check_msg, &c), 0);
        assert_int_equal((size_t)qt_count_files(&d, ""), c.with_content);
        fprintf(stderr,
                "round %d: killed after %.2f s, %zu acknowledged (total %zu), %zu present, "
                "%u orphan files removed, %u transfers reset\n",
                round, kill_after, n_acked - before, n_acked, c.msgs, rec.orphans_removed,
                rec.transfers_reset);
        ox_queue_close(q);
    }
    fprintf(stderr, "queue crash: %zu acknowledged, %zu orphans, %zu transfers reset\n", n_acked,
            orphans, resets);
    assert_true(n_acked > 0);
    qt_dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_crash)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
