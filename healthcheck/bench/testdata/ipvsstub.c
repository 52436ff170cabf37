/*
 * ipvsstub: an LD_PRELOAD library that lets keepalived's checker process
 * run on a kernel without IPVS, for the healthcheck benchmark only.
 *
 * keepalived first tries IPVS over generic netlink; when the family is
 * missing it falls back to the IPVS socket options on a raw socket. This
 * library answers those socket options (IP_VS_BASE_CTL .. +15) itself:
 * GET_INFO reports IPVS 1.2.1 with an empty table, other gets return
 * zeroes (empty lists), and every set succeeds. Nothing else is changed, so
 * the health checks themselves (connect, HTTP, timers) run as usual.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)
#define IP_VS_LAST (IP_VS_BASE_CTL + 15)

static int is_ipvs(int level, int opt)
{
	return level == IPPROTO_IP && opt >= IP_VS_BASE_CTL && opt <= IP_VS_LAST;
}

int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);

	if (is_ipvs(level, opt)) {
		if (val && len)
			memset(val, 0, *len);
		if (opt == IP_VS_SO_GET_INFO && val && len && *len >= 3 * sizeof(unsigned int)) {
			unsigned int *u = val;
			u[0] = (1 << 16) | (2 << 8) | 1; /* version 1.2.1 */
			u[1] = 4096;                     /* connection table size */
			u[2] = 0;                        /* services */
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, opt, val, len);
}

int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (is_ipvs(level, opt))
		return 0;
	if (!real)
		real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, opt, val, len);
}
