// hs_pool: MaxPool2d(2) then ReLU over the conv1 map in hs_ram, one output every two
// cycles.
//
// start_i (one cycle) starts a pass over every output in channel-major order (channel k,
// row r, column c; r, c < ConvSize/2). Output (k, r, c) reads the 2x2 block at conv1 rows
// 2r, 2r+1 and columns 2c, 2c+1 (map address k*ConvSize^2 + row*ConvSize + col) through
// four read ports, and
//   pool_q = max(0, max of the four)          (OutW bits unsigned; InW = OutW + 1 signed)
// is registered with a one-cycle pool_valid_q and the coordinates pool_ch_q, pool_row_q,
// pool_col_q, and written into the feature RAM at k*(ConvSize/2)^2 + r*(ConvSize/2) + c,
// PyTorch's flatten index (docs/fixed-point.md).
//
// Latency: addresses in cycle t, data in t+1, pool_valid_q in t+2; a new block is read every
// second cycle, so pool_valid_q is never high in two adjacent cycles. With start_i in cycle
// s the last beat (and done_o, one cycle) is in cycle s + 2*Channels*(ConvSize/2)^2 + 1
// (s + 727 for the seed network).
module hs_pool #(
  parameter integer ConvSize = 22,
  parameter integer Channels = 3,
  parameter integer InW      = 14,  // conv1, signed
  parameter integer OutW     = 13,  // pool1, unsigned
  parameter integer MapAW    = 11,
  parameter integer FeatAW   = 9
) (
  input  wire               clk_i,
  input  wire               rst_ni,
  input  wire               start_i,
  output wire [4*MapAW-1:0] map_addr_o,   // port 2*di + dj at [(2di+dj)*MapAW +: MapAW]
  input  wire [4*InW-1:0]   map_i,        // latency 1
  output wire               feat_we_o,
  output wire [FeatAW-1:0]  feat_addr_o,
  output wire [OutW-1:0]    feat_data_o,
  output wire               done_o        // one cycle, with the last pool_valid_q
);

  localparam integer PoolSize = ConvSize / 2;
  localparam integer ChW      = (Channels > 1) ? $clog2(Channels) : 1;
  localparam integer PosW     = $clog2(PoolSize);

  localparam integer    ChLastI  = Channels - 1;
  localparam integer    PosLastI = PoolSize - 1;
  localparam [ChW-1:0]  ChLast   = ChLastI[ChW-1:0];
  localparam [PosW-1:0] PosLast  = PosLastI[PosW-1:0];

  // ---------------------------------------------------------------- issue counters
  reg            issue_q;  // a pass is running
  reg            phase_q;  // 0: block (ch_q, row_q, col_q) is addressed this cycle
  reg [ChW-1:0]  ch_q;
  reg [PosW-1:0] row_q;
  reg [PosW-1:0] col_q;

  wire col_last = (col_q == PosLast);
  wire row_last = (row_q == PosLast);
  wire ch_last  = (ch_q == ChLast);
  wire all_last = col_last && row_last && ch_last;
  wire read     = issue_q && !phase_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      issue_q <= 1'b0;
      phase_q <= 1'b0;
      ch_q    <= {ChW{1'b0}};
      row_q   <= {PosW{1'b0}};
      col_q   <= {PosW{1'b0}};
    end else if (start_i) begin
      issue_q <= 1'b1;
      phase_q <= 1'b0;
      ch_q    <= {ChW{1'b0}};
      row_q   <= {PosW{1'b0}};
      col_q   <= {PosW{1'b0}};
    end else if (issue_q) begin
      phase_q <= !phase_q;
      if (phase_q) begin
        if (all_last) issue_q <= 1'b0;
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

  // top-left of the block: k*ConvSize^2 + 2r*ConvSize + 2c
  wire [MapAW-1:0] base = MapAW'(ch_q) * MapAW'(ConvSize * ConvSize)
                        + MapAW'(row_q) * MapAW'(2 * ConvSize)
                        + MapAW'(col_q) * MapAW'(2);

  genvar d;
  generate
    for (d = 0; d < 4; d = d + 1) begin : g_port
      // d = 2*di + dj: conv1 row 2r + di, column 2c + dj
      assign map_addr_o[d*MapAW +: MapAW] = base + MapAW'((d / 2) * ConvSize + (d % 2));
    end
  endgenerate

  // ---------------------------------------------------------------- max, relu (t+1)
  reg            rd_q;      // the block's four values are on the RAM outputs
  reg            rd_end_q;  // ... and it is the pass's last
  reg [ChW-1:0]  rd_ch_q;
  reg [PosW-1:0] rd_row_q;
  reg [PosW-1:0] rd_col_q;
  reg [FeatAW-1:0] feat_ptr_q;  // flatten index of that block

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      rd_q       <= 1'b0;
      rd_end_q   <= 1'b0;
      rd_ch_q    <= {ChW{1'b0}};
      rd_row_q   <= {PosW{1'b0}};
      rd_col_q   <= {PosW{1'b0}};
      feat_ptr_q <= {FeatAW{1'b0}};
    end else begin
      rd_q     <= read;
      rd_end_q <= read && all_last;
      rd_ch_q  <= ch_q;
      rd_row_q <= row_q;
      rd_col_q <= col_q;
      if (start_i)   feat_ptr_q <= {FeatAW{1'b0}};
      else if (rd_q) feat_ptr_q <= feat_ptr_q + 1'b1;
    end
  end

  wire signed [InW-1:0] v00 = map_i[0*InW +: InW];
  wire signed [InW-1:0] v01 = map_i[1*InW +: InW];
  wire signed [InW-1:0] v10 = map_i[2*InW +: InW];
  wire signed [InW-1:0] v11 = map_i[3*InW +: InW];
  wire signed [InW-1:0] m0  = (v01 > v00) ? v01 : v00;
  wire signed [InW-1:0] m1  = (v11 > v10) ? v11 : v10;
  wire signed [InW-1:0] m   = (m1 > m0) ? m1 : m0;
  wire        [OutW-1:0] pool_d = m[InW-1] ? {OutW{1'b0}} : m[OutW-1:0];

  assign feat_we_o   = rd_q;
  assign feat_addr_o = feat_ptr_q;
  assign feat_data_o = pool_d;

  // ---------------------------------------------------------------- pool1 tap (t+2)
  // read by hierarchical path only (the harness's tap), hence unused inside the design
  /* verilator lint_off UNUSEDSIGNAL */
  reg            pool_valid_q;
  reg [OutW-1:0] pool_q;
  reg [ChW-1:0]  pool_ch_q;
  reg [PosW-1:0] pool_row_q;
  reg [PosW-1:0] pool_col_q;
  /* verilator lint_on UNUSEDSIGNAL */
  reg            done_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      pool_valid_q <= 1'b0;
      pool_q       <= {OutW{1'b0}};
      pool_ch_q    <= {ChW{1'b0}};
      pool_row_q   <= {PosW{1'b0}};
      pool_col_q   <= {PosW{1'b0}};
      done_q       <= 1'b0;
    end else begin
      pool_valid_q <= rd_q;
      done_q       <= rd_q && rd_end_q;
      if (rd_q) begin
        pool_q     <= pool_d;
        pool_ch_q  <= rd_ch_q;
        pool_row_q <= rd_row_q;
        pool_col_q <= rd_col_q;
      end
    end
  end

  assign done_o = done_q;

endmodule
