// The runtime's `config` (datapath.md), held in keyless tables whose default
// action the controller modifies. Applied first; writes meta.cfg.
#ifndef ZTNIC_CONFIG_P4
#define ZTNIC_CONFIG_P4

#include "headers.p4"
#include "siphash.p4"

// Number of conntrack buckets per way compiled into the register arrays
// (conntrack.p4); config.ct_buckets may be any power of two up to this.
#define CT_BUCKETS_MAX 4096

// config.max_frame out of the box (datapath.md §2): longer frames drop as oversize.
#define MAX_FRAME_DEFAULT 9600

control Config(inout meta_t meta) {
    action set_config(bit<16> uplink_port, bit<16> cpu_port, bit<48> local_mac,
                      bit<48> gateway_mac, bit<32> local_vtep_ip, bit<24> vni,
                      bit<1> auth, bit<8> tcp_wscale, bit<16> policy_gen,
                      bit<32> ct_buckets_mask, bit<16> max_frame) {
        meta.cfg.uplink_port = uplink_port;
        meta.cfg.cpu_port = cpu_port;
        meta.cfg.local_mac = local_mac;
        meta.cfg.gateway_mac = gateway_mac;
        meta.cfg.local_vtep_ip = local_vtep_ip;
        meta.cfg.vni = vni;
        meta.cfg.auth = auth;
        meta.cfg.tcp_wscale = tcp_wscale;
        meta.cfg.policy_gen = policy_gen;
        meta.cfg.ct_mask = ct_buckets_mask & (CT_BUCKETS_MAX - 1);
        meta.cfg.max_frame = max_frame;
    }
    table config {
        key = { }
        actions = { set_config; }
        default_action = set_config(0, (bit<16>)CPU_PORT, 0, 0, 0, 0, 0, 14, 0,
                                    CT_BUCKETS_MAX - 1, MAX_FRAME_DEFAULT);
        size = 1;
    }

    // The 16 key bytes in order; SipHash reads them as two little-endian words.
    action set_auth_key(bit<128> key) {
        meta.cfg.auth_k0 = bswap64(key[127:64]);
        meta.cfg.auth_k1 = bswap64(key[63:0]);
    }
    table auth_key {
        key = { }
        actions = { set_auth_key; }
        default_action = set_auth_key(0);
        size = 1;
    }

    // Conntrack timeouts in microseconds; the defaults are Linux's.
    action set_ct_timeouts(bit<64> syn_sent, bit<64> syn_recv, bit<64> established,
                           bit<64> fin_wait, bit<64> close_wait, bit<64> last_ack,
                           bit<64> time_wait, bit<64> close, bit<64> syn_sent2,
                           bit<64> udp, bit<64> udp_replied, bit<64> icmp,
                           bit<64> other) {
        meta.cfg.to_syn_sent = syn_sent;
        meta.cfg.to_syn_recv = syn_recv;
        meta.cfg.to_established = established;
        meta.cfg.to_fin_wait = fin_wait;
        meta.cfg.to_close_wait = close_wait;
        meta.cfg.to_last_ack = last_ack;
        meta.cfg.to_time_wait = time_wait;
        meta.cfg.to_close = close;
        meta.cfg.to_syn_sent2 = syn_sent2;
        meta.cfg.to_udp = udp;
        meta.cfg.to_udp_replied = udp_replied;
        meta.cfg.to_icmp = icmp;
        meta.cfg.to_other = other;
    }
    table ct_timeouts {
        key = { }
        actions = { set_ct_timeouts; }
        default_action = set_ct_timeouts(120000000, 60000000, 432000000000,
                                         120000000, 60000000, 30000000,
                                         120000000, 10000000, 120000000,
                                         30000000, 120000000, 30000000,
                                         600000000);
        size = 1;
    }

    apply {
        config.apply();
        auth_key.apply();
        ct_timeouts.apply();
    }
}

#endif
