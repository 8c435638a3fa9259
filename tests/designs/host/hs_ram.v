// hs_ram: the engine's scratch RAM, Depth words of Width bits, one write port and Ports
// registered read ports. A word is written at the rising edge of a cycle with we_i high;
// read port p: rd_data_o[p*Width +: Width] holds word rd_addr_i[p*AddrW +: AddrW] from the
// edge after the address was presented (latency 1 cycle; a read of the word written at
// the same edge returns the old word). No reset: the engine writes every word before it
// reads it (hs_conv fills the conv1 map before hs_pool reads it, hs_pool the features
// before hs_fc).
module hs_ram #(
  parameter integer Width = 14,
  parameter integer Depth = 1452,
  parameter integer Ports = 1,
  parameter integer AddrW = $clog2(Depth)
) (
  input  wire                   clk_i,
  input  wire                   we_i,
  input  wire [AddrW-1:0]       wr_addr_i,
  input  wire [Width-1:0]       wr_data_i,
  input  wire [Ports*AddrW-1:0] rd_addr_i,
  output wire [Ports*Width-1:0] rd_data_o
);

  reg [Width-1:0] mem_q [0:Depth-1];

  always @(posedge clk_i) begin
    if (we_i) mem_q[wr_addr_i] <= wr_data_i;
  end

  genvar p;
  generate
    for (p = 0; p < Ports; p = p + 1) begin : g_port
      reg [Width-1:0] data_q;

      always @(posedge clk_i) data_q <= mem_q[rd_addr_i[p*AddrW +: AddrW]];

      assign rd_data_o[p*Width +: Width] = data_q;
    end
  endgenerate

endmodule
