/* test_vectors.h - helpers the unit tests share: hex vectors from tests/vectors/<layer>/ and
 * byte comparisons that print both sides. Include after cmocka.h. */
#ifndef OX_TEST_VECTORS_H
#define OX_TEST_VECTORS_H

#include "openx400/common.h"

#include <stdio.h>

/* Reads tests/vectors/<layer>/<name> (hex text, '#' comments) into a new buffer. */
static inline ox_buf test_load_vector(const char *layer, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", OX_VECTORS_DIR, layer, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static inline ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static inline void assert_bytes(const ox_buf *got, const ox_buf *want)
{
    if (!ox_span_eq(ox_buf_span(got), ox_buf_span(want))) {
        char g[1024], w[1024];
        ox_hex_encode(g, sizeof(g), ox_buf_span(got));
        ox_hex_encode(w, sizeof(w), ox_buf_span(want));
        fail_msg("got  %s\nwant %s", g, w);
    }
}

#endif
