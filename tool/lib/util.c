/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util: memory, buffers, errors, hashing, string lists, signals (see
 * util.h). */
#include "lib/util.h"

#include <errno.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <nettle/sha2.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <time.h>

int verbose;
int trace;

void tracef(const char *fmt, ...)
{
	if (!trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	eline(stderr, "nobounce: trace: %s", s);
	free(s);
}

void cleanup_free(void *ptr)
{
	free(*(void **)ptr);
}

void cleanup_close(int *fd)
{
	if (*fd >= 0) {
		int err = errno;
		close(*fd);
		errno = err;
	}
}

void cleanup_json(json_t **j)
{
	json_decref(*j);
}

static void oom(void)
{
	fputs("nobounce: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		oom();
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return s;
}

/* A buffer of a hive's size in huge pages where the kernel has them: one
 * fault for each 2 MiB instead of each 4 KiB.  free() frees it. */
static void *big_alloc(size_t len)
{
	enum { HUGE = 2u << 20 };
	void *p = NULL;
	if (len < 2 * HUGE || posix_memalign(&p, HUGE, len) != 0)
		return xmalloc(len);
	(void)madvise(p, len, MADV_HUGEPAGE); /* only advice: 4 KiB pages do too */
	return p;
}

int buf_alloc(struct buf *b, size_t len)
{
	b->len = len;
	if (b->memfd != -1) {
		b->memfd = 0;
		b->p = big_alloc(len);
		return 0;
	}
	b->memfd = 0;
	int fd = memfd_create("nobounce-file", MFD_CLOEXEC);
	if (fd == -1 || ftruncate(fd, (off_t)len) == -1) {
		if (fd != -1)
			close(fd);
		b->p = xmalloc(len); /* no memfd: an ordinary buffer does too */
		return 0;
	}
	/* populated in one call: a hive's 10,000 pages would each fault */
	void *m =
	    len ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0) : NULL;
	if (m == MAP_FAILED) {
		close(fd);
		b->p = xmalloc(len);
		return 0;
	}
	b->p = m;
	b->memfd = fd + 1;
	return 0;
}

void buf_free(struct buf *b)
{
	if (b->memfd > 0) {
		if (b->p && b->len)
			munmap(b->p, b->len);
		close(b->memfd - 1);
	} else {
		free(b->p);
	}
	b->p = NULL;
	b->len = 0;
	b->memfd = 0;
}

int fail(struct err *e, const char *kind, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	/* the first error is the cause; later ones are consequences */
	if (!e->msg) {
		e->kind = kind;
		e->msg = s;
	} else {
		free(s);
	}
	return -1;
}

void err_clear(struct err *e)
{
	free(e->msg);
	e->msg = NULL;
	e->kind = NULL;
}

char *esc(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(4 * n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int c1 = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
		} else if (*p < 0x20 || *p == 0x7f || c1) {
			o += sprintf(o, "\\x%02x", c1 ? *++p : *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o = 0;
	return out;
}

static void veline(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	char *e = esc(s);
	fprintf(f, "%s%s\n", prefix, e);
	free(e);
	free(s);
}

void eline(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	veline(f, "", fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	if (!verbose)
		return;
	/* each step says when it ended, in ms from the first: -v is also
	 * how to see where a run's time goes (docs/performance.md) */
	static double t0;
	double now = now_seconds();
	if (!t0)
		t0 = now;
	char prefix[48];
	snprintf(prefix, sizeof prefix, "nobounce: [%7.1f ms] ", (now - t0) * 1000);
	va_list ap;
	va_start(ap, fmt);
	veline(stderr, prefix, fmt, ap);
	va_end(ap);
}

int pread_all(int fd, void *p, size_t len, uint64_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, (uint8_t *)p + done, len - done, (off_t)(off + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, (const uint8_t *)p + done, len - done, (off_t)(off + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* The SHA-256 of the pieces one after the other (a piece with no bytes
 * given is that many zeros), as hex. */
static void sha256_segs(const struct hseg *s, size_t n, char out[65])
{
	static const uint8_t zeros[4096];
	uint8_t md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	for (size_t i = 0; i < n; i++) {
		if (s[i].p) {
			sha256_update(&ctx, s[i].len, s[i].p);
			continue;
		}
		for (size_t done = 0; done < s[i].len; done += sizeof zeros)
			sha256_update(
			    &ctx, s[i].len - done < sizeof zeros ? s[i].len - done : sizeof zeros,
			    zeros);
	}
	sha256_digest(&ctx, sizeof md, md);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

void sha256_hex(const void *p, size_t len, char out[65])
{
	struct hseg one = {p, len};
	sha256_segs(&one, 1, out);
}

struct hashjob {
	struct hseg *segs;
	size_t nsegs;
	char hex[65];
	int running;
	pthread_t thread;
};

static void *hash_thread(void *arg)
{
	struct hashjob *j = arg;
	sha256_segs(j->segs, j->nsegs, j->hex);
	return NULL;
}

struct hashjob *hash_start_segs(const struct hseg *segs, size_t n)
{
	struct hashjob *j = xcalloc(1, sizeof *j);
	j->segs = xmalloc((n ? n : 1) * sizeof *segs);
	if (n)
		memcpy(j->segs, segs, n * sizeof *segs);
	j->nsegs = n;
	j->running = pthread_create(&j->thread, NULL, hash_thread, j) == 0;
	if (!j->running)
		hash_thread(j); /* no thread to be had: here and now */
	return j;
}

struct hashjob *hash_start(const void *p, size_t len)
{
	struct hseg one = {p, len};
	return hash_start_segs(&one, 1);
}

const char *hash_wait(struct hashjob *j)
{
	if (!j)
		return "";
	if (j->running) {
		pthread_join(j->thread, NULL);
		j->running = 0;
	}
	return j->hex;
}

void hash_free(struct hashjob *j)
{
	hash_wait(j);
	if (j)
		free(j->segs);
	free(j);
}

char *who_am_i(void)
{
	uid_t uid = geteuid();
	struct passwd *pw = getpwuid(uid);
	return pw ? xasprintf("user %s (uid %u)", pw->pw_name, (unsigned)uid)
		  : xasprintf("uid %u", (unsigned)uid);
}

void str_add(char **s, const char *sep, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	char *next = xasprintf("%s%s%s", *s ? *s : "", *s && **s ? sep : "", text);
	free(text);
	free(*s);
	*s = next;
}

char *strlist_join(const struct strlist *l, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + (i ? strlen(sep) : 0);
	char *s = xmalloc(len), *p = s;
	for (size_t i = 0; i < l->n; i++)
		p = stpcpy(stpcpy(p, i ? sep : ""), l->v[i]);
	*p = 0;
	return s;
}

void strlist_add(struct strlist *l, char *owned)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = owned;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

#ifdef NOBOUNCE_FAULTS
#include <signal.h>
#include <unistd.h>

/* Counts every point reached; kills the process at the one asked for.  A
 * point whose name ends in '~' is only reported, so that the caller can do
 * something half-way first, then call FAULT with the plain name. */
int fault_hit(const char *name)
{
	static struct {
		char name[32];
		int count;
	} seen[32];
	const char *want = getenv("NOBOUNCE_FAULT");
	if (!want)
		return 0;
	size_t nl = strlen(name);
	int half = nl && name[nl - 1] == '~';
	if (half)
		nl--;
	int *count = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(seen) && !count; i++)
		if (!seen[i].name[0] ||
		    (strlen(seen[i].name) == nl && !strncmp(seen[i].name, name, nl))) {
			if (!seen[i].name[0])
				snprintf(seen[i].name, sizeof seen[i].name, "%.*s", (int)nl, name);
			count = &seen[i].count;
		}
	if (!count)
		return 0;
	char here[48];
	snprintf(here, sizeof here, "%.*s:%d", (int)nl, name, *count);
	int hit = STREQ(want, here);
	if (!half && STREQ(want, "trace")) /* the tests learn every point reached */
		fprintf(stderr, "nobounce: fault point %s reached\n", here);
	if (half)
		return hit; /* counted again by the FAULT that follows */
	(*count)++;
	if (hit) {
		/* NOBOUNCE_FAULT_ACTION=stop: stop here instead (SIGSTOP), so a
		 * test can send a signal to a run caught in the middle */
		const char *act = getenv("NOBOUNCE_FAULT_ACTION");
		int stop = act && STREQ(act, "stop");
		fprintf(stderr, "nobounce: fault point %s: %s\n", here,
			stop ? "stopped" : "killed");
		kill(getpid(), stop ? SIGSTOP : SIGKILL);
	}
	return 0;
}
#endif

static volatile sig_atomic_t critical_depth, pending_sig;
static void (*sig_cleanup)(void);

static void die_by(int sig)
{
	if (sig_cleanup)
		sig_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_signal(int sig)
{
	if (critical_depth)
		pending_sig = sig;
	else
		die_by(sig);
}

void signals_install(void (*cleanup)(void))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sig_cleanup = cleanup;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void critical_begin(void)
{
	critical_depth++;
}

void critical_end(void)
{
	critical_depth--;
}

int signal_pending(void)
{
	return pending_sig;
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fd_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) == -1)
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size);
	*size = (uint64_t)st.st_size;
	return 0;
}
