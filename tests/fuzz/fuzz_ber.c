/* fuzz_ber.c - walks any input as a BER tree, reading every primitive as each type, and
 * re-encodes what it reads; the reader must never read out of bounds or loop. The walk is
 * also compared with a reference parser written straight from X.690 8.1 (recursive, no
 * sharing with src/ber): both must accept exactly the same inputs, under BER and DER length
 * rules and the depth limit, and see the same elements in the same order. */
#include "openx400/ber.h"

#include <string.h>

#define MAX_STACK 80

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_as_everything(const ox_ber_rd *rd)
{
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    ox_ber_rd r;
    ox_ber_tlv t;
    if (ox_ber_peek(rd, &t) != 0)
        return;
    bool b;
    int64_t i;
    ox_oid oid;
    ox_ber_time tm;
    unsigned unused;
    char s[64];
    r = *rd;
    (void)ox_ber_read_bool(&r, t.tag, &b);
    r = *rd;
    (void)ox_ber_read_int(&r, t.tag, &i);
    r = *rd;
    (void)ox_ber_read_null(&r, t.tag);
    r = *rd;
    if (ox_ber_read_oid(&r, t.tag, &oid) == 0) {
        char text[300];
        ox_oid oid2;
        if (ox_oid_to_text(&oid, text, sizeof(text)) > 0 && ox_oid_from_text(&oid2, text) == 0 &&
            !ox_oid_eq(&oid, &oid2))
            __builtin_trap();
        ox_ber_put_oid(&out, 0, &oid);
    }
    r = *rd;
    (void)ox_ber_read_octets(&r, t.tag, &out);
    r = *rd;
    (void)ox_ber_read_bits(&r, t.tag, &out, &unused);
    r = *rd;
    (void)ox_ber_read_cstr(&r, t.tag, OX_BER_STR_PRINTABLE, s, sizeof(s));
    r = *rd;
    (void)ox_ber_read_string(&r, t.tag, OX_BER_STR_UTF8, &out);
    r = *rd;
    if (ox_ber_read_utctime(&r, t.tag, &tm) == 0)
        ox_ber_put_gentime(&out, 0, &tm);
    r = *rd;
    if (ox_ber_read_gentime(&r, t.tag, &tm) == 0)
        ox_ber_put_gentime(&out, 0, &tm);
    ox_buf_free(&out);
}

/* ---- reference parser ---- */

#define REF_MAX_DEPTH 64

/* One walk event: tag, form (or 2 for "end of constructed"), and primitive contents. */
static void log_event(ox_buf *log, uint32_t tag, int form, const uint8_t *v, size_t n)
{
    uint8_t h[5] = {(uint8_t)(tag >> 24), (uint8_t)(tag >> 16), (uint8_t)(tag >> 8), (uint8_t)tag,
                    (uint8_t)form};
    ox_buf_append(log, h, sizeof(h));
    if (form == 0) {
        uint8_t l[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
        ox_buf_append(log, l, sizeof(l));
        ox_buf_append(log, v, n);
    }
}

/* Parses the elements of one scope [p, end). |indef|: the scope is closed by 00 00, and
 * *stop receives the octet after it. Returns false for any encoding error. */
static bool ref_scope(const uint8_t *p, const uint8_t *end, bool indef, unsigned depth, bool der,
                      ox_buf *log, const uint8_t **stop)
{
    for (;;) {
        if (p == end) {
            *stop = p;
            return !indef; /* an indefinite scope needs its end-of-contents */
        }
        if (p[0] == 0x00) { /* end-of-contents: 00 00, only where one closes a scope */
            if (end - p < 2 || p[1] != 0x00 || !indef)
                return false;
            *stop = p + 2;
            return true;
        }
        /* Identifier octets (8.1.2). */
        uint8_t id = *p++;
        if (id == 0x20)
            return false; /* UNIVERSAL 0 is reserved */
        bool cons = (id & 0x20) != 0;
        uint64_t num = id & 0x1f;
        if (num == 0x1f) {
            if (p == end || *p == 0x80)
                return false;
            num = 0;
            for (;;) {
                if (p == end)
                    return false;
                uint8_t b = *p++;
                num = num * 128 + (b & 0x7f);
                if (num > OX_BER_TAG_NUM_MAX)
                    return false;
                if (!(b & 0x80))
                    break;
            }
            if (num < 0x1f)
                return false;
        }
        uint32_t tag = OX_BER_TAG(id >> 6, (uint32_t)num);
        /* Length octets (8.1.3). */
        if (p == end)
            return false;
        uint8_t l0 = *p++;
        bool child_indef = false;
        uint64_t len = 0;
        if (l0 < 0x80) {
            len = l0;
        } else if (l0 == 0x80) {
            if (der || !cons)
                return false;
            child_indef = true;
        } else {
            size_t n = l0 & 0x7f;
            if (l0 == 0xff || n > 8 || n > (size_t)(end - p))
                return false;
            for (size_t i = 0; i < n; i++)
                len = len << 8 | p[i];
            if (der && (len < 0x80 || p[0] == 0x00))
                return false;
            p += n;
        }
        if (!child_indef && len > (uint64_t)(end - p))
            return false;
        if (!cons) {
            log_event(log, tag, 0, p, (size_t)len);
            p += len;
            continue;
        }
        if (depth + 1 > REF_MAX_DEPTH)
            return false;
        log_event(log, tag, 1, NULL, 0);
        const uint8_t *after;
        if (!ref_scope(p, child_indef ? end : p + len, child_indef, depth + 1, der, log, &after))
            return false;
        log_event(log, tag, 2, NULL, 0);
        p = child_indef ? after : p + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int der = 0; der < 2; der++) {
        ox_ber_limits lim = {.max_depth = 64, .max_size = 1 << 20, .der = der};
        ox_ber_rd stack[MAX_STACK];
        ox_ber_diag diag;
        size_t top = 0;
        if (ox_ber_rd_init(&stack[0], ox_span_of(data, size), &lim, &diag) != 0)
            return 0;
        ox_buf copy, log, ref_log;
        ox_buf_init(&copy, NULL, NULL, 0);
        ox_buf_init(&log, NULL, NULL, 0);
        ox_buf_init(&ref_log, NULL, NULL, 0);
        uint32_t tags[MAX_STACK];
        bool ok = false;
        while (1) {
            ox_ber_rd *cur = &stack[top];
            if (ox_ber_at_end(cur)) {
                if (top == 0) {
                    ok = true;
                    break;
                }
                if (ox_ber_leave(&stack[top - 1], cur) != 0)
                    break;
                log_event(&log, tags[top], 2, NULL, 0);
                top--;
                continue;
            }
            read_as_everything(cur);
            ox_ber_tlv t;
            if (ox_ber_next(cur, &t) != 0)
                break;
            log_event(&log, t.tag, t.constructed, t.value.p, t.value.len);
            /* Everything the reader hands out lies inside the input. */
            if (t.whole.p < data || t.whole.p + t.whole.len > data + size ||
                t.value.p < t.whole.p || t.value.p + t.value.len > t.whole.p + t.whole.len)
                __builtin_trap();
            if (top == 0)
                ox_ber_put_raw(&copy, t.whole);
            if (t.constructed) {
                if (top + 1 >= MAX_STACK)
                    __builtin_trap(); /* the depth limit (64) must come first */
                if (ox_ber_enter_tlv(cur, &t, &stack[top + 1]) != 0)
                    break;
                top++;
                tags[top] = t.tag;
            }
        }
        /* The reference parser agrees on acceptance and on every element. */
        const uint8_t *stop;
        bool ref_ok = ref_scope(data, data + size, false, 0, der != 0, &ref_log, &stop);
        if (ok != ref_ok)
            __builtin_trap();
        if (ok && !ox_span_eq(ox_buf_span(&log), ox_buf_span(&ref_log)))
            __builtin_trap();
        /* Everything accepted was copied element by element: the copy is the input. */
        if (ok && !ox_span_eq(ox_buf_span(&copy), ox_span_of(data, size)))
            __builtin_trap();
        ox_buf_free(&copy);
        ox_buf_free(&log);
        ox_buf_free(&ref_log);
    }
    return 0;
}
