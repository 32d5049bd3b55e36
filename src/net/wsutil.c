/* Small helpers shared by the hub, the eater and the kitchen's uplink. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "base/log.h"
#include "base/util.h"
#include "wsutil.h"

static void wsutil_log_line(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_WARN : LOG_DEBUG, "libwebsockets: %.*s",
		(int)n, line);
}

void wsutil_log_init(int verbose)
{
	/* lws calls many ordinary events "errors" (a refused connection, a
	 * peer that vanished); we report those ourselves, so only show its
	 * log when asked. */
	lws_set_log_level(verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0,
			  wsutil_log_line);
}

void wsutil_peer(struct lws *wsi, char *host, size_t hostlen, int *port)
{
	wsutil_fd_peer(lws_get_socket_fd(wsi), host, hostlen, port);
}

void wsutil_fd_peer(int fd, char *host, size_t hostlen, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	snprintf(host, hostlen, "?");
	*port = 0;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, hostlen);
		*port = ntohs(s4->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, hostlen);
		*port = ntohs(s6->sin6_port);
	}
}

int wsutil_resolve(const char *name, char *out, size_t outlen, int *is_v6)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai, *pick;

	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return -1;
	pick = res;
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
	}
	*is_v6 = pick->ai_family == AF_INET6;
	if (getnameinfo(pick->ai_addr, pick->ai_addrlen, out, outlen, NULL, 0,
			NI_NUMERICHOST) != 0) {
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

enum ws_piece ws_message_add(struct ws_message *m, struct lws *wsi, const void *in,
			     size_t len)
{
	return ws_message_piece(m, in, len, !lws_remaining_packet_payload(wsi),
				lws_is_final_fragment(wsi));
}
