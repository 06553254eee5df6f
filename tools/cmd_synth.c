/* cmd_synth.c - placeholder: 'sessrec synth' is being written and is not available yet. */
#include "cli.h"

int cmd_synth(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("synth", "not implemented yet");
}
