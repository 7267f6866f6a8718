/* associations.c - associations in the daemon: TCP connections driving one ox_assoc each, the MTA
 * bind and its checks, transfers to and from the queue, turns, lifetime and release
 *
 * Why: this is where the Exchange MTA's behaviour lives: an association is opened when a
 * connector has mail and its Open Interval allows it; a bind with a wrong name or password is
 * refused at once with a Security event on both sides (seed 000); names are compared as X.400
 * compares them, and a match only by case is accepted with a warning (seed 001); any failed
 * open waits the full Open Interval (seed 002); an association that fails is torn down and the
 * message retried after the Transfer Interval, never left to back up (seed 003).
 * Durability: a received message is confirmed (RTSE activity-end acknowledgement) only after
 * ox_mta_store committed it. A sent message is marked transferred only after the peer's
 * confirmation. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop producing when this much is waiting for the socket. */
#define OUT_HIGH_WATER  ((size_t)4 << 20)
#define BIND_TIMEOUT_MS 30000
#define TRY_WRITE_MAX   ((size_t)64 << 10)

typedef struct write_req {
    uv_write_t w;
    conn *c;
    size_t len;
    uint8_t data[];
} write_req;

static void on_idle(uv_timer_t *t);

static void on_stop_timeout(uv_timer_t *t)
{
    ox_conn_close(t->data, "no answer to the release while stopping");
}

static uint64_t now_wall(void)
{
    return ox_daemon_wall_ms();
}

const ox_connector_cfg *ox_conn_connector(conn *c)
{
    return c->cidx >= 0 && (size_t)c->cidx < c->d->cfg->n_connectors
               ? &c->d->cfg->connectors[c->cidx]
               : NULL;
}

ox_event_ctx ox_conn_event_ctx(conn *c)
{
    const ox_connector_cfg *k = ox_conn_connector(c);
    ox_event_ctx x = {.ltab = c->lt ? c->lt->index : 0,
                      .connector = k ? k->name : NULL,
                      .peer = c->lt && c->lt->peer[0] ? c->lt->peer : (k ? k->peer_mta : NULL),
                      .address = c->lt ? c->lt->address : NULL};
    return x;
}

static void on_written(uv_write_t *w, int status)
{
    write_req *r = (write_req *)w;
    conn *c = r->c;
    c->inflight -= r->len;
    c->progress_ms = uv_now(c->d->loop);
    free(r);
    if (status < 0) {
        ox_conn_close(c, uv_strerror(status));
        return;
    }
    if (!c->closing)
        ox_conn_pump(c);
}

/* Sends what the machine appended to |out|. */
void ox_conn_flush(conn *c, ox_buf *out)
{
    if (!out->len || c->closing || !c->tcp_open) {
        ox_buf_reset(out);
        return;
    }
    if (c->lt) {
        c->lt->bytes_out += out->len;
        c->lt->last_activity_ms = uv_now(c->d->loop);
    }
    /* A small output goes straight to the socket when nothing waits before it: a uv_write
     * costs a request, a copy, a callback and an epoll_ctl per PDU (one per message on each
     * side, docs/BENCH.md). Large outputs keep uv_write, whose completion moves a transfer
     * on (on_written). */
    size_t sent = 0;
    if (out->len <= TRY_WRITE_MAX) {
        uv_buf_t b = uv_buf_init((char *)out->p, (unsigned)out->len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n > 0)
            sent = (size_t)n;
        else if (n != UV_EAGAIN && n != UV_ENOSYS) {
            ox_buf_reset(out);
            ox_conn_close(c, uv_strerror(n));
            return;
        }
        if (sent == out->len) {
            c->progress_ms = uv_now(c->d->loop);
            ox_buf_reset(out);
            return;
        }
    }
    write_req *r = malloc(sizeof(*r) + out->len - sent);
    if (!r) {
        ox_buf_reset(out);
        ox_conn_close(c, "out of memory");
        return;
    }
    r->c = c;
    r->len = out->len - sent;
    memcpy(r->data, out->p + sent, r->len);
    ox_buf_reset(out);
    uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)r->len);
    c->inflight += r->len;
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        c->inflight -= r->len;
        free(r);
        ox_conn_close(c, "write failed");
    }
}

void ox_conn_unref(conn *c)
{
    if (--c->refs > 0)
        return;
    if (c->m_init)
        ox_assoc_free(&c->m);
    ox_buf_free(&c->tx_head);
    ox_mta_rx_cancel(c->rx);
    ox_buf_free(&c->pending_accept);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    ox_conn_unref(h->data);
}

/* The transfer in flight failed: its recipients go back for the Transfer Interval. */
static void tx_failed(conn *c, const char *why)
{
    if (!c->tx)
        return;
    const ox_connector_cfg *k = ox_conn_connector(c);
    uint64_t now = now_wall();
    ox_queue_batch_begin(c->d->mta.q);
    for (size_t i = 0; i < c->n_tx && k; i++)
        ox_mta_transfer_failed(&c->d->mta, c->tx_rcpts[i], k, OX_QUEUE_ATTEMPT_TRANSFER, why, now);
    ox_queue_batch_commit(c->d->mta.q);
    ox_event_ctx x = ox_conn_event_ctx(c);
    x.msgid = c->tx_id;
    ox_event_emit(&c->d->log, now, OX_EV_TRANSFER_RETRY, &x,
                  "transfer of %s to %s on connector %s failed (%s); it is retried after the "
                  "transfer interval (%u s), up to max-transfer-retries (%u), then "
                  "non-delivered; if it repeats, see the association's events and %s's log",
                  c->tx_id, x.peer ? x.peer : "?", k ? k->name : "?", why,
                  k ? k->values.transfer_interval_s : 0, k ? k->values.max_transfer_retries : 0,
                  x.peer ? x.peer : "the peer");
    if (c->rd_open)
        ox_queue_content_close(&c->rd);
    c->rd_open = false;
    c->tx = false;
}

void ox_conn_close(conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    ox_daemon *d = c->d;
    tx_failed(c, why ? why : "association closed");
    if (c->bindback_for)
        ox_bindback_result(c, false, why ? why : "association closed");
    if (c->probe)
        ox_probe_end(c->probe, false, "association closed: %s", why ? why : "released");
    if (c->lt) {
        ox_ltab_remove(&d->ltab, c->lt);
        c->lt = NULL;
    }
    if (c->timer_open) {
        c->timer_open = false;
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    }
    if (c->tcp_open) {
        c->tcp_open = false;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    }
    if (!c->inbound && c->cidx >= 0)
        ox_daemon_conn_gone(d, c->cidx);
    if (!d->stopping)
        ox_daemon_kick(d); /* another association may be due */
}

/* ---- bind ---- */

static void bind_values(conn *c, const ox_connector_cfg *k, ox_p1_bind *b)
{
    memset(b, 0, sizeof(*b));
    b->authenticated = true;
    const char *name = k && k->local_name[0] ? k->local_name : c->d->cfg->name;
    const char *pw = k && k->local_password[0] ? k->local_password : c->d->cfg->password;
    ox_strlcpy(b->mta_name, name, sizeof(b->mta_name));
    b->password_len = strlen(pw) < sizeof(b->password) ? strlen(pw) : sizeof(b->password);
    memcpy(b->password, pw, b->password_len);
}

/* Seed 001: X.400 compares printable names case-insensitively with spaces folded. Returns
 * 0 no match, 1 exact, 2 only ignoring case/spaces. */
static int name_match(const char *configured, const char *presented)
{
    if (!strcmp(configured, presented))
        return 1;
    return ox_p1_str_eq_folded(configured, presented) ? 2 : 0;
}

static bool password_ok(const ox_connector_cfg *k, const ox_p1_bind *b)
{
    size_t n = strlen(k->peer_password);
    return b->password_len == n && memcmp(b->password, k->peer_password, n) == 0;
}

/* Refuses the caller's bind: the MTABindError authentication-error in the RTORJ (or the
 * 1984 refusal), whatever the reason; the Security event says which. */
static void refuse_bind(conn *c, ox_buf *out)
{
    uint8_t eb[8];
    ox_buf err;
    ox_buf_init(&err, NULL, eb, sizeof(eb));
    ox_p1_bind_error_encode(&err, OX_P1_BIND_AUTHENTICATION_ERROR);
    ox_assoc_refuse(&c->m, ox_buf_span(&err), OX_RTSE_RJ_VALIDATION_FAILURE, out);
}

static void on_open_ind(conn *c, const ox_assoc_ev *ev, ox_buf *out)
{
    ox_daemon *d = c->d;
    uint64_t now = now_wall();
    ox_p1_bind b;
    ox_p1_diag pd;
    c->p1v = ev->mode == OX_ASSOC_X410 ? OX_P1_1984 : OX_P1_1988;
    if (ox_p1_bind_decode(ev->data, false, c->p1v, &b, &pd) != 0 || !b.authenticated) {
        ox_event_ctx x = ox_conn_event_ctx(c);
        ox_event_emit(&d->log, now, OX_EV_INBOUND_REFUSED, &x,
                      "refused an association from %s: its bind is %s; openx400 needs an "
                      "authenticated MTA bind (name and password)",
                      c->lt->address, b.authenticated ? "malformed" : "unauthenticated");
        refuse_bind(c, out);
        return;
    }
    ox_strlcpy(c->lt->peer, b.mta_name, sizeof(c->lt->peer));
    int best = -1, how = 0;
    for (size_t i = 0; i < d->cfg->n_connectors; i++) {
        int mm = name_match(d->cfg->connectors[i].peer_mta, b.mta_name);
        if (mm && (best < 0 || mm < how)) {
            best = (int)i;
            how = mm;
        }
    }
    if (best < 0) {
        /* Seed 001: quote both names, so a typo is visible in the event itself. */
        char known[400] = "";
        size_t kl = 0;
        for (size_t i = 0; i < d->cfg->n_connectors && kl < sizeof(known) - 80; i++)
            kl += (size_t)snprintf(known + kl, sizeof(known) - kl, "%s'%s' (connector %s)",
                                   i ? ", " : "", d->cfg->connectors[i].peer_mta,
                                   d->cfg->connectors[i].name);
        ox_event_ctx x = ox_conn_event_ctx(c);
        ox_event_emit(&d->log, now, OX_EV_INBOUND_REFUSED, &x,
                      "refused an association from %s presenting MTA name '%s': no connector "
                      "has that peer-mta (configured: %s); correct the connector's peer-mta or "
                      "the peer's Local MTA Name, then reload",
                      c->lt->address, b.mta_name, known[0] ? known : "none");
        refuse_bind(c, out);
        return;
    }
    c->cidx = best;
    const ox_connector_cfg *k = ox_conn_connector(c);
    ox_strlcpy(c->lt->connector, k->name, sizeof(c->lt->connector));
    ox_event_ctx x = ox_conn_event_ctx(c);
    if (!password_ok(k, &b)) {
        d->cstate[best].refused_inbound_ms = now;
        ox_event_emit(&d->log, now, OX_EV_BIND_AUTH_FAILED, &x,
                      "refused the bind of %s from %s on connector %s: the password it presented "
                      "is not this connector's peer-password; make [connector %s] peer-password "
                      "here equal to %s's password (or its override-password for us), then reload",
                      b.mta_name, c->lt->address, k->name, k->name, b.mta_name);
        refuse_bind(c, out);
        return;
    }
    if (how == 2)
        ox_event_emit(&d->log, now, OX_EV_NAME_CASE_MISMATCH, &x,
                      "peer MTA presented '%s' and connector %s expects '%s': equal as X.400 "
                      "compares names, accepted; write the name as the peer spells it",
                      b.mta_name, k->name, k->peer_mta);
    ox_p1_bind mine;
    bind_values(c, k, &mine);
    ox_buf_reset(&c->pending_accept);
    ox_p1_bind_encode(&c->pending_accept, &mine, true, c->p1v);
    /* Seed 000/004: with bindback the caller is confirmed at its own address before the
     * association carries anything; our answer waits for it. */
    if (ox_bindback_start(c)) {
        c->awaiting_bindback = true;
        c->lt->state = OX_LTAB_BINDBACK;
        return;
    }
    ox_conn_bindback_done(c, true, NULL);
    ox_conn_flush(c, out);
}

void ox_conn_bindback_done(conn *c, bool ok, const char *why)
{
    if (c->closing)
        return;
    ox_daemon *d = c->d;
    const ox_connector_cfg *k = ox_conn_connector(c);
    uint64_t now = now_wall();
    ox_event_ctx x = ox_conn_event_ctx(c);
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    c->awaiting_bindback = false;
    if (!ok) {
        refuse_bind(c, &out);
        ox_conn_flush(c, &out);
        ox_buf_free(&out);
        ox_conn_close(c, why ? why : "bindback failed");
        return;
    }
    if (ox_assoc_accept(&c->m, ox_buf_span(&c->pending_accept), &out) == 0) {
        c->lt->state = OX_LTAB_IDLE;
        uv_timer_stop(&c->timer);
        ox_event_emit(&d->log, now, OX_EV_ASSOC_OPENED, &x,
                      "association from %s (%s) bound on connector %s (%s)%s", c->lt->peer,
                      c->lt->address, k ? k->name : "?",
                      c->p1v == OX_P1_1984 ? "X.410-1984 mode" : "normal mode", why ? why : "");
    }
    ox_buf_reset(&c->pending_accept);
    ox_conn_flush(c, &out);
    ox_buf_free(&out);
    ox_conn_pump(c);
}

/* Our bind did not succeed: a bindback reports to the association it confirms, test-peer
 * to its operator; only a real open counts against the connector (Open Interval, retries). */
static void outbound_open_failed(conn *c, const char *why)
{
    if (c->bindback_for) {
        ox_bindback_result(c, false, why);
        c->bindback_for = 0;
    } else if (c->probe) {
        ox_probe_end(c->probe, false, "%s", why);
        c->probe = NULL;
    } else if (c->cidx >= 0) {
        ox_daemon_open_failed(c->d, c->cidx, now_wall(), why);
    }
}

static void on_open_conf(conn *c, const ox_assoc_ev *ev, ox_buf *out)
{
    ox_daemon *d = c->d;
    const ox_connector_cfg *k = ox_conn_connector(c);
    ox_connector_state *cs = &d->cstate[c->cidx];
    uint64_t now = now_wall();
    ox_event_ctx x = ox_conn_event_ctx(c);
    if (!ev->accepted) {
        int e = -1;
        ox_p1_diag pd;
        if (ev->data.len)
            ox_p1_bind_error_decode(ev->data, &e, &pd);
        char why[512];
        snprintf(why, sizeof(why), "%s refused our bind: %s", k->peer_mta,
                 e >= 0 ? ox_p1_bind_error_name(e) : ev->why);
        if (!c->bindback_for) /* a bindback reports in its own 9318/9322 */
            ox_event_emit(
                &d->log, now, OX_EV_BIND_FAILED, &x,
                "unable to bind to %s at %s on connector %s: %s; check that %s's "
                "connector for us expects our name '%s' and password (or this connector's "
                "override-name/override-password); next attempt after the open interval "
                "(%u s)",
                k->peer_mta, c->lt->address, k->name, e >= 0 ? ox_p1_bind_error_name(e) : ev->why,
                k->peer_mta, k->local_name[0] ? k->local_name : d->cfg->name,
                k->values.open_interval_s);
        if (e == OX_P1_BIND_AUTHENTICATION_ERROR && cs->refused_inbound_ms >= c->bind_sent_ms)
            ox_event_emit(&d->log, now, OX_EV_BIND_AUTH_FAILED, &x,
                          "%s refused our bind on connector %s because its bindback to us "
                          "failed: this MTA refused the bindback's credentials (the event "
                          "before this one says which); make %s's override credentials for us "
                          "and this connector's peer-mta/peer-password match, then reload",
                          k->peer_mta, k->name, k->peer_mta);
        else if (e == OX_P1_BIND_AUTHENTICATION_ERROR)
            ox_event_emit(&d->log, now, OX_EV_BIND_AUTH_FAILED, &x,
                          "%s refused the credentials this MTA presented on connector %s (name "
                          "'%s', the %s password), or it could not bind back to us (its event "
                          "9322 says so); make them match on both sides, then reload",
                          k->peer_mta, k->name, k->local_name[0] ? k->local_name : d->cfg->name,
                          k->local_password[0] ? "connector's override" : "MTA's own");
        outbound_open_failed(c, why);
        ox_conn_close(c, why);
        return;
    }
    ox_p1_bind b;
    ox_p1_diag pd;
    int mm = 0;
    if (ox_p1_bind_decode(ev->data, true, c->p1v, &b, &pd) == 0 && b.authenticated)
        mm = name_match(k->peer_mta, b.mta_name);
    if (mm == 0 || !password_ok(k, &b)) {
        char why[512];
        if (mm == 0)
            snprintf(why, sizeof(why),
                     "the responder's name '%s' is not the connector's peer-mta '%s'", b.mta_name,
                     k->peer_mta);
        else
            snprintf(why, sizeof(why),
                     "the responder's password is not this connector's peer-password");
        ox_event_emit(&d->log, now, OX_EV_BIND_AUTH_FAILED, &x,
                      "%s answered our bind on connector %s as '%s', but %s; association "
                      "aborted. Fix [connector %s] peer-mta/peer-password (or the peer's "
                      "override for us), then reload",
                      c->lt->address, k->name, b.mta_name, why, k->name);
        ox_assoc_abort(&c->m, OX_RTSE_AB_USER_ERROR, out);
        outbound_open_failed(c, why);
        ox_conn_close(c, why);
        return;
    }
    ox_strlcpy(c->lt->peer, b.mta_name, sizeof(c->lt->peer));
    if (mm == 2)
        ox_event_emit(&d->log, now, OX_EV_NAME_CASE_MISMATCH, &x,
                      "peer MTA answered as '%s' and connector %s expects '%s': equal as X.400 "
                      "compares names, accepted; write the name as the peer spells it",
                      b.mta_name, k->name, k->peer_mta);
    c->lt->state = OX_LTAB_IDLE;
    c->lt->have_turn = true;
    uv_timer_stop(&c->timer);
    ox_event_emit(&d->log, now, OX_EV_ASSOC_OPENED, &x,
                  "association to %s at %s bound on connector %s%s (%s, checkpoint %lld, "
                  "window %lld)",
                  b.mta_name, c->lt->address, k->name, c->bindback_for ? " as a bindback" : "",
                  c->p1v == OX_P1_1984 ? "X.410-1984 mode" : "normal mode",
                  (long long)ev->checkpoint, (long long)ev->window);
    if (c->bindback_for) {
        ox_bindback_result(c, true, NULL);
        c->bindback_for = 0;
        return;
    }
    if (c->probe) {
        ox_probe_step(c->probe, "bound: the peer answered as '%s' and its password matched",
                      b.mta_name);
        c->release_wanted = true;
        return;
    }
    ox_connector_open_ok(cs);
    ox_daemon_kick(d); /* the threshold may want the next association: open it now */
    if (cs->replacing) {
        ox_event_emit(&d->log, now, OX_EV_ASSOC_STUCK, &x,
                      "association %d to %s replaces the stuck association %d on connector %s",
                      c->lt->index, b.mta_name, cs->replacing, k->name);
        cs->replacing = 0;
    } else if (ox_ltab_count(&d->ltab, k->name, true) > 1) {
        ox_event_emit(&d->log, now, OX_EV_ASSOC_ADDED_FOR_LOAD, &x,
                      "association %d added to %s on connector %s: %zu association(s) for the "
                      "queued mail (threshold %u per association)",
                      c->lt->index, b.mta_name, k->name, ox_ltab_count(&d->ltab, k->name, true),
                      k->values.threshold);
    }
}

/* ---- sending ---- */

/* Picks the next message for this association's connector and starts its transfer. */
static bool tx_start(conn *c, ox_buf *out)
{
    ox_daemon *d = c->d;
    /* In-transfer marks need not be durable (a restart resends, the peer recognises it):
     * they join the turn's commit. */
    ox_daemon_hold(d);
    const ox_connector_cfg *k = ox_conn_connector(c);
    uint64_t now = now_wall();
    ox_queue_due due[MAX_TX_RCPTS];
    size_t n;
    if (!k || ox_queue_due_message(d->mta.q, k->name, now, due, MAX_TX_RCPTS, &n) != 0 || n == 0)
        return false;
    c->tx_msg = due[0].msg_id;
    c->n_tx = 0;
    ox_buf env;
    ox_buf_init(&env, NULL, NULL, 0);
    ox_queue_msg_info mi;
    if (ox_queue_get_msg(d->mta.q, c->tx_msg, &mi) != 0 ||
        ox_queue_get_envelope(d->mta.q, c->tx_msg, &env) != 0) {
        ox_buf_free(&env);
        return false;
    }
    ox_strlcpy(c->tx_id, mi.mts_id, sizeof(c->tx_id));
    uint64_t content_len = mi.has_content ? mi.content_size : 0;
    bool is_probe = mi.kind == OX_QUEUE_KIND_PROBE, report = mi.kind == OX_QUEUE_KIND_REPORT;
    /* Responsibility only for the recipients going over this association (X.411 14.3.2). */
    uint32_t env_idx[MAX_TX_RCPTS];
    for (size_t i = 0; i < n; i++) {
        if (due[i].msg_id != c->tx_msg ||
            ox_queue_mark_in_transfer(d->mta.q, due[i].rcpt_id, now) != 0)
            continue;
        env_idx[c->n_tx] = OX_MTA_RCPT_ENV_INDEX(due[i].report_flags);
        c->tx_rcpts[c->n_tx++] = due[i].rcpt_id;
    }
    ox_buf_reset(&c->tx_head);
    int rc = 0;
    if (!report) {
        ox_p1_message m;
        size_t off;
        uint64_t clen;
        ox_p1_diag pd;
        ox_p1_apdu a;
        if (is_probe) {
            rc = ox_p1_apdu_decode(ox_buf_span(&env), OX_P1_1988, NULL, NULL, &a, &pd);
            m = a.msg;
        } else {
            rc = ox_p1_message_decode_head(ox_buf_span(&env), OX_P1_1988, NULL, NULL, &m, &off,
                                           &clen, &pd);
        }
        if (rc == 0) {
            for (uint32_t i = 0; i < m.n_rcpt; i++) {
                bool mine = false;
                for (size_t j = 0; j < c->n_tx; j++)
                    mine |= env_idx[j] == i;
                if (mine)
                    m.rcpt[i].indicators |= OX_P1_PRI_RESPONSIBILITY;
                else
                    m.rcpt[i].indicators &= (uint16_t)~OX_P1_PRI_RESPONSIBILITY;
            }
            rc = is_probe ? ox_p1_message_encode(&c->tx_head, &m, c->p1v)
                          : ox_p1_message_encode_head(&c->tx_head, &m, c->p1v, content_len);
            ox_p1_message_free(&m);
        }
    } else {
        ox_buf_append(&c->tx_head, env.p, env.len);
    }
    ox_buf_free(&env);
    if (rc == 0 && content_len && !is_probe) {
        rc = ox_queue_content_open(d->mta.q, c->tx_msg, &c->rd);
        c->rd_open = rc == 0;
    }
    c->tx = true;
    c->tx_head_off = 0;
    c->chunk_len = c->chunk_off = 0;
    if (rc == 0)
        rc = ox_assoc_transfer_begin(&c->m, c->tx_head.len + (is_probe ? 0 : content_len), out);
    if (rc) {
        tx_failed(c, "cannot prepare the message for transfer");
        return false;
    }
    c->lt->state = OX_LTAB_SENDING;
    return true;
}

/* Fills the chunk with what comes next: the rest of the re-encoded envelope, then content
 * from the queue. Gathering both makes one S-DATA of a small message, so its RTTR is one
 * presentation PDV that any dissector (and peer) decodes without reassembly. Returns the
 * octets gathered (0 at the end) or -1 when the content cannot be read. */
static long gather(conn *c)
{
    size_t n = 0;
    if (c->tx_head_off < c->tx_head.len) {
        n = c->tx_head.len - c->tx_head_off;
        if (n > sizeof(c->chunk))
            n = sizeof(c->chunk);
        memcpy(c->chunk, c->tx_head.p + c->tx_head_off, n);
        c->tx_head_off += n;
    }
    while (c->rd_open && n < sizeof(c->chunk)) {
        size_t got = 0;
        if (ox_queue_content_read(&c->rd, c->chunk + n, sizeof(c->chunk) - n, &got) != 0)
            return -1;
        if (got == 0) {
            ox_queue_content_close(&c->rd);
            c->rd_open = false;
        }
        n += got;
    }
    return (long)n;
}

/* Feeds the transfer as far as the window and the socket allow. */
static void tx_continue(conn *c, ox_buf *out)
{
    while (c->tx && !c->m.tx_blocked && c->inflight + out->len < OUT_HIGH_WATER) {
        if (c->chunk_off == c->chunk_len) {
            long n = gather(c);
            if (n < 0) {
                tx_failed(c, "cannot read the content from the queue");
                ox_assoc_abort(&c->m, OX_RTSE_AB_LOCAL_SYSTEM_PROBLEM, out);
                return;
            }
            c->chunk_len = (size_t)n;
            c->chunk_off = 0;
            if (n == 0) {
                if (!c->m.tx_ending)
                    ox_assoc_transfer_end(&c->m, out);
                return;
            }
        }
        size_t taken;
        ox_span piece = ox_span_of(c->chunk + c->chunk_off, c->chunk_len - c->chunk_off);
        if (ox_assoc_transfer_data(&c->m, piece, out, &taken) != 0) {
            tx_failed(c, "the association refused the data");
            return;
        }
        c->chunk_off += taken;
    }
}

_Static_assert(MAX_TX_RCPTS <= OX_DAEMON_TX_RCPTS, "a transfer's recipients fit a mark");

static void tx_confirmed(conn *c)
{
    ox_daemon *d = c->d;
    uint64_t now = now_wall();
    char text[OX_CFG_NAME_MAX + 64];
    snprintf(text, sizeof(text), "transferred to %s (%zu recipient(s))", c->lt->peer, c->n_tx);
    /* The message goes from the queue if these were its last recipients. */
    ox_daemon_note_transferred(d, c->tx_msg, c->tx_rcpts, c->n_tx, text);
    ox_event_ctx x = ox_conn_event_ctx(c);
    x.msgid = c->tx_id;
    ox_event_emit(&d->log, now, OX_EV_MSG_TRANSFERRED, &x,
                  "%s transferred to %s for %zu recipient(s) and confirmed by it", c->tx_id,
                  c->lt->peer, c->n_tx);
    c->lt->msgs_out++;
    c->tx = false;
    c->lt->state = OX_LTAB_IDLE;
}

void ox_conn_confirm_held(void *held, bool ok)
{
    conn *c = held;
    if (!c->closing && c->m_init) {
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        if (ok && ox_assoc_transfer_confirm(&c->m, &out) == 0) {
            c->lt->msgs_in++;
            c->lt->state = OX_LTAB_IDLE;
            ox_conn_flush(c, &out);
            ox_conn_pump(c);
        } else {
            ox_assoc_abort(&c->m, OX_RTSE_AB_TEMPORARY_PROBLEM, &out);
            ox_conn_flush(c, &out);
            ox_conn_close(c, "the received message could not be committed");
        }
        ox_buf_free(&out);
    }
    ox_conn_unref(c);
}

/* ---- the pump: what to do next ---- */

void ox_conn_pump(conn *c)
{
    if (c->closing || !c->m_init)
        return;
    ox_buf out;
    uint8_t small[256];
    ox_buf_init(&out, NULL, small, sizeof(small));
    ox_daemon *d = c->d;
    const ox_connector_cfg *k = ox_conn_connector(c);
    if (c->m.state == OX_ASSOC_OPEN && k && !c->m.rx_active) {
        if (c->tx) {
            tx_continue(c, &out);
        } else if (c->m.have_turn) {
            if (c->give_turn_after) {
                c->give_turn_after = false;
                if (ox_assoc_turn_give(&c->m, &out) == 0) {
                    c->lt->have_turn = false;
                    ox_event_ctx x = ox_conn_event_ctx(c);
                    ox_event_emit(&d->log, now_wall(), OX_EV_TURN_GIVE, &x, "gave the turn to %s",
                                  c->lt->peer);
                }
            } else if (!d->stopping && !c->probe && !c->release_wanted && tx_start(c, &out)) {
                tx_continue(c, &out);
            } else if ((c->release_wanted || d->stopping) && !c->release_sent_ms) {
                if (ox_assoc_release(&c->m, &out) == 0) {
                    c->lt->state = OX_LTAB_RELEASING;
                    c->release_sent_ms = uv_now(d->loop);
                    c->progress_ms = c->release_sent_ms;
                    if (c->probe)
                        ox_probe_step(c->probe, "release sent");
                }
            }
        } else if (!c->asked_turn) {
            ox_daemon_hold(d); /* inside the turn's transaction: no lock round per query */
            ox_queue_due due[1];
            size_t n = 0;
            if (ox_queue_due_for(d->mta.q, k->name, now_wall(), due, 1, &n) == 0 && n &&
                ox_assoc_turn_please(&c->m, due[0].priority == OX_QUEUE_PRIO_URGENT ? 2 : 0,
                                     &out) == 0) {
                c->asked_turn = true;
                ox_event_ctx x = ox_conn_event_ctx(c);
                ox_event_emit(&d->log, now_wall(), OX_EV_TURN_PLEASE, &x,
                              "asked %s for the turn: mail is waiting", c->lt->peer);
            }
        }
    }
    ox_conn_flush(c, &out);
    ox_buf_free(&out);
    /* Lifetime: an association idle this long is released (the turn holder releases; the
     * other side asks for the turn first). */
    if (!c->closing && k && c->m.state == OX_ASSOC_OPEN && !c->tx && !c->m.rx_active &&
        !c->release_wanted)
        uv_timer_start(&c->timer, on_idle, (uint64_t)k->values.lifetime_s * 1000, 0);
}

/* Releases once the current message is done: the turn holder releases; the other side asks
 * for the turn first. */
void ox_conn_release_soon(conn *c)
{
    if (c->closing || c->m.state != OX_ASSOC_OPEN || c->release_wanted)
        return;
    c->release_wanted = true;
    if (!c->m.have_turn && !c->asked_turn) {
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        if (ox_assoc_turn_please(&c->m, 0, &out) == 0)
            c->asked_turn = true;
        ox_conn_flush(c, &out);
        ox_buf_free(&out);
    }
    ox_conn_pump(c);
}

static void on_idle(uv_timer_t *t)
{
    ox_conn_release_soon(t->data);
}

void ox_daemon_reset_transfers(ox_daemon *d)
{
    /* Confirmed transfers whose marks wait for the turn's end stay in transfer too. */
    int64_t *busy = malloc(sizeof(int64_t) *
                           (OX_LTAB_MAX * MAX_TX_RCPTS + d->n_confirmed * OX_DAEMON_TX_RCPTS));
    size_t n = 0;
    for (size_t i = 0; busy && i < d->n_confirmed; i++)
        for (size_t k = 0; k < d->confirmed[i].n; k++)
            busy[n++] = d->confirmed[i].rcpts[k];
    for (int i = 0; busy && i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &d->ltab.e[i];
        conn *c = e->state != OX_LTAB_FREE ? e->owner : NULL;
        for (size_t k = 0; c && c->tx && k < c->n_tx; k++)
            busy[n++] = c->tx_rcpts[k];
    }
    uint32_t reset = 0;
    if (busy && ox_queue_reset_transfers(d->mta.q, now_wall(), busy, n, &reset) == 0 && reset)
        ox_daemon_kick(d);
    free(busy);
}

void ox_daemon_assoc_stop_all(ox_daemon *d)
{
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &d->ltab.e[i];
        conn *c = e->state != OX_LTAB_FREE ? e->owner : NULL;
        if (!c || c->closing)
            continue;
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        if (ox_assoc_can_send(&c->m) && ox_assoc_release(&c->m, &out) == 0) {
            c->lt->state = OX_LTAB_RELEASING;
            ox_conn_flush(c, &out);
            /* The peer has the disconnect time to answer; we give it a few seconds. */
            uv_timer_start(&c->timer, on_stop_timeout, 3000, 0);
        } else {
            if (c->m_init)
                ox_assoc_abort(&c->m, OX_RTSE_AB_TEMPORARY_PROBLEM, &out);
            ox_conn_flush(c, &out);
            ox_conn_close(c, "the MTA is stopping");
        }
        ox_buf_free(&out);
    }
}

static void on_assoc_event(conn *c, const ox_assoc_ev *ev, ox_buf *out)
{
    ox_daemon *d = c->d;
    uint64_t now = now_wall();
    ox_event_ctx x = ox_conn_event_ctx(c);
    switch (ev->kind) {
    case OX_ASSOC_EV_OPEN_IND: on_open_ind(c, ev, out); break;
    case OX_ASSOC_EV_OPEN_CONF: on_open_conf(c, ev, out); break;
    case OX_ASSOC_EV_TRANSFER_BEGIN_IND:
        ox_mta_rx_cancel(c->rx);
        c->rx = NULL;
        if (ox_mta_rx_begin(&d->mta, &c->rx) != 0) {
            ox_assoc_abort(&c->m, OX_RTSE_AB_TEMPORARY_PROBLEM, out);
            ox_conn_close(c, "out of memory");
            break;
        }
        c->lt->state = OX_LTAB_RECEIVING;
        break;
    case OX_ASSOC_EV_TRANSFER_DATA_IND: {
        char err[300];
        /* Streamed into the queue as it comes: only the heading is held in memory. */
        int rc = c->rx ? ox_mta_rx_feed(c->rx, ev->data, err, sizeof(err)) : OX_E_STATE;
        if (rc) {
            ox_event_emit(&d->log, now, OX_EV_PROTOCOL_ERROR, &x,
                          "could not take a message from %s on connector %s: %s; association "
                          "aborted, the sender keeps the message%s",
                          c->lt->peer, x.connector ? x.connector : "?",
                          c->rx ? err : "data outside a transfer",
                          rc == OX_E_IO ? "; check the queue's disk" : "");
            ox_assoc_abort(&c->m,
                           rc == OX_E_IO || rc == OX_E_NOMEM ? OX_RTSE_AB_TEMPORARY_PROBLEM
                                                             : OX_RTSE_AB_PERMANENT_PROBLEM,
                           out);
            ox_conn_close(c, "message refused");
        }
        break;
    }
    case OX_ASSOC_EV_TRANSFER_END_IND: {
        char id[300] = "", err[400] = "";
        int rc = OX_E_STATE;
        ox_daemon_hold(d); /* stores of this turn share one commit */
        if (c->rx)
            rc = ox_mta_rx_end(c->rx, c->lt->peer, now, id, sizeof(id), err, sizeof(err));
        else
            snprintf(err, sizeof(err), "a transfer ended that never began");
        c->rx = NULL;
        if (rc == 0 || rc == OX_QUEUE_DUPLICATE) {
            /* Confirmed only once it is durable: after the turn's commit (or, delivered at
             * arrival, the mailbox's sync). */
            if (ox_daemon_after_commit(d, ox_conn_confirm_held, c)) {
                c->refs++;
            } else if (ox_daemon_sync_mailboxes(d) == 0) {
                ox_assoc_transfer_confirm(&c->m, out);
                c->lt->msgs_in++;
                c->lt->state = OX_LTAB_IDLE;
            } else {
                ox_assoc_abort(&c->m, OX_RTSE_AB_TEMPORARY_PROBLEM, out);
                ox_conn_close(c, "the mailbox could not be made durable");
                break;
            }
            if (d->mta.last_queued)
                ox_daemon_kick(d);
        } else {
            x.msgid = id;
            ox_event_emit(&d->log, now, OX_EV_PROTOCOL_ERROR, &x,
                          "could not accept a message from %s on connector %s: %s; association "
                          "aborted, the sender keeps the message; if the reason is the "
                          "message's encoding, send this event to %s's operator",
                          c->lt->peer, x.connector ? x.connector : "?", err, c->lt->peer);
            ox_assoc_abort(
                &c->m,
                rc == OX_E_PEER ? OX_RTSE_AB_INVALID_PARAMETER : OX_RTSE_AB_TEMPORARY_PROBLEM, out);
            ox_conn_close(c, err);
        }
        break;
    }
    case OX_ASSOC_EV_TRANSFER_CONF: tx_confirmed(c); break;
    case OX_ASSOC_EV_WRITABLE: break;
    case OX_ASSOC_EV_TURN_PLEASE_IND: c->give_turn_after = true; break;
    case OX_ASSOC_EV_TURN_GIVE_IND:
        c->lt->have_turn = true;
        c->asked_turn = false;
        break;
    case OX_ASSOC_EV_RELEASE_IND:
    case OX_ASSOC_EV_RELEASE_CONF:
        if (c->probe) {
            ox_probe_end(c->probe, true, "released in order");
            c->probe = NULL;
        }
        ox_event_emit(&d->log, now, OX_EV_ASSOC_RELEASED, &x,
                      "association with %s released (%llu message(s) out, %llu in)",
                      c->lt->peer[0] ? c->lt->peer : "?", (unsigned long long)c->lt->msgs_out,
                      (unsigned long long)c->lt->msgs_in);
        ox_conn_flush(c, out);
        ox_conn_close(c, NULL);
        break;
    case OX_ASSOC_EV_ABORT_IND:
        if (c->lt && c->lt->state != OX_LTAB_BINDING && c->lt->state != OX_LTAB_CONNECTING)
            ox_event_emit(&d->log, now, OX_EV_ASSOC_ABNORMAL_END, &x,
                          "association %d with %s on connector %s ended abnormally: %s%s; a "
                          "new association opens when mail waits; if it repeats, check the "
                          "link and %s's log",
                          c->lt->index, c->lt->peer[0] ? c->lt->peer : c->lt->address,
                          x.connector ? x.connector : "(not yet bound)", ev->why,
                          c->tx ? "; the message in transfer is retried" : "",
                          c->lt->peer[0] ? c->lt->peer : "the peer");
        else if (!c->inbound && ox_conn_connector(c)) {
            char why[512];
            snprintf(why, sizeof(why), "the bind failed: %s", ev->why);
            ox_event_emit(&d->log, now, OX_EV_BIND_FAILED, &x,
                          "unable to bind to %s on connector %s: %s; next attempt after the "
                          "open interval",
                          ox_conn_connector(c)->peer_mta, ox_conn_connector(c)->name, ev->why);
            outbound_open_failed(c, why);
        }
        ox_conn_flush(c, out);
        ox_conn_close(c, ev->why);
        break;
    default: break;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (n < 0) {
        free(buf->base);
        if (!c->closing) {
            ox_assoc_transport_lost(&c->m, now_wall());
            ox_assoc_ev ev;
            ox_buf out;
            ox_buf_init(&out, NULL, NULL, 0);
            while (!c->closing && ox_assoc_next_event(&c->m, &ev))
                on_assoc_event(c, &ev, &out);
            ox_buf_free(&out);
            ox_conn_close(c, "connection closed by the peer");
        }
        return;
    }
    if (c->lt) {
        c->lt->bytes_in += (uint64_t)n;
        c->progress_ms = uv_now(c->d->loop);
        c->lt->last_activity_ms = uv_now(c->d->loop);
    }
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    size_t off = 0;
    while (!c->closing && off < (size_t)n) {
        size_t used;
        ox_assoc_feed(&c->m, ox_span_of(buf->base + off, (size_t)n - off), now_wall(), &out, &used);
        off += used;
        ox_assoc_ev ev;
        while (!c->closing && ox_assoc_next_event(&c->m, &ev))
            on_assoc_event(c, &ev, &out);
        if (used == 0)
            break;
    }
    free(buf->base);
    ox_conn_flush(c, &out);
    ox_buf_free(&out);
    ox_conn_pump(c);
}

conn *ox_conn_new(ox_daemon *d, bool inbound, int cidx)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->d = d;
    c->inbound = inbound;
    c->cidx = cidx;
    uv_tcp_init(d->loop, &c->tcp);
    uv_timer_init(d->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->refs = 2;
    c->tcp_open = c->timer_open = true;
    ox_buf_init(&c->tx_head, NULL, NULL, 0);
    ox_buf_init(&c->pending_accept, NULL, NULL, 0);
    c->progress_ms = uv_now(d->loop);
    return c;
}

static void assoc_setup(conn *c, bool initiator)
{
    const ox_connector_cfg *k = ox_conn_connector(c);
    const ox_mta_values *v = k ? &k->values : &c->d->cfg->values;
    const ox_mta_cfg *cfg = c->d->cfg;
    /* Activity identifiers must differ between associations with one peer. */
    c->d->assoc_serial = (c->d->assoc_serial + 1) % 900;
    ox_assoc_cfg rc = {.role = initiator ? OX_ASSOC_INITIATOR : OX_ASSOC_RESPONDER,
                       .mode = k && k->x410_1984 ? OX_ASSOC_X410 : OX_ASSOC_NORMAL,
                       .local_tsel = ox_span_of(cfg->tsel, cfg->tsel_len),
                       .local_ssel = ox_span_of(cfg->ssel, cfg->ssel_len),
                       .local_psel = ox_span_of(cfg->psel, cfg->psel_len),
                       .checkpoint = v->checkpoint_size,
                       .window = v->window_size,
                       .id_base = c->d->assoc_serial * 1000,
                       /* ox_conn_watch applies the recovery and disconnect timers with the
                        * events operators know (9316, 9277); the machine's own are the
                        * backstop. */
                       .timers = {.progress_ms = (v->recovery_timeout_s + 10) * 1000,
                                  .release_ms = (v->disconnect_s + 10) * 1000}};
    ox_assoc_init(&c->m, &rc);
    c->m_init = true;
}

static void on_bind_timeout(uv_timer_t *t)
{
    conn *c = t->data;
    if (c->closing || c->m.state == OX_ASSOC_OPEN)
        return;
    ox_daemon *d = c->d;
    uint64_t now = now_wall();
    ox_event_ctx x = ox_conn_event_ctx(c);
    ox_event_emit(&d->log, now, OX_EV_CALL_CANCELLED, &x,
                  "cancelled the association with %s at %s on connector %s after %d ms "
                  "without a completed bind%s; check that the peer answers binds (x400mta "
                  "test-peer %s)",
                  x.peer ? x.peer : "?", c->lt ? c->lt->address : "?",
                  x.connector ? x.connector : "(unknown yet)", BIND_TIMEOUT_MS,
                  c->awaiting_bindback ? " (our bindback to it did not finish)" : "",
                  x.connector ? x.connector : "CONNECTOR");
    if (!c->inbound)
        outbound_open_failed(c, "the bind did not complete in time");
    ox_conn_close(c, "bind timeout");
}

/* ---- inbound ---- */

static void sockaddr_text(const struct sockaddr_storage *ss, char *ip, size_t ipcap, int *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)ss, ip, ipcap);
        *port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)ss, ip, ipcap);
        *port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    }
}

/* "ip:port" of our end of the connection ("" if unknown). */
static void local_endpoint(conn *c, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss), port;
    char ip[64];
    out[0] = '\0';
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        sockaddr_text(&ss, ip, sizeof(ip), &port);
        snprintf(out, cap, "%s:%d", ip, port);
    }
}

/* Each PDU is written whole and the protocol waits for its answer (one RTSE transfer in flight
 * an association), so Nagle's delay of a small segment behind unacknowledged data only adds
 * latency: a confirm held until the peer's delayed ACK stalls that association 40 ms. */
static void no_delay(conn *c)
{
    (void)uv_tcp_nodelay(&c->tcp, 1);
}

void ox_daemon_assoc_accept(ox_daemon *d, uv_stream_t *server)
{
    conn *c = ox_conn_new(d, true, -1);
    if (!c)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        ox_conn_close(c, "accept failed");
        return;
    }
    no_delay(c);
    struct sockaddr_storage ss;
    int len = sizeof(ss), port = 0;
    char addr[80] = "?", local[80] = "";
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        sockaddr_text(&ss, c->source_ip, sizeof(c->source_ip), &port);
        snprintf(addr, sizeof(addr), "%s:%d", c->source_ip, port);
    }
    local_endpoint(c, local, sizeof(local));
    c->lt = ox_ltab_add(&d->ltab, true, NULL, addr, uv_now(d->loop));
    if (!c->lt) {
        ox_event_emit(&d->log, now_wall(), OX_EV_INBOUND_REFUSED, NULL,
                      "refused a connection from %s: the association table is full (%d); "
                      "check for a connection flood",
                      addr, OX_LTAB_MAX);
        ox_conn_close(c, "association table full");
        return;
    }
    ox_strlcpy(c->lt->local_address, local, sizeof(c->lt->local_address));
    c->lt->owner = c;
    assoc_setup(c, false);
    uv_timer_start(&c->timer, on_bind_timeout, BIND_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- outbound ---- */

void ox_conn_connected(conn *c)
{
    const ox_connector_cfg *k = ox_conn_connector(c);
    c->connected = true;
    no_delay(c);
    c->lt->state = OX_LTAB_BINDING;
    local_endpoint(c, c->lt->local_address, sizeof(c->lt->local_address));
    c->bind_sent_ms = ox_daemon_wall_ms();
    if (c->probe)
        ox_probe_step(c->probe, "TCP connected to %s from %s; sending the bind as '%s'",
                      c->lt->address, c->lt->local_address,
                      k->local_name[0] ? k->local_name : c->d->cfg->name);
    assoc_setup(c, true);
    ox_p1_bind b;
    bind_values(c, k, &b);
    ox_buf arg, out;
    ox_buf_init(&arg, NULL, NULL, 0);
    ox_buf_init(&out, NULL, NULL, 0);
    c->p1v = k->x410_1984 ? OX_P1_1984 : OX_P1_1988;
    ox_p1_bind_encode(&arg, &b, false, c->p1v);
    ox_assoc_open(&c->m, ox_buf_span(&arg), now_wall(), &out);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    ox_conn_flush(c, &out);
    ox_buf_free(&arg);
    ox_buf_free(&out);
    c->progress_ms = uv_now(c->d->loop);
    uv_timer_start(&c->timer, on_bind_timeout, BIND_TIMEOUT_MS, 0);
}

void ox_conn_dial_failed(conn *c)
{
    ox_daemon *d = c->d;
    const ox_connector_cfg *k = ox_conn_connector(c);
    uint64_t now = now_wall();
    char why[DIAL_TRIED_MAX + 64];
    snprintf(why, sizeof(why), "cannot connect: %s", c->tried);
    if (!c->bindback_for && !c->probe) {
        ox_event_ctx x = ox_conn_event_ctx(c);
        ox_event_emit(&d->log, now, OX_EV_OPEN_FAILED, &x,
                      "could not open a connection to %s on connector %s (%s); next attempt "
                      "after the open interval (%u s); is %s running and listening there? "
                      "(x400mta test-peer %s)",
                      k->peer_mta, k->name, c->tried, k->values.open_interval_s, k->peer_mta,
                      k->name);
    }
    outbound_open_failed(c, why);
    ox_conn_close(c, why);
}

conn *ox_daemon_assoc_open_to(ox_daemon *d, int cidx, const char *host, uint16_t port)
{
    const ox_connector_cfg *k = &d->cfg->connectors[cidx];
    conn *c = ox_conn_new(d, false, cidx);
    if (!c)
        return NULL;
    char addr[300];
    snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    c->lt = ox_ltab_add(&d->ltab, false, k->name, addr, uv_now(d->loop));
    if (!c->lt) {
        ox_event_ctx x = {.connector = k->name, .peer = k->peer_mta};
        ox_event_emit(&d->log, now_wall(), OX_EV_OPEN_FAILED, &x,
                      "connector %s: the association table is full (%d); not opening", k->name,
                      OX_LTAB_MAX);
        ox_conn_close(c, "association table full");
        return NULL;
    }
    c->lt->owner = c;
    ox_strlcpy(c->lt->peer, k->peer_mta, sizeof(c->lt->peer));
    return c;
}

int ox_daemon_assoc_open(ox_daemon *d, int cidx)
{
    const ox_connector_cfg *k = &d->cfg->connectors[cidx];
    conn *c = ox_daemon_assoc_open_to(d, cidx, k->peer_host, k->peer_port);
    if (!c)
        return OX_E_LIMIT;
    /* Right after link-up the peer may not answer yet: the first open keeps trying until
     * the link timeout. Later opens on a link that was up fail like any other. */
    if (k->kind == OX_CONN_ONDEMAND && d->cstate[cidx].link_fresh) {
        d->cstate[cidx].link_fresh = false;
        c->reach_deadline_ms = uv_now(d->loop) + (uint64_t)k->link_timeout_s * 1000;
    }
    ox_dial_start(c, k->peer_host, k->peer_port);
    return 0;
}

/* Housekeeping, once a second: an association that waits for its peer and hears nothing
 * within the recovery timeout is stuck (seed 003): abort it now, so that a fresh one opens
 * at once instead of mail backing up until the threshold; a release not answered within the
 * disconnect timer is aborted. */
void ox_conn_watch(conn *c, uint64_t loop_now)
{
    if (c->closing || !c->m_init)
        return;
    ox_buf tick_out;
    ox_buf_init(&tick_out, NULL, NULL, 0);
    uint64_t next;
    ox_assoc_tick(&c->m, now_wall(), &tick_out, &next);
    ox_assoc_ev ev;
    while (!c->closing && ox_assoc_next_event(&c->m, &ev))
        on_assoc_event(c, &ev, &tick_out);
    ox_conn_flush(c, &tick_out);
    ox_buf_free(&tick_out);
    if (c->closing || c->m.state != OX_ASSOC_OPEN)
        return;
    ox_daemon *d = c->d;
    const ox_connector_cfg *k = ox_conn_connector(c);
    const ox_mta_values *v = k ? &k->values : &d->cfg->values;
    uint64_t quiet = loop_now - c->progress_ms;
    ox_event_ctx x = ox_conn_event_ctx(c);
    uint64_t now = now_wall();
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    if (c->release_sent_ms && loop_now - c->release_sent_ms >= (uint64_t)v->disconnect_s * 1000) {
        ox_event_emit(&d->log, now, OX_EV_CALL_CANCELLED, &x,
                      "%s did not answer the release of association %d on connector %s "
                      "within the disconnect timer (%u s); aborted, nothing is lost; if it "
                      "repeats, check %s's load and the link",
                      c->lt->peer, c->lt->index, k ? k->name : "?", v->disconnect_s, c->lt->peer);
        ox_assoc_abort(&c->m, OX_RTSE_AB_TEMPORARY_PROBLEM, &out);
        ox_conn_flush(c, &out);
        ox_conn_close(c, "no answer to the release");
    } else if ((c->tx || c->asked_turn) && !c->release_sent_ms &&
               quiet >= (uint64_t)v->recovery_timeout_s * 1000) {
        const char *what = c->tx ? (c->m.tx_ending ? "the confirmation of a transfer"
                                                   : "the peer to accept more data")
                                 : "the turn it was asked for";
        ox_event_emit(&d->log, now, OX_EV_COMM_ERROR_NO_DATA, &x,
                      "association %d with %s on connector %s made no progress for %llu s "
                      "while waiting for %s (recovery timeout %u s); aborted and replaced at "
                      "once%s. If this repeats, %s accepts binds but not data: check it and "
                      "any firewall or proxy between",
                      c->lt->index, c->lt->peer, k ? k->name : "?",
                      (unsigned long long)(quiet / 1000), what, v->recovery_timeout_s,
                      c->tx ? "; the message in transfer is retried" : "", c->lt->peer);
        if (!c->inbound && c->cidx >= 0)
            d->cstate[c->cidx].replacing = c->lt->index;
        ox_assoc_abort(&c->m, OX_RTSE_AB_TEMPORARY_PROBLEM, &out);
        ox_conn_flush(c, &out);
        ox_event_emit(&d->log, now, OX_EV_ASSOC_ABNORMAL_END, &x,
                      "association %d with %s on connector %s aborted: no progress within the "
                      "recovery timeout; a new association opens at once",
                      c->lt->index, c->lt->peer, k ? k->name : "?");
        ox_conn_close(c, "no progress within the recovery timeout");
    }
    ox_buf_free(&out);
}
