/* dumplings: one executable, three roles chosen by subcommand. */
#include <stdio.h>
#include <string.h>

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

int main(int argc, char **argv)
{
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
			log_init(strdup(prog), LOG_INFO);
			return roles[i].main(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "dumplings: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
