/* bench_mta_events.c - the event log writer's cost: a receiving MTA writes two events a
 *                      message (received, delivered) and a sending MTA one (transferred), so
 *                      at 10,000 messages a second each microsecond here is 1-2% of a core.
 * Prints ns per event for events shaped like those (context with peer and MTS identifier, a
 * text of about 120 characters), written to a file the way the daemon writes them (buffered,
 * flushed once per batch of 64). Usage: bench_mta_events [DIR] (default /tmp). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "openx400/events.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    if (argc > 1 && (argv[1][0] == '-')) {
        printf("usage: bench_mta_events [DIR]\nPrints ns per event written to DIR/events.jsonl "
               "(removed after).\n");
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/bench-events-%d.jsonl", dir, (int)getpid());
    ox_eventlog log;
    if (ox_eventlog_open(&log, path, NULL) != 0) {
        fprintf(stderr, "bench_mta_events: cannot open %s\n", path);
        return 1;
    }
    uint8_t levels[OX_CAT_COUNT];
    for (size_t i = 0; i < OX_CAT_COUNT; i++)
        levels[i] = OX_LEVEL_MEDIUM;
    ox_eventlog_set_levels(&log, levels);
    log.defer_flush = true;

    const int n = 400000;
    uint64_t wall = 1796000000000ull;
    char mts[64];
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(mts, sizeof(mts), "SITEA/%08d.1796000000", i);
        ox_event_ctx ctx = {.msgid = mts, .peer = "SITEA", .ltab = 1 + i % 128};
        if (i % 2 == 0)
            ox_event_emit(&log, wall + (uint64_t)i / 10, OX_EV_MSG_RECEIVED, &ctx,
                          "message %s from %s for %zu recipient(s), %zu octets, delivered at "
                          "arrival",
                          mts, "SITEA", (size_t)1, (size_t)2300);
        else
            ox_event_emit(&log, wall + (uint64_t)i / 10, OX_EV_MSG_DELIVERED, &ctx,
                          "message %s delivered to %s in %s", mts, "C=XX;A= ;P=SITEB;S=Bob",
                          "mailbox/C=XX;A= ;P=SITEB;S=Bob/SITEA-00000001.1796000000");
        if (i % 64 == 63)
            ox_eventlog_flush(&log);
    }
    ox_eventlog_flush(&log);
    double t = now_s() - t0;
    long written = (long)log.written;
    ox_eventlog_close(&log);
    unlink(path);
    printf("event log: %d events in %.3f s = %.0f ns an event (%ld written)\n", n, t, t * 1e9 / n,
           written);
    return written == n ? 0 : 1;
}
