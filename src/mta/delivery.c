/* delivery.c - local delivery into the mailbox directory
 *
 * Why: a message for a local recipient is written as one file per message and recipient:
 *      <mailbox>/<recipient>/<message-id>.<index>.p1 holding the whole MTS-APDU as it arrived
 *      (envelope then content), readable with `x400mta show`. The name is a function of the
 *      message and recipient only, so a delivery repeated after a crash replaces the same
 *      file: delivered exactly once. It appears whole under its name (mailbox_file below);
 *      before the queue's commit records the deliveries of a run, or the transfers of
 *      messages delivered at arrival are confirmed, one syncfs makes all of them durable at once
 *      (ox_mta_sync_mailboxes). An fsync per file and per directory cost two synchronous
 *      inode-table writes per message (most of the receiver's time in bench/); syncfs writes
 *      each dirty block once. It also flushes whatever else is dirty on that file system,
 *      which is the price of one call per run instead of two per message. */
#define _GNU_SOURCE /* syncfs */
#include "mta_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Keeps [A-Za-z0-9.-], maps '=' to '-' and each run of anything else to one '_'; never empty
 * and never starting with '.'. */
void ox_mta_safe_name(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++) {
        char c = *in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-')
            out[n++] = c;
        else if (c == '=')
            out[n++] = '-';
        else if (n && out[n - 1] != '_')
            out[n++] = '_'; /* a run of other characters becomes one '_' */
    }
    while (n && (out[n - 1] == '_' || out[n - 1] == '.'))
        n--;
    if (n == 0 || (out[0] == '.'))
        out[0] = 'x', n = n ? n : 1;
    out[n] = '\0';
}

static int mkdir_p(const char *path)
{
    char tmp[OX_CFG_PATH_MAX * 2];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

void ox_mta_mailbox_forget_dir(ox_mta *m)
{
    if (m->known_fd >= 0)
        close(m->known_fd);
    m->known_fd = -1;
    m->known_dir[0] = '\0';
}

bool ox_mta_mailbox_dirty(const ox_mta *m)
{
    return m->mailbox_dirty;
}

int ox_mta_mailbox_sync_begin(ox_mta *m, int *fd)
{
    *fd = -1;
    if (!m->mailbox_dirty)
        return 0;
    m->mailbox_dirty = false;
    *fd = open(m->cfg->mailbox_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        ox_mta_mailbox_forget_dir(m);
        return OX_E_IO;
    }
    return 0;
}

int ox_mta_mailbox_sync_end(ox_mta *m, int fd, bool synced)
{
    close(fd);
    if (!synced)
        ox_mta_mailbox_forget_dir(m);
    return synced ? 0 : OX_E_IO;
}

int ox_mta_sync_mailboxes(ox_mta *m)
{
    uint64_t upto = ox_mta_notes_mark(m);
    int fd;
    int rc = ox_mta_mailbox_sync_begin(m, &fd);
    if (rc || fd < 0) /* nothing written since the last sync began: its end writes the notes */
        return rc;
    rc = ox_mta_mailbox_sync_end(m, fd, syncfs(fd) == 0);
    ox_mta_notes_end(m, upto, rc == 0); /* a missing row costs a resend's rewrite, no more */
    return rc;
}

/* A mailbox file being written: an unnamed file in the recipient's directory (O_TMPFILE)
 * that gets its name once it is whole, or where the file system has no unnamed files, a
 * temporary renamed to the name. Either way a reader sees the whole file or none. The
 * unnamed file saves the temporary's directory entry and the rename (ext4 created,
 * renamed and looked up each: a fifth of the receiver's time, docs/BENCH.md), and a crash
 * leaves no temporary behind. */
typedef struct mailbox_file {
    int fd;
    bool unnamed;
    char name[200]; /* in m->known_fd's directory */
    char tmp[220];
} mailbox_file;

/* Opens (once per directory in a row) the recipient's directory, making it on first use. */
static int mailbox_dir(ox_mta *m, const char *dir, char *err, size_t cap)
{
    if (m->known_fd >= 0 && strcmp(dir, m->known_dir) == 0)
        return 0;
    ox_mta_mailbox_forget_dir(m);
    int fd = mkdir_p(dir) == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd < 0) {
        snprintf(err, cap, "cannot create mailbox directory %s: %s", dir, strerror(errno));
        return OX_E_IO;
    }
    m->known_fd = fd;
    snprintf(m->known_dir, sizeof(m->known_dir), "%s", dir);
    return 0;
}

static int mailbox_open(ox_mta *m, mailbox_file *f)
{
    f->unnamed = false;
    if (!m->no_unnamed) {
        f->fd = openat(m->known_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
        if (f->fd >= 0) {
            f->unnamed = true;
            return f->fd;
        }
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            return -1;
        m->no_unnamed = true; /* the file system has none */
    }
    return f->fd = openat(m->known_fd, f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
}

/* Names the file (into path_out) and opens it. */
static int mailbox_create(ox_mta *m, mailbox_file *f, const char *mts_text, const char *rcpt_text,
                          uint32_t index, char *path_out, size_t path_cap, char *err, size_t cap)
{
    char who[160], id[160], dir[OX_CFG_PATH_MAX + 200];
    ox_mta_safe_name(rcpt_text, who, sizeof(who));
    ox_mta_safe_name(mts_text, id, sizeof(id));
    snprintf(dir, sizeof(dir), "%s/%s", m->cfg->mailbox_dir, who);
    snprintf(path_out, path_cap, "%s/%s.%u.p1", dir, id, (unsigned)index);
    snprintf(f->name, sizeof(f->name), "%s.%u.p1", id, (unsigned)index);
    snprintf(f->tmp, sizeof(f->tmp), ".tmp.%s.%u", id, (unsigned)index);
    int rc = mailbox_dir(m, dir, err, cap);
    if (rc)
        return rc;
    /* Once more if it fails: the directory may be gone behind our back (ENOENT, or EPERM
     * for an unnamed file in it). */
    if (mailbox_open(m, f) < 0) {
        ox_mta_mailbox_forget_dir(m);
        if (mailbox_dir(m, dir, err, cap) == 0)
            mailbox_open(m, f);
    }
    if (f->fd < 0) {
        snprintf(err, cap, "cannot create a file in %s: %s", dir, strerror(errno));
        ox_mta_mailbox_forget_dir(m);
        return OX_E_IO;
    }
    return 0;
}

/* Gives the unnamed file its name; a file of that name (the same message and recipient,
 * delivered before) is replaced, as a rename would. Linking a descriptor wants a privilege
 * that /proc/self/fd's link does not; which one works is remembered, so that an
 * unprivileged MTA does not try the first for every file. */
static int mailbox_link(ox_mta *m, mailbox_file *f)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    for (int tries = 0; tries < 2; tries++) {
        if (!m->link_by_proc && linkat(f->fd, "", m->known_fd, f->name, AT_EMPTY_PATH) == 0)
            return 0;
        if (m->link_by_proc || errno != EEXIST) {
            if (linkat(AT_FDCWD, proc, m->known_fd, f->name, AT_SYMLINK_FOLLOW) == 0) {
                m->link_by_proc = true;
                return 0;
            }
            if (errno != EEXIST) {
                m->no_unnamed = true; /* no privilege and no /proc: temporaries from now on */
                return -1;
            }
        }
        if (unlinkat(m->known_fd, f->name, 0) != 0)
            return -1;
    }
    return -1;
}

/* Closes the file and gives it its name (rc == 0), or removes it. */
static int mailbox_finish(ox_mta *m, mailbox_file *f, int rc, const char *path, char *err,
                          size_t cap)
{
    if (rc == 0 && f->unnamed && mailbox_link(m, f) != 0)
        rc = OX_E_IO;
    int saved = errno;
    if (close(f->fd) != 0 && rc == 0)
        rc = OX_E_IO, saved = errno;
    if (rc == 0 && !f->unnamed && renameat(m->known_fd, f->tmp, m->known_fd, f->name) != 0)
        rc = OX_E_IO, saved = errno;
    m->mailbox_dirty = true; /* durable at the next ox_mta_sync_mailboxes, before a commit */
    if (rc) {
        snprintf(err, cap, "writing %s failed: %s", path, strerror(saved));
        if (!f->unnamed)
            unlinkat(m->known_fd, f->tmp, 0);
        ox_mta_mailbox_forget_dir(m);
    }
    return rc;
}

int ox_mta_deliver_file(ox_mta *m, int64_t msg_id, const char *mts_text, const char *rcpt_text,
                        uint32_t index, char *path_out, size_t path_cap, char *err, size_t cap)
{
    mailbox_file f;
    int rc = mailbox_create(m, &f, mts_text, rcpt_text, index, path_out, path_cap, err, cap);
    if (rc)
        return rc;
    ox_buf env;
    ox_buf_init(&env, NULL, NULL, 0);
    if (ox_queue_get_envelope(m->q, msg_id, &env) != 0)
        rc = OX_E_IO;
    ox_queue_reader r;
    if (rc == 0 && ox_queue_content_open(m->q, msg_id, &r) == 0) {
        /* The envelope goes out with the first piece of content: one write for a small
         * message (system calls are most of the receiver's time, docs/BENCH.md). */
        uint8_t chunk[65536];
        size_t n;
        while (rc == 0 && ox_queue_content_read(&r, chunk, sizeof(chunk), &n) == 0 && n) {
            const uint8_t *p = chunk;
            if (env.len) {
                if (ox_buf_append(&env, chunk, n) != 0)
                    rc = OX_E_IO, errno = ENOMEM;
                p = env.p, n = env.len;
            }
            if (rc == 0 && write_all(f.fd, p, n) != 0)
                rc = OX_E_IO;
            env.len = 0;
        }
        ox_queue_content_close(&r);
    }
    if (rc == 0 && env.len && write_all(f.fd, env.p, env.len) != 0) /* no content */
        rc = OX_E_IO;
    ox_buf_free(&env);
    return mailbox_finish(m, &f, rc, path_out, err, cap);
}

int ox_mta_deliver_octets(ox_mta *m, const char *mts_text, const char *rcpt_text, uint32_t index,
                          ox_span envelope, ox_span content, char *path_out, size_t path_cap,
                          char *err, size_t cap)
{
    mailbox_file f;
    int rc = mailbox_create(m, &f, mts_text, rcpt_text, index, path_out, path_cap, err, cap);
    if (rc)
        return rc;
    struct iovec iov[2] = {{(void *)envelope.p, envelope.len}, {(void *)content.p, content.len}};
    ssize_t w;
    do
        w = writev(f.fd, iov, 2);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        rc = OX_E_IO;
    } else { /* finish what a short write left, one piece at a time */
        size_t e = (size_t)w < envelope.len ? (size_t)w : envelope.len, c = (size_t)w - e;
        if (write_all(f.fd, envelope.p + e, envelope.len - e) != 0 ||
            write_all(f.fd, content.p + c, content.len - c) != 0)
            rc = OX_E_IO;
    }
    return mailbox_finish(m, &f, rc, path_out, err, cap);
}
