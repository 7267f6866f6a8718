/* mta.c - the MTA engine: store with loop check and trace, route, deliver, expire, report
 *
 * Why: see mta.h. The queue keeps each message as its P1 envelope (the MTS-APDU up to the
 *      content's OCTET STRING header, with this MTA's trace element added) plus the content
 *      octets in a file, so a message leaves exactly as the standard wants it relayed, and
 *      reports are built from the stored envelope. */
#include "mta_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LOOP_CONNECTOR "@loop"
#define BATCH_MAX      64
#define PURGE_SCAN_MS  60000

static uint64_t ms_of(ox_p1_time t)
{
    return t > 0 ? (uint64_t)t * 1000 : 0;
}

void ox_mta_id_text(const ox_p1_mtsid *id, char *dst, size_t cap)
{
    snprintf(dst, cap, "C=%s;A=%s;P=%s;L=%s", id->gdi.country, id->gdi.admd, id->gdi.prmd,
             id->local_id);
}

void ox_mta_new_id(ox_mta *m, uint64_t now_ms, ox_p1_mtsid *id)
{
    memset(id, 0, sizeof(*id));
    id->gdi = m->gdi;
    /* ub-local-id 32: a counter that starts from the clock (milliseconds) and a random
     * nonce drawn at start-up, so identifiers stay unique across restarts even if the clock
     * was set back. */
    if (m->serial < now_ms)
        m->serial = now_ms;
    snprintf(id->local_id, sizeof(id->local_id), "%" PRIu64 ".%08" PRIx32, m->serial++, m->nonce);
}

static int gdi_from_cfg(ox_mta *m, char *err, size_t cap)
{
    ox_p1_orname n;
    if (ox_p1_orname_parse(&n, m->cfg->global_domain) != 0 || !n.country[0]) {
        snprintf(err, cap,
                 "%s: global-domain '%s' is not a domain like /C=GB/A= /P=SiteA/ (C= is required)",
                 m->cfg->path, m->cfg->global_domain);
        return OX_E_ARG;
    }
    memset(&m->gdi, 0, sizeof(m->gdi));
    snprintf(m->gdi.country, sizeof(m->gdi.country), "%s", n.country);
    m->gdi.country_numeric = n.country_numeric;
    snprintf(m->gdi.admd, sizeof(m->gdi.admd), "%s", n.has_admd ? n.admd : " ");
    m->gdi.admd_numeric = n.admd_numeric;
    snprintf(m->gdi.prmd, sizeof(m->gdi.prmd), "%s", n.prmd);
    m->gdi.prmd_numeric = n.prmd_numeric;
    return 0;
}

int ox_mta_reconfigure(ox_mta *m, const ox_mta_cfg *cfg, char *err, size_t cap)
{
    ox_config_diag *d = calloc(1, sizeof(*d));
    if (!d)
        return OX_E_NOMEM;
    ox_routing rt;
    int rc = ox_routing_build(&rt, cfg, d);
    if (rc) {
        snprintf(err, cap, "%s", d->text);
        ox_routing_free(&rt);
        free(d);
        return rc;
    }
    free(d);
    ox_routing_free(&m->routing);
    m->routing = rt;
    m->cfg = cfg;
    return 0;
}

int ox_mta_open(ox_mta *m, const ox_mta_cfg *cfg, ox_eventlog *log, uint64_t now_ms, char *err,
                size_t cap)
{
    memset(m, 0, sizeof(*m));
    m->known_fd = -1;
    m->cfg = cfg;
    m->log = log;
    if (getrandom(&m->nonce, sizeof(m->nonce), 0) != sizeof(m->nonce))
        m->nonce = (uint32_t)(now_ms ^ (now_ms >> 32)); /* no entropy: still distinct per run */
    int rc = gdi_from_cfg(m, err, cap);
    if (rc == 0)
        rc = ox_mta_reconfigure(m, cfg, err, cap);
    if (rc)
        return rc;
    ox_queue_config qc = {.path = cfg->queue_path, .recover = true};
    ox_queue_recovery rec;
    rc = ox_queue_open(&qc, now_ms, &m->q, &rec, err, cap);
    if (rc) {
        ox_routing_free(&m->routing);
        return rc;
    }
    if (rec.orphans_removed || rec.quarantined || rec.transfers_reset || rec.rcpts_removed)
        ox_event_emit(log, now_ms, OX_EV_QUEUE_RECOVERED, NULL,
                      "queue %s recovered: %u transfer(s) in flight will be retried, %u orphan "
                      "content file(s) removed, %u message(s) quarantined, %u recipient row(s) "
                      "without a message removed",
                      cfg->queue_path, rec.transfers_reset, rec.orphans_removed, rec.quarantined,
                      rec.rcpts_removed);
    return 0;
}

void ox_mta_close(ox_mta *m)
{
    if (ox_mta_notes_pending(m)) { /* their files were written: sync them, keep their rows */
        m->mailbox_dirty = true;
        ox_mta_sync_mailboxes(m);
    }
    ox_mta_notes_free(m);
    ox_mta_mailbox_forget_dir(m);
    ox_queue_close(m->q);
    ox_routing_free(&m->routing);
    m->q = NULL;
}

static ox_queue_priority queue_prio(int p1_priority)
{
    return p1_priority == OX_P1_PRIO_URGENT       ? OX_QUEUE_PRIO_URGENT
           : p1_priority == OX_P1_PRIO_NON_URGENT ? OX_QUEUE_PRIO_NON_URGENT
                                                  : OX_QUEUE_PRIO_NORMAL;
}

/* The connector (or @local / @unrouted) a recipient goes to first. */
static const char *route_of(ox_mta *m, const ox_p1_orname *rcpt)
{
    const ox_route *r[1];
    if (ox_routing_lookup(&m->routing, rcpt, r, 1) == 0)
        return OX_MTA_UNROUTED;
    return r[0]->connector < 0 ? OX_MTA_LOCAL : m->cfg->connectors[r[0]->connector].name;
}

static void here_trace(ox_mta *m, uint64_t now_ms, ox_p1_trace *t)
{
    memset(t, 0, sizeof(*t));
    t->gdi = m->gdi;
    ox_strlcpy(t->mta, m->cfg->name, sizeof(t->mta));
    t->arrival = (ox_p1_time)(now_ms / 1000);
}

int ox_mta_store(ox_mta *m, ox_span apdu, const char *source, uint64_t now_ms, char *mtsid,
                 size_t mtsid_cap, char *err, size_t err_cap)
{
    ox_p1_apdu a;
    ox_p1_diag diag;
    int rc = ox_p1_apdu_decode(apdu, OX_P1_1988, NULL, NULL, &a, &diag);
    if (rc) {
        snprintf(err, err_cap, "not a valid P1 MTS-APDU: %s (%s) at octet %zu",
                 ox_p1_reason_name(diag.reason), ox_ber_reason_name(diag.ber.reason),
                 diag.ber.offset);
        return rc == OX_E_NOMEM ? rc : OX_E_PEER;
    }
    return ox_mta_store_decoded(m, &a, NULL, apdu.len, source, now_ms, mtsid, mtsid_cap, err,
                                err_cap);
}

/* Delivery at arrival: a message whose every recipient is local, that asks for no delivery
 * report, is not deferred and whose content is in memory is written into the mailbox as it
 * arrives and never enters the queue; the queue only remembers its MTS identifier (a resend
 * is dropped) and its history. The mailbox file is its durable copy: the daemon makes it
 * durable (ox_mta_sync_mailboxes) before it acknowledges the transfer. This saves the queue's
 * insert, the engine run that would deliver it, and the purge: most of the receiver's work
 * (docs/BENCH.md). Its queue rows (MTS identifier, history) are written once that sync has
 * ended (ox_mta_notes_end). Returns 0 (delivered), OX_E_AGAIN (not delivered: queue it, the
 * engine will deliver or retry), OX_QUEUE_DUPLICATE (a resend of a message whose rows still
 * wait) or OX_E_NOMEM (the files stay and a resend rewrites them). */
static int deliver_at_arrival(ox_mta *m, const ox_queue_msg_in *in, ox_span content,
                              uint64_t apdu_len, uint64_t now_ms, char *err, size_t err_cap)
{
    int64_t old;
    for (size_t i = 0; i < in->n_rcpts; i++)
        if (strcmp(in->rcpts[i].connector, OX_MTA_LOCAL) != 0 ||
            (in->rcpts[i].report_flags & (OX_P1_PRI_ORIG_REPORT | OX_P1_PRI_MTA_REPORT)))
            return OX_E_AGAIN;
    if (ox_queue_find_mts_id(m->q, in->mts_id, &old) != OX_E_NOTFOUND)
        return OX_E_AGAIN; /* a resend (or a queue error): the queue's insert says which */
    if (ox_mta_note_pending_for(m, in->mts_id))
        return OX_QUEUE_DUPLICATE; /* a resend of one delivered at arrival, not yet synced */
    size_t n = in->n_rcpts;
    ox_queue_line *lines = calloc(n, sizeof(*lines));
    char(*texts)[OX_QUEUE_ERRTEXT_MAX + 1] = calloc(n, sizeof(*texts));
    char(*paths)[OX_CFG_PATH_MAX + 400] = calloc(n, sizeof(*paths));
    int rc = lines && texts && paths ? 0 : OX_E_NOMEM;
    if (rc)
        snprintf(err, err_cap, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char why[400];
        if (ox_mta_deliver_octets(m, in->mts_id, in->rcpts[i].address, (uint32_t)i, in->envelope,
                                  content, paths[i], sizeof(paths[i]), why, sizeof(why)) != 0)
            rc = OX_E_AGAIN; /* the queue's engine retries it and says why */
    }
    if (rc == 0) {
        /* One line a recipient; the first also says where the message came from. */
        for (size_t i = 0; i < n; i++) {
            char from[OX_QUEUE_NAME_MAX + 96] = "";
            if (i == 0)
                snprintf(from, sizeof(from),
                         "received from %s: %zu recipient(s), %zu content bytes, delivered at "
                         "arrival; ",
                         in->source, n, content.len);
            snprintf(texts[i], sizeof(texts[i]), "%srcpt %zu %s: delivered in %s", from, i,
                     in->rcpts[i].address, paths[i]);
            lines[i] = (ox_queue_line){OX_EV_MSG_DELIVERED, texts[i]};
        }
        /* Its rows wait for the sync that makes the files durable (delivery_notes.c). */
        if ((rc = ox_mta_note_add(m, in->mts_id, now_ms, lines, n)) != 0)
            snprintf(err, err_cap, "out of memory");
    }
    if (rc == 0) {
        ox_event_ctx ctx = {.msgid = in->mts_id, .peer = in->source}; /* always from a peer */
        ox_event_emit(m->log, now_ms, OX_EV_MSG_RECEIVED, &ctx,
                      "message %s from %s for %zu recipient(s), %zu octets, delivered at arrival",
                      in->mts_id, in->source, n, (size_t)apdu_len);
        for (size_t i = 0; i < n; i++)
            ox_event_emit(m->log, now_ms, OX_EV_MSG_DELIVERED, &ctx,
                          "message %s delivered to %s in %s", in->mts_id, in->rcpts[i].address,
                          paths[i]);
        m->received++;
        m->delivered += n;
    }
    free(lines);
    free(texts);
    free(paths);
    return rc;
}

int ox_mta_store_decoded(ox_mta *m, ox_p1_apdu *ap, ox_queue_writer *content, uint64_t apdu_len,
                         const char *source, uint64_t now_ms, char *mtsid, size_t mtsid_cap,
                         char *err, size_t err_cap)
{
    ox_p1_apdu a = *ap; /* owned from here: freed below */
    memset(ap, 0, sizeof(*ap));
    int rc = 0;
    bool local = !strcmp(source, "local");
    char idtext[OX_QUEUE_MTS_ID_MAX], addr[OX_QUEUE_RCPTS_MAX < 64 ? 64 : 600];
    ox_buf env;
    ox_buf_init(&env, NULL, NULL, 0);
    ox_p1_trace here;
    here_trace(m, now_ms, &here);
    ox_queue_rcpt_in *rin = NULL;
    char(*addrs)[600] = NULL;
    size_t n = 0;
    ox_queue_msg_in in = {.source = source, .arrival_ms = now_ms};
    ox_queue_writer w;
    ox_queue_writer *wp = &w;
    bool have_writer = false;
    bool at_arrival = false; /* may be delivered at arrival (deliver_at_arrival) */
    bool delivered = false;  /* delivered at arrival: not queued */
    m->last_queued = false;

    if (a.kind == OX_P1_APDU_REPORT) {
        ox_p1_report *r = &a.rep;
        ox_mta_id_text(&r->id, idtext, sizeof(idtext));
        ox_p1_orname_print(&r->destination, false, addr, sizeof(addr));
        in.kind = OX_QUEUE_KIND_REPORT;
        in.priority = OX_QUEUE_PRIO_URGENT; /* reports get their own, urgent, treatment */
        in.originator = addr;
        if (local)
            r->trace.n = 0; /* a report made here: the trace starts with this MTA */
        rc = ox_p1_traces_add(&r->trace, NULL, &here, 0);
        if (rc == 0)
            rc = ox_p1_report_encode(&env, r, OX_P1_1988);
        rin = calloc(1, sizeof(*rin));
        addrs = calloc(1, sizeof(*addrs));
        if (!rin || !addrs) {
            rc = OX_E_NOMEM;
        } else {
            snprintf(addrs[0], sizeof(addrs[0]), "%s", addr);
            rin[0] = (ox_queue_rcpt_in){.address = addrs[0],
                                        .connector = route_of(m, &r->destination),
                                        .next_attempt_ms = now_ms};
            n = 1;
        }
    } else {
        ox_p1_message *msg = &a.msg;
        if (local) { /* the MTS assigns the identifier and starts the trace */
            ox_mta_new_id(m, now_ms, &msg->id);
            msg->trace.n = 0;
        }
        ox_mta_id_text(&msg->id, idtext, sizeof(idtext));
        ox_p1_orname_print(&msg->originator, false, addr, sizeof(addr));
        in.kind = msg->is_probe ? OX_QUEUE_KIND_PROBE : OX_QUEUE_KIND_MESSAGE;
        in.priority = queue_prio(msg->priority);
        in.originator = addr;
        /* Exchange's transfer timeouts are per KB of the message (urgent 1000 s, normal 2000,
         * non-urgent 3000): a large message may take longer; the message timeout caps it. */
        uint64_t kb = (apdu_len + 1023) / 1024;
        uint64_t timeout =
            (uint64_t)m->cfg->values.transfer_timeout_s_per_kb[in.priority] * (kb ? kb : 1);
        if (timeout > m->cfg->values.message_timeout_s[in.priority])
            timeout = m->cfg->values.message_timeout_s[in.priority];
        in.expiry_ms = now_ms + timeout * 1000;
        if (msg->has_deferred && ms_of(msg->deferred) > now_ms)
            in.expiry_ms += ms_of(msg->deferred) - now_ms;
        /* X.411 14.3.1: a message that already passed through this domain loops. */
        bool loop = !local && ox_p1_message_trace_has(msg, &m->gdi);
        /* A looping message comes back under the identifier this MTA already holds (or
         * held): queued under that key it would pass for a resend and vanish. The looped copy
         * gets its own key so that it is non-delivered with the loop diagnostic; its envelope
         * and the report keep the real identifier. */
        if (loop) {
            size_t used = strlen(idtext);
            snprintf(idtext + used, sizeof(idtext) - used, "#loop-%" PRIu64, now_ms);
        }
        rc = ox_p1_message_add_trace(msg, &here);
        uint64_t clen = content ? content->size : msg->content.len;
        if (rc == 0)
            rc = msg->is_probe ? ox_p1_message_encode(&env, msg, OX_P1_1988)
                               : ox_p1_message_encode_head(&env, msg, OX_P1_1988, clen);
        rin = calloc(msg->n_rcpt ? msg->n_rcpt : 1, sizeof(*rin));
        addrs = calloc(msg->n_rcpt ? msg->n_rcpt : 1, sizeof(*addrs));
        if (!rin || !addrs)
            rc = rc ? rc : OX_E_NOMEM;
        uint64_t first = now_ms;
        if (msg->has_deferred && ms_of(msg->deferred) > now_ms)
            first = ms_of(msg->deferred);
        for (uint32_t i = 0; rc == 0 && i < msg->n_rcpt; i++) {
            ox_p1_recipient *rc_ = &msg->rcpt[i];
            if (!local && !(rc_->indicators & OX_P1_PRI_RESPONSIBILITY))
                continue; /* another MTA is responsible for this one */
            ox_p1_orname_print(&rc_->name, false, addrs[n], sizeof(addrs[n]));
            rin[n] = (ox_queue_rcpt_in){
                .address = addrs[n],
                .connector = loop ? LOOP_CONNECTOR : route_of(m, &rc_->name),
                .next_attempt_ms = first,
                .report_flags = OX_MTA_RCPT_FLAGS(rc_->indicators, i),
            };
            n++;
        }
        at_arrival = !local && !msg->is_probe && !loop && first <= now_ms;
        if (rc == 0 && n == 0) {
            snprintf(err, err_cap, "message %s names no recipient this MTA is responsible for",
                     idtext);
            rc = OX_E_PEER;
        }
        if (rc == 0 && !msg->is_probe && content) {
            wp = content; /* streamed in already (ox_mta_rx) */
            have_writer = true;
            in.content = wp;
        } else if (rc == 0 && !msg->is_probe) {
            rc = ox_queue_content_begin(m->q, &w);
            have_writer = rc == 0;
            if (rc == 0)
                rc = ox_queue_content_write(&w, msg->content);
            in.content = &w;
        }
    }
    if (content && !have_writer)
        ox_queue_content_discard(content);
    if (rc == 0) {
        in.mts_id = idtext;
        in.envelope = ox_buf_span(&env);
        in.rcpts = rin;
        in.n_rcpts = n;
    }
    ox_span body;
    if (rc == 0 && at_arrival && ox_queue_content_in_memory(wp, &body)) {
        rc = deliver_at_arrival(m, &in, body, apdu_len, now_ms, err, err_cap);
        delivered = rc != OX_E_AGAIN;
        if (delivered) {
            ox_queue_content_discard(wp);
            have_writer = false;
        } else {
            rc = 0;
        }
    }
    if (rc == 0 && !delivered) {
        int64_t id;
        have_writer = false; /* insert takes the writer whatever happens */
        rc = ox_queue_insert(m->q, &in, now_ms, &id);
        if (rc == 0) {
            ox_event_ctx ctx = {.msgid = idtext, .peer = local ? NULL : source};
            ox_event_emit(m->log, now_ms, local ? OX_EV_MSG_SUBMITTED : OX_EV_MSG_RECEIVED, &ctx,
                          "%s %s from %s for %zu recipient(s), %zu octets, queued",
                          in.kind == OX_QUEUE_KIND_REPORT  ? "report"
                          : in.kind == OX_QUEUE_KIND_PROBE ? "probe"
                                                           : "message",
                          idtext, local ? addr : source, n, (size_t)apdu_len);
            if (local)
                m->submitted++;
            else
                m->received++;
            m->last_queued = true;
        } else if (rc != OX_QUEUE_DUPLICATE) {
            snprintf(err, err_cap, "queue: %s", ox_queue_errmsg(m->q));
        }
    } else if (rc != OX_E_PEER && !delivered) {
        snprintf(err, err_cap, "cannot encode the envelope (%s)", ox_strerror(rc));
    }
    if (rc == OX_QUEUE_DUPLICATE) { /* in the queue, or delivered at arrival and its rows wait */
        ox_event_ctx ctx = {.msgid = idtext, .peer = source};
        ox_event_emit(m->log, now_ms, OX_EV_DUPLICATE_IGNORED, &ctx,
                      "%s resent %s, which this MTA %s; confirmed without %s it twice", source,
                      idtext, delivered ? "delivered at its arrival" : "already holds",
                      delivered ? "delivering" : "storing");
    }
    if (have_writer)
        ox_queue_content_discard(wp);
    if (mtsid)
        snprintf(mtsid, mtsid_cap, "%s", idtext);
    free(rin);
    free(addrs);
    ox_buf_free(&env);
    ox_p1_apdu_free(&a);
    return rc;
}

/* Builds and stores the report for recipient |r| of stored message |msg_id|. */
static void make_report(ox_mta *m, int64_t msg_id, const ox_queue_rcpt_info *r, bool delivered,
                        int reason, int diagnostic, uint64_t now_ms)
{
    ox_queue_msg_info mi;
    if (ox_queue_get_msg(m->q, msg_id, &mi) != 0 || mi.kind == OX_QUEUE_KIND_REPORT)
        return; /* never a report about a report */
    char subject_id[OX_QUEUE_MTS_ID_MAX];
    snprintf(subject_id, sizeof(subject_id), "%s", mi.mts_id);
    ox_buf env, out;
    ox_buf_init(&env, NULL, NULL, 0);
    ox_buf_init(&out, NULL, NULL, 0);
    ox_p1_message subj;
    ox_p1_message_init(&subj, NULL);
    ox_p1_report rep;
    ox_p1_report_init(&rep, NULL);
    size_t off;
    uint64_t clen;
    ox_p1_diag d;
    int rc = ox_queue_get_envelope(m->q, msg_id, &env);
    if (rc == 0) {
        ox_p1_apdu a;
        if (mi.kind == OX_QUEUE_KIND_PROBE) {
            rc = ox_p1_apdu_decode(ox_buf_span(&env), OX_P1_1988, NULL, NULL, &a, &d);
            if (rc == 0)
                subj = a.msg; /* takes the probe's lists; |a| is not freed */
        } else {
            rc = ox_p1_message_decode_head(ox_buf_span(&env), OX_P1_1988, NULL, NULL, &subj, &off,
                                           &clen, &d);
        }
    }
    ox_p1_mtsid id;
    ox_mta_new_id(m, now_ms, &id);
    ox_p1_trace here;
    here_trace(m, now_ms, &here);
    if (rc == 0)
        rc = ox_p1_report_for(&rep, &subj, &id, &here);
    ox_p1_report_recipient rr;
    if (rc == 0)
        rc = ox_p1_report_recipient_for(&rr, &subj, OX_MTA_RCPT_ENV_INDEX(r->report_flags),
                                        delivered, (ox_p1_time)(now_ms / 1000), reason, diagnostic);
    if (rc == 0)
        rc = ox_p1_report_add_recipient(&rep, &rr);
    if (rc == 0)
        rc = ox_p1_report_encode(&out, &rep, OX_P1_1988);
    char rid[OX_QUEUE_MTS_ID_MAX], err[256];
    if (rc == 0)
        rc =
            ox_mta_store(m, ox_buf_span(&out), "local", now_ms, rid, sizeof(rid), err, sizeof(err));
    ox_event_ctx ctx = {.msgid = subject_id};
    if (rc == 0) {
        m->reports++;
        ox_event_emit(m->log, now_ms, OX_EV_REPORT_GENERATED, &ctx,
                      "%s report %s for %s about %s sent to the originator %s",
                      delivered ? "delivery" : "non-delivery", rid, r->address, subject_id,
                      mi.originator);
    } else {
        ox_event_emit(m->log, now_ms, OX_EV_MSG_NON_DELIVERED, &ctx,
                      "could not build the %s report about %s for %s (%s): the originator will "
                      "not be told",
                      delivered ? "delivery" : "non-delivery", subject_id, r->address,
                      ox_strerror(rc));
    }
    ox_p1_report_free(&rep);
    ox_p1_message_free(&subj);
    ox_buf_free(&env);
    ox_buf_free(&out);
}

/* Final state for one recipient: delivered or not, then the report step. */
static int finish(ox_mta *m, const ox_queue_due *due, bool delivered, int reason, int diagnostic,
                  const char *why, uint64_t now_ms)
{
    ox_queue_rcpt_info r;
    int rc = ox_queue_get_rcpt(m->q, due->rcpt_id, &r);
    if (rc)
        return rc;
    char addr[600];
    snprintf(addr, sizeof(addr), "%s", r.address);
    r.address = addr;
    rc = delivered
             ? ox_queue_mark_delivered(m->q, due->rcpt_id, now_ms)
             : ox_queue_mark_non_delivered(m->q, due->rcpt_id, now_ms, reason, diagnostic, why);
    if (rc)
        return rc;
    bool want =
        delivered ? (r.report_flags & (OX_P1_PRI_ORIG_REPORT | OX_P1_PRI_MTA_REPORT)) != 0 : true;
    if (want)
        make_report(m, due->msg_id, &r, delivered, reason, diagnostic, now_ms);
    if ((rc = ox_queue_mark_reported(m->q, due->rcpt_id, now_ms)) != 0)
        return rc;
    return ox_queue_purge_msg(m->q, due->msg_id, now_ms, NULL); /* if it was the last */
}

static int deliver_local(ox_mta *m, const ox_queue_due *due, uint64_t now_ms)
{
    ox_queue_msg_info mi;
    ox_queue_rcpt_info r;
    int rc = ox_queue_get_msg(m->q, due->msg_id, &mi);
    if (rc)
        return rc;
    char mts[OX_QUEUE_MTS_ID_MAX];
    snprintf(mts, sizeof(mts), "%s", mi.mts_id);
    ox_queue_kind kind = mi.kind;
    if ((rc = ox_queue_get_rcpt(m->q, due->rcpt_id, &r)) != 0)
        return rc;
    char addr[600];
    snprintf(addr, sizeof(addr), "%s", r.address);
    char path[OX_CFG_PATH_MAX + 400] = "", err[400];
    ox_event_ctx ctx = {.msgid = mts};
    if (kind != OX_QUEUE_KIND_PROBE) {
        rc = ox_mta_deliver_file(m, due->msg_id, mts, addr, due->index, path, sizeof(path), err,
                                 sizeof(err));
        if (rc) {
            ox_event_emit(m->log, now_ms, OX_EV_TRANSFER_RETRY, &ctx,
                          "local delivery of %s to %s failed (%s); retrying in %u s", mts, addr,
                          err, m->cfg->values.transfer_interval_s);
            return ox_queue_retry(m->q, due->rcpt_id, now_ms,
                                  now_ms + m->cfg->values.transfer_interval_s * 1000ull,
                                  OX_QUEUE_ATTEMPT_TRANSFER, err);
        }
    }
    m->delivered++;
    ox_event_emit(m->log, now_ms, OX_EV_MSG_DELIVERED, &ctx, "%s %s delivered to %s%s%s",
                  kind == OX_QUEUE_KIND_REPORT  ? "report"
                  : kind == OX_QUEUE_KIND_PROBE ? "probe"
                                                : "message",
                  mts, addr, path[0] ? " in " : "", path);
    ox_queue_history_add(m->q, due->msg_id, now_ms, OX_EV_MSG_DELIVERED, path);
    return finish(m, due, true, 0, -1, NULL, now_ms);
}

typedef struct special {
    const char *connector;
    int reason, diagnostic;
    ox_event_id event;
    const char *text;
} special;

static const special specials[] = {
    {OX_MTA_UNROUTED, OX_P1_NDR_UNABLE_TO_TRANSFER, OX_P1_DIAG_UNRECOGNISED_ORNAME, OX_EV_NO_ROUTE,
     "no address space of this MTA matches the recipient"},
    {LOOP_CONNECTOR, OX_P1_NDR_UNABLE_TO_TRANSFER, OX_P1_DIAG_LOOP_DETECTED, OX_EV_ROUTING_LOOP,
     "the message had already passed through this MTA's domain (routing loop)"},
};

int ox_mta_run(ox_mta *m, uint64_t now_ms, uint64_t *next_ms)
{
    ox_queue_due due[BATCH_MAX];
    size_t n;
    int rc = ox_queue_batch_begin(m->q);
    if (rc)
        return rc;
    /* Expired first: they must not be delivered late. */
    if ((rc = ox_queue_expired(m->q, now_ms, due, BATCH_MAX, &n)) == 0) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            ox_queue_msg_info mi;
            char mts[OX_QUEUE_MTS_ID_MAX] = "";
            if (ox_queue_get_msg(m->q, due[i].msg_id, &mi) == 0)
                snprintf(mts, sizeof(mts), "%s", mi.mts_id);
            ox_event_ctx ctx = {.msgid = mts};
            ox_event_emit(m->log, now_ms, OX_EV_MSG_EXPIRED, &ctx,
                          "%s waited past its message timeout and is non-delivered (maximum "
                          "time expired)",
                          mts);
            rc = finish(m, &due[i], false, OX_P1_NDR_UNABLE_TO_TRANSFER,
                        OX_P1_DIAG_MAXIMUM_TIME_EXPIRED, "maximum time expired", now_ms);
        }
    }
    for (size_t s = 0; rc == 0 && s < OX_ARRAY_LEN(specials); s++) {
        if ((rc = ox_queue_due_for(m->q, specials[s].connector, now_ms, due, BATCH_MAX, &n)))
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            ox_queue_msg_info mi;
            char mts[OX_QUEUE_MTS_ID_MAX] = "";
            if (ox_queue_get_msg(m->q, due[i].msg_id, &mi) == 0)
                snprintf(mts, sizeof(mts), "%s", mi.mts_id);
            ox_event_ctx ctx = {.msgid = mts};
            ox_event_emit(m->log, now_ms, specials[s].event, &ctx, "%s: %s; non-delivered", mts,
                          specials[s].text);
            rc = finish(m, &due[i], false, specials[s].reason, specials[s].diagnostic,
                        specials[s].text, now_ms);
        }
    }
    if (rc == 0 && (rc = ox_queue_due_for(m->q, OX_MTA_LOCAL, now_ms, due, BATCH_MAX, &n)) == 0)
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = deliver_local(m, &due[i], now_ms);
    /* Finished messages go as they finish (ox_queue_purge_msg); the scan of the whole queue
     * only catches what that missed and forgets week-old MTS ids: once a minute. */
    if (rc == 0 && now_ms >= m->next_purge_ms) {
        rc = ox_queue_purge(m->q, now_ms, now_ms > 7 * 86400000ull ? now_ms - 7 * 86400000ull : 0,
                            NULL);
        m->next_purge_ms = now_ms + PURGE_SCAN_MS;
    }
    if (ox_mta_sync_mailboxes(m) != 0 && rc == 0)
        rc = OX_E_IO; /* the files stay; the deliveries are retried and rewrite them */
    if (rc) {
        ox_queue_batch_abort(m->q);
        return rc;
    }
    if ((rc = ox_queue_batch_commit(m->q)) != 0)
        return rc;
    /* More than a batch was due: come back at once. */
    uint64_t when;
    m->busy = n == BATCH_MAX;
    if (m->busy)
        *next_ms = now_ms;
    else if (ox_queue_next_due(m->q, &when) == 0)
        *next_ms = when;
    else
        *next_ms = UINT64_MAX;
    return 0;
}

int ox_mta_transfer_failed(ox_mta *m, int64_t rcpt_id, const ox_connector_cfg *c,
                           ox_queue_attempt kind, const char *why, uint64_t now_ms)
{
    ox_queue_rcpt_info r;
    int rc = ox_queue_get_rcpt(m->q, rcpt_id, &r);
    if (rc)
        return rc;
    uint32_t tries = kind == OX_QUEUE_ATTEMPT_OPEN ? r.open_attempts : r.transfer_attempts;
    uint32_t max =
        kind == OX_QUEUE_ATTEMPT_OPEN ? c->values.max_open_retries : c->values.max_transfer_retries;
    if (tries + 1 > max) {
        ox_queue_due d = {.rcpt_id = rcpt_id, .msg_id = r.msg_id, .index = r.index};
        return finish(m, &d, false, OX_P1_NDR_UNABLE_TO_TRANSFER, OX_P1_DIAG_RECIPIENT_UNAVAILABLE,
                      why, now_ms);
    }
    uint32_t wait =
        kind == OX_QUEUE_ATTEMPT_OPEN ? c->values.open_interval_s : c->values.transfer_interval_s;
    return ox_queue_retry(m->q, rcpt_id, now_ms, now_ms + (uint64_t)wait * 1000, kind, why);
}
