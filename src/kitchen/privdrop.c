/* Dropping root after the capture is open: the kitchen parses hostile
 * bytes, and runs user scripts, as an ordinary user. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "privdrop.h"

int privdrop_to(const char *user)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		log_error("cannot drop privileges: no user '%s'%s%s", user,
			  errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	if (geteuid() != 0 && geteuid() == pw->pw_uid && getuid() == pw->pw_uid)
		return 0;	/* already that user */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_error("cannot drop privileges to %s: %s", user, strerror(errno));
		return -1;
	}
	/* Make sure the way back is closed. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		log_error("dropped to %s, but could become root again: refusing to go on", user);
		return -1;
	}
	log_info("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}
