/* SPDX-License-Identifier: GPL-2.0-or-later */
/* race: what an attacker who owns an image's directory runs beside nobounce,
 * for the confinement tests.  Each mode loops until SECONDS have passed (or
 * it is killed), so a test's race always ends.
 *
 *   race swap SECONDS A B          renameat2(A, B, RENAME_EXCHANGE), again and again
 *   race flip SECONDS FILE OFF X Y  writes X, then Y, at byte OFF of FILE, again and again
 *                                   (X and Y of one length: a name rewritten in place;
 *                                   \xHH in them is the byte HH)
 *
 * Each does its step at least once, so "race swap 0 A B" swaps once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* s with \xHH escapes decoded, in place; its new length. */
static size_t unescape(char *s)
{
	size_t o = 0;
	for (size_t i = 0; s[i]; i++) {
		unsigned v;
		if (s[i] == '\\' && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1) {
			s[o++] = (char)v;
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: race swap SECONDS A B | race flip SECONDS FILE OFF X Y\n");
		return 2;
	}
	double end = now() + atof(argv[2]);
	unsigned long n = 0;
	if (strcmp(argv[1], "swap") == 0) {
		do {
			if (renameat2(AT_FDCWD, argv[3], AT_FDCWD, argv[4], RENAME_EXCHANGE) ==
			    -1) {
				perror("renameat2");
				return 1;
			}
			n++;
		} while (now() < end);
	} else if (strcmp(argv[1], "flip") == 0 && argc == 7) {
		size_t len = unescape(argv[5]);
		if (unescape(argv[6]) != len) {
			fprintf(stderr, "race: X and Y must be of one length\n");
			return 2;
		}
		int fd = open(argv[3], O_WRONLY);
		off_t off = (off_t)atoll(argv[4]);
		if (fd == -1) {
			perror(argv[3]);
			return 1;
		}
		do {
			const char *s = argv[5 + n % 2];
			if (pwrite(fd, s, len, off) != (ssize_t)len) {
				perror("pwrite");
				return 1;
			}
			n++;
		} while (now() < end);
		/* the file is left as X: what was judged, if anything was */
		if (n % 2 && pwrite(fd, argv[5], len, off) != (ssize_t)len)
			return 1;
		close(fd);
	} else {
		fprintf(stderr, "race: unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
