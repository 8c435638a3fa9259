// hs_conv: the Conv2d layer (1 input channel, Channels outputs, K x K, stride 1, no
// padding) over the image in hs_mem, K multipliers wide (one kernel row per cycle).
//
// start_i (one cycle) starts a pass over every output in CHANNEL-MAJOR order: channel k,
// then row r, then column c (k < Channels, r, c < ConvSize = ImgSize-K+1). Output
// (k, r, c) takes K cycles, one per kernel row i: lane j reads pixel (r+i, c+j) (image
// byte (r+i)*ImgSize + c+j) and weight k*K*K + i*K + j, hs_dot sums the K products and
// the row sum is added to the accumulator. Then
//   conv_q = floor(acc / 2^Shift) + bias_k        (docs/fixed-point.md, OutW bits signed)
// is registered with a one-cycle conv_valid_q and the coordinates conv_ch_q, conv_row_q,
// conv_col_q, and written into the conv1 map RAM at k*ConvSize^2 + r*ConvSize + c.
//
// Pipeline: issue (addresses, cycle t) -> operands on the memory outputs (t+1, row sum
// accumulated at the edge ending t+1) -> complete sum in acc_q (t+K+1 for the output
// issued in t .. t+K-1) -> conv_q / conv_valid_q (t+K+2). Outputs follow each other every
// K cycles, so conv_valid_q is high one cycle in K. With start_i in cycle s the last beat
// (and done_o, one cycle) is in cycle s + Channels*ConvSize^2*K + 3 (s + 10,167 for the
// seed network).
module hs_conv #(
  parameter integer ImgSize  = 28,
  parameter integer K        = 7,
  parameter integer Channels = 3,
  parameter integer PixAW    = 10,  // byte address width of the image memory
  parameter integer WtAW     = 8,   // byte address width of the weight memory
  parameter integer BiasAW   = 4,   // byte address width of the bias memory (a value per word)
  parameter integer MapAW    = 11,  // address width of the conv1 map RAM
  parameter integer AccW     = 22,  // exact conv sum, 22 bits signed
  parameter integer Shift    = 8,
  parameter integer OutW     = 14   // = AccW - Shift: conv1, 14 bits signed
) (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               start_i,
  output wire [K*PixAW-1:0] pix_addr_o,   // lane j at [j*PixAW +: PixAW]
  input  wire [K*8-1:0]     pix_i,        // unsigned, latency 1
  output wire [K*WtAW-1:0]  wt_addr_o,    // lane j at [j*WtAW +: WtAW]
  input  wire [K*8-1:0]     wt_i,         // signed, latency 1
  output wire [BiasAW-1:0]  bias_addr_o,
  input  wire [7:0]         bias_i,       // signed, latency 1
  output wire               map_we_o,
  output wire [MapAW-1:0]   map_addr_o,
  output wire [OutW-1:0]    map_data_o,
  output wire               done_o        // one cycle, with the last conv_valid_q
);

  localparam integer ConvSize = ImgSize - K + 1;
  localparam integer ChW      = (Channels > 1) ? $clog2(Channels) : 1;
  localparam integer PosW     = $clog2(ConvSize);
  localparam integer TapW     = $clog2(K);
  localparam integer SumW     = 16 + $clog2(K);  // K products of 16 bits signed

  localparam integer    ChLastI  = Channels - 1;
  localparam integer    PosLastI = ConvSize - 1;
  localparam integer    TapLastI = K - 1;
  localparam [ChW-1:0]  ChLast   = ChLastI[ChW-1:0];
  localparam [PosW-1:0] PosLast  = PosLastI[PosW-1:0];
  localparam [TapW-1:0] TapLast  = TapLastI[TapW-1:0];

  // ---------------------------------------------------------------- issue counters
  reg            issue_q;  // kernel row tap_q of output (ch_q, row_q, col_q) issued
  reg [ChW-1:0]  ch_q;
  reg [PosW-1:0] row_q;
  reg [PosW-1:0] col_q;
  reg [TapW-1:0] tap_q;    // kernel row i

  wire tap_last = (tap_q == TapLast);
  wire col_last = (col_q == PosLast);
  wire row_last = (row_q == PosLast);
  wire ch_last  = (ch_q == ChLast);
  wire all_last = tap_last && col_last && row_last && ch_last;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      issue_q <= 1'b0;
      ch_q    <= {ChW{1'b0}};
      row_q   <= {PosW{1'b0}};
      col_q   <= {PosW{1'b0}};
      tap_q   <= {TapW{1'b0}};
    end else if (start_i) begin
      issue_q <= 1'b1;
      ch_q    <= {ChW{1'b0}};
      row_q   <= {PosW{1'b0}};
      col_q   <= {PosW{1'b0}};
      tap_q   <= {TapW{1'b0}};
    end else if (issue_q) begin
      if (all_last) issue_q <= 1'b0;
      if (!tap_last) begin
        tap_q <= tap_q + 1'b1;
      end else begin
        tap_q <= {TapW{1'b0}};
        if (!col_last) begin
          col_q <= col_q + 1'b1;
        end else begin
          col_q <= {PosW{1'b0}};
          if (!row_last) begin
            row_q <= row_q + 1'b1;
          end else begin
            row_q <= {PosW{1'b0}};
            ch_q  <= ch_last ? {ChW{1'b0}} : ch_q + 1'b1;
          end
        end
      end
    end
  end

  // ---------------------------------------------------------------- addresses
  wire [PixAW-1:0] pix_row  = PixAW'(row_q) + PixAW'(tap_q);
  wire [PixAW-1:0] pix_base = pix_row * PixAW'(ImgSize) + PixAW'(col_q);
  wire [WtAW-1:0]  wt_base  = WtAW'(ch_q) * WtAW'(K * K) + WtAW'(tap_q) * WtAW'(K);

  genvar j;
  generate
    for (j = 0; j < K; j = j + 1) begin : g_lane
      assign pix_addr_o[j*PixAW +: PixAW] = pix_base + PixAW'(j);
      assign wt_addr_o[j*WtAW +: WtAW]    = wt_base + WtAW'(j);
    end
  endgenerate

  // ---------------------------------------------------------------- accumulate (t+1)
  reg            b_valid_q;  // the operands of a kernel row are on the memory outputs
  reg            b_first_q;  // ... its first row
  reg            b_last_q;   // ... its last row
  reg            b_end_q;    // ... of the pass's last output
  reg [ChW-1:0]  b_ch_q;
  reg [PosW-1:0] b_row_q;
  reg [PosW-1:0] b_col_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      b_valid_q <= 1'b0;
      b_first_q <= 1'b0;
      b_last_q  <= 1'b0;
      b_end_q   <= 1'b0;
      b_ch_q    <= {ChW{1'b0}};
      b_row_q   <= {PosW{1'b0}};
      b_col_q   <= {PosW{1'b0}};
    end else begin
      b_valid_q <= issue_q;
      b_first_q <= (tap_q == {TapW{1'b0}});
      b_last_q  <= tap_last;
      b_end_q   <= all_last;
      b_ch_q    <= ch_q;
      b_row_q   <= row_q;
      b_col_q   <= col_q;
    end
  end

  wire [SumW-1:0] row_sum;

  hs_dot #(
    .N   (K),
    .AW  (8),
    .BW  (8),
    .SumW(SumW)
  ) u_dot (
    .a_i  (pix_i),
    .b_i  (wt_i),
    .sum_o(row_sum)
  );

  wire [AccW-1:0] row_sum_ext = {{(AccW-SumW){row_sum[SumW-1]}}, row_sum};
  reg  [AccW-1:0] acc_q;

  always @(posedge clk_i) begin
    if (!rst_ni)        acc_q <= {AccW{1'b0}};
    else if (b_valid_q) acc_q <= (b_first_q ? {AccW{1'b0}} : acc_q) + row_sum_ext;
  end

  // the bias of the output in the accumulate stage arrives with its complete sum
  assign bias_addr_o = BiasAW'({b_ch_q, 2'b00});

  // ---------------------------------------------------------------- result (t+K+1)
  reg            c_valid_q;  // acc_q holds the complete sum of output (c_ch_q, ...)
  reg            c_end_q;
  reg [ChW-1:0]  c_ch_q;
  reg [PosW-1:0] c_row_q;
  reg [PosW-1:0] c_col_q;
  reg [MapAW-1:0] map_ptr_q;  // map address of that output: channel-major raster index

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      c_valid_q <= 1'b0;
      c_end_q   <= 1'b0;
      c_ch_q    <= {ChW{1'b0}};
      c_row_q   <= {PosW{1'b0}};
      c_col_q   <= {PosW{1'b0}};
      map_ptr_q <= {MapAW{1'b0}};
    end else begin
      c_valid_q <= b_valid_q && b_last_q;
      c_end_q   <= b_valid_q && b_end_q;
      c_ch_q    <= b_ch_q;
      c_row_q   <= b_row_q;
      c_col_q   <= b_col_q;
      if (start_i)        map_ptr_q <= {MapAW{1'b0}};
      else if (c_valid_q) map_ptr_q <= map_ptr_q + 1'b1;
    end
  end

  // floor(acc / 2^Shift) + bias in OutW bits (docs/fixed-point.md: the result fits 14)
  wire [OutW-1:0] conv_d = acc_q[AccW-1:Shift] + {{(OutW-8){bias_i[7]}}, bias_i};

  assign map_we_o   = c_valid_q;
  assign map_addr_o = map_ptr_q;
  assign map_data_o = conv_d;

  // ---------------------------------------------------------------- conv1 tap (t+K+2)
  // read by hierarchical path only (the harness's tap), hence unused inside the design
  /* verilator lint_off UNUSEDSIGNAL */
  reg                   conv_valid_q;
  reg signed [OutW-1:0] conv_q;
  reg        [ChW-1:0]  conv_ch_q;
  reg        [PosW-1:0] conv_row_q;
  reg        [PosW-1:0] conv_col_q;
  /* verilator lint_on UNUSEDSIGNAL */
  reg                   done_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      conv_valid_q <= 1'b0;
      conv_q       <= {OutW{1'b0}};
      conv_ch_q    <= {ChW{1'b0}};
      conv_row_q   <= {PosW{1'b0}};
      conv_col_q   <= {PosW{1'b0}};
      done_q       <= 1'b0;
    end else begin
      conv_valid_q <= c_valid_q;
      done_q       <= c_valid_q && c_end_q;
      if (c_valid_q) begin
        conv_q     <= conv_d;
        conv_ch_q  <= c_ch_q;
        conv_row_q <= c_row_q;
        conv_col_q <= c_col_q;
      end
    end
  end

  assign done_o = done_q;

endmodule
