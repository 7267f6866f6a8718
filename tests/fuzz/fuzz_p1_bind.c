/* fuzz_p1_bind.c - MTABindArgument / MTABindResult / MTABindError decoders, both versions */
#include <stdlib.h>

#include "openx400/p1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int v = 0; v < 2; v++)
        for (int result = 0; result < 2; result++) {
            ox_p1_bind b;
            ox_p1_diag diag;
            if (ox_p1_bind_decode(ox_span_of(data, size), result, (ox_p1_version)v, &b, &diag) ==
                0) {
                ox_buf w;
                ox_buf_init(&w, NULL, NULL, 0);
                if (ox_p1_bind_encode(&w, &b, result, (ox_p1_version)v) == 0) {
                    ox_p1_bind c;
                    if (ox_p1_bind_decode(ox_buf_span(&w), result, (ox_p1_version)v, &c, &diag))
                        abort();
                }
                ox_buf_free(&w);
            }
        }
    int e;
    (void)ox_p1_bind_error_decode(ox_span_of(data, size), &e, NULL);
    return 0;
}
