/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tree-dump: a hive's whole tree, as one reader sees it, in one canonical
 * form, so that readers can be compared line for line:
 *
 *   tree-dump hread|hivex [--clean] [--as-libregf] HIVE
 *
 *   K<TAB>\A\B                          a key (its path below the root)
 *   V<TAB>\A\B<TAB>NAME<TAB>TYPE<TAB>HEX  each value, in the key's order
 *
 * Subkeys in the order the hive keeps them.  --clean reads the hive as if
 * its sequence numbers were equal (a dirty real hive, read as it is);
 * --as-libregf prints data shorter than 4 bytes as "?" (libregf misreads
 * it).  Exit 2 when the reader refuses the hive. */
#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reg/hread.h"
#include "reg/regf.h"

static int as_libregf;

static void put_value(const char *path, const char *name, uint32_t type, const uint8_t *d,
		      size_t len)
{
	printf("V\t%s\t%s\t%u\t", *path ? path : "\\", name, type);
	if (as_libregf && (type == 1 || type == 2)) { /* up to the first NUL */
		for (size_t i = 0; i + 1 < len; i += 2)
			if (!d[i] && !d[i + 1])
				len = i;
		if (len % 2 && !d[len - 1]) /* 8-bit text and its NUL */
			len--;
	}
	if (as_libregf && len < 4)
		fputs("?", stdout);
	else
		for (size_t i = 0; i < len; i++)
			printf("%02x", d[i]);
	putchar('\n');
}

static int dump_hread(const struct hread *h, uint32_t off, const char *path, int depth)
{
	struct err e = {0};
	struct hr_key k;
	const uint8_t *list;
	if (depth > 512 || hread_key(h, off, &k, &e) == -1 || hread_values(h, &k, &list, &e) == -1)
		goto bad;
	printf("K\t%s\n", *path ? path : "\\");
	for (uint32_t i = 0; i < k.nvalues; i++) {
		struct hr_val v;
		const uint8_t *d;
		uint8_t *copy;
		if (hread_value(h, hread_value_at(list, i), &v, &e) == -1 ||
		    hread_data(h, &v, &d, &copy, &e) == -1)
			goto bad;
		char *name = hread_name_utf8(&v.name);
		put_value(path, name, v.type, d, v.len);
		free(name);
		free(copy);
	}
	uint32_t *subs;
	size_t n;
	if (hread_subkeys(h, &k, &subs, &n, &e) == -1)
		goto bad;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct hr_key s;
		if (hread_key(h, subs[i], &s, &e) == -1) {
			r = -1;
			break;
		}
		char *name = hread_name_utf8(&s.name);
		char *sub = xasprintf("%s\\%s", path, name);
		r = dump_hread(h, subs[i], sub, depth + 1);
		free(sub);
		free(name);
	}
	free(subs);
	return r;
bad:
	fprintf(stderr, "tree-dump: hread: %s\n", e.msg ? e.msg : "too deep");
	err_clear(&e);
	return -1;
}

static int dump_hivex(hive_h *h, hive_node_h node, const char *path, int depth)
{
	hive_value_h *vals = hivex_node_values(h, node);
	hive_node_h *kids = vals ? hivex_node_children(h, node) : NULL;
	int r = depth > 512 || !kids ? -1 : 0;
	if (r == 0)
		printf("K\t%s\n", *path ? path : "\\");
	for (size_t i = 0; r == 0 && vals[i]; i++) {
		hive_type t;
		size_t len;
		char *name = hivex_value_key(h, vals[i]);
		char *d = name ? hivex_value_value(h, vals[i], &t, &len) : NULL;
		if (d)
			put_value(path, name, (uint32_t)t, (const uint8_t *)d, len);
		else
			r = -1;
		free(name);
		free(d);
	}
	for (size_t i = 0; r == 0 && kids[i]; i++) {
		char *name = hivex_node_name(h, kids[i]);
		char *sub = name ? xasprintf("%s\\%s", path, name) : NULL;
		r = sub ? dump_hivex(h, kids[i], sub, depth + 1) : -1;
		free(sub);
		free(name);
	}
	if (r == -1 && depth == 0)
		fprintf(stderr, "tree-dump: hivex: %s\n", strerror(errno ? errno : EINVAL));
	free(vals);
	free(kids);
	return r;
}

int main(int argc, char **argv)
{
	int clean = 0, i = 2;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--clean"))
			clean = 1;
		else if (!strcmp(argv[i], "--as-libregf"))
			as_libregf = 1;
	}
	if (argc < 3 || i != argc - 1) {
		fprintf(stderr, "usage: tree-dump hread|hivex [--clean] [--as-libregf] HIVE\n");
		return 2;
	}
	int fd = open(argv[i], O_RDONLY);
	struct stat st;
	if (fd == -1 || fstat(fd, &st) == -1 || !st.st_size) {
		fprintf(stderr, "tree-dump: %s: cannot read it\n", argv[i]);
		return 2;
	}
	size_t len = (size_t)st.st_size;
	uint8_t *p = malloc(len);
	if (!p || pread(fd, p, len, 0) != (ssize_t)len)
		return 2;
	close(fd);
	if (clean && len >= REGF_BLOCK) {
		memcpy(p + REGF_SEQ2, p + REGF_SEQ1, 4);
		uint32_t x = regf_checksum(p);
		for (int b = 0; b < 4; b++)
			p[REGF_CHECKSUM + b] = (uint8_t)(x >> (8 * b));
	}
	int r;
	if (!strcmp(argv[1], "hread")) {
		struct hread h;
		struct err e = {0};
		/* every cell checked, as hivex does on open */
		if (hread_open(&h, argv[i], p, len, &e) == -1 || hread_check_bins(&h, &e) == -1) {
			fprintf(stderr, "tree-dump: hread: %s\n", e.msg);
			return 2;
		}
		r = dump_hread(&h, h.root, "", 0);
		hread_close(&h);
	} else {
		char tmp[] = "/tmp/tree-dump-XXXXXX";
		int t = mkstemp(tmp);
		if (t == -1 || write(t, p, len) != (ssize_t)len)
			return 2;
		close(t);
		hive_h *h = hivex_open(tmp, 0);
		unlink(tmp);
		if (!h) {
			fprintf(stderr, "tree-dump: hivex: %s\n", strerror(errno));
			return 2;
		}
		r = dump_hivex(h, hivex_root(h), "", 0);
		hivex_close(h);
	}
	free(p);
	if (fflush(stdout) == EOF)
		return 1;
	return r == 0 ? 0 : 2;
}
