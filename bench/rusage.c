/*
 * rusage: run a command and report its wall time and peak memory.
 *
 *   rusage CMD [ARGS...]
 *
 * The command inherits stdin, stdout and stderr untouched; when it ends,
 * one line goes to stderr:
 *
 *   wall=SECONDS maxrss_kib=N status=S
 *
 * S is the exit status, or 128 + the signal number, and is also rusage's
 * own exit status. maxrss comes from wait4(), so it is the child's own peak
 * resident set (kernel-measured), not this wrapper's; /usr/bin/time is not
 * installed everywhere and its output format differs between systems.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double start;
	pid_t pid;
	int status, code;

	if (argc < 2) {
		fputs("usage: rusage CMD [ARGS...]\n", stderr);
		return 2;
	}
	start = now();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rusage: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
		_exit(127);	/* what a shell reports for a missing command */
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "rusage: wait4: %s\n", strerror(errno));
			return 1;
		}
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	/* ru_maxrss is in KiB on Linux and the BSDs (bytes only on macOS) */
	fprintf(stderr, "wall=%.4f maxrss_kib=%ld status=%d\n", now() - start,
		ru.ru_maxrss, code);
	return code;
}
