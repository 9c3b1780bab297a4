/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fleet: many targets in parallel worker processes.
 *
 * Each target runs in a child process of its own, so a target that fails,
 * hangs past --timeout or crashes its worker never stops the others, and
 * memory is bounded per target.  A child's output is collected and printed
 * as one block when it finishes (one JSON line per installation with
 * --json), so lines of different targets never interleave.
 *
 * Dynamic disks come in a second pass: a worker that finds its target is
 * one disk of a Windows dynamic disk group only says which group (and
 * disk), and once every target has been seen, the disks of each group are
 * run together in one worker, so that a mirror's halves are written as one
 * volume (dynamic.c).
 *
 * SIGINT/SIGTERM: no new target is started; children that are writing
 * finish or roll back (run.c holds the signal during writes), the others
 * stop before writing anything. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk/blockdev.h"
#include "cli/fleet.h"
#include "run/dynamic.h"
#include "run/report.h"

/* After SIGTERM on timeout, a worker gets this long (at most) to finish or
 * roll back a write before SIGKILL. */
#define KILL_GRACE_SECONDS 10.0

/* A worker's work: one target, or the disks of one dynamic disk group. */
struct job {
	size_t *idx; /* into the targets */
	size_t n;
	int group;
};

struct worker {
	pid_t pid;
	struct job *job;
	int fd[3]; /* its stdout, stderr and status lines, read ends */
	struct buf out[3];
	double started;
	double term_at; /* when SIGTERM was sent for a timeout, or 0 */
	int timed_out;
};

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void append(struct buf *b, const char *p, size_t n)
{
	b->p = xrealloc(b->p, b->len + n + 1);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void child(const struct options *op, char **targets, const struct job *job, int fds[3][2])
{
	for (int i = 0; i < 3; i++)
		close(fds[i][0]);
	dup2(fds[0][1], 1);
	dup2(fds[1][1], 2);
	close(fds[0][1]);
	close(fds[1][1]);
	report_status_fd = fds[2][1];
	signals_install(bdev_kill_servers);
	int code;
	/* the format given for this target (a group: its first disk's) */
	struct options first = *op;
	if (op->formats)
		first.format = *op->formats[job->idx[0]] ? op->formats[job->idx[0]] : NULL;
	if (job->group) {
		char **disks = xcalloc(job->n, sizeof *disks);
		for (size_t i = 0; i < job->n; i++)
			disks[i] = targets[job->idx[i]];
		code = dynamic_run(&first, disks, job->n);
	} else {
		first.defer_dynamic = 1;
		code = target_run(&first, targets[job->idx[0]]);
	}
	fflush(stdout);
	fflush(stderr);
	_exit(code);
}

static int spawn(const struct options *op, char **targets, struct job *job, struct worker *w,
		 struct err *e)
{
	int fds[3][2];
	for (int i = 0; i < 3; i++)
		if (pipe2(fds[i], O_CLOEXEC) == -1)
			return fail(e, "io", "pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == -1)
		return fail(e, "io", "fork: %s", strerror(errno));
	if (pid == 0)
		child(op, targets, job, fds);
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->job = job;
	w->started = now_seconds();
	for (int i = 0; i < 3; i++) {
		close(fds[i][1]);
		w->fd[i] = fds[i][0];
		fcntl(w->fd[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* "a.img + b.img" for a group, the target for one. */
static char *job_label(char **targets, const struct job *job)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < job->n; i++)
		str_add(&s, " + ", "%s", targets[job->idx[i]]);
	return s;
}

/* ---- progress and summary ---- */

static const char *const statuses[] = {
    "clean",	       "needs-fix",	    "fixed",	      "restored",  "committed",
    "nothing-to-undo", "nothing-to-commit", "not-applicable", "recovered", "error",
    "interrupted"};

struct tally {
	size_t done, total, failed, started;
	size_t by_status[ARRAY_SIZE(statuses)]; /* as statuses[] names them */
	double t0;
	int progress; /* stderr is a terminal */
};

/* Counts one more target of status s, by its name. */
static void count_status(struct tally *t, const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (STREQ(s, statuses[i]))
			t->by_status[i]++;
}

static void count_statuses(struct tally *t, const struct buf *b)
{
	for (char *line = b->len ? (char *)b->p : NULL, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		count_status(t, line);
	}
}

static void progress_clear(const struct tally *t)
{
	if (t->progress)
		fputs("\r\033[K", stderr);
}

static void progress_draw(const struct tally *t)
{
	if (!t->progress)
		return;
	double el = now_seconds() - t->t0;
	double rate = el > 0 ? (double)t->done / el : 0;
	fprintf(stderr, "\r\033[K[%zu/%zu] %zu failed, %.1f/s", t->done, t->total, t->failed, rate);
	if (rate > 0 && t->done < t->total)
		fprintf(stderr, ", ETA %.0f s", (double)(t->total - t->done) / rate);
	fflush(stderr);
}

static void summary(const struct options *op, const struct tally *t)
{
	if (op->ro.quiet)
		return;
	fprintf(stderr, "nobounce: %zu target%s in %.1f s:", t->total, t->total == 1 ? "" : "s",
		now_seconds() - t->t0);
	const char *sep = " ";
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		if (t->by_status[i]) {
			fprintf(stderr, "%s%zu %s", sep, t->by_status[i], statuses[i]);
			sep = ", ";
		}
	if (t->started < t->total)
		fprintf(stderr, "%s%zu not started (interrupted)", sep, t->total - t->started);
	fputc('\n', stderr);
}

/* ---- dynamic disks: the second pass ---- */

struct deferred {
	size_t idx;
	char group[64], disk[64];
};

struct deferrals {
	struct deferred *v;
	size_t n;
};

static void collect_deferred(struct deferrals *d, size_t idx, const struct buf *b)
{
	const char *line = b->len ? (const char *)b->p : "";
	struct deferred x = {.idx = idx};
	if (sscanf(line, "dynamic %63s %63s", x.group, x.disk) == 2) {
		d->v = xrealloc(d->v, (d->n + 1) * sizeof *d->v);
		d->v[d->n++] = x;
	}
}

static int by_idx(const void *a, const void *b)
{
	size_t x = ((const struct deferred *)a)->idx, y = ((const struct deferred *)b)->idx;
	return x < y ? -1 : x > y;
}

/* One job per disk group, its disks in the order given. */
static void group_jobs(struct deferrals *d, struct job **jobs, size_t *njobs)
{
	if (d->n == 0)
		return;
	qsort(d->v, d->n, sizeof *d->v, by_idx);
	int *taken = xcalloc(d->n + 1, sizeof *taken);
	for (size_t i = 0; i < d->n; i++) {
		if (taken[i])
			continue;
		*jobs = xrealloc(*jobs, (*njobs + 1) * sizeof **jobs);
		struct job *j = &(*jobs)[(*njobs)++];
		*j = (struct job){xcalloc(d->n, sizeof(size_t)), 0, 1};
		for (size_t k = i; k < d->n; k++)
			if (!taken[k] && STREQ(d->v[k].group, d->v[i].group)) {
				taken[k] = 1;
				j->idx[j->n++] = d->v[k].idx;
			}
	}
	free(taken);
}

/* ---- finishing a worker ---- */

static int finish(const struct options *op, char **targets, struct worker *w, int status,
		  struct tally *t, struct deferrals *d)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_DEFERRED && !w->job->group) {
		/* a dynamic disk: it comes back with its group */
		collect_deferred(d, w->job->idx[0], &w->out[2]);
		for (int i = 0; i < 3; i++)
			buf_free(&w->out[i]);
		return EXIT_OK;
	}
	progress_clear(t);
	fwrite(w->out[0].p ? (char *)w->out[0].p : "", 1, w->out[0].len, stdout);
	fflush(stdout);
	fwrite(w->out[1].p ? (char *)w->out[1].p : "", 1, w->out[1].len, stderr);
	count_statuses(t, &w->out[2]);
	int code;
	if (WIFEXITED(status) && WEXITSTATUS(status) <= EXIT_FAILED) {
		code = WEXITSTATUS(status);
	} else {
		/* the worker died without reporting: say so for this target */
		struct err e = {0};
		if (stop_sig && !w->timed_out && WIFSIGNALED(status))
			fail(&e, "interrupted", "stopped by %s before it wrote anything",
			     strsignal(stop_sig));
		else if (w->timed_out)
			fail(&e, "timeout",
			     "did not finish within %g s and was stopped; run 'nobounce check' "
			     "on it (an interrupted fix is rolled back by the next fix or undo)",
			     op->timeout);
		else
			fail(&e, "crashed",
			     "its worker died (%s %d); run 'nobounce check' on it (an "
			     "interrupted fix is rolled back by the next fix or undo)",
			     WIFSIGNALED(status) ? "signal" : "exit status",
			     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		CLEANUP_FREE char *label = job_label(targets, w->job);
		struct place pl = {.target = label};
		report_target(&op->ro, &pl, "error", &e);
		count_status(t, "error");
		err_clear(&e);
		code = EXIT_FAILED;
	}
	if (code == EXIT_FAILED)
		t->failed += w->job->n;
	t->done += w->job->n;
	for (int i = 0; i < 3; i++)
		buf_free(&w->out[i]);
	progress_draw(t);
	return code;
}

/* ---- the loop ---- */

static int any_open(const struct worker *w)
{
	return w->fd[0] >= 0 || w->fd[1] >= 0 || w->fd[2] >= 0;
}

static void not_started(const struct options *op, const char *label)
{
	if (output_failed())
		return;
	struct place pl = {.target = label};
	struct err e = {0};
	fail(&e, "interrupted",
	     "not started: %s came first; nothing was written. Run the command again for it",
	     stop_sig ? strsignal(stop_sig) : "a write error on standard output");
	report_target(&op->ro, &pl, "error", &e);
	err_clear(&e);
}

int fleet_run(const struct options *op, char **targets, size_t n)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	size_t slots = op->jobs > 0 ? (size_t)op->jobs : 1;
	struct worker *ws = xcalloc(slots, sizeof *ws);
	/* the first pass: a job per target */
	size_t njobs = n, next = 0, running = 0;
	struct job *jobs = xcalloc(n, sizeof *jobs);
	size_t *idx = xcalloc(n, sizeof *idx);
	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		jobs[i] = (struct job){&idx[i], 1, 0};
	}
	struct deferrals deferred = {0};
	int grouped = 0;
	struct tally t = {.total = n, .t0 = now_seconds(), .progress = isatty(2) && !op->ro.quiet};
	int code = EXIT_OK, forwarded = 0;
	progress_draw(&t);
	int out_dead = 0; /* standard output failed: start no more targets */
	for (;;) {
		if (!running && next == njobs && !grouped) {
			/* the second pass: each dynamic disk group as one job */
			size_t first = njobs;
			group_jobs(&deferred, &jobs, &njobs);
			for (size_t i = first; i < njobs; i++)
				t.started -= jobs[i].n; /* counted again as they start */
			grouped = 1;
		}
		if (!running && (next == njobs || stop_sig || out_dead))
			break;
		while (running < slots && next < njobs && !stop_sig && !out_dead) {
			struct worker *w = NULL;
			for (size_t i = 0; i < slots && !w; i++)
				if (!ws[i].pid)
					w = &ws[i];
			struct err e = {0};
			if (spawn(op, targets, &jobs[next], w, &e) == -1) {
				CLEANUP_FREE char *label = job_label(targets, &jobs[next]);
				struct place pl = {.target = label};
				report_target(&op->ro, &pl, "error", &e);
				err_clear(&e);
				code = EXIT_FAILED;
				t.done += jobs[next].n;
				t.failed += jobs[next].n;
			} else {
				running++;
			}
			t.started += jobs[next].n;
			next++;
		}
		if (stop_sig && !forwarded) {
			/* children hold the signal while writing (run.c) */
			for (size_t i = 0; i < slots; i++)
				if (ws[i].pid)
					kill(ws[i].pid, SIGTERM);
			forwarded = 1;
		}
		struct pollfd pfd[3 * slots];
		size_t np = 0;
		for (size_t i = 0; i < slots; i++)
			for (int k = 0; k < 3; k++)
				if (ws[i].pid && ws[i].fd[k] >= 0)
					pfd[np++] = (struct pollfd){ws[i].fd[k], POLLIN, 0};
		poll(pfd, np, 200);
		double now = now_seconds();
		for (size_t i = 0; i < slots; i++) {
			struct worker *w = &ws[i];
			if (!w->pid)
				continue;
			for (int k = 0; k < 3; k++) {
				if (w->fd[k] < 0)
					continue;
				char chunk[65536];
				ssize_t r = read(w->fd[k], chunk, sizeof chunk);
				if (r > 0)
					append(&w->out[k], chunk, (size_t)r);
				else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					close(w->fd[k]);
					w->fd[k] = -1;
				}
			}
			if (op->timeout > 0 && !w->term_at && now - w->started > op->timeout) {
				kill(w->pid, SIGTERM);
				w->term_at = now;
				w->timed_out = 1;
			} else if (w->term_at &&
				   now - w->term_at > (op->timeout < KILL_GRACE_SECONDS
							   ? op->timeout
							   : KILL_GRACE_SECONDS)) {
				kill(w->pid, SIGKILL);
			}
			int st;
			if (!any_open(w) && waitpid(w->pid, &st, 0) == w->pid) {
				code = exit_worse(code, finish(op, targets, w, st, &t, &deferred));
				w->pid = 0;
				running--;
				out_dead = out_dead || output_failed();
			}
		}
	}
	/* every target gets its line: those never started say why (dynamic
	 * disks too, left for a second pass that never came) */
	for (size_t i = next; i < njobs && (stop_sig || out_dead); i++) {
		CLEANUP_FREE char *label = job_label(targets, &jobs[i]);
		not_started(op, label);
	}
	for (size_t i = 0; !grouped && i < deferred.n; i++)
		not_started(op, targets[deferred.v[i].idx]);
	progress_clear(&t);
	summary(op, &t);
	if (next < njobs || t.started < t.total)
		code = EXIT_FAILED;
	for (size_t i = n; i < njobs; i++)
		free(jobs[i].idx);
	free(jobs);
	free(idx);
	free(deferred.v);
	free(ws);
	return code;
}
