/* dumplings: one executable, three roles chosen by subcommand. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/roles.h"
#include "base/util.h"

struct role {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

static const struct role roles[] = {
	{ "kitchen", kitchen_main, "sniff packets, run Lua chefs, send dumplings" },
	{ "hub", hub_main, "fan dumplings out from kitchens to eaters" },
	{ "eat", eat_main, "connect to a hub and consume dumplings" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: dumplings kitchen|hub|eat [options]\n"
		"       dumplings --help | --version\n\n");
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		fprintf(out, "  %-8s %s\n", roles[i].name, roles[i].summary);
	fprintf(out, "\nRun 'dumplings ROLE --help' for the options of a role.\n");
}

/* glibc gives memory at the top of a thread's heap back to the kernel as
 * soon as 128 KiB are free there, and the next batch faults it in again,
 * zeroed: between the cook thread, the printer and the uplink, that was a
 * TLB shoot-down across cores and a page fault every few batches. Keep up
 * to 32 MiB; setting a threshold turns glibc's sliding one off, so fix the
 * size above which blocks are mapped of their own at 4 MiB. */
static void keep_freed_memory(void)
{
#if defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

int main(int argc, char **argv)
{
	keep_freed_memory();
	log_init("dumplings", LOG_INFO);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		print_versions(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		if (!strcmp(argv[1], roles[i].name)) {
			char prog[32];

			snprintf(prog, sizeof prog, "dumplings %s", roles[i].name);
			int role_argc = argc - 1;
			char **role_argv = argv + 1;

			log_init(strdup(prog), LOG_INFO);
			if (config_expand(&role_argc, &role_argv) < 0)
				return 2;
			return roles[i].main(role_argc, role_argv);
		}
	}
	fprintf(stderr, "dumplings: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
