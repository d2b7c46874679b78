// Combinational CRCs over a byte string given as a big-endian vector (byte 0 in the
// most significant bits): CRC-32/IEEE (reflected, poly 0x04C11DB7,
// init and xor-out 0xFFFFFFFF) --
// bmv2's crc32: the conntrack h32 and the table hash.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ztnic_crc32 #(
    // Length of the input in bytes
    parameter BYTES = 4
) (
    input  wire [8*BYTES-1:0] data,
    output wire [31:0]        crc
);

initial begin
    if (BYTES < 1) begin
        $error("ztnic_crc32: BYTES must be at least 1");
        $finish;
    end
end

function [31:0] calc(input [8*BYTES-1:0] d);
    integer i, j;
    reg [31:0] c;
    begin
        c = 32'hffffffff;
        for (i = 0; i < BYTES; i = i + 1) begin
            c = c ^ {24'd0, d[8*(BYTES-1-i) +: 8]};
            for (j = 0; j < 8; j = j + 1) begin
                c = c[0] ? ((c >> 1) ^ 32'hedb88320) : (c >> 1);
            end
        end
        calc = ~c;
    end
endfunction

assign crc = calc(data);

endmodule

`resetall
