/* Run a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer:
 * the regression suite replays every crasher and seed this way, built with
 * any compiler that has AddressSanitizer. Directories are read one level
 * deep. Prints how many inputs ran; a failure aborts with the sanitizer's
 * or the check's report, after naming the input. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"

static unsigned long replayed;

/* The input goes in a buffer of exactly its size, so that a read one past
 * the end is caught, as under libFuzzer. */
static int replay_file(const char *path, size_t size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *input = malloc(size ? size : 1);

	if (!input)
		abort();
	if (!f || fread(input, 1, size, f) != size) {
		perror(path);
		free(input);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(input, size);
	free(input);
	replayed++;
	return 0;
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of a directory, in name order so runs are repeatable. */
static int replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		if (!names || asprintf(&names[n], "%s/%s", dir, e->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, compare);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    replay_file(names[i], (size_t)st.st_size) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i]) < 0
					       : replay_file(argv[i], (size_t)st.st_size) < 0) {
			rc = 1;
		}
	}
	printf("replayed %lu inputs\n", replayed);
	return rc;
}
