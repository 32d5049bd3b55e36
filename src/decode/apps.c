/* What the application layers' decoders share: the text they build, and
 * their place in the chef runtime's struct dpl_api, with the scratch each
 * decodes into (kept from packet to packet, so that its buffers grow to
 * what the traffic needs and stay). */
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "base/util.h"

uint32_t apps_text_put(struct dpl_text *t, const void *s, uint32_t n)
{
	uint32_t at = t->len;

	if (t->len + n > t->cap) {
		while (t->len + n > t->cap)
			t->cap = t->cap ? t->cap * 2 : 1024;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + at, s, n);
	t->len += n;
	return at;
}

void apps_text_end(struct dpl_text *t)
{
	apps_text_put(t, "", 1);
}

void apps_attach(struct dpl_api *api)
{
	api->tls_decode = tls_decode;
	api->http_decode = http_decode;
	api->dhcp_decode = dhcp_decode;
	api->tls_scratch = xcalloc(1, sizeof *api->tls_scratch);
	api->http_scratch = xcalloc(1, sizeof *api->http_scratch);
	api->dhcp_scratch = xcalloc(1, sizeof *api->dhcp_scratch);
}

void apps_detach(struct dpl_api *api)
{
	if (api->tls_scratch) {
		free(api->tls_scratch->vals);
		free(api->tls_scratch->text.s);
	}
	if (api->http_scratch) {
		free(api->http_scratch->fields);
		free(api->http_scratch->text.s);
	}
	if (api->dhcp_scratch)
		free(api->dhcp_scratch->opts);
	free(api->tls_scratch);
	free(api->http_scratch);
	free(api->dhcp_scratch);
	api->tls_scratch = NULL;
	api->http_scratch = NULL;
	api->dhcp_scratch = NULL;
}
