/* fixes: what nobounce changes, planned read-only.
 *
 * Each fix looks at one file of an installation and lists the changes it
 * needs.  Given a writable (in-memory) hive, it also makes them there; the
 * volume itself is only ever written by plan.c. */
#ifndef NOBOUNCE_FIXES_H
#define NOBOUNCE_FIXES_H

#include <jansson.h>

#include "hive.h"
#include "install.h"

struct change {
	const char *action; /* "create-key", "set-value", ... (see nobounce(1)) */
	char *key;          /* registry key or metabase Location */
	char *value;        /* value name, or NULL */
	char *old;          /* previous data, or NULL */
	char *new;          /* new data, or NULL */
};

struct changes {
	struct change *v;
	size_t n;
};

void changes_add(struct changes *c, const char *action, char *key, char *value, char *old,
		 char *new);
void changes_free(struct changes *c);
/* {file, action, key, value, old, new}, absent fields as null. */
json_t *change_json(const char *file, const struct change *c);

/* SuppressExternal=1 under Services\SMTPSVC\XEXCH50 in every control set that
 * Select names and that has SMTPSVC. */
int fix_system_plan(struct hive *system, struct changes *out, struct err *e);

/* A fix: which file of an installation it edits, and its planner. */
struct fixdef {
	const char *name; /* for messages: "SuppressExternal" */
	const char *(*file)(const struct install *in);
	int (*plan_hive)(struct hive *hv, struct changes *out, struct err *e);
};

extern const struct fixdef fix_list[];
extern const size_t fix_count;

#endif
