/* bindback.c - confirming a caller at its own address before its association carries mail
 *
 * Why: the Exchange MTA bound back to an MTA that called it, and seeds 000 and 004 are that
 *      bindback failing: with wrong override credentials (a 20-30 s hang, then 9322) and with
 *      a host name the responder could not resolve on a multihomed host (9322/9318, 1722).
 *      Here the caller's bind is answered only after the bindback: at once, either way.
 * How: X.411's MTABind carries no address, so the target is this side's connector for the
 *      caller: its pinned bindback-address, else its peer-address. Every address the name
 *      resolves to is tried in turn, then (unless disabled) the source address of the
 *      incoming connection at the connector's port. The bindback association is an ordinary
 *      outbound one: once bound it may carry this MTA's own mail to the caller.
 *      An inbound bind that arrives while we wait for our own bind to the same peer is that
 *      peer's bindback to us: it is answered at once, because binding back to it would wait
 *      for ourselves. */
#include "conn.h"

#include <stdio.h>
#include <string.h>

static bool calling_them(ox_daemon *d, const char *connector)
{
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        const ox_ltab_entry *e = &d->ltab.e[i];
        if (!e->inbound && (e->state == OX_LTAB_CONNECTING || e->state == OX_LTAB_BINDING) &&
            !strcmp(e->connector, connector))
            return true;
    }
    return false;
}

bool ox_bindback_start(conn *c)
{
    ox_daemon *d = c->d;
    const ox_connector_cfg *k = ox_conn_connector(c);
    if (!k || !k->bindback || calling_them(d, k->name))
        return false;
    const char *host = k->bindback_host[0] ? k->bindback_host : k->peer_host;
    uint16_t port = k->bindback_port ? k->bindback_port : k->peer_port;
    conn *bb = ox_daemon_assoc_open_to(d, c->cidx, host, port);
    if (!bb)
        return false; /* LTAB full: the caller's bind is refused by the bind timeout */
    bb->bindback_for = c->lt->index;
    if (k->bindback_source_fallback)
        ox_strlcpy(bb->fallback_ip, c->source_ip, sizeof(bb->fallback_ip));
    ox_dial_start(bb, host, port);
    return true;
}

void ox_bindback_result(conn *bb, bool ok, const char *why)
{
    ox_daemon *d = bb->d;
    const ox_connector_cfg *k = ox_conn_connector(bb);
    ox_ltab_entry *e = ox_ltab_get(&d->ltab, bb->bindback_for);
    conn *c = e ? e->owner : NULL;
    bb->bindback_for = 0;
    if (!c || c->closing || !c->awaiting_bindback || !k)
        return;
    uint64_t now = ox_daemon_wall_ms();
    ox_event_ctx x = ox_conn_event_ctx(c);
    char tried[DIAL_TRIED_MAX + 700];
    bool bound = bb->lt && bb->lt->state == OX_LTAB_BINDING;
    if (bound) /* TCP worked: the bind was refused */
        snprintf(tried, sizeof(tried), "%s%sat %s: %s", bb->tried, bb->tried[0] ? "; " : "",
                 bb->lt->address, why ? why : "refused");
    else
        snprintf(tried, sizeof(tried), "%s", bb->tried[0] ? bb->tried : (why ? why : "?"));
    if (!ok) {
        ox_event_emit(&d->log, now, OX_EV_BINDBACK_FAILED, &x,
                      "bindback to %s on connector %s failed (tried %s); the association from "
                      "%s was refused. Fix: %s",
                      k->peer_mta, k->name, tried, c->lt->address,
                      bound ? "make the credentials match on both sides (this connector's "
                              "override-name/override-password against the peer's connector), "
                              "then reload"
                            : "pin 'bindback-address' on this connector to an address where the "
                              "peer listens, or make its name resolve");
        ox_event_emit(&d->log, now, OX_EV_BIND_FAILED, &x,
                      "unable to bind back to %s on connector %s: %s; its association was "
                      "refused (event 9322 says what was tried and the fix)",
                      k->peer_mta, k->name, why ? why : "no address answered");
        ox_conn_bindback_done(c, false, "bindback failed");
        return;
    }
    char note[300] = "";
    if (bb->fallback_used && bb->lt && bb->addr_i == bb->n_addrs) {
        ox_event_emit(&d->log, now, OX_EV_BINDBACK_FALLBACK, &x,
                      "bindback to %s on connector %s reached it only at the source address of "
                      "its connection (%s) after %s; pin 'bindback-address = %s' on this "
                      "connector or make the peer's name resolve",
                      k->peer_mta, k->name, bb->lt->address, bb->tried, bb->lt->address);
    }
    snprintf(note, sizeof(note), " after bindback to %s (LTAB %d)", bb->lt ? bb->lt->address : "?",
             bb->lt ? bb->lt->index : 0);
    ox_conn_bindback_done(c, true, note);
    /* The bindback association may carry our own mail; with none waiting it goes. */
    ox_queue_due due[1];
    size_t n = 0;
    if (ox_queue_due_for(d->mta.q, k->name, now, due, 1, &n) != 0 || n == 0)
        ox_conn_release_soon(bb);
}
