/* The list of fixes, in the order they are planned and applied. */
#include "fixes.h"

static const char *system_file(const struct install *in)
{
	return in->system;
}

const struct fixdef fix_list[] = {
	{"SuppressExternal", system_file, fix_system_plan},
};
const size_t fix_count = ARRAY_SIZE(fix_list);
