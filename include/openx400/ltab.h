/* ltab.h - the association table (Exchange's Locality Table, LTAB) and connector run state
 *
 * Why: operators read events that cite an LTAB index ("LTAB index: 5") and need to see the
 *      same index in `x400mta assoc`: one table, a stable index per entry for the entry's
 *      life, every association in or out with its peer, state, turn and counters. Next to it
 *      sits each connector's retry state (Open Interval, attempts, the last error), which the
 *      queue view shows. Pure data: no I/O, time passed in. */
#ifndef OPENX400_LTAB_H
#define OPENX400_LTAB_H

#include "openx400/config.h"

/* Why 256: the per-peer maximum is 10 (EXCHANGE-MTA.md) and few MTAs have more than a
 * couple of dozen peers; a full table refuses new associations with an event instead of
 * growing without bound under a connection flood. */
#define OX_LTAB_MAX 256

typedef enum ox_ltab_state {
    OX_LTAB_FREE = 0,
    OX_LTAB_LINK_UP,    /* on-demand: waiting for the link-up command */
    OX_LTAB_CONNECTING, /* TCP connect in progress */
    OX_LTAB_BINDING,    /* RT-OPEN (bind) in progress */
    OX_LTAB_BINDBACK,   /* inbound, waiting for the bindback to confirm the peer */
    OX_LTAB_IDLE,       /* bound, nothing in transfer */
    OX_LTAB_SENDING,
    OX_LTAB_RECEIVING,
    OX_LTAB_RELEASING,
} ox_ltab_state;

const char *ox_ltab_state_name(ox_ltab_state s);

typedef struct ox_ltab_entry {
    int index; /* 1..OX_LTAB_MAX, stable while the entry lives */
    ox_ltab_state state;
    bool inbound;
    char connector[OX_CFG_NAME_MAX]; /* "" until an inbound bind names the peer */
    char peer[OX_CFG_NAME_MAX];      /* peer MTA name as bound */
    char address[80];                /* peer protocol address "host:port" */
    char local_address[80];          /* our end */
    bool have_turn;                  /* we hold the RTSE turn */
    bool urgent;                     /* reserved for urgent mail and reports */
    uint64_t msgs_out, msgs_in, bytes_out, bytes_in;
    uint64_t opened_ms, last_activity_ms; /* monotonic loop time */
    char last_error[160];
    void *owner; /* the daemon's connection object */
} ox_ltab_entry;

typedef struct ox_ltab {
    ox_ltab_entry e[OX_LTAB_MAX];
} ox_ltab;

/* A free entry with its index, state CONNECTING (outbound) or BINDING (inbound), or NULL
 * when the table is full. */
ox_ltab_entry *ox_ltab_add(ox_ltab *t, bool inbound, const char *connector, const char *address,
                           uint64_t now_ms);
void ox_ltab_remove(ox_ltab *t, ox_ltab_entry *e);
ox_ltab_entry *ox_ltab_get(ox_ltab *t, int index);
/* Live associations of |connector| (any state but FREE); |bound| counts IDLE/SENDING/
 * RECEIVING only. */
size_t ox_ltab_count(const ox_ltab *t, const char *connector, bool bound);

/* A connector's retry and link state. */
typedef enum ox_link_state {
    OX_LINK_DOWN,
    OX_LINK_COMING_UP,
    OX_LINK_UP,
    OX_LINK_GOING_DOWN
} ox_link_state;
const char *ox_link_state_name(ox_link_state s);

typedef struct ox_connector_state {
    uint64_t next_open_ms;     /* wall clock: no open before this (Open Interval) */
    uint32_t failed_opens;     /* consecutive */
    uint32_t opens, transfers; /* totals since start */
    char last_error[200];
    char why_waiting[120]; /* "open interval after: connection refused", "schedule" */
    ox_link_state link;
    int replacing;               /* LTAB index of a stuck association being replaced (0 = none) */
    bool window_was_open;        /* selected-times: last seen inside a window */
    bool link_fresh;             /* link just came up: the first open waits for reachability */
    bool schedule_noted;         /* the schedule-wait event was written for this wait */
    uint64_t refused_inbound_ms; /* wall clock: last inbound bind refused (bindback check) */
} ox_connector_state;

/* Records a failed open at |now_ms|: the next attempt is not before now + Open Interval. */
void ox_connector_open_failed(ox_connector_state *s, const ox_connector_cfg *c, uint64_t now_ms,
                              const char *why);
void ox_connector_open_ok(ox_connector_state *s);
/* True when an open may start at |now_ms|. */
bool ox_connector_may_open(const ox_connector_state *s, uint64_t now_ms);

#endif
