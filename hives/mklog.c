/* mklog: makes a dirty hive and its old-format transaction log (.LOG, the
 * Windows XP/2003 kind) from two clean hives: what Windows leaves when it
 * dies after logging the change from BEFORE to AFTER but before writing it
 * to the primary file.  For the log-recovery tests.
 *
 *   mklog BEFORE AFTER PRIMARY-OUT LOG-OUT
 */
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

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: mklog BEFORE AFTER PRIMARY-OUT LOG-OUT\n");
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
	put32(log + 28, 1); /* a transaction log */
	put32(log + 40, bbins);
	sum(log);
	memcpy(log + 512, map, vec);
	size_t k = 0;
	for (size_t i = 0; i < bits; i++)
		if (map[4 + i / 8] & (1u << (i % 8)))
			memcpy(log + 512 + vec + 512 * k++, b + 4096 + i * 512, 512);
	spill(argv[4], log, loglen);
	(void)blen;
	return 0;
}
