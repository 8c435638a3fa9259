// lenet5_axil_slave: AXI4-Lite slave front end (32-bit data, AddrW-bit byte addresses).
// Write: AW and W are taken independently into one holding register each (each ready
// while its register is empty, so they may come in the same cycle or in either order,
// with any gap). When both are held and no write response is pending, the write is
// performed: a one-cycle command wr_valid_o with the word address, data and byte-lane
// enables, and BVALID rises the next cycle and stays high until BREADY. wr_hold_i (a
// function of wr_addr_o and the design's state) delays the command, e.g. an image write
// while an inference reads the image.
// Write strobes: this is the only place WSTRB is looked at. wr_be_o[k] = wr_valid_o &&
// WSTRB[k]; every memory and register writes byte lane k (bits 8k+7..8k) only when
// wr_be_o[k] is high, so a lane with strobe 0 is never written.
// Read: ARREADY is high while no read response is pending; on the AR handshake rd_addr_o
// (= ARADDR's word address, combinational) selects rd_data_i, which is registered into
// RDATA; RVALID rises the next cycle and stays high until RREADY.
// Responses are always OKAY (BRESP = RRESP = 0).
// Latency: write command 1 cycle after both AW and W are held (AW/W handshake in cycle t,
// command in t+1, BVALID in t+2); read data 1 cycle after the AR handshake.
module lenet5_axil_slave #(
  parameter integer AddrW = 17
) (
  input  wire             clk_i,
  input  wire             rst_ni,

  input  wire             s_axil_awvalid_i,
  output wire             s_axil_awready_o,
  input  wire [AddrW-1:0] s_axil_awaddr_i,
  input  wire             s_axil_wvalid_i,
  output wire             s_axil_wready_o,
  input  wire [31:0]      s_axil_wdata_i,
  input  wire [3:0]       s_axil_wstrb_i,
  output wire             s_axil_bvalid_o,
  input  wire             s_axil_bready_i,
  output wire [1:0]       s_axil_bresp_o,
  input  wire             s_axil_arvalid_i,
  output wire             s_axil_arready_o,
  input  wire [AddrW-1:0] s_axil_araddr_i,
  output wire             s_axil_rvalid_o,
  input  wire             s_axil_rready_i,
  output wire [31:0]      s_axil_rdata_o,
  output wire [1:0]       s_axil_rresp_o,

  input  wire             wr_hold_i,   // delay the pending write command
  output wire             wr_valid_o,  // one cycle per write
  output wire [AddrW-3:0] wr_addr_o,   // word address (byte address >> 2)
  output wire [31:0]      wr_data_o,
  output wire [3:0]       wr_be_o,     // byte lane k written: wr_valid_o && WSTRB[k]

  output wire [AddrW-3:0] rd_addr_o,   // word address of the read being accepted
  input  wire [31:0]      rd_data_i    // the register at rd_addr_o, this cycle
);

  // write address / data holding registers
  reg             aw_full_q;
  reg [AddrW-3:0] aw_addr_q;
  reg             w_full_q;
  reg [31:0]      w_data_q;
  reg [3:0]       w_strb_q;
  reg             bvalid_q;

  wire aw_take = s_axil_awvalid_i && !aw_full_q;
  wire w_take  = s_axil_wvalid_i && !w_full_q;
  wire wr_go   = aw_full_q && w_full_q && !bvalid_q && !wr_hold_i;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      aw_full_q <= 1'b0;
      w_full_q  <= 1'b0;
      bvalid_q  <= 1'b0;
    end else begin
      if (aw_take)    aw_full_q <= 1'b1;
      else if (wr_go) aw_full_q <= 1'b0;
      if (w_take)     w_full_q  <= 1'b1;
      else if (wr_go) w_full_q  <= 1'b0;
      if (wr_go)                            bvalid_q <= 1'b1;
      else if (bvalid_q && s_axil_bready_i) bvalid_q <= 1'b0;
    end
  end

  // the address bits below the word are not needed (every register is a 32-bit word)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [AddrW-1:0] awaddr = s_axil_awaddr_i;
  wire [AddrW-1:0] araddr = s_axil_araddr_i;
  /* verilator lint_on UNUSEDSIGNAL */

  always @(posedge clk_i) begin
    if (aw_take) aw_addr_q <= awaddr[AddrW-1:2];
    if (w_take) begin
      w_data_q <= s_axil_wdata_i;
      w_strb_q <= s_axil_wstrb_i;
    end
  end

  assign s_axil_awready_o = !aw_full_q;
  assign s_axil_wready_o  = !w_full_q;
  assign s_axil_bvalid_o  = bvalid_q;
  assign s_axil_bresp_o   = 2'b00;

  assign wr_valid_o = wr_go;
  assign wr_addr_o  = aw_addr_q;
  assign wr_data_o  = w_data_q;
  assign wr_be_o    = {4{wr_go}} & w_strb_q;

  // read channel
  reg        rvalid_q;
  reg [31:0] rdata_q;
  wire       ar_take = s_axil_arvalid_i && !rvalid_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      rvalid_q <= 1'b0;
    end else if (ar_take) begin
      rvalid_q <= 1'b1;
    end else if (rvalid_q && s_axil_rready_i) begin
      rvalid_q <= 1'b0;
    end
  end

  always @(posedge clk_i) begin
    if (ar_take) rdata_q <= rd_data_i;
  end

  assign rd_addr_o        = araddr[AddrW-1:2];
  assign s_axil_arready_o = !rvalid_q;
  assign s_axil_rvalid_o  = rvalid_q;
  assign s_axil_rdata_o   = rdata_q;
  assign s_axil_rresp_o   = 2'b00;

endmodule
