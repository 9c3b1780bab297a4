/* SPDX-License-Identifier: GPL-2.0-or-later */
/* recover: the command that replays a hive's transaction logs on this
 * host (nobounce recover), in recover.c. */
#ifndef NOBOUNCE_RECOVER_H
#define NOBOUNCE_RECOVER_H

/* nobounce recover HIVE [-o OUT]: says what the logs would recover, or
 * writes the recovered hive to OUT (a new file).  Returns an exit code. */
int recover_command(const char *hive, const char *out, int json);

#endif
