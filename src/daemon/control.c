/* control.c - the Unix control socket the CLI talks to
 *
 * Protocol: the client sends one request line ("ping", "reload", "stop", ...) and reads the
 *      reply until the daemon closes the connection. The first reply line starts with "ok" or
 *      "error:". Requests are bounded (4 KB) and a client that sends nothing is dropped after
 *      10 s, so a stuck CLI cannot hold the daemon. */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_MAX       4096
#define CLIENT_TIMEOUT_MS 10000
/* A submission is read whole before it is stored. Large contents belong on an association,
 * which streams; 64 MB keeps a mistaken submit from exhausting memory. */
#define SUBMIT_MAX ((size_t)64 << 20)

typedef struct control_client {
    uv_pipe_t pipe;
    uv_timer_t timer;
    ox_daemon *d;
    char req[REQUEST_MAX];
    size_t len;
    ox_buf payload;      /* submit: the MTS-APDU */
    size_t payload_want; /* bytes announced by "submit N" */
    bool in_payload;
    bool done;
    ox_probe *probe;    /* test-peer in progress for this client */
    bool probe_pending; /* the probe has not reported yet */
    char answer[1024];  /* submit: the reply, sent once the store is committed */
    int open_handles;
} control_client;

typedef struct control_write {
    uv_write_t w;
    char *text;
} control_write;

static void client_free(uv_handle_t *h)
{
    control_client *c = h->data;
    if (--c->open_handles == 0) {
        ox_buf_free(&c->payload);
        free(c);
    }
}

static void client_close(control_client *c)
{
    if (c->done)
        return;
    c->done = true;
    if (c->probe_pending)
        ox_probe_detach(c->probe);
    c->probe = NULL;
    c->probe_pending = false;
    uv_close((uv_handle_t *)&c->timer, client_free);
    uv_close((uv_handle_t *)&c->pipe, client_free);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    control_write *cw = (control_write *)w;
    control_client *c = w->data;
    free(cw->text);
    free(cw);
    client_close(c);
}

static void reply(control_client *c, const char *text)
{
    control_write *cw = malloc(sizeof(*cw));
    char *copy = strdup(text);
    if (!cw || !copy) {
        free(cw);
        free(copy);
        client_close(c);
        return;
    }
    cw->text = copy;
    cw->w.data = c;
    uv_buf_t b = uv_buf_init(copy, (unsigned)strlen(copy));
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (uv_write(&cw->w, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
        free(copy);
        free(cw);
        client_close(c);
    }
}

static void on_timeout(uv_timer_t *t);

/* The turn's commit made the submission durable (or failed): now the answer. */
static void submit_committed(void *ctx, bool ok)
{
    control_client *c = ctx;
    if (!c->done)
        reply(c, ok ? c->answer
                    : "error: submission not stored: the queue commit failed (the event log "
                      "says why); submit it again\n");
    if (ok)
        ox_daemon_kick(c->d);
    client_free((uv_handle_t *)&c->pipe); /* the reference submit() took */
}

static void submit(control_client *c)
{
    ox_daemon *d = c->d;
    char id[300], err[600];
    /* The store joins the turn's hold, so submissions arriving together share one fsync;
     * the answer waits for that commit. */
    ox_daemon_hold(d);
    int rc = ox_mta_store(&d->mta, ox_buf_span(&c->payload), "local", ox_daemon_wall_ms(), id,
                          sizeof(id), err, sizeof(err));
    if (rc == 0)
        snprintf(c->answer, sizeof(c->answer), "ok %s\n", id);
    else if (rc == OX_QUEUE_DUPLICATE)
        snprintf(c->answer, sizeof(c->answer), "ok %s (already queued)\n", id);
    else
        snprintf(c->answer, sizeof(c->answer), "error: submission refused: %s\n", err);
    if ((rc == 0 || rc == OX_QUEUE_DUPLICATE) && ox_daemon_after_commit(d, submit_committed, c)) {
        c->open_handles++; /* kept until submit_committed */
        uv_timer_stop(&c->timer);
        /* The CLI may close its side after sending: its end of file must not close us
         * before the answer is written. */
        uv_read_stop((uv_stream_t *)&c->pipe);
        return;
    }
    reply(c, c->answer);
    if (rc == 0)
        ox_daemon_kick(d);
}

static void on_probe_done(void *ctx, bool ok, const char *text)
{
    control_client *c = ctx;
    c->probe = NULL;
    c->probe_pending = false;
    size_t n = strlen(text) + 64;
    char *out = malloc(n);
    if (!out) {
        client_close(c);
        return;
    }
    snprintf(out, n, "%s\n%s", ok ? "ok" : "error: test-peer failed", text);
    reply(c, out);
    free(out);
}

/* test-peer answers when the association has been tried: its time is bounded by the
 * connect, bind and link timeouts, not by the client timeout. */
static void test_peer(control_client *c, const char *name)
{
    char err[600];
    uv_timer_stop(&c->timer);
    c->probe_pending = true;
    ox_probe *p = NULL;
    if (ox_probe_start(c->d, name, on_probe_done, c, err, sizeof(err), &p) != 0) {
        c->probe_pending = false;
        char out[700];
        snprintf(out, sizeof(out), "error: %s\n", err);
        reply(c, out);
        return;
    }
    if (c->probe_pending)
        c->probe = p;
}

static void retry_now(control_client *c, const char *name, char *out, size_t cap)
{
    ox_daemon *d = c->d;
    int i = ox_daemon_connector_index(d->cfg, name);
    if (i >= 0) {
        size_t n = 0;
        uint64_t now = ox_daemon_wall_ms();
        if (ox_queue_retry_now(d->mta.q, name, now, &n) != 0) {
            snprintf(out, cap, "error: %s\n", ox_queue_errmsg(d->mta.q));
            return;
        }
        d->cstate[i].next_open_ms = 0;
        d->cstate[i].why_waiting[0] = '\0';
        ox_event_ctx x = {.connector = name, .peer = d->cfg->connectors[i].peer_mta};
        ox_event_emit(&d->log, now, OX_EV_TRANSFER_RETRY, &x,
                      "operator asked connector %s to retry now: %zu recipient(s) made due, "
                      "Open Interval cleared",
                      name, n);
        snprintf(out, cap, "ok %zu recipient(s) of connector %s are due now\n", n, name);
        ox_daemon_kick(d);
        return;
    }
    snprintf(out, cap, "error: no connector '%.100s'\n", name);
}

static void handle(control_client *c, char *line)
{
    ox_daemon *d = c->d;
    char out[8192];
    unsigned long long n;
    if (sscanf(line, "submit %llu", &n) == 1) {
        if (n == 0 || n > SUBMIT_MAX) {
            snprintf(out, sizeof(out), "error: a submission is 1..%zu octets\n", SUBMIT_MAX);
            reply(c, out);
            return;
        }
        c->in_payload = true;
        c->payload_want = (size_t)n;
        ox_buf_init(&c->payload, NULL, NULL, 0);
        c->payload.max = SUBMIT_MAX;
        /* Bytes that came with the request line are the payload's start. */
        size_t have = c->len - (strlen(line) + 1);
        ox_buf_append(&c->payload, c->req + strlen(line) + 1, have);
        uv_timer_start(&c->timer, on_timeout, CLIENT_TIMEOUT_MS, 0);
        if (c->payload.len >= c->payload_want)
            submit(c);
        return;
    }
    if (!strncmp(line, "test-peer ", 10)) {
        test_peer(c, line + 10);
        return;
    }
    if (!strncmp(line, "retry ", 6)) {
        retry_now(c, line + 6, out, sizeof(out));
        reply(c, out);
        return;
    }
    if (!strcmp(line, "ping")) {
        snprintf(out, sizeof(out), "ok pong %s\n", d->cfg->name);
    } else if (!strcmp(line, "commit")) { /* readers of the database want the latest marks */
        ox_daemon_commit_now(d);
        snprintf(out, sizeof(out), "ok committed\n");
    } else if (!strcmp(line, "reload")) {
        ox_daemon_reload(d, out, sizeof(out));
    } else if (!strcmp(line, "stop")) {
        snprintf(out, sizeof(out), "ok stopping\n");
        reply(c, out);
        ox_daemon_stop(d);
        return;
    } else if (!strcmp(line, "assoc") || !strcmp(line, "assoc json")) {
        ox_daemon_ltab_text(d, line[5] == ' ', out + 3, sizeof(out) - 3);
        memcpy(out, "ok\n", 3);
    } else if (!strcmp(line, "connectors")) {
        ox_daemon_connectors_text(d, out + 3, sizeof(out) - 3);
        memcpy(out, "ok\n", 3);
    } else if (!strcmp(line, "status")) {
        snprintf(out, sizeof(out),
                 "ok\n{\"mta\":\"%s\",\"listen\":\"%s:%u\",\"connectors\":%zu,\"uptime_s\":%llu,"
                 "\"events_written\":%llu}\n",
                 d->cfg->name, d->cfg->listen_host, d->cfg->listen_port, d->cfg->n_connectors,
                 (unsigned long long)((uv_now(d->loop) - d->started_ms) / 1000),
                 (unsigned long long)d->log.written);
    } else {
        snprintf(out, sizeof(out), "error: unknown request '%.80s'\n", line);
    }
    reply(c, out);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    control_client *c = h->data;
    if (c->in_payload) {
        size_t want = c->payload_want - c->payload.len;
        if (want > 65536)
            want = 65536;
        if (ox_buf_reserve(&c->payload, want) != 0)
            want = 0;
        buf->base = (char *)c->payload.p + c->payload.len;
        buf->len = want;
        return;
    }
    buf->base = c->req + c->len;
    buf->len = REQUEST_MAX - 1 - c->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    control_client *c = s->data;
    if (n < 0) {
        client_close(c);
        return;
    }
    if (c->in_payload) {
        c->payload.len += (size_t)n;
        uv_timer_start(&c->timer, on_timeout, CLIENT_TIMEOUT_MS, 0); /* progress: keep going */
        if (c->payload.len >= c->payload_want)
            submit(c);
        return;
    }
    c->len += (size_t)n;
    c->req[c->len] = '\0';
    char *nl = strchr(c->req, '\n');
    if (nl) {
        *nl = '\0';
        handle(c, c->req);
    } else if (c->len >= REQUEST_MAX - 1) {
        reply(c, "error: request too long\n");
    }
}

static void on_timeout(uv_timer_t *t)
{
    client_close(t->data);
}

static void on_client(uv_stream_t *server, int status)
{
    ox_daemon *d = server->data;
    if (status < 0)
        return;
    control_client *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->d = d;
    uv_pipe_init(d->loop, &c->pipe, 0);
    uv_timer_init(d->loop, &c->timer);
    c->pipe.data = c->timer.data = c;
    c->open_handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, CLIENT_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

int ox_control_listen(ox_daemon *d)
{
    const char *path = d->cfg->control_path;
    /* A socket file left by a crashed daemon is removed only if nobody answers on it. */
    if (access(path, F_OK) == 0) {
        char probe[64];
        if (ox_control_request(path, "ping", probe, sizeof(probe)) == 0) {
            fprintf(stderr, "x400mta: another MTA answers on %s; not starting a second one\n",
                    path);
            return -1;
        }
        unlink(path);
    }
    uv_pipe_init(d->loop, &d->control, 0);
    d->control.data = d;
    d->control_open = true;
    int rc = uv_pipe_bind(&d->control, path);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&d->control, 16, on_client);
    if (rc)
        fprintf(stderr,
                "x400mta: cannot listen on the control socket %s: %s (does the directory "
                "exist and is it writable?)\n",
                path, uv_strerror(rc));
    return rc;
}
