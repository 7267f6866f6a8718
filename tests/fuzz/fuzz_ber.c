/* fuzz_ber.c - walks any input as a BER tree, reading every primitive as each type, and
 * re-encodes what it reads; the reader must never read out of bounds or loop. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int der = 0; der < 2; der++) {
        ox_ber_limits lim = {.max_depth = 64, .max_size = 1 << 20, .der = der};
        ox_ber_rd stack[MAX_STACK];
        ox_ber_diag diag;
        size_t top = 0;
        if (ox_ber_rd_init(&stack[0], ox_span_of(data, size), &lim, &diag) != 0)
            return 0;
        ox_buf copy;
        ox_buf_init(&copy, NULL, NULL, 0);
        while (1) {
            ox_ber_rd *cur = &stack[top];
            if (ox_ber_at_end(cur)) {
                if (top == 0)
                    break;
                if (ox_ber_leave(&stack[top - 1], cur) != 0)
                    break;
                top--;
                continue;
            }
            read_as_everything(cur);
            ox_ber_tlv t;
            if (ox_ber_next(cur, &t) != 0)
                break;
            /* Everything the reader hands out lies inside the input. */
            if (t.whole.p < data || t.whole.p + t.whole.len > data + size ||
                t.value.p < t.whole.p || t.value.p + t.value.len > t.whole.p + t.whole.len)
                __builtin_trap();
            ox_ber_put_raw(&copy, t.whole);
            if (t.constructed && top + 1 < MAX_STACK) {
                if (ox_ber_enter_tlv(cur, &t, &stack[top + 1]) != 0)
                    break;
                top++;
            }
        }
        ox_buf_free(&copy);
    }
    return 0;
}
