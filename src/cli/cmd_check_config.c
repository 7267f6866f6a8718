/* cmd_check_config.c - x400mta check-config: the daemon's own validation, run by hand */
#include "cli.h"

#include "openx400/config.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_check_config(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta check-config [--config FILE]\n\n"
               "Loads the configuration exactly as 'x400mta serve' does and prints every\n"
               "problem as FILE:LINE: error|warning: what is wrong; what to do.\n"
               "Exit status: 0 valid (warnings allowed), 1 errors, 2 unreadable.\n"
               "FILE defaults to $OX_CONFIG, then /etc/openx400/x400mta.ini.\n");
        return 0;
    }
    const char *path = cli_config_path(argc, argv);
    ox_mta_cfg *cfg = malloc(sizeof(*cfg));
    ox_config_diag *diag = malloc(sizeof(*diag));
    if (!cfg || !diag) {
        fprintf(stderr, "x400mta: out of memory\n");
        return 2;
    }
    int rc = ox_config_load(cfg, path, diag);
    fputs(diag->text, stderr);
    int status = 0;
    if (rc == OX_E_IO) {
        status = 2;
    } else if (rc) {
        fprintf(stderr, "%s: %u error(s), %u warning(s): not valid\n", path, diag->errors,
                diag->warnings);
        status = 1;
    } else {
        printf("%s: valid: MTA %s, %zu connector(s), %u warning(s)\n", path, cfg->name,
               cfg->n_connectors, diag->warnings);
    }
    free(cfg);
    free(diag);
    return status;
}
