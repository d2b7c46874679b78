// trivial_fwd: the smallest v1model program that exercises every P4Runtime
// feature ztnic's client uses against bmv2, and the baseline of the bmv2
// benchmarks. One exact table forwards by ingress port; its entries carry a
// direct counter and may age out (idle timeout); every packet it processes
// sends a MAC-learning digest; the CPU port carries packet_in / packet_out
// controller headers; every drop records its reason in `ingress.drops`.
//
// A PacketOut whose egress_port is non-zero leaves by that port untouched. One
// with egress_port 0 is "submitted to ingress": it goes through port_fwd as a
// packet received on the CPU port, so a test without any data-plane interface
// can drive the table, its counter, the digest and (with a `punt` entry for
// port 255) a PacketIn from the controller alone.

#include <core.p4>
#include <v1model.p4>

const bit<9> CPU_PORT = 255;

// Drop reasons, the index into ingress.drops.
const bit<32> DROP_NO_ROUTE = 1;   // port_fwd missed: no entry for the port
const bit<32> DROP_BY_RULE = 2;    // an entry chose ingress.drop

@controller_header("packet_in")
header packet_in_h {
    bit<9> ingress_port;   // port the punted packet arrived on
    bit<7> _pad;
}

@controller_header("packet_out")
header packet_out_h {
    bit<9> egress_port;    // port to send the injected packet out of
    bit<7> _pad;
}

header ethernet_h {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

struct headers_t {
    packet_in_h  packet_in;
    packet_out_h packet_out;
    ethernet_h   ethernet;
}

// Digest data: which source MAC was seen on which port.
struct mac_learn_t {
    bit<48> src_addr;
    bit<9>  ingress_port;
}

struct metadata_t {
    bit<32> drop_reason;   // written by ingress before mark_to_drop
}

parser TrivialParser(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                     inout standard_metadata_t std) {
    state start {
        transition select(std.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        pkt.extract(hdr.packet_out);
        transition parse_ethernet;
    }
    state parse_ethernet {
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}

control TrivialVerifyChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control ingress(inout headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t std) {
    direct_counter(CounterType.packets_and_bytes) port_fwd_hits;
    counter(8, CounterType.packets) drops;

    action forward(bit<9> port) {
        std.egress_spec = port;
    }
    action punt() {
        std.egress_spec = CPU_PORT;
    }
    action drop() {
        meta.drop_reason = DROP_BY_RULE;
        mark_to_drop(std);
    }
    action miss() {
        meta.drop_reason = DROP_NO_ROUTE;
        mark_to_drop(std);
    }

    table port_fwd {
        key = { std.ingress_port: exact; }
        actions = { forward; punt; drop; @defaultonly miss; }
        default_action = miss();
        counters = port_fwd_hits;
        support_timeout = true;
        size = 1024;
    }

    apply {
        if (hdr.packet_out.isValid() && hdr.packet_out.egress_port != 0) {
            std.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
        } else {
            hdr.packet_out.setInvalid();
            digest<mac_learn_t>(1, { hdr.ethernet.src_addr, std.ingress_port });
            port_fwd.apply();
            if (meta.drop_reason != 0) {
                drops.count(meta.drop_reason);
            }
        }
    }
}

control egress(inout headers_t hdr, inout metadata_t meta,
               inout standard_metadata_t std) {
    apply {
        if (std.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = std.ingress_port;
        }
    }
}

control TrivialComputeChecksum(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control TrivialDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
    }
}

V1Switch(TrivialParser(), TrivialVerifyChecksum(), ingress(), egress(),
         TrivialComputeChecksum(), TrivialDeparser()) main;
