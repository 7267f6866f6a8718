/* store_stream.c - storing an inbound MTS-APDU as it arrives (ox_mta_rx)
 *
 * Why: a 100 MB message must never sit whole in memory (issue 6). An RTSE transfer hands the
 *      daemon the APDU in pieces; only the envelope (everything before the content octets)
 *      is held, bounded by OX_MTA_RX_HEAD_MAX, and decoded with ox_p1_message_decode_head as
 *      soon as it is complete. From then on every content octet goes straight into a queue
 *      content writer (memory up to the queue's inline limit, then a file), and the end of
 *      the transfer stores the message through ox_mta_store_decoded exactly as ox_mta_store
 *      would (loop check, trace, routing, dedup, events).
 * Fall-back: reports and probes (no content) and messages whose content is constructed or of
 *      indefinite length (legal BER from another MTA) are held whole, bounded by
 *      OX_MTA_RX_WHOLE_MAX, and stored by ox_mta_store.
 * States: HEAD (buffering) -> CONTENT (counting down the content octets) -> TAIL (at most the
 *      end-of-contents octets of an indefinite outer Message) | WHOLE; errors are sticky. */
#include "openx400/mta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { RX_HEAD, RX_CONTENT, RX_TAIL, RX_WHOLE } rx_state;

struct ox_mta_rx {
    ox_mta *m;
    rx_state state;
    ox_buf buf; /* HEAD: the octets so far; WHOLE: the whole APDU */
    ox_p1_message msg;
    bool have_msg;
    ox_queue_writer w;
    bool have_writer;
    uint64_t remaining; /* CONTENT: content octets still to come */
    uint64_t total;     /* octets fed */
    size_t tail;        /* TAIL: end-of-contents octets seen (0x00 each) */
    int err;            /* sticky */
};

int ox_mta_rx_begin(ox_mta *m, ox_mta_rx **out)
{
    ox_mta_rx *rx = calloc(1, sizeof(*rx));
    *out = rx;
    if (!rx)
        return OX_E_NOMEM;
    rx->m = m;
    ox_buf_init(&rx->buf, NULL, NULL, 0);
    rx->buf.max = OX_MTA_RX_HEAD_MAX;
    return 0;
}

static int fail(ox_mta_rx *rx, int rc, char *err, size_t cap, const char *what)
{
    rx->err = rc;
    snprintf(err, cap, "%s", what);
    return rc;
}

/* The heading is complete when decode_head says so: then the content starts. */
static int try_head(ox_mta_rx *rx, char *err, size_t cap)
{
    size_t off = 0;
    uint64_t clen = 0;
    ox_p1_diag d;
    memset(&d, 0, sizeof(d));
    if (rx->buf.len && rx->buf.p[0] != 0xa0) { /* a report or a probe: small, held whole */
        rx->state = RX_WHOLE;
        rx->buf.max = OX_MTA_RX_WHOLE_MAX;
        return 0;
    }
    int rc = ox_p1_message_decode_head(ox_buf_span(&rx->buf), OX_P1_1988, NULL, NULL, &rx->msg,
                                       &off, &clen, &d);
    if (rc == OX_E_AGAIN) {
        ox_p1_message_free(&rx->msg);
        return 0;
    }
    if (rc == OX_E_UNSUPPORTED) { /* constructed content: the whole-APDU decoder copes */
        ox_p1_message_free(&rx->msg);
        rx->state = RX_WHOLE;
        rx->buf.max = OX_MTA_RX_WHOLE_MAX;
        return 0;
    }
    if (rc) {
        ox_p1_message_free(&rx->msg);
        char why[200];
        snprintf(why, sizeof(why), "not a valid P1 message heading: %s (%s) at octet %zu",
                 ox_p1_reason_name(d.reason), ox_ber_reason_name(d.ber.reason), d.ber.offset);
        return fail(rx, rc == OX_E_NOMEM ? rc : OX_E_PEER, err, cap, why);
    }
    rx->have_msg = true;
    if ((rc = ox_queue_content_begin(rx->m->q, &rx->w)) != 0)
        return fail(rx, rc, err, cap, ox_queue_errmsg(rx->m->q));
    rx->have_writer = true;
    rx->state = RX_CONTENT;
    rx->remaining = clen;
    /* Octets after the content header already buffered are content (or the tail). */
    size_t have = rx->buf.len - off;
    size_t n = have < rx->remaining ? have : (size_t)rx->remaining;
    if (n && (rc = ox_queue_content_write(&rx->w, ox_span_of(rx->buf.p + off, n))) != 0)
        return fail(rx, rc, err, cap, "cannot write the content to the queue");
    rx->remaining -= n;
    /* msg's views point into buf up to |off|: keep those octets, drop the rest. */
    size_t extra = have - n;
    uint8_t tailbuf[8];
    if (extra > sizeof(tailbuf))
        return fail(rx, OX_E_PEER, err, cap, "octets after the end of the message");
    memcpy(tailbuf, rx->buf.p + off + n, extra);
    rx->buf.len = off;
    if (rx->remaining == 0)
        rx->state = RX_TAIL;
    for (size_t i = 0; i < extra; i++)
        if (tailbuf[i] != 0 || ++rx->tail > 4)
            return fail(rx, OX_E_PEER, err, cap, "octets after the end of the message");
    return 0;
}

int ox_mta_rx_feed(ox_mta_rx *rx, ox_span data, char *err, size_t cap)
{
    if (rx->err)
        return rx->err;
    rx->total += data.len;
    while (data.len) {
        switch (rx->state) {
        case RX_HEAD:
        case RX_WHOLE: {
            if (ox_buf_append(&rx->buf, data.p, data.len) != 0)
                return fail(rx, OX_E_LIMIT, err, cap,
                            rx->state == RX_HEAD ? "the message heading is larger than 1 MiB"
                                                 : "the APDU is larger than 64 MiB and not "
                                                   "streamable (constructed content)");
            data.len = 0;
            if (rx->state == RX_HEAD) {
                int rc = try_head(rx, err, cap);
                if (rc)
                    return rc;
            }
            break;
        }
        case RX_CONTENT: {
            size_t n = data.len < rx->remaining ? data.len : (size_t)rx->remaining;
            int rc = ox_queue_content_write(&rx->w, ox_span_of(data.p, n));
            if (rc)
                return fail(rx, rc, err, cap,
                            rc == OX_E_LIMIT ? "the content is larger than the queue allows"
                                             : "cannot write the content to the queue");
            rx->remaining -= n;
            data.p += n;
            data.len -= n;
            if (rx->remaining == 0)
                rx->state = RX_TAIL;
            break;
        }
        case RX_TAIL:
            /* An indefinite-length Message ends with end-of-contents octets. */
            for (size_t i = 0; i < data.len; i++)
                if (data.p[i] != 0 || ++rx->tail > 4)
                    return fail(rx, OX_E_PEER, err, cap, "octets after the end of the message");
            data.len = 0;
            break;
        }
    }
    return 0;
}

void ox_mta_rx_cancel(ox_mta_rx *rx)
{
    if (!rx)
        return;
    if (rx->have_writer)
        ox_queue_content_discard(&rx->w);
    if (rx->have_msg)
        ox_p1_message_free(&rx->msg);
    ox_buf_free(&rx->buf);
    free(rx);
}

int ox_mta_rx_end(ox_mta_rx *rx, const char *source, uint64_t now_ms, char *mtsid, size_t mtsid_cap,
                  char *err, size_t err_cap)
{
    int rc;
    if (mtsid && mtsid_cap)
        mtsid[0] = '\0';
    if (rx->err) {
        rc = rx->err;
        snprintf(err, err_cap, "the transfer was refused earlier");
    } else if (rx->state == RX_WHOLE || rx->state == RX_HEAD) {
        /* RX_HEAD at the end: too short to be a message; the whole decoder says why. */
        rc = ox_mta_store(rx->m, ox_buf_span(&rx->buf), source, now_ms, mtsid, mtsid_cap, err,
                          err_cap);
    } else if (rx->state == RX_CONTENT || (rx->tail % 2) != 0) {
        rc = OX_E_PEER;
        snprintf(err, err_cap,
                 "the transfer ended inside the message (%llu content octets "
                 "missing)",
                 (unsigned long long)rx->remaining);
    } else {
        ox_p1_apdu a;
        memset(&a, 0, sizeof(a));
        a.kind = OX_P1_APDU_MESSAGE;
        a.msg = rx->msg;
        ox_p1_report_init(&a.rep, NULL);
        rx->have_msg = false;
        rx->have_writer = false; /* taken by ox_mta_store_decoded */
        rc = ox_mta_store_decoded(rx->m, &a, &rx->w, rx->total, source, now_ms, mtsid, mtsid_cap,
                                  err, err_cap);
    }
    ox_mta_rx_cancel(rx);
    return rc;
}
