/*
 * counter: ARCH's C test workload. Its count lives only in memory: every
 * 100 ms it increments it, prints it on stdout and publishes it in
 * /tmp/count (written to a temporary file, then renamed, so that a reader
 * never sees a partial value). A restored process therefore continues from
 * the value it had at checkpoint time. It starts at 0 (first value 1).
 *
 * As PID 1 of its PID namespace it would ignore SIGTERM without a handler;
 * on SIGTERM it exits with status 143 (128 + SIGTERM), as a shell would.
 *
 * Built with: gcc -static -O2 -o counter counter.c
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) { (void)sig; stop = 1; }

static void publish(long n) {
	FILE *f = fopen("/tmp/count.tmp", "w");
	if (f == NULL) {
		perror("counter: /tmp/count.tmp");
		return;
	}
	fprintf(f, "%ld\n", n);
	if (fclose(f) != 0 || rename("/tmp/count.tmp", "/tmp/count") != 0)
		perror("counter: /tmp/count");
}

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);

	long count = 0;
	const struct timespec tick = {0, 100 * 1000 * 1000};
	while (!stop) {
		count++;
		publish(count);
		printf("%ld\n", count);
		fflush(stdout);
		nanosleep(&tick, NULL);
	}
	return 143;
}
