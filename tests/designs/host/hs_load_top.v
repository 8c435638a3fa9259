// hs_load_top: the host-loaded seed-network engine (hs_core) behind a plain load port.
//
// Every cycle with load_we_i high writes the 32-bit word load_data_i (all four byte lanes)
// at word load_addr_i of memory load_sel_i: 0 image, 1 conv1 weights, 2 conv1 bias, 3 fc
// weights, 4 fc bias (5..7 and words beyond a memory are ignored); no handshake. Packing:
// see hs_core / README.md. start_i (a one-cycle pulse, taken when not busy) computes the
// loaded image; done_o is a LEVEL, high from the cycle class_o holds the class until the
// cycle after the next start_i. Latency: start_i in cycle s -> done_o from s+11,281.
// Memories must not be written between start_i and done_o.
//
// Fault (verification aid, default 0 = correct): 1: done_o never rises; 3: byte lane 2
// (load_data_i[23:16]) of every word is dropped. Other values: correct.
module hs_load_top #(
  parameter integer Fault = 0
) (
  input  wire        clk_i,
  input  wire        rst_ni,       // synchronous, active low
  input  wire        load_we_i,
  input  wire [2:0]  load_sel_i,
  input  wire [11:0] load_addr_i,  // word address within the selected memory
  input  wire [31:0] load_data_i,
  input  wire        start_i,
  output wire        done_o,
  output wire [3:0]  class_o
);

  // the load port has no read-back and no busy output
  /* verilator lint_off UNUSEDSIGNAL */
  wire [31:0] rd_data;
  wire        busy;
  /* verilator lint_on UNUSEDSIGNAL */

  hs_core #(
    .Fault(Fault)
  ) u_core (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .wr_en_i  (load_we_i),
    .wr_sel_i (load_sel_i),
    .wr_addr_i(load_addr_i),
    .wr_data_i(load_data_i),
    .wr_be_i  (4'b1111),
    .rd_sel_i (3'd7),
    .rd_addr_i(12'd0),
    .rd_data_o(rd_data),
    .start_i  (start_i),
    .done_o   (done_o),
    .busy_o   (busy),
    .class_o  (class_o)
  );

endmodule
