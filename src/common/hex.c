/* hex.c - hex text to bytes and back (test vectors, event-log dumps), and a bounded string copy */
#include "openx400/common.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ox_hex_decode(ox_buf *out, const char *text)
{
    int hi = -1;
    for (const char *s = text; *s; s++) {
        if (*s == '#') {
            while (*s && *s != '\n')
                s++;
            if (!*s)
                break;
            continue;
        }
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ':')
            continue;
        int d = hex_digit(*s);
        if (d < 0)
            return OX_E_ARG;
        if (hi < 0) {
            hi = d;
        } else {
            int rc = ox_buf_put_u8(out, (uint8_t)(hi << 4 | d));
            if (rc)
                return rc;
            hi = -1;
        }
    }
    return hi < 0 ? 0 : OX_E_ARG;
}

size_t ox_hex_encode(char *dst, size_t cap, ox_span s)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < s.len && n + 2 < cap; i++) {
        dst[n++] = digits[s.p[i] >> 4];
        dst[n++] = digits[s.p[i] & 15];
    }
    dst[n] = '\0';
    return n;
}

size_t ox_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = 0;
    while (src[n])
        n++;
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        for (size_t i = 0; i < k; i++)
            dst[i] = src[i];
        dst[k] = '\0';
    }
    return n;
}
