// Conntrack aging sweep (docs/datapath.md §5): walks every slot of the four conntrack
// ways on their port B in the clocks nobody else uses it, and clears the entries that
// have expired, with a ct_expired event naming the slot.
//
// The sweep position counts through way 0 slot 0 .. way 3 slot 2^CT_ADDR_W-1 and wraps
// (the whole RAM, whatever config.ct_buckets is). One slot takes two clocks of `en`
// (no control-plane access this clock): a read of the slot, then the check of what it
// read, which clears it (a port-B write of zeros) if it is valid and expired
// (ct_expired: idle time now - last_seen, zero if last_seen is ahead, at least the
// timeout of its kind and state, config.timeout[]) and moves on to the next slot. A
// clock in which the data plane writes the slot's way (dp_we) leaves the port to it:
// the read waits, or the check is dropped and the slot read again. The check also
// waits for a clock without a packet event (evt_busy), since the event output carries
// one record per clock, and a clock without `en` drops a pending check.
//
// The event record (evt_data, valid in the clock of the clear, combinational) is kind
// ct_expired, time ts_us[31:0], hash the slot {way, index} as ct_new's is.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_ct_sweep #(
    // log2 of the conntrack buckets per way (the RAM's size, 1..16)
    parameter CT_ADDR_W = 10,
    // Width of a conntrack entry (must be the regmap's L_CONNTRACK_W)
    parameter CT_W = 762
) (
    input  wire                        clk,
    input  wire                        rst,

    // time in microseconds
    input  wire [63:0]                 ts_us,
    // config.timeout[0..15] in microseconds, index i at bits 64*i
    input  wire [64*16-1:0]            cfg_timeouts,

    // the sweep may use port B this clock (no control-plane access)
    input  wire                        en,
    // the data plane writes these ways on port B this clock
    input  wire [3:0]                  dp_we,
    // a packet event leaves this clock (the event output is taken)
    input  wire                        evt_busy,

    // port B of the conntrack ways: the sweep's read or clear (data zero)
    output reg  [3:0]                  b_en,
    output reg                         b_clear,
    output wire [CT_ADDR_W-1:0]        b_addr,
    input  wire [4*CT_W-1:0]           b_rdata,

    // the ct_expired record of the slot cleared this clock
    output reg  [127:0]                evt_data,
    output reg                         evt_valid
);

`include "ztnic_regmap.vh"

initial begin
    if (CT_ADDR_W < 1 || CT_ADDR_W > 16) begin
        $error("ztnic_ct_sweep: CT_ADDR_W must be in 1..16");
        $finish;
    end
    if (CT_W != L_CONNTRACK_W) begin
        $error("ztnic_ct_sweep: CT_W must be L_CONNTRACK_W (the regmap's conntrack entry)");
        $finish;
    end
end

// the entry's timeout: config.timeout[] of its kind and (TCP) state
function [63:0] ct_timeout(input [L_CONNTRACK_W-1:0] e, input [64*16-1:0] t);
    reg [3:0] idx;
    reg [3:0] st;
    begin
        st = e[L_CONNTRACK_STATE_LSB +: 4];
        case (e[L_CONNTRACK_KIND_LSB +: 2])
            CT_KIND_TCP[1:0]: idx = (st <= 4'd1) ? TIMEOUT_TCP_SYN_SENT[3:0] : ((st <= 4'd9) ? st - 4'd1 : TIMEOUT_TCP_SYN_SENT[3:0]);
            CT_KIND_UDP[1:0]: idx = e[L_CONNTRACK_REPLIED_LSB] ? TIMEOUT_UDP_REPLIED[3:0] : TIMEOUT_UDP_UNREPLIED[3:0];
            CT_KIND_ICMP[1:0]: idx = TIMEOUT_ICMP[3:0];
            default: idx = TIMEOUT_OTHER[3:0];
        endcase
        ct_timeout = t[64*idx +: 64];
    end
endfunction

/* verilator lint_off UNUSEDSIGNAL */
// only the kind, state, replied and last_seen fields are read
function ct_expired(input [L_CONNTRACK_W-1:0] e, input [63:0] now, input [64*16-1:0] t);
    reg [63:0] last;
    reg [63:0] idle;
    begin
        last = e[L_CONNTRACK_LAST_SEEN_LSB +: 64];
        idle = (now > last) ? now - last : 64'd0;
        ct_expired = idle >= ct_timeout(e, t);
    end
endfunction
/* verilator lint_on UNUSEDSIGNAL */

// sweep position {way, index}; a read is pending its check
reg [CT_ADDR_W+1:0] pos_reg = 0, pos_next;
reg chk_reg = 1'b0, chk_next;

wire [1:0] way = pos_reg[CT_ADDR_W +: 2];
wire [L_CONNTRACK_W-1:0] entry = b_rdata[way*L_CONNTRACK_W +: L_CONNTRACK_W];

assign b_addr = pos_reg[CT_ADDR_W-1:0];

always @* begin
    pos_next = pos_reg;
    chk_next = 1'b0;
    b_en = 4'd0;
    b_clear = 1'b0;
    evt_valid = 1'b0;
    evt_data = 128'd0;

    if (en) begin
        if (!chk_reg) begin
            // read one slot when the data plane leaves its way alone
            if (!dp_we[way]) begin
                b_en = 4'd1 << way;
                chk_next = 1'b1;
            end
        end else begin
            // ... and remove it the next clock if it expired (else retry the slot)
            if (!dp_we[way] && !evt_busy) begin
                if (entry[L_CONNTRACK_VALID_LSB] && ct_expired(entry, ts_us, cfg_timeouts)) begin
                    b_en = 4'd1 << way;
                    b_clear = 1'b1;
                    evt_valid = 1'b1;
                    // the record names the slot, as ct_new's does (regmap `event.hash`)
                    evt_data[L_EVENT_KIND_LSB +: 8] = EVENT_KIND_CT_EXPIRED[7:0];
                    evt_data[L_EVENT_HASH_LSB +: 32] = {{(30 - CT_ADDR_W){1'b0}}, pos_reg};
                    evt_data[L_EVENT_TIME_LSB +: 32] = ts_us[31:0];
                end
                pos_next = pos_reg + 1'b1;
            end
        end
    end
end

always @(posedge clk) begin
    pos_reg <= pos_next;
    chk_reg <= chk_next;

    if (rst) begin
        pos_reg <= 0;
        chk_reg <= 1'b0;
    end
end

endmodule

`resetall
