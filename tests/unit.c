/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the pure functions, linked with the tool's sources: the
 * page diff, a journal built, judged and its state rewritten, Windows' name
 * order, the byte readers, the hive checksum, the hive reader's checks.  One "ok"/"not ok" line per
 * check (tests/t-unit.sh counts them); exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "reg/hread.h"
#include "reg/regf.h"
#include "reg/regname.h"
#include "txn/journal.h"

static int failed;

static void ok(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	failed |= !cond;
}

static struct buf bytes(size_t len, uint8_t fill)
{
	struct buf b = {0};
	buf_alloc(&b, len);
	memset(b.p, fill, len);
	return b;
}

static void test_pages(void)
{
	struct buf a = bytes(5 * NB_PAGE, 1), b = bytes(5 * NB_PAGE, 1);
	struct spans s = {0};
	pages_diff(&a, &b, &s);
	ok(s.n == 0, "pages: equal files differ in no page");
	b.p[NB_PAGE + 7] = 2;
	b.p[2 * NB_PAGE] = 2;
	b.p[4 * NB_PAGE + NB_PAGE - 1] = 2;
	pages_diff(&a, &b, &s);
	ok(s.n == 2 && s.v[0].off == NB_PAGE && s.v[0].len == 2 * NB_PAGE &&
	       s.v[1].off == 4 * NB_PAGE && s.v[1].len == NB_PAGE,
	   "pages: touching pages join into one run, a distant one stays apart");
	free(s.v);
	s = (struct spans){0};
	struct buf c = bytes(3 * NB_PAGE + 100, 1);
	pages_diff(&a, &c, &s);
	ok(s.n == 1 && s.v[0].off == 3 * NB_PAGE && s.v[0].len == 2 * NB_PAGE,
	   "pages: a shorter file differs from its last partial page on");
	struct span k = span_clip(s.v[0], c.len);
	ok(k.off == 3 * NB_PAGE && k.len == 100, "pages: a run clipped to the file's length");
	k = span_clip((struct span){8 * NB_PAGE, NB_PAGE}, c.len);
	ok(k.len == 0, "pages: a run past the end clips to nothing");
	spans_add(&s, 9 * NB_PAGE, 0);
	ok(s.n == 1, "pages: an empty run adds nothing");
	free(s.v);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

static void test_journal(void)
{
	struct buf before = bytes(3 * NB_PAGE, 'a'), after = bytes(4 * NB_PAGE, 'a');
	after.p[NB_PAGE] = 'b';
	struct edit ed = {.path = "WINDOWS/system32/config/SYSTEM",
			  .before = before,
			  .after = after,
			  .hash_before = hash_start(before.p, before.len),
			  .hash_after = hash_start(after.p, after.len)};
	struct journal_file f = {.ed = &ed};
	pages_diff(&before, &after, &f.pages);
	struct fixctx cx = {0};
	strlist_add(&cx.sink_classes, xstrdup("Exchange.XExch50Sink.1"));
	struct outcome o = {.edits = &ed, .nedits = 1};
	struct journal j = {.run = 3};
	journal_build(&f, 1, 3, &cx, &o, &j.bytes);
	ok(!memcmp(j.bytes.p, "nobounce journal 1\nstate: creating", 34),
	   "journal: a new one starts in state creating");
	journal_set_state(&j.bytes, "complete");
	struct install in = {.sysroot = "WINDOWS",
			     .system = "WINDOWS/system32/config/SYSTEM",
			     .software = "WINDOWS/system32/config/SOFTWARE"};
	journal_judge(&in, &j);
	ok(!j.bad && STREQ(j.state, "complete") && j.index,
	   "journal: its state rewritten, it is trusted");
	json_t *fs = json_object_get(j.index, "files");
	json_t *rs = json_object_get(json_array_get(fs, 0), "ranges");
	json_t *g = json_array_get(rs, 0);
	uint64_t at = json_field_u64(g, "at"), len = json_field_u64(g, "length");
	ok(json_array_size(rs) == 1 && json_field_u64(g, "offset") == NB_PAGE && len == NB_PAGE &&
	       at + len <= j.bytes.len && !memcmp(j.bytes.p + at, before.p + NB_PAGE, len),
	   "journal: the one changed page's original lies where the index says");
	ok(json_field_u64(json_array_get(fs, 0), "size_after") == 4 * NB_PAGE,
	   "journal: the grown length is recorded");
	struct fixctx back = {0};
	struct journals js = {.v = &j, .n = 1};
	journal_classes(&js, &back);
	ok(back.sink_classes.n == 1 && STREQ(back.sink_classes.v[0], "Exchange.XExch50Sink.1"),
	   "journal: the sink classes come back");
	ok(!journal_pending(&js), "journal: a complete run is not pending");
	json_decref(j.index);
	j.index = NULL;
	struct journal j2 = {.run = 4, .bytes = j.bytes};
	journal_judge(&in, &j2);
	ok(j2.bad && strstr(j2.bad, "run 3"),
	   "journal: run 3's journal under run 4's name is refused");
	free(j2.bad);
	j.bytes.p[NB_PAGE + 10] ^= 1;
	struct journal j3 = {.run = 3, .bytes = j.bytes};
	journal_judge(&in, &j3);
	ok(j3.bad && strstr(j3.bad, "checksum"), "journal: a changed index byte is refused");
	free(j3.bad);
	struct install other = {.sysroot = "WINNT", .system = "WINNT/system32/config/SYSTEM"};
	j.bytes.p[NB_PAGE + 10] ^= 1;
	struct journal j4 = {.run = 3, .bytes = j.bytes};
	journal_judge(&other, &j4);
	ok(j4.bad && strstr(j4.bad, "never edits"),
	   "journal: a file of another installation is refused");
	free(j4.bad);
	json_decref(j4.index);
	ok(journal_run("NOBOUNCE-12.Journal") == 12 && journal_run("nobounce-0.journal") == 0 &&
	       journal_run("nobounce-1.journal.bak") == 0 && journal_run("nobounce-.journal") == 0,
	   "journal: run numbers from names, any case, nothing else");
	buf_free(&j.bytes);
	hash_free(ed.hash_before);
	hash_free(ed.hash_after);
	free(f.pages.v);
	fixctx_free(&cx);
	fixctx_free(&back);
	buf_free(&before);
	buf_free(&after);
}

static void test_names(void)
{
	ok(regname_cmp("abc", "ABC") == 0, "names: letter case does not count");
	ok(regname_cmp("a", "B") < 0 && regname_cmp("B", "a") > 0, "names: compared upper-cased");
	ok(regname_cmp("_x", "ax") > 0,
	   "names: '_' (0x5f) sorts after letters, as upper case (0x41-0x5a)");
	ok(regname_cmp("\xc3\xa9", "\xc3\x89") == 0, "names: e-acute equals E-acute");
	ok(regname_cmp("ab", "abc") < 0, "names: a prefix sorts first");
	const unsigned char *p = (const unsigned char *)"\xff";
	ok(regname_next(&p) == 0xff && *p == 0, "names: an invalid byte is Latin-1");
}

static void test_bytes(void)
{
	const uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	ok(le16(b) == 0x0201 && le32(b) == 0x04030201 && le64(b) == 0x0807060504030201ull,
	   "bytes: little-endian");
	ok(be32(b) == 0x01020304 && be64(b) == 0x0102030405060708ull, "bytes: big-endian");
	uint8_t block[512] = {0};
	ok(regf_checksum(block) == 1, "regf: a zero checksum is written as 1");
	memset(block, 0xff, 4);
	ok(regf_checksum(block) == 0xfffffffeu, "regf: 0xffffffff is written as 0xfffffffe");
	memcpy(block, "regf", 4);
	ok(regf_checksum(block) == le32(block), "regf: the XOR of the dwords");
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A hive of two bins: the root key and its security record in the first,
 * one free cell in the second. */
static void tiny_hive(uint8_t *h)
{
	memset(h, 0, 3 * REGF_BLOCK);
	memcpy(h, "regf", 4);
	put32(h + REGF_MAJOR, 1);
	put32(h + REGF_MINOR, 5);
	put32(h + 0x24, 0x20); /* the root key's cell */
	put32(h + REGF_BINS_SIZE, 2 * REGF_BLOCK);
	for (uint32_t b = 0; b < 2; b++) {
		uint8_t *bin = h + REGF_BLOCK * (1 + b);
		memcpy(bin, "hbin", 4);
		put32(bin + HBIN_OFFSET, b * REGF_BLOCK);
		put32(bin + HBIN_SIZE, REGF_BLOCK);
	}
	uint8_t *nk = h + REGF_BLOCK + 0x20;
	put32(nk, (uint32_t)-88);
	memcpy(nk + 4, "nk", 2);
	put32(nk + 4 + 44, 0x78);	 /* security: the sk below */
	put32(nk + 4 + 48, 0xffffffffu); /* no class name */
	nk[4 + 72] = 4;
	nk[4 + 2] = 0x2c; /* root, compressed name */
	memcpy(nk + 4 + 76, "ROOT", 4);
	uint8_t *sk = h + REGF_BLOCK + 0x78;
	put32(sk, (uint32_t)-40);
	memcpy(sk + 4, "sk", 2);
	put32(h + REGF_BLOCK + 0xa0, REGF_BLOCK - 0xa0); /* the rest: free */
	put32(h + 2 * REGF_BLOCK + 32, REGF_BLOCK - 32);
	put32(h + REGF_CHECKSUM, regf_checksum(h));
}

/* Whether the hive opens, and its walk fails saying want. */
static int walk_fails(const uint8_t *h, size_t len, const char *want)
{
	struct hread rd;
	struct err e = {0};
	int r = hread_open(&rd, "tiny", h, len, &e) == 0;
	if (r) {
		r = hread_walk(&rd, &e) == -1 && e.msg && strstr(e.msg, want);
		hread_close(&rd);
	}
	err_clear(&e);
	return r;
}

static void test_hread(void)
{
	static uint8_t h[3 * REGF_BLOCK];
	struct hread rd;
	struct err e = {0};
	tiny_hive(h);
	ok(hread_open(&rd, "tiny", h, sizeof h, &e) == 0 && hread_walk(&rd, &e) == 0,
	   "hread: a sound hive is read and walked");
	hread_close(&rd);
	err_clear(&e);
	put32(h + 2 * REGF_BLOCK + 32, 12); /* a cell that is not a multiple of 8 */
	ok(hread_open(&rd, "tiny", h, sizeof h, &e) == 0,
	   "hread: a bad cell in a bin nothing reads is not looked for on open");
	hread_close(&rd);
	err_clear(&e);
	ok(walk_fails(h, sizeof h, "does not fit its bin"),
	   "hread: the walk checks every bin's cells");
	tiny_hive(h);
	put32(h + REGF_BLOCK + 0x20 + 4 + 44, 0xa0); /* security: the free cell */
	ok(walk_fails(h, sizeof h, "0xa0"), "hread: the walk follows a key's security record");
	tiny_hive(h);
	put32(h + REGF_BLOCK + 0x20 + 4 + 48, 0x78); /* class name: the sk, too short */
	h[REGF_BLOCK + 0x20 + 4 + 74] = 200;
	ok(walk_fails(h, sizeof h, "too short"), "hread: the walk follows a key's class name");
	tiny_hive(h);
	put32(h + REGF_BLOCK + 0x78, 13); /* the root's own bin damaged */
	ok(hread_open(&rd, "tiny", h, sizeof h, &e) == -1 && e.msg &&
	       strstr(e.msg, "does not fit its bin"),
	   "hread: a damaged bin is refused when a cell in it is first read");
	err_clear(&e);
}

static void put_text(uint8_t *p, const char *s, int wide)
{
	for (size_t i = 0; s[i]; i++) {
		p[i * (wide ? 2 : 1)] = (uint8_t)s[i];
		if (wide)
			p[i * 2 + 1] = 0;
	}
}

/* tiny_hive, its second bin split: a used cell of 64 bytes, then a free one. */
static int mentions(uint8_t *h, const char *text, int wide, int used)
{
	struct hread rd;
	struct err e = {0};
	uint8_t *bin = h + 2 * REGF_BLOCK;
	put32(bin + 32, used ? (uint32_t)-64 : 64);
	put32(bin + 96, REGF_BLOCK - 96);
	put_text(bin + 40, text, wide);
	int r = hread_open(&rd, "tiny", h, 3 * REGF_BLOCK, &e) == 0
		    ? hread_mentions(&rd, "peexch50")
		    : -2;
	if (r != -2)
		hread_close(&rd);
	err_clear(&e);
	tiny_hive(h);
	return r;
}

static void test_mentions(void)
{
	static uint8_t h[3 * REGF_BLOCK];
	tiny_hive(h);
	ok(mentions(h, "", 0, 1) == 0, "mentions: a hive without the word");
	ok(mentions(h, "C:\\bin\\PeExCh50.dll", 0, 1) == 1,
	   "mentions: ASCII, any case, in a used cell");
	ok(mentions(h, "C:\\bin\\peexch50.dll", 1, 1) == 1, "mentions: UTF-16LE in a used cell");
	ok(mentions(h, "C:\\bin\\peexch50.dll", 1, 0) == 0,
	   "mentions: only in a free cell (a deleted key's) does not count");
	ok(mentions(h, "peexch5", 1, 1) == 0 && mentions(h, "peexcX50", 0, 1) == 0,
	   "mentions: a word that only begins or ends the same does not count");
	ok(mentions(h,
		    "p\x01"
		    "eexch50",
		    0, 1) == 0,
	   "mentions: the word whole, not spread out");
	uint8_t *bin = h + 2 * REGF_BLOCK;
	put32(bin + 32, 12); /* damaged: only hivex can tell */
	put_text(bin + 40, "peexch50", 0);
	struct hread rd;
	struct err e = {0};
	ok(hread_open(&rd, "tiny", h, sizeof h, &e) == 0 && hread_mentions(&rd, "peexch50") == 1,
	   "mentions: the word in a damaged bin is taken as mentioned");
	hread_close(&rd);
	err_clear(&e);
}

static void test_hash_segs(void)
{
	static uint8_t whole[10000];
	for (size_t i = 0; i < 6000; i++)
		whole[i] = (uint8_t)(i * 7 + 1); /* the last 4000 stay zero */
	char a[65], b[65];
	sha256_hex(whole, sizeof whole, a);
	struct hseg s[] = {{whole, 100}, {whole + 100, 0}, {whole + 100, 5900}, {NULL, 4000}};
	struct hashjob *j = hash_start_segs(s, 4);
	snprintf(b, sizeof b, "%s", hash_wait(j));
	hash_free(j);
	ok(STREQ(a, b), "hash: pieces and zeros hash as the bytes one after the other");
	j = hash_start_segs(s, 3);
	ok(!STREQ(a, hash_wait(j)), "hash: without the zeros, another hash");
	hash_free(j);
}

int main(void)
{
	test_hash_segs();
	test_hread();
	test_mentions();
	test_pages();
	test_journal();
	test_names();
	test_bytes();
	return failed;
}
