/*
 * tcpapp: ARCH's networked test workload, a TCP server and a client that
 * holds an established connection to it, as a batch job holds one to its
 * database.
 *
 *   tcpapp server PORT   listens on 0.0.0.0:PORT; every line it receives is
 *                        answered with "pong <line>". Serves many clients.
 *   tcpapp client PORT   connects to 127.0.0.1:PORT and keeps the connection:
 *                        every 100 ms it sends its next sequence number and
 *                        prints "pong <n>" when the answer comes. When the
 *                        connection breaks (reset, EOF) it prints
 *                        "reconnect <reason>" and connects again; a failed
 *                        connect prints "connect-failed <reason>" and is
 *                        retried after 100 ms. Its sequence lives in memory:
 *                        a restored client continues it.
 *   tcpapp probe PORT    sends one line to 127.0.0.1:PORT, prints the answer
 *                        and exits 0 (1 when no answer comes within 2 s).
 *
 * SIGTERM ends server and client with status 143, as a shell would.
 * Built with: gcc -static -O2 -o tcpapp tcpapp.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAXCLIENTS 64

static void on_term(int sig) { (void)sig; _exit(143); }

static int connect_to(int port) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* readline reads one line (without '\n') into buf; 0 at EOF, -1 on error. */
static int readline(int fd, char *buf, size_t len) {
	size_t n = 0;
	while (n + 1 < len) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r == 0)
			return n ? (int)n : 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = 0;
	return (int)n + 1;
}

static int server(int port) {
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 16) < 0) {
		perror("tcpapp server: listen");
		return 1;
	}
	struct pollfd p[MAXCLIENTS + 1] = {{.fd = ls, .events = POLLIN}};
	int n = 1;
	for (;;) {
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpapp server: poll");
			return 1;
		}
		if (p[0].revents & POLLIN) {
			int c = accept(ls, NULL, NULL);
			if (c >= 0 && n <= MAXCLIENTS)
				p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
			else if (c >= 0)
				close(c);
		}
		for (int i = 1; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[256], out[300];
			int r = readline(p[i].fd, buf, sizeof buf);
			if (r <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
				continue;
			}
			int m = snprintf(out, sizeof out, "pong %s\n", buf);
			if (write(p[i].fd, out, m) != m) {
				close(p[i].fd);
				p[i--] = p[--n];
			}
		}
	}
}

static int client(int port) {
	long seq = 0;
	const struct timespec tick = {0, 100 * 1000 * 1000};
	int fd = -1;
	for (;;) {
		if (fd < 0) {
			fd = connect_to(port);
			if (fd < 0) {
				printf("connect-failed %s\n", strerror(errno));
				fflush(stdout);
				nanosleep(&tick, NULL);
				continue;
			}
		}
		char line[64], buf[256];
		int m = snprintf(line, sizeof line, "%ld\n", seq + 1);
		int r = -1;
		const char *why = "write failed";
		if (write(fd, line, m) == m) {
			r = readline(fd, buf, sizeof buf);
			why = r == 0 ? "EOF" : strerror(errno);
		} else {
			why = strerror(errno);
		}
		if (r <= 0) {
			printf("reconnect %s\n", why);
			fflush(stdout);
			close(fd);
			fd = -1;
			continue;
		}
		seq++;
		printf("%s\n", buf);
		fflush(stdout);
		nanosleep(&tick, NULL);
	}
}

static int probe(int port) {
	int fd = connect_to(port);
	if (fd < 0) {
		printf("connect-failed %s\n", strerror(errno));
		return 1;
	}
	struct timeval tv = {2, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char buf[256];
	if (write(fd, "probe\n", 6) != 6 || readline(fd, buf, sizeof buf) <= 0) {
		printf("no-answer %s\n", strerror(errno));
		return 1;
	}
	printf("%s\n", buf);
	return 0;
}

int main(int argc, char **argv) {
	struct sigaction sa = {0};
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc != 3) {
		fprintf(stderr, "usage: tcpapp server|client|probe PORT\n");
		return 2;
	}
	int port = atoi(argv[2]);
	if (strcmp(argv[1], "server") == 0)
		return server(port);
	if (strcmp(argv[1], "client") == 0)
		return client(port);
	if (strcmp(argv[1], "probe") == 0)
		return probe(port);
	fprintf(stderr, "tcpapp: unknown mode %s\n", argv[1]);
	return 2;
}
