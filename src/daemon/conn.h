/* conn.h - one association in the daemon: its TCP connection, RTSE machine and transfer state
 *
 * Why: associations.c drives the machine and the transfers, dial.c finds a working address,
 *      bindback.c confirms a caller at its own address, connectors.c decides when to open
 *      and probe.c (test-peer) watches one association step by step; they share this
 *      object. Internal to the daemon. */
#ifndef OX_DAEMON_CONN_H
#define OX_DAEMON_CONN_H

#include "daemon.h"

#include "openx400/assoc.h"

#define MAX_TX_RCPTS   64
#define DIAL_ADDR_MAX  9 /* resolved addresses tried in turn, plus the source fallback */
#define DIAL_TRIED_MAX 1024

typedef struct dial_addr {
    struct sockaddr_storage sa;
    char text[80]; /* "host:port" as tried */
} dial_addr;

typedef struct conn {
    ox_daemon *d;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    ox_ltab_entry *lt;
    int cidx; /* connector index, -1 until known */
    bool inbound, closing, tcp_open, timer_open, connected;
    int refs; /* open handles and requests; freed at zero */
    ox_assoc m;
    ox_p1_version p1v; /* X.411-1984 on an X.410-1984 mode association */
    bool m_init;
    size_t inflight;      /* bytes written but not yet completed */
    uint64_t progress_ms; /* loop time of the last byte read or write completed */
    /* dialling: every resolved address in turn, then (bindback) the source address */
    char dial_host[256];
    uint16_t dial_port;
    dial_addr addrs[DIAL_ADDR_MAX];
    size_t n_addrs, addr_i;
    char tried[DIAL_TRIED_MAX]; /* "addr: error; ..." for the failure event */
    bool attempt_timed_out;
    uint64_t bind_sent_ms;      /* wall clock */
    uint64_t reach_deadline_ms; /* on-demand: keep trying until the peer is reachable */
    /* bindback */
    char source_ip[64];   /* inbound: the caller's address */
    int bindback_for;     /* LTAB index of the inbound association this one confirms */
    char fallback_ip[64]; /* source address of that inbound connection ("" = none) */
    bool fallback_used;
    ox_buf pending_accept; /* inbound: our bind result, sent once the bindback succeeded */
    bool awaiting_bindback;
    /* sending */
    bool tx;
    int64_t tx_msg;
    int64_t tx_rcpts[MAX_TX_RCPTS];
    size_t n_tx;
    ox_buf tx_head;
    size_t tx_head_off;
    ox_queue_reader rd;
    bool rd_open;
    uint8_t chunk[16384];
    size_t chunk_len, chunk_off;
    char tx_id[300];
    bool give_turn_after, asked_turn, release_wanted;
    uint64_t release_sent_ms; /* loop time; 0 = no release in progress */
    /* receiving */
    ox_mta_rx *rx;   /* the message being received, streamed into the queue */
    ox_probe *probe; /* test-peer watching this association, or NULL */
} conn;

/* associations.c */
conn *ox_conn_new(ox_daemon *d, bool inbound, int cidx);
void ox_conn_close(conn *c, const char *why);
void ox_conn_unref(conn *c);
void ox_conn_pump(conn *c);
void ox_conn_flush(conn *c, ox_buf *out);
const ox_connector_cfg *ox_conn_connector(conn *c);
ox_event_ctx ox_conn_event_ctx(conn *c);
/* A new outbound association of connector |cidx| in the LTAB, shown with |host|:|port|; the
 * caller sets what it needs and starts it with ox_dial_start. NULL when the LTAB is full. */
conn *ox_daemon_assoc_open_to(ox_daemon *d, int cidx, const char *host, uint16_t port);
/* Once a second: aborts an association stuck past the recovery or disconnect timer. */
void ox_conn_watch(conn *c, uint64_t loop_now);
/* Releases after the current message (lifetime, schedule window end). */
void ox_conn_release_soon(conn *c);
/* The TCP connection is up: start the machine and send the bind. */
void ox_conn_connected(conn *c);
/* Accepts a bind held for the bindback (ok) or refuses it. */
void ox_conn_bindback_done(conn *c, bool ok, const char *why);

/* dial.c: resolves |host| and tries each address in turn (then c->fallback_ip), calling
 * ox_conn_connected on success or ox_conn_dial_failed when every address failed. */
void ox_dial_start(conn *c, const char *host, uint16_t port);
void ox_conn_dial_failed(conn *c);

/* bindback.c */
/* Starts the bindback for inbound |c| whose bind named connector c->cidx; false when none is
 * needed (bindback off, or the caller is itself waiting for our answer to its bind). */
bool ox_bindback_start(conn *c);
void ox_bindback_result(conn *bb, bool ok, const char *why);

/* connectors.c */
/* A failed open of connector |cidx|: Open Interval, attempt counted for each waiting
 * recipient (Max Open Retries then non-delivery). */
void ox_daemon_open_failed(ox_daemon *d, int cidx, uint64_t now, const char *why);
/* An outbound association of |cidx| ended: takes an on-demand link down when it was the
 * last one. */
void ox_daemon_conn_gone(ox_daemon *d, int cidx);

/* probe.c */
void ox_probe_step(ox_probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ox_probe_end(ox_probe *p, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
