/* config.h - the MTA's configuration: one INI file, validated at load with file:line errors
 *
 * Why: operators of X.400 networks know the Exchange 5.5 MTA's values (RTS values, connection
 *      retry values, association parameters, transfer timeouts); openx400 keeps their names and
 *      defaults (shared/design/EXCHANGE-MTA.md) so a configuration reads like the old property
 *      pages, and refuses at load what would misbehave later (an Open Interval below 15 s).
 * Diagnostics: ox_config_load collects every problem as "file:line: what is wrong; what to do"
 *      in ox_config_diag (errors refuse the file, warnings are reported and accepted). */
#ifndef OPENX400_CONFIG_H
#define OPENX400_CONFIG_H

#include "openx400/common.h"

#define OX_CFG_NAME_MAX      64 /* X.411 ub-mta-name-length is 32; room for the override forms */
#define OX_CFG_PASSWORD_MAX  64 /* X.411 ub-password-length is 62 */
#define OX_CFG_PATH_MAX      512
#define OX_CFG_ADDRSPACE_MAX 16 /* address spaces per connector and local */
#define OX_CFG_CONNECTOR_MAX 64
#define OX_CFG_WINDOW_MAX    32 /* selected-times windows per connector */
#define OX_CFG_SEL_MAX       32 /* T/S/P selector octets */

/* Per-MTA values, overridable per connector (EXCHANGE-MTA.md "Values and defaults"). */
typedef struct ox_mta_values {
    uint32_t checkpoint_size;      /* bytes between RTSE checkpoints; 0 = none */
    uint32_t recovery_timeout_s;   /* keep checkpointed state this long */
    uint32_t window_size;          /* unacknowledged checkpoints before the sender pauses */
    uint32_t max_open_retries;     /* failed opens before queued mail is non-delivered */
    uint32_t max_transfer_retries; /* failed transfers of one message on an open association */
    uint32_t open_interval_s;      /* wait after a failed open */
    uint32_t transfer_interval_s;  /* wait before re-sending after a failed transfer */
    uint32_t lifetime_s;           /* keep an idle association open this long */
    uint32_t disconnect_s;         /* wait for an orderly release before aborting */
    uint32_t threshold;            /* queued messages per association before another opens */
    uint32_t max_associations;     /* per peer */
    uint32_t transfer_timeout_s_per_kb[3]; /* by priority: urgent, normal, non-urgent */
    uint32_t message_timeout_s[3];         /* absolute lifetime in the queue, by priority */
} ox_mta_values;

void ox_mta_values_default(ox_mta_values *v);

typedef enum ox_log_category {
    OX_CAT_X400_SERVICE,
    OX_CAT_RESOURCE,
    OX_CAT_SECURITY,
    OX_CAT_INTERFACE,
    OX_CAT_FIELD_ENGINEERING,
    OX_CAT_MTA_ADMINISTRATION,
    OX_CAT_CONFIGURATION,
    OX_CAT_DIRECTORY_ACCESS,
    OX_CAT_OPERATING_SYSTEM,
    OX_CAT_INTERNAL_PROCESSING,
    OX_CAT_INTEROPERABILITY,
    OX_CAT_APDU,
    OX_CAT_COUNT
} ox_log_category;

/* Exchange's diagnostics levels. */
enum { OX_LEVEL_NONE = 0, OX_LEVEL_MINIMUM = 1, OX_LEVEL_MEDIUM = 3, OX_LEVEL_MAXIMUM = 5 };

const char *ox_log_category_name(ox_log_category c); /* "x400-service", ... */
int ox_log_category_parse(const char *name);         /* -1 if unknown */
const char *ox_log_level_name(int level);            /* "none", "minimum", ... */

typedef struct ox_addr_space {
    char pattern[256]; /* O/R address prefix in text form, e.g. "/C=GB/A= /P=SiteB/" */
    uint32_t cost;     /* 1..100, lower wins */
    int line;
} ox_addr_space;

typedef enum { OX_CONN_LAN, OX_CONN_ONDEMAND } ox_conn_kind;
typedef enum {
    OX_SCHED_NEVER,
    OX_SCHED_ALWAYS,
    OX_SCHED_REMOTE_INITIATED,
    OX_SCHED_SELECTED_TIMES
} ox_schedule;

/* A weekly window: seconds since Monday 00:00 in the MTA's time zone, [start, end). */
typedef struct ox_sched_window {
    uint32_t start_s, end_s;
} ox_sched_window;
#define OX_WEEK_S (7u * 86400u)

typedef struct ox_connector_cfg {
    char name[OX_CFG_NAME_MAX];
    int line; /* of the [connector NAME] header */
    ox_conn_kind kind;
    char peer_mta[OX_CFG_NAME_MAX];          /* the remote's Local MTA Name */
    char peer_password[OX_CFG_PASSWORD_MAX]; /* what we expect the peer to present */
    char peer_host[256];
    uint16_t peer_port;
    char local_name[OX_CFG_NAME_MAX];         /* override: name we present ("" = MTA's) */
    char local_password[OX_CFG_PASSWORD_MAX]; /* override: password we present */
    ox_addr_space spaces[OX_CFG_ADDRSPACE_MAX];
    size_t n_spaces;
    ox_schedule schedule;
    ox_sched_window windows[OX_CFG_WINDOW_MAX];
    size_t n_windows;
    char link_up[OX_CFG_PATH_MAX];   /* on-demand: command that brings the link up */
    char link_down[OX_CFG_PATH_MAX]; /* on-demand: command that takes it down */
    uint32_t link_timeout_s;
    bool bindback;                 /* verify the peer by binding back (see docs) */
    bool bindback_source_fallback; /* try the connection's source address last */
    char bindback_host[256];       /* pinned bindback target ("" = peer-host) */
    uint16_t bindback_port;        /* with it; 0 = the peer-port */
    char local_address[64];        /* source address for outgoing connections */
    char advertise_address[256];   /* name/address we advertise for bindback */
    bool x410_1984;                /* speak X.410-1984 mode to this peer */
    ox_mta_values values;
} ox_connector_cfg;

typedef struct ox_mta_cfg {
    char path[OX_CFG_PATH_MAX];
    char name[OX_CFG_NAME_MAX];
    char password[OX_CFG_PASSWORD_MAX];
    char listen_host[64];
    uint16_t listen_port;
    uint8_t tsel[OX_CFG_SEL_MAX], ssel[OX_CFG_SEL_MAX], psel[OX_CFG_SEL_MAX];
    uint8_t tsel_len, ssel_len, psel_len;
    char queue_path[OX_CFG_PATH_MAX];
    char mailbox_dir[OX_CFG_PATH_MAX];
    char event_log_path[OX_CFG_PATH_MAX];
    char control_path[OX_CFG_PATH_MAX];
    bool syslog;
    char timezone[64];       /* for selected-times schedules; "" = the system's */
    char global_domain[256]; /* GlobalDomainIdentifier text, "/C=GB/A= /P=SiteA/": used in
                                the MTS identifiers and trace this MTA writes */
    ox_addr_space local_spaces[OX_CFG_ADDRSPACE_MAX];
    size_t n_local_spaces;
    uint8_t log_level[OX_CAT_COUNT];
    ox_mta_values values;
    ox_connector_cfg connectors[OX_CFG_CONNECTOR_MAX];
    size_t n_connectors;
} ox_mta_cfg;

/* Problems found while loading: each line "file:line: error|warning: text". */
typedef struct ox_config_diag {
    char text[8192];
    size_t len;
    unsigned errors, warnings;
} ox_config_diag;

/* Loads and validates |path| into |cfg|. Returns 0 (warnings may be in |diag|), OX_E_ARG
 * (errors in |diag|; |cfg| must not be used) or OX_E_IO (file unreadable, in |diag|). */
int ox_config_load(ox_mta_cfg *cfg, const char *path, ox_config_diag *diag);
/* The same from a string, |name| standing for the file in messages (tests, embedded demo). */
int ox_config_load_string(ox_mta_cfg *cfg, const char *name, const char *text,
                          ox_config_diag *diag);

const ox_connector_cfg *ox_config_connector(const ox_mta_cfg *cfg, const char *name);
/* True when |t| (seconds since Monday 00:00) falls in one of the connector's windows. */
bool ox_schedule_open_at(const ox_connector_cfg *c, uint32_t week_second);
/* Seconds from |t| (seconds since Monday 00:00) to the next window start; UINT32_MAX when
 * the connector has no window. */
uint32_t ox_schedule_next_open(const ox_connector_cfg *c, uint32_t week_second);

#endif
