/* Per-chef BPF filters (chef.filter = "udp port 53"): compiled with
 * libpcap once per filter and per source, since the sources of one
 * kitchen may differ in link type, and run in C over each batch before
 * the chefs, so that a packet a chef's filter rejects never enters that
 * chef's Lua. Chefs that share a filter text share its run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "base/util.h"
#include "capture.h"
#include "chef_filter.h"

struct filter {
	char *expr;
	struct bpf_program *progs;	/* by source */
};

struct chef_filters {
	int *linktypes;			/* by source */
	int nsources;
	struct filter *filters;
	int nfilters;
	uint8_t *match;			/* nfilters rows of one batch's packets */
	size_t match_cap;
};

/* Filters are checked even with no sources (listing chefs): against
 * Ethernet, the usual link type. */
static const int fallback_linktype = DLT_EN10MB;

struct chef_filters *chef_filters_new(const int *linktypes, int nsources)
{
	struct chef_filters *fs = xcalloc(1, sizeof *fs);

	fs->nsources = nsources > 0 ? nsources : 1;
	fs->linktypes = xcalloc((size_t)fs->nsources, sizeof *fs->linktypes);
	for (int i = 0; i < fs->nsources; i++)
		fs->linktypes[i] = nsources > 0 ? linktypes[i] : fallback_linktype;
	return fs;
}

static void drop_filters(struct chef_filters *fs)
{
	for (int f = 0; f < fs->nfilters; f++) {
		for (int s = 0; fs->filters[f].progs && s < fs->nsources; s++)
			pcap_freecode(&fs->filters[f].progs[s]);
		free(fs->filters[f].progs);
		free(fs->filters[f].expr);
	}
	free(fs->filters);
	fs->filters = NULL;
	fs->nfilters = 0;
}

void chef_filters_free(struct chef_filters *fs)
{
	if (!fs)
		return;
	drop_filters(fs);
	free(fs->linktypes);
	free(fs->match);
	free(fs);
}

/* Compile expr for a link type into prog; returns 0, or -1 with libpcap's
 * words in why. */
static int compile_for(int linktype, const char *expr, struct bpf_program *prog,
		       char *why, size_t len)
{
	pcap_t *dead = pcap_open_dead(linktype, 262144);
	int rc;

	if (!dead) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	rc = pcap_compile(dead, prog, expr, 1, PCAP_NETMASK_UNKNOWN);
	if (rc < 0) {
		char number[16];

		snprintf(why, len, "%s (link-type %s)", pcap_geterr(dead),
			 capture_linktype_name(linktype, number, sizeof number));
	}
	pcap_close(dead);
	return rc < 0 ? -1 : 0;
}

/* expr compiled for every source into progs; on failure none is kept. */
static int compile_all(struct chef_filters *fs, const char *expr, struct bpf_program *progs,
		       char *why, size_t len)
{
	for (int s = 0; s < fs->nsources; s++) {
		if (compile_for(fs->linktypes[s], expr, &progs[s], why, len) < 0) {
			while (s-- > 0)
				pcap_freecode(&progs[s]);
			return -1;
		}
	}
	return 0;
}

int chef_filters_check(struct chef_filters *fs, const char *expr, char *why, size_t len)
{
	struct bpf_program *progs = xcalloc((size_t)fs->nsources, sizeof *progs);
	int rc = compile_all(fs, expr, progs, why, len);

	for (int s = 0; rc == 0 && s < fs->nsources; s++)
		pcap_freecode(&progs[s]);
	free(progs);
	return rc;
}

int chef_filters_set(struct chef_filters *fs, const char *const *exprs, int n, char *why,
		     size_t len)
{
	int rc = 0;

	drop_filters(fs);
	fs->filters = xcalloc(n > 0 ? (size_t)n : 1, sizeof *fs->filters);
	for (int f = 0; f < n; f++) {
		struct filter *flt = &fs->filters[f];

		flt->expr = xstrdup(exprs[f]);
		flt->progs = xcalloc((size_t)fs->nsources, sizeof *flt->progs);
		/* A filter that compiled when its chef was checked may fail
		 * now (a host name that no longer resolves): it matches
		 * nothing, and every row stays in its place. */
		if (compile_all(fs, exprs[f], flt->progs, why, len) < 0) {
			free(flt->progs);
			flt->progs = NULL;
			rc = -1;
		}
		fs->nfilters++;
	}
	return rc;
}

int chef_filters_count(const struct chef_filters *fs)
{
	return fs->nfilters;
}

const uint8_t *chef_filters_run(struct chef_filters *fs, const struct dpl_packet *pkts, int n)
{
	size_t need = (size_t)fs->nfilters * (size_t)n;

	if (!fs->nfilters || n <= 0)
		return NULL;
	if (need > fs->match_cap)
		fs->match = xrealloc(fs->match, fs->match_cap = need);
	for (int f = 0; f < fs->nfilters; f++) {
		const struct bpf_program *progs = fs->filters[f].progs;
		uint8_t *row = fs->match + (size_t)f * (size_t)n;

		if (!progs) {
			memset(row, 0, (size_t)n);
			continue;
		}
		for (int i = 0; i < n; i++) {
			const struct dpl_packet *p = &pkts[i];
			struct pcap_pkthdr h = { .caplen = p->caplen, .len = p->wirelen };
			int s = p->source < fs->nsources ? p->source : 0;

			row[i] = pcap_offline_filter(&progs[s], &h, p->data) != 0;
		}
	}
	return fs->match;
}
