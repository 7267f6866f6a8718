/* test_assoc.c - the association machine: an initiator and a responder in one process, pumping
 * bytes to each other through ox_bufs (no sockets), in normal and X.410-1984 mode */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/assoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKINDS 16

typedef struct side {
    ox_assoc a;
    ox_buf out;               /* bytes this side sent, not yet delivered */
    ox_buf got;               /* content received (truncated on resume) */
    int ev[NKINDS];           /* event counts by kind */
    ox_assoc_ev last[NKINDS]; /* the last event of each kind (views not kept) */
    char log[4096];           /* event kinds in order, for split comparisons */
    size_t chunk;             /* feed this side this many octets at a time (0 = all) */
    bool refuse;              /* answer OPEN_IND with refuse */
    bool manual_confirm;
    bool auto_give;
    bool lenient;
    /* corrupted input: do not check the bind octets */ /* give the turn on TURN_PLEASE_IND when
                                                           possible */
    const ox_assoc_rec *resume_rec;                     /* answer TRANSFER_RESUME_IND with this */
    uint64_t now;
    int last_rc;
} side;

static const uint8_t BIND_ARG[] = {0x31, 0x03, 0x80, 0x01, 0x41}; /* a SET, opaque here */
static const uint8_t BIND_RES[] = {0x31, 0x03, 0x80, 0x01, 0x42};
static const uint8_t BIND_ERR[] = {0x02, 0x01, 0x02}; /* MTABindError INTEGER 2 */

static void side_init(side *s, ox_assoc_role role, int64_t mode, uint32_t ckpt, uint32_t window)
{
    memset(s, 0, sizeof(*s));
    ox_assoc_cfg cfg = {.role = role,
                        .mode = mode,
                        .checkpoint = ckpt,
                        .window = window,
                        .max_data = 3000,
                        .id_base = role == OX_ASSOC_INITIATOR ? 100 : 500};
    assert_int_equal(ox_assoc_init(&s->a, &cfg), 0);
    ox_buf_init(&s->out, NULL, NULL, 0);
    ox_buf_init(&s->got, NULL, NULL, 0);
    s->now = 1000;
}

static void side_free(side *s)
{
    ox_assoc_free(&s->a);
    ox_buf_free(&s->out);
    ox_buf_free(&s->got);
}

static void drain(side *s)
{
    ox_assoc_ev e;
    while (ox_assoc_next_event(&s->a, &e)) {
        assert_true(e.kind < NKINDS);
        s->ev[e.kind]++;
        s->last[e.kind] = e;
        s->last[e.kind].data = ox_span_of(NULL, e.data.len);
        size_t l = strlen(s->log);
        snprintf(s->log + l, sizeof(s->log) - l, "%s,", ox_assoc_ev_name(e.kind));
        switch (e.kind) {
        case OX_ASSOC_EV_OPEN_IND:
            if (s->refuse)
                assert_int_equal(ox_assoc_refuse(&s->a, ox_span_of(BIND_ERR, sizeof(BIND_ERR)),
                                                 e.recover ? OX_RTSE_RJ_CANNOT_RECOVER
                                                           : OX_RTSE_RJ_VALIDATION_FAILURE,
                                                 &s->out),
                                 0);
            else {
                if (!e.recover && !s->lenient)
                    assert_memory_equal(e.data.p, BIND_ARG, sizeof(BIND_ARG));
                assert_int_equal(
                    ox_assoc_accept(&s->a, ox_span_of(BIND_RES, sizeof(BIND_RES)), &s->out), 0);
            }
            break;
        case OX_ASSOC_EV_OPEN_CONF:
            if (e.accepted && !e.recover)
                assert_memory_equal(e.data.p, BIND_RES, sizeof(BIND_RES));
            break;
        case OX_ASSOC_EV_TRANSFER_DATA_IND:
            assert_int_equal(e.offset, s->got.len);
            ox_buf_append(&s->got, e.data.p, e.data.len);
            break;
        case OX_ASSOC_EV_TRANSFER_END_IND:
            if (!s->manual_confirm)
                assert_int_equal(ox_assoc_transfer_confirm(&s->a, &s->out), 0);
            break;
        case OX_ASSOC_EV_TRANSFER_RESUME_IND:
            ox_assoc_resume_rx(&s->a, s->resume_rec, &s->out);
            break;
        case OX_ASSOC_EV_TRANSFER_RESUMED:
            assert_true(e.offset <= s->got.len);
            s->got.len = (size_t)e.offset; /* the MTA truncates its partial content */
            break;
        case OX_ASSOC_EV_TURN_PLEASE_IND:
            if (s->auto_give && ox_assoc_can_send(&s->a))
                assert_int_equal(ox_assoc_turn_give(&s->a, &s->out), 0);
            break;
        default: break;
        }
    }
}

/* Delivers what |from| sent to |to|, |to->chunk| octets at a time. Returns octets moved. */
static size_t deliver(side *from, side *to)
{
    size_t off = 0, moved = from->out.len;
    while (off < from->out.len) {
        size_t n = from->out.len - off;
        if (to->chunk && n > to->chunk)
            n = to->chunk;
        size_t used = 0;
        int rc = ox_assoc_feed(&to->a, ox_span_of(from->out.p + off, n), to->now, &to->out, &used);
        if (rc)
            to->last_rc = rc;
        drain(to);
        off += used;
        if (!used && rc)
            break;
    }
    ox_buf_reset(&from->out);
    return moved;
}

static void pump(side *x, side *y)
{
    for (int i = 0; i < 100000; i++)
        if (!deliver(x, y) && !deliver(y, x))
            return;
    fail_msg("pump did not settle");
}

static void open_pair(side *i, side *r, int64_t mode, uint32_t ci, uint32_t wi, uint32_t cr,
                      uint32_t wr)
{
    side_init(i, OX_ASSOC_INITIATOR, mode, ci, wi);
    side_init(r, OX_ASSOC_RESPONDER, mode, cr, wr);
    assert_int_equal(ox_assoc_open(&i->a, ox_span_of(BIND_ARG, sizeof(BIND_ARG)), i->now, &i->out),
                     0);
    pump(i, r);
}

/* A deterministic content of |n| octets. */
static uint8_t *content(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(k * 131 + (k >> 8) + 7);
    return p;
}

/* Sends |n| octets from |s| to |r| (s holds the turn), pumping while the window is full.
 * Returns the number of window stalls. */
static int transfer(side *s, side *r, const uint8_t *p, size_t n, size_t from)
{
    int stalls = 0;
    size_t off = from;
    while (off < n) {
        size_t taken = 0;
        assert_int_equal(
            ox_assoc_transfer_data(&s->a, ox_span_of(p + off, n - off), &s->out, &taken), 0);
        off += taken;
        if (off < n) {
            stalls++;
            int w = s->ev[OX_ASSOC_EV_WRITABLE];
            pump(s, r);
            assert_int_equal(s->ev[OX_ASSOC_EV_WRITABLE], w + 1);
        }
    }
    assert_int_equal(ox_assoc_transfer_end(&s->a, &s->out), 0);
    pump(s, r);
    return stalls;
}

static void run_transfer(int64_t mode, size_t n, uint32_t ckpt, uint32_t window, int min_stalls)
{
    side i, r;
    open_pair(&i, &r, mode, ckpt, window, ckpt, window);
    assert_int_equal(i.ev[OX_ASSOC_EV_OPEN_CONF], 1);
    assert_true(i.last[OX_ASSOC_EV_OPEN_CONF].accepted);
    assert_true(ox_assoc_can_send(&i.a));
    assert_false(ox_assoc_can_send(&r.a));
    uint8_t *p = content(n);
    assert_int_equal(ox_assoc_transfer_begin(&i.a, n, &i.out), 0);
    int stalls = transfer(&i, &r, p, n, 0);
    assert_true(stalls >= min_stalls);
    assert_int_equal(r.ev[OX_ASSOC_EV_TRANSFER_BEGIN_IND], 1);
    assert_int_equal(r.ev[OX_ASSOC_EV_TRANSFER_END_IND], 1);
    assert_int_equal(r.last[OX_ASSOC_EV_TRANSFER_END_IND].length, n);
    assert_int_equal(i.ev[OX_ASSOC_EV_TRANSFER_CONF], 1);
    assert_int_equal(r.got.len, n);
    if (n)
        assert_memory_equal(r.got.p, p, n);
    ox_assoc_rec rec;
    assert_false(ox_assoc_recovery(&i.a, &rec));
    assert_false(ox_assoc_recovery(&r.a, &rec));
    assert_int_equal(ox_assoc_release(&i.a, &i.out), 0);
    pump(&i, &r);
    assert_int_equal(r.ev[OX_ASSOC_EV_RELEASE_IND], 1);
    assert_int_equal(i.ev[OX_ASSOC_EV_RELEASE_CONF], 1);
    assert_int_equal(i.a.state, OX_ASSOC_CLOSED);
    assert_int_equal(r.a.state, OX_ASSOC_CLOSED);
    assert_int_equal(i.ev[OX_ASSOC_EV_ABORT_IND] + r.ev[OX_ASSOC_EV_ABORT_IND], 0);
    free(p);
    side_free(&i);
    side_free(&r);
}

static void test_transfer_sizes(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        run_transfer(modes[m], 0, 1024, 3, 0);
        run_transfer(modes[m], 1, 1024, 3, 0);
        run_transfer(modes[m], 1024, 1024, 3, 0);    /* exactly one checkpoint of content */
        run_transfer(modes[m], 1010, 1024, 3, 0);    /* content + framing = one checkpoint */
        run_transfer(modes[m], 100000, 2048, 2, 10); /* many checkpoints, window stalls */
        run_transfer(modes[m], 50000, 0, 3, 0);      /* no checkpointing */
    }
}

static void test_open_negotiation(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        side i, r;
        open_pair(&i, &r, modes[m], 30 * 1024, 5, 8 * 1024, 7);
        assert_int_equal(r.ev[OX_ASSOC_EV_OPEN_IND], 1);
        assert_int_equal(r.last[OX_ASSOC_EV_OPEN_IND].mode, modes[m]);
        assert_int_equal(r.last[OX_ASSOC_EV_OPEN_IND].checkpoint, 8 * 1024);
        assert_int_equal(r.last[OX_ASSOC_EV_OPEN_IND].window, 5);
        assert_int_equal(r.last[OX_ASSOC_EV_OPEN_IND].dialogue, OX_RTSE_TWA);
        assert_int_equal(i.last[OX_ASSOC_EV_OPEN_CONF].checkpoint, 8 * 1024);
        assert_int_equal(i.last[OX_ASSOC_EV_OPEN_CONF].window, 5);
        assert_int_equal(i.a.state, OX_ASSOC_OPEN);
        assert_int_equal(r.a.state, OX_ASSOC_OPEN);
        /* The responder has no turn: no transfer, no release. */
        assert_int_equal(ox_assoc_transfer_begin(&r.a, 10, &r.out), OX_E_STATE);
        assert_int_equal(ox_assoc_release(&r.a, &r.out), OX_E_STATE);
        assert_int_equal(ox_assoc_turn_give(&r.a, &r.out), OX_E_STATE);
        assert_int_equal(ox_assoc_turn_please(&i.a, 1, &i.out), OX_E_STATE);
        assert_int_equal(ox_assoc_open(&i.a, ox_span_of(NULL, 0), 0, &i.out), OX_E_STATE);
        assert_int_equal(ox_assoc_accept(&r.a, ox_span_of(NULL, 0), &r.out), OX_E_STATE);
        assert_int_equal(r.out.len + i.out.len, 0);
        side_free(&i);
        side_free(&r);
    }
    /* Checkpointing off on one side wins; the window the peer omits is the default 3. */
    side i, r;
    open_pair(&i, &r, OX_ASSOC_NORMAL, 0, 3, 4096, 10);
    assert_int_equal(i.last[OX_ASSOC_EV_OPEN_CONF].checkpoint, 0);
    assert_int_equal(i.last[OX_ASSOC_EV_OPEN_CONF].window, 3);
    assert_int_equal(r.last[OX_ASSOC_EV_OPEN_IND].window, 3);
    side_free(&i);
    side_free(&r);
}

static void test_open_refused(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        side i, r;
        side_init(&i, OX_ASSOC_INITIATOR, modes[m], 0, 0);
        side_init(&r, OX_ASSOC_RESPONDER, 0, 0, 0);
        r.refuse = true;
        assert_int_equal(ox_assoc_open(&i.a, ox_span_of(BIND_ARG, sizeof(BIND_ARG)), 0, &i.out), 0);
        pump(&i, &r);
        assert_int_equal(i.ev[OX_ASSOC_EV_OPEN_CONF], 1);
        ox_assoc_ev *e = &i.last[OX_ASSOC_EV_OPEN_CONF];
        assert_false(e->accepted);
        if (modes[m] == OX_ASSOC_NORMAL) {
            assert_int_equal(e->layer, OX_ASSOC_L_ACSE);
            assert_int_equal(e->data.len, sizeof(BIND_ERR));
        } else {
            assert_int_equal(e->layer, OX_ASSOC_L_RTSE);
            assert_int_equal(e->reason, OX_RTSE_RJ_VALIDATION_FAILURE);
        }
        assert_non_null(strstr(e->why, "refused"));
        assert_int_equal(i.a.state, OX_ASSOC_CLOSED);
        assert_int_equal(r.a.state, OX_ASSOC_CLOSED);
        assert_int_equal(ox_assoc_transfer_begin(&i.a, 1, &i.out), OX_E_STATE);
        side_free(&i);
        side_free(&r);
    }
}

static void test_turns(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        side i, r;
        open_pair(&i, &r, modes[m], 1024, 3, 1024, 3);
        /* responder asks, initiator gives, responder transfers, then gives back */
        assert_int_equal(ox_assoc_turn_please(&r.a, 7, &r.out), 0);
        pump(&i, &r);
        assert_int_equal(i.ev[OX_ASSOC_EV_TURN_PLEASE_IND], 1);
        assert_int_equal(i.last[OX_ASSOC_EV_TURN_PLEASE_IND].priority, 7);
        assert_int_equal(ox_assoc_turn_give(&i.a, &i.out), 0);
        assert_false(ox_assoc_can_send(&i.a));
        assert_int_equal(ox_assoc_transfer_begin(&i.a, 1, &i.out), OX_E_STATE);
        pump(&i, &r);
        assert_int_equal(r.ev[OX_ASSOC_EV_TURN_GIVE_IND], 1);
        assert_true(ox_assoc_can_send(&r.a));
        uint8_t *p = content(5000);
        assert_int_equal(ox_assoc_transfer_begin(&r.a, 5000, &r.out), 0);
        /* no turn change or release in the middle of a transfer */
        assert_int_equal(ox_assoc_turn_give(&r.a, &r.out), OX_E_STATE);
        assert_int_equal(ox_assoc_release(&r.a, &r.out), OX_E_STATE);
        transfer(&r, &i, p, 5000, 0);
        assert_int_equal(i.got.len, 5000);
        assert_memory_equal(i.got.p, p, 5000);
        assert_int_equal(r.ev[OX_ASSOC_EV_TRANSFER_CONF], 1);
        /* initiator asks back with auto-give on the responder */
        r.auto_give = true;
        assert_int_equal(ox_assoc_turn_please(&i.a, 0, &i.out), 0);
        pump(&i, &r);
        assert_int_equal(i.ev[OX_ASSOC_EV_TURN_GIVE_IND], 1);
        assert_int_equal(ox_assoc_release(&i.a, &i.out), 0);
        pump(&i, &r);
        assert_int_equal(i.ev[OX_ASSOC_EV_RELEASE_CONF], 1);
        free(p);
        side_free(&i);
        side_free(&r);
    }
}

static void test_release_by_responder(void **st)
{
    (void)st;
    side i, r;
    open_pair(&i, &r, OX_ASSOC_X410, 0, 0, 0, 0);
    i.auto_give = true;
    assert_int_equal(ox_assoc_turn_please(&r.a, 0, &r.out), 0);
    pump(&i, &r);
    assert_int_equal(ox_assoc_release(&r.a, &r.out), 0);
    assert_int_equal(r.a.state, OX_ASSOC_AWAIT_DN);
    pump(&i, &r);
    assert_int_equal(i.ev[OX_ASSOC_EV_RELEASE_IND], 1);
    assert_int_equal(r.ev[OX_ASSOC_EV_RELEASE_CONF], 1);
    side_free(&i);
    side_free(&r);
}

static void test_user_abort(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        side i, r;
        open_pair(&i, &r, modes[m], 1024, 3, 1024, 3);
        assert_int_equal(ox_assoc_transfer_begin(&i.a, 10000, &i.out), 0);
        size_t taken;
        uint8_t *p = content(10000);
        assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of(p, 2500), &i.out, &taken), 0);
        pump(&i, &r);
        assert_int_equal(ox_assoc_abort(&i.a, OX_RTSE_AB_PERMANENT_PROBLEM, &i.out), 0);
        assert_int_equal(i.a.state, OX_ASSOC_ABORTED);
        pump(&i, &r);
        assert_int_equal(r.ev[OX_ASSOC_EV_ABORT_IND], 1);
        ox_assoc_ev *e = &r.last[OX_ASSOC_EV_ABORT_IND];
        assert_false(e->local);
        assert_int_equal(e->layer, OX_ASSOC_L_USER);
        assert_int_equal(e->reason, OX_RTSE_AB_PERMANENT_PROBLEM);
        ox_assoc_rec rec;
        assert_false(ox_assoc_recovery(&r.a, &rec)); /* a user abort is not recovered */
        assert_false(ox_assoc_recovery(&i.a, &rec));
        /* sticky */
        assert_int_equal(ox_assoc_abort(&i.a, 0, &i.out), OX_E_STATE);
        assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of(p, 1), &i.out, &taken),
                         OX_E_STATE);
        assert_int_equal(ox_assoc_release(&r.a, &r.out), OX_E_STATE);
        free(p);
        side_free(&i);
        side_free(&r);
    }
}

/* The initiator's whole byte stream of a short exchange, fed to fresh responders split at
 * every point: the same events and the same content. */
static void test_split_every_byte(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        side i, r;
        side_init(&i, OX_ASSOC_INITIATOR, modes[m], 1024, 3);
        side_init(&r, OX_ASSOC_RESPONDER, 0, 1024, 3);
        ox_buf stream;
        ox_buf_init(&stream, NULL, NULL, 0);
        uint8_t *p = content(2500);
        assert_int_equal(ox_assoc_open(&i.a, ox_span_of(BIND_ARG, sizeof(BIND_ARG)), 0, &i.out), 0);
        for (int step = 0; step < 3; step++) {
            if (step == 1) {
                assert_int_equal(ox_assoc_transfer_begin(&i.a, 2500, &i.out), 0);
                size_t taken;
                assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of(p, 2500), &i.out, &taken),
                                 0);
                assert_int_equal(taken, 2500);
                assert_int_equal(ox_assoc_transfer_end(&i.a, &i.out), 0);
            } else if (step == 2) {
                assert_int_equal(ox_assoc_release(&i.a, &i.out), 0);
            }
            for (int k = 0; k < 50 && (i.out.len || r.out.len); k++) {
                ox_buf_append(&stream, i.out.p, i.out.len);
                deliver(&i, &r);
                deliver(&r, &i);
            }
        }
        assert_int_equal(r.ev[OX_ASSOC_EV_RELEASE_IND], 1);
        for (size_t cut = 1; cut < stream.len; cut++) {
            side x;
            side_init(&x, OX_ASSOC_RESPONDER, 0, 1024, 3);
            side src = {0};
            ox_buf_init(&src.out, NULL, NULL, 0);
            ox_buf_append(&src.out, stream.p, cut);
            deliver(&src, &x);
            ox_buf_append(&src.out, stream.p + cut, stream.len - cut);
            deliver(&src, &x);
            assert_string_equal(x.log, r.log);
            assert_int_equal(x.got.len, 2500);
            assert_memory_equal(x.got.p, p, 2500);
            ox_buf_free(&src.out);
            side_free(&x);
        }
        /* and one octet at a time */
        side x;
        side_init(&x, OX_ASSOC_RESPONDER, 0, 1024, 3);
        x.chunk = 1;
        side src = {0};
        ox_buf_init(&src.out, NULL, NULL, 0);
        ox_buf_append(&src.out, stream.p, stream.len);
        deliver(&src, &x);
        assert_string_equal(x.log, r.log);
        ox_buf_free(&src.out);
        side_free(&x);
        ox_buf_free(&stream);
        free(p);
        side_free(&i);
        side_free(&r);
    }
}

/* ---- recovery ---- */

enum { RV_RESUME, RV_LOST_MIA, RV_NO_RECORD, RV_REFUSED };

/* Starts a transfer of |n| octets from |s| to |r| and cuts the connection after about |cut|
 * octets; |lose_mia| drops the receiver's last acknowledgements with the connection. */
static size_t cut_transfer(side *s, side *r, const uint8_t *p, size_t n, size_t cut, bool lose_mia)
{
    assert_int_equal(ox_assoc_transfer_begin(&s->a, n, &s->out), 0);
    size_t off = 0;
    while (off < cut) {
        size_t taken;
        assert_int_equal(
            ox_assoc_transfer_data(&s->a, ox_span_of(p + off, cut - off), &s->out, &taken), 0);
        off += taken;
        if (off < cut)
            pump(s, r);
    }
    /* the last window is in flight: delivered (MIAs lost) or lost */
    if (lose_mia) {
        size_t taken;
        assert_int_equal(
            ox_assoc_transfer_data(&s->a, ox_span_of(p + off, 3 * 2048), &s->out, &taken), 0);
        off += taken;
        deliver(s, r);
    }
    ox_buf_reset(&s->out);
    ox_buf_reset(&r->out);
    ox_assoc_transport_lost(&s->a, 5000);
    ox_assoc_transport_lost(&r->a, 5000);
    drain(s);
    drain(r);
    assert_int_equal(s->ev[OX_ASSOC_EV_ABORT_IND], 1);
    assert_int_equal(s->last[OX_ASSOC_EV_ABORT_IND].layer, OX_ASSOC_L_TRANSPORT);
    assert_true(s->last[OX_ASSOC_EV_ABORT_IND].local);
    return off;
}

static void recovery_case(int64_t mode, bool sender_initiates, int variant)
{
    const size_t n = 60000, cut = 31000;
    const uint32_t ck = 2048, win = 3;
    side i, r;
    open_pair(&i, &r, mode, ck, win, ck, win);
    side *s = &i, *rx = &r;
    if (!sender_initiates) {
        i.auto_give = true;
        assert_int_equal(ox_assoc_turn_please(&r.a, 0, &r.out), 0);
        pump(&i, &r);
        s = &r;
        rx = &i;
    }
    uint8_t *p = content(n);
    size_t sent = cut_transfer(s, rx, p, n, cut, variant == RV_LOST_MIA);
    ox_assoc_rec rs, rr;
    assert_true(ox_assoc_recovery(&s->a, &rs));
    assert_true(ox_assoc_recovery(&rx->a, &rr));
    assert_true(rs.sender);
    assert_false(rr.sender);
    assert_int_equal(rs.length, n);
    assert_int_equal(rr.length, n);
    assert_true(rs.serial > 0);
    assert_true(rr.serial >= rs.serial);
    if (variant == RV_LOST_MIA)
        assert_true(rr.serial > rs.serial);
    assert_memory_equal(rs.activity_id, rr.activity_id, rs.activity_id_len);

    /* the new association: the initiator recovers (X.228 9.6) */
    side i2, r2;
    side_init(&i2, OX_ASSOC_INITIATOR, mode, ck, win);
    side_init(&r2, OX_ASSOC_RESPONDER, 0, ck, win);
    side *s2 = sender_initiates ? &i2 : &r2, *rx2 = sender_initiates ? &r2 : &i2;
    ox_buf_append(&rx2->got, rx->got.p, rx->got.len); /* the MTA kept the partial content */
    rx2->resume_rec = variant == RV_NO_RECORD ? NULL : &rr;
    r2.refuse = variant == RV_REFUSED;
    ox_assoc_rec *mine = sender_initiates ? &rs : &rr;
    assert_int_equal(ox_assoc_open_recover(&i2.a, mine, 6000, &i2.out), 0);
    pump(&i2, &r2);
    assert_int_equal(r2.ev[OX_ASSOC_EV_OPEN_IND], 1);
    assert_true(r2.last[OX_ASSOC_EV_OPEN_IND].recover);
    assert_int_equal(i2.ev[OX_ASSOC_EV_OPEN_CONF], 1);
    if (variant == RV_REFUSED) {
        assert_false(i2.last[OX_ASSOC_EV_OPEN_CONF].accepted);
        if (mode == OX_ASSOC_X410)
            assert_int_equal(i2.last[OX_ASSOC_EV_OPEN_CONF].reason, OX_RTSE_RJ_CANNOT_RECOVER);
    } else {
        assert_true(i2.last[OX_ASSOC_EV_OPEN_CONF].accepted);
        assert_true(ox_assoc_can_send(&s2->a));
        assert_false(ox_assoc_can_send(&rx2->a));
        uint64_t off = 99;
        assert_int_equal(ox_assoc_transfer_resume(&s2->a, &rs, &off, &s2->out), 0);
        assert_int_equal(off, rs.offset);
        assert_true(sent - off <= (size_t)win * ck);
        if (variant == RV_NO_RECORD) {
            pump(&i2, &r2);
            assert_int_equal(s2->ev[OX_ASSOC_EV_ABORT_IND], 1);
            assert_int_equal(s2->last[OX_ASSOC_EV_ABORT_IND].reason,
                             OX_RTSE_AB_UNRECOGNIZED_ACTIVITY);
            assert_int_equal(rx2->ev[OX_ASSOC_EV_ABORT_IND], 1);
            assert_true(rx2->last[OX_ASSOC_EV_ABORT_IND].local);
        } else {
            transfer(s2, rx2, p, n, (size_t)off);
            assert_int_equal(rx2->ev[OX_ASSOC_EV_TRANSFER_RESUME_IND], 1);
            assert_int_equal(rx2->ev[OX_ASSOC_EV_TRANSFER_RESUMED], 1);
            assert_int_equal(rx2->last[OX_ASSOC_EV_TRANSFER_RESUMED].offset, off);
            assert_int_equal(rx2->ev[OX_ASSOC_EV_TRANSFER_END_IND], 1);
            assert_int_equal(s2->ev[OX_ASSOC_EV_TRANSFER_CONF], 1);
            assert_int_equal(rx2->got.len, n);
            assert_memory_equal(rx2->got.p, p, n);
            assert_int_equal(ox_assoc_release(&s2->a, &s2->out), 0);
            pump(&i2, &r2);
            assert_int_equal(s2->ev[OX_ASSOC_EV_RELEASE_CONF], 1);
        }
    }
    if (variant == RV_NO_RECORD || variant == RV_REFUSED) {
        /* the recovery timeout passed on one side: restart the transfer from zero */
        side i3, r3;
        open_pair(&i3, &r3, mode, ck, win, ck, win);
        assert_int_equal(ox_assoc_transfer_begin(&i3.a, n, &i3.out), 0);
        transfer(&i3, &r3, p, n, 0);
        assert_int_equal(r3.got.len, n);
        assert_memory_equal(r3.got.p, p, n);
        assert_int_equal(i3.ev[OX_ASSOC_EV_TRANSFER_CONF], 1);
        side_free(&i3);
        side_free(&r3);
    }
    free(p);
    side_free(&i);
    side_free(&r);
    side_free(&i2);
    side_free(&r2);
}

static void test_recovery(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++)
        for (int v = RV_RESUME; v <= RV_REFUSED; v++) {
            recovery_case(modes[m], true, v);
            recovery_case(modes[m], false, v);
        }
}

/* Cut before the first checkpoint was confirmed: resumed at serial 0, the framing goes again. */
static void test_recovery_from_start(void **st)
{
    (void)st;
    side i, r;
    open_pair(&i, &r, OX_ASSOC_NORMAL, 4096, 3, 4096, 3);
    uint8_t *p = content(9000);
    assert_int_equal(ox_assoc_transfer_begin(&i.a, 9000, &i.out), 0);
    size_t taken;
    assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of(p, 3000), &i.out, &taken), 0);
    ox_buf_reset(&i.out);
    ox_assoc_transport_lost(&i.a, 10);
    ox_assoc_rec rs, rr;
    assert_true(ox_assoc_recovery(&i.a, &rs));
    assert_int_equal(rs.serial, 0);
    side i2, r2;
    side_init(&i2, OX_ASSOC_INITIATOR, OX_ASSOC_NORMAL, 4096, 3);
    side_init(&r2, OX_ASSOC_RESPONDER, 0, 4096, 3);
    memset(&rr, 0, sizeof(rr)); /* the receiver never saw the activity start */
    r2.resume_rec = &rr;
    rr.valid = true;
    memcpy(rr.activity_id, rs.activity_id, rs.activity_id_len);
    rr.activity_id_len = rs.activity_id_len;
    rr.length = 9000;
    assert_int_equal(ox_assoc_open_recover(&i2.a, &rs, 20, &i2.out), 0);
    pump(&i2, &r2);
    uint64_t off;
    assert_int_equal(ox_assoc_transfer_resume(&i2.a, &rs, &off, &i2.out), 0);
    assert_int_equal(off, 0);
    transfer(&i2, &r2, p, 9000, 0);
    assert_int_equal(r2.got.len, 9000);
    assert_memory_equal(r2.got.p, p, 9000);
    /* resume is only for a recovery association */
    assert_int_equal(ox_assoc_transfer_resume(&i2.a, &rs, &off, &i2.out), OX_E_STATE);
    assert_int_equal(ox_assoc_resume_rx(&r2.a, &rr, &r2.out), OX_E_STATE);
    rs.valid = false;
    side i3;
    side_init(&i3, OX_ASSOC_INITIATOR, OX_ASSOC_NORMAL, 0, 0);
    assert_int_equal(ox_assoc_open_recover(&i3.a, &rs, 0, &i3.out), OX_E_ARG);
    side_free(&i3);
    free(p);
    side_free(&i);
    side_free(&r);
    side_free(&i2);
    side_free(&r2);
}

/* ---- timers ---- */

static void test_timers(void **st)
{
    (void)st;
    uint64_t next;
    /* no answer to the open */
    side i, r;
    side_init(&i, OX_ASSOC_INITIATOR, OX_ASSOC_NORMAL, 0, 0);
    assert_int_equal(ox_assoc_open(&i.a, ox_span_of(BIND_ARG, 5), 1000, &i.out), 0);
    assert_int_equal(ox_assoc_tick(&i.a, 2000, &i.out, &next), 0);
    assert_int_equal(next, 1000 + OX_ASSOC_DEFAULT_OPEN_MS);
    assert_int_equal(ox_assoc_tick(&i.a, next, &i.out, &next), OX_E_STATE);
    drain(&i);
    assert_int_equal(i.last[OX_ASSOC_EV_ABORT_IND].layer, OX_ASSOC_L_TIMER);
    assert_non_null(strstr(i.last[OX_ASSOC_EV_ABORT_IND].why, "CC"));
    assert_int_equal(ox_assoc_tick(&i.a, next + 1, &i.out, &next), 0);
    assert_int_equal(next, 0);
    side_free(&i);

    /* a full window and no MIA: aborted, recoverable */
    open_pair(&i, &r, OX_ASSOC_X410, 1024, 2, 1024, 2);
    assert_int_equal(ox_assoc_tick(&i.a, 1000, &i.out, &next), 0);
    assert_int_equal(next, 0); /* nothing to wait for */
    uint8_t *p = content(10000);
    assert_int_equal(ox_assoc_transfer_begin(&i.a, 10000, &i.out), 0);
    size_t taken;
    assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of(p, 10000), &i.out, &taken), 0);
    assert_true(taken < 10000);
    assert_int_equal(ox_assoc_tick(&i.a, 1001, &i.out, &next), 0);
    assert_int_equal(next, 1000 + OX_ASSOC_DEFAULT_PROGRESS_MS);
    ox_buf_reset(&i.out);
    assert_int_equal(ox_assoc_tick(&i.a, next, &i.out, &next), OX_E_STATE);
    assert_true(i.out.len > 0); /* the AB */
    drain(&i);
    assert_non_null(strstr(i.last[OX_ASSOC_EV_ABORT_IND].why, "MIA"));
    ox_assoc_rec rec;
    assert_true(ox_assoc_recovery(&i.a, &rec));
    assert_int_equal(rec.lost_ms, 1000 + OX_ASSOC_DEFAULT_PROGRESS_MS);
    deliver(&i, &r);
    assert_int_equal(r.ev[OX_ASSOC_EV_ABORT_IND], 1);
    assert_int_equal(r.last[OX_ASSOC_EV_ABORT_IND].reason, OX_RTSE_AB_TEMPORARY_PROBLEM);
    free(p);
    side_free(&i);
    side_free(&r);

    /* no DN after FN; no AEA after AE */
    open_pair(&i, &r, OX_ASSOC_NORMAL, 0, 0, 0, 0);
    assert_int_equal(ox_assoc_release(&i.a, &i.out), 0);
    assert_int_equal(ox_assoc_tick(&i.a, 1000, &i.out, &next), 0);
    assert_int_equal(ox_assoc_tick(&i.a, next, &i.out, &next), OX_E_STATE);
    drain(&i);
    assert_non_null(strstr(i.last[OX_ASSOC_EV_ABORT_IND].why, "DN"));
    side_free(&i);
    side_free(&r);
    open_pair(&i, &r, OX_ASSOC_NORMAL, 0, 0, 0, 0);
    r.manual_confirm = true;
    assert_int_equal(ox_assoc_transfer_begin(&i.a, 3, &i.out), 0);
    assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of("abc", 3), &i.out, &taken), 0);
    assert_int_equal(ox_assoc_transfer_end(&i.a, &i.out), 0);
    pump(&i, &r);
    assert_int_equal(r.ev[OX_ASSOC_EV_TRANSFER_END_IND], 1);
    assert_int_equal(ox_assoc_tick(&i.a, 1000, &i.out, &next), 0);
    assert_int_equal(ox_assoc_tick(&i.a, next, &i.out, &next), OX_E_STATE);
    drain(&i);
    assert_non_null(strstr(i.last[OX_ASSOC_EV_ABORT_IND].why, "AEA"));
    side_free(&i);
    side_free(&r);
}

/* ---- peer errors ---- */

/* Sends raw S-DATA user data from |s| (white box: the session and transport inside). */
static void inject_data(side *s, ox_span ud)
{
    ox_buf t;
    ox_buf_init(&t, NULL, NULL, 0);
    assert_int_equal(ox_ses_data(&s->a.ses, ud, &t), 0);
    assert_int_equal(ox_tpkt_send(&s->a.tpkt, ox_buf_span(&t), &s->out), 0);
    ox_buf_free(&t);
}

static void expect_fault(side *i, side *r, ox_assoc_layer layer, const char *words)
{
    pump(i, r);
    assert_int_equal(r->ev[OX_ASSOC_EV_ABORT_IND], 1);
    ox_assoc_ev *e = &r->last[OX_ASSOC_EV_ABORT_IND];
    assert_true(e->local);
    assert_int_equal(e->layer, layer);
    assert_non_null(strstr(e->why, words));
    assert_true(e->at > 0);
    assert_int_equal(r->last_rc, OX_E_PEER);
    assert_int_equal(r->a.state, OX_ASSOC_ABORTED);
    assert_int_equal(i->ev[OX_ASSOC_EV_ABORT_IND], 1); /* the AB reached the sender */
}

static void test_peer_errors(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        bool x410 = modes[m] == OX_ASSOC_X410;
        side i, r;
        /* bad RTTR framing */
        open_pair(&i, &r, modes[m], 0, 0, 0, 0);
        assert_int_equal(ox_assoc_transfer_begin(&i.a, 4, &i.out), 0);
        ox_buf_reset(&i.a.tx_hdr);
        inject_data(&i, ox_span_of("\x05\x00\x01\x02", 4));
        expect_fault(&i, &r, x410 ? OX_ASSOC_L_RTSE : OX_ASSOC_L_PRESENTATION,
                     x410 ? "framing" : "P-DATA");
        assert_int_equal(i.last[OX_ASSOC_EV_ABORT_IND].reason, OX_RTSE_AB_PROTOCOL_ERROR);
        side_free(&i);
        side_free(&r);
        /* octets after the RTTR */
        open_pair(&i, &r, modes[m], 0, 0, 0, 0);
        assert_int_equal(ox_assoc_transfer_begin(&i.a, 1, &i.out), 0);
        ox_buf_append(&i.a.tx_hdr, "Z!!", 3);
        inject_data(&i, ox_span_of(i.a.tx_hdr.p, i.a.tx_hdr.len));
        expect_fault(&i, &r, x410 ? OX_ASSOC_L_RTSE : OX_ASSOC_L_PRESENTATION,
                     x410 ? "after the end" : "P-DATA");
        side_free(&i);
        side_free(&r);
        /* an activity end before the APDU is complete */
        open_pair(&i, &r, modes[m], 0, 0, 0, 0);
        assert_int_equal(ox_assoc_transfer_begin(&i.a, 100, &i.out), 0);
        i.a.tx_sent = i.a.tx_total; /* lie: end now */
        assert_int_equal(ox_assoc_transfer_end(&i.a, &i.out), 0);
        expect_fault(&i, &r, OX_ASSOC_L_RTSE, "incomplete");
        side_free(&i);
        side_free(&r);
        /* S-TOKEN-PLEASE carrying something other than an RTTP */
        open_pair(&i, &r, modes[m], 0, 0, 0, 0);
        {
            ox_buf t;
            ox_buf_init(&t, NULL, NULL, 0);
            assert_int_equal(ox_ses_please_tokens(&r.a.ses, OX_SES_TOKEN_DATA,
                                                  ox_span_of("\x04\x01\x00", 3), &t),
                             0);
            assert_int_equal(ox_tpkt_send(&r.a.tpkt, ox_buf_span(&t), &r.out), 0);
            ox_buf_free(&t);
        }
        expect_fault(&r, &i, OX_ASSOC_L_RTSE, "RTTP");
        side_free(&i);
        side_free(&r);
        /* a session protocol error (MIA for a serial never sent) */
        open_pair(&i, &r, modes[m], 0, 0, 0, 0);
        {
            ox_buf t;
            ox_buf_init(&t, NULL, NULL, 0);
            uint8_t mia[] = {1, 0, 50, 5, 42, 3, '9', '9', '9'};
            ox_buf_append(&t, mia, sizeof(mia));
            assert_int_equal(ox_tpkt_send(&r.a.tpkt, ox_buf_span(&t), &r.out), 0);
            ox_buf_free(&t);
        }
        expect_fault(&r, &i, OX_ASSOC_L_SESSION, "session");
        side_free(&i);
        side_free(&r);
    }
    /* a broken TPKT header */
    side r;
    side_init(&r, OX_ASSOC_RESPONDER, 0, 0, 0);
    size_t used;
    assert_int_equal(
        ox_assoc_feed(&r.a, ox_span_of("\x04\x00\x00\x07\x02\xf0\x80", 7), 0, &r.out, &used),
        OX_E_PEER);
    drain(&r);
    assert_int_equal(r.last[OX_ASSOC_EV_ABORT_IND].layer, OX_ASSOC_L_TRANSPORT);
    /* sticky: later input is swallowed, requests refused */
    assert_int_equal(ox_assoc_feed(&r.a, ox_span_of("\x03", 1), 0, &r.out, &used), 0);
    assert_int_equal(used, 1);
    assert_int_equal(ox_assoc_accept(&r.a, ox_span_of(NULL, 0), &r.out), OX_E_STATE);
    side_free(&r);
}

/* Every byte of a short exchange flipped in turn: the responder either behaves as before or
 * aborts with a reason; nothing else. */
static void test_corrupted_bytes(void **st)
{
    (void)st;
    const int64_t modes[] = {OX_ASSOC_NORMAL, OX_ASSOC_X410};
    for (int m = 0; m < 2; m++) {
        side i, r;
        side_init(&i, OX_ASSOC_INITIATOR, modes[m], 1024, 3);
        side_init(&r, OX_ASSOC_RESPONDER, 0, 1024, 3);
        ox_buf stream;
        ox_buf_init(&stream, NULL, NULL, 0);
        uint8_t *p = content(1500);
        assert_int_equal(ox_assoc_open(&i.a, ox_span_of(BIND_ARG, sizeof(BIND_ARG)), 0, &i.out), 0);
        for (int step = 0; step < 3; step++) {
            if (step == 1) {
                size_t taken;
                assert_int_equal(ox_assoc_transfer_begin(&i.a, 1500, &i.out), 0);
                assert_int_equal(ox_assoc_transfer_data(&i.a, ox_span_of(p, 1500), &i.out, &taken),
                                 0);
                assert_int_equal(ox_assoc_transfer_end(&i.a, &i.out), 0);
            } else if (step == 2) {
                assert_int_equal(ox_assoc_release(&i.a, &i.out), 0);
            }
            for (int k = 0; k < 50 && (i.out.len || r.out.len); k++) {
                ox_buf_append(&stream, i.out.p, i.out.len);
                deliver(&i, &r);
                deliver(&r, &i);
            }
        }
        int aborted = 0;
        for (size_t at = 0; at < stream.len; at++) {
            side x;
            side_init(&x, OX_ASSOC_RESPONDER, 0, 1024, 3);
            x.lenient = true;
            side src = {0};
            ox_buf_init(&src.out, NULL, NULL, 0);
            ox_buf_append(&src.out, stream.p, stream.len);
            src.out.p[at] ^= 0x5A;
            deliver(&src, &x);
            if (x.ev[OX_ASSOC_EV_ABORT_IND]) { /* counted below */
                aborted++;
                assert_true(x.last[OX_ASSOC_EV_ABORT_IND].why[0] != 0);
                assert_int_equal(x.a.state, OX_ASSOC_ABORTED);
            } else if (strcmp(x.log, r.log) != 0) {
                /* the corruption landed in opaque content or was answered by refusal */
                assert_true(x.ev[OX_ASSOC_EV_TRANSFER_END_IND] <= 1);
            }
            assert_true(x.last_rc == 0 || x.last_rc == OX_E_PEER || x.last_rc == OX_E_LIMIT ||
                        x.last_rc == OX_E_UNSUPPORTED);
            ox_buf_free(&src.out);
            side_free(&x);
        }
        /* most of the stream is opaque content; every header flip must not go unnoticed */
        assert_true(aborted >= 40);
        ox_buf_free(&stream);
        free(p);
        side_free(&i);
        side_free(&r);
    }
}

static void test_init_errors(void **st)
{
    (void)st;
    ox_assoc a;
    ox_assoc_cfg c = {.role = OX_ASSOC_INITIATOR, .mode = 7};
    assert_int_equal(ox_assoc_init(&a, &c), OX_E_ARG);
    ox_assoc_free(&a);
    c.mode = OX_ASSOC_NORMAL;
    c.window = OX_ASSOC_MAX_WINDOW + 1;
    assert_int_equal(ox_assoc_init(&a, &c), OX_E_ARG);
    ox_assoc_free(&a);
    c.window = 0;
    c.max_data = 70000;
    assert_int_equal(ox_assoc_init(&a, &c), OX_E_ARG);
    ox_assoc_free(&a);
    c.max_data = 0;
    c.local_psel = ox_span_of("0123456789abcdefXYZ", 19);
    assert_int_equal(ox_assoc_init(&a, &c), OX_E_ARG);
    ox_assoc_free(&a);
    c.local_psel = ox_span_of("P", 1);
    assert_int_equal(ox_assoc_init(&a, &c), 0);
    /* a bind too large for the CN's 10240 octets of extended user data */
    uint8_t *big = calloc(1, 11000);
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_assoc_open(&a, ox_span_of(big, 11000), 0, &out), 0);
    assert_string_equal(ox_assoc_state_name(a.state), "await-cc");
    assert_string_equal(ox_assoc_ev_name(OX_ASSOC_EV_ABORT_IND), "abort-ind");
    assert_string_equal(ox_assoc_layer_name(OX_ASSOC_L_ACSE), "acse");
    assert_string_equal(ox_assoc_state_name((ox_assoc_state)99), "?");
    ox_assoc_free(&a);
    ox_buf_free(&out);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_negotiation),     cmocka_unit_test(test_open_refused),
        cmocka_unit_test(test_transfer_sizes),       cmocka_unit_test(test_turns),
        cmocka_unit_test(test_release_by_responder), cmocka_unit_test(test_user_abort),
        cmocka_unit_test(test_split_every_byte),     cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_recovery_from_start),  cmocka_unit_test(test_timers),
        cmocka_unit_test(test_peer_errors),          cmocka_unit_test(test_corrupted_bytes),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
