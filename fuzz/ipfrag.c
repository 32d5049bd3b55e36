/* Fuzz target: IP fragment reassembly, driven by a sequence of packets.
 *
 * Input: records, each one control byte, a 16-bit big-endian length and
 * that many bytes of a raw IP packet (DLT_RAW). The control byte's low two
 * bits step the packet clock (0, 1, 31 or 61 seconds: past the IPv4 and
 * IPv6 timeouts), bit 2 says the packet was cut by the snapshot length
 * (its wire length is larger), bits 3-4 choose its source. Every packet is
 * decoded with one reassembler, in a buffer with the room the decode
 * stage gives, and checked: whatever the decoder located lies within the
 * captured bytes and the reassembled ones after them, and the
 * reassembler's table stays within its bounds. At the end of the input
 * every source ends: nothing may stay held. */
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "check.h"
#include "decode/ipfrag.h"
#include "decode/packet.h"

enum { LIMIT = 1 << 20 };

static void check_within(uint32_t off, uint32_t len, uint32_t end, const char *what)
{
	fuzz_assert(off <= end && len <= end - off, what);
}

static void check_packet(const struct dpl_packet *pkt)
{
	uint32_t end = pkt->caplen + pkt->reasm_len;

	fuzz_assert(pkt->reasm_len <= IPFRAG_MAX_DATAGRAM, "a datagram fits its room");
	fuzz_assert(pkt->reasm_ver == 0 || pkt->reasm_ver == 4 || pkt->reasm_ver == 6,
		    "a reassembled IP version");
	fuzz_assert(!pkt->reasm_ver || pkt->reasm_frags >= 1, "a datagram has fragments");
	fuzz_assert(pkt->reasm_ver || !pkt->reasm_len, "bytes only for a datagram");
	fuzz_assert(pkt->nlayers <= DPL_MAX_LAYERS, "layers within bounds");
	if (pkt->payload_len)
		check_within(pkt->payload_off, pkt->payload_len, end, "Raw within the bytes");
	if (pkt->dns_len)
		check_within(pkt->dns_off, pkt->dns_len, end, "DNS within the bytes");
	if (pkt->tls_len)
		check_within(pkt->tls_off, pkt->tls_len, end, "TLS within the bytes");
	if (pkt->http_len)
		check_within(pkt->http_off, pkt->http_len, end, "HTTP within the bytes");
	if (pkt->bootp_len)
		check_within(pkt->bootp_off, pkt->bootp_len, end, "BOOTP within the bytes");
	if (pkt->pad_len)
		check_within(pkt->pad_off, pkt->pad_len, pkt->caplen, "Padding within the frame");
}

static void check_table(const struct ipfrag *f)
{
	struct ipfrag_stats st;

	ipfrag_stats(f, &st);
	fuzz_assert(st.memory <= LIMIT, "the table holds no more than its bound");
	fuzz_assert(st.pending <= LIMIT / IPFRAG_SLOT_BYTES, "nor more datagrams");
	fuzz_assert(st.reassembled <= st.fragments, "no datagram without fragments");
}

static void decode_one(struct ipfrag *f, const uint8_t *bytes, uint32_t len, uint8_t ctl,
		       double time)
{
	uint8_t *buf = malloc(len + IPFRAG_MAX_DATAGRAM);
	struct dpl_packet pkt;

	fuzz_assert(buf != NULL, "out of memory");
	memcpy(buf, bytes, len);
	memset(&pkt, 0, sizeof pkt);
	pkt.time = time;
	pkt.data = buf;
	pkt.caplen = len;
	pkt.wirelen = ctl & 4 ? len + 100 : len;
	pkt.source = (ctl >> 3) & 3;
	packet_decode_frags(&pkt, DLT_RAW, f);
	check_packet(&pkt);
	check_table(f);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double steps[] = { 0, 1, 31, 61 };
	struct ipfrag *f = ipfrag_new(LIMIT);
	struct ipfrag_stats st;
	double time = 1e9;
	size_t at = 0;

	while (size - at >= 3) {
		uint8_t ctl = data[at];
		uint32_t len = (uint32_t)data[at + 1] << 8 | data[at + 2];

		at += 3;
		if (len > size - at)
			len = (uint32_t)(size - at);
		time += steps[ctl & 3];
		decode_one(f, data + at, len, ctl, time);
		at += len;
	}
	for (uint16_t s = 0; s < 4; s++)
		ipfrag_finish_source(f, s);
	ipfrag_stats(f, &st);
	fuzz_assert(st.pending == 0 && st.memory == 0, "every source ended: nothing held");
	ipfrag_free(f);
	return 0;
}
