/* cli.h - the x400mta subcommands: each is int cmd_<name>(argc, argv) with argv[0] = name */
#ifndef OX_CLI_H
#define OX_CLI_H

#include <stdbool.h>

int cmd_check_config(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_assoc(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_track(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_test_peer(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Sends |request| to the daemon of the configuration, waits up to |timeout_ms| for the
 * reply and prints it; 0 when it starts with "ok", 1 otherwise, 2 on a configuration
 * problem. */
int cli_control(int argc, char **argv, const char *request, int timeout_ms);

/* True when argv holds -h or --help (every command answers it). */
bool cli_wants_help(int argc, char **argv);
/* The configuration path: --config FILE, else $OX_CONFIG, else /etc/openx400/x400mta.ini. */
const char *cli_config_path(int argc, char **argv);

#endif
