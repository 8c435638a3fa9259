// ma_pool: 2x2 max pooling (stride 2) + ReLU over the conv1 beat stream (InSize x InSize
// beats per image in raster order, all Channels channels per beat), images back-to-back.
// ReLU is applied to each incoming value first (max(0, .) commutes with max), so all
// storage is OutW-bit unsigned. An even-column beat is held; at an odd column the pair
// maximum is either stored (even row) in a PoolSize-entry array indexed by the pooled
// column, or (odd row) combined with the stored pair of the row above into
//   pool_q[k*OutW +: OutW] = max(0, max of the 2x2 block)     (unsigned)
// registered with a one-cycle pool_valid_q strobe: PoolSize x PoolSize beats per image,
// raster order. Latency: 1 cycle (the conv beat completing a block -> pool_valid_q).
module ma_pool #(
  parameter integer Channels = 3,
  parameter integer InW      = 16,  // signed conv value (sign-extended)
  parameter integer OutW     = 13,  // unsigned pooled value
  parameter integer InSize   = 22
) (
  input  wire                     clock,
  input  wire                     reset_n,
  input  wire                     in_valid,
  // bits [OutW +: InW-OutW-1] of each lane are copies of the sign (|conv1| < 2^13)
  /* verilator lint_off UNUSEDSIGNAL */
  input  wire [Channels*InW-1:0]  in_data,
  /* verilator lint_on UNUSEDSIGNAL */
  output wire                     out_valid,
  output wire [Channels*OutW-1:0] out_data
);

  localparam integer    PoolSize = InSize / 2;
  localparam integer    PosW     = $clog2(InSize);
  localparam integer    LastI    = InSize - 1;
  localparam [PosW-1:0] Last     = LastI[PosW-1:0];

  // position of the incoming beat
  reg  [PosW-1:0] col_q;
  reg  [PosW-1:0] row_q;
  wire            odd_col   = col_q[0];
  wire            odd_row   = row_q[0];
  wire [PosW-2:0] pool_col  = col_q[PosW-1:1];
  wire            block_end = in_valid && odd_col && odd_row;

  always @(posedge clock) begin
    if (!reset_n) begin
      col_q <= {PosW{1'b0}};
      row_q <= {PosW{1'b0}};
    end else if (in_valid) begin
      if (col_q == Last) begin
        col_q <= {PosW{1'b0}};
        row_q <= (row_q == Last) ? {PosW{1'b0}} : row_q + 1'b1;
      end else begin
        col_q <= col_q + 1'b1;
      end
    end
  end

  reg  [Channels*OutW-1:0] hold_q;                  // even-column value of this row
  reg  [Channels*OutW-1:0] pair_q [0:PoolSize-1];   // pair maxima of the even row
  wire [Channels*OutW-1:0] above = pair_q[pool_col];
  wire [Channels*OutW-1:0] relu;
  wire [Channels*OutW-1:0] pair;
  wire [Channels*OutW-1:0] quad;

  genvar k;
  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      wire [InW-1:0]  x = in_data[k*InW +: InW];
      wire [OutW-1:0] h = hold_q[k*OutW +: OutW];
      wire [OutW-1:0] a = above[k*OutW +: OutW];
      assign relu[k*OutW +: OutW] = x[InW-1] ? {OutW{1'b0}} : x[OutW-1:0];
      assign pair[k*OutW +: OutW] = (h > relu[k*OutW +: OutW]) ? h : relu[k*OutW +: OutW];
      assign quad[k*OutW +: OutW] = (a > pair[k*OutW +: OutW]) ? a : pair[k*OutW +: OutW];
    end
  endgenerate

  always @(posedge clock) begin
    if (in_valid && !odd_col)            hold_q           <= relu;
    if (in_valid && odd_col && !odd_row) pair_q[pool_col] <= pair;
  end

  // pool1 tap
  reg [Channels*OutW-1:0] pool_q;
  reg                     pool_valid_q;

  always @(posedge clock) begin
    if (!reset_n) begin
      pool_q       <= {(Channels*OutW){1'b0}};
      pool_valid_q <= 1'b0;
    end else begin
      pool_valid_q <= block_end;
      if (block_end) pool_q <= quad;
    end
  end

  assign out_valid = pool_valid_q;
  assign out_data  = pool_q;

endmodule
