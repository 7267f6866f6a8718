/* daemon.h - the MTA process: one libuv loop that owns every socket, timer and child
 *
 * Why: the protocol layers and the MTA core are sans-I/O; this is the only place that reads
 *      the network, the clocks and the signals, and hands bytes and time to them. */
#ifndef OX_DAEMON_H
#define OX_DAEMON_H

#include "openx400/config.h"
#include "openx400/events.h"
#include "openx400/ltab.h"
#include "openx400/mta.h"

#include <uv.h>

typedef struct ox_daemon {
    uv_loop_t *loop;
    char cfg_path[OX_CFG_PATH_MAX];
    ox_mta_cfg *cfg; /* owned; replaced whole on reload */
    ox_eventlog log;
    uv_tcp_t listener;
    uv_pipe_t control;
    uv_signal_t sighup, sigterm, sigint;
    bool control_open, listener_open;
    bool stopping;
    uint64_t started_ms; /* loop time at start */
    ox_mta mta;          /* the engine: queue, routing, delivery, reports */
    bool mta_open;
    uv_timer_t run_timer;                            /* fires when the queue has work due */
    ox_ltab ltab;                                    /* every association, in and out */
    ox_connector_state cstate[OX_CFG_CONNECTOR_MAX]; /* by connector index in cfg */
} ox_daemon;

/* Associations (associations.c). */
void ox_daemon_assoc_accept(ox_daemon *d, uv_stream_t *server);
int ox_daemon_assoc_open(ox_daemon *d, int connector_index);
/* Opens associations where mail waits and the Open Interval allows; moves the open ones on.
 * Lowers *next_ms to the next time an open becomes allowed. */
void ox_daemon_assoc_schedule(ox_daemon *d, uint64_t now, uint64_t *next_ms);
/* Releases what can be released, aborts the rest (stop). */
void ox_daemon_assoc_stop_all(ox_daemon *d);

/* Writes the LTAB as a table (or JSON lines) into |out|. */
void ox_daemon_ltab_text(ox_daemon *d, bool json, char *out, size_t cap);
/* Writes each connector's run state, one line each: name, link, next open, failed opens, why. */
void ox_daemon_connectors_text(ox_daemon *d, char *out, size_t cap);

/* Runs the engine now and re-arms the timer for its next due time. */
void ox_daemon_kick(ox_daemon *d);

/* Loads the configuration, opens the event log, listens, and runs until stopped. Returns the
 * process exit status: 0 after an orderly stop, 1 on a configuration error, 2 when a resource
 * (port, socket path, log file) cannot be had. */
int ox_daemon_run(const char *cfg_path);

/* Wall-clock milliseconds for event timestamps. */
uint64_t ox_daemon_wall_ms(void);

/* Control socket (control.c). */
int ox_control_listen(ox_daemon *d);
/* Re-reads the configuration; on errors keeps the old one. Writes what happened to |reply|. */
int ox_daemon_reload(ox_daemon *d, char *reply, size_t cap);
void ox_daemon_stop(ox_daemon *d);

/* CLI side: sends |request| and reads the whole reply (NUL-terminated). Returns 0, OX_E_IO
 * (no daemon there, or it did not answer within 30 s) or OX_E_ARG. */
int ox_control_request(const char *path, const char *request, char *reply, size_t cap);

#endif
