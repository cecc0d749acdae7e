/* http_flood PORT BYTES HOLD_MS PATH: a client that pipelines BYTES of "GET PATH" requests to
 * 127.0.0.1:PORT and never reads an answer. It sends what the connection takes for HOLD_MS,
 * then prints "sent N" (the bytes the kernel took) and exits, which closes the connection.
 * Used by tests/scenarios/host/http_attacks.lua to play the attack from another process. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: http_flood PORT BYTES HOLD_MS PATH\n");
		return 2;
	}
	int port = atoi(argv[1]);
	size_t want = (size_t)atol(argv[2]);
	long long hold = atoll(argv[3]);
	char one[1024];
	int n = snprintf(one, sizeof one, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", argv[4]);
	if (n <= 0 || (size_t)n >= sizeof one)
		return 2;
	char *data = malloc(want + (size_t)n);
	if (!data)
		return 1;
	size_t len = 0;
	while (len < want) {
		memcpy(data + len, one, (size_t)n);
		len += (size_t)n;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return 1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	size_t sent = 0;
	long long end = now_ms() + hold;
	while (now_ms() < end) {
		ssize_t w = sent < len ? send(fd, data + sent, len - sent, MSG_NOSIGNAL) : 0;
		if (w > 0) {
			sent += (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			break;
		} else {
			struct pollfd p = {.fd = fd, .events = sent < len ? POLLOUT : 0};
			poll(&p, 1, 10);
		}
	}
	printf("sent %zu\n", sent);
	fflush(stdout);
	close(fd);
	free(data);
	return 0;
}
