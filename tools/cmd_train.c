/* cmd_train.c - placeholder: 'sessrec train' is being written and is not available yet. */
#include "cli.h"

int cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("train", "not implemented yet");
}
