/*
 * sim/xenstore: the helpers libxenstore exports besides the daemon calls:
 * where the daemon's socket is, permission string parsing, path comparison.
 * They behave like Debian's libxenstore.so.4 (Xen 4.17).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

#define XS_LIB_RUNDIR_DEFAULT "/var/run/xenstored"

const char *xs_daemon_rundir(void)
{
	const char *s = getenv("XENSTORED_RUNDIR");

	return s ? s : XS_LIB_RUNDIR_DEFAULT;
}

/* $XENSTORED_PATH if set (no fallback then), else <rundir>/socket. */
static const char *xs_daemon_path(void)
{
	static char buf[PATH_MAX];
	const char *s = getenv("XENSTORED_PATH");

	if (s)
		return s;
	if (snprintf(buf, sizeof(buf), "%s/socket", xs_daemon_rundir()) >= (int)sizeof(buf))
		return NULL;
	return buf;
}

const char *xs_daemon_socket(void)
{
	return xs_daemon_path();
}

/* The read-only socket is gone since Xen 4.13: the same path. */
const char *xs_daemon_socket_ro(void)
{
	return xs_daemon_path();
}

bool xs_write_all(int fd, const void *data, unsigned int len)
{
	const char *p = data;

	while (len) {
		ssize_t done = write(fd, p, len);

		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return false;
		p += done;
		len -= (unsigned int)done;
	}
	return true;
}

/* "r5", "w5", "b5" (both) or "n5" each NUL-terminated; false with EINVAL. */
bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num, const char *strings)
{
	const char *p = strings;

	for (unsigned int i = 0; i < num; i++) {
		char *end;

		switch (*p) {
		case 'r': perms[i].perms = XS_PERM_READ; break;
		case 'w': perms[i].perms = XS_PERM_WRITE; break;
		case 'b': perms[i].perms = XS_PERM_READ | XS_PERM_WRITE; break;
		case 'n': perms[i].perms = XS_PERM_NONE; break;
		default:
			errno = EINVAL;
			return false;
		}
		p++;
		perms[i].id = (unsigned int)strtol(p, &end, 0);
		if (*end || !*p) {
			errno = EINVAL;
			return false;
		}
		p = end + 1;
	}
	return true;
}

/* By string comparison only, like libxenstore: "/" is not a parent of "/a". */
bool xs_path_is_subpath(const char *parent, const char *child)
{
	size_t child_len = strlen(child), parent_len = strlen(parent);

	if (child_len < parent_len || memcmp(child, parent, parent_len) != 0)
		return false;
	return child_len == parent_len || child[parent_len] == '/';
}
