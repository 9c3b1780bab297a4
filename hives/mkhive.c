/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkhive: build a registry hive from .reg-style text, for test fixtures.
 *
 *   mkhive -o OUT [--base HIVE] [--prefix PFX] [--root-name NAME]
 *          [--file-name NAME] [--sequence N:M] [FILE.reg ...]
 *
 * Without --base the hive is written from scratch in one pass: every key's
 * subkey list is emitted once, already sorted, so 20,000 subkeys under one key
 * cost 20,000 list entries (hivex adds children one by one and copies the list
 * each time, which is quadratic: FACTS.md section 5).  With no input files the
 * result is an empty hive: base block + one 4 KiB hbin holding the root key,
 * its security descriptor and a free cell.
 *
 * With --base the input is merged into a copy of an existing hive through
 * hivex (for adding a few keys to a real Windows hive).
 *
 * Input: the text regedit exports ("Windows Registry Editor Version 5.00" or
 * "REGEDIT4"), keys relative to the hive root ("[\A\B]" or "[A\B]", or with
 * PFX stripped), values "name"="str", dword:N, hex:.., hex(N):.., and one
 * extension for readable fixtures: str(N):"text" (type N, UTF-16LE string).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hivex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "reg/regname.h"

#define MAX_INLINE_DATA 16344 /* larger values need big-data cells */
#define HBIN_SIZE 4096
#define FIXED_FILETIME 0x01c8a3e0b1d2c000ULL /* 2008-04-21, deterministic */
#define LIST_CHUNK 512			     /* entries per lf leaf under ri */

static const char *progname = "mkhive";

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die("out of memory");
	return d;
}

/* ---- the tree read from the text ---- */

struct value {
	char *name; /* UTF-8; "" is the default value */
	uint32_t type;
	uint8_t *data;
	size_t len;
};

struct node {
	char *name;
	struct node **kids;
	size_t nkids, capkids;
	struct value *vals;
	size_t nvals, capvals;
	uint32_t off; /* cell offset once written */
};

/* Lookups by (parent, case-folded name) go through one hash table so that a
 * key with tens of thousands of children is built in linear time. */
struct slot {
	struct node *parent;
	struct node *kid;
};
static struct slot *table;
static size_t table_cap, table_used;

static uint64_t name_hash(const struct node *parent, const char *name)
{
	uint64_t h = (uintptr_t)parent * 0x9e3779b97f4a7c15ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ (uint64_t)toupper(*p)) * 0x100000001b3ULL;
	return h;
}

static struct node **table_find(struct node *parent, const char *name)
{
	size_t i = name_hash(parent, name) & (table_cap - 1);
	while (table[i].kid) {
		if (table[i].parent == parent && !strcasecmp(table[i].kid->name, name))
			return &table[i].kid;
		i = (i + 1) & (table_cap - 1);
	}
	table[i].parent = parent;
	return &table[i].kid;
}

static void table_grow(void)
{
	struct slot *old = table;
	size_t oldcap = table_cap;
	table_cap = table_cap ? table_cap * 2 : 1024;
	table = calloc(table_cap, sizeof *table);
	if (!table)
		die("out of memory");
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].kid)
			*table_find(old[i].parent, old[i].kid->name) = old[i].kid;
	free(old);
}

static struct node *node_new(const char *name)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		die("out of memory");
	n->name = xstrdup(name);
	return n;
}

static struct node *child(struct node *parent, const char *name)
{
	if ((table_used + 1) * 2 > table_cap)
		table_grow();
	struct node **slot = table_find(parent, name);
	if (*slot)
		return *slot;
	struct node *k = node_new(name);
	*slot = k;
	table_used++;
	if (parent->nkids == parent->capkids) {
		parent->capkids = parent->capkids ? parent->capkids * 2 : 4;
		parent->kids = xrealloc(parent->kids, parent->capkids * sizeof *parent->kids);
	}
	parent->kids[parent->nkids++] = k;
	return k;
}

static void set_value(struct node *n, const char *name, uint32_t type, uint8_t *data, size_t len)
{
	for (size_t i = 0; i < n->nvals; i++)
		if (!strcasecmp(n->vals[i].name, name)) {
			free(n->vals[i].data);
			n->vals[i].type = type;
			n->vals[i].data = data;
			n->vals[i].len = len;
			return;
		}
	if (n->nvals == n->capvals) {
		n->capvals = n->capvals ? n->capvals * 2 : 4;
		n->vals = xrealloc(n->vals, n->capvals * sizeof *n->vals);
	}
	n->vals[n->nvals++] = (struct value){xstrdup(name), type, data, len};
}

/* ---- UTF-8 / UTF-16 ---- */

/* UTF-16LE of s (with a terminating NUL when nul is set). */
static uint8_t *utf16le(const char *s, size_t *lenp, int nul)
{
	size_t cap = strlen(s) * 4 + 4, n = 0;
	uint8_t *out = xrealloc(NULL, cap);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c = regname_next(&p);
		if (c >= 0x10000) {
			c -= 0x10000;
			uint32_t hi = 0xd800 | (c >> 10), lo = 0xdc00 | (c & 0x3ff);
			out[n++] = hi & 0xff, out[n++] = hi >> 8;
			out[n++] = lo & 0xff, out[n++] = lo >> 8;
		} else {
			out[n++] = c & 0xff, out[n++] = c >> 8;
		}
	}
	if (nul)
		out[n++] = 0, out[n++] = 0;
	*lenp = n;
	return out;
}

/* Whether a name can be stored "compressed" (one byte per character). */
static int latin1_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p)
		if (regname_next(&p) > 0xff)
			return 0;
	return 1;
}

static uint8_t *name_bytes(const char *s, size_t *lenp, int *compressed)
{
	if (latin1_ok(s)) {
		size_t n = 0;
		uint8_t *out = xrealloc(NULL, strlen(s) + 1);
		const unsigned char *p = (const unsigned char *)s;
		while (*p)
			out[n++] = (uint8_t)regname_next(&p);
		*lenp = n;
		*compressed = 1;
		return out;
	}
	*compressed = 0;
	return utf16le(s, lenp, 0);
}

static int kid_cmp(const void *a, const void *b)
{
	return regname_cmp((*(struct node *const *)a)->name, (*(struct node *const *)b)->name);
}

/* ---- parsing ---- */

struct parser {
	const char *file;
	int line;
	const char *prefix;
	struct node *root;
	struct node *cur;
};

static void perr(struct parser *ps, const char *what)
{
	die("%s:%d: %s", ps->file, ps->line, what);
}

/* Reads a quoted string at *pp (after the opening quote), unescaping \\ and \". */
static char *quoted(struct parser *ps, const char **pp)
{
	const char *p = *pp;
	size_t cap = strlen(p) + 1, n = 0;
	char *out = xrealloc(NULL, cap);
	for (;; p++) {
		if (!*p)
			perr(ps, "unterminated string");
		if (*p == '"')
			break;
		if (*p == '\\' && (p[1] == '\\' || p[1] == '"'))
			p++;
		out[n++] = *p;
	}
	out[n] = 0;
	*pp = p + 1;
	return out;
}

static uint8_t *hexbytes(struct parser *ps, const char *p, size_t *lenp)
{
	size_t cap = strlen(p) / 2 + 1, n = 0;
	uint8_t *out = xrealloc(NULL, cap);
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			perr(ps, "bad hex data");
		char hx[3] = {p[0], p[1], 0};
		out[n++] = (uint8_t)strtoul(hx, NULL, 16);
		p += 2;
	}
	*lenp = n;
	return out;
}

static void parse_key(struct parser *ps, char *s)
{
	char *end = strrchr(s, ']');
	if (!end)
		perr(ps, "key line without ']'");
	*end = 0;
	s++;
	if (*s == '-')
		perr(ps, "key deletion is not supported");
	size_t pl = ps->prefix ? strlen(ps->prefix) : 0;
	if (pl && !strncasecmp(s, ps->prefix, pl) && (s[pl] == '\\' || !s[pl]))
		s += pl;
	struct node *n = ps->root;
	for (char *tok = strtok(s, "\\"); tok; tok = strtok(NULL, "\\"))
		n = child(n, tok);
	ps->cur = n;
}

static void parse_value(struct parser *ps, const char *p)
{
	char *name;
	if (*p == '@') {
		name = xstrdup("");
		p++;
	} else if (*p == '"') {
		p++;
		name = quoted(ps, &p);
	} else {
		perr(ps, "value line must start with '\"' or '@'");
		return;
	}
	if (*p++ != '=')
		perr(ps, "expected '=' after the value name");
	if (!ps->cur)
		perr(ps, "value before any [key]");
	uint32_t type;
	uint8_t *data;
	size_t len;
	if (*p == '"') {
		p++;
		char *s = quoted(ps, &p);
		type = 1;
		data = utf16le(s, &len, 1);
		free(s);
	} else if (!strncmp(p, "dword:", 6)) {
		char *e;
		unsigned long v = strtoul(p + 6, &e, 16);
		if (e == p + 6 || v > 0xffffffffUL)
			perr(ps, "bad dword");
		type = 4;
		len = 4;
		data = xrealloc(NULL, 4);
		for (int i = 0; i < 4; i++)
			data[i] = (v >> (8 * i)) & 0xff;
	} else if (!strncmp(p, "hex:", 4)) {
		type = 3;
		data = hexbytes(ps, p + 4, &len);
	} else if (!strncmp(p, "hex(", 4) || !strncmp(p, "str(", 4)) {
		char *e;
		type = (uint32_t)strtoul(p + 4, &e, 16);
		if (e[0] != ')' || e[1] != ':')
			perr(ps, "expected hex(N): or str(N):");
		if (*p == 'h') {
			data = hexbytes(ps, e + 2, &len);
		} else {
			const char *q = e + 2;
			if (*q++ != '"')
				perr(ps, "str(N): needs a quoted string");
			char *s = quoted(ps, &q);
			data = utf16le(s, &len, 1);
			free(s);
		}
	} else {
		perr(ps, "unknown value data form");
		return;
	}
	if (len > MAX_INLINE_DATA)
		perr(ps, "value data too large for a fixture (no big-data cells)");
	set_value(ps->cur, name, type, data, len);
	free(name);
}

static void parse_file(struct parser *ps, FILE *f)
{
	char *line = NULL, *full = NULL;
	size_t cap = 0, fulllen = 0;
	ssize_t n;
	ps->line = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		ps->line++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		/* hex data continues on the next line after a trailing backslash */
		full = xrealloc(full, fulllen + n + 1);
		memcpy(full + fulllen, line, n + 1);
		fulllen += n;
		if (n > 0 && line[n - 1] == '\\' && strchr(full, '=') &&
		    (strstr(full, "=hex") != NULL)) {
			full[--fulllen] = 0;
			continue;
		}
		char *s = full;
		while (isspace((unsigned char)*s))
			s++;
		if (ps->line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
			s += 3;
		if (!*s || *s == ';' || !strncmp(s, "Windows Registry Editor", 23) ||
		    !strncmp(s, "REGEDIT4", 8))
			;
		else if (*s == '[')
			parse_key(ps, s);
		else
			parse_value(ps, s);
		fulllen = 0;
	}
	free(line);
	free(full);
}

/* ---- writing a hive from scratch ---- */

struct out {
	uint8_t *b; /* the hive bins, offset 0 = first hbin */
	size_t len, cap;
	size_t bin_start; /* start of the hbin being filled */
	uint32_t sk;
	uint32_t nkeys;
};

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static void ensure(struct out *o, size_t n)
{
	if (o->len + n <= o->cap)
		return;
	while (o->cap < o->len + n)
		o->cap = o->cap ? o->cap * 2 : 65536;
	o->b = xrealloc(o->b, o->cap);
}

/* Closes the hbin being filled: the rest of it becomes one free cell. */
static void close_bin(struct out *o)
{
	size_t end = (o->len + HBIN_SIZE - 1) / HBIN_SIZE * HBIN_SIZE;
	if (end == o->bin_start)
		end += HBIN_SIZE;
	ensure(o, end - o->len);
	if (end > o->len) {
		memset(o->b + o->len, 0, end - o->len);
		put32(o->b + o->len, (uint32_t)(end - o->len)); /* free cell */
	}
	uint8_t *h = o->b + o->bin_start;
	memcpy(h, "hbin", 4);
	put32(h + 4, (uint32_t)o->bin_start);
	put32(h + 8, (uint32_t)(end - o->bin_start));
	memset(h + 12, 0, 8);
	put64(h + 20, FIXED_FILETIME);
	put32(h + 28, 0);
	o->len = end;
}

static void open_bin(struct out *o)
{
	o->bin_start = o->len;
	ensure(o, 32);
	memset(o->b + o->len, 0, 32);
	o->len += 32;
}

/* Allocates a cell with room for n bytes of data; returns its offset. */
static uint32_t cell(struct out *o, size_t n)
{
	size_t size = (n + 4 + 7) & ~(size_t)7;
	size_t binend = o->bin_start + HBIN_SIZE;
	if (o->len + size > binend && o->len > o->bin_start + 32) {
		/* does not fit: finish this hbin (its tail becomes a free cell) */
		close_bin(o);
		open_bin(o);
	}
	ensure(o, size);
	uint32_t off = (uint32_t)o->len;
	memset(o->b + off, 0, size);
	put32(o->b + off, (uint32_t) - (int32_t)size);
	o->len += size;
	if (o->len > o->bin_start + HBIN_SIZE) {
		/* an oversized cell gets an hbin of its own, rounded up */
		close_bin(o);
		open_bin(o);
	}
	return off;
}

/* The security descriptor every key shares: owner Administrators, group
 * SYSTEM, DACL granting full control to SYSTEM and Administrators and read to
 * Everyone.  Real hives have more varied ones; nobounce never edits them. */
static size_t make_sd(uint8_t *sd)
{
	static const uint8_t sid_sys[] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
	static const uint8_t sid_adm[] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};
	static const uint8_t sid_all[] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
	size_t n = 20, acl = n;
	sd[0] = 1, sd[1] = 0;
	put16(sd + 2, 0x8004); /* self-relative, DACL present */
	n += 8;		       /* ACL header, filled below */
	struct {
		const uint8_t *sid;
		size_t len;
		uint32_t mask;
	} aces[] = {{sid_sys, sizeof sid_sys, 0xf003f},
		    {sid_adm, sizeof sid_adm, 0xf003f},
		    {sid_all, sizeof sid_all, 0x20019}};
	for (size_t i = 0; i < 3; i++) {
		size_t sz = 8 + aces[i].len;
		sd[n] = 0, sd[n + 1] = 0x02; /* allowed, container inherit */
		put16(sd + n + 2, (uint32_t)sz);
		put32(sd + n + 4, aces[i].mask);
		memcpy(sd + n + 8, aces[i].sid, aces[i].len);
		n += sz;
	}
	sd[acl] = 2, sd[acl + 1] = 0;
	put16(sd + acl + 2, (uint32_t)(n - acl));
	put16(sd + acl + 4, 3);
	put16(sd + acl + 6, 0);
	put32(sd + 4, (uint32_t)n); /* owner */
	memcpy(sd + n, sid_adm, sizeof sid_adm);
	n += sizeof sid_adm;
	put32(sd + 8, (uint32_t)n); /* group */
	memcpy(sd + n, sid_sys, sizeof sid_sys);
	n += sizeof sid_sys;
	put32(sd + 12, 0);	       /* no SACL */
	put32(sd + 16, (uint32_t)acl); /* DACL */
	return n;
}

static uint32_t write_sk(struct out *o)
{
	uint8_t sd[256];
	size_t n = make_sd(sd);
	uint32_t off = cell(o, 20 + n);
	uint8_t *p = o->b + off + 4;
	memcpy(p, "sk", 2);
	put32(p + 4, off);
	put32(p + 8, off);
	put32(p + 16, (uint32_t)n);
	memcpy(p + 20, sd, n);
	return off;
}

/* An lf leaf: each entry is the key's offset and the first four bytes of its
 * name as a hint (format 1.3 lists; hivex and Windows read them). */
static uint32_t write_lf(struct out *o, struct node **kids, size_t n)
{
	uint32_t off = cell(o, 4 + 8 * n);
	uint8_t *p = o->b + off + 4;
	memcpy(p, "lf", 2);
	put16(p + 2, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put32(p + 4 + 8 * i, kids[i]->off);
		size_t nl;
		int comp;
		uint8_t *nb = name_bytes(kids[i]->name, &nl, &comp);
		for (size_t j = 0; j < 4; j++)
			p[8 + 8 * i + j] = j < nl && comp ? nb[j] : (j < nl / 2 ? nb[2 * j] : 0);
		free(nb);
	}
	return off;
}

static uint32_t write_list(struct out *o, struct node **kids, size_t n)
{
	if (n <= LIST_CHUNK)
		return write_lf(o, kids, n);
	size_t leaves = (n + LIST_CHUNK - 1) / LIST_CHUNK;
	uint32_t *lo = xrealloc(NULL, leaves * sizeof *lo);
	for (size_t i = 0; i < leaves; i++) {
		size_t cnt = i + 1 < leaves ? LIST_CHUNK : n - i * LIST_CHUNK;
		lo[i] = write_lf(o, kids + i * LIST_CHUNK, cnt);
	}
	uint32_t off = cell(o, 4 + 4 * leaves);
	uint8_t *p = o->b + off + 4;
	memcpy(p, "ri", 2);
	put16(p + 2, (uint32_t)leaves);
	for (size_t i = 0; i < leaves; i++)
		put32(p + 4 + 4 * i, lo[i]);
	free(lo);
	return off;
}

static uint32_t write_vk(struct out *o, const struct value *v, size_t *namelen_utf16)
{
	uint32_t dataoff = 0, datalen = (uint32_t)v->len;
	if (v->len > 4) {
		dataoff = cell(o, v->len);
		memcpy(o->b + dataoff + 4, v->data, v->len);
	} else {
		uint8_t tmp[4] = {0};
		if (v->len)
			memcpy(tmp, v->data, v->len);
		dataoff = tmp[0] | tmp[1] << 8 | tmp[2] << 16 | (uint32_t)tmp[3] << 24;
		datalen |= 0x80000000u;
	}
	size_t nl;
	int comp;
	uint8_t *nb = name_bytes(v->name, &nl, &comp);
	*namelen_utf16 = comp ? nl * 2 : nl;
	uint32_t off = cell(o, 20 + nl);
	uint8_t *p = o->b + off + 4;
	memcpy(p, "vk", 2);
	put16(p + 2, (uint32_t)nl);
	put32(p + 4, datalen);
	put32(p + 8, dataoff);
	put32(p + 12, v->type);
	put16(p + 16, comp && nl ? 1 : 0);
	memcpy(p + 20, nb, nl);
	free(nb);
	return off;
}

static void write_node(struct out *o, struct node *n, uint32_t parent, int is_root)
{
	size_t nl;
	int comp;
	uint8_t *nb = name_bytes(n->name, &nl, &comp);
	n->off = cell(o, 76 + nl);
	if (is_root)
		o->sk = write_sk(o); /* right after the root, as Windows lays it out */
	o->nkeys++;
	if (n->nkids)
		qsort(n->kids, n->nkids, sizeof *n->kids, kid_cmp);
	size_t max_sub = 0, max_vname = 0, max_vdata = 0;
	for (size_t i = 0; i < n->nkids; i++) {
		if (i && !regname_cmp(n->kids[i - 1]->name, n->kids[i]->name))
			die("duplicate key name '%s'", n->kids[i]->name);
		write_node(o, n->kids[i], n->off, 0);
		size_t l;
		int c;
		free(name_bytes(n->kids[i]->name, &l, &c));
		l = c ? l * 2 : l;
		if (l > max_sub)
			max_sub = l;
	}
	uint32_t list = n->nkids ? write_list(o, n->kids, n->nkids) : 0xffffffffu;
	uint32_t vlist = 0xffffffffu;
	if (n->nvals) {
		uint32_t *vo = xrealloc(NULL, n->nvals * sizeof *vo);
		for (size_t i = 0; i < n->nvals; i++) {
			size_t l;
			vo[i] = write_vk(o, &n->vals[i], &l);
			if (l > max_vname)
				max_vname = l;
			if (n->vals[i].len > max_vdata)
				max_vdata = n->vals[i].len;
		}
		vlist = cell(o, 4 * n->nvals);
		for (size_t i = 0; i < n->nvals; i++)
			put32(o->b + vlist + 4 + 4 * i, vo[i]);
		free(vo);
	}
	uint8_t *p = o->b + n->off + 4;
	memcpy(p, "nk", 2);
	put16(p + 2, (is_root ? 0x2c : 0) | (comp ? 0x20 : 0));
	put64(p + 4, FIXED_FILETIME);
	put32(p + 16, is_root ? 0 : parent);
	put32(p + 20, (uint32_t)n->nkids);
	put32(p + 28, list);
	put32(p + 32, 0xffffffffu);
	put32(p + 36, (uint32_t)n->nvals);
	put32(p + 40, vlist);
	put32(p + 44, o->sk);
	put32(p + 48, 0xffffffffu);
	put32(p + 52, (uint32_t)max_sub);
	put32(p + 60, (uint32_t)max_vname);
	put32(p + 64, (uint32_t)max_vdata);
	put16(p + 72, (uint32_t)nl);
	memcpy(p + 76, nb, nl);
	free(nb);
}

static uint32_t seq1 = 1, seq2 = 1; /* --sequence: unequal makes a dirty hive */

static void write_hive(struct node *root, const char *path, const char *fname)
{
	struct out o = {0};
	open_bin(&o);
	write_node(&o, root, 0, 1);
	close_bin(&o);
	put32(o.b + o.sk + 4 + 12, o.nkeys); /* sk reference count */

	uint8_t base[4096] = {0};
	memcpy(base, "regf", 4);
	put32(base + 4, seq1);
	put32(base + 8, seq2);
	put64(base + 12, FIXED_FILETIME);
	put32(base + 20, 1); /* major */
	put32(base + 24, 3); /* minor: 1.3, the XP/2003 format */
	put32(base + 28, 0); /* primary file */
	put32(base + 32, 1); /* direct memory load */
	put32(base + 36, root->off);
	put32(base + 40, (uint32_t)o.len);
	put32(base + 44, 1); /* clustering factor */
	size_t fl;
	uint8_t *fn = utf16le(fname, &fl, 0);
	memcpy(base + 48, fn, fl > 64 ? 64 : fl);
	free(fn);
	uint32_t x = 0;
	for (int i = 0; i < 127; i++)
		x ^= (uint32_t)base[4 * i] | base[4 * i + 1] << 8 | base[4 * i + 2] << 16 |
		     (uint32_t)base[4 * i + 3] << 24;
	if (x == 0xffffffffu)
		x = 0xfffffffeu;
	if (x == 0)
		x = 1;
	put32(base + 508, x);

	FILE *f = fopen(path, "wb");
	if (!f || fwrite(base, 1, sizeof base, f) != sizeof base ||
	    fwrite(o.b, 1, o.len, f) != o.len || fclose(f) != 0)
		die("%s: cannot write: %s", path, strerror(errno));
	free(o.b);
}

/* ---- merging into an existing hive through hivex ---- */

static void merge(hive_h *h, hive_node_h hn, struct node *n)
{
	for (size_t i = 0; i < n->nvals; i++) {
		hive_set_value sv = {n->vals[i].name, n->vals[i].type, n->vals[i].len,
				     (char *)n->vals[i].data};
		if (hivex_node_set_value(h, hn, &sv, 0) == -1)
			die("hivex_node_set_value %s: %s", n->vals[i].name, strerror(errno));
	}
	for (size_t i = 0; i < n->nkids; i++) {
		hive_node_h c = hivex_node_get_child(h, hn, n->kids[i]->name);
		if (!c)
			c = hivex_node_add_child(h, hn, n->kids[i]->name);
		if (!c)
			die("hivex_node_add_child %s: %s", n->kids[i]->name, strerror(errno));
		merge(h, c, n->kids[i]);
	}
}

static void merge_into(struct node *root, const char *base, const char *out)
{
	hive_h *h = hivex_open(base, HIVEX_OPEN_WRITE);
	if (!h)
		die("%s: hivex_open: %s", base, strerror(errno));
	merge(h, hivex_root(h), root);
	if (hivex_commit(h, out, 0) == -1)
		die("%s: hivex_commit: %s", out, strerror(errno));
	hivex_close(h);
}

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	for (size_t i = 0; i < n->nvals; i++) {
		free(n->vals[i].name);
		free(n->vals[i].data);
	}
	free(n->kids);
	free(n->vals);
	free(n->name);
	free(n);
}

int main(int argc, char **argv)
{
	const char *out = NULL, *base = NULL, *prefix = NULL, *rootname = "$$$PROTO.HIV";
	const char *fname = "";
	int i;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			die("%s needs an argument", a);
		if (!strcmp(a, "-o"))
			out = argv[++i];
		else if (!strcmp(a, "--base"))
			base = argv[++i];
		else if (!strcmp(a, "--prefix"))
			prefix = argv[++i];
		else if (!strcmp(a, "--root-name"))
			rootname = argv[++i];
		else if (!strcmp(a, "--file-name"))
			fname = argv[++i];
		else if (!strcmp(a, "--sequence")) {
			if (sscanf(argv[++i], "%u:%u", &seq1, &seq2) != 2)
				die("--sequence takes PRIMARY:SECONDARY");
		} else
			die("unknown option %s\nusage: mkhive -o OUT [--base HIVE] [--prefix PFX] "
			    "[--root-name NAME] [--file-name NAME] [--sequence N:M] [FILE.reg|- "
			    "...]",
			    a);
	}
	if (!out)
		die("-o OUT is required");
	struct parser ps = {.prefix = prefix, .root = node_new(rootname)};
	for (; i < argc; i++) {
		FILE *f = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;
		if (!f)
			die("%s: %s", argv[i], strerror(errno));
		ps.file = argv[i];
		ps.cur = NULL;
		parse_file(&ps, f);
		if (f != stdin)
			fclose(f);
	}
	if (base)
		merge_into(ps.root, base, out);
	else
		write_hive(ps.root, out, fname);
	node_free(ps.root);
	free(table);
	return 0;
}
