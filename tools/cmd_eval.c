/* cmd_eval.c - placeholder: 'sessrec eval' is being written and is not available yet. */
#include "cli.h"

int cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("eval", "not implemented yet");
}
