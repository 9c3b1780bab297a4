/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mklog: makes a dirty hive and a transaction log from two clean hives:
 * what Windows leaves when it dies after logging the change from BEFORE to
 * AFTER but before writing it to the primary file.  For the log-recovery
 * tests.
 *
 *   mklog [--type 1|2] BEFORE AFTER PRIMARY-OUT LOG-OUT
 *	an old-format log (.LOG; type 1 as Windows XP/2003 writes it, 2 as
 *	Windows 2000 does)
 *   mklog --new P:S H:E BEFORE AFTER PRIMARY-OUT LOG-OUT
 *	a new-format log (.LOG1/.LOG2): the primary's sequence numbers become
 *	P and S, the log's header says H, and its one entry, numbered E, holds
 *	AFTER's 4 KiB pages that differ from BEFORE's
 *
 * Its Marvin32 is written from the format's description, apart from
 * nobounce's, so that the tests cross-check the two. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sum(uint8_t *p)
{
	uint32_t x = 0;
	for (int i = 0; i < 127; i++)
		x ^= le32(p + 4 * i);
	put32(p + 508, x == 0xffffffffu ? 0xfffffffeu : x ? x : 1);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *p = malloc(*len);
	if (!p || fread(p, 1, *len, f) != *len)
		exit(1);
	fclose(f);
	return p;
}

static void spill(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Marvin32 with the registry's seed, 0x82EF4D887A4E55C5 */
static uint32_t rol(uint32_t v, int n)
{
	return v << n | v >> (32 - n);
}

static uint64_t marvin(const uint8_t *p, size_t n)
{
	uint32_t s0 = 0x7A4E55C5u, s1 = 0x82EF4D88u;
	for (size_t i = 0; i + 4 <= n + 4; i += 4) {
		uint32_t w;
		if (i + 4 <= n)
			w = le32(p + i);
		else { /* the tail: its bytes, then 0x80 */
			w = 0x80u << (8 * (n - i));
			for (size_t k = 0; k < n - i; k++)
				w |= (uint32_t)p[i + k] << (8 * k);
		}
		for (int round = 0; round < (i + 4 > n ? 2 : 1); round++) {
			s0 += round ? 0 : w;
			s1 ^= s0;
			s0 = rol(s0, 20) + s1;
			s1 = rol(s1, 9) ^ s0;
			s0 = rol(s0, 27) + s1;
			s1 = rol(s1, 19);
		}
	}
	return (uint64_t)s1 << 32 | s0;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static int new_format(char **argv)
{
	unsigned ps, ss, hs, es;
	if (sscanf(argv[0], "%u:%u", &ps, &ss) != 2 || sscanf(argv[1], "%u:%u", &hs, &es) != 2) {
		fprintf(stderr, "mklog: --new P:S H:E BEFORE AFTER PRIMARY-OUT LOG-OUT\n");
		return 2;
	}
	size_t alen, blen;
	uint8_t *a = slurp(argv[2], &alen), *b = slurp(argv[3], &blen);
	uint32_t bbins = le32(b + 40);
	/* the entry: the pages of AFTER that differ, whole 4 KiB pages */
	size_t pages = 0, max = bbins / 4096;
	uint8_t *refs = calloc(max + 1, 8), *data = malloc((size_t)bbins + 1);
	for (size_t i = 0; i < max; i++) {
		size_t off = 4096 + i * 4096;
		if (off + 4096 <= alen && !memcmp(a + off, b + off, 4096))
			continue;
		put32(refs + 8 * pages, (uint32_t)(i * 4096));
		put32(refs + 8 * pages + 4, 4096);
		memcpy(data + pages * 4096, b + off, 4096);
		pages++;
	}
	size_t raw = 40 + pages * 8 + pages * 4096, size = (raw + 511) / 512 * 512;
	uint8_t *log = calloc(1, 512 + size), *en = log + 512;
	memcpy(log, a, 512);
	put32(log + 4, hs);
	put32(log + 8, hs);
	put32(log + 28, 6);
	put32(log + 40, le32(a + 40));
	sum(log);
	memcpy(en, "HvLE", 4);
	put32(en + 4, (uint32_t)size);
	put32(en + 12, es);
	put32(en + 16, bbins);
	put32(en + 20, (uint32_t)pages);
	memcpy(en + 40, refs, pages * 8);
	memcpy(en + 40 + pages * 8, data, pages * 4096);
	put64(en + 24, marvin(en + 40, size - 40));
	put64(en + 32, marvin(en, 32));
	spill(argv[5], log, 512 + size);
	put32(a + 4, ps);
	put32(a + 8, ss);
	sum(a);
	spill(argv[4], a, alen);
	free(a);
	free(b);
	free(refs);
	free(data);
	free(log);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 8 && !strcmp(argv[1], "--new"))
		return new_format(argv + 2);
	unsigned type = 1;
	if (argc == 7 && !strcmp(argv[1], "--type")) {
		type = (unsigned)atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc != 5 || (type != 1 && type != 2)) {
		fprintf(stderr, "usage: mklog [--type 1|2] BEFORE AFTER PRIMARY-OUT LOG-OUT\n"
				"       mklog --new P:S H:E BEFORE AFTER PRIMARY-OUT LOG-OUT\n");
		return 2;
	}
	size_t alen, blen;
	uint8_t *a = slurp(argv[1], &alen), *b = slurp(argv[2], &blen);
	uint32_t abins = le32(a + 40), bbins = le32(b + 40), seq = le32(a + 4);
	/* the primary: a write began (primary sequence number moved on) */
	put32(a + 4, seq + 1);
	sum(a);
	spill(argv[3], a, alen);
	/* the log: header, dirty vector over AFTER's bins, AFTER's dirty pages */
	size_t bits = bbins / 512, vec = (4 + (bits + 7) / 8 + 511) / 512 * 512;
	size_t npages = 0;
	uint8_t *map = calloc(1, vec);
	memcpy(map, "DIRT", 4);
	for (size_t i = 0; i < bits; i++)
		if ((size_t)i * 512 + 512 > abins ||
		    memcmp(a + 4096 + i * 512, b + 4096 + i * 512, 512) != 0) {
			map[4 + i / 8] |= (uint8_t)(1u << (i % 8));
			npages++;
		}
	size_t loglen = 512 + vec + npages * 512;
	uint8_t *log = calloc(1, loglen);
	memcpy(log, a, 512);
	put32(log + 4, seq + 1);
	put32(log + 8, seq + 1);
	put32(log + 28, type); /* a transaction log */
	put32(log + 40, bbins);
	sum(log);
	memcpy(log + 512, map, vec);
	size_t k = 0;
	for (size_t i = 0; i < bits; i++)
		if (map[4 + i / 8] & (1u << (i % 8)))
			memcpy(log + 512 + vec + 512 * k++, b + 4096 + i * 512, 512);
	spill(argv[4], log, loglen);
	(void)blen;
	free(a);
	free(b);
	free(map);
	free(log);
	return 0;
}
