/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util: small helpers every module uses: memory, buffers, errors, hashing. */
#ifndef NOBOUNCE_UTIL_H
#define NOBOUNCE_UTIL_H

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREQ(a, b) (strcmp((a), (b)) == 0)
#define STRCASEEQ(a, b) (strcasecmp((a), (b)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* The page: the unit in which a fix compares, saves and writes files, and in
 * which NTFS writes are held until they go to the disk as one burst. */
#define NB_PAGE 4096u

/* Cleanup helpers (GCC and Clang's cleanup attribute): the variable is
 * freed, closed or released when it goes out of scope, errno kept.  Hand a
 * descriptor on with fd_take, which leaves -1 behind. */
void cleanup_free(void *ptr);
#define CLEANUP_FREE __attribute__((cleanup(cleanup_free)))
void cleanup_close(int *fd);
#define CLEANUP_CLOSE __attribute__((cleanup(cleanup_close)))
void cleanup_json(json_t **j);
#define CLEANUP_JSON __attribute__((cleanup(cleanup_json)))
static inline int fd_take(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A byte buffer owned by whoever holds it. */
struct buf {
	uint8_t *p;
	size_t len;
	/* 0: p is malloc'd.  >0: p maps a memfd, whose descriptor is memfd - 1
	 * (hivex can open it by /proc/self/fd, without a copy).  Set it to -1
	 * before a read to ask for such a buffer. */
	int memfd;
};
/* Gives b room for len bytes, in a memfd when b->memfd is -1. */
int buf_alloc(struct buf *b, size_t len);
void buf_free(struct buf *b);

/* An error travels back to the command loop, which prefixes the target.
 * kind is a short stable word for JSON (see nobounce(1), ERRORS); msg names
 * the file, what failed, why, and what the user can do. */
struct err {
	const char *kind;
	char *msg;
};
int fail(struct err *e, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void err_clear(struct err *e);

/* s with control characters (C0, DEL, and C1 as UTF-8) written as \n, \t,
 * \r or \xHH: a name from an image, printed for people, cannot forge a line
 * of output or drive a terminal.  JSON output escapes on its own. */
char *esc(const char *s);
/* One line for people: the formatted text escaped, then a newline. */
void eline(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "user NAME (uid N)": who this process acts as, for a message about a
 * permission it lacks. */
char *who_am_i(void);

/* -v and -q: step messages go to stderr only when verbose, each with the
 * milliseconds since the first. */
extern int verbose;
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* -x: a trace of what nobounce asks of its libraries (each volume
 * operation; libnbd's debug and hivex's verbose mode are turned on where
 * their handles are made), on stderr. */
extern int trace;
void tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pread/pwrite of exactly len bytes at off, retried on EINTR and short
 * transfers; -1 with errno set (EIO when the file ends early). */
int pread_all(int fd, void *p, size_t len, uint64_t off);
/* The bytes of a file or block device. */
int fd_size(int fd, uint64_t *size);
int pwrite_all(int fd, const void *p, size_t len, uint64_t off);

/* SHA-256 as 64 lowercase hex digits plus NUL. */
void sha256_hex(const void *p, size_t len, char out[65]);

/* A SHA-256 worked out on a thread of its own while the caller goes on
 * (a fix hashes tens of MB it then keeps using).  The bytes must stay as
 * they are until hash_wait or hash_free.  hash_wait gives the result (""
 * for no job); hash_free waits, then frees the job. */
struct hashjob;
struct hashjob *hash_start(const void *p, size_t len);
/* The same, of pieces one after the other: a piece whose p is NULL is len
 * zero bytes.  The list is copied; the bytes it points to are not. */
struct hseg {
	const void *p;
	size_t len;
};
struct hashjob *hash_start_segs(const struct hseg *segs, size_t n);
const char *hash_wait(struct hashjob *j);
void hash_free(struct hashjob *j);

/* A growing list of strings (owned). */
struct strlist {
	char **v;
	size_t n, cap;
};
void strlist_add(struct strlist *l, char *owned);
void strlist_free(struct strlist *l);
/* The strings with sep between them (a new string; "" for none). */
char *strlist_join(const struct strlist *l, const char *sep);
/* The one way a string is joined: appends the formatted text to *s (a
 * malloc'd string, or NULL for none yet), after sep when *s is not empty. */
void str_add(char **s, const char *sep, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* SIGINT and SIGTERM.  Outside a critical section a signal ends the process
 * at once, after the cleanup given to signals_install (stopping qemu-nbd).
 * Inside one (a run writing to a target) it is held: the run finishes or
 * rolls back, and signal_pending() then tells the caller to stop. */
void signals_install(void (*cleanup)(void));
void critical_begin(void);
void critical_end(void);
int signal_pending(void);

/* Seconds on a monotonic clock. */
double now_seconds(void);

/* Fault points for the crash tests: in a build with -DNOBOUNCE_FAULTS, the
 * process kills itself (SIGKILL) at the point named by NOBOUNCE_FAULT
 * ("NAME:N" = the Nth time it is reached, from 0).  Every write step has one;
 * tests/t-crash.sh finds them all by reading the sources for FAULT(. */
#ifdef NOBOUNCE_FAULTS
int fault_hit(const char *name);
#define FAULT(name) ((void)fault_hit(name))
#define FAULT_ACTIVE(name) fault_hit(name)
#else
#define FAULT(name) ((void)0)
#define FAULT_ACTIVE(name) 0
#endif

#endif
