/* rtsm.h - the RTSE protocol machine for an MTA association, over the whole OSI stack
 *
 * Why: the daemon needs one object per TCP connection that turns bytes into the services P1
 *      uses - RT-OPEN carrying the MTA bind, RT-TRANSFER of one MTS-APDU as a session
 *      activity with checkpoints and a window, RT-TURN-PLEASE/GIVE, RT-CLOSE, RT-ABORT - and
 *      back. It stacks RFC 1006 (ox_tpkt), X.225 (ox_ses) and the X.226/X.227/X.228 codecs
 *      (ox_pres, ox_acse, ox_rtse) in normal mode.
 * Shape: sans-I/O. ox_rtsm_feed takes received bytes and stops after each transport event so
 *      that event views stay valid: drain ox_rtsm_next_event, then feed the rest. Every
 *      request appends the bytes to send to |out|; send them even when a call fails.
 * Transfers: streaming. The sender announces the APDU's length, then hands chunks; the
 *      machine writes a minor synchronisation point every checkpoint-size octets and stops
 *      accepting octets (returns fewer than offered) while window-size checkpoints are
 *      unconfirmed; OX_RTSM_EV_WRITABLE says when to go on. The receiver gets the content as
 *      views of each chunk and must answer OX_RTSM_EV_TRANSFER_END_IND with
 *      ox_rtsm_transfer_confirm only once the message is durably stored: that sends the
 *      activity-end acknowledgement, which is what tells the sender it may forget it. Minor
 *      syncs are acknowledged at once: they mean "received", not "stored".
 * Scope of this version: normal mode; recovery of an interrupted transfer is not attempted
 *      (a lost connection fails the transfer, which the MTA retries whole; the receiver's
 *      MTS-identifier check keeps that exactly-once). See docs/ASSOCIATION.md.
 * Diagnostics: a peer fault in any layer aborts the association (AB carrying an ARU/ABRT
 *      with an RTAB where we can) and queues one ABORT_IND whose |why| names the layer and
 *      the rule; the machine is then ABORTED (sticky: requests return OX_E_STATE).
 * Standards: X.228 (1988) clauses 7-9 (RTSE protocol), X.419 (1999) 11 (mts-transfer). */
#ifndef OPENX400_RTSM_H
#define OPENX400_RTSM_H

#include "openx400/rtse.h"
#include "openx400/ses.h"
#include "openx400/tpkt.h"

typedef enum ox_rtsm_role { OX_RTSM_INITIATOR, OX_RTSM_RESPONDER } ox_rtsm_role;

typedef enum ox_rtsm_state {
    OX_RTSM_IDLE,           /* initiator before open */
    OX_RTSM_AWAIT_CR,       /* responder: waiting for the transport connect */
    OX_RTSM_AWAIT_CC,       /* initiator: CR sent */
    OX_RTSM_AWAIT_CN,       /* responder: waiting for the session connect */
    OX_RTSM_AWAIT_AC,       /* initiator: CN (AARQ, RTORQ) sent */
    OX_RTSM_AWAIT_OPEN_RSP, /* responder: OPEN_IND delivered */
    OX_RTSM_OPEN,           /* associated: transfers and turns */
    OX_RTSM_AWAIT_DN,       /* FN (RLRQ) sent */
    OX_RTSM_CLOSED,         /* released or refused: close the connection */
    OX_RTSM_ABORTED,
} ox_rtsm_state;

typedef enum ox_rtsm_ev_kind {
    OX_RTSM_EV_NONE,
    OX_RTSM_EV_OPEN_IND,  /* responder: bind (MTABindArgument), checkpoint, window, dialogue */
    OX_RTSM_EV_OPEN_CONF, /* initiator: accepted with bind (MTABindResult), or refused with
                             bind (MTABindError element, may be empty) */
    OX_RTSM_EV_TRANSFER_BEGIN_IND, /* a transfer starts */
    OX_RTSM_EV_TRANSFER_DATA_IND,  /* data: content octets (view) */
    OX_RTSM_EV_TRANSFER_END_IND,   /* all content arrived: store it, then transfer_confirm */
    OX_RTSM_EV_TRANSFER_CONF,      /* the peer confirmed our transfer (stored) */
    OX_RTSM_EV_WRITABLE,           /* the window has room again */
    OX_RTSM_EV_TURN_PLEASE_IND,    /* the peer asks for the turn (priority) */
    OX_RTSM_EV_TURN_GIVE_IND,      /* we hold the turn now */
    OX_RTSM_EV_RELEASE_IND,        /* the peer released; answered already: close */
    OX_RTSM_EV_RELEASE_CONF,       /* our release completed: close */
    OX_RTSM_EV_ABORT_IND,          /* aborted: local (our provider) or by the peer; why */
} ox_rtsm_ev_kind;

typedef struct ox_rtsm_ev {
    ox_rtsm_ev_kind kind;
    ox_span data;       /* OPEN_IND/OPEN_CONF: bind value; TRANSFER_DATA_IND: content octets.
                           View valid until the next feed. */
    bool accepted;      /* OPEN_CONF */
    int64_t checkpoint; /* OPEN_IND/CONF: agreed checkpoint size, octets (0 = none) */
    int64_t window;     /* OPEN_IND/CONF: agreed window */
    int64_t dialogue;   /* OPEN_IND: OX_RTSE_MONOLOGUE / OX_RTSE_TWA */
    int64_t priority;   /* TURN_PLEASE_IND */
    uint64_t length;    /* TRANSFER_BEGIN_IND: content length announced (0 if unknown yet) */
    bool local;         /* ABORT_IND: raised here, not by the peer */
    char why[160];      /* ABORT_IND, OPEN_CONF refused: what happened, in words */
} ox_rtsm_ev;

typedef struct ox_rtsm_cfg {
    ox_rtsm_role role;
    ox_span local_tsel, remote_tsel, local_ssel, remote_ssel, local_psel, remote_psel;
    uint32_t checkpoint; /* octets between checkpoints we propose/accept; 0 = none */
    uint32_t window;     /* unconfirmed checkpoints we propose/accept; 0 = the X.228 default 3 */
    /* Largest chunk of content put in one S-DATA. */
    uint32_t max_data; /* 0 = 16 KiB */
} ox_rtsm_cfg;

#define OX_RTSM_EVQ 8

typedef struct ox_rtsm {
    ox_rtsm_cfg cfg;
    ox_rtsm_state state;
    ox_tpkt tpkt;
    ox_ses ses;
    uint8_t sel[3][OX_SES_MAX_SSEL]; /* copies of the presentation selectors */
    int64_t ctx_acse, ctx_rtse, ctx_mtse;
    ox_pres_ctx_result res[OX_PRES_MAX_CONTEXTS]; /* responder: answer to the peer's contexts */
    size_t n_res;
    int64_t checkpoint, window; /* agreed (octets, count) */
    ox_buf bind;                /* initiator: the bind argument until the CC arrives */
    bool have_turn;
    uint32_t activity; /* activity ids sent */
    /* sending */
    bool tx_active, tx_ending;
    uint64_t tx_total, tx_sent; /* content octets */
    ox_buf tx_hdr;              /* RTTR framing not yet sent */
    uint64_t tx_since_ckpt;     /* octets since the last minor sync */
    uint32_t tx_unconfirmed;    /* minor syncs not yet acknowledged */
    uint32_t tx_serial[64];     /* their serial numbers, oldest first */
    bool tx_blocked;
    /* receiving */
    bool rx_active, rx_complete;
    ox_rtse_rttr_rd rx;
    ox_buf ud;   /* user data being encoded */
    ox_buf tsdu; /* the session's output, handed to the transport */
    ox_rtsm_ev evq[OX_RTSM_EVQ];
    size_t ev_head, ev_n;
} ox_rtsm;

/* Initialises |m| (copies what it needs from |cfg|). Responder: waits for the CR.
 * Returns 0 or OX_E_ARG. Free with ox_rtsm_free. */
int ox_rtsm_init(ox_rtsm *m, const ox_rtsm_cfg *cfg);
void ox_rtsm_free(ox_rtsm *m);

/* Feeds received octets; *consumed says how many were used (stops after each transport
 * event: drain the events, then feed the rest). Returns 0, or OX_E_PEER / OX_E_LIMIT when the
 * peer broke the protocol (an abort is in |out| and an ABORT_IND queued). */
int ox_rtsm_feed(ox_rtsm *m, ox_span in, uint64_t now_ms, ox_buf *out, size_t *consumed);
bool ox_rtsm_next_event(ox_rtsm *m, ox_rtsm_ev *ev);
/* The connection was lost: fails what is in progress with an ABORT_IND. */
void ox_rtsm_transport_lost(ox_rtsm *m);

/* Initiator: connects (CR now, CN with the bind when the CC arrives). |bind_arg| is the
 * MTABindArgument element, copied. Returns 0, OX_E_STATE or OX_E_NOMEM. */
int ox_rtsm_open(ox_rtsm *m, ox_span bind_arg, ox_buf *out);
/* Responder after OPEN_IND: accept with the MTABindResult element, or refuse with the
 * MTABindError element (may be empty). Returns 0, OX_E_STATE or an encoder error. */
int ox_rtsm_accept(ox_rtsm *m, ox_span bind_result, ox_buf *out);
int ox_rtsm_refuse(ox_rtsm *m, ox_span bind_error, ox_buf *out);

/* Starts a transfer of |length| content octets (needs the turn, no transfer in progress). */
int ox_rtsm_transfer_begin(ox_rtsm *m, uint64_t length, ox_buf *out);
/* Sends up to data.len octets; *taken says how many (fewer while the window is full).
 * Returns 0, OX_E_STATE or OX_E_ARG (more than announced). */
int ox_rtsm_transfer_data(ox_rtsm *m, ox_span data, ox_buf *out, size_t *taken);
/* After all octets: ends the activity; TRANSFER_CONF follows. */
int ox_rtsm_transfer_end(ox_rtsm *m, ox_buf *out);
/* Receiver after TRANSFER_END_IND and durable storage: confirms. */
int ox_rtsm_transfer_confirm(ox_rtsm *m, ox_buf *out);
/* A received APDU that cannot be stored is answered with ox_rtsm_abort: the sender keeps
 * the message and retries it. */

int ox_rtsm_turn_please(ox_rtsm *m, int64_t priority, ox_buf *out);
int ox_rtsm_turn_give(ox_rtsm *m, ox_buf *out);
/* RT-CLOSE (needs the turn and no transfer). */
int ox_rtsm_release(ox_rtsm *m, ox_buf *out);
/* RT-U-ABORT with an RTAB reason (OX_RTSE_AB_*). */
int ox_rtsm_abort(ox_rtsm *m, int64_t reason, ox_buf *out);

bool ox_rtsm_can_send(const ox_rtsm *m); /* open, turn held, no transfer in progress */

const char *ox_rtsm_state_name(ox_rtsm_state s);

#endif
