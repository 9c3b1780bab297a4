/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs a libFuzzer harness over files, without libFuzzer: the regression
 * tests replay every input that once crashed a harness (tests/fuzz/regress). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		rewind(f);
		uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
		if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
			return 1;
		fclose(f);
		LLVMFuzzerTestOneInput(p, (size_t)n);
		free(p);
	}
	return 0;
}
