/* test_rtse_machine.c - the RTSE machine: an initiator and a responder in one process,
 * pumping bytes to each other through buffers (no sockets) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/rtsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct side {
    ox_rtsm m;
    ox_buf out;      /* bytes this side sent, not yet fed to the other */
    ox_buf received; /* content received */
    int events[16];  /* counts by kind */
    ox_rtsm_ev last;
    bool end_ind;
    size_t feed_chunk; /* feed the peer's bytes this many at a time (0 = all) */
} side;

static void side_init(side *s, ox_rtsm_role role, uint32_t ckpt, uint32_t window)
{
    memset(s, 0, sizeof(*s));
    ox_rtsm_cfg cfg = {.role = role, .checkpoint = ckpt, .window = window, .max_data = 4000};
    assert_int_equal(ox_rtsm_init(&s->m, &cfg), 0);
    ox_buf_init(&s->out, NULL, NULL, 0);
    ox_buf_init(&s->received, NULL, NULL, 0);
}

static void side_free(side *s)
{
    ox_rtsm_free(&s->m);
    ox_buf_free(&s->out);
    ox_buf_free(&s->received);
}

/* Feeds everything |from| sent into |to|, draining |to|'s events after each step. */
static void pump1(side *from, side *to)
{
    size_t off = 0;
    while (off < from->out.len) {
        size_t len = from->out.len - off;
        if (to->feed_chunk && len > to->feed_chunk)
            len = to->feed_chunk;
        size_t used;
        int rc = ox_rtsm_feed(&to->m, ox_span_of(from->out.p + off, len), 0, &to->out, &used);
        assert_int_equal(rc, 0);
        off += used;
        ox_rtsm_ev ev;
        while (ox_rtsm_next_event(&to->m, &ev)) {
            to->events[ev.kind]++;
            to->last = ev;
            if (ev.kind == OX_RTSM_EV_TRANSFER_DATA_IND)
                ox_buf_append(&to->received, ev.data.p, ev.data.len);
            if (ev.kind == OX_RTSM_EV_TRANSFER_END_IND)
                to->end_ind = true;
            if (ev.kind == OX_RTSM_EV_ABORT_IND)
                fail_msg("abort: %s", ev.why);
        }
        if (used == 0 && len)
            fail_msg("no progress");
    }
    ox_buf_reset(&from->out);
}

static void pump(side *a, side *b)
{
    for (int i = 0; i < 50 && (a->out.len || b->out.len); i++) {
        pump1(a, b);
        pump1(b, a);
    }
}

static const uint8_t bind_arg[] = {0x31, 0x08, 0xa0, 0x03, 0x16, 0x01, 'A', 0xa1, 0x01, 0x00};
static const uint8_t bind_res[] = {0x31, 0x05, 0xa0, 0x03, 0x16, 0x01, 'B'};

static void open_pair(side *a, side *b)
{
    assert_int_equal(ox_rtsm_open(&a->m, ox_span_of(bind_arg, sizeof(bind_arg)), &a->out), 0);
    pump(a, b);
    assert_int_equal(b->events[OX_RTSM_EV_OPEN_IND], 1);
    assert_int_equal(b->m.state, OX_RTSM_AWAIT_OPEN_RSP);
    assert_int_equal(ox_rtsm_accept(&b->m, ox_span_of(bind_res, sizeof(bind_res)), &b->out), 0);
    pump(a, b);
    assert_int_equal(a->events[OX_RTSM_EV_OPEN_CONF], 1);
    assert_true(a->last.accepted);
    assert_int_equal(a->last.data.len, sizeof(bind_res));
    assert_memory_equal(a->last.data.p, bind_res, sizeof(bind_res));
    assert_true(a->m.have_turn);
    assert_false(b->m.have_turn);
}

/* Sends |n| octets from |s| to |r|, pumping whenever the window closes. */
static void transfer(side *s, side *r, size_t n)
{
    uint8_t *data = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    ox_buf_reset(&r->received);
    r->end_ind = false;
    assert_int_equal(ox_rtsm_transfer_begin(&s->m, n, &s->out), 0);
    size_t off = 0;
    while (off < n) {
        size_t taken;
        assert_int_equal(
            ox_rtsm_transfer_data(&s->m, ox_span_of(data + off, n - off), &s->out, &taken), 0);
        off += taken;
        if (off < n) {
            assert_true(s->m.tx_blocked);
            pump(s, r); /* minor-sync acknowledgements reopen the window */
            assert_false(s->m.tx_blocked);
        }
    }
    assert_int_equal(ox_rtsm_transfer_end(&s->m, &s->out), 0);
    pump(s, r);
    assert_true(r->end_ind);
    assert_int_equal(r->received.len, n);
    assert_memory_equal(r->received.p, data, n);
    int confs = s->events[OX_RTSM_EV_TRANSFER_CONF];
    assert_int_equal(ox_rtsm_transfer_confirm(&r->m, &r->out), 0);
    pump(s, r);
    assert_int_equal(s->events[OX_RTSM_EV_TRANSFER_CONF], confs + 1);
    free(data);
}

static void test_open_transfer_turn_release(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, OX_RTSM_INITIATOR, 8192, 2);
    side_init(&b, OX_RTSM_RESPONDER, 30 * 1024, 5);
    open_pair(&a, &b);
    assert_int_equal(a.m.checkpoint, 8192); /* the smaller of both */
    assert_int_equal(a.m.window, 2);
    assert_int_equal(b.m.window, 2);
    transfer(&a, &b, 0);
    transfer(&a, &b, 1);
    transfer(&a, &b, 100000); /* 12 checkpoints, window stalls */
    /* b wants to send: please, give, transfer back. */
    assert_int_equal(ox_rtsm_transfer_begin(&b.m, 10, &b.out), OX_E_STATE);
    assert_int_equal(ox_rtsm_turn_please(&b.m, 2, &b.out), 0);
    pump(&a, &b);
    assert_int_equal(a.events[OX_RTSM_EV_TURN_PLEASE_IND], 1);
    assert_int_equal(a.last.priority, 2);
    assert_int_equal(ox_rtsm_turn_give(&a.m, &a.out), 0);
    pump(&a, &b);
    assert_int_equal(b.events[OX_RTSM_EV_TURN_GIVE_IND], 1);
    assert_true(b.m.have_turn);
    transfer(&b, &a, 50000);
    /* back to a, who releases */
    assert_int_equal(ox_rtsm_turn_please(&a.m, 0, &a.out), 0);
    pump(&a, &b);
    assert_int_equal(ox_rtsm_turn_give(&b.m, &b.out), 0);
    pump(&a, &b);
    assert_int_equal(ox_rtsm_release(&a.m, &a.out), 0);
    pump(&a, &b);
    assert_int_equal(b.events[OX_RTSM_EV_RELEASE_IND], 1);
    assert_int_equal(a.events[OX_RTSM_EV_RELEASE_CONF], 1);
    assert_int_equal(a.m.state, OX_RTSM_CLOSED);
    assert_int_equal(b.m.state, OX_RTSM_CLOSED);
    side_free(&a);
    side_free(&b);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, OX_RTSM_INITIATOR, 1024, 3);
    side_init(&b, OX_RTSM_RESPONDER, 1024, 3);
    a.feed_chunk = b.feed_chunk = 1;
    open_pair(&a, &b);
    transfer(&a, &b, 5000);
    side_free(&a);
    side_free(&b);
}

static void test_refused(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, OX_RTSM_INITIATOR, 0, 0);
    side_init(&b, OX_RTSM_RESPONDER, 0, 0);
    assert_int_equal(ox_rtsm_open(&a.m, ox_span_of(bind_arg, sizeof(bind_arg)), &a.out), 0);
    pump(&a, &b);
    static const uint8_t err[] = {0x02, 0x01, 0x02}; /* MTABindError authentication-error */
    assert_int_equal(ox_rtsm_refuse(&b.m, ox_span_of(err, sizeof(err)), &b.out), 0);
    pump(&a, &b);
    assert_int_equal(a.events[OX_RTSM_EV_OPEN_CONF], 1);
    assert_false(a.last.accepted);
    assert_int_equal(a.last.data.len, sizeof(err));
    assert_memory_equal(a.last.data.p, err, sizeof(err));
    assert_int_equal(a.m.state, OX_RTSM_CLOSED);
    side_free(&a);
    side_free(&b);
}

static void test_abort_and_garbage(void **state)
{
    (void)state;
    side a, b;
    side_init(&a, OX_RTSM_INITIATOR, 0, 0);
    side_init(&b, OX_RTSM_RESPONDER, 0, 0);
    open_pair(&a, &b);
    assert_int_equal(ox_rtsm_abort(&a.m, OX_RTSE_AB_USER_ERROR, &a.out), 0);
    size_t used;
    assert_int_equal(ox_rtsm_feed(&b.m, ox_buf_span(&a.out), 0, &b.out, &used), 0);
    ox_rtsm_ev ev;
    assert_true(ox_rtsm_next_event(&b.m, &ev));
    assert_int_equal(ev.kind, OX_RTSM_EV_ABORT_IND);
    assert_false(ev.local);
    assert_int_equal(ox_rtsm_transfer_begin(&b.m, 1, &b.out), OX_E_STATE); /* sticky */
    side_free(&a);
    side_free(&b);
    /* Garbage instead of a CR: a local abort, and nothing more is read. */
    side_init(&b, OX_RTSM_RESPONDER, 0, 0);
    static const uint8_t junk[] = {0x03, 0x00, 0x00, 0x07, 0x02, 0xf0, 0x80};
    assert_int_not_equal(ox_rtsm_feed(&b.m, ox_span_of(junk, sizeof(junk)), 0, &b.out, &used), 0);
    assert_true(ox_rtsm_next_event(&b.m, &ev));
    assert_int_equal(ev.kind, OX_RTSM_EV_ABORT_IND);
    assert_true(ev.local);
    side_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_transfer_turn_release),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_abort_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
