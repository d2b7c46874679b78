// Port class and packet_out, the verdict pipeline's stage 1 (docs/datapath.md §1,
// ztnic_engine.v): what the frame at the head of the header queue is, by the class of
// the port it arrived on.
//
// The port_class table lives here, in flip-flops (2 bits a port, zero at start: none);
// the control plane writes it one entry a clock and reads it at an index (the engine's
// table window). A port at or above 2^PORT_CLASS_LOG2 has no class.
//
// A frame longer than config.max_frame (`oversize`, cut by the ingress) is dropped
// (oversize) whatever its port; a frame on a port without a class is dropped
// (unknown_port). A frame from the CPU port starts with the 4-byte packet_out header
// (target port, big-endian; mode; pad): shorter than 4 bytes it is dropped
// (bad_packet_out); mode 0 sends the rest of the frame out of the target port unchanged
// (a forward verdict, skip 4); mode 1 runs the rest through the pipeline as if it had
// arrived on the target port (`m_shift`: the engine shifts the header by 4 bytes, the
// packet starts at byte 4), dropped when that port has no class (unknown_port) or is
// the CPU port (bad_packet_out); any other mode is dropped (bad_packet_out). A frame
// from a vport or an uplink goes on with that class.
//
// The decision is combinational; the engine registers stage 1's PHV.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_port_class #(
    // log2 of the port_class table size (ports at or above it are unclassified)
    parameter PORT_CLASS_LOG2 = 8
) (
    input  wire                       clk,

    // control-plane write of one entry (its class, PORT_CLASS_*)
    input  wire                       wr_en,
    input  wire [PORT_CLASS_LOG2-1:0] wr_index,
    input  wire [1:0]                 wr_data,
    // control-plane read of one entry
    input  wire [PORT_CLASS_LOG2-1:0] rd_index,
    output wire [1:0]                 rd_data,

    // the frame: ingress port, length, cut as too long, and its first 3 bytes
    // (byte i at [8i +: 8]: the packet_out target port, big-endian, and mode)
    input  wire [15:0]                port,
    input  wire [15:0]                len,
    input  wire                       oversize,
    input  wire [23:0]                hdr,

    // {done, verdict kind, reason} stage 1 decides (zero: go on)
    output reg  [10:0]                m_vd,
    // the port the packet is taken to have arrived on, and its class
    output reg  [15:0]                m_port,
    output reg  [1:0]                 m_cls,
    // bytes of packet_out header before the packet (parse and count from there)
    output reg  [15:0]                m_pre,
    // packet_out mode 0: the output port; both modes: bytes not sent
    output reg  [15:0]                m_oport,
    output reg  [15:0]                m_skip,
    // mode 1: the header is shifted by the 4-byte packet_out header
    output reg                        m_shift
);

`include "ztnic_regmap.vh"
`include "ztnic_reasons.vh"
`include "ztnic_phv.vh"

initial begin
    if (PORT_CLASS_LOG2 < 1 || PORT_CLASS_LOG2 > 16) begin
        $error("ztnic_port_class: PORT_CLASS_LOG2 must be in 1..16");
        $finish;
    end
end

reg [1:0] port_class [0:(1<<PORT_CLASS_LOG2)-1];

integer ii;
initial begin
    for (ii = 0; ii < (1<<PORT_CLASS_LOG2); ii = ii + 1) port_class[ii] = 2'd0;
end

always @(posedge clk) begin
    if (wr_en) port_class[wr_index] <= wr_data;
end

assign rd_data = port_class[rd_index];

// port class of the ingress port and of a packet_out's target port
wire [15:0] po_port = {hdr[7:0], hdr[15:8]};
wire [1:0] class_in = (port >> PORT_CLASS_LOG2) == 0 ? port_class[port[PORT_CLASS_LOG2-1:0]] : 2'd0;
wire [1:0] class_po = (po_port >> PORT_CLASS_LOG2) == 0 ? port_class[po_port[PORT_CLASS_LOG2-1:0]] : 2'd0;

always @* begin
    m_vd = 0;
    m_port = port;
    m_pre = 0;
    m_oport = 0;
    m_skip = 0;
    m_shift = 1'b0;
    m_cls = class_in;
    if (oversize) begin
        m_vd = vd(1'b0, DROP_OVERSIZE);
    end else if (class_in == PORT_CLASS_NONE[1:0]) begin
        m_vd = vd(1'b0, DROP_UNKNOWN_PORT);
    end else if (class_in == PORT_CLASS_CPU[1:0]) begin
        if (len < 4) begin
            m_vd = vd(1'b0, DROP_BAD_PACKET_OUT);
        end else if (hdr[16 +: 8] == 8'd0) begin
            // mode 0: the rest of the packet out of `port` unchanged
            m_vd = {1'b1, V_FWD, 8'd0};
            m_oport = po_port;
            m_skip = 16'd4;
        end else if (hdr[16 +: 8] == 8'd1) begin
            // mode 1: through the pipeline as if it arrived on `port`
            m_port = po_port;
            m_pre = 16'd4;
            m_skip = 16'd4;
            m_cls = class_po;
            m_shift = 1'b1;
            if (class_po == PORT_CLASS_NONE[1:0]) begin
                m_vd = vd(1'b0, DROP_UNKNOWN_PORT);
            end else if (class_po == PORT_CLASS_CPU[1:0]) begin
                m_vd = vd(1'b0, DROP_BAD_PACKET_OUT);
            end
        end else begin
            m_vd = vd(1'b0, DROP_BAD_PACKET_OUT);
        end
    end
end

endmodule

`resetall
