/* SPDX-License-Identifier: GPL-2.0-or-later */
/* run: one installation, one command (see run.h). */
#include "run/run.h"

/* Rolls back every run that did not finish (with stillborn_only, only
 * those whose journal was never whole: they wrote nothing, and say
 * nothing, so undo and commit skip them).  A run rolled back is gone from
 * js (its run number 0). */
static int roll_back(struct vol *v, struct journals *js, int stillborn_only, struct outcome *o)
{
	for (size_t i = 0; i < js->n; i++) {
		struct journal *j = &js->v[i];
		int stillborn = !j->state[0] || STREQ(j->state, "creating");
		if (!j->run || (STREQ(j->state, "complete") && !j->bad) ||
		    (stillborn_only && !stillborn))
			continue;
		note("%s: rolling back interrupted run %d", vol_name(v), j->run);
		critical_begin();
		int r = txn_rollback(v, j, &o->err);
		critical_end();
		if (r == -1)
			return -1;
		outcome_note(o,
			     stillborn ? "run %d was interrupted before it wrote anything; its "
					 "journal was removed"
				       : "interrupted run %d was rolled back first",
			     j->run);
		j->run = 0;
	}
	return 0;
}

static struct journal *last(struct journals *js)
{
	for (size_t i = js->n; i-- > 0;)
		if (js->v[i].run)
			return &js->v[i];
	return NULL;
}

static int do_undo(struct vol *v, struct journals *js, const struct run_opts *ro, struct outcome *o)
{
	if (roll_back(v, js, 1, o) == -1)
		return -1;
	struct journal *j = last(js);
	if (!j) {
		o->status = "nothing-to-undo";
		outcome_note(o, "no nobounce run on record here (no journal): nothing was changed");
		return 0;
	}
	o->run = j->run;
	o->journal = xstrdup(j->path);
	int complete = STREQ(j->state, "complete");
	if (txn_undo(v, j, &ro->txn, o, &o->err) == -1)
		return -1;
	o->status = "restored";
	outcome_note(o, complete ? "run %d undone" : "interrupted run %d rolled back", o->run);
	return 0;
}

static int do_commit(struct vol *v, struct journals *js, const struct run_opts *ro,
		     struct outcome *o)
{
	if (roll_back(v, js, 1, o) == -1)
		return -1;
	for (size_t i = 0; i < js->n; i++)
		if (js->v[i].run && (js->v[i].bad || !STREQ(js->v[i].state, "complete")))
			return txn_drop(v, &js->v[i], &ro->txn, &o->err);
	CLEANUP_FREE char *runs = xstrdup("");
	for (size_t i = 0; i < js->n; i++) {
		if (!js->v[i].run)
			continue;
		if (txn_drop(v, &js->v[i], &ro->txn, &o->err) == -1)
			return -1;
		str_add(&runs, ", ", "%d", js->v[i].run);
	}
	o->status = *runs ? "committed" : "nothing-to-commit";
	if (*runs)
		outcome_note(o,
			     "dropped the journal of run(s) %s: the fix stays, and can no "
			     "longer be undone",
			     runs);
	else
		outcome_note(o, "nothing to commit: no nobounce journal on this volume");
	return 0;
}

/* What check says of runs that did not finish; 1 when there were any. */
static int say_interrupted(const struct journals *js, struct outcome *o)
{
	int said = 0;
	for (size_t i = 0; i < js->n; i++) {
		const struct journal *j = &js->v[i];
		if (STREQ(j->state, "complete") && !j->bad)
			continue;
		if (j->bad && j->state[0])
			outcome_note(o,
				     "%s cannot be trusted (%s): fix and undo will refuse this "
				     "installation",
				     j->path, j->bad);
		else
			outcome_note(o,
				     "run %d was interrupted; 'fix' will roll it back and redo it, "
				     "'undo' will roll it back",
				     j->run);
		said = 1;
	}
	return said;
}

int run_install(struct vol *v, struct install *in, enum command cmd, const struct run_opts *ro,
		struct outcome *o)
{
	struct journals js = {0};
	struct fixctx base = {0}, cx = {0};
	memset(o, 0, sizeof *o);
	o->inst = in;
	o->status = "error";
	int r = 0, interrupted = 0;
	if (vol_refusal(v) && cmd_writes(cmd)) {
		plan_describe(v, in);
		r = fail(&o->err, vol_refusal_kind(v), "%s; nothing was written", vol_refusal(v));
		goto out;
	}
	/* SAM, SECURITY and DEFAULT: a run that uses them needs them sound;
	 * for any other, one that cannot be looked up is left out (a journal
	 * naming it is then not trusted) */
	if (install_find_hives(v, in, &o->err) == -1) {
		if (ro->npatches || cmd == CMD_EXPORT || cmd == CMD_RECOVER) {
			r = -1;
			goto out;
		}
		note("%s: %s; left out", vol_name(v), o->err.msg);
		err_clear(&o->err);
		free(in->sam), free(in->security), free(in->deflt);
		in->sam = in->security = in->deflt = NULL;
	}
	/* the profiles: for a run that reads or writes their hives */
	int users = (ro->npatches || cmd == CMD_EXPORT) &&
		    (ro->user ||
		     fix_reg_names_users(ro->patches, ro->npatches, ro->export_keys, ro->nexport));
	if ((users || cmd == CMD_RECOVER) && install_find_profiles(v, in, &o->err) == -1) {
		r = -1;
		goto out;
	}
	if (users && fix_reg_profiles(in, ro->patches, ro->npatches, ro->export_keys, ro->nexport,
				      ro->user, &o->err) == -1) {
		r = -1;
		goto out;
	}
	size_t nusers = 0;
	for (size_t i = 0; cmd == CMD_RECOVER && i < in->nprofiles; i++) {
		struct profile *p = &in->profiles[i];
		p->use = !p->why;
		nusers += p->use && (p->ntuser || p->usrclass);
		if (p->why)
			outcome_note(o, "the profile %s%s%s%s is left as it is: %s", p->name,
				     p->sid ? " (" : "", p->sid ? p->sid : "", p->sid ? ")" : "",
				     p->why);
	}
	r = journal_find(v, in, &js, &o->err);
	if (r == 0 && (cmd == CMD_UNDO || cmd == CMD_COMMIT)) {
		plan_describe(v, in);
		critical_begin();
		r = cmd == CMD_UNDO ? do_undo(v, &js, ro, o) : do_commit(v, &js, ro, o);
		critical_end();
		goto out;
	}
	if (r == 0 && (cmd == CMD_CHECK || cmd == CMD_EXPORT))
		interrupted = say_interrupted(&js, o);
	else if (r == 0)
		r = roll_back(v, &js, 0, o);
	if (r == 0 && interrupted) {
		plan_describe(v, in);
		o->status = "needs-fix";
		if (cmd == CMD_EXPORT) /* its hives may be half written */
			r = fail(&o->err, "interrupted",
				 "a nobounce run on it was interrupted, so its hives may be half "
				 "written: run 'nobounce fix' or 'nobounce undo' first");
		goto out;
	}
	static const char *const hive_names[] = {"SYSTEM", "SOFTWARE", "SAM", "SECURITY",
						 "DEFAULT"};
	const char *hive_files[] = {in->system, in->software, in->sam, in->security, in->deflt};
	for (int h = 0; r == 0 && ro->npatches && h < 5; h++)
		if (!hive_files[h] && fix_reg_touches(ro->patches, ro->npatches, h))
			r = fail(&o->err, "not-applicable",
				 "the patch changes the %s hive, and this installation has none "
				 "(%s/system32/config/%s); nothing was written",
				 hive_names[h], in->sysroot, hive_names[h]);
	if (r == 0) {
		journal_classes(&js, &base);
		base.patches = ro->patches;
		base.npatches = ro->npatches;
		base.export_keys = ro->export_keys;
		base.nexport = ro->nexport;
		if (cmd == CMD_EXPORT) {
			o->exported = base.exported = xcalloc(ro->nexport + 1, sizeof *o->exported);
			o->nexported = ro->nexport;
		}
		fixctx_copy(&cx, &base);
		struct plan_opts po = {cmd == CMD_FIX || cmd == CMD_RECOVER, ro->no_recover,
				       ro->npatches ? reg_fix_list : NULL,
				       ro->npatches ? reg_fix_count : 0, cmd == CMD_RECOVER};
		if (cmd == CMD_RECOVER)
			po.fixes = recover_fix_list, po.nfixes = recover_fix_count;
		if (cmd == CMD_EXPORT)
			po.fixes = export_fix_list, po.nfixes = export_fix_count;
		r = plan_install(v, in, &po, &base, &cx, o, &o->err);
		for (size_t i = 0; r == 0 && cmd == CMD_EXPORT && i < ro->nexport; i++)
			if (!o->exported[i])
				r = fail(
				    &o->err, "not-found",
				    "%s: no such key in %s's hives; nothing was exported for it",
				    ro->export_keys[i], in->sysroot);
		if (r == 0 && cmd == CMD_EXPORT) {
			o->status = "exported";
			goto out;
		}
	}
	if (r == 0 && o->nedits == 0 && cmd == CMD_RECOVER) {
		o->status = "clean";
		outcome_note(o,
			     "no hive of %s/system32/config or of the %zu profile(s) with hives is "
			     "dirty: nothing to replay",
			     in->sysroot, nusers);
	} else if (r == 0 && o->nedits == 0 && !cx.smtpsvc_sets && cx.no_smtpsvc.n) {
		/* nothing of Exchange's here: not a server this is for */
		CLEANUP_FREE char *why = strlist_join(&cx.no_smtpsvc, ", ");
		o->status = "not-applicable";
		outcome_note(o,
			     "not an Exchange server: %s (no SMTP service), and nothing of "
			     "PEEXCH50's is registered; nothing to do",
			     why);
	} else if (r == 0 && o->nedits == 0)
		o->status = "clean";
	else if (r == 0 && cmd == CMD_CHECK)
		o->status = "needs-fix";
	else if (r == 0 && signal_pending())
		r = fail(&o->err, "interrupted",
			 "interrupted before the first write; nothing was written");
	else if (r == 0) {
		struct journal *j = last(&js);
		/* a signal now waits until every file is written and verified,
		 * or put back */
		critical_begin();
		r = txn_apply(v, in, j ? j->run + 1 : 1, &ro->txn, &cx, o, &o->err);
		critical_end();
		if (r == 0)
			o->status = cmd == CMD_RECOVER ? "recovered" : "fixed";
	}
	if (r == 0 && cmd == CMD_CHECK && vol_refusal(v) && o->nedits)
		outcome_note(o, "fix will refuse this volume: %s", vol_refusal(v));
	if (r == 0 && in->metabase_bin && cmd != CMD_RECOVER)
		outcome_note(o,
			     "%s: IIS 5 (Windows 2000) keeps its metabase in this binary file, "
			     "which nobounce does not edit: PEEXCH50's SMTP sink bindings stay in "
			     "it, naming classes that no longer exist once its COM registration is "
			     "gone (the SMTP service skips them, and may log a warning for each). "
			     "To remove them, run on the running server: regsvr32 /u \"C:\\Program "
			     "Files\\Exchsrvr\\bin\\peexch50.dll\"",
			     in->metabase_bin);
out:
	if (r == 0 && !o->journal && last(&js))
		o->journal = xstrdup(last(&js)->path);
	fixctx_free(&base);
	fixctx_free(&cx);
	journal_free(&js);
	if (r == -1)
		o->status = "error";
	return r;
}

int run_pending(struct vol *v, struct install *in)
{
	struct journals js;
	struct err e = {0};
	int r = journal_find(v, in, &js, &e) == 0 ? journal_pending(&js) : 1;
	journal_free(&js);
	err_clear(&e);
	return r;
}
