/* The list of fixes, in the order they are planned and applied. */
#include "fixes.h"

#include <jansson.h>

static const char *system_file(const struct install *in)
{
	return in->system;
}

const struct fixdef fix_list[] = {
	{"SuppressExternal", system_file, fix_system_plan},
};
const size_t fix_count = ARRAY_SIZE(fix_list);

void changes_add(struct changes *c, const char *action, char *key, char *value, char *old,
		 char *new)
{
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	c->v[c->n++] = (struct change){action, key, value, old, new};
}

void changes_free(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].old);
		free(c->v[i].new);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *change_json(const char *file, const struct change *c)
{
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "file", file, "action", c->action, "key",
			 c->key, "value", str_or_null(c->value), "old", str_or_null(c->old),
			 "new", str_or_null(c->new));
}
