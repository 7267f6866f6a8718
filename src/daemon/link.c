/* link.c - running a connector's link-up / link-down command as a child process
 *
 * Why: an on-demand link (the Dynamic RAS connector of old) is whatever the operator's command
 *      does: a PPP dialler, a VPN, `ip link set`. We run it with /bin/sh -c, bounded by the
 *      link timeout (the whole process group is killed when it runs over), and keep the first
 *      KB of its stderr for the event (seed 002: its failure is a link error with its code,
 *      and the Open Interval applies before the next try). */
#include "conn.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define STDERR_KEEP 1024

typedef struct link_run {
    uv_process_t proc;
    uv_pipe_t err_pipe;
    uv_timer_t timer;
    ox_link_cb cb;
    void *ctx;
    char err[STDERR_KEEP + 1];
    char sink[512]; /* stderr past the first KB is read and dropped */
    size_t err_len;
    int64_t status;
    int term_signal;
    bool exited, timed_out, pipe_done;
    int open_handles;
} link_run;

static void run_free(uv_handle_t *h)
{
    link_run *r = h->data;
    if (--r->open_handles == 0)
        free(r);
}

static void maybe_finish(link_run *r)
{
    if (!r->exited || !r->pipe_done)
        return;
    r->err[r->err_len] = '\0';
    /* Trailing newlines make poor event text. */
    while (r->err_len && (r->err[r->err_len - 1] == '\n' || r->err[r->err_len - 1] == '\r'))
        r->err[--r->err_len] = '\0';
    int status = r->term_signal ? 128 + r->term_signal : (int)r->status;
    r->cb(r->ctx, status, r->err, r->timed_out);
    uv_close((uv_handle_t *)&r->proc, run_free);
    uv_close((uv_handle_t *)&r->err_pipe, run_free);
    uv_close((uv_handle_t *)&r->timer, run_free);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
    link_run *r = p->data;
    r->exited = true;
    r->status = status;
    r->term_signal = term_signal;
    uv_timer_stop(&r->timer);
    maybe_finish(r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    link_run *r = h->data;
    if (r->err_len < STDERR_KEEP) {
        buf->base = r->err + r->err_len;
        buf->len = STDERR_KEEP - r->err_len;
    } else { /* keep draining so the child never blocks on a full pipe */
        buf->base = r->sink;
        buf->len = sizeof(r->sink);
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    link_run *r = s->data;
    if (n > 0 && buf->base == r->err + r->err_len)
        r->err_len += (size_t)n;
    if (n < 0) {
        uv_read_stop(s);
        r->pipe_done = true;
        maybe_finish(r);
    }
}

static void on_timeout(uv_timer_t *t)
{
    link_run *r = t->data;
    r->timed_out = true;
    /* The command may have started children (pppd, ssh): kill its whole process group. */
    uv_kill(-r->proc.pid, SIGKILL);
}

int ox_link_run(ox_daemon *d, const char *command, uint32_t timeout_s, ox_link_cb cb, void *ctx)
{
    link_run *r = calloc(1, sizeof(*r));
    if (!r)
        return OX_E_NOMEM;
    r->cb = cb;
    r->ctx = ctx;
    uv_pipe_init(d->loop, &r->err_pipe, 0);
    uv_timer_init(d->loop, &r->timer);
    r->proc.data = r->err_pipe.data = r->timer.data = r;
    char *args[] = {"/bin/sh", "-c", (char *)command, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->err_pipe},
    };
    uv_process_options_t opt = {
        .file = "/bin/sh",
        .args = args,
        .exit_cb = on_exit_cb,
        .stdio_count = 3,
        .stdio = stdio,
        .flags = UV_PROCESS_DETACHED, /* its own process group, so the timeout kills it all */
    };
    int rc = uv_spawn(d->loop, &r->proc, &opt);
    if (rc) {
        r->open_handles = 2;
        uv_close((uv_handle_t *)&r->err_pipe, run_free);
        uv_close((uv_handle_t *)&r->timer, run_free);
        return OX_E_IO;
    }
    r->open_handles = 3;
    uv_read_start((uv_stream_t *)&r->err_pipe, on_alloc, on_read);
    uv_timer_start(&r->timer, on_timeout, (uint64_t)timeout_s * 1000, 0);
    return 0;
}
