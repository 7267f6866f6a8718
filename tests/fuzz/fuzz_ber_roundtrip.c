/* fuzz_ber_roundtrip.c - decode(encode(x)) == x for everything the reader accepts.
 *
 * Structure: the input is walked as a BER tree (BER rules); the same tree is re-encoded with
 *      ox_ber_open/close and ox_ber_put_prim, which must read back under DER length rules
 *      with the same elements in the same order (tags, forms, primitive contents).
 * Types: every primitive element is read as INTEGER, BOOLEAN, NULL, OID, OCTET/BIT STRING,
 *      each character string type, UTCTime and GeneralizedTime; each value read is written
 *      back with its tag and must read back equal. Canonical forms (OID, DER INTEGER and
 *      BOOLEAN) must also come back byte-exact, and OIDs must survive dotted text. */
#include "openx400/ber.h"

#include <string.h>

#define MAX_STACK 80

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

/* A reader over the writer's bytes. */
static void rd_over(ox_ber_rd *rd, const ox_buf *w, bool der)
{
    const ox_ber_limits lim = {.der = der};
    CHECK(ox_ber_rd_init(rd, ox_buf_span(w), &lim, NULL) == 0);
}

/* The contents of the one element in |w|. */
static ox_span content_of(const ox_buf *w)
{
    ox_ber_rd rd;
    ox_ber_tlv t;
    rd_over(&rd, w, true);
    CHECK(ox_ber_peek(&rd, &t) == 0);
    return t.value;
}

static void roundtrip_scalars(const ox_ber_rd *rd, const ox_ber_tlv *t)
{
    uint32_t tag = t->tag;
    if (tag == 0)
        return; /* tag 0 means "the type's universal tag" to the writers */
    bool der = rd->lim.der;
    ox_ber_rd r, back;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);

    int64_t i, i2;
    r = *rd;
    if (ox_ber_read_int(&r, tag, &i) == 0) {
        ox_ber_put_int(&w, tag, i);
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_int(&back, tag, &i2) == 0 && i2 == i && ox_ber_at_end(&back));
        if (der) /* DER INTEGER contents are minimal, as the writer's */
            CHECK(ox_span_eq(content_of(&w), t->value));
        ox_buf_reset(&w);
    }
    bool b, b2;
    r = *rd;
    if (ox_ber_read_bool(&r, tag, &b) == 0) {
        ox_ber_put_bool(&w, tag, b);
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_bool(&back, tag, &b2) == 0 && b2 == b);
        if (der)
            CHECK(ox_span_eq(content_of(&w), t->value));
        ox_buf_reset(&w);
    }
    r = *rd;
    if (ox_ber_read_null(&r, tag) == 0) {
        ox_ber_put_null(&w, tag);
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_null(&back, tag) == 0);
        ox_buf_reset(&w);
    }
    ox_oid oid, oid2;
    r = *rd;
    if (ox_ber_read_oid(&r, tag, &oid) == 0) {
        ox_ber_put_oid(&w, tag, &oid);
        CHECK(ox_ber_wr_status(&w) == 0);
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_oid(&back, tag, &oid2) == 0 && ox_oid_eq(&oid, &oid2));
        /* OID contents have one encoding: byte-exact. */
        CHECK(ox_span_eq(content_of(&w), t->value));
        char text[OX_OID_MAX_ARCS * 11 + 1];
        CHECK(ox_oid_to_text(&oid, text, sizeof(text)) > 0);
        CHECK(ox_oid_from_text(&oid2, text) == 0 && ox_oid_eq(&oid, &oid2));
        ox_buf_reset(&w);
    }
    ox_buf v1, v2;
    ox_buf_init(&v1, NULL, NULL, 0);
    ox_buf_init(&v2, NULL, NULL, 0);
    r = *rd;
    if (ox_ber_read_octets(&r, tag, &v1) == 0) {
        ox_ber_put_octets(&w, tag, ox_buf_span(&v1));
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_octets(&back, tag, &v2) == 0 &&
              ox_span_eq(ox_buf_span(&v1), ox_buf_span(&v2)));
        ox_buf_reset(&w);
    }
    ox_buf_reset(&v1);
    ox_buf_reset(&v2);
    unsigned u1, u2;
    r = *rd;
    if (ox_ber_read_bits(&r, tag, &v1, &u1) == 0) {
        ox_ber_put_bits(&w, tag, ox_buf_span(&v1), u1);
        CHECK(ox_ber_wr_status(&w) == 0);
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_bits(&back, tag, &v2, &u2) == 0 && u1 == u2 &&
              ox_span_eq(ox_buf_span(&v1), ox_buf_span(&v2)));
        ox_buf_reset(&w);
    }
    static const ox_ber_strtype types[] = {
        OX_BER_STR_NUMERIC, OX_BER_STR_PRINTABLE, OX_BER_STR_TELETEX, OX_BER_STR_IA5,
        OX_BER_STR_VISIBLE, OX_BER_STR_GENERAL,   OX_BER_STR_UTF8};
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        ox_buf_reset(&v1);
        ox_buf_reset(&v2);
        r = *rd;
        if (ox_ber_read_string(&r, tag, types[k], &v1) != 0)
            continue;
        ox_ber_put_string(&w, tag, types[k], ox_buf_span(&v1));
        CHECK(ox_ber_wr_status(&w) == 0); /* we send what we accept */
        rd_over(&back, &w, true);
        CHECK(ox_ber_read_string(&back, tag, types[k], &v2) == 0 &&
              ox_span_eq(ox_buf_span(&v1), ox_buf_span(&v2)));
        ox_buf_reset(&w);
    }
    ox_buf_free(&v1);
    ox_buf_free(&v2);
    ox_ber_time t1, t2;
    for (int gen = 0; gen < 2; gen++) {
        r = *rd;
        if ((gen ? ox_ber_read_gentime(&r, tag, &t1) : ox_ber_read_utctime(&r, tag, &t1)) != 0)
            continue;
        if (gen)
            ox_ber_put_gentime(&w, tag, &t1);
        else
            ox_ber_put_utctime(&w, tag, &t1);
        if (ox_ber_wr_status(&w) == 0) {
            rd_over(&back, &w, true);
            CHECK((gen ? ox_ber_read_gentime(&back, tag, &t2)
                       : ox_ber_read_utctime(&back, tag, &t2)) == 0);
            CHECK(ox_ber_time_to_unix(&t1) == ox_ber_time_to_unix(&t2));
            CHECK(!gen || t1.millis == t2.millis);
            CHECK(t2.has_zone && t2.utc_offset_min == 0);
        } else {
            /* Only a UTC year outside the type's range may refuse a time we read. */
            ox_ber_time u;
            ox_ber_time_from_unix(ox_ber_time_to_unix(&t1), &u);
            CHECK(gen ? (u.year < 0 || u.year > 9999) : (u.year < 1950 || u.year > 2049));
        }
        ox_buf_reset(&w);
    }
    ox_buf_free(&w);
}

/* Appends one walk event (tag, form, primitive contents or end of a constructed one). */
static void log_event(ox_buf *log, const ox_ber_tlv *t, bool end)
{
    uint8_t h[6] = {(uint8_t)(t ? t->tag >> 24 : 0),     (uint8_t)(t ? t->tag >> 16 : 0),
                    (uint8_t)(t ? t->tag >> 8 : 0),      (uint8_t)(t ? t->tag : 0),
                    (uint8_t)(end ? 2 : t->constructed), 0};
    ox_buf_append(log, h, sizeof(h));
    if (t && !t->constructed) {
        uint8_t n[8];
        for (int i = 0; i < 8; i++)
            n[i] = (uint8_t)(t->value.len >> (56 - 8 * i));
        ox_buf_append(log, n, 8);
        ox_buf_append(log, t->value.p, t->value.len);
    }
}

/* Walks |in|; logs events; re-encodes into |out| when non-NULL. Returns the first error. */
static int walk(ox_span in, bool der, ox_buf *log, ox_buf *out, bool scalars)
{
    const ox_ber_limits lim = {.max_depth = 64, .max_size = 1 << 20, .der = der};
    ox_ber_rd st[MAX_STACK];
    size_t mark[MAX_STACK];
    size_t top = 0;
    int rc = ox_ber_rd_init(&st[0], in, &lim, NULL);
    if (rc)
        return rc;
    for (;;) {
        ox_ber_rd *cur = &st[top];
        if (ox_ber_at_end(cur)) {
            if (top == 0)
                return 0;
            if ((rc = ox_ber_leave(&st[top - 1], cur)) != 0)
                return rc;
            if (out)
                ox_ber_close(out, mark[top]);
            log_event(log, NULL, true);
            top--;
            continue;
        }
        ox_ber_tlv t;
        if ((rc = ox_ber_peek(cur, &t)) != 0)
            return rc;
        if (scalars && !t.constructed)
            roundtrip_scalars(cur, &t);
        if ((rc = ox_ber_next(cur, &t)) != 0)
            return rc;
        log_event(log, &t, false);
        if (!t.constructed) {
            if (out)
                ox_ber_put_prim(out, t.tag, t.value.p, t.value.len);
            continue;
        }
        if (top + 1 >= MAX_STACK)
            return OX_E_LIMIT;
        if ((rc = ox_ber_enter_tlv(cur, &t, &st[top + 1])) != 0)
            return rc;
        top++;
        if (out)
            mark[top] = ox_ber_open(out, t.tag);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int der = 0; der < 2; der++) {
        ox_buf log1, log2, enc;
        ox_buf_init(&log1, NULL, NULL, 0);
        ox_buf_init(&log2, NULL, NULL, 0);
        ox_buf_init(&enc, NULL, NULL, 0);
        if (walk(ox_span_of(data, size), der, &log1, &enc, true) == 0) {
            CHECK(ox_ber_wr_status(&enc) == 0);
            /* The re-encoding is definite and minimal: it reads under DER length rules, with
             * the same elements; and in DER mode, the input was already that encoding. */
            CHECK(walk(ox_buf_span(&enc), true, &log2, NULL, false) == 0);
            CHECK(ox_span_eq(ox_buf_span(&log1), ox_buf_span(&log2)));
            if (der)
                CHECK(ox_span_eq(ox_buf_span(&enc), ox_span_of(data, size)));
        }
        ox_buf_free(&log1);
        ox_buf_free(&log2);
        ox_buf_free(&enc);
    }
    return 0;
}
