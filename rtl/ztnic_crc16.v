// Combinational CRC-16/ARC (reflected, poly 0x8005, init 0, xor-out 0) over a byte
// string given as a big-endian vector (byte 0 in the most significant bits) --
// bmv2's crc16: the conntrack h16.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_crc16 #(
    // Length of the input in bytes
    parameter BYTES = 4
) (
    input  wire [8*BYTES-1:0] data,
    output wire [15:0]        crc
);

initial begin
    if (BYTES < 1) begin
        $error("ztnic_crc16: BYTES must be at least 1");
        $finish;
    end
end

function [15:0] calc(input [8*BYTES-1:0] d);
    integer i, j;
    reg [15:0] c;
    begin
        c = 16'h0000;
        for (i = 0; i < BYTES; i = i + 1) begin
            c = c ^ {8'd0, d[8*(BYTES-1-i) +: 8]};
            for (j = 0; j < 8; j = j + 1) begin
                c = c[0] ? ((c >> 1) ^ 16'ha001) : (c >> 1);
            end
        end
        calc = c;
    end
endfunction

assign crc = calc(data);

endmodule

`resetall
