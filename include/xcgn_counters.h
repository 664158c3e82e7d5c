/* SPDX-License-Identifier: GPL-2.0 */
/* The datapath's counters and drop reasons, one list each: the enum of
 * the pinned ABI (xcgn_abi.h), the names `xcgn stats` and Prometheus use,
 * and what each counts (Prometheus HELP, `xcgn stats describe`, the man
 * page), all made from it. A value is the counter's index in the pinned
 * struct xcgn_stats: never change one; a new counter takes the next value
 * and a new layout version (xcgn_abi.h). */
#ifndef XCGN_COUNTERS_H
#define XCGN_COUNTERS_H

/* X(ENUM, VALUE, NAME, HELP) */
#define XCGN_STAT_LIST(X) \
	X(IN_RX, 0, "inside_rx", \
	  "Packets seen by XDP on the inside device.") \
	X(OUT_RX, 1, "outside_rx", \
	  "Packets seen by XDP on the outside device.") \
	X(SNAT_XDP, 2, "snat_xdp", \
	  "Packets translated inside to outside at XDP.") \
	X(DNAT_XDP, 3, "dnat_xdp", \
	  "Packets translated outside to inside at XDP.") \
	X(REDIRECT_OUT, 4, "redirect_out", \
	  "Packets redirected to the outside device.") \
	X(REDIRECT_IN, 5, "redirect_in", \
	  "Packets redirected to the inside device.") \
	X(SLOW_OUT, 6, "slow_path_out", \
	  "Packets passed to the stack untranslated (slow path out).") \
	X(SLOW_IN, 7, "slow_path_in", \
	  "Packets passed to the stack after DNAT (slow path in).") \
	X(PASS, 8, "pass", \
	  "Packets that were not the NAT's business.") \
	X(TC_RX, 9, "tc_rx", \
	  "Packets seen by tc egress on the outside device.") \
	X(SNAT_TC, 10, "snat_tc", \
	  "Packets translated by tc egress.") \
	X(DNAT_TC, 11, "dnat_tc", \
	  "Packets translated by tc ingress.") \
	X(MAP_NEW, 12, "mapping_created", \
	  "Mappings created.") \
	X(MAP_RACE, 13, "mapping_race", \
	  "Mappings created concurrently on another CPU.") \
	X(SUB_NEW, 14, "subscriber_created", \
	  "Subscribers created.") \
	X(BLOCK_NEW, 15, "block_allocated", \
	  "Port blocks allocated.") \
	X(BLOCK_RACE, 16, "block_race", \
	  "Block claims lost to another CPU.") \
	X(EVENT_LOST, 17, "event_lost", \
	  "Allocation events the ring buffer had no room for.") \
	X(ABORTED, 18, "aborted", \
	  "Packets aborted because a helper failed.") \
	X(SUB_DIED, 19, "subscriber_release_race", \
	  "New mappings that raced with their subscriber's release.") \
	X(REFUSAL_EV_LIMITED, 20, "refusal_event_limited", \
	  "Refusal events held back by the rate limit.") \
	X(ICMP_ERR_IN, 21, "icmp_error_in", \
	  "ICMP errors translated towards a subscriber.") \
	X(ICMP_ERR_OUT, 22, "icmp_error_out", \
	  "ICMP errors about packets sent to subscribers, translated on their way out.") \
	X(BYPASS, 23, "bypass", \
	  "Packets left untranslated for a bypass destination.") \
	X(HAIRPIN, 24, "hairpin", \
	  "Packets hairpinned between subscribers.") \
	X(ICMP_PROHIBITED, 25, "icmp_prohibited_sent", \
	  "ICMP errors sent to refused subscribers.") \
	X(FRAG, 26, "fragment_translated", \
	  "Later fragments translated after their first.") \
	X(FRAG_HELD, 27, "fragment_held", \
	  "Later fragments held until their first came.") \
	X(FRAG_RELEASED, 28, "fragment_released", \
	  "Held fragments sent on, translated.") \
	X(FULL_HINT, 29, "refusal_without_walk", \
	  "Refusals of a full subscriber without a port walk.") \
	X(REFUSAL_EV_LOST, 30, "refusal_event_lost", \
	  "Refusal events the refusal ring had no room for.") \
	X(NH_HIT, 31, "nexthop_cached", \
	  "Next hops taken from the next-hop cache, no FIB lookup.") \
	X(NH_FILL, 32, "nexthop_kept", \
	  "Next hops the FIB gave and the next-hop cache kept.") \
	X(MSS_CLAMPED, 33, "mss_clamped", \
	  "TCP SYNs whose MSS option was lowered to the link's mss-clamp.") \
	X(FRAG_CAPPED, 34, "fragment_share_capped", \
	  "First fragments not noted: their subscriber had its share.")

#define XCGN_DROP_LIST(X) \
	X(NONE, 0, "none", \
	  "No drop (not counted).") \
	X(TRUNCATED, 1, "truncated", \
	  "A header ends past the packet.") \
	X(BAD_IP, 2, "bad_ip", \
	  "Version, header or total length wrong.") \
	X(BAD_IP_CSUM, 3, "bad_ip_csum", \
	  "IPv4 header checksum wrong.") \
	X(BAD_L4, 4, "bad_l4", \
	  "L4 header lengths inconsistent.") \
	X(FRAGMENT, 5, "fragment_unknown", \
	  "A later fragment whose first one was not seen.") \
	X(ICMP_ERROR, 6, "icmp_error_untranslatable", \
	  "ICMP error quoting what we cannot translate.") \
	X(BAD_ICMP_CSUM, 7, "icmp_error_bad_checksum", \
	  "ICMP error whose checksum fails (RFC 5508 REQ-3).") \
	X(NO_POOL, 8, "no_pool", \
	  "No pool address with a free block.") \
	X(SUB_LIMIT, 9, "subscriber_limit", \
	  "Subscriber holds max-blocks, all ports busy.") \
	X(NO_PORT, 10, "no_port", \
	  "No free port found within the probe bound.") \
	X(SUB_FULL, 11, "subscriber_table_full", \
	  "Subscriber table full.") \
	X(MAP_FULL, 12, "mapping_table_full", \
	  "Mapping table full.") \
	X(PEER_FULL, 13, "filter_table_full", \
	  "Filtering table full.") \
	X(NO_MAPPING, 14, "no_mapping", \
	  "Inbound to a pool address, no mapping.") \
	X(FILTERED, 15, "filtered", \
	  "Address-dependent filtering refused it.") \
	X(UNTRANSLATED, 16, "untranslatable", \
	  "Subscriber source about to leave untranslated.") \
	X(SUB_RATE, 17, "subscriber_rate", \
	  "Subscriber opens mappings faster than its cap.") \
	X(RACE, 18, "transient_race", \
	  "Lost a race with the collector; the next packet goes.") \
	X(MARTIAN, 19, "martian_source", \
	  "Source the kernel calls martian (invalid or local).") \
	X(RPF, 20, "reverse_path", \
	  "Source fails the reverse-path check (RFC 3704).") \
	X(SPOOF, 21, "spoofed_source", \
	  "On the outside: a subscriber or pool source.") \
	X(NEW_SUB_RATE, 22, "new_subscriber_rate", \
	  "New subscribers come faster than the pool's cap.") \
	X(SUB_MAPS, 23, "subscriber_mappings", \
	  "Subscriber holds the pool's sub-mappings.") \
	X(MAP_PEERS, 24, "mapping_peers", \
	  "Mapping has the pool's map-peers remotes.") \
	X(NOT_TRANSLATED_IN, 25, "not_translated_in", \
	  "From the outside to a subscriber address.") \
	X(WRONG_DEVICE, 26, "wrong_device", \
	  "A subscriber source on a device not the inside.") \
	X(SUB_PEERS, 27, "subscriber_peers", \
	  "Subscriber holds its share of the filtering table.")

#endif /* XCGN_COUNTERS_H */
