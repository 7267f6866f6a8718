/* cmd_serve.c - x400mta serve / reload / stop / status: run the daemon and talk to it */
#include "cli.h"

#include "daemon/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta serve [--config FILE]\n\n"
               "Runs the MTA in the foreground until SIGTERM, SIGINT or 'x400mta stop'.\n"
               "SIGHUP or 'x400mta reload' re-reads the configuration without dropping mail.\n"
               "Refuses to start, printing every FILE:LINE problem, if the configuration is\n"
               "not valid. FILE defaults to $OX_CONFIG, then /etc/openx400/x400mta.ini.\n");
        return 0;
    }
    return ox_daemon_run(cli_config_path(argc, argv));
}

int cli_control(int argc, char **argv, const char *request, int timeout_ms)
{
    const char *path = cli_config_path(argc, argv);
    ox_mta_cfg *cfg = malloc(sizeof(*cfg));
    ox_config_diag *diag = malloc(sizeof(*diag));
    if (!cfg || !diag)
        return 2;
    /* A file with errors still names the control socket: the daemon then refuses a reload
     * itself and says why, keeping its running configuration. */
    int rc = ox_config_load(cfg, path, diag);
    if (rc == OX_E_ARG && cfg->control_path[0])
        rc = 0;
    if (rc) {
        fprintf(stderr, "%sx400mta: cannot use the configuration %s\n", diag->text, path);
        free(cfg);
        free(diag);
        return 2;
    }
    static char out[65536];
    rc = ox_control_request_wait(cfg->control_path, request, out, sizeof(out), timeout_ms);
    if (rc) {
        fprintf(stderr, "x400mta: no MTA answers on %s (is 'x400mta serve --config %s' running?)\n",
                cfg->control_path, path);
        free(cfg);
        free(diag);
        return 1;
    }
    free(cfg);
    free(diag);
    /* "ok\n" before a table or JSON is for scripts talking to the socket; people want the rest. */
    fputs(strncmp(out, "ok\n", 3) == 0 ? out + 3 : out, stdout);
    return strncmp(out, "ok", 2) == 0 ? 0 : 1;
}

static int control(int argc, char **argv, const char *request)
{
    return cli_control(argc, argv, request, 30000);
}

int cmd_reload(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta reload [--config FILE]\n\n"
               "Asks the running MTA to re-read its configuration. A configuration with errors\n"
               "is refused and the running one kept; the errors are printed. Queued mail is\n"
               "never dropped.\n");
        return 0;
    }
    return control(argc, argv, "reload");
}

int cmd_stop(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta stop [--config FILE]\n\nAsks the running MTA to stop in order.\n");
        return 0;
    }
    return control(argc, argv, "stop");
}

int cmd_status(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta status [--config FILE]\n\n"
               "Asks the running MTA whether it is up; prints its name, address and uptime.\n");
        return 0;
    }
    return control(argc, argv, "status");
}

int cmd_assoc(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta assoc [--config FILE] [--json]\n\n"
               "Shows the running MTA's association table (LTAB): index (as events cite it),\n"
               "direction, state, connector, peer MTA, address, who holds the RTSE turn,\n"
               "messages and bytes each way, and idle time.\n");
        return 0;
    }
    bool json = false;
    for (int i = 1; i < argc; i++)
        json |= !strcmp(argv[i], "--json");
    return control(argc, argv, json ? "assoc json" : "assoc");
}
