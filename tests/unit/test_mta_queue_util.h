/* test_mta_queue_util.h - helpers shared by the queue's unit, model and crash tests: a temp
 * directory per test, a queue opened in it, one-call message inserts and file counting. */
#ifndef TEST_MTA_QUEUE_UTIL_H
#define TEST_MTA_QUEUE_UTIL_H

#include "openx400/queue.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct qt_dir {
    char root[256];
    char db[300];
    char content[320];
} qt_dir;

static inline void qt_dir_make(qt_dir *d)
{
    snprintf(d->root, sizeof d->root, "/tmp/oxq-XXXXXX");
    if (!mkdtemp(d->root)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(d->db, sizeof d->db, "%s/queue.db", d->root);
    snprintf(d->content, sizeof d->content, "%s.content", d->db);
}

/* Files in the content directory whose name starts with |prefix| ("" = all). */
static inline int qt_count_files(const qt_dir *d, const char *prefix)
{
    DIR *dir = opendir(d->content);
    if (!dir)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.' && strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(dir);
    return n;
}

static inline void qt_dir_remove(const qt_dir *d)
{
    DIR *dir = opendir(d->content);
    if (dir) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", d->content, e->d_name);
            unlink(p);
        }
        closedir(dir);
        rmdir(d->content);
    }
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal", ".lock"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s%s", d->db, sfx[i]);
        unlink(p);
    }
    rmdir(d->root);
}

/* cfg.inline_max for qt_open: by default every content is a file, so tests see the files. */
static int32_t qt_inline_max = -1;

static inline int qt_open(const qt_dir *d, bool recover, bool no_sync, ox_queue **q,
                          ox_queue_recovery *rec)
{
    ox_queue_config cfg = {
        .path = d->db, .recover = recover, .no_sync = no_sync, .inline_max = qt_inline_max};
    char err[512];
    int rc = ox_queue_open(&cfg, 1000, q, rec, err, sizeof err);
    if (rc)
        fprintf(stderr, "open: %s\n", err);
    return rc;
}

/* Inserts a message with |n_rcpts| recipients routed to |conn| (NULL = unrouted), content of
 * |content_len| bytes (pattern from the MTS id; (size_t)-1 = no content). */
static inline int qt_insert(ox_queue *q, const char *mts_id, ox_queue_priority prio,
                            uint64_t arrival, uint64_t expiry, const char *conn, size_t n_rcpts,
                            size_t content_len, int64_t *id)
{
    ox_queue_rcpt_in r[8];
    char addr[8][64];
    if (n_rcpts > 8)
        return OX_E_ARG;
    for (size_t i = 0; i < n_rcpts; i++) {
        snprintf(addr[i], sizeof addr[i], "/C=GB/A= /P=Site/S=User%zu/", i);
        r[i] = (ox_queue_rcpt_in){.address = addr[i],
                                  .connector = conn,
                                  .next_attempt_ms = arrival,
                                  .report_flags = (uint32_t)i};
    }
    ox_queue_writer w, *wp = NULL;
    if (content_len != (size_t)-1) {
        int rc = ox_queue_content_begin(q, &w);
        if (rc)
            return rc;
        uint8_t buf[4096];
        size_t seed = strlen(mts_id) + (uint8_t)mts_id[0];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)(i * 7 + seed);
        for (size_t off = 0; off < content_len;) {
            size_t n = content_len - off < sizeof buf ? content_len - off : sizeof buf;
            if ((rc = ox_queue_content_write(&w, ox_span_of(buf, n))) != 0) {
                ox_queue_content_discard(&w);
                return rc;
            }
            off += n;
        }
        wp = &w;
    }
    static const uint8_t env[] = {0x31, 0x03, 0x02, 0x01, 0x05};
    ox_queue_msg_in m = {.mts_id = mts_id,
                         .kind = OX_QUEUE_KIND_MESSAGE,
                         .priority = prio,
                         .originator = "/C=GB/A= /P=Site/S=Sender/",
                         .source = "peer-mta",
                         .arrival_ms = arrival,
                         .expiry_ms = expiry,
                         .envelope = ox_span_of(env, sizeof env),
                         .content = wp,
                         .rcpts = r,
                         .n_rcpts = n_rcpts};
    return ox_queue_insert(q, &m, arrival, id);
}

/* The id of recipient |index| of message |msg_id| (-1 if none). */
typedef struct qt_find {
    uint32_t index;
    int64_t id;
} qt_find;

static inline int qt_find_cb(void *ctx, const ox_queue_rcpt_info *r)
{
    qt_find *f = ctx;
    if (r->index == f->index) {
        f->id = r->id;
        return 1;
    }
    return 0;
}

static inline int64_t qt_rcpt(ox_queue *q, int64_t msg_id, uint32_t index)
{
    qt_find f = {index, -1};
    ox_queue_foreach_rcpt(q, msg_id, qt_find_cb, &f);
    return f.id;
}

#endif
