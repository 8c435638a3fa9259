// cnn_weight_table: every weight of a .mem file at once, word n of the file at
// [n*8 +: 8] (a cnn_weight_rom with one read port per word at a constant address).
// Latency: combinational (0 cycles).
module cnn_weight_table #(
  parameter         WeightsDir = "vectors/weights",
  parameter         FileName   = "weights.mem",
  parameter integer Depth      = 3
) (
  output wire [Depth*8-1:0] data_o
);

  localparam integer AddrW = (Depth > 1) ? $clog2(Depth) : 1;

  wire [Depth*AddrW-1:0] addr;

  genvar n;
  generate
    for (n = 0; n < Depth; n = n + 1) begin : g_addr
      localparam [AddrW-1:0] Addr = n;
      assign addr[n*AddrW +: AddrW] = Addr;
    end
  endgenerate

  cnn_weight_rom #(
    .WeightsDir(WeightsDir),
    .FileName  (FileName),
    .Depth     (Depth),
    .NumPorts  (Depth),
    .AddrW     (AddrW)
  ) u_rom (
    .addr_i(addr),
    .data_o(data_o)
  );

endmodule
