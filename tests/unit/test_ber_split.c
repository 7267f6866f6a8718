/* test_ber_split.c - every vector cut at every length, from the front and from the back, each
 * piece in a heap block of exactly its size: under ASan this proves no read past the input,
 * whatever the cut. The reader holds whole inputs (no feed), so "split" means both halves are
 * decoded on their own; the full BER vectors must decode cleanly. Vectors: the inline ones
 * below, the .hex files of tests/vectors/ber, and those of every other layer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ber.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STACK 80

/* Reads the element at |rd| as every type; results are ignored, only memory safety counts. */
static void read_as_everything(const ox_ber_rd *rd)
{
    ox_ber_tlv t;
    if (ox_ber_peek(rd, &t) != 0)
        return;
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    ox_ber_rd r;
    bool b;
    int64_t i;
    ox_oid oid;
    ox_ber_time tm;
    unsigned unused;
    char s[64];
    ox_span v;
    r = *rd;
    (void)ox_ber_read_bool(&r, t.tag, &b);
    r = *rd;
    (void)ox_ber_read_int(&r, t.tag, &i);
    r = *rd;
    (void)ox_ber_read_null(&r, t.tag);
    r = *rd;
    (void)ox_ber_read_oid(&r, t.tag, &oid);
    r = *rd;
    (void)ox_ber_read_octets(&r, t.tag, &out);
    r = *rd;
    (void)ox_ber_read_octets_view(&r, t.tag, &v);
    r = *rd;
    (void)ox_ber_read_bits(&r, t.tag, &out, &unused);
    for (int ty = OX_BER_T_UTF8_STRING; ty <= OX_BER_T_GENERAL_STRING; ty++) {
        r = *rd;
        (void)ox_ber_read_string(&r, t.tag, (ox_ber_strtype)ty, &out);
        r = *rd;
        (void)ox_ber_read_cstr(&r, t.tag, (ox_ber_strtype)ty, s, sizeof(s));
    }
    r = *rd;
    (void)ox_ber_read_utctime(&r, t.tag, &tm);
    r = *rd;
    (void)ox_ber_read_gentime(&r, t.tag, &tm);
    ox_buf_free(&out);
}

/* Walks the whole tree, trying every typed read on every element. Returns the first
 * structural error (0 when the walk completes). */
static int walk(const uint8_t *p, size_t n, bool der)
{
    const ox_ber_limits lim = {.der = der};
    ox_ber_rd st[MAX_STACK];
    ox_ber_diag d;
    size_t top = 0;
    int rc = ox_ber_rd_init(&st[0], ox_span_of(p, n), &lim, &d);
    if (rc)
        return rc;
    for (;;) {
        ox_ber_rd *cur = &st[top];
        if (ox_ber_at_end(cur)) {
            if (top == 0)
                return 0;
            if ((rc = ox_ber_leave(&st[top - 1], cur)) != 0)
                return rc;
            top--;
            continue;
        }
        read_as_everything(cur);
        ox_ber_tlv t;
        if ((rc = ox_ber_next(cur, &t)) != 0)
            return rc;
        assert_true(t.whole.p >= p && t.whole.p + t.whole.len <= p + n);
        assert_true(t.value.p >= t.whole.p && t.value.p + t.value.len <= t.whole.p + t.whole.len);
        if (t.constructed && top + 1 < MAX_STACK) {
            if ((rc = ox_ber_enter_tlv(cur, &t, &st[top + 1])) != 0)
                return rc;
            top++;
        }
    }
}

static size_t g_cuts;

/* Decodes every prefix and every suffix of |v| from an exact-size heap copy. */
static void sweep(ox_span v)
{
    for (size_t k = 0; k <= v.len; k++) {
        for (int side = 0; side < 2; side++) {
            const uint8_t *src = side ? v.p + k : v.p;
            size_t n = side ? v.len - k : k;
            uint8_t *copy = malloc(n ? n : 1);
            assert_non_null(copy);
            if (n)
                memcpy(copy, src, n);
            (void)walk(copy, n, false);
            (void)walk(copy, n, true);
            free(copy);
            g_cuts++;
        }
    }
}

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void test_inline_vectors(void **state)
{
    (void)state;
    static const char *const vectors[] = {
        "3080 3080 3080 020105 0000 0000 0000",
        "3080 3003020101 a080 0401aa 3007 3080 020102 0000 0000 020103 0000",
        "2480 040101 2480 040102 2480 040103 0000 0000 040104 0000",
        "230c 0303000a3b 0305045f291cd0",
        "3711 0406393930313031 04073233353935395a",
        "1f81ffffff7f00 7f81800000 bf810000",
        "06172a030405060708090a0b0c0d0e0f101112131415161718",
        "0605908080804f 0603883703",
        "0209ff8000000000000000 020c000000000000000000000005",
        "3a80 04034a6f6e 04026573 0000",
        "30820100" /* deliberately cut: length past end */,
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(vectors); i++) {
        ox_buf b = hex(vectors[i]);
        if (i + 1 < OX_ARRAY_LEN(vectors))
            assert_int_equal(walk(b.p, b.len, false), 0);
        sweep(ox_buf_span(&b));
        ox_buf_free(&b);
    }
}

static ox_buf load_hex_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    ox_buf text;
    ox_buf_init(&text, NULL, NULL, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ox_buf_append(&text, chunk, n);
    fclose(f);
    ox_buf_put_u8(&text, 0);
    ox_buf b = hex((const char *)text.p);
    ox_buf_free(&text);
    return b;
}

/* Sweeps every .hex file in |dir|; returns how many. With |must_decode|, each must walk. */
static int sweep_dir(const char *dir, bool must_decode)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".hex") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ox_buf b = load_hex_file(path);
        if (must_decode) {
            int rc = walk(b.p, b.len, false);
            if (rc)
                print_message("%s: %s\n", path, ox_strerror(rc));
            assert_int_equal(rc, 0);
        }
        sweep(ox_buf_span(&b));
        ox_buf_free(&b);
        count++;
    }
    closedir(d);
    return count;
}

static void test_ber_vector_files(void **state)
{
    (void)state;
    assert_true(sweep_dir(OX_VECTORS_DIR "/ber", true) >= 7);
}

static void test_other_layer_vectors(void **state)
{
    (void)state;
    /* Other layers' vectors are real PDUs (some not BER at the top, e.g. session SPDUs): the
     * reader must survive every cut of them too. */
    DIR *d = opendir(OX_VECTORS_DIR);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "ber") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", OX_VECTORS_DIR, e->d_name);
        count += sweep_dir(path, false);
    }
    closedir(d);
    print_message("swept %d vectors of other layers, %zu cuts in all\n", count, g_cuts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline_vectors),
        cmocka_unit_test(test_ber_vector_files),
        cmocka_unit_test(test_other_layer_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
