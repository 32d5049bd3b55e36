/* --version: dumplings' own, and the version of each library as the
 * running binary finds it, which may be newer than the one it was built
 * against. */
#include <stdio.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <pcap/pcap.h>

#include "base/roles.h"
#include "base/util.h"
#include "kitchen/chef.h"

void print_versions(FILE *out)
{
	char luajit[64];

	chef_runtime_luajit_version(luajit, sizeof luajit);
	fprintf(out, "dumplings %s\n", dumplings_version);
	fprintf(out, "%s\n", pcap_lib_version());
	fprintf(out, "%s\n", luajit);
	fprintf(out, "libwebsockets %s\n", lws_get_library_version());
	fprintf(out, "cJSON %s\n", cJSON_Version());
	fprintf(out, "%s\n", OpenSSL_version(OPENSSL_VERSION));
}
