"""Third-party P4Runtime client against ztnic's server: p4runtime-shell (the
P4.org Python shell, built on the upstream generated protobuf code) pushes a
pipeline, writes entries of every match kind, reads them back, provokes
per-update errors and sends a packet. Proves wire compatibility of ztnic's
in-tree .proto files and server semantics.

usage: p4runtime_shell_client.py <grpc addr> <p4info.txtpb> <device config>
Prints a transcript; exits non-zero on the first mismatch.
"""

import sys

import p4runtime_sh.shell as sh
from p4runtime_sh.p4runtime import P4RuntimeWriteException


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sh.teardown()
        sys.exit(1)
    print(f"ok: {what}")


def main():
    addr, p4info, device_config = sys.argv[1:4]
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 1),
             config=sh.FwdPipeConfig(p4info, device_config), verbose=False)
    print("connected to", addr, "as primary; pipeline pushed")
    check(sh.client.api_version() == "1.5.0", "Capabilities reports 1.5.0")

    for port_in, port_out in [(1, 2), (2, 1), (3, 4)]:
        te = sh.TableEntry("ingress.port_fwd")(action="ingress.forward")
        te.match["standard_metadata.ingress_port"] = str(port_in)
        te.action["port"] = str(port_out)
        te.insert()
    print("inserted 3 exact entries into ingress.port_fwd")

    acl = sh.TableEntry("ingress.acl")(action="ingress.drop")
    acl.match["hdr.ipv4.dst_addr"] = "10.0.0.0&&&255.0.0.0"
    acl.match["hdr.tcp.dst_port"] = "80..90"
    acl.match["hdr.ipv4.protocol"] = "6"
    acl.priority = 10
    acl.insert()
    route = sh.TableEntry("ingress.route")(action="ingress.forward")
    route.match["hdr.ipv4.dst_addr"] = "192.168.0.0/16"
    route.action["port"] = "7"
    route.insert()
    print("inserted ternary/range/optional and LPM entries")

    entries = list(sh.TableEntry("ingress.port_fwd").read())
    for e in entries:
        print("read:", str(e).replace("\n", " "))
    check(len(entries) == 3, "read back 3 port_fwd entries")
    ports = sorted(
        (int.from_bytes(e.match["standard_metadata.ingress_port"].exact.value, "big"),
         int.from_bytes(e.action["port"].value, "big"))
        for e in entries)
    check(ports == [(1, 2), (2, 1), (3, 4)], "match keys and params round-trip")
    acls = list(sh.TableEntry("ingress.acl").read())
    check(len(acls) == 1 and acls[0].priority == 10, "ternary entry read back with its priority")
    routes = list(sh.TableEntry("ingress.route").read())
    check(len(routes) == 1 and routes[0].match["hdr.ipv4.dst_addr"].lpm.prefix_len == 16,
          "LPM entry read back with its prefix length")

    te = sh.TableEntry("ingress.port_fwd")(action="ingress.forward")
    te.match["standard_metadata.ingress_port"] = "1"
    te.action["port"] = "9"
    te.modify()
    te = sh.TableEntry("ingress.port_fwd")
    te.match["standard_metadata.ingress_port"] = "2"
    te.delete()
    entries = list(sh.TableEntry("ingress.port_fwd").read())
    check(sorted(int.from_bytes(e.action["port"].value, "big") for e in entries) == [4, 9],
          "modify and delete applied")

    dup = sh.TableEntry("ingress.port_fwd")(action="ingress.drop")
    dup.match["standard_metadata.ingress_port"] = "1"
    try:
        dup.insert()
        check(False, "duplicate insert rejected")
    except P4RuntimeWriteException as e:
        print("server said:", str(e).strip().replace("\n", " "))
        codes = [err.canonical_code for _, err in e.errors]
        check(codes == [6], "duplicate insert -> per-update ALREADY_EXISTS in google.rpc.Status details")
    missing = sh.TableEntry("ingress.port_fwd")
    missing.match["standard_metadata.ingress_port"] = "42"
    try:
        missing.delete()
        check(False, "delete of a missing entry rejected")
    except P4RuntimeWriteException as e:
        check([err.canonical_code for _, err in e.errors] == [5], "missing delete -> NOT_FOUND")

    cells = list(sh.CounterEntry("ingress.drops").read())
    check(len(cells) == 8, "wildcard read of indirect counter ingress.drops: 8 cells")
    direct = list(sh.DirectCounterEntry("ingress.port_fwd_hits").read())
    check(len(direct) == 2, "direct counters of the 2 port_fwd entries")

    pkt = sh.PacketOut(b"\xff" * 14, egress_port="5", _pad="0")
    pkt.send()
    print("sent PacketOut with egress_port=5")
    sh.teardown()
    print("INTEROP OK")


if __name__ == "__main__":
    main()
