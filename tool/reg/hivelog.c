/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hivelog: a dirty hive's transaction logs replayed in memory (see
 * hivelog.h and docs/recovery.md). */
#include "reg/hivelog.h"
#include "reg/regf.h"
#include "vol/vol.h"

#include <stdio.h>

#define LOG_SECTOR 512
#define PAGE 512
#define MAX_BINS ((uint64_t)1 << 30)	  /* as HIVE_MAX_BYTES */
#define MARVIN_SEED 0x82ef4d887a4e55c5ULL /* 14219357686671994754 in the spec, read as bytes */

/* File types in a base block: 1 is the old log format Windows XP and 2003
 * write, 2 the same format as Windows 2000 writes it, 6 the new one. */
enum { TYPE_PRIMARY = 0, TYPE_LOG_OLD = 1, TYPE_LOG_OLD_2000 = 2, TYPE_LOG_NEW = 6 };

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int hivelog_is_dirty(const uint8_t *p, size_t len)
{
	if (len < 512 || memcmp(p, "regf", 4) != 0)
		return 0;
	return le32(p + REGF_SEQ1) != le32(p + REGF_SEQ2) ||
	       regf_checksum(p) != le32(p + REGF_CHECKSUM);
}

/* ---- Marvin32 ---- */

static uint32_t rotl(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void marvin_block(uint32_t *lo, uint32_t *hi)
{
	*hi ^= *lo;
	*lo = rotl(*lo, 20);
	*lo += *hi;
	*hi = rotl(*hi, 9);
	*hi ^= *lo;
	*lo = rotl(*lo, 27);
	*lo += *hi;
	*hi = rotl(*hi, 19);
}

/* Marvin32 with the registry's seed. */
static uint64_t hivelog_marvin32(const uint8_t *p, size_t len)
{
	uint32_t lo = (uint32_t)MARVIN_SEED, hi = (uint32_t)(MARVIN_SEED >> 32);
	for (; len >= 4; p += 4, len -= 4) {
		lo += le32(p);
		marvin_block(&lo, &hi);
	}
	uint32_t last = 0x80;
	if (len == 1)
		last = 0x8000u | p[0];
	else if (len == 2)
		last = 0x800000u | (uint32_t)p[1] << 8 | p[0];
	else if (len == 3)
		last = 0x80000000u | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	lo += last;
	marvin_block(&lo, &hi);
	marvin_block(&lo, &hi);
	return (uint64_t)hi << 32 | lo;
}

/* ---- base blocks ---- */

/* A log's base block (its first sector): valid, of the given type. */
static int log_header_ok(const struct hivelog *l, int type, struct err *e)
{
	const uint8_t *p = l->data.p;
	if (l->data.len < LOG_SECTOR || memcmp(p, "regf", 4) != 0)
		return fail(e, "bad-log", "%s: not a transaction log (no 'regf' header)", l->name);
	if (regf_checksum(p) != le32(p + REGF_CHECKSUM))
		return fail(e, "bad-log", "%s: its header checksum is wrong", l->name);
	if (le32(p + REGF_SEQ1) != le32(p + REGF_SEQ2))
		return fail(e, "bad-log",
			    "%s: its header is itself half-written (sequence numbers %u and %u)",
			    l->name, le32(p + REGF_SEQ1), le32(p + REGF_SEQ2));
	uint32_t t = le32(p + 28);
	if (t != (uint32_t)type && !(type == TYPE_LOG_OLD && t == TYPE_LOG_OLD_2000))
		return fail(e, "bad-log", "%s: a log of type %u, expected %d", l->name, t, type);
	uint32_t bins = le32(p + 40);
	if (bins == 0 || bins % REGF_BLOCK || bins > MAX_BINS)
		return fail(e, "bad-log", "%s: its header gives a bad hive size (%u)", l->name,
			    bins);
	return 0;
}

/* The recovered hive starts as the primary, its base block replaced by the
 * log's when the primary's is damaged, and sized for bins bytes of bins. */
static int start_output(const char *name, const struct buf *primary, const struct hivelog *l,
			uint32_t bins, struct buf *out, struct err *e)
{
	if (primary->len < REGF_BLOCK)
		return fail(e, "damaged-hive", "%s: shorter than a base block", name);
	size_t len = REGF_BLOCK + (size_t)bins;
	size_t have = primary->len < len ? primary->len : len;
	out->p = xcalloc(len, 1);
	out->len = len;
	memcpy(out->p, primary->p, have);
	if (regf_checksum(primary->p) != le32(primary->p + REGF_CHECKSUM))
		memcpy(out->p, l->data.p, LOG_SECTOR); /* the log keeps its first sector */
	return 0;
}

/* Makes the recovered base block clean: a primary file, sequence numbers
 * equal, the size of what the log brought, a right checksum. */
static void finish_base(struct buf *out, uint32_t seq, uint32_t bins)
{
	put32(out->p + 4, seq);
	put32(out->p + 8, seq);
	put32(out->p + 28, TYPE_PRIMARY);
	put32(out->p + 40, bins);
	put32(out->p + REGF_CHECKSUM, regf_checksum(out->p));
}

/* Every hbin header of the bins data is where it says it is, and the bins
 * tile the data exactly. */
static int bins_ok(const struct buf *out)
{
	size_t off = 0, bins = out->len - REGF_BLOCK;
	while (off < bins) {
		const uint8_t *h = out->p + REGF_BLOCK + off;
		uint32_t size = le32(h + HBIN_SIZE);
		if (memcmp(h, "hbin", 4) != 0 || le32(h + HBIN_OFFSET) != off ||
		    size < REGF_BLOCK || size % REGF_BLOCK || size > bins - off)
			return 0;
		off += size;
	}
	return 1;
}

/* ---- old format: base block, dirty vector, dirty pages ---- */

static int recover_old(const char *name, const struct buf *primary, const struct hivelog *l,
		       struct buf *out, struct err *e)
{
	if (log_header_ok(l, TYPE_LOG_OLD, e) == -1)
		return -1;
	const uint8_t *lp = l->data.p;
	/* the log applies to the write that left the primary dirty */
	uint64_t want =
	    regf_checksum(primary->p) == le32(primary->p + REGF_CHECKSUM)
		? le64(primary->p + 12)
		: (primary->len > REGF_BLOCK + 28 ? le64(primary->p + REGF_BLOCK + 20) : 0);
	if (le64(lp + 12) != want)
		return fail(e, "bad-log",
			    "%s: written for another state of the hive (its timestamp differs "
			    "from the hive's)",
			    l->name);
	uint32_t bins = le32(lp + 40);
	size_t bits = bins / PAGE, vec = LOG_SECTOR, map = vec + 4;
	if (l->data.len < map + (bits + 7) / 8 || memcmp(lp + vec, "DIRT", 4) != 0)
		return fail(e, "bad-log", "%s: no dirty vector (truncated?)", l->name);
	size_t pages = (map + (bits + 7) / 8 + LOG_SECTOR - 1) / LOG_SECTOR * LOG_SECTOR;
	if (start_output(name, primary, l, bins, out, e) == -1)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < bits; i++) {
		if (!(lp[map + i / 8] & (1u << (i % 8))))
			continue;
		size_t src = pages + k++ * PAGE;
		if (src + PAGE > l->data.len) {
			buf_free(out);
			return fail(e, "bad-log", "%s: truncated: dirty page %zu is missing",
				    l->name, k);
		}
		memcpy(out->p + REGF_BLOCK + i * PAGE, lp + src, PAGE);
	}
	if (!bins_ok(out)) {
		buf_free(out);
		return fail(e, "bad-log", "%s: its dirty pages do not form valid hive bins",
			    l->name);
	}
	finish_base(out, le32(primary->p + REGF_SEQ1), bins);
	return 0;
}

/* ---- new format: HvLE entries ---- */

struct entry {
	size_t off, size;
	uint32_t seq, bins, count;
};

/* The entry at off when it is one to apply: well formed, its hashes right,
 * numbered seq.  0 otherwise, with why set when something is there that
 * is not such an entry -- where Windows stops replaying. */
static int read_entry(const struct hivelog *l, size_t off, uint32_t seq, struct entry *en,
		      const char **why)
{
	const uint8_t *p = l->data.p + off;
	*why = NULL;
	if (off + 40 > l->data.len || memcmp(p, "HvLE", 4) != 0)
		return 0; /* the end of the entries, or remnants of older ones */
	*en = (struct entry){off, le32(p + 4), le32(p + 12), le32(p + 16), le32(p + 20)};
	if (en->size < 40 || en->size % LOG_SECTOR || en->size > l->data.len - off)
		return *why = "is cut short (its size runs past the end of the log)", 0;
	if (hivelog_marvin32(p + 40, en->size - 40) != le64(p + 24) ||
	    hivelog_marvin32(p, 32) != le64(p + 32))
		return *why = "has a bad hash (a write Windows never finished)", 0;
	if (en->bins == 0 || en->bins % REGF_BLOCK || en->bins > MAX_BINS ||
	    (uint64_t)en->count * 8 > en->size - 40)
		return *why = "is malformed", 0;
	if (en->seq != seq)
		return 0; /* an older entry: the log's sequence ends here */
	size_t data = 40 + (size_t)en->count * 8;
	for (uint32_t i = 0; i < en->count; i++) {
		uint32_t o = le32(p + 40 + 8 * i), size = le32(p + 44 + 8 * i);
		if (size > en->size - data || (uint64_t)o + size > en->bins)
			return *why = "writes outside the hive", 0;
		data += size;
	}
	return 1;
}

static void apply_entry(const struct hivelog *l, const struct entry *en, struct buf *out)
{
	const uint8_t *p = l->data.p + en->off;
	size_t need = REGF_BLOCK + (size_t)en->bins;
	if (need != out->len) { /* the hive grew (or shrank) with this entry */
		out->p = xrealloc(out->p, need);
		if (need > out->len)
			memset(out->p + out->len, 0, need - out->len);
		out->len = need;
	}
	size_t data = 40 + (size_t)en->count * 8;
	for (uint32_t i = 0; i < en->count; i++) {
		uint32_t off = le32(p + 40 + 8 * i), size = le32(p + 44 + 8 * i);
		memcpy(out->p + REGF_BLOCK + off, p + data, size);
		data += size;
	}
}

/* Applies a log's entries from the number in its header on, each the next
 * number, up to the first that is not (Windows' rule).  *last gets the
 * number of the last applied; returns how many were. */
static size_t apply_log(const struct hivelog *l, struct buf *out, uint32_t *last, uint32_t *bins,
			struct strlist *applied)
{
	uint32_t seq = le32(l->data.p + REGF_SEQ1), first = seq;
	size_t n = 0, off = LOG_SECTOR;
	struct entry en;
	const char *why = NULL;
	while (read_entry(l, off, seq, &en, &why) == 1) {
		apply_entry(l, &en, out);
		*bins = en.bins;
		*last = seq++;
		off += en.size;
		n++;
	}
	if (applied && n)
		strlist_add(applied, xasprintf("%s: entries %u to %u", l->name, first, *last));
	if (applied && why)
		strlist_add(applied, xasprintf("%s: the entry at %zu (sequence %u) %s: replay "
					       "stopped before it, as Windows stops",
					       l->name, off, seq, why));
	return n;
}

/* Whether sequence number a comes before b, across a wrap of the 32 bits. */
static int seq_before(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) <= 0x7fffffffu;
}

/* New-format recovery, as Windows does it (and the registry format
 * specification and yarp describe it): of the logs whose base block is
 * sound, the one with the lower sequence number in its header goes first;
 * a log applies only when that number is not below the hive's secondary
 * number; its entries apply from that number on; the other log follows
 * when it continues the sequence.  When the hive's own base block is
 * damaged, it comes from the newer log, whose entries alone apply. */
static int recover_new(const char *name, const struct buf *primary, const struct hivelog *logs,
		       size_t nlogs, struct buf *out, struct strlist *applied, struct err *e)
{
	const struct hivelog *c[2];
	size_t nc = 0;
	for (size_t i = 0; i < nlogs && nc < 2; i++) {
		struct err le = {0};
		if (logs[i].data.len && log_header_ok(&logs[i], TYPE_LOG_NEW, &le) == 0)
			c[nc++] = &logs[i];
		else if (logs[i].data.len)
			note("%s", le.msg);
		err_clear(&le);
	}
	if (!nc)
		return fail(e, "bad-log", "%s: no valid transaction log beside it", name);
	if (nc == 2 && seq_before(le32(c[1]->data.p + REGF_SEQ1), le32(c[0]->data.p + REGF_SEQ1))) {
		const struct hivelog *t = c[0]; /* the log whose sequence starts first */
		c[0] = c[1];
		c[1] = t;
	}
	int sound = regf_checksum(primary->p) == le32(primary->p + REGF_CHECKSUM);
	uint32_t secondary = le32(primary->p + REGF_SEQ2), last = 0,
		 bins = le32(primary->p + REGF_BINS_SIZE);
	size_t first = sound ? 0 : nc - 1, done = 0;
	while (first < nc && sound && seq_before(le32(c[first]->data.p + REGF_SEQ1), secondary)) {
		if (applied)
			strlist_add(
			    applied,
			    xasprintf("%s: ignored: its entries (from %u) are older than the "
				      "hive (%u)",
				      c[first]->name, le32(c[first]->data.p + REGF_SEQ1),
				      secondary));
		first++;
	}
	if (first < nc && start_output(name, primary, c[first], bins, out, e) == -1)
		return -1;
	if (first < nc)
		done = apply_log(c[first], out, &last, &bins, applied);
	if (done && first + 1 < nc && le32(c[first + 1]->data.p + REGF_SEQ1) == last + 1)
		done += apply_log(c[first + 1], out, &last, &bins, applied);
	if (!done) {
		buf_free(out);
		return fail(e, "bad-log",
			    "%s: its transaction logs hold no entry that continues it (the hive's "
			    "sequence number is %u)",
			    name, secondary);
	}
	if (!bins_ok(out)) {
		buf_free(out);
		return fail(e, "bad-log", "%s: after the logs, the hive bins are not consistent",
			    name);
	}
	finish_base(out, last, bins);
	return 0;
}

int hivelog_recover(const char *name, const struct buf *primary, const struct hivelog *logs,
		    size_t nlogs, struct buf *out, struct strlist *applied, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (primary->len < REGF_BLOCK || memcmp(primary->p, "regf", 4) != 0)
		return fail(e, "damaged-hive", "%s: not a registry hive", name);
	/* the logs' own headers say which format they are */
	int new_format = 0;
	for (size_t i = 0; i < nlogs; i++)
		if (logs[i].data.len >= 32 && le32(logs[i].data.p + 28) == TYPE_LOG_NEW)
			new_format = 1;
	if (new_format)
		return recover_new(name, primary, logs, nlogs, out, applied, e);
	struct err first = {0};
	for (size_t i = 0; i < nlogs; i++) {
		if (!logs[i].data.len)
			continue;
		struct err le = {0};
		if (recover_old(name, primary, &logs[i], out, &le) == 0) {
			err_clear(&first);
			if (applied)
				strlist_add(applied,
					    xasprintf("%s: dirty pages applied", logs[i].name));
			return 0;
		}
		if (!first.msg)
			first = le;
		else
			err_clear(&le);
	}
	if (first.msg) {
		fail(e, first.kind, "%s", first.msg);
		err_clear(&first);
		return -1;
	}
	return fail(e, "bad-log", "%s: dirty, and no transaction log beside it", name);
}

/* ---- the logs beside a hive on a volume ---- */

/* a log is never larger than its hive can be */
#define LOG_MAX_BYTES ((size_t)1 << 30)

int hivelog_read_beside(struct vol *v, const char *hive, struct hivelog **logs, size_t *n,
			struct strlist *paths, struct err *e)
{
	static const char *const suffixes[] = {".LOG", ".LOG1", ".LOG2"};
	*logs = NULL;
	*n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		CLEANUP_FREE char *want = xasprintf("%s%s", hive, suffixes[i]);
		char *real = NULL;
		int kind = 0;
		int r = vol_resolve(v, want, &real, &kind, e);
		if (r == -1)
			return -1;
		if (!r || kind != VOL_FILE) {
			free(real);
			continue;
		}
		struct buf b = {0};
		if (vol_read(v, real, LOG_MAX_BYTES, &b, e) == -1) {
			free(real);
			return -1;
		}
		*logs = xrealloc(*logs, (*n + 1) * sizeof **logs);
		strlist_add(paths, real);
		(*logs)[(*n)++] = (struct hivelog){real, b};
	}
	return 0;
}

void hivelog_free(struct hivelog *logs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_free(&logs[i].data);
	free(logs);
}
