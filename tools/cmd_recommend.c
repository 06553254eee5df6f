/* cmd_recommend.c - placeholder: 'sessrec recommend' is being written and is not available yet. */
#include "cli.h"

int cmd_recommend(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("recommend", "not implemented yet");
}
