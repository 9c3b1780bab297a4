/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hread: a hive read in place, every offset checked (see hread.h). */
#include "reg/hread.h"
#include "reg/regf.h"
#include "reg/regname.h"

#define REGF_ROOT 0x24 /* the root key's cell, in the base block */
#define NK_COMP_NAME 0x0020
#define VK_COMP_NAME 0x0001
#define VK_INLINE 0x80000000u
#define BIG_SEGMENT 16344 /* data bytes of one big-data segment */

#define NONE 0xffffffffu /* no cell */

enum { BIN_UNREAD, BIN_GOOD, BIN_DAMAGED }; /* hread.scanned */

static int bad(const struct hread *h, struct err *e, uint32_t off, const char *what)
{
	return fail(e, "damaged-hive", "%s: the cell at 0x%x %s. Restore the hive from a backup",
		    h->name, off, what);
}

static int scan_bin(const struct hread *h, uint32_t bin, struct err *e);

/* The bin holding bins offset off, its cells checked the first time one
 * of them is asked for: -1 (and why) when that bin is damaged. */
static int bin_ready(const struct hread *h, uint32_t off, struct err *e)
{
	uint32_t bin = h->bin_of[off / REGF_BLOCK];
	uint8_t *st = &h->scanned[bin / REGF_BLOCK];
	if (*st == BIN_UNREAD)
		*st = scan_bin(h, bin, e) == 0 ? BIN_GOOD : BIN_DAMAGED;
	else if (*st == BIN_DAMAGED)
		scan_bin(h, bin, e); /* again, for the message */
	return *st == BIN_GOOD ? 0 : -1;
}

/* A used cell's data: a pointer and its size (the cell's, less its size
 * field); NULL when off does not name one inside the bins (e says why
 * only when its bin is damaged). */
static const uint8_t *cell(const struct hread *h, uint32_t off, uint32_t *size, struct err *e)
{
	uint64_t at = (uint64_t)REGF_BLOCK + off;
	if (off % 8 || at + 4 > h->end || bin_ready(h, off, e) == -1 ||
	    !(h->starts[off / 64] & (1u << (off / 8 % 8))))
		return NULL;
	int32_t raw = (int32_t)le32(h->p + at);
	if (raw >= 0 || raw == INT32_MIN)
		return NULL; /* free, or no size */
	/* scan_bin saw the cell fit its bin */
	*size = (uint32_t)(-(int64_t)raw) - 4;
	return h->p + at + 4;
}

static const uint8_t *cell_of(const struct hread *h, uint32_t off, uint32_t need, const char *sig,
			      uint32_t *size, struct err *e)
{
	uint32_t n = 0;
	const uint8_t *c = cell(h, off, &n, e);
	if (!c) {
		if (!e->msg)
			bad(h, e, off, "is not a used cell inside the hive bins");
		return NULL;
	}
	if (n < need || (sig && memcmp(c, sig, 2) != 0)) {
		bad(h, e, off, sig ? "is not the record it should be" : "is too short");
		return NULL;
	}
	*size = n;
	return c;
}

int hive_check_bytes(const char *name, const uint8_t *p, size_t len, struct err *e)
{
	static const char repair[] =
	    "Restore it from a backup (system32\\config\\*.sav, repair\\ or RegBack) "
	    "before running nobounce";
	if (len < REGF_BLOCK || memcmp(p, "regf", 4) != 0)
		return fail(e, "damaged-hive", "%s: not a registry hive (no 'regf' base block). %s",
			    name, repair);
	uint32_t x = regf_checksum(p);
	if (x != le32(p + REGF_CHECKSUM))
		return fail(e, "damaged-hive",
			    "%s: the base block checksum is wrong (0x%08x, expected 0x%08x): "
			    "the hive is damaged. %s",
			    name, le32(p + REGF_CHECKSUM), x, repair);
	uint32_t seq1 = le32(p + REGF_SEQ1), seq2 = le32(p + REGF_SEQ2);
	if (seq1 != seq2)
		return fail(e, "dirty-hive",
			    "%s: the hive is dirty (sequence numbers %u and %u differ): Windows "
			    "did not finish writing it. Boot Windows once and shut it down "
			    "cleanly, then run nobounce again; nothing was written",
			    name, seq1, seq2);
	uint32_t major = le32(p + REGF_MAJOR), minor = le32(p + REGF_MINOR),
		 type = le32(p + REGF_TYPE);
	if (major != 1 || minor < 2 || minor > 6)
		return fail(e, "damaged-hive", "%s: unsupported hive format version %u.%u. %s",
			    name, major, minor, repair);
	if (type != 0)
		return fail(e, "damaged-hive",
			    "%s: is a transaction log or alternate file (type %u), not a primary "
			    "hive",
			    name, type);
	uint32_t bins = le32(p + REGF_BINS_SIZE);
	if (bins == 0 || bins % REGF_BLOCK != 0)
		return fail(e, "damaged-hive", "%s: the base block gives a bad size (%u). %s", name,
			    bins, repair);
	if ((uint64_t)bins + REGF_BLOCK > len)
		return fail(e, "damaged-hive",
			    "%s: truncated: the base block says %llu bytes, the file has %zu. %s",
			    name, (unsigned long long)bins + REGF_BLOCK, len, repair);
	/* bytes after the last bin, of any length, are padding or remnant
	 * data (the format specification allows them): kept, never read */
	if (memcmp(p + REGF_BLOCK, "hbin", 4) != 0)
		return fail(e, "damaged-hive", "%s: the first hive bin is missing. %s", name,
			    repair);
	return 0;
}

/* Every bin's header: each one where the one before it ends, and the
 * bins tiling the hive; the cells inside wait for bin_ready. */
static int scan_headers(struct hread *h, struct err *e)
{
	size_t bins = h->end - REGF_BLOCK, pages = bins / REGF_BLOCK;
	h->bin_of = xmalloc(pages * sizeof *h->bin_of);
	h->scanned = xcalloc(pages, 1);
	h->starts = xcalloc(bins / 64 + 1, 1);
	for (size_t bin = 0; bin < bins;) {
		const uint8_t *b = h->p + REGF_BLOCK + bin;
		uint32_t size = le32(b + HBIN_SIZE);
		if (memcmp(b, "hbin", 4) != 0 || le32(b + HBIN_OFFSET) != bin ||
		    size < REGF_BLOCK || size % REGF_BLOCK || size > bins - bin)
			return fail(e, "damaged-hive",
				    "%s: the hive bin at 0x%zx is damaged (its header is not one "
				    "of a bin that fits). Restore the hive from a backup",
				    h->name, bin + REGF_BLOCK);
		for (size_t pg = bin / REGF_BLOCK; pg < (bin + size) / REGF_BLOCK; pg++)
			h->bin_of[pg] = (uint32_t)bin;
		bin += size;
	}
	return 0;
}

/* One bin's cells: each a multiple of 8 bytes, tiling it exactly. */
static int scan_bin(const struct hread *h, uint32_t bin, struct err *e)
{
	uint32_t size = le32(h->p + REGF_BLOCK + bin + HBIN_SIZE);
	for (size_t c = bin + 32; c < (size_t)bin + size;) {
		int32_t raw = (int32_t)le32(h->p + REGF_BLOCK + c);
		uint64_t n = raw < 0 ? (uint64_t)(-(int64_t)raw) : (uint64_t)raw;
		if (n < 8 || n % 8 || n > bin + size - c)
			return fail(e, "damaged-hive",
				    "%s: the cell at 0x%zx has a size (%lld) that does not fit its "
				    "bin. Restore the hive from a backup",
				    h->name, c, (long long)raw);
		h->starts[c / 64] |= (uint8_t)(1u << (c / 8 % 8));
		c += n;
	}
	return 0;
}

int hread_check_bins(const struct hread *h, struct err *e)
{
	for (size_t bin = 0; bin < h->end - REGF_BLOCK;
	     bin += le32(h->p + REGF_BLOCK + bin + HBIN_SIZE))
		if (bin_ready(h, (uint32_t)bin, e) == -1)
			return -1;
	return 0;
}

int hread_open(struct hread *h, const char *name, const uint8_t *p, size_t len, struct err *e)
{
	memset(h, 0, sizeof *h);
	h->name = name;
	if (hive_check_bytes(name, p, len, e) == -1)
		return -1;
	h->p = p;
	/* hive_check_bytes saw the bins fit the file */
	h->end = REGF_BLOCK + (size_t)le32(p + REGF_BINS_SIZE);
	h->root = le32(p + REGF_ROOT);
	h->minor = le32(p + REGF_MINOR);
	struct hr_key k;
	if (scan_headers(h, e) == -1 || hread_key(h, h->root, &k, e) == -1) {
		hread_close(h);
		return -1;
	}
	return 0;
}

void hread_close(struct hread *h)
{
	free(h->starts);
	free(h->bin_of);
	free(h->scanned);
	h->starts = h->scanned = NULL;
	h->bin_of = NULL;
}

int hread_key(const struct hread *h, uint32_t off, struct hr_key *k, struct err *e)
{
	uint32_t n;
	const uint8_t *c = cell_of(h, off, 76, "nk", &n, e);
	if (!c)
		return -1;
	uint16_t flags = le16(c + 2), nlen = le16(c + 72);
	if ((uint32_t)76 + nlen > n)
		return bad(h, e, off, "has a key name longer than its cell");
	*k = (struct hr_key){off,	   {c + 76, nlen, !(flags & NK_COMP_NAME)},
			     le32(c + 20), le32(c + 28),
			     le32(c + 36), le32(c + 40),
			     le32(c + 44), le32(c + 48),
			     le16(c + 74)};
	if (k->name.wide && nlen % 2)
		return bad(h, e, off, "has a UTF-16 key name of an odd length");
	return 0;
}

/* Appends one leaf list's keys (lf, lh, li); depth 1 allows an index root. */
static int leaf(const struct hread *h, uint32_t off, int root_ok, uint32_t **out, size_t *n,
		size_t *cap, struct err *e)
{
	uint32_t size;
	const uint8_t *c = cell_of(h, off, 4, NULL, &size, e);
	if (!c)
		return -1;
	uint32_t count = le16(c + 2);
	int ri = !memcmp(c, "ri", 2), li = !memcmp(c, "li", 2);
	int hashed = !memcmp(c, "lf", 2) || !memcmp(c, "lh", 2);
	if (!ri && !li && !hashed)
		return bad(h, e, off, "is not a subkey list (lf, lh, li or ri)");
	if (ri && !root_ok)
		return bad(h, e, off, "is an index root inside an index root");
	uint32_t step = hashed ? 8 : 4;
	if (4 + (uint64_t)count * step > size)
		return bad(h, e, off, "lists more subkeys than it holds");
	for (uint32_t i = 0; i < count; i++) {
		uint32_t sub = le32(c + 4 + i * step);
		if (ri) {
			if (leaf(h, sub, 0, out, n, cap, e) == -1)
				return -1;
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*out = xrealloc(*out, *cap * sizeof **out);
		}
		(*out)[(*n)++] = sub;
	}
	return 0;
}

int hread_subkeys(const struct hread *h, const struct hr_key *k, uint32_t **out, size_t *n,
		  struct err *e)
{
	*out = NULL;
	*n = 0;
	if (!k->nsubkeys)
		return 0;
	size_t cap = 0;
	if (leaf(h, k->subkeys, 1, out, n, &cap, e) == -1 || *n != k->nsubkeys) {
		if (!e->msg)
			bad(h, e, k->off,
			    "says it has another number of subkeys than its list holds");
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int hread_values(const struct hread *h, const struct hr_key *k, const uint8_t **list, struct err *e)
{
	*list = NULL;
	if (!k->nvalues)
		return 0;
	uint32_t size;
	const uint8_t *c = cell_of(h, k->values, 0, NULL, &size, e);
	if (!c)
		return -1;
	if ((uint64_t)k->nvalues * 4 > size)
		return bad(h, e, k->values, "holds fewer values than its key says");
	*list = c;
	return 0;
}

int hread_value(const struct hread *h, uint32_t off, struct hr_val *v, struct err *e)
{
	uint32_t n;
	const uint8_t *c = cell_of(h, off, 20, "vk", &n, e);
	if (!c)
		return -1;
	uint16_t nlen = le16(c + 2), flags = le16(c + 16);
	uint32_t len = le32(c + 4), at = le32(c + 8);
	if ((uint32_t)20 + nlen > n)
		return bad(h, e, off, "has a value name longer than its cell");
	*v =
	    (struct hr_val){off, {c + 20, nlen, !(flags & VK_COMP_NAME)}, le32(c + 12), 0, NULL, 0};
	if (v->name.wide && nlen % 2)
		return bad(h, e, off, "has a UTF-16 value name of an odd length");
	if (len & VK_INLINE) { /* in the record itself */
		v->len = len & ~VK_INLINE;
		if (v->len > 4)
			return bad(h, e, off, "says more than 4 bytes of data lie in it");
		v->data = c + 8;
		return 0;
	}
	v->len = len;
	if (!len)
		return 0;
	uint32_t size;
	const uint8_t *d = cell_of(h, at, 0, NULL, &size, e);
	if (!d)
		return -1;
	if (len > BIG_SEGMENT && h->minor >= 4 && size >= 8 && !memcmp(d, "db", 2)) {
		v->big = at;
		return 0;
	}
	if (size < len)
		return bad(h, e, at, "holds less data than its value says");
	v->data = d;
	return 0;
}

/* A big value's segments, checked, and joined into out when it is not
 * NULL. */
static int segments(const struct hread *h, const struct hr_val *v, uint8_t *out, struct err *e)
{
	uint32_t size;
	const uint8_t *db = cell_of(h, v->big, 8, "db", &size, e);
	if (!db)
		return -1;
	uint32_t nseg = le16(db + 2), list = le32(db + 4);
	if ((uint64_t)nseg * BIG_SEGMENT < v->len || (uint64_t)(nseg - 1) * BIG_SEGMENT >= v->len)
		return bad(h, e, v->big, "has a number of segments that does not fit its data");
	uint32_t lsize;
	const uint8_t *segs = cell_of(h, list, 0, NULL, &lsize, e);
	if (!segs)
		return -1;
	if ((uint64_t)nseg * 4 > lsize)
		return bad(h, e, list, "lists fewer segments than its big-data record says");
	for (uint32_t i = 0, got = 0; i < nseg; i++) {
		uint32_t want = v->len - got < BIG_SEGMENT ? v->len - got : BIG_SEGMENT, ssize;
		const uint8_t *sg = cell_of(h, le32(segs + 4 * i), want, NULL, &ssize, e);
		if (!sg)
			return -1;
		if (out)
			memcpy(out + got, sg, want);
		got += want;
	}
	return 0;
}

int hread_data(const struct hread *h, const struct hr_val *v, const uint8_t **data, uint8_t **copy,
	       struct err *e)
{
	*copy = NULL;
	*data = v->data;
	if (!v->big)
		return 0;
	uint8_t *out = xmalloc(v->len);
	if (segments(h, v, out, e) == -1) {
		free(out);
		return -1;
	}
	*data = *copy = out;
	return 0;
}

/* ---- names ---- */

static uint32_t upcase(uint32_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7))
		return c - 0x20;
	return c;
}

/* The next character of a stored name, advancing *i. */
static uint32_t name_next(const struct hr_name *n, size_t *i)
{
	if (!n->wide)
		return n->p[(*i)++];
	uint32_t c = le16(n->p + *i);
	*i += 2;
	if (c >= 0xd800 && c < 0xdc00 && *i + 2 <= n->len) {
		uint32_t lo = le16(n->p + *i);
		if (lo >= 0xdc00 && lo < 0xe000) {
			*i += 2;
			return 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
		}
	}
	return c;
}

int hread_name_eq(const struct hr_name *n, const char *utf8)
{
	const unsigned char *q = (const unsigned char *)utf8;
	size_t i = 0;
	if (!n->wide) { /* the fast path: a byte a character */
		for (; i < n->len && *q && *q < 0x80; i++, q++)
			if (n->p[i] != *q && upcase(n->p[i]) != upcase(*q))
				return 0;
		if (i == n->len || !*q)
			return i == n->len && !*q;
	}
	while (i < n->len && *q)
		if (upcase(name_next(n, &i)) != upcase(regname_next(&q)))
			return 0;
	return i >= n->len && !*q;
}

char *hread_name_utf8(const struct hr_name *n)
{
	char *out = xmalloc(n->len * 3 + 1), *o = out;
	for (size_t i = 0; i < n->len;) {
		uint32_t c = name_next(n, &i);
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd;
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | c >> 6);
			*o++ = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			*o++ = (char)(0xe0 | c >> 12);
			*o++ = (char)(0x80 | (c >> 6 & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xf0 | c >> 18);
			*o++ = (char)(0x80 | (c >> 12 & 0x3f));
			*o++ = (char)(0x80 | (c >> 6 & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = 0;
	return out;
}

char *hive_text(const uint8_t *p, size_t len)
{
	size_t n = 0;
	while (n + 1 < len && (p[n] || p[n + 1]))
		n += 2;
	struct hr_name text = {p, n, 1};
	return hread_name_utf8(&text);
}

/* ---- lookups ---- */

uint32_t hread_child(const struct hread *h, const struct hr_key *k, const char *name, struct err *e)
{
	uint32_t *subs;
	size_t n;
	if (hread_subkeys(h, k, &subs, &n, e) == -1)
		return 0;
	uint32_t found = 0;
	for (size_t i = 0; i < n && !found; i++) {
		struct hr_key s;
		if (hread_key(h, subs[i], &s, e) == -1)
			break;
		if (hread_name_eq(&s.name, name))
			found = subs[i];
	}
	free(subs);
	return found;
}

uint32_t hread_path(const struct hread *h, uint32_t from, const char *path, struct err *e)
{
	uint32_t at = from ? from : h->root;
	CLEANUP_FREE char *copy = xstrdup(path);
	char *save = NULL;
	for (char *c = strtok_r(copy, "\\", &save); c && at; c = strtok_r(NULL, "\\", &save)) {
		struct hr_key k;
		at = hread_key(h, at, &k, e) == 0 ? hread_child(h, &k, c, e) : 0;
	}
	return at;
}

uint32_t hread_value_named(const struct hread *h, const struct hr_key *k, const char *name,
			   struct err *e)
{
	const uint8_t *list;
	if (hread_values(h, k, &list, e) == -1)
		return 0;
	for (uint32_t i = 0; i < k->nvalues; i++) {
		struct hr_val v;
		if (hread_value(h, hread_value_at(list, i), &v, e) == -1)
			return 0;
		if (hread_name_eq(&v.name, name))
			return v.off;
	}
	return 0;
}

char *hread_string(const struct hread *h, uint32_t key, const char *name)
{
	struct err e = {0};
	struct hr_key k;
	struct hr_val v;
	const uint8_t *d;
	uint8_t *copy = NULL;
	char *s = NULL;
	uint32_t off =
	    key && hread_key(h, key, &k, &e) == 0 ? hread_value_named(h, &k, name, &e) : 0;
	if (off && hread_value(h, off, &v, &e) == 0 && (v.type == 1 || v.type == 2) &&
	    hread_data(h, &v, &d, &copy, &e) == 0) {
		s = hive_text(d, v.len);
	}
	free(copy);
	err_clear(&e);
	return s;
}

int hread_ordered(const struct hread *h, uint32_t key, struct err *e)
{
	struct hr_key k;
	uint32_t *subs;
	size_t n;
	if (hread_key(h, key, &k, e) == -1 || hread_subkeys(h, &k, &subs, &n, e) == -1)
		return -1;
	int r = 0;
	char *prev = NULL;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct hr_key s;
		if ((r = hread_key(h, subs[i], &s, e)) == -1)
			break;
		char *name = hread_name_utf8(&s.name);
		if (prev && regname_cmp(prev, name) >= 0)
			r = fail(e, "verify-failed",
				 "%s: subkeys '%s' and '%s' would be out of Windows' order after "
				 "the edit (a hivex limitation); nothing was written",
				 h->name, prev, name);
		free(prev);
		prev = name;
	}
	free(prev);
	free(subs);
	return r;
}

/* ---- the whole tree ---- */

/* A key's own cells besides its lists: its security record, and its
 * class name when it has one (none: 0xffffffff). */
static int key_cells(const struct hread *h, const struct hr_key *k, struct err *e)
{
	uint32_t n;
	if (k->security != NONE && !cell_of(h, k->security, 20, "sk", &n, e))
		return -1;
	if (k->class_len && k->class_off != NONE &&
	    !cell_of(h, k->class_off, k->class_len, NULL, &n, e))
		return -1;
	return 0;
}

int hread_walk(const struct hread *h, struct err *e)
{
	if (hread_check_bins(h, e) == -1)
		return -1;
	size_t nbits = h->end / 8 + 1;
	uint8_t *seen = xcalloc(nbits / 8 + 1, 1);
	struct frame {
		uint32_t off;
		unsigned depth;
	};
	size_t cap = 1024, sp = 0;
	struct frame *stack = xmalloc(cap * sizeof *stack);
	stack[sp++] = (struct frame){h->root, 0};
	int r = 0;
	while (sp && r == 0) {
		struct frame f = stack[--sp];
		size_t bit = f.off / 8;
		struct hr_key k;
		if (bit >= nbits || (seen[bit / 8] & (1u << (bit % 8)))) {
			r = fail(e, "damaged-hive",
				 "%s: the key at 0x%x is reached twice: the hive's key tree has a "
				 "cycle. Restore it from a backup",
				 h->name, f.off);
			break;
		}
		seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
		if (f.depth > HIVE_MAX_DEPTH) {
			r = fail(e, "damaged-hive", "%s: keys nested deeper than %d levels",
				 h->name, HIVE_MAX_DEPTH);
			break;
		}
		const uint8_t *list;
		r = hread_key(h, f.off, &k, e) == 0 && key_cells(h, &k, e) == 0
			? hread_values(h, &k, &list, e)
			: -1;
		for (uint32_t i = 0; r == 0 && i < k.nvalues; i++) {
			struct hr_val v;
			r = hread_value(h, hread_value_at(list, i), &v, e);
			if (r == 0 && v.big)
				r = segments(h, &v, NULL, e);
		}
		uint32_t *subs = NULL;
		size_t n = 0;
		if (r == 0)
			r = hread_subkeys(h, &k, &subs, &n, e);
		if (r == 0 && sp + n > cap) {
			cap = (sp + n) * 2;
			stack = xrealloc(stack, cap * sizeof *stack);
		}
		for (size_t i = 0; r == 0 && i < n; i++)
			stack[sp++] = (struct frame){subs[i], f.depth + 1};
		free(subs);
	}
	free(stack);
	free(seen);
	return r;
}

/* ---- a word in the used cells ---- */

typedef uint8_t v16 __attribute__((vector_size(16)));

static v16 load16(const uint8_t *p)
{
	v16 v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Whether word ends just before p + off, in the encoding of unit bytes a
 * character (1: ASCII, 2: UTF-16LE), in any letter case. */
static int word_before(const uint8_t *p, size_t off, const char *word, size_t wl, size_t unit)
{
	if (off < wl * unit)
		return 0;
	const uint8_t *q = p + off - wl * unit;
	for (size_t i = 0; i < wl; i++)
		if (upcase(q[i * unit]) != upcase((uint8_t)word[i]) ||
		    (unit == 2 && q[i * unit + 1] != 0))
			return 0;
	return 1;
}

/* Whether the bytes [at, at + len) of the bins lie inside the data of a
 * used cell: -1 when that cell's bin is damaged. */
static int in_used_cell(const struct hread *h, uint32_t at, uint32_t len)
{
	struct err e = {0};
	int ok = bin_ready(h, at, &e);
	err_clear(&e);
	if (ok == -1)
		return -1;
	uint32_t bin = h->bin_of[at / REGF_BLOCK];
	for (uint32_t c = at & ~7u; c >= bin + 32; c -= 8) {
		if (!(h->starts[c / 64] & (1u << (c / 8 % 8))))
			continue;
		int32_t raw = (int32_t)le32(h->p + REGF_BLOCK + c);
		return raw < 0 && at >= c + 4 &&
		       (uint64_t)at + len <= c + (uint64_t)(-(int64_t)raw);
	}
	return 0;
}

int hread_mentions(const struct hread *h, const char *word)
{
	size_t wl = strlen(word);
	/* the seek looks for the last two characters: letters or digits */
	if (wl < 2)
		return 1;
	for (size_t i = 0; i < wl; i++)
		if (!(word[i] >= 'a' && word[i] <= 'z') && !(word[i] >= '0' && word[i] <= '9'))
			return 1;
	const uint8_t *bins = h->p + REGF_BLOCK;
	size_t len = h->end - REGF_BLOCK;
	/* OR 0x20 lower-cases a letter and keeps a digit; a few other bytes
	 * match as well, and word_before throws them out */
	uint8_t last = (uint8_t)word[wl - 1], prev = (uint8_t)word[wl - 2];
	for (size_t i = 2; i < len; i += 16) {
		uint8_t hits[16];
		size_t n = len - i < 16 ? len - i : 16;
		if (n == 16) {
			v16 at = load16(bins + i) | 0x20, b1 = load16(bins + i - 1) | 0x20,
			    b2 = load16(bins + i - 2) | 0x20;
			v16 m = (v16)((at == last) & ((b1 == prev) | (b2 == prev)));
			uint64_t lo, hi;
			memcpy(&lo, &m, 8);
			memcpy(&hi, (uint8_t *)&m + 8, 8);
			if (!(lo | hi))
				continue;
			memcpy(hits, &m, 16);
		} else {
			for (size_t k = 0; k < n; k++)
				hits[k] = (bins[i + k] | 0x20) == last;
		}
		for (size_t k = 0; k < n; k++) {
			if (!hits[k])
				continue;
			size_t off = i + k;
			for (size_t unit = 1; unit <= 2; unit++) {
				if (!word_before(bins, off, word, wl - 1, unit))
					continue;
				size_t from = off - (wl - 1) * unit;
				int r = in_used_cell(h, (uint32_t)from,
						     (uint32_t)((wl - 1) * unit + 1));
				if (r != 0)
					return 1; /* in a used cell, or only hivex can tell */
			}
		}
	}
	return 0;
}
