/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fixes: what nobounce changes, planned read-only.
 *
 * Each fix looks at one file of an installation and lists the changes it
 * needs.  Given a writable (in-memory) hive, a hive fix also makes them there;
 * a byte fix (the metabase) returns the new bytes when asked.  The volume
 * itself is only ever written by txn.c. */
#ifndef NOBOUNCE_FIXES_H
#define NOBOUNCE_FIXES_H

#include <jansson.h>

#include "reg/hive.h"
#include "reg/regfile.h"
#include "fix/install.h"

struct change {
	const char *action; /* "create-key", "set-value", ... (see nobounce(1)) */
	char *key;	    /* registry key or metabase Location */
	char *value;	    /* value name (metabase: the binding's display name) */
	char *old;	    /* previous data (metabase: the sink class), or NULL */
	char *new;	    /* new data, or NULL */
	char *instance;	    /* metabase: SMTP virtual server number */
	char *event;	    /* metabase: event type name */
};

struct changes {
	struct change *v;
	size_t n;
};

/* Appends a change; takes ownership of the strings.  Returns it, so that the
 * optional fields can be set. */
struct change *changes_add(struct changes *c, const char *action, char *key, char *value, char *old,
			   char *new);
void changes_free(struct changes *c);
/* {file, action, key, value, old, new, instance, event}, absent as null. */
json_t *change_json(const char *file, const struct change *c);

/* What one fix learns for the next: the COM fix finds PEEXCH50's classes,
 * the metabase fix removes the bindings whose sink class is one of them. */
struct fixctx {
	struct strlist sink_classes; /* ProgIDs and {CLSID}s, as found */
	/* The SYSTEM fix: how many control sets hold SMTPSVC, and a sentence
	 * for each that does not (a Windows with none is no Exchange server) */
	int smtpsvc_sets;
	struct strlist no_smtpsvc;
	/* Sentences for the outcome's notes (what a removal goes beyond
	 * regsvr32's own), moved there after each fix. */
	struct strlist notes;
	/* --reg: the patches to merge (the caller's; copied as pointers) */
	const struct regpatch *patches;
	size_t npatches;
	/* export: the keys asked for (as regedit names them), and what each
	 * exported as (malloc'd .reg text, or NULL when it is not there) */
	const char *const *export_keys;
	size_t nexport;
	char **exported;
	/* a user's hive: the profile it is of, while it is planned */
	const struct profile *profile;
	/* while plan_hive runs: the bytes it planned on, read in place (a
	 * planner that edits reads what it must see unedited here) */
	const struct hread *read;
};
void fixctx_free(struct fixctx *cx);
/* A fresh context that knows src's classes and patches (nothing else). */
void fixctx_copy(struct fixctx *dst, const struct fixctx *src);
int fixctx_has_class(const struct fixctx *cx, const char *name);
void fixctx_add_class(struct fixctx *cx, const char *name);

/* SuppressExternal=1 under Services\SMTPSVC\XEXCH50 in every control set that
 * Select names and that has SMTPSVC. */
int fix_system_plan(const struct hread *system, struct fixctx *cx, struct changes *out,
		    struct err *e);
/* Makes those changes in hivex's writable copy of the same bytes. */
int fix_system_apply(struct hive *hv, const struct hread *system, const struct changes *ch,
		     struct err *e);

/* PEEXCH50.DLL's COM registration in SOFTWARE\Classes: its CLSIDs, ProgIDs,
 * type library and interfaces, and the AppIDs its classes name that no
 * class that stays names.  Adds the classes to cx, and to cx->notes each
 * subkey of a class that is not one COM's registrar writes. */
int fix_com_plan(const struct hread *software, struct fixctx *cx, struct changes *out,
		 struct err *e);
/* Makes those deletions in hivex's writable copy of the same bytes. */
int fix_com_apply(struct hive *hv, const struct hread *software, const struct changes *ch,
		  struct err *e);
/* Every path fix_com.c takes for PEEXCH50.DLL holds this word (any case). */
#define FIX_COM_WORD "peexch50"

/* No real MetaBase.xml comes near this. */
#define METABASE_MAX_BYTES ((size_t)64 << 20)
/* Its SMTP event-sink bindings whose sink class is in cx.  With out set, the
 * file without them: every other byte as it was. */
int fix_metabase_plan(const char *path, const struct buf *in, const struct fixctx *cx,
		      struct changes *ch, struct buf *out, struct err *e);

/* A fix: which file of an installation it edits, and its planner (one of
 * plan_hive and plan_bytes). */
/* The control set numbers SYSTEM's Select names (Current, Default,
 * LastKnownGood), each once, in that order. */
int fix_control_sets(const struct hread *system, unsigned sets[3], size_t *n, struct err *e);

/* .reg patches and export (fix_reg.c).  The hives a key may lie in:
 * HKLM\SYSTEM, SOFTWARE (with HKEY_CLASSES_ROOT its Classes), SAM and
 * SECURITY, HKU\.DEFAULT; and a user's: HKEY_CURRENT_USER or
 * HKEY_USERS\<SID> in the profile's NTUSER.DAT, their Software\Classes
 * (and HKEY_USERS\<SID>_Classes) in its UsrClass.dat. */
enum {
	REGHIVE_SYSTEM,
	REGHIVE_SOFTWARE,
	REGHIVE_SAM,
	REGHIVE_SECURITY,
	REGHIVE_DEFAULT,
	REGHIVE_NTUSER,
	REGHIVE_USRCLASS
};
/* Every key of a patch lies in one of those hives, or bad-reg. */
int fix_reg_validate(const struct regpatch *rp, struct err *e);
/* A key export can read, or bad-reg. */
int fix_reg_export_key(const char *key, struct err *e);
#define FIX_REG_DECL(name)                                                                         \
	int fix_reg_plan_##name(struct hive *hv, struct fixctx *cx, struct changes *out,           \
				struct err *e);                                                    \
	int fix_reg_export_##name(const struct hread *h, struct fixctx *cx, struct changes *out,   \
				  struct err *e);
FIX_REG_DECL(system)
FIX_REG_DECL(software)
FIX_REG_DECL(sam)
FIX_REG_DECL(security)
FIX_REG_DECL(default)
FIX_REG_DECL(ntuser)
FIX_REG_DECL(usrclass)
/* Whether the patches change the hive REGHIVE_*. */
int fix_reg_touches(const struct regpatch *rp, size_t n, int hive);
/* Whether the patches or export keys name a user's hive. */
int fix_reg_names_users(const struct regpatch *rp, size_t n, const char *const *keys, size_t nkeys);
/* Marks the profiles whose hives they name as used, and --user's (NAME or
 * SID) as HKEY_CURRENT_USER; refuses (choose-user, not-applicable) a key of
 * HKEY_CURRENT_USER without user, a name or SID no profile has, and a
 * profile without the hive a key is in. */
int fix_reg_profiles(struct install *in, const struct regpatch *rp, size_t n,
		     const char *const *keys, size_t nkeys, const char *user, struct err *e);

struct fixdef {
	const char *name; /* for messages: "SuppressExternal" */
	const char *(*file)(const struct install *in);
	int (*plan_hive)(struct hive *hv, struct fixctx *cx, struct changes *out, struct err *e);
	int (*plan_bytes)(const char *path, const struct buf *in, const struct fixctx *cx,
			  struct changes *ch, struct buf *out, struct err *e);
	size_t max_bytes; /* plan_bytes: files larger than this are refused */
	/* plan_hive finds nothing when no class is known yet and the hive's
	 * used cells never mention this word (hread_mentions), or NULL: such a
	 * hive is not walked at all (a re-run, or a server without Exchange) */
	const char *word;
	/* plan_hive changes the hive even to plan (check too): it gets a
	 * writable in-memory copy, never written unless this is a fix */
	int edits_to_plan;
	/* REGHIVE_NTUSER or REGHIVE_USRCLASS: file is NULL, and the fix is
	 * planned on that hive of every profile the run uses (0: neither) */
	int user;
	/* instead of plan_hive, for a fix that only reads (export, recover):
	 * the hive read in place (hread.h), never opened with hivex */
	int (*plan_read)(const struct hread *h, struct fixctx *cx, struct changes *out,
			 struct err *e);
	/* with plan_read, for a fix that edits: makes the changes planned in
	 * hivex's writable copy of the bytes h reads (NULL: nothing to make) */
	int (*apply)(struct hive *hv, const struct hread *h, const struct changes *ch,
		     struct err *e);
};

/* The XEXCH50 fix: the default. */
extern const struct fixdef fix_list[];
extern const size_t fix_count;
/* --reg: the patches, on SYSTEM then SOFTWARE. */
extern const struct fixdef reg_fix_list[];
extern const size_t reg_fix_count;
/* recover TARGET: every hive of config (SYSTEM, SOFTWARE, SAM, SECURITY,
 * DEFAULT) and of every profile, written recovered when it is dirty. */
extern const struct fixdef recover_fix_list[];
extern const size_t recover_fix_count;
/* export: the keys read from SYSTEM and SOFTWARE. */
extern const struct fixdef export_fix_list[];
extern const size_t export_fix_count;

#endif
