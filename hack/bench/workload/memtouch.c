// memtouch: the benchmark workload. Touches N MiB of memory with
// pseudo-random bytes (incompressible: the worst case for a compressed
// checkpoint, argv[2] = "zero" for zeros), writes /tmp/ready, then counts
// every 100 ms like the test counters.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	int zero = argc > 2 && strcmp(argv[2], "zero") == 0;
	size_t n = mib << 20;
	uint64_t *mem = malloc(n);
	if (!mem)
		return 1;
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < n / 8; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		mem[i] = zero ? 0 : x;
	}
	FILE *f = fopen("/tmp/ready", "w");
	if (!f)
		return 1;
	fprintf(f, "%zu\n", mib);
	fclose(f);
	struct timespec ts = {0, 100 * 1000 * 1000};
	for (unsigned long count = 1;; count++) {
		mem[count % (n / 8)]++;
		printf("%lu\n", count);
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
}
