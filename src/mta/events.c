/* events.c - the event catalogue and the JSON-lines + syslog writer
 *
 * Why: one table says, for every event, its ID, category, level, meaning and the operator's
 *      action; docs/EVENTS.md is generated from it and a test checks the two agree, so the
 *      documentation cannot drift from the code.
 * Output: one JSON object per line, flushed per event, so `x400mta events` and `tail -f`
 *      see events as they happen and a crash loses none that were written. */
#include "openx400/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define E(id_, cat, lvl, name_, meaning_, action_)                                                 \
    {                                                                                              \
        .id = id_, .category = OX_CAT_##cat, .level = OX_LEVEL_##lvl, .name = name_,               \
        .meaning = meaning_, .action = action_                                                     \
    }

const ox_event_def ox_event_catalogue[] = {
    E(OX_EV_MTA_STARTED, MTA_ADMINISTRATION, MINIMUM, "mta-started",
      "The MTA started and listens for associations.", "None."),
    E(OX_EV_MTA_STOPPING, MTA_ADMINISTRATION, MINIMUM, "mta-stopping",
      "The MTA is stopping; queued mail stays in the queue.", "None."),
    E(OX_EV_CONFIG_LOADED, CONFIGURATION, MINIMUM, "config-loaded",
      "The configuration was loaded or reloaded.", "None."),
    E(OX_EV_CONFIG_RELOAD_FAILED, CONFIGURATION, MINIMUM, "config-reload-failed",
      "A reload was refused; the previous configuration stays in force.",
      "Fix the file:line errors shown (x400mta check-config), then reload again."),
    E(OX_EV_QUEUE_RECOVERED, MTA_ADMINISTRATION, MINIMUM, "queue-recovered",
      "At start the queue was recovered: transfers in flight are retried, orphans removed.",
      "None; quarantined rows are kept for inspection."),
    E(OX_EV_MSG_SUBMITTED, X400_SERVICE, MEDIUM, "message-submitted",
      "A message was submitted locally and queued.", "None."),
    E(OX_EV_MSG_RECEIVED, X400_SERVICE, MEDIUM, "message-received",
      "A message was received from a peer MTA and stored before it was confirmed.", "None."),
    E(OX_EV_MSG_TRANSFERRED, X400_SERVICE, MEDIUM, "message-transferred",
      "A message was transferred to a peer MTA and confirmed by it.", "None."),
    E(OX_EV_MSG_DELIVERED, X400_SERVICE, MEDIUM, "message-delivered",
      "A message was delivered to a local mailbox.", "None."),
    E(OX_EV_MSG_NON_DELIVERED, X400_SERVICE, MINIMUM, "message-non-delivered",
      "A message could not be delivered; a non-delivery report goes to the originator.",
      "Read the reason and diagnostic; fix the route or connector it names."),
    E(OX_EV_REPORT_GENERATED, X400_SERVICE, MEDIUM, "report-generated",
      "A delivery or non-delivery report was generated.", "None."),
    E(OX_EV_ROUTING_LOOP, X400_SERVICE, MINIMUM, "routing-loop",
      "A message had already passed this MTA (trace information); it was non-delivered.",
      "Check the address spaces of this MTA and of the MTA it came from: they route to each "
      "other."),
    E(OX_EV_DUPLICATE_IGNORED, X400_SERVICE, MEDIUM, "duplicate-ignored",
      "A peer resent a message this MTA already holds (same MTS identifier); it was confirmed "
      "and not stored twice.",
      "None: this is the normal end of a transfer interrupted by a crash or a cut link."),
    E(OX_EV_MSG_EXPIRED, X400_SERVICE, MINIMUM, "message-expired",
      "A message waited longer than its message timeout and was non-delivered.",
      "Find out why its connector could not transfer it (events 289, 9318, 9311)."),
    E(OX_EV_NO_ROUTE, X400_SERVICE, MINIMUM, "no-route",
      "No address space matches a recipient; it was non-delivered.",
      "Add an address space for it to a connector, or correct the address."),
    E(OX_EV_TRANSFER_RETRY, X400_SERVICE, MEDIUM, "transfer-retry",
      "A transfer failed on an open association; it will be retried after the Transfer "
      "Interval.",
      "None unless it repeats; then see the association's events."),
    E(OX_EV_OPEN_FAILED, X400_SERVICE, MINIMUM, "open-failed",
      "A connection to a connector's peer could not be opened; the next attempt comes after "
      "the Open Interval.",
      "Check that the peer runs and listens at the configured address (x400mta test-peer)."),
    E(OX_EV_CONNECTION_ERROR, X400_SERVICE, MINIMUM, "connection-error",
      "A connection error occurred; the error code says which.",
      "See the code; a refused or reset connection usually means the peer is down or "
      "filtered."),
    E(OX_EV_ASSOC_ABNORMAL_END, X400_SERVICE, MINIMUM, "association-abnormal-end",
      "An association ended abnormally (abort, reset or timeout); messages in transfer are "
      "retried.",
      "None unless it repeats; then look at the peer's log and the link."),
    E(OX_EV_ASSOC_OPENED, INTERFACE, MEDIUM, "association-opened",
      "An association was opened and bound.", "None."),
    E(OX_EV_ASSOC_RELEASED, INTERFACE, MEDIUM, "association-released",
      "An association was released in order.", "None."),
    E(OX_EV_ASSOC_STUCK, INTERFACE, MINIMUM, "association-stuck",
      "An association made no progress within the recovery timeout; it was aborted and "
      "replaced.",
      "If it repeats, the peer accepts binds but not data: check the peer and any firewall "
      "between."),
    E(OX_EV_ASSOC_ADDED_FOR_LOAD, INTERFACE, MEDIUM, "association-added",
      "Another association was opened because the queue for the peer passed the threshold.",
      "None."),
    E(OX_EV_TURN_PLEASE, INTERFACE, MAXIMUM, "turn-please",
      "This MTA asked the peer for the RTSE turn to send queued mail.", "None."),
    E(OX_EV_TURN_GIVE, INTERFACE, MAXIMUM, "turn-give", "This MTA gave the RTSE turn to the peer.",
      "None."),
    E(OX_EV_TRANSFER_RESUMED, INTERFACE, MEDIUM, "transfer-resumed",
      "An interrupted transfer resumed from its last confirmed checkpoint.", "None."),
    E(OX_EV_CALL_CANCELLED, INTERFACE, MINIMUM, "call-cancelled",
      "A call took too long and was cancelled (time in ms in the text).",
      "Check the link's latency and the peer's load; raise the timeout only if the link is "
      "slow."),
    E(OX_EV_LINK_ERROR, INTERFACE, MINIMUM, "link-error",
      "The connector's link-up command failed with the code shown; the MTA waits the Open "
      "Interval and tries again.",
      "Run the link-up command by hand; its stderr is in the event."),
    E(OX_EV_COMM_ERROR_NO_DATA, INTERFACE, MINIMUM, "communication-error",
      "A communications error occurred and no data was sent; the MTA recovers the connection.",
      "None unless it repeats."),
    E(OX_EV_BIND_FAILED, INTERFACE, MINIMUM, "bind-failed",
      "Unable to bind to a remote MTA; the error says why.",
      "Compare the names and passwords on both sides (x400mta test-peer shows both)."),
    E(OX_EV_BINDBACK_FAILED, INTERFACE, MINIMUM, "bindback-failed",
      "Bindback to the initiating MTA failed at every address tried; the association was "
      "refused.",
      "Pin 'bindback-address' on the connector, or make the peer's advertised name resolve."),
    E(OX_EV_INBOUND_REFUSED, SECURITY, MINIMUM, "inbound-refused",
      "An incoming association named an MTA no connector knows; it was refused.",
      "Add a connector whose peer-mta is the presented name, or correct the peer's name."),
    E(OX_EV_BIND_AUTH_FAILED, SECURITY, MINIMUM, "bind-authentication-failed",
      "A bind presented a wrong name or password and was refused at once.",
      "Make the connector's passwords match on both sides (the event names which one), then "
      "reload."),
    E(OX_EV_NAME_CASE_MISMATCH, SECURITY, MINIMUM, "name-case-mismatch",
      "A peer's MTA name matched the configured one only when case and spaces are ignored; "
      "the bind was accepted.",
      "Write the name on the connector exactly as the peer spells it."),
    E(OX_EV_BINDBACK_FALLBACK, INTERFACE, MINIMUM, "bindback-fallback",
      "Bindback reached the peer only at the source address of its connection.",
      "Pin 'bindback-address' on the connector or fix the peer's advertised name."),
    E(OX_EV_LINK_UP, INTERFACE, MEDIUM, "link-up", "An on-demand link was brought up.", "None."),
    E(OX_EV_LINK_DOWN, INTERFACE, MEDIUM, "link-down", "An on-demand link was taken down.",
      "None."),
    E(OX_EV_LINK_TIMEOUT, INTERFACE, MINIMUM, "link-timeout",
      "The link-up command did not finish within the link timeout; it was killed.",
      "Check the dialler; raise link-timeout if the link is slow to come up."),
    E(OX_EV_SCHEDULE_WAIT, INTERFACE, MAXIMUM, "schedule-wait",
      "Mail waits for the connector's next schedule window.", "None."),
    E(OX_EV_PROTOCOL_ERROR, INTEROPERABILITY, MINIMUM, "protocol-error",
      "The peer sent something the protocol does not allow; the association was aborted.",
      "Send the event (with its reason and offset) and the peer's product to the developers."),
    E(OX_EV_APDU_DUMP, APDU, MAXIMUM, "apdu", "A P1 APDU as sent or received, in hex.", "None."),
};
const size_t ox_event_catalogue_len = OX_ARRAY_LEN(ox_event_catalogue);

const ox_event_def *ox_event_lookup(uint32_t id)
{
    for (size_t i = 0; i < ox_event_catalogue_len; i++)
        if ((uint32_t)ox_event_catalogue[i].id == id)
            return &ox_event_catalogue[i];
    return NULL;
}

int ox_eventlog_open(ox_eventlog *log, const char *path, const ox_mta_cfg *cfg)
{
    memset(log, 0, sizeof(*log));
    snprintf(log->source, sizeof(log->source), "MTA %s", cfg ? cfg->name : "");
    if (cfg) {
        memcpy(log->level, cfg->log_level, sizeof(log->level));
        log->syslog = cfg->syslog;
    } else {
        memset(log->level, OX_LEVEL_MINIMUM, sizeof(log->level));
    }
    if (path && !strcmp(path, "-")) {
        log->file = stderr;
    } else if (path && *path) {
        log->file = fopen(path, "a");
        if (!log->file)
            return OX_E_IO;
        /* A daemon's turn writes its lines at once (defer_flush): room for a busy turn's. */
        setvbuf(log->file, NULL, _IOFBF, 256 * 1024);
    }
    if (log->syslog)
        openlog("openx400", LOG_PID, LOG_MAIL);
    return 0;
}

void ox_eventlog_set_levels(ox_eventlog *log, const uint8_t level[OX_CAT_COUNT])
{
    memcpy(log->level, level, sizeof(log->level));
}

void ox_eventlog_flush(ox_eventlog *log)
{
    if (log->file)
        fflush(log->file);
}

void ox_eventlog_close(ox_eventlog *log)
{
    if (log->file && log->file != stderr)
        fclose(log->file);
    log->file = NULL;
    if (log->syslog)
        closelog();
}

/* One JSON line being built: appended to in memory, written with one fwrite (a stdio call
 * per character took the stream's lock each time). Cut at the end of |p|, never overrun.
 * Built from pieces rather than printf: a receiving MTA writes two events a message, and
 * formatting them with printf, a call a character, was 1.1 us an event (bench_mta_events). */
typedef struct line {
    char p[16384]; /* the longest line, every field escaped at 6 octets a character, fits */
    size_t n;
} line;

static void put(line *l, const char *s, size_t len)
{
    if (len > sizeof(l->p) - 8 - l->n)
        len = sizeof(l->p) - 8 - l->n; /* room kept for the closing "}\n" */
    memcpy(l->p + l->n, s, len);
    l->n += len;
}

static void puts_(line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_uint(line *l, uint64_t v)
{
    char d[24];
    size_t i = sizeof(d);
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(l, d + i, sizeof(d) - i);
}

/* The octets a JSON string cannot hold as they are (NUL among them, which ends the run). */
static bool escaped(unsigned char c)
{
    static const uint64_t ctl = ~0ull >> 32;                         /* 0x00-0x1f */
    static const uint64_t hi = (1ull << ('\\' - 64)) | (1ull << 63); /* '\\', 0x7f */
    return c < 64 ? (ctl | 1ull << '"') >> c & 1 : c < 128 ? hi >> (c - 64) & 1 : false;
}

/* Appends |s| as a JSON string, escaping, cut to |max| input bytes. Runs of characters that
 * need no escape are copied at once. */
static void json_str(line *l, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    put(l, "\"", 1);
    size_t n = 0;
    while (s && s[n] && n < max) {
        size_t run = n;
        while (run < max && !escaped((unsigned char)s[run]))
            run++;
        put(l, s + n, run - n);
        n = run;
        if (n == max || !s[n])
            break;
        unsigned char c = (unsigned char)s[n++];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(l, e, 2);
        } else if (c == '\n') {
            put(l, "\\n", 2);
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(l, e, 6);
        }
    }
    if (s && s[n])
        put(l, "...", 3);
    put(l, "\"", 1);
}

/* "2026-12-08T00:21:23.", the same for every event of a second: formatted once a second. */
static const char *time_prefix(ox_eventlog *log, uint64_t secs)
{
    if (secs != log->prefix_secs || !log->prefix[0]) {
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(log->prefix, sizeof(log->prefix), "%04d-%02d-%02dT%02d:%02d:%02d.",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        log->prefix_secs = secs;
    }
    return log->prefix;
}

bool ox_event_emit(ox_eventlog *log, uint64_t unix_ms, ox_event_id id, const ox_event_ctx *ctx,
                   const char *fmt, ...)
{
    const ox_event_def *def = ox_event_lookup((uint32_t)id);
    if (OX_NEVER(!def))
        return false;
    if (def->level > log->level[def->category] || log->level[def->category] == OX_LEVEL_NONE)
        return false;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);

    if (log->file) {
        line l;
        l.n = 0;
        unsigned ms = (unsigned)(unix_ms % 1000);
        char millis[4] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                          'Z'};
        put(&l, "{\"time\":\"", 9);
        puts_(&l, time_prefix(log, unix_ms / 1000));
        put(&l, millis, 4);
        put(&l, "\",\"id\":", 7);
        put_uint(&l, (uint32_t)id);
        put(&l, ",\"name\":\"", 9);
        puts_(&l, def->name);
        put(&l, "\",\"source\":", 11);
        json_str(&l, log->source, sizeof(log->source));
        put(&l, ",\"category\":\"", 13);
        puts_(&l, ox_log_category_name(def->category));
        put(&l, "\",\"level\":\"", 11);
        puts_(&l, ox_log_level_name(def->level));
        put(&l, "\"", 1);
        if (ctx && ctx->ltab > 0) {
            put(&l, ",\"ltab\":", 8);
            put_uint(&l, (unsigned)ctx->ltab);
        }
        if (ctx && ctx->connector) {
            put(&l, ",\"connector\":", 13);
            json_str(&l, ctx->connector, 200);
        }
        if (ctx && ctx->peer) {
            put(&l, ",\"peer\":", 8);
            json_str(&l, ctx->peer, 200);
        }
        if (ctx && ctx->address) {
            put(&l, ",\"address\":", 11);
            json_str(&l, ctx->address, 200);
        }
        if (ctx && ctx->msgid) {
            put(&l, ",\"msgid\":", 9);
            json_str(&l, ctx->msgid, 200);
        }
        if (ctx && ctx->code) {
            put(&l, ",\"code\":", 8);
            if (ctx->code < 0)
                put(&l, "-", 1);
            put_uint(&l, ctx->code < 0 ? -(uint64_t)ctx->code : (uint64_t)ctx->code);
        }
        put(&l, ",\"text\":", 8);
        json_str(&l, text, sizeof(text));
        memcpy(l.p + l.n, "}\n", 2); /* put() kept the room */
        fwrite(l.p, 1, l.n + 2, log->file);
        if (!log->defer_flush)
            fflush(log->file);
    }
    if (log->syslog) {
        int prio = def->level <= OX_LEVEL_MINIMUM ? LOG_WARNING : LOG_INFO;
        syslog(prio, "%u %s: %s%s%s", (unsigned)id, def->name, ctx && ctx->connector ? "[" : "",
               ctx && ctx->connector ? ctx->connector : "", text);
    }
    log->written++;
    return true;
}

void ox_event_catalogue_markdown(FILE *out)
{
    fprintf(out, "# openx400 events\n\n"
                 "Generated by `x400mta events --catalogue` from `src/mta/events.c`; a test "
                 "checks this file against the code.\n"
                 "IDs 289, 1028, 1294, 9277, 9301, 9311, 9316, 9318 and 9322 keep the meaning "
                 "the Exchange 5.5 MTA gave them.\n"
                 "An event is written when its level is at or below the level configured for "
                 "its category in `[log]`.\n\n"
                 "| ID | name | category | level | meaning | what to do |\n"
                 "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < ox_event_catalogue_len; i++) {
        const ox_event_def *d = &ox_event_catalogue[i];
        fprintf(out, "| %u | %s | %s | %s | %s | %s |\n", (unsigned)d->id, d->name,
                ox_log_category_name(d->category), ox_log_level_name(d->level), d->meaning,
                d->action);
    }
}
