/* bench_mta_queue.c - durable queue throughput: inserts per second of a 2 KB, one-recipient
 * message with group-commit batches of 1, 10 and 100 (real fsyncs), the same without any fsync
 * (the queue's CPU cost), the raw fsync cost of this disk, a 100 MB streamed content, and the
 * due query on a large queue. Prints figures; never fails on them.
 * Usage: bench_mta_queue [dir]   (default: a temporary directory under $TMPDIR or /tmp;
 *        give a directory on the disk the MTA will use) */
#include "openx400/queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char root[512], db[600];
static unsigned run_no;

static void wipe(void)
{
    char p[800];
    if (!db[0])
        return;
    snprintf(p, sizeof p, "%s.content", db);
    DIR *d = opendir(p);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char f[1200];
            snprintf(f, sizeof f, "%s/%s", p, e->d_name);
            unlink(f);
        }
        closedir(d);
        rmdir(p);
    }
    static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", db, sfx[i]);
        unlink(p);
    }
}

static ox_queue *open_fresh(bool no_sync, int32_t inline_max)
{
    wipe();
    snprintf(db, sizeof db, "%s/bench%u.db", root, run_no++);
    ox_queue_config cfg = {.path = db, .no_sync = no_sync, .inline_max = inline_max};
    ox_queue *q;
    char err[512];
    if (ox_queue_open(&cfg, 0, &q, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "open: %s\n", err);
        exit(1);
    }
    return q;
}

static int insert_one(ox_queue *q, unsigned i, const uint8_t *content, size_t len)
{
    char mts[64];
    snprintf(mts, sizeof mts, "/C=GB/A= /P=Bench/;%08u", i);
    ox_queue_writer w;
    int rc = ox_queue_content_begin(q, &w);
    if (rc == 0)
        rc = ox_queue_content_write(&w, ox_span_of(content, len));
    if (rc) {
        ox_queue_content_discard(&w);
        return rc;
    }
    static const uint8_t env[200] = {0x31};
    ox_queue_rcpt_in r = {.address = "/C=GB/A= /P=SiteB/O=Org/S=Smith/G=John/",
                          .connector = "siteb",
                          .next_attempt_ms = i};
    ox_queue_msg_in m = {.mts_id = mts,
                         .kind = OX_QUEUE_KIND_MESSAGE,
                         .priority = OX_QUEUE_PRIO_NORMAL,
                         .originator = "/C=GB/A= /P=SiteA/O=Org/S=Jones/",
                         .source = "sitea",
                         .arrival_ms = i,
                         .envelope = ox_span_of(env, sizeof env),
                         .content = &w,
                         .rcpts = &r,
                         .n_rcpts = 1};
    int64_t id;
    return ox_queue_insert(q, &m, i, &id);
}

/* Inserts messages in batches of |batch| for about |seconds| (at least one batch);
 * returns messages per second. */
static double run_inserts(bool no_sync, int32_t inline_max, unsigned batch, double seconds,
                          unsigned max_msgs)
{
    static uint8_t content[2048];
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (uint8_t)(i * 31);
    ox_queue *q = open_fresh(no_sync, inline_max);
    unsigned n = 0;
    double t0 = now_s(), t;
    do {
        if (batch > 1 && ox_queue_batch_begin(q) != 0)
            exit(1);
        for (unsigned i = 0; i < batch; i++)
            if (insert_one(q, n++, content, sizeof content) != 0) {
                fprintf(stderr, "insert: %s\n", ox_queue_errmsg(q));
                exit(1);
            }
        if (batch > 1 && ox_queue_batch_commit(q) != 0) {
            fprintf(stderr, "commit: %s\n", ox_queue_errmsg(q));
            exit(1);
        }
        t = now_s() - t0;
    } while (t < seconds && n < max_msgs);
    ox_queue_close(q);
    return n / t;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median time of write(2 KB) + fdatasync on a file in |root|. */
static double raw_fsync_ms(void)
{
    char p[700];
    snprintf(p, sizeof p, "%s/fsync-probe", root);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    static const uint8_t buf[2048];
    double t[64];
    for (int i = 0; i < 64; i++) {
        double t0 = now_s();
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fdatasync(fd) != 0)
            return -1;
        t[i] = (now_s() - t0) * 1000;
    }
    close(fd);
    unlink(p);
    qsort(t, 64, sizeof t[0], cmp_dbl);
    return t[32];
}

static void run_stream(void)
{
    enum { CHUNK = 64 * 1024, TOTAL = 100 * 1024 * 1024 };
    static uint8_t buf[CHUNK];
    ox_queue *q = open_fresh(false, 0);
    ox_queue_writer w;
    double t0 = now_s();
    if (ox_queue_content_begin(q, &w) != 0)
        exit(1);
    for (size_t off = 0; off < TOTAL; off += CHUNK)
        if (ox_queue_content_write(&w, ox_span_of(buf, CHUNK)) != 0)
            exit(1);
    ox_queue_rcpt_in r = {.address = "/C=GB/", .connector = "c"};
    ox_queue_msg_in m = {.mts_id = "big",
                         .originator = "/C=GB/",
                         .source = "local",
                         .rcpts = &r,
                         .n_rcpts = 1,
                         .content = &w};
    int64_t id;
    if (ox_queue_insert(q, &m, 0, &id) != 0)
        exit(1);
    double tw = now_s() - t0;
    ox_queue_reader rd;
    t0 = now_s();
    size_t n, total = 0;
    if (ox_queue_content_open(q, id, &rd) != 0)
        exit(1);
    do {
        if (ox_queue_content_read(&rd, buf, CHUNK, &n) != 0)
            exit(1);
        total += n;
    } while (n);
    ox_queue_content_close(&rd);
    double tr = now_s() - t0;
    printf("100 MB content, 64 KB chunks: write+fsync+commit %.0f MB/s, read %.0f MB/s "
           "(page cache)\n",
           100 / tw, (double)total / (1 << 20) / tr);
    ox_queue_close(q);
}

/* A fresh queue holding |n| messages of 2 KB for connector "siteb", in one batch. */
static ox_queue *open_filled(bool no_sync, unsigned n)
{
    static uint8_t content[2048];
    ox_queue *q = open_fresh(no_sync, 0);
    ox_queue_batch_begin(q);
    for (unsigned i = 0; i < n; i++)
        if (insert_one(q, i, content, sizeof content) != 0)
            exit(1);
    ox_queue_batch_commit(q);
    return q;
}

static void run_due(void)
{
    enum { N = 20000 };
    ox_queue *q = open_filled(true, N);
    ox_queue_due due[50];
    size_t n;
    double t0 = now_s();
    for (int i = 0; i < 1000; i++)
        if (ox_queue_due_for(q, "siteb", N, due, 50, &n) != 0 || n != 50)
            exit(1);
    double tq = (now_s() - t0) / 1000 * 1e6;
    uint64_t when;
    t0 = now_s();
    for (int i = 0; i < 1000; i++)
        if (ox_queue_next_due(q, &when) != 0)
            exit(1);
    double tn = (now_s() - t0) / 1000 * 1e6;
    printf("queue of %d messages: due_for(50) %.0f us, next_due %.0f us\n", N, tq, tn);
    ox_queue_close(q);
}

/* The sender's queue work for each message, as the daemon does it (associations.c tx_start,
 * daemon.c mark_transferred): pick the due message, read its row, envelope and content, mark
 * it in transfer; the confirms of a loop turn (64 here) marked together; a hold committed with
 * its fsync every 512 messages. Prints microseconds a message for each part. */
static void run_transfer_cycle(void)
{
    enum { N = 20000, TURN = 64, HOLD = 512 };
    static uint8_t back[2048];
    ox_queue *q = open_filled(false, N);
    static int64_t rcpt[N], msg[N];
    double t_tx = 0, t_done = 0, t_commit = 0, t0;
    unsigned sent = 0, marked = 0;
    if (ox_queue_hold_begin(q) != 0)
        exit(1);
    while (marked < N) {
        t0 = now_s();
        for (unsigned k = 0; k < TURN && sent < N; k++, sent++) {
            ox_queue_due due[8];
            size_t n;
            ox_queue_msg_info mi;
            ox_buf env;
            ox_buf_init(&env, NULL, NULL, 0);
            ox_queue_reader rd;
            size_t got;
            if (ox_queue_due_message(q, "siteb", N, due, 8, &n) != 0 || n != 1 ||
                ox_queue_get_msg(q, due[0].msg_id, &mi) != 0 ||
                ox_queue_get_envelope(q, due[0].msg_id, &env) != 0 ||
                ox_queue_mark_in_transfer(q, due[0].rcpt_id, N) != 0 ||
                ox_queue_content_open(q, due[0].msg_id, &rd) != 0 ||
                ox_queue_content_read(&rd, back, sizeof back, &got) != 0 || got != sizeof back) {
                fprintf(stderr, "transfer %u: %s\n", sent, ox_queue_errmsg(q));
                exit(1);
            }
            ox_queue_content_close(&rd);
            ox_buf_free(&env);
            rcpt[sent] = due[0].rcpt_id;
            msg[sent] = due[0].msg_id;
        }
        t_tx += now_s() - t0;
        t0 = now_s();
        ox_queue_transfer items[TURN];
        size_t k = 0;
        for (; marked < sent; marked++, k++)
            items[k] =
                (ox_queue_transfer){.msg_id = msg[marked], .rcpt_ids = &rcpt[marked], .n = 1};
        if (ox_queue_transferred_many(q, items, k, N, 202) != 0)
            exit(1);
        t_done += now_s() - t0;
        if (marked % HOLD == 0 || marked == N) {
            t0 = now_s();
            if (ox_queue_hold_commit(q) != 0 || (marked < N && ox_queue_hold_begin(q) != 0))
                exit(1);
            t_commit += now_s() - t0;
        }
    }
    printf("sender's queue work, %d messages (turns of %d, a commit every %d): pick+read+mark "
           "%.1f us, confirmed %.1f us, commit %.1f us a message\n",
           N, TURN, HOLD, t_tx / N * 1e6, t_done / N * 1e6, t_commit / N * 1e6);
    ox_queue_close(q);
}

/* The receiver's queue work for a message delivered at arrival (mta.c): its MTS identifier
 * looked up and recorded with one history line, inside the loop's hold, committed every 512. */
static void run_note_delivered(void)
{
    enum { N = 20000, HOLD = 512 };
    ox_queue *q = open_fresh(false, 0);
    double t_note = 0, t_commit = 0, t0;
    if (ox_queue_hold_begin(q) != 0)
        exit(1);
    for (unsigned i = 0; i < N; i++) {
        char mts[64], text[160];
        snprintf(mts, sizeof mts, "C=GB;A= ;P=SiteA;L=%u.1234abcd", 1700000000u + i);
        snprintf(text, sizeof text,
                 "received from sitea: 1 recipient(s), 2048 content bytes, delivered at arrival; "
                 "rcpt 0 /C=GB/A= /P=SiteB/S=Smith/: delivered in mailbox/%u",
                 i);
        ox_queue_line line = {203, text};
        t0 = now_s();
        if (ox_queue_note_delivered(q, mts, i, &line, 1) != 0) {
            fprintf(stderr, "note %u: %s\n", i, ox_queue_errmsg(q));
            exit(1);
        }
        t_note += now_s() - t0;
        if ((i + 1) % HOLD == 0 || i + 1 == N) {
            t0 = now_s();
            if (ox_queue_hold_commit(q) != 0 || (i + 1 < N && ox_queue_hold_begin(q) != 0))
                exit(1);
            t_commit += now_s() - t0;
        }
    }
    printf("receiver's queue work, %d messages delivered at arrival (a commit every %d): noted "
           "%.1f us, commit %.1f us a message\n",
           N, HOLD, t_note / N * 1e6, t_commit / N * 1e6);
    ox_queue_close(q);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        snprintf(root, sizeof root, "%s", argv[1]);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/oxq-bench-XXXXXX", tmp ? tmp : "/tmp");
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            return 1;
        }
    }
    if (getenv("OX_BENCH_ONLY_CYCLE")) { /* for comparing builds of the two daemons' paths */
        run_transfer_cycle();
        run_note_delivered();
        return 0;
    }
    printf("queue benchmark in %s (2 KB content, 1 recipient, WAL, synchronous=FULL)\n", root);
    double fs = raw_fsync_ms();
    printf("raw write(2 KB)+fdatasync on this disk: %.3f ms median\n", fs);
    static const unsigned batches[] = {1, 10, 100};
    static const struct {
        int32_t inline_max;
        const char *name;
    } modes[] = {{0, "content in the row (default, <= 64 KiB)"},
                 {-1, "content in a file (as every content > 64 KiB)"}};
    for (size_t m = 0; m < 2; m++) {
        printf("-- %s\n", modes[m].name);
        double r1 = 0;
        for (size_t i = 0; i < 3; i++) {
            double r = run_inserts(false, modes[m].inline_max, batches[i], 3.0, 200000);
            if (i == 0)
                r1 = r;
            printf("batch %3u: %8.0f inserts/s  (%.3f ms per message)\n", batches[i], r, 1000 / r);
        }
        double rc = run_inserts(true, modes[m].inline_max, 100, 3.0, 200000);
        printf("no fsync (CPU and file-system cost only), batch 100: %8.0f inserts/s "
               "(%.3f ms per message)\n",
               rc, 1000 / rc);
        printf("fsync cost per message at batch 1: %.3f ms (= %.1f raw fsyncs)\n",
               1000 / r1 - 1000 / rc, fs > 0 ? (1000 / r1 - 1000 / rc) / fs : 0);
    }
    run_stream();
    run_due();
    run_transfer_cycle();
    run_note_delivered();
    wipe();
    if (argc <= 1)
        rmdir(root);
    return 0;
}
