/* fleet: many targets in parallel worker processes.
 *
 * Each target runs in a child process of its own, so a target that fails,
 * hangs past --timeout or crashes its worker never stops the others, and
 * memory is bounded per target.  A child's output is collected and printed
 * as one block when it finishes (one JSON line per installation with
 * --json), so lines of different targets never interleave.
 *
 * SIGINT/SIGTERM: no new target is started; children that are writing
 * finish or roll back (plan.c holds the signal during writes), the others
 * stop before writing anything. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockdev.h"
#include "fleet.h"

/* After SIGTERM on timeout, a worker gets this long (at most) to finish or
 * roll back a write before SIGKILL. */
#define KILL_GRACE_SECONDS 10.0

struct worker {
	pid_t pid;
	size_t idx;
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

static void child(const struct options *op, const char *target, int fds[3][2])
{
	for (int i = 0; i < 3; i++)
		close(fds[i][0]);
	dup2(fds[0][1], 1);
	dup2(fds[1][1], 2);
	close(fds[0][1]);
	close(fds[1][1]);
	report_status_fd = fds[2][1];
	signals_install(bdev_kill_servers);
	int code = target_run(op, target);
	fflush(stdout);
	fflush(stderr);
	_exit(code);
}

static int spawn(const struct options *op, const char *target, struct worker *w, size_t idx,
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
		child(op, target, fds);
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->idx = idx;
	w->started = now_seconds();
	for (int i = 0; i < 3; i++) {
		close(fds[i][1]);
		w->fd[i] = fds[i][0];
		fcntl(w->fd[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* ---- progress and summary ---- */

struct tally {
	size_t done, total, failed, started;
	size_t by_status[7];
	double t0;
	int progress; /* stderr is a terminal */
};

static const char *const statuses[] = {"clean",		 "needs-fix", "fixed",	    "restored",
				       "not-applicable", "error",     "interrupted"};

static void count_statuses(struct tally *t, const struct buf *b)
{
	for (char *line = b->len ? (char *)b->p : NULL, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
			if (STREQ(line, statuses[i]))
				t->by_status[i]++;
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

/* ---- finishing a worker ---- */

static int finish(const struct options *op, char **targets, struct worker *w, int status,
		  struct tally *t)
{
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
			     "did not finish within %.0f s and was stopped; run 'nobounce check' "
			     "on it (an interrupted fix is rolled back by the next fix or undo)",
			     op->timeout);
		else
			fail(&e, "crashed",
			     "its worker died (%s %d); run 'nobounce check' on it (an "
			     "interrupted fix is rolled back by the next fix or undo)",
			     WIFSIGNALED(status) ? "signal" : "exit status",
			     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		report_target(&op->ro, targets[w->idx], NULL, "error", &e);
		t->by_status[5]++;
		err_clear(&e);
		code = EXIT_FAILED;
	}
	if (code == EXIT_FAILED)
		t->failed++;
	t->done++;
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

int fleet_run(const struct options *op, char **targets, size_t n)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	size_t jobs = op->jobs > 0 ? (size_t)op->jobs : 1;
	struct worker *ws = xcalloc(jobs, sizeof *ws);
	size_t running = 0, next = 0;
	struct tally t = {.total = n, .t0 = now_seconds(), .progress = isatty(2) && !op->ro.quiet};
	int code = EXIT_OK, forwarded = 0;
	progress_draw(&t);
	int out_dead = 0; /* standard output failed: start no more targets */
	while (running || (next < n && !stop_sig && !out_dead)) {
		while (running < jobs && next < n && !stop_sig && !out_dead) {
			struct worker *w = NULL;
			for (size_t i = 0; i < jobs && !w; i++)
				if (!ws[i].pid)
					w = &ws[i];
			struct err e = {0};
			if (spawn(op, targets[next], w, next, &e) == -1) {
				report_target(&op->ro, targets[next], NULL, "error", &e);
				err_clear(&e);
				code = EXIT_FAILED;
				t.done++;
				t.failed++;
			} else {
				running++;
			}
			t.started++;
			next++;
		}
		if (stop_sig && !forwarded) {
			/* children hold the signal while writing (plan.c) */
			for (size_t i = 0; i < jobs; i++)
				if (ws[i].pid)
					kill(ws[i].pid, SIGTERM);
			forwarded = 1;
		}
		struct pollfd pfd[3 * jobs];
		size_t np = 0;
		for (size_t i = 0; i < jobs; i++)
			for (int k = 0; k < 3; k++)
				if (ws[i].pid && ws[i].fd[k] >= 0)
					pfd[np++] = (struct pollfd){ws[i].fd[k], POLLIN, 0};
		poll(pfd, np, 200);
		double now = now_seconds();
		for (size_t i = 0; i < jobs; i++) {
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
				code = exit_worse(code, finish(op, targets, w, st, &t));
				w->pid = 0;
				running--;
				out_dead = out_dead || output_failed();
			}
		}
	}
	progress_clear(&t);
	summary(op, &t);
	free(ws);
	if (next < n)
		code = EXIT_FAILED;
	return code;
}
