// Egress of the datapath: for each verdict descriptor, reads the frame's beats from the
// frame FIFO and sends `prefix[0 .. plen) ++ frame[skip .. end)` on m_axis with the
// output port in tuser (encapsulation, punt header, decapsulation and packet-out
// stripping are all this one operation), or discards the beats of a dropped frame.
//
// Two stages with a two-entry skid buffer between them, every path a few levels of
// logic (250 MHz on UltraScale+, docs/rtl.md):
//
//   chunker  turns the prefix (a beat at a time) and each FIFO word into a chunk: the
//            valid bytes, trimmed to [skip, end) and moved to byte 0, with their count
//            and whether the chunk is its frame's first and whether it holds the
//            frame's last byte (a word with no byte to send makes no chunk). Each word's trim
//            window (`lo`, `hi`) is computed the clock before, from the bytes of skip
//            and end still ahead; it stops only when the skid buffer is full, a flag
//            of its own.
//   gearbox  packs chunks into beats in a two-beat accumulator. It holds one frame at
//            a time (a frame's first chunk waits until the previous frame's last beat
//            leaves); a beat leaves when it is full or is the frame's last (the last
//            chunk is in and at most a beat of bytes is left). The byte count's flags
//            (non-zero, at least a beat, more than a beat, exactly one or two beats)
//            are kept in registers, computed with the count.
//
// One word and one beat per clock, and the next frame starts in the clock after the
// previous frame's last word, so unmodified frames leave as fast as they arrive.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_egress #(
    // Width of AXI4-Stream tdata in bits (64..512, a power of two)
    parameter DATA_W = 512,
    // Width of tkeep (one bit per byte)
    parameter KEEP_W = DATA_W / 8,
    // Width of tuser: the port number
    parameter USER_W = 16,
    // Largest prefix in bytes
    parameter PREFIX_BYTES = 64
) (
    input  wire                      clk,
    input  wire                      rst,

    // verdict descriptor
    input  wire                      desc_drop,
    input  wire [USER_W-1:0]         desc_port,
    input  wire [6:0]                desc_plen,
    input  wire [8*PREFIX_BYTES-1:0] desc_prefix,
    input  wire [15:0]               desc_skip,
    input  wire [15:0]               desc_end,
    input  wire [15:0]               desc_words,
    input  wire                      desc_valid,
    output wire                      desc_ready,

    // frame FIFO read side
    input  wire [DATA_W-1:0]         data_rd,
    input  wire                      data_rd_valid,
    output wire                      data_rd_ready,

    output wire [DATA_W-1:0]         m_axis_tdata,
    output wire [KEEP_W-1:0]         m_axis_tkeep,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready,
    output wire                      m_axis_tlast,
    output wire [USER_W-1:0]         m_axis_tuser,

    // one-cycle pulse per frame sent
    output wire                      frame_done
);

localparam B = KEEP_W;
// bits of a byte count 0..2B
localparam CW = $clog2(2 * B + 1);
// beats of the largest prefix, and the prefix padded to whole beats
localparam PB = (PREFIX_BYTES + B - 1) / B;
localparam PIW = PB > 1 ? $clog2(PB) : 1;
/* verilator lint_off WIDTH */
localparam [CW-1:0] BC = B;
localparam [CW-1:0] B2C = 2 * B;
localparam [16:0] B17 = B;
localparam [7:0] B8 = B;
/* verilator lint_on WIDTH */

initial begin
    if (DATA_W < 64 || DATA_W > 512 || (DATA_W & (DATA_W - 1)) != 0) begin
        $error("ztnic_egress: DATA_W must be a power of two in 64..512");
        $finish;
    end
    if (KEEP_W * 8 != DATA_W) begin
        $error("ztnic_egress: KEEP_W must be DATA_W / 8");
        $finish;
    end
    if (PREFIX_BYTES < 1 || PREFIX_BYTES > 127) begin
        $error("ztnic_egress: PREFIX_BYTES must be in 1..127");
        $finish;
    end
end

// min(x, B) of a byte count still ahead
function [CW-1:0] clamp_b(input [16:0] x);
    clamp_b = x >= B17 ? BC : x[CW-1:0];
endfunction

// x - B, or 0 below B
function [16:0] sub_b(input [16:0] x);
    sub_b = x >= B17 ? x - B17 : 17'd0;
endfunction

// a word with skip s and end e still ahead of its start holds bytes to send
function word_bytes(input [16:0] s, input [16:0] e);
    word_bytes = e > s && s < B17 && e != 17'd0;
endfunction

// ... and holds the byte before end
function word_final(input [16:0] e);
    word_final = e != 17'd0 && e <= B17;
endfunction

// ---------------------------------------------------------------------------
// chunker
// ---------------------------------------------------------------------------
reg cur_valid_reg = 1'b0;
reg cur_drop_reg = 1'b0;
reg [USER_W-1:0] cur_port_reg = 0;
reg [8*B*PB-1:0] cur_prefix_reg = 0;
// prefix bytes not sent yet, and the prefix beat they start in
reg [6:0] pre_left_reg = 0;
reg [PIW-1:0] pre_idx_reg = 0;
// words of the frame not read yet; the current word is its frame's last
reg [15:0] words_left_reg = 0;
reg wlast_reg = 1'b0;
// the current word's bytes [lo, hi) are sent; skip and end beyond the next word's start
reg [CW-1:0] lo_reg = 0, hi_reg = 0;
reg [16:0] skip_nx_reg = 0, end_nx_reg = 0;
// a chunk of this frame has been made
reg started_reg = 1'b0;
// the frame sends bytes of its own (end > skip); the current word holds bytes to send,
// and holds the frame's last byte
reg has_data_reg = 1'b0;
reg wbytes_reg = 1'b0, wfinal_reg = 1'b0;

// skid buffer: e0 is the gearbox's input, e1 holds a chunk made while e0 was not taken
reg e0_valid_reg = 1'b0, e1_valid_reg = 1'b0;
reg [DATA_W-1:0] e0_data_reg = 0, e1_data_reg = 0;
reg [CW-1:0] e0_cnt_reg = 0, e1_cnt_reg = 0;
reg e0_first_reg = 1'b0, e1_first_reg = 1'b0;
reg e0_last_reg = 1'b0, e1_last_reg = 1'b0;
reg [USER_W-1:0] e0_port_reg = 0, e1_port_reg = 0;

// the prefix padded to whole beats
/* verilator lint_off WIDTH */
wire [8*B*PB-1:0] prefix_pad = desc_prefix;
/* verilator lint_on WIDTH */

// the chunker moves while the skid buffer has room
wire room1 = !e1_valid_reg;
wire pre_chunk = cur_valid_reg && !cur_drop_reg && pre_left_reg != 7'd0;
wire word_in = cur_valid_reg && (cur_drop_reg || pre_left_reg == 7'd0) && data_rd_valid;
// a word with no byte to send (before skip, after end) is read and makes no chunk
wire word_pop = word_in && (cur_drop_reg || !wbytes_reg || room1);
wire make = room1 && (pre_chunk || (word_in && !cur_drop_reg && wbytes_reg));
wire desc_take = desc_valid && (!cur_valid_reg || (word_pop && wlast_reg));

assign desc_ready = desc_take;
assign data_rd_ready = word_pop;

// the chunk made this clock
reg [DATA_W-1:0] mk_data;
reg [CW-1:0] mk_cnt;
reg [DATA_W-1:0] word_kept;
reg [DATA_W-1:0] pre_beat;
integer j, p;
always @* begin
    pre_beat = {DATA_W{1'b0}};
    for (p = 0; p < PB; p = p + 1) begin
        if ({{(32-PIW){1'b0}}, pre_idx_reg} == p) begin
            pre_beat = cur_prefix_reg[8*B*p +: DATA_W];
        end
    end
    for (j = 0; j < B; j = j + 1) begin
        word_kept[8*j +: 8] = ({{(32-CW){1'b0}}, lo_reg} <= j && j < {{(32-CW){1'b0}}, hi_reg})
            ? data_rd[8*j +: 8] : 8'd0;
    end
    if (pre_chunk) begin
        // the prefix beat; bytes past the prefix's end are noise, cleared
        for (j = 0; j < B; j = j + 1) begin
            mk_data[8*j +: 8] = j < {25'd0, pre_left_reg} ? pre_beat[8*j +: 8] : 8'd0;
        end
        mk_cnt = clamp_b({10'd0, pre_left_reg});
    end else begin
        mk_data = word_kept >> (8 * lo_reg);
        mk_cnt = hi_reg > lo_reg ? hi_reg - lo_reg : {CW{1'b0}};
    end
end
// the chunk holding the frame's last byte: the last prefix beat of a frame with no bytes
// of its own, else the word holding byte end - 1
wire mk_last = pre_chunk ? (!has_data_reg && pre_left_reg <= B8[6:0]) : wfinal_reg;

// ---------------------------------------------------------------------------
// gearbox
// ---------------------------------------------------------------------------
reg [2*DATA_W-1:0] acc_reg = 0;
reg [CW-1:0] cnt_reg = 0;
// flags of cnt_reg: non-zero, >= B, > B, == B, == 2B
reg nz_reg = 1'b0, full_reg = 1'b0, over_reg = 1'b0, eq1_reg = 1'b0, eq2_reg = 1'b0;
// the frame's last chunk is in the accumulator
reg tail_reg = 1'b0;
reg [USER_W-1:0] port_reg = 0;

wire out_valid = full_reg || (tail_reg && nz_reg);
wire out_last = tail_reg && nz_reg && !over_reg;
wire out_fire = out_valid && m_axis_tready;
// room for a chunk after this clock's beat; a first chunk once the last frame is out
wire room2 = !over_reg || m_axis_tready;
wire prev_out = !nz_reg || (m_axis_tready && out_last);
wire take = e0_valid_reg && (e0_first_reg ? prev_out : room2);

assign m_axis_tdata = acc_reg[DATA_W-1:0];
assign m_axis_tvalid = out_valid;
assign m_axis_tlast = out_last;
assign m_axis_tuser = port_reg;
assign frame_done = out_fire && out_last;

genvar k;
generate
    for (k = 0; k < KEEP_W; k = k + 1) begin : g_keep
        assign m_axis_tkeep[k] = full_reg || k < cnt_reg;
    end
endgenerate

// Bytes left after this clock's beat: cnt (no beat), cnt - B (a full beat), 0 (the
// frame's last beat, at most B bytes). A chunk taken goes right after them: at byte
// cnt mod B of the low beat, or at byte 0 of the high beat when exactly B are left.
wire cut = out_fire && !full_reg;
wire at_hi = (eq1_reg && !out_fire) || (eq2_reg && out_fire);
wire [2*DATA_W-1:0] acc_after = out_fire ? {{DATA_W{1'b0}}, acc_reg[2*DATA_W-1:DATA_W]} : acc_reg;
wire [2*DATA_W-1:0] sh_cnt = {{DATA_W{1'b0}}, e0_data_reg} << (8 * cnt_reg[$clog2(B)-1:0]);
reg [2*DATA_W-1:0] placed;
always @* begin
    if (at_hi) begin
        placed = {e0_data_reg, {DATA_W{1'b0}}};
    end else if (cut) begin
        placed = {{DATA_W{1'b0}}, e0_data_reg};
    end else begin
        placed = sh_cnt;
    end
end

// the new count from candidates computed in parallel, with their flags
wire [CW-1:0] base_keep = cnt_reg;
wire [CW-1:0] base_beat = cnt_reg - BC;
wire [CW-1:0] add_keep = cnt_reg + e0_cnt_reg;
wire [CW-1:0] add_beat = cnt_reg - BC + e0_cnt_reg;
wire [CW-1:0] add_zero = e0_cnt_reg;
reg [CW-1:0] cnt_next;
always @* begin
    case ({take, out_fire, full_reg})
        3'b000, 3'b001: cnt_next = base_keep;
        3'b011: cnt_next = base_beat;
        3'b010: cnt_next = {CW{1'b0}};
        3'b100, 3'b101: cnt_next = add_keep;
        3'b111: cnt_next = add_beat;
        default: cnt_next = add_zero;
    endcase
end

always @(posedge clk) begin
    // ---- chunker ----
    if (pre_chunk && room1) begin
        pre_left_reg <= pre_left_reg > B8[6:0] ? pre_left_reg - B8[6:0] : 7'd0;
        pre_idx_reg <= pre_idx_reg + 1'b1;
    end
    if (make) begin
        started_reg <= 1'b1;
    end
    if (word_pop) begin
        words_left_reg <= words_left_reg - 16'd1;
        wlast_reg <= words_left_reg == 16'd2;
        lo_reg <= clamp_b(skip_nx_reg);
        hi_reg <= clamp_b(end_nx_reg);
        wbytes_reg <= word_bytes(skip_nx_reg, end_nx_reg);
        wfinal_reg <= has_data_reg && word_final(end_nx_reg);
        skip_nx_reg <= sub_b(skip_nx_reg);
        end_nx_reg <= sub_b(end_nx_reg);
        if (wlast_reg) begin
            cur_valid_reg <= 1'b0;
        end
    end
    if (desc_take) begin
        cur_valid_reg <= 1'b1;
        cur_drop_reg <= desc_drop;
        cur_port_reg <= desc_port;
        cur_prefix_reg <= prefix_pad;
        pre_left_reg <= desc_drop ? 7'd0 : desc_plen;
        pre_idx_reg <= 0;
        words_left_reg <= desc_words;
        wlast_reg <= desc_words == 16'd1;
        lo_reg <= clamp_b({1'b0, desc_skip});
        hi_reg <= clamp_b({1'b0, desc_end});
        has_data_reg <= desc_end > desc_skip;
        wbytes_reg <= word_bytes({1'b0, desc_skip}, {1'b0, desc_end});
        wfinal_reg <= desc_end > desc_skip && word_final({1'b0, desc_end});
        skip_nx_reg <= sub_b({1'b0, desc_skip});
        end_nx_reg <= sub_b({1'b0, desc_end});
        started_reg <= 1'b0;
    end

    // ---- skid buffer ----
    if (take) begin
        if (e1_valid_reg) begin
            e0_data_reg <= e1_data_reg;
            e0_cnt_reg <= e1_cnt_reg;
            e0_first_reg <= e1_first_reg;
            e0_last_reg <= e1_last_reg;
            e0_port_reg <= e1_port_reg;
        end else begin
            e0_data_reg <= mk_data;
            e0_cnt_reg <= mk_cnt;
            e0_first_reg <= !started_reg;
            e0_last_reg <= mk_last;
            e0_port_reg <= cur_port_reg;
        end
        e0_valid_reg <= e1_valid_reg || make;
        e1_valid_reg <= 1'b0;
    end else if (!e0_valid_reg) begin
        e0_data_reg <= mk_data;
        e0_cnt_reg <= mk_cnt;
        e0_first_reg <= !started_reg;
        e0_last_reg <= mk_last;
        e0_port_reg <= cur_port_reg;
        e0_valid_reg <= make;
    end else if (make) begin
        e1_valid_reg <= 1'b1;
    end
    if (make && (e1_valid_reg || (e0_valid_reg && !take))) begin
        e1_data_reg <= mk_data;
        e1_cnt_reg <= mk_cnt;
        e1_first_reg <= !started_reg;
        e1_last_reg <= mk_last;
        e1_port_reg <= cur_port_reg;
    end

    // ---- gearbox ----
    acc_reg <= acc_after | (take ? placed : {2*DATA_W{1'b0}});
    cnt_reg <= cnt_next;
    nz_reg <= cnt_next != 0;
    full_reg <= cnt_next >= BC;
    over_reg <= cnt_next > BC;
    eq1_reg <= cnt_next == BC;
    eq2_reg <= cnt_next == B2C;
    if (take && e0_first_reg) begin
        tail_reg <= e0_last_reg;
        port_reg <= e0_port_reg;
    end else if (take && e0_last_reg) begin
        tail_reg <= 1'b1;
    end else if (out_fire && out_last) begin
        tail_reg <= 1'b0;
    end

    if (rst) begin
        cur_valid_reg <= 1'b0;
        e0_valid_reg <= 1'b0;
        e1_valid_reg <= 1'b0;
        cnt_reg <= 0;
        nz_reg <= 1'b0;
        full_reg <= 1'b0;
        over_reg <= 1'b0;
        eq1_reg <= 1'b0;
        eq2_reg <= 1'b0;
        tail_reg <= 1'b0;
    end
end

endmodule

`resetall
