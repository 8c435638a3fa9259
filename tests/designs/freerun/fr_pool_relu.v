// fr_pool_relu: 2x2 max pooling (stride 2) followed by ReLU, for Channels
// channels in parallel, over an InSize x InSize raster stream (InSize even).
// ReLU is applied first (max(0, .) commutes with max), so all storage is
// OutW-bit unsigned. Per channel: a hold register for the even-column value, an
// InSize/2-entry row buffer (shift register) of horizontal pair maxima from the
// even row, and the output register written at odd row / odd column.
// data_o packs channel k at [k*OutW +: OutW] (unsigned).
// Latency: 1 cycle (the input beat completing a 2x2 block -> valid_o / data_o).
// (Copy of rtl/cnn_pool_relu.v with module names prefixed fr_.)
module fr_pool_relu #(
  parameter integer Channels = 3,
  parameter integer InW      = 14,
  parameter integer OutW     = 13,
  parameter integer InSize   = 22
) (
  input  wire                     clk_i,
  input  wire                     rst_ni,
  input  wire                     valid_i,
  input  wire [Channels*InW-1:0]  data_i,
  output wire                     valid_o,
  output wire [Channels*OutW-1:0] data_o
);

  localparam integer OutSize = InSize / 2;
  localparam integer PosW    = $clog2(InSize);

  // position of the beat being accepted; only the parities pick the 2x2 block (the
  // counter needs the full position to wrap at the end of a row and of the image)
  /* verilator lint_off UNUSEDSIGNAL */
  wire [PosW-1:0] col;
  wire [PosW-1:0] row;
  /* verilator lint_on UNUSEDSIGNAL */
  reg             valid_q;

  fr_raster_counter #(
    .Width (InSize),
    .Height(InSize)
  ) u_pos (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(valid_i),
    .col_o  (col),
    .row_o  (row)
  );

  wire odd_col   = col[0];
  wire block_end = valid_i && col[0] && row[0];

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= 1'b0;
    end else begin
      valid_q <= block_end;
    end
  end

  genvar k;
  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      wire [InW-1:0]  x     = data_i[k*InW +: InW];
      // ReLU; a non-negative InW-bit signed value always fits OutW = InW-1 bits
      wire [OutW-1:0] relu  = x[InW-1] ? {OutW{1'b0}} : x[OutW-1:0];

      reg  [OutW-1:0]         hold_q;
      reg  [OutSize*OutW-1:0] rowbuf_q;   // oldest pair maximum in the top slice
      reg  [OutW-1:0]         data_q;

      wire [OutW-1:0] pair  = (hold_q > relu) ? hold_q : relu;
      wire [OutW-1:0] above = rowbuf_q[OutSize*OutW-1 -: OutW];
      wire [OutW-1:0] quad  = (above > pair) ? above : pair;

      always @(posedge clk_i) begin
        if (valid_i && !odd_col) hold_q <= relu;
        // shifts once per column pair, so the top slice is the pair maximum of
        // the same pooled column one row earlier
        if (valid_i && odd_col) rowbuf_q <= {rowbuf_q[(OutSize-1)*OutW-1:0], pair};
      end

      always @(posedge clk_i) begin
        if (!rst_ni)        data_q <= {OutW{1'b0}};
        else if (block_end) data_q <= quad;
      end

      assign data_o[k*OutW +: OutW] = data_q;
    end
  endgenerate

  assign valid_o = valid_q;

endmodule
