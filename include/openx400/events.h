/* events.h - the numbered event log: catalogue, levels and the JSON-lines writer
 *
 * Why: operators who ran the Exchange 5.5 MTA know its event IDs (9322 bindback failed, 9318
 *      bind failed, 289 cannot open, ...); openx400 keeps those IDs and meanings and writes
 *      every event with its ID, source, category, level, time, LTAB index, connector and peer,
 *      and a text that says what happened, why and what to do (docs/EVENTS.md is generated from
 *      the catalogue below by `x400mta events --catalogue`).
 * Levels: an event is written when its level is at or below its category's configured level
 *      (None 0, Minimum 1, Medium 3, Maximum 5). */
#ifndef OPENX400_EVENTS_H
#define OPENX400_EVENTS_H

#include "openx400/config.h"

#include <stdio.h>

typedef enum ox_event_id {
    /* Exchange MTA IDs kept with their meaning (shared/design/EXCHANGE-MTA.md). */
    OX_EV_OPEN_FAILED = 289,         /* could not open a connection to a connector/peer */
    OX_EV_CONNECTION_ERROR = 1028,   /* a connection error occurred, with an error code */
    OX_EV_ASSOC_ABNORMAL_END = 1294, /* an association ended abnormally */
    OX_EV_CALL_CANCELLED = 9277,     /* a call took too long and was cancelled */
    OX_EV_LINK_ERROR = 9311,         /* the link-up command (RAS) failed, with its code */
    OX_EV_COMM_ERROR_NO_DATA = 9316, /* communications error, no data sent; will recover */
    OX_EV_BIND_FAILED = 9318,        /* unable to bind to a remote MTA */
    OX_EV_BINDBACK_FAILED = 9322,    /* bindback to the initiating MTA failed */
    /* openx400's own. */
    OX_EV_MTA_STARTED = 100,
    OX_EV_MTA_STOPPING = 101,
    OX_EV_CONFIG_LOADED = 102,
    OX_EV_CONFIG_RELOAD_FAILED = 103,
    OX_EV_QUEUE_RECOVERED = 104,
    OX_EV_MSG_SUBMITTED = 200,
    OX_EV_MSG_RECEIVED = 201,
    OX_EV_MSG_TRANSFERRED = 202,
    OX_EV_MSG_DELIVERED = 203,
    OX_EV_MSG_NON_DELIVERED = 204,
    OX_EV_REPORT_GENERATED = 205,
    OX_EV_ROUTING_LOOP = 206,
    OX_EV_DUPLICATE_IGNORED = 207,
    OX_EV_MSG_EXPIRED = 208,
    OX_EV_NO_ROUTE = 209,
    OX_EV_TRANSFER_RETRY = 210,
    OX_EV_ASSOC_OPENED = 300,
    OX_EV_ASSOC_RELEASED = 301,
    OX_EV_ASSOC_STUCK = 302,
    OX_EV_ASSOC_ADDED_FOR_LOAD = 303,
    OX_EV_TURN_PLEASE = 304,
    OX_EV_TURN_GIVE = 305,
    OX_EV_TRANSFER_RESUMED = 306,
    OX_EV_INBOUND_REFUSED = 9301,   /* Exchange: unknown caller refused; we name the nearest */
    OX_EV_BIND_AUTH_FAILED = 400,   /* Security: wrong name or password in a bind */
    OX_EV_NAME_CASE_MISMATCH = 401, /* Security: peer name matched only ignoring case */
    OX_EV_BINDBACK_FALLBACK = 402,  /* bindback reached the peer only at the source address */
    OX_EV_LINK_UP = 500,
    OX_EV_LINK_DOWN = 501,
    OX_EV_LINK_TIMEOUT = 502,
    OX_EV_SCHEDULE_WAIT = 503,
    OX_EV_PROTOCOL_ERROR = 600, /* Interoperability: the peer broke the protocol */
    OX_EV_APDU_DUMP = 601,      /* APDU: a P1 APDU, hex */
} ox_event_id;

typedef struct ox_event_def {
    ox_event_id id;
    ox_log_category category;
    uint8_t level;
    const char *name;    /* short stable name: "bindback-failed" */
    const char *meaning; /* one sentence: what it means */
    const char *action;  /* what the operator does about it */
} ox_event_def;

extern const ox_event_def ox_event_catalogue[];
extern const size_t ox_event_catalogue_len;
const ox_event_def *ox_event_lookup(uint32_t id);

/* The writer. Holds the log file and the configured levels. */
typedef struct ox_eventlog {
    FILE *file; /* JSON lines, appended; flushed per event unless defer_flush */
    bool syslog;
    bool defer_flush; /* flushed by ox_eventlog_flush (the daemon's loop, before it waits) */
    uint8_t level[OX_CAT_COUNT];
    char source[80];      /* "MTA SITEA" */
    uint64_t written;     /* events written since open */
    uint64_t prefix_secs; /* the second |prefix| was formatted for */
    char prefix[64];      /* "YYYY-MM-DDTHH:MM:SS.", formatted once a second */
} ox_eventlog;

/* Opens (creates) |path| for appending ("" or NULL: no file; "-": stderr). Returns 0 or
 * OX_E_IO. */
int ox_eventlog_open(ox_eventlog *log, const char *path, const ox_mta_cfg *cfg);
void ox_eventlog_set_levels(ox_eventlog *log, const uint8_t level[OX_CAT_COUNT]);
void ox_eventlog_close(ox_eventlog *log);
/* Writes out what defer_flush kept in the buffer. */
void ox_eventlog_flush(ox_eventlog *log);

/* Where an event happened: any field may be 0 / NULL. */
typedef struct ox_event_ctx {
    int ltab; /* LTAB index, -1 or 0 for none (indexes start at 1) */
    const char *connector;
    const char *peer;    /* peer MTA name */
    const char *address; /* peer protocol address */
    const char *msgid;   /* MTS identifier */
    int code;            /* error code where the event carries one */
} ox_event_ctx;

/* Writes event |id| when its level passes the filter. |unix_ms| is wall-clock time from the
 * caller (the event loop). |fmt| makes the text: what happened, to whom, why, what to do.
 * Peer-supplied strings in it are escaped and cut to 200 bytes by the writer. Returns true
 * when written. */
bool ox_event_emit(ox_eventlog *log, uint64_t unix_ms, ox_event_id id, const ox_event_ctx *ctx,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes the catalogue as a Markdown table (docs/EVENTS.md). */
void ox_event_catalogue_markdown(FILE *out);

#endif
