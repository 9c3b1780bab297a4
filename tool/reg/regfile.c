/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regfile: a .reg file parsed into operations (see regfile.h). */
#include "reg/regfile.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>

static const struct {
	const char *name, *alias;
	enum regroot root;
} roots[] = {{"HKEY_LOCAL_MACHINE", "HKLM", REGROOT_HKLM},
	     {"HKEY_CLASSES_ROOT", "HKCR", REGROOT_HKCR},
	     {"HKEY_CURRENT_USER", "HKCU", REGROOT_HKCU},
	     {"HKEY_USERS", "HKU", REGROOT_HKU},
	     {"HKEY_CURRENT_CONFIG", "HKCC", REGROOT_HKCC}};

const char *regroot_name(enum regroot r)
{
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
		if (roots[i].root == r)
			return roots[i].name;
	return "?";
}

int regfile_root(const char *key, enum regroot *root, const char **rest)
{
	const char *slash = strchr(key, '\\');
	size_t rl = slash ? (size_t)(slash - key) : strlen(key);
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
		if ((strlen(roots[i].name) == rl && !strncasecmp(key, roots[i].name, rl)) ||
		    (strlen(roots[i].alias) == rl && !strncasecmp(key, roots[i].alias, rl))) {
			*root = roots[i].root;
			*rest = slash ? slash + 1 : "";
			return 0;
		}
	return -1;
}

/* Converts len bytes from one encoding to another with iconv; NULL when
 * they are not valid in from. */
static char *convert(const char *to, const char *from, const uint8_t *p, size_t len, size_t *outlen)
{
	iconv_t cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return NULL;
	size_t cap = len * 2 + 16, left = cap;
	char *out = xmalloc(cap), *o = out;
	char *in = (char *)p;
	size_t inleft = len;
	while (inleft) {
		if (iconv(cd, &in, &inleft, &o, &left) != (size_t)-1)
			continue;
		if (errno != E2BIG) {
			free(out);
			iconv_close(cd);
			return NULL;
		}
		size_t used = (size_t)(o - out);
		cap *= 2;
		out = xrealloc(out, cap);
		o = out + used;
		left = cap - used;
	}
	iconv_close(cd);
	*outlen = (size_t)(o - out);
	out = xrealloc(out, *outlen + 2);
	out[*outlen] = out[*outlen + 1] = 0;
	return out;
}

/* The file as UTF-8 text: UTF-16LE with a BOM as regedit saves it, UTF-8
 * with or without one, or Windows-1252 for REGEDIT4. */
static char *as_utf8(const uint8_t *p, size_t len, int *ansi)
{
	size_t n;
	*ansi = 0;
	if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
		return convert("UTF-8", "UTF-16LE", p + 2, len - 2, &n);
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		p += 3, len -= 3;
	if (len >= 8 && !memcmp(p, "REGEDIT4", 8)) {
		*ansi = 1;
		return convert("UTF-8", "WINDOWS-1252", p, len, &n);
	}
	char *s = convert("UTF-8", "UTF-8", p, len, &n); /* validates it */
	if (s && strlen(s) != n) {			 /* a NUL inside */
		free(s);
		return NULL;
	}
	return s;
}

struct parser {
	const char *file;
	struct regpatch *out;
	int ansi;     /* REGEDIT4: hex(1), hex(2), hex(7) data are ANSI bytes */
	int have_key; /* a [KEY] line came */
	enum regroot root;
	char *key;
	unsigned line, col; /* where the line (and what is wrong in it) starts */
	struct err *e;
};

static int bad(struct parser *ps, const char *what, const char *text)
{
	CLEANUP_FREE char *shown = esc(text);
	if (strlen(shown) > 60)
		strcpy(shown + 57, "...");
	return fail(ps->e, "bad-reg", "%s line %u, column %u: %s (%s). Nothing was changed",
		    ps->file, ps->line, ps->col ? ps->col : 1, what, shown);
}

static void add(struct parser *ps, enum regop_kind kind, char *name, uint32_t type, uint8_t *data,
		size_t len)
{
	struct regpatch *rp = ps->out;
	rp->v = xrealloc(rp->v, (rp->n + 1) * sizeof *rp->v);
	rp->v[rp->n++] =
	    (struct regop){kind, ps->root, xstrdup(ps->key), name, type, data, len, ps->line};
}

/* [KEY] or [-KEY]: the root, then the path below it (empty parts and a
 * trailing backslash are refused, as regedit refuses them). */
static int key_line(struct parser *ps, char *s)
{
	char *end = strrchr(s, ']');
	if (!end || end[1])
		return bad(ps, "a key line must end with ']'", s);
	*end = 0;
	char *k = s + 1;
	int del = *k == '-';
	if (del)
		k++;
	const char *path;
	if (regfile_root(k, &ps->root, &path) == -1)
		return bad(ps,
			   "the key does not start with HKEY_LOCAL_MACHINE, "
			   "HKEY_CLASSES_ROOT, HKEY_CURRENT_USER, HKEY_USERS or "
			   "HKEY_CURRENT_CONFIG",
			   k);
	if (strchr(k, '\\') && (!*path || strstr(path, "\\\\") || path[strlen(path) - 1] == '\\'))
		return bad(ps, "the key has an empty name in its path", k);
	free(ps->key);
	ps->key = xstrdup(path);
	ps->have_key = 1;
	add(ps, del ? REGOP_DELETE_KEY : REGOP_KEY, NULL, 0, NULL, 0);
	if (del) { /* values after [-KEY] belong to no key */
		ps->have_key = 0;
	}
	return 0;
}

/* A quoted string with \" and \\ (regedit's only escapes); *pp is past the
 * opening quote and ends past the closing one.  NULL when it does not end. */
static char *quoted(char **pp)
{
	char *p = *pp, *out = xmalloc(strlen(p) + 1), *o = out;
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		*o++ = *p;
	}
	*o = 0;
	if (*p != '"') {
		free(out);
		return NULL;
	}
	*pp = p + 1;
	return out;
}

static uint8_t *utf16z(const char *s, size_t *len)
{
	size_t n;
	char *u = convert("UTF-16LE", "UTF-8", (const uint8_t *)s, strlen(s), &n);
	if (!u)
		return NULL;
	u = xrealloc(u, n + 2);
	u[n] = u[n + 1] = 0;
	*len = n + 2;
	return (uint8_t *)u;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* "aa,bb,cc": bytes, with blanks around the commas; "" for none. */
static int hex_bytes(const char *s, uint8_t **data, size_t *len)
{
	size_t cap = strlen(s) / 2 + 1, n = 0;
	uint8_t *d = xmalloc(cap);
	while (*s == ' ' || *s == '\t')
		s++;
	while (*s) {
		int hi = hexval((unsigned char)s[0]),
		    lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
		if (hi < 0) {
			free(d);
			return -1;
		}
		if (lo < 0) { /* a single digit, as regedit accepts */
			d[n++] = (uint8_t)hi;
			s++;
		} else {
			d[n++] = (uint8_t)(hi << 4 | lo);
			s += 2;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == ',') {
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (!*s) { /* a trailing comma */
				free(d);
				return -1;
			}
		} else if (*s) {
			free(d);
			return -1;
		}
	}
	*data = d;
	*len = n;
	return 0;
}

/* "name"=data or @=data, with its continuation lines joined. */
static int value_line(struct parser *ps, char *s)
{
	char *p = s, *name;
	if (*p == '@') {
		name = xstrdup("");
		p++;
	} else {
		p++;
		name = quoted(&p);
		if (!name)
			return bad(ps, "the value's name has no closing quote", s);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=') {
		free(name);
		return bad(ps, "a value line is \"name\"=data or @=data", s);
	}
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	ps->col = (unsigned)(p - s) + 1; /* the data's */
	if (!ps->have_key) {
		free(name);
		return bad(ps, "a value before any [KEY] line, or after a [-KEY] line", s);
	}
	/* trailing blanks are no part of any data */
	for (size_t n = strlen(p); n && (p[n - 1] == ' ' || p[n - 1] == '\t'); n--)
		p[n - 1] = 0;
	uint8_t *data = NULL;
	size_t len = 0;
	uint32_t type;
	if (STREQ(p, "-")) {
		add(ps, REGOP_DELETE_VALUE, name, 0, NULL, 0);
		return 0;
	}
	if (*p == '"') {
		p++;
		char *str = quoted(&p);
		if (!str || *p) {
			free(str);
			free(name);
			return bad(ps, "a string value must be one quoted string", s);
		}
		data = utf16z(str, &len);
		free(str);
		type = 1; /* REG_SZ */
	} else if (!strncasecmp(p, "dword:", 6)) {
		const char *h = p + 6;
		size_t n = strlen(h);
		uint32_t v = 0;
		int ok = n >= 1 && n <= 8;
		for (size_t i = 0; ok && i < n; i++)
			ok = hexval((unsigned char)h[i]) >= 0,
			v = v << 4 | (uint32_t)hexval((unsigned char)h[i]);
		if (!ok) {
			free(name);
			return bad(ps, "dword: takes one to eight hex digits", s);
		}
		data = xmalloc(4);
		for (int i = 0; i < 4; i++)
			data[i] = (uint8_t)(v >> (8 * i));
		len = 4;
		type = 4; /* REG_DWORD */
	} else if (!strncasecmp(p, "hex", 3)) {
		const char *h = p + 3;
		type = 3; /* REG_BINARY */
		if (*h == '(') {
			char *close = strchr(h, ')');
			unsigned long long t = 0;
			int ok = close && close > h + 1 && close - h - 1 <= 8;
			for (const char *c = h + 1; ok && c < close; c++)
				ok = hexval((unsigned char)*c) >= 0,
				t = t << 4 | (unsigned)hexval((unsigned char)*c);
			if (!ok) {
				free(name);
				return bad(ps, "hex(N): takes a type number in hex", s);
			}
			type = (uint32_t)t;
			h = close + 1;
		}
		if (*h != ':' || hex_bytes(h + 1, &data, &len) == -1) {
			free(name);
			return bad(ps, "hex data is bytes of two hex digits separated by commas",
				   s);
		}
		if (ps->ansi && (type == 1 || type == 2 || type == 7)) {
			/* REGEDIT4 wrote these strings in the ANSI code page */
			size_t n;
			char *u8 = convert("UTF-8", "WINDOWS-1252", data, len, &n);
			uint8_t *u16 =
			    u8 ? (uint8_t *)convert("UTF-16LE", "UTF-8", (uint8_t *)u8, n, &len)
			       : NULL;
			free(u8);
			free(data);
			if (!u16) {
				free(name);
				return bad(ps, "the string's bytes are not Windows-1252", s);
			}
			data = u16;
		}
	} else {
		free(name);
		return bad(ps, "the data is none of \"string\", -, dword:, hex: or hex(N):", s);
	}
	if (!data) {
		free(name);
		return bad(ps, "the string is not valid text", s);
	}
	add(ps, REGOP_VALUE, name, type, data, len);
	return 0;
}

int regfile_parse(const char *file, const uint8_t *p, size_t len, struct regpatch *out,
		  struct err *e)
{
	memset(out, 0, sizeof *out);
	out->file = xstrdup(file);
	if (len > REGFILE_MAX_BYTES)
		return regpatch_free(out),
		       fail(e, "bad-reg", "%s: %zu bytes, more than any .reg file nobounce reads",
			    file, len);
	struct parser ps = {.file = file, .out = out, .e = e};
	CLEANUP_FREE char *text = as_utf8(p, len, &ps.ansi);
	if (!text)
		return regpatch_free(out),
		       fail(e, "bad-reg",
			    "%s: is neither UTF-16LE with a byte-order mark (as regedit saves), "
			    "UTF-8, nor REGEDIT4's ANSI text. Nothing was changed",
			    file);
	int r = 0, header = 0;
	CLEANUP_FREE char *joined = NULL;
	unsigned first = 0;
	for (char *line = text, *next; line && r == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		ps.line++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = 0;
		char *s = line;
		if (joined) { /* a continuation: its leading blanks go */
			while (*s == ' ' || *s == '\t')
				s++;
			char *j = xasprintf("%s%s", joined, s);
			free(joined);
			joined = j;
		} else {
			while (*s == ' ' || *s == '\t')
				s++;
			if (!*s || *s == ';')
				continue;
			joined = xstrdup(s);
			first = ps.line;
		}
		size_t jl = strlen(joined);
		if (jl && joined[jl - 1] == '\\' && joined[0] != '[' && next) {
			joined[jl - 1] = 0; /* continued on the next line */
			continue;
		}
		unsigned at = ps.line;
		ps.line = first;
		ps.col = 1;
		if (!header) {
			if (!STREQ(joined, "Windows Registry Editor Version 5.00") &&
			    !STREQ(joined, "REGEDIT4"))
				r = bad(&ps,
					"the first line must be 'Windows Registry Editor "
					"Version 5.00' or 'REGEDIT4'",
					joined);
			header = 1;
		} else if (joined[0] == '[') {
			r = key_line(&ps, joined);
		} else if (joined[0] == '"' || joined[0] == '@') {
			r = value_line(&ps, joined);
		} else {
			r = bad(&ps, "expected [KEY], \"name\"=data, @=data or a ; comment",
				joined);
		}
		ps.line = at;
		free(joined);
		joined = NULL;
	}
	if (r == 0 && !header)
		r = fail(e, "bad-reg",
			 "%s: is empty: no 'Windows Registry Editor Version 5.00' "
			 "line. Nothing was changed",
			 file);
	free(ps.key);
	if (r == -1)
		regpatch_free(out);
	return r;
}

void regpatch_free(struct regpatch *rp)
{
	for (size_t i = 0; i < rp->n; i++) {
		free(rp->v[i].key);
		free(rp->v[i].name);
		free(rp->v[i].data);
	}
	free(rp->v);
	free(rp->file);
	memset(rp, 0, sizeof *rp);
}
