/* test_ses.c - X.225 SPDU codec (byte-exact vectors for every SPDU both ways, both length
 * forms, decode errors) and the session machine (pair test, token and serial rules, illegal
 * transitions, feed split at every byte through ox_tpkt).
 * Vectors: the CN/AC/AS/DT/MIP/MIA/PT/GT/AE/AEA/AI/AIA/AR/FN/DN/AB bytes are those of
 * tool_ses_echo, which tshark 4.0 decodes cleanly (tests/integration/ses_loopback.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ses.h"
#include "openx400/tpkt.h"

#include <string.h>

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void assert_bytes(ox_span got, const char *want_hex)
{
    ox_buf w = hex(want_hex);
    if (!ox_span_eq(got, ox_buf_span(&w))) {
        char g[1024];
        ox_hex_encode(g, sizeof g, got);
        print_error("got  %s\nwant %s\n", g, want_hex);
        fail();
    }
    ox_buf_free(&w);
}

#define SP(s) ox_span_of(s, sizeof(s) - 1)

typedef struct vec {
    const char *name;
    ox_ses_spdu pdu;
    const char *hex;
} vec;

static const vec vectors[] = {
    {"CN",
     {.kind = OX_SES_K_CN,
      .have = OX_SES_HAVE_VERSION | OX_SES_HAVE_TOKEN_SET | OX_SES_HAVE_REQUIREMENTS |
              OX_SES_HAVE_CALLING_SSEL | OX_SES_HAVE_CALLED_SSEL,
      .version = 2,
      .requirements = OX_SES_FU_RTSE,
      .calling_ssel = {(const uint8_t *)"SI", 2},
      .called_ssel = {(const uint8_t *)"SR", 2}},
     "0d14 0506 160102 1a0100 14020249 33025349 34025352"},
    {"AC",
     {.kind = OX_SES_K_AC,
      .have = OX_SES_HAVE_VERSION | OX_SES_HAVE_TOKEN_SET | OX_SES_HAVE_REQUIREMENTS |
              OX_SES_HAVE_CALLING_SSEL | OX_SES_HAVE_CALLED_SSEL | OX_SES_HAVE_USER_DATA,
      .version = 2,
      .token_set = 0x15,
      .requirements = OX_SES_FU_RTSE,
      .calling_ssel = {(const uint8_t *)"SI", 2},
      .called_ssel = {(const uint8_t *)"SR", 2},
      .user_data = {(const uint8_t *)"ok", 2}},
     "0e18 0506 160102 1a0115 14020249 33025349 34025352 c1026f6b"},
    {"RF",
     {.kind = OX_SES_K_RF,
      .have = OX_SES_HAVE_TRANSPORT_DC | OX_SES_HAVE_REASON,
      .transport_dc = 1,
      .reason = 2,
      .reason_data = {(const uint8_t *)"no", 2}},
     "0c08 110101 3203026e6f"},
    {"FN",
     {.kind = OX_SES_K_FN, .have = OX_SES_HAVE_TRANSPORT_DC, .transport_dc = 1},
     "0903 110101"},
    {"DN", {.kind = OX_SES_K_DN}, "0a00"},
    {"NF", {.kind = OX_SES_K_NF}, "0800"},
    {"AB",
     {.kind = OX_SES_K_AB,
      .have = OX_SES_HAVE_TRANSPORT_DC | OX_SES_HAVE_USER_DATA,
      .transport_dc = 3,
      .user_data = {(const uint8_t *)"x", 1}},
     "1906 110103 c10178"},
    {"AA", {.kind = OX_SES_K_AA}, "1a00"},
    {"GT", {.kind = OX_SES_K_GT, .have = OX_SES_HAVE_TOKEN_ITEM, .token_item = 1}, "0103 100101"},
    {"PT",
     {.kind = OX_SES_K_PT, .have = OX_SES_HAVE_TOKEN_ITEM, .token_item = 0x15},
     "0203 100115"},
    /* category 2 (decoded behind an empty GT) */
    {"DT",
     {.kind = OX_SES_K_DT,
      .have = OX_SES_HAVE_USER_DATA,
      .user_data = {(const uint8_t *)"\x40\x03pin", 5}},
     "0100 4003 70696e"},
    {"MIP", {.kind = OX_SES_K_MIP, .have = OX_SES_HAVE_SERIAL, .serial = 1}, "3103 2a0131"},
    {"MIP-nc",
     {.kind = OX_SES_K_MIP,
      .have = OX_SES_HAVE_SERIAL | OX_SES_HAVE_SYNC_TYPE,
      .serial = 12,
      .sync_type = 1},
     "3107 0f0101 2a023132"},
    {"MIA",
     {.kind = OX_SES_K_MIA, .have = OX_SES_HAVE_SERIAL, .serial = 999998},
     "3208 2a06393939393938"},
    {"AS",
     {.kind = OX_SES_K_AS,
      .have = OX_SES_HAVE_ACTIVITY_ID,
      .activity_id = {(const uint8_t *)"A1", 2}},
     "2d04 29024131"},
    {"AR",
     {.kind = OX_SES_K_AR,
      .have = OX_SES_HAVE_LINKING | OX_SES_HAVE_ACTIVITY_ID | OX_SES_HAVE_SERIAL,
      .activity_id = {(const uint8_t *)"A3", 2},
      .old_activity_id = {(const uint8_t *)"A2", 2},
      .calling_ref = {(const uint8_t *)"ref", 3},
      .serial = 1},
     "1d12 2109 0a03726566 29024132 29024133 2a0131"},
    {"AI", {.kind = OX_SES_K_AI, .have = OX_SES_HAVE_REASON, .reason = 0}, "1903 320100"},
    {"AIA", {.kind = OX_SES_K_AIA}, "1a00"},
    {"AD", {.kind = OX_SES_K_AD, .have = OX_SES_HAVE_REASON, .reason = 1}, "3903 320101"},
    {"ADA", {.kind = OX_SES_K_ADA}, "3a00"},
    {"AE", {.kind = OX_SES_K_AE, .have = OX_SES_HAVE_SERIAL, .serial = 3}, "2903 2a0133"},
    {"AEA", {.kind = OX_SES_K_AEA, .have = OX_SES_HAVE_SERIAL, .serial = 3}, "2a03 2a0133"},
    {"ER", {.kind = OX_SES_K_ER}, "0000"},
    {"ED", {.kind = OX_SES_K_ED, .have = OX_SES_HAVE_REASON, .reason = 1}, "3003 320101"},
};

static bool is_cat2(ox_ses_kind k)
{
    return k == OX_SES_K_DT || k == OX_SES_K_MIP || k == OX_SES_K_MIA || k == OX_SES_K_AS ||
           k == OX_SES_K_AR || k == OX_SES_K_AI || k == OX_SES_K_AIA || k == OX_SES_K_AD ||
           k == OX_SES_K_ADA || k == OX_SES_K_AE || k == OX_SES_K_AEA || k == OX_SES_K_ER ||
           k == OX_SES_K_ED;
}

static void test_spdu_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < OX_ARRAY_LEN(vectors); i++) {
        const vec *v = &vectors[i];
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ses_pdu_encode(&v->pdu, &out), 0);
        assert_bytes(ox_buf_span(&out), v->hex);
        /* decode: category 2 behind an empty GT, the rest alone */
        ox_buf in;
        ox_buf_init(&in, NULL, NULL, 0);
        if (is_cat2(v->pdu.kind))
            ox_buf_append(&in, "\x01\x00", 2);
        ox_buf_append(&in, out.p, out.len);
        ox_ses_spdu p[2];
        size_t n, off;
        assert_int_equal(ox_ses_pdu_decode(ox_buf_span(&in), p, &n, &off), 0);
        const ox_ses_spdu *d = &p[n - 1];
        assert_int_equal(n, is_cat2(v->pdu.kind) ? 2 : 1);
        assert_memory_equal(ox_ses_kind_name(d->kind), v->name, strcspn(v->name, "-"));
        assert_int_equal(d->have, v->pdu.have);
        assert_int_equal(d->serial, v->pdu.serial);
        assert_int_equal(d->reason, v->pdu.reason);
        assert_int_equal(d->token_item, v->pdu.token_item);
        assert_int_equal(d->token_set, v->pdu.token_set);
        assert_int_equal(d->requirements, v->pdu.requirements);
        assert_true(ox_span_eq(d->user_data, v->pdu.user_data));
        assert_true(ox_span_eq(d->activity_id, v->pdu.activity_id));
        assert_true(ox_span_eq(d->old_activity_id, v->pdu.old_activity_id));
        assert_true(ox_span_eq(d->calling_ssel, v->pdu.calling_ssel));
        assert_true(ox_span_eq(d->reason_data, v->pdu.reason_data));
        /* and back to the same bytes */
        ox_buf again;
        ox_buf_init(&again, NULL, NULL, 0);
        assert_int_equal(ox_ses_pdu_encode(d, &again), 0);
        assert_true(ox_span_eq(ox_buf_span(&again), ox_buf_span(&out)));
        ox_buf_free(&out);
        ox_buf_free(&in);
        ox_buf_free(&again);
    }
}

static void test_long_forms(void **state)
{
    (void)state;
    static uint8_t big[65536];
    memset(big, 0x5a, sizeof big);
    /* PT with 300 octets of user data: LI and the PGI length in the three-octet form */
    ox_ses_spdu pt = {.kind = OX_SES_K_PT,
                      .have = OX_SES_HAVE_TOKEN_ITEM | OX_SES_HAVE_USER_DATA,
                      .token_item = 1,
                      .user_data = {big, 300}};
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_ses_pdu_encode(&pt, &out), 0);
    assert_int_equal(out.len, 4 + 307);
    assert_memory_equal(out.p, "\x02\xff\x01\x33\x10\x01\x01\xc1\xff\x01\x2c", 11);
    ox_ses_spdu p[2];
    size_t n, off;
    assert_int_equal(ox_ses_pdu_decode(ox_buf_span(&out), p, &n, &off), 0);
    assert_int_equal(p[0].user_data.len, 300);
    /* LI 254 is still one octet, 255 takes three */
    for (size_t len = 250; len <= 253; len++) {
        ox_ses_spdu ab = {
            .kind = OX_SES_K_AB, .have = OX_SES_HAVE_USER_DATA, .user_data = {big, len - 2}};
        ox_buf_reset(&out);
        assert_int_equal(ox_ses_pdu_encode(&ab, &out), 0);
        assert_int_equal(out.p[1], len <= 254 ? len : 0xff);
        assert_int_equal(ox_ses_pdu_decode(ox_buf_span(&out), p, &n, &off), 0);
    }
    ox_ses_spdu ab = {.kind = OX_SES_K_AB, .have = OX_SES_HAVE_USER_DATA, .user_data = {big, 253}};
    ox_buf_reset(&out);
    assert_int_equal(ox_ses_pdu_encode(&ab, &out), 0);
    assert_memory_equal(out.p, "\x19\xff\x00\xff\xc1\xfd", 6);
    /* CN: 512 octets in PGI 193, 513..10240 in Extended User Data (PGI 194), more refused */
    ox_ses_spdu cn = {.kind = OX_SES_K_CN, .have = OX_SES_HAVE_USER_DATA, .user_data = {big, 512}};
    ox_buf_reset(&out);
    assert_int_equal(ox_ses_pdu_encode(&cn, &out), 0);
    assert_memory_equal(out.p, "\x0d\xff\x02\x04\xc1\xff\x02\x00", 8);
    cn.user_data.len = 513;
    assert_int_equal(ox_ses_pdu_encode(&cn, &out), OX_E_ARG);
    cn.extended_ud = true;
    cn.user_data.len = 10240;
    ox_buf_reset(&out);
    assert_int_equal(ox_ses_pdu_encode(&cn, &out), 0);
    assert_memory_equal(out.p, "\x0d\xff\x28\x04\xc2\xff\x28\x00", 8);
    assert_int_equal(ox_ses_pdu_decode(ox_buf_span(&out), p, &n, &off), 0);
    assert_true(p[0].extended_ud && p[0].user_data.len == 10240);
    cn.user_data.len = 10241;
    assert_int_equal(ox_ses_pdu_encode(&cn, &out), OX_E_ARG);
    /* DT's user information is outside LI: 65535 octets fit (SPDU max 65539) */
    ox_ses_spdu dt = {.kind = OX_SES_K_DT, .user_data = {big, 65535}};
    ox_buf_reset(&out);
    assert_int_equal(ox_ses_pdu_encode(&dt, &out), 0);
    assert_int_equal(out.len, 65537);
    dt.user_data.len = 65538;
    assert_int_equal(ox_ses_pdu_encode(&dt, &out), OX_E_ARG);
    ox_buf_free(&out);
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        size_t off;
    } bad[] = {
        {"", 0},                              /* empty TSDU */
        {"0d", 1},                            /* no LI */
        {"0d05 0506", 2},                     /* LI past the end */
        {"0dff00", 2},                        /* three-octet LI truncated */
        {"0d03 140201", 4},                   /* PI length past LI */
        {"0d03 140102", 4},                   /* requirements of one octet */
        {"3103 2a0131", 0},                   /* category 2 alone */
        {"0d00 0100", 0},                     /* category 1 with something behind it */
        {"0100 0d00", 2},                     /* GT followed by a category 1 SPDU */
        {"0100 0100 41 0100", 7},             /* never reached as third: DT takes the rest */
        {"0100 3103 2a0141", 6},              /* serial not a digit */
        {"0100 3109 2a07 31323334353637", 6}, /* serial of 7 digits */
        {"0100 3108 2a06 393939393939", 6},   /* 999999 > max */
        {"0100 2d09 2907 41414141414141", 6}, /* activity id of 7 octets */
        {"0d13 3311 3031323334353637383930313233343536", 4}, /* selector of 17 */
        {"6300", 0},                                         /* unknown SI */
        {"0100 0100 c102 4142", 0},                          /* (valid: DT user info) */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i].hex);
        ox_ses_spdu p[2];
        size_t n, off = 99;
        int rc = ox_ses_pdu_decode(ox_buf_span(&in), p, &n, &off);
        if (i == 9 || i == OX_ARRAY_LEN(bad) - 1) {
            assert_int_equal(rc, 0); /* DT swallows the rest as user information */
        } else {
            if (rc != OX_E_PEER)
                print_error("case %zu (%s) decoded\n", i, bad[i].hex);
            assert_int_equal(rc, OX_E_PEER);
            if (off != bad[i].off)
                print_error("case %zu (%s): offset %zu\n", i, bad[i].hex, off);
            assert_int_equal(off, bad[i].off);
        }
        ox_buf_free(&in);
    }
    /* unknown PIs are ignored (8.2.7) */
    ox_buf in = hex("0a03 7f0100");
    ox_ses_spdu p[2];
    size_t n, off;
    assert_int_equal(ox_ses_pdu_decode(ox_buf_span(&in), p, &n, &off), 0);
    assert_int_equal(p[0].kind, OX_SES_K_DN);
    ox_buf_free(&in);
}

/* ---- machine ---------------------------------------------------------------------------- */

typedef struct pair {
    ox_ses i, r;
    ox_buf wire;
    ox_ses_ev ev[8];
    size_t nev;
} pair;

/* Delivers |p->wire| to |to|; keeps its events in p->ev; returns the feed's code. */
static int pump(pair *p, ox_ses *to, ox_buf *reply)
{
    int rc = ox_ses_feed(to, ox_buf_span(&p->wire), 0, reply);
    p->nev = 0;
    ox_ses_ev e;
    while (ox_ses_next_event(to, &e))
        p->ev[p->nev++] = e;
    ox_buf_reset(&p->wire);
    return rc;
}

static void expect1(pair *p, ox_ses *to, ox_ses_ev_kind k)
{
    ox_buf junk;
    ox_buf_init(&junk, NULL, NULL, 0);
    assert_int_equal(pump(p, to, &junk), 0);
    assert_int_equal(junk.len, 0);
    if (p->nev != 1 || p->ev[0].kind != k)
        print_error("want %s, got %zu events, first %s\n", ox_ses_ev_name(k), p->nev,
                    ox_ses_ev_name(p->nev ? p->ev[0].kind : OX_SES_EV_NONE));
    assert_int_equal(p->nev, 1);
    assert_int_equal(p->ev[0].kind, k);
    ox_buf_free(&junk);
}

static void open_pair(pair *p, uint16_t ireq, uint16_t rreq, uint8_t token_set)
{
    memset(p, 0, sizeof *p);
    ox_ses_cfg ci = {.role = OX_SES_INITIATOR, .requirements = ireq, .remote_ssel = SP("SR")};
    ox_ses_cfg cr = {.role = OX_SES_RESPONDER, .requirements = rreq, .local_ssel = SP("SR")};
    assert_int_equal(ox_ses_init(&p->i, &ci), 0);
    assert_int_equal(ox_ses_init(&p->r, &cr), 0);
    ox_buf_init(&p->wire, NULL, NULL, 0);
    ox_ses_connect_req req = {.token_set = token_set};
    assert_int_equal(ox_ses_connect(&p->i, &req, &p->wire), 0);
    expect1(p, &p->r, OX_SES_EV_CONNECT_IND);
    assert_true(ox_span_eq(p->ev[0].called_ssel, SP("SR")));
    assert_int_equal(ox_ses_accept(&p->r, NULL, &p->wire), 0);
    expect1(p, &p->i, OX_SES_EV_CONNECT_CONF);
    assert_true(p->ev[0].accepted);
}

static void test_machine_pair(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, 0, 0, 0);
    ox_ses *I = &p.i, *R = &p.r;
    const uint8_t all = OX_SES_TOKEN_DATA | OX_SES_TOKEN_MINOR | OX_SES_TOKEN_MAJOR;
    assert_int_equal(ox_ses_tokens_available(I), all);
    assert_int_equal(ox_ses_tokens_held(I), all);
    assert_int_equal(ox_ses_tokens_held(R), 0);
    /* data outside an activity, and by the responder, are refused locally */
    assert_int_equal(ox_ses_data(I, SP("x"), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_activity_start(R, SP("A"), SP(""), &p.wire), OX_E_STATE);
    assert_int_equal(p.wire.len, 0);
    assert_int_equal(ox_ses_activity_start(I, SP("A1"), SP(""), &p.wire), 0);
    expect1(&p, R, OX_SES_EV_ACTIVITY_START_IND);
    assert_true(ox_span_eq(p.ev[0].activity_id, SP("A1")));
    assert_true(ox_ses_in_activity(R));
    assert_int_equal(ox_ses_data(I, SP("hello"), &p.wire), 0);
    assert_bytes(ox_buf_span(&p.wire), "0100 0100 68656c6c6f");
    expect1(&p, R, OX_SES_EV_DATA_IND);
    assert_true(ox_span_eq(p.ev[0].user_data, SP("hello")));
    uint32_t sn;
    assert_int_equal(ox_ses_minor_sync(I, true, SP(""), &sn, &p.wire), 0);
    assert_int_equal(sn, 1);
    assert_int_equal(ox_ses_serial(I), 2);
    expect1(&p, R, OX_SES_EV_MINOR_SYNC_IND);
    assert_true(p.ev[0].confirm);
    assert_int_equal(ox_ses_minor_sync_rsp(R, 2, SP(""), &p.wire), OX_E_ARG);
    assert_int_equal(ox_ses_minor_sync_rsp(R, 1, SP(""), &p.wire), 0);
    expect1(&p, I, OX_SES_EV_MINOR_SYNC_CONF);
    assert_int_equal(p.ev[0].serial, 1);
    /* please + give data token; the responder sends; gives it back */
    assert_int_equal(ox_ses_please_tokens(I, OX_SES_TOKEN_DATA, SP(""), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_please_tokens(R, OX_SES_TOKEN_DATA, SP(""), &p.wire), 0);
    expect1(&p, I, OX_SES_EV_TOKEN_PLEASE_IND);
    assert_int_equal(ox_ses_give_tokens(I, OX_SES_TOKEN_DATA, &p.wire), 0);
    expect1(&p, R, OX_SES_EV_TOKEN_GIVE_IND);
    assert_int_equal(ox_ses_data(I, SP("x"), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_data(R, SP("back"), &p.wire), 0);
    expect1(&p, I, OX_SES_EV_DATA_IND);
    /* the responder cannot end the activity (no major token) */
    assert_int_equal(ox_ses_activity_end(R, SP(""), NULL, &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_give_tokens(R, OX_SES_TOKEN_DATA, &p.wire), 0);
    expect1(&p, I, OX_SES_EV_TOKEN_GIVE_IND);
    assert_int_equal(ox_ses_minor_sync(I, false, SP(""), &sn, &p.wire), 0);
    expect1(&p, R, OX_SES_EV_MINOR_SYNC_IND);
    assert_false(p.ev[0].confirm);
    assert_int_equal(ox_ses_activity_end(I, SP(""), &sn, &p.wire), 0);
    assert_int_equal(sn, 3);
    assert_int_equal(ox_ses_data(I, SP("x"), &p.wire), OX_E_STATE); /* waiting for AEA */
    expect1(&p, R, OX_SES_EV_ACTIVITY_END_IND);
    assert_int_equal(p.ev[0].serial, 3);
    assert_int_equal(ox_ses_activity_end_rsp(R, SP(""), &p.wire), 0);
    expect1(&p, I, OX_SES_EV_ACTIVITY_END_CONF);
    assert_false(ox_ses_in_activity(I));
    /* interrupt, then resume from serial 1 */
    assert_int_equal(ox_ses_activity_start(I, SP("A2"), SP(""), &p.wire), 0);
    expect1(&p, R, OX_SES_EV_ACTIVITY_START_IND);
    assert_int_equal(ox_ses_activity_interrupt(I, 0, &p.wire), 0);
    expect1(&p, R, OX_SES_EV_ACTIVITY_INTERRUPT_IND);
    assert_int_equal(ox_ses_data(R, SP("x"), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_activity_interrupt_rsp(R, &p.wire), 0);
    expect1(&p, I, OX_SES_EV_ACTIVITY_INTERRUPT_CONF);
    assert_int_equal(ox_ses_tokens_held(I), all);
    ox_ses_refs refs = {.calling = SP("ref")};
    assert_int_equal(ox_ses_activity_resume(I, SP("A3"), SP("A2"), 7, &refs, SP(""), &p.wire), 0);
    assert_int_equal(ox_ses_serial(I), 8);
    expect1(&p, R, OX_SES_EV_ACTIVITY_RESUME_IND);
    assert_int_equal(p.ev[0].serial, 7);
    assert_true(ox_span_eq(p.ev[0].old_activity_id, SP("A2")));
    assert_true(ox_span_eq(p.ev[0].calling_ref, SP("ref")));
    assert_int_equal(ox_ses_serial(R), 8);
    /* discard it */
    assert_int_equal(ox_ses_activity_discard(I, 1, &p.wire), 0);
    expect1(&p, R, OX_SES_EV_ACTIVITY_DISCARD_IND);
    assert_int_equal(ox_ses_activity_discard_rsp(R, &p.wire), 0);
    expect1(&p, I, OX_SES_EV_ACTIVITY_DISCARD_CONF);
    /* release needs no activity and all tokens */
    assert_int_equal(ox_ses_release(R, SP(""), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_release(I, SP(""), &p.wire), 0);
    expect1(&p, R, OX_SES_EV_RELEASE_IND);
    assert_int_equal(ox_ses_release_rsp(R, SP(""), &p.wire), 0);
    expect1(&p, I, OX_SES_EV_RELEASE_CONF);
    assert_int_equal(I->state, OX_SES_CLOSED);
    assert_int_equal(R->state, OX_SES_CLOSED);
    assert_int_equal(ox_ses_abort(I, SP(""), &p.wire), OX_E_STATE);
    ox_buf_free(&p.wire);
}

static void test_exceptions_and_abort(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, 0, 0, 0);
    assert_int_equal(ox_ses_activity_start(&p.i, SP("A"), SP(""), &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_ACTIVITY_START_IND);
    assert_int_equal(ox_ses_u_exception(&p.i, 1, SP(""), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_u_exception(&p.r, 1, SP(""), &p.wire), 0);
    expect1(&p, &p.i, OX_SES_EV_U_EXCEPTION_IND);
    assert_int_equal(p.ev[0].reason, 1);
    assert_int_equal(ox_ses_data(&p.i, SP("x"), &p.wire), OX_E_STATE);
    assert_int_equal(ox_ses_give_tokens(&p.i, OX_SES_TOKEN_DATA, &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_TOKEN_GIVE_IND);
    assert_int_equal(p.r.wait, OX_SES_W_NONE);
    /* user abort with data */
    assert_int_equal(ox_ses_abort(&p.r, SP("bye"), &p.wire), 0);
    assert_bytes(ox_buf_span(&p.wire), "1908 110103 c103627965");
    expect1(&p, &p.i, OX_SES_EV_ABORT_IND);
    assert_false(p.ev[0].local);
    assert_true(ox_span_eq(p.ev[0].user_data, SP("bye")));
    assert_int_equal(p.i.state, OX_SES_ABORTED);
    assert_int_equal(ox_ses_feed(&p.i, SP("\x0a\x00"), 0, &p.wire), OX_E_STATE);
    ox_buf_free(&p.wire);
}

/* Feeds |bytes| to the initiator or responder of a fresh pair (inside an activity) and
 * expects a protocol error with |fault| and an AB on the wire. */
static void expect_fault(bool to_initiator, const char *bytes, ox_ses_fault fault)
{
    pair p;
    open_pair(&p, 0, 0, 0);
    assert_int_equal(ox_ses_activity_start(&p.i, SP("A"), SP(""), &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_ACTIVITY_START_IND);
    ox_buf in = hex(bytes);
    ox_buf_reset(&p.wire);
    ox_buf_append(&p.wire, in.p, in.len);
    ox_buf reply;
    ox_buf_init(&reply, NULL, NULL, 0);
    ox_ses *s = to_initiator ? &p.i : &p.r;
    assert_int_equal(pump(&p, s, &reply), OX_E_PEER);
    assert_bytes(ox_buf_span(&reply), "1903 110105");
    assert_int_equal(p.nev, 1);
    assert_int_equal(p.ev[0].kind, OX_SES_EV_ABORT_IND);
    assert_true(p.ev[0].local);
    if (p.ev[0].fault != fault)
        print_error("%s: fault %d, want %d\n", bytes, p.ev[0].fault, fault);
    assert_int_equal(p.ev[0].fault, fault);
    assert_int_equal(s->state, OX_SES_ABORTED);
    assert_int_equal(ox_ses_feed(s, ox_buf_span(&in), 0, &reply), OX_E_STATE);
    assert_int_equal(ox_ses_data(s, SP("x"), &reply), OX_E_STATE);
    ox_buf_free(&in);
    ox_buf_free(&reply);
    ox_buf_free(&p.wire);
}

static void test_peer_faults(void **state)
{
    (void)state;
    expect_fault(true, "0100 0100 41", OX_SES_F_TOKEN);               /* DT to the token holder */
    expect_fault(true, "0100 3103 2a0131", OX_SES_F_TOKEN);           /* MIP without the tokens */
    expect_fault(false, "0100 3103 2a0132", OX_SES_F_SERIAL);         /* MIP serial 2, V(M) = 1 */
    expect_fault(false, "0100 2d03 290141", OX_SES_F_UNEXPECTED);     /* AS inside an activity */
    expect_fault(true, "0100 3203 2a0131", OX_SES_F_SERIAL);          /* MIA for nothing sent */
    expect_fault(true, "0100 1a00", OX_SES_F_UNEXPECTED);             /* AIA without AI */
    expect_fault(true, "0103 100101", OX_SES_F_TOKEN);                /* GT of a token we hold */
    expect_fault(false, "0203 100101", OX_SES_F_TOKEN);               /* PT of a token we lack */
    expect_fault(false, "0d00", OX_SES_F_UNEXPECTED);                 /* CN in OPEN */
    expect_fault(true, "0903 110101", OX_SES_F_UNEXPECTED);           /* FN from the tokenless */
    expect_fault(false, "0800", OX_SES_F_UNSUPPORTED);                /* NF never negotiated */
    expect_fault(false, "0100 0103 190101 41", OX_SES_F_UNSUPPORTED); /* segmenting */
    expect_fault(false, "3103", OX_SES_F_MALFORMED);
    expect_fault(false, "3103 2a0131", OX_SES_F_MALFORMED); /* category 2 alone */
}

static void test_connect_variants(void **state)
{
    (void)state;
    ox_ses r;
    ox_ses_cfg cr = {.role = OX_SES_RESPONDER};
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    /* version 1 only: RF "proposed protocol versions not supported" */
    assert_int_equal(ox_ses_init(&r, &cr), 0);
    ox_buf cn = hex("0d05 0503 160101");
    assert_int_equal(ox_ses_feed(&r, ox_buf_span(&cn), 0, &out), OX_E_PEER);
    assert_bytes(ox_buf_span(&out), "0c09 110101 160102 320184");
    ox_ses_ev ev;
    assert_true(ox_ses_next_event(&r, &ev));
    assert_int_equal(ev.kind, OX_SES_EV_ABORT_IND);
    assert_int_equal(ev.fault, OX_SES_F_NEGOTIATION);
    ox_buf_free(&cn);
    /* Data Overflow without Extended User Data (8.3.1.22): refused (SPM restriction) */
    ox_buf_reset(&out);
    assert_int_equal(ox_ses_init(&r, &cr), 0);
    cn = hex("0d08 0503 160102 3c0101");
    assert_int_equal(ox_ses_feed(&r, ox_buf_span(&cn), 0, &out), OX_E_PEER);
    assert_bytes(ox_buf_span(&out), "0c06 110101 320186");
    ox_buf_free(&cn);
    /* refuse by the user, with data; the initiator sees CONNECT_CONF refused */
    pair p;
    memset(&p, 0, sizeof p);
    ox_ses_cfg ci = {.role = OX_SES_INITIATOR};
    assert_int_equal(ox_ses_init(&p.i, &ci), 0);
    assert_int_equal(ox_ses_init(&p.r, &cr), 0);
    ox_buf_init(&p.wire, NULL, NULL, 0);
    static uint8_t big[10240];
    ox_ses_connect_req req = {.user_data = {big, sizeof big}};
    assert_int_equal(ox_ses_connect(&p.i, &req, &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_CONNECT_IND);
    assert_int_equal(p.ev[0].user_data.len, 10240);
    assert_int_equal(ox_ses_refuse(&p.r, OX_SES_RF_USER_CONGESTION, SP("x"), &p.wire), OX_E_ARG);
    assert_int_equal(ox_ses_refuse(&p.r, OX_SES_RF_USER_DATA, SP("no"), &p.wire), 0);
    expect1(&p, &p.i, OX_SES_EV_CONNECT_CONF);
    assert_false(p.ev[0].accepted);
    assert_int_equal(p.ev[0].reason, 2);
    assert_true(ox_span_eq(p.ev[0].user_data, SP("no")));
    assert_int_equal(p.i.state, OX_SES_CLOSED);
    ox_buf_free(&p.wire);
    /* duplex: the peer proposes duplex only; no data token exists, both may send */
    open_pair(&p, OX_SES_FU_DUPLEX | OX_SES_FU_MINOR_SYNC | OX_SES_FU_ACTIVITY,
              OX_SES_FU_DUPLEX | OX_SES_FU_HALF_DUPLEX | OX_SES_FU_MINOR_SYNC | OX_SES_FU_ACTIVITY,
              0);
    assert_int_equal(ox_ses_tokens_available(&p.r), OX_SES_TOKEN_MINOR | OX_SES_TOKEN_MAJOR);
    assert_int_equal(ox_ses_activity_start(&p.i, SP("A"), SP(""), &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_ACTIVITY_START_IND);
    assert_int_equal(ox_ses_data(&p.r, SP("r"), &p.wire), 0);
    expect1(&p, &p.i, OX_SES_EV_DATA_IND);
    assert_int_equal(ox_ses_data(&p.i, SP("i"), &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_DATA_IND);
    ox_buf_free(&p.wire);
    /* token setting: data token on the responder's side, minor at its choice (taken) */
    memset(&p, 0, sizeof p);
    assert_int_equal(ox_ses_init(&p.i, &ci), 0);
    assert_int_equal(ox_ses_init(&p.r, &cr), 0);
    ox_buf_init(&p.wire, NULL, NULL, 0);
    ox_ses_connect_req req2 = {.token_set = 0x09}; /* data: responder, minor: choice */
    assert_int_equal(ox_ses_connect(&p.i, &req2, &p.wire), 0);
    expect1(&p, &p.r, OX_SES_EV_CONNECT_IND);
    ox_ses_accept_req ar = {.take_tokens = OX_SES_TOKEN_MINOR};
    assert_int_equal(ox_ses_accept(&p.r, &ar, &p.wire), 0);
    assert_int_equal(ox_ses_tokens_held(&p.r), OX_SES_TOKEN_DATA | OX_SES_TOKEN_MINOR);
    expect1(&p, &p.i, OX_SES_EV_CONNECT_CONF);
    assert_int_equal(ox_ses_tokens_held(&p.i), OX_SES_TOKEN_MAJOR);
    ox_buf_free(&p.wire);
    ox_buf_free(&out);
}

/* Data overflow (X.225 7.1.4): CN carries the first 10240 octets with Data Overflow, the
 * responder answers OA, the rest follows in CDOs; CONNECT_IND has it all. Byte-exact OA and
 * CDO, then 10241 and 30000 octets, the limit, and every order that is not allowed. */
static void overflow_connect(pair *p, size_t len, size_t limit, ox_buf *ud)
{
    memset(p, 0, sizeof *p);
    ox_ses_cfg ci = {.role = OX_SES_INITIATOR};
    ox_ses_cfg cr = {.role = OX_SES_RESPONDER, .limits = {.max_connect_ud = limit}};
    assert_int_equal(ox_ses_init(&p->i, &ci), 0);
    assert_int_equal(ox_ses_init(&p->r, &cr), 0);
    ox_buf_init(&p->wire, NULL, NULL, 0);
    ox_buf_init(ud, NULL, NULL, 0);
    for (size_t k = 0; k < len; k++)
        ox_buf_put_u8(ud, (uint8_t)(k * 13 + 1));
    ox_ses_connect_req req = {.user_data = ox_buf_span(ud)};
    assert_int_equal(ox_ses_connect(&p->i, &req, &p->wire), 0);
    assert_int_equal(p->i.state, OX_SES_AWAIT_OA);
    /* the CN: Extended User Data (PGI 194) of 10240 octets and Data Overflow 1 */
    ox_ses_spdu cn[2];
    size_t n, off;
    assert_int_equal(ox_ses_pdu_decode(ox_buf_span(&p->wire), cn, &n, &off), 0);
    assert_int_equal(cn[0].kind, OX_SES_K_CN);
    assert_true(cn[0].extended_ud);
    assert_int_equal(cn[0].user_data.len, OX_SES_MAX_CN_EXT_UD);
    assert_true(cn[0].have & OX_SES_HAVE_DATA_OVERFL);
    assert_int_equal(cn[0].data_overflow, 1);
}

/* Delivers the wire to |to| and puts its reply on the wire for the other side. */
static int relay(pair *p, ox_ses *to)
{
    ox_buf reply;
    ox_buf_init(&reply, NULL, NULL, 0);
    int rc = pump(p, to, &reply);
    ox_buf_append(&p->wire, reply.p, reply.len);
    ox_buf_free(&reply);
    return rc;
}

static void test_data_overflow(void **state)
{
    (void)state;
    /* Byte-exact: OA (version 2) and a last CDO (Enclosure end, user data "ab"). */
    ox_ses_spdu oa = {.kind = OX_SES_K_OA, .have = OX_SES_HAVE_VERSION, .version = 2};
    ox_ses_spdu cdo = {.kind = OX_SES_K_CDO,
                       .have = OX_SES_HAVE_ENCLOSURE | OX_SES_HAVE_USER_DATA,
                       .enclosure = OX_SES_ENCL_END,
                       .user_data = SP("ab")};
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_ses_pdu_encode(&oa, &w), 0);
    assert_bytes(ox_buf_span(&w), "1003 160102");
    ox_buf_reset(&w);
    assert_int_equal(ox_ses_pdu_encode(&cdo, &w), 0);
    assert_bytes(ox_buf_span(&w), "0f07 190102 c1026162");
    ox_buf_free(&w);

    size_t sizes[] = {10241, 30000, 64 * 1024};
    for (size_t t = 0; t < 3; t++) {
        pair p;
        ox_buf ud;
        overflow_connect(&p, sizes[t], 0, &ud);
        ox_buf reply;
        ox_buf_init(&reply, NULL, NULL, 0);
        assert_int_equal(relay(&p, &p.r), 0); /* the OA comes back on the wire */
        assert_int_equal(p.nev, 0);
        assert_int_equal(p.r.state, OX_SES_AWAIT_CDO);
        assert_bytes(ox_buf_span(&p.wire), "1003 160102");
        /* the initiator sends the rest in CDOs, in one or several TSDUs */
        ox_buf cdos;
        ox_buf_init(&cdos, NULL, NULL, 0);
        assert_int_equal(pump(&p, &p.i, &cdos), 0);
        assert_int_equal(p.nev, 0);
        assert_int_equal(p.i.state, OX_SES_AWAIT_AC);
        /* feed the CDOs one SPDU (one TSDU) at a time */
        size_t at = 0, ncdo = 0;
        while (at < cdos.len) {
            size_t hl = cdos.p[at + 1] == 0xff ? 4 : 2;
            size_t len = hl == 4 ? (size_t)cdos.p[at + 2] << 8 | cdos.p[at + 3] : cdos.p[at + 1];
            ox_buf_reset(&p.wire);
            ox_buf_append(&p.wire, cdos.p + at, hl + len);
            at += hl + len;
            ncdo++;
            assert_int_equal(pump(&p, &p.r, &reply), 0);
            assert_int_equal(p.nev, at == cdos.len ? 1 : 0);
        }
        assert_int_equal(ncdo, (sizes[t] - 10240 + OX_SES_CDO_CHUNK - 1) / OX_SES_CDO_CHUNK);
        assert_int_equal(p.ev[0].kind, OX_SES_EV_CONNECT_IND);
        assert_int_equal(p.ev[0].user_data.len, sizes[t]);
        assert_memory_equal(p.ev[0].user_data.p, ud.p, sizes[t]);
        assert_int_equal(ox_ses_accept(&p.r, NULL, &p.wire), 0);
        expect1(&p, &p.i, OX_SES_EV_CONNECT_CONF);
        assert_true(p.ev[0].accepted);
        ox_ses_free(&p.i);
        ox_ses_free(&p.r);
        ox_buf_free(&cdos);
        ox_buf_free(&reply);
        ox_buf_free(&p.wire);
        ox_buf_free(&ud);
    }

    /* Past the responder's limit: refused (RF 134) with a LIMIT fault. */
    {
        pair p;
        ox_buf ud, reply;
        overflow_connect(&p, 30000, 20000, &ud);
        ox_buf_init(&reply, NULL, NULL, 0);
        assert_int_equal(relay(&p, &p.r), 0);
        assert_int_equal(relay(&p, &p.i), 0);
        assert_int_equal(pump(&p, &p.r, &reply), OX_E_PEER);
        assert_bytes(ox_buf_span(&reply), "0c06 110101 320186");
        assert_int_equal(p.ev[0].kind, OX_SES_EV_ABORT_IND);
        assert_int_equal(p.ev[0].fault, OX_SES_F_LIMIT);
        /* the initiator hears the refusal */
        ox_buf_reset(&p.wire);
        ox_buf_append(&p.wire, reply.p, reply.len);
        expect1(&p, &p.i, OX_SES_EV_CONNECT_CONF);
        assert_false(p.ev[0].accepted);
        ox_ses_free(&p.r);
        ox_buf_free(&reply);
        ox_buf_free(&p.wire);
        ox_buf_free(&ud);
    }
    /* A limit below the CN's own 10240 octets: refused at the CN already. */
    {
        pair p;
        ox_buf ud, reply;
        overflow_connect(&p, 12000, 5000, &ud);
        ox_buf_init(&reply, NULL, NULL, 0);
        assert_int_equal(pump(&p, &p.r, &reply), OX_E_PEER);
        assert_bytes(ox_buf_span(&reply), "0c06 110101 320186");
        assert_int_equal(p.ev[0].fault, OX_SES_F_LIMIT);
        ox_ses_free(&p.r);
        ox_buf_free(&reply);
        ox_buf_free(&p.wire);
        ox_buf_free(&ud);
    }
    /* The responder may refuse instead of accepting the overflow. */
    {
        pair p;
        ox_buf ud;
        overflow_connect(&p, 11000, 0, &ud);
        ox_buf_reset(&p.wire);
        ox_buf rf = hex("0c06 110101 320186");
        ox_buf_append(&p.wire, rf.p, rf.len);
        expect1(&p, &p.i, OX_SES_EV_CONNECT_CONF);
        assert_false(p.ev[0].accepted);
        ox_buf_free(&rf);
        ox_buf_free(&p.wire);
        ox_buf_free(&ud);
    }
    /* Orders that are not allowed: each aborts with a fault. */
    struct {
        const char *bytes;
        bool to_initiator;
        int state; /* 0: fresh responder; 1: responder awaiting CDO; 2: initiator awaiting OA */
        ox_ses_fault fault;
    } bad[] = {
        {"0f03 190102", false, 0, OX_SES_F_UNEXPECTED}, /* CDO before any CN */
        {"1003 160102", true, 2, OX_SES_F_UNEXPECTED},  /* fine OA... but see below */
        {"0e00", true, 2, OX_SES_F_UNEXPECTED},         /* AC before OA and the CDOs */
        {"0f00", false, 1, OX_SES_F_MALFORMED},         /* CDO without Enclosure Item */
        {"0f03 190103", false, 1, OX_SES_F_MALFORMED},  /* CDO claiming the beginning */
        {"0d00", false, 1, OX_SES_F_UNEXPECTED},        /* a second CN */
        {"1003 160101", true, 2, OX_SES_F_NEGOTIATION}, /* OA with version 1 */
        {"1003 160102", false, 1, OX_SES_F_UNEXPECTED}, /* OA to the responder */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (k == 1)
            continue; /* the legal OA is covered above */
        pair p;
        ox_buf ud, reply;
        ox_buf_init(&reply, NULL, NULL, 0);
        overflow_connect(&p, 12000, 0, &ud);
        if (bad[k].state == 1)
            assert_int_equal(relay(&p, &p.r), 0);
        ox_ses *to = bad[k].to_initiator ? &p.i : &p.r;
        if (bad[k].state == 0) {
            ox_ses_cfg cr = {.role = OX_SES_RESPONDER};
            assert_int_equal(ox_ses_init(&p.r, &cr), 0);
        }
        ox_buf in = hex(bad[k].bytes);
        ox_buf_reset(&p.wire);
        ox_buf_append(&p.wire, in.p, in.len);
        ox_buf_reset(&reply);
        assert_int_equal(pump(&p, to, &reply), OX_E_PEER);
        assert_int_equal(p.nev, 1);
        assert_int_equal(p.ev[0].kind, OX_SES_EV_ABORT_IND);
        if (p.ev[0].fault != bad[k].fault)
            print_error("%s: fault %d, want %d\n", bad[k].bytes, p.ev[0].fault, bad[k].fault);
        assert_int_equal(p.ev[0].fault, bad[k].fault);
        ox_ses_free(&p.r);
        ox_buf_free(&in);
        ox_buf_free(&reply);
        ox_buf_free(&p.wire);
        ox_buf_free(&ud);
    }
    /* Overflow on a version 1 CN: refused with the version reason. */
    {
        ox_ses r;
        ox_ses_cfg cr = {.role = OX_SES_RESPONDER};
        assert_int_equal(ox_ses_init(&r, &cr), 0);
        ox_buf out, cn = hex("0d08 0503 160101 3c0101");
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ses_feed(&r, ox_buf_span(&cn), 0, &out), OX_E_PEER);
        assert_bytes(ox_buf_span(&out), "0c09 110101 160102 320184");
        ox_buf_free(&cn);
        ox_buf_free(&out);
    }
    /* Beyond our own limit the initiator refuses to start. */
    {
        ox_ses i;
        ox_ses_cfg ci = {.role = OX_SES_INITIATOR, .limits = {.max_connect_ud = 20000}};
        assert_int_equal(ox_ses_init(&i, &ci), 0);
        static uint8_t big[20001];
        ox_ses_connect_req req = {.user_data = {big, sizeof big}};
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ses_connect(&i, &req, &out), OX_E_LIMIT);
        ox_buf_free(&out);
    }
}

/* The whole initiator stream of a session through ox_tpkt (TPDU size 128, so that big DTs are
 * segmented), fed to a responder split at every byte: the same events every time. */
static void test_split_through_tpkt(void **state)
{
    (void)state;
    ox_tpkt ti, tr;
    ox_tpkt_cfg ci = {.role = OX_TPKT_INITIATOR, .max_tpdu = 128};
    ox_tpkt_cfg cr = {.role = OX_TPKT_RESPONDER};
    assert_int_equal(ox_tpkt_init(&ti, &ci, NULL), 0);
    ox_buf stream, sb;
    ox_buf_init(&stream, NULL, NULL, 0);
    ox_buf_init(&sb, NULL, NULL, 0);
    assert_int_equal(ox_tpkt_connect(&ti, &stream), 0);
    ti.state = OX_TPKT_OPEN; /* as if the CC had come */
    ti.tpdu_size = 128;
    ox_ses si;
    ox_ses_cfg sci = {.role = OX_SES_INITIATOR};
    assert_int_equal(ox_ses_init(&si, &sci), 0);
    uint8_t big[300];
    memset(big, 7, sizeof big);
    /* The initiator's requests, assuming the responder accepts with all tokens here. */
    assert_int_equal(ox_ses_connect(&si, NULL, &sb), 0);
    assert_int_equal(ox_tpkt_send(&ti, ox_buf_span(&sb), &stream), 0);
    ox_buf_reset(&sb);
    si.state = OX_SES_OPEN;
    si.fu = OX_SES_FU_RTSE;
    si.avail = si.own = OX_SES_TOKEN_DATA | OX_SES_TOKEN_MINOR | OX_SES_TOKEN_MAJOR;
    assert_int_equal(ox_ses_activity_start(&si, SP("A1"), SP(""), &sb), 0);
    assert_int_equal(ox_tpkt_send(&ti, ox_buf_span(&sb), &stream), 0);
    ox_buf_reset(&sb);
    assert_int_equal(ox_ses_data(&si, ox_span_of(big, sizeof big), &sb), 0);
    assert_int_equal(ox_tpkt_send(&ti, ox_buf_span(&sb), &stream), 0);
    ox_buf_reset(&sb);
    assert_int_equal(ox_ses_minor_sync(&si, false, SP(""), NULL, &sb), 0);
    assert_int_equal(ox_tpkt_send(&ti, ox_buf_span(&sb), &stream), 0);
    ox_buf_reset(&sb);
    static const ox_ses_ev_kind want[] = {OX_SES_EV_CONNECT_IND, OX_SES_EV_ACTIVITY_START_IND,
                                          OX_SES_EV_DATA_IND, OX_SES_EV_MINOR_SYNC_IND};
    for (size_t cut = 0; cut <= stream.len; cut++) {
        assert_int_equal(ox_tpkt_init(&tr, &cr, NULL), 0);
        ox_ses sr;
        ox_ses_cfg scr = {.role = OX_SES_RESPONDER};
        assert_int_equal(ox_ses_init(&sr, &scr), 0);
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        size_t got = 0;
        size_t bounds[3] = {0, cut, stream.len};
        for (int part = 0; part < 2; part++) {
            size_t off = bounds[part];
            while (off < bounds[part + 1]) {
                size_t used;
                assert_int_equal(ox_tpkt_feed(&tr,
                                              ox_span_of(stream.p + off, bounds[part + 1] - off),
                                              &used, &out),
                                 0);
                off += used;
                ox_tpkt_ev te;
                while (ox_tpkt_next_event(&tr, &te)) {
                    if (te.kind == OX_TPKT_EV_CONNECT_IND) {
                        assert_int_equal(ox_tpkt_accept(&tr, &out), 0);
                        continue;
                    }
                    assert_int_equal(te.kind, OX_TPKT_EV_DATA_IND);
                    assert_int_equal(ox_ses_feed(&sr, te.data, 0, &out), 0);
                    ox_ses_ev ev;
                    while (ox_ses_next_event(&sr, &ev)) {
                        assert_true(got < OX_ARRAY_LEN(want));
                        assert_int_equal(ev.kind, want[got]);
                        if (ev.kind == OX_SES_EV_CONNECT_IND)
                            assert_int_equal(ox_ses_accept(&sr, NULL, &out), 0);
                        if (ev.kind == OX_SES_EV_DATA_IND)
                            assert_true(ox_span_eq(ev.user_data, ox_span_of(big, sizeof big)));
                        got++;
                    }
                }
            }
        }
        assert_int_equal(got, OX_ARRAY_LEN(want));
        ox_tpkt_free(&tr);
        ox_buf_free(&out);
    }
    ox_tpkt_free(&ti);
    ox_buf_free(&stream);
    ox_buf_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spdu_vectors),         cmocka_unit_test(test_long_forms),
        cmocka_unit_test(test_decode_errors),        cmocka_unit_test(test_machine_pair),
        cmocka_unit_test(test_exceptions_and_abort), cmocka_unit_test(test_peer_faults),
        cmocka_unit_test(test_connect_variants),     cmocka_unit_test(test_data_overflow),
        cmocka_unit_test(test_split_through_tpkt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
