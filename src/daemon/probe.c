/* probe.c - x400mta test-peer: one association to a connector's peer, step by step
 *
 * Why: "A dials B fails but B dials A works" (seed 000) was hard to diagnose because the
 *      Exchange MTA said little about which step failed. test-peer brings the link up if
 *      needed, resolves, connects, binds (the peer may bind back to us meanwhile), releases
 *      and takes the link down again, printing each step with its time; on failure it names
 *      the step, quotes the peer's answer and says what to fix. It carries no mail and does
 *      not count against the connector's Open Interval. */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ox_probe {
    ox_daemon *d;
    char connector[OX_CFG_NAME_MAX];
    uint64_t t0; /* loop ms at start */
    char text[8192];
    size_t len;
    bool ok, ran_link_up, ended, finished;
    char failure[600];
    ox_probe_done_cb done;
    void *ctx;
};

static void vadd(ox_probe *p, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vadd(ox_probe *p, const char *fmt, va_list ap)
{
    if (p->len >= sizeof(p->text) - 1)
        return;
    int n = snprintf(p->text + p->len, sizeof(p->text) - p->len, "%6llu ms  ",
                     (unsigned long long)(uv_now(p->d->loop) - p->t0));
    if (n > 0)
        p->len = p->len + (size_t)n >= sizeof(p->text) ? sizeof(p->text) - 1 : p->len + (size_t)n;
    n = vsnprintf(p->text + p->len, sizeof(p->text) - p->len, fmt, ap);
    if (n > 0)
        p->len = p->len + (size_t)n >= sizeof(p->text) ? sizeof(p->text) - 1 : p->len + (size_t)n;
    if (p->len < sizeof(p->text) - 1)
        p->text[p->len++] = '\n';
    p->text[p->len] = '\0';
}

void ox_probe_step(ox_probe *p, const char *fmt, ...)
{
    if (!p || p->finished)
        return;
    va_list ap;
    va_start(ap, fmt);
    vadd(p, fmt, ap);
    va_end(ap);
}

static void add(ox_probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(ox_probe *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(p, fmt, ap);
    va_end(ap);
}

static const ox_connector_cfg *probe_connector(ox_probe *p, int *index)
{
    *index = ox_daemon_connector_index(p->d->cfg, p->connector);
    return *index >= 0 ? &p->d->cfg->connectors[*index] : NULL;
}

/* What to do about the step that failed. */
static const char *fix_for(const char *why)
{
    if (strstr(why, "refused our bind"))
        return "the peer refused our name or password: make this connector's override-name/"
               "override-password (or [mta] name/password) equal to what the peer's connector "
               "for us expects (its peer-mta/peer-password); if the peer binds back, its own "
               "credentials must match ours too: its event log says which (events 400, 9322)";
    if (strstr(why, "responder's name"))
        return "the peer answered with another MTA name: set peer-mta on this connector to the "
               "peer's Local MTA Name";
    if (strstr(why, "responder's password"))
        return "the peer's password is not this connector's peer-password: make them equal";
    if (strstr(why, "cannot connect") || strstr(why, "resolve"))
        return "nothing answered at the peer's address: check peer-address, that the peer "
               "runs and listens there, any firewall between, and (on-demand) that link-up "
               "really brings the link up";
    if (strstr(why, "link-up"))
        return "run the link-up command by hand and fix what its stderr says";
    if (strstr(why, "bind did not complete") || strstr(why, "bindback"))
        return "the peer did not answer the bind in time; it may be binding back to us and "
               "failing: check its event log for 9322 and its bindback-address for us";
    return "see the step above and the event logs on both sides";
}

static void finish(ox_probe *p)
{
    if (p->finished)
        return;
    p->finished = true;
    if (p->ok)
        add(p, "result: ok: %s binds and releases in order", p->connector);
    else
        add(p, "result: FAILED: %s\nfix: %s", p->failure, fix_for(p->failure));
    if (p->done)
        p->done(p->ctx, p->ok, p->text);
    free(p);
}

static void on_link_down(void *ctx, int status, const char *err, bool timed_out)
{
    ox_probe *p = ctx;
    add(p, "link-down %s %d%s%s", timed_out ? "killed after the timeout, status" : "exited with",
        status, err[0] ? ": " : "", err);
    finish(p);
}

void ox_probe_end(ox_probe *p, bool ok, const char *fmt, ...)
{
    if (!p || p->ended)
        return;
    p->ended = true;
    va_list ap;
    va_start(ap, fmt);
    char what[600];
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    add(p, "%s", what);
    p->ok = ok;
    if (!ok)
        ox_strlcpy(p->failure, what, sizeof(p->failure));
    /* Detached from its association from here on: the association may still close. */
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &p->d->ltab.e[i];
        conn *c = e->state != OX_LTAB_FREE ? e->owner : NULL;
        if (c && c->probe == p)
            c->probe = NULL;
    }
    int idx;
    const ox_connector_cfg *k = probe_connector(p, &idx);
    if (p->ran_link_up && k && k->link_down[0] && ox_ltab_count(&p->d->ltab, k->name, false) <= 1) {
        add(p, "running link-down: %s", k->link_down);
        if (ox_link_run(p->d, k->link_down, k->link_timeout_s, on_link_down, p) == 0)
            return;
        add(p, "link-down could not be started");
    }
    finish(p);
}

static void start_association(ox_probe *p)
{
    int idx;
    const ox_connector_cfg *k = probe_connector(p, &idx);
    if (!k) {
        ox_probe_end(p, false, "connector %s was removed by a reload", p->connector);
        return;
    }
    conn *c = ox_daemon_assoc_open_to(p->d, idx, k->peer_host, k->peer_port);
    if (!c) {
        ox_probe_end(p, false, "the association table is full");
        return;
    }
    c->probe = p;
    add(p, "resolving %s, then connecting to port %u%s%s", k->peer_host, k->peer_port,
        k->local_address[0] ? " from " : "", k->local_address);
    ox_dial_start(c, k->peer_host, k->peer_port);
}

static void on_link_up(void *ctx, int status, const char *err, bool timed_out)
{
    ox_probe *p = ctx;
    if (status != 0 || timed_out) {
        char why[1200];
        snprintf(why, sizeof(why), "link-up %s %d%s%s",
                 timed_out ? "was killed after the link timeout, status" : "exited with code",
                 status, err[0] ? ": " : "", err);
        p->ran_link_up = false;
        ox_probe_end(p, false, "%s", why);
        return;
    }
    add(p, "link-up finished: the link is up");
    start_association(p);
}

int ox_probe_start(ox_daemon *d, const char *connector, ox_probe_done_cb done, void *ctx, char *err,
                   size_t cap, ox_probe **out)
{
    *out = NULL;
    ox_probe *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, cap, "out of memory");
        return OX_E_NOMEM;
    }
    p->d = d;
    p->done = done;
    p->ctx = ctx;
    p->t0 = uv_now(d->loop);
    ox_strlcpy(p->connector, connector, sizeof(p->connector));
    int idx;
    const ox_connector_cfg *k = probe_connector(p, &idx);
    if (!k) {
        snprintf(err, cap, "no connector '%s' in %s", connector, d->cfg->path);
        free(p);
        return OX_E_ARG;
    }
    *out = p;
    add(p, "test-peer %s: %s MTA %s at %s:%u, we present '%s'%s, bindback %s", k->name,
        k->kind == OX_CONN_ONDEMAND ? "on-demand link to" : "LAN link to", k->peer_mta,
        k->peer_host, k->peer_port, k->local_name[0] ? k->local_name : d->cfg->name,
        k->local_password[0] ? " with the override password" : "",
        k->bindback ? "on (the peer may bind back to us)" : "off");
    if (k->kind == OX_CONN_ONDEMAND && d->cstate[idx].link != OX_LINK_UP) {
        add(p, "running link-up (timeout %u s): %s", k->link_timeout_s, k->link_up);
        p->ran_link_up = true;
        if (ox_link_run(d, k->link_up, k->link_timeout_s, on_link_up, p) != 0) {
            p->ran_link_up = false;
            ox_probe_end(p, false, "link-up command could not be started");
        }
        return 0;
    }
    start_association(p);
    return 0;
}

void ox_probe_detach(ox_probe *p)
{
    if (p) {
        p->done = NULL;
        p->ctx = NULL;
    }
}
