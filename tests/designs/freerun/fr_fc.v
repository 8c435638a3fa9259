// fr_fc: the Linear layer, accumulated on the fly as pooled beats arrive.
// Beat m of an image (m = pr*PoolW + pc, raster order) carries Channels values;
// channel k of beat m is flattened input n = k*Positions + m. A position counter
// addresses the fc_weight.mem ROM (Outputs*Channels read ports, one per
// output/channel pair); the weights for the next beat are prefetched into a
// register so the MACs see registered weights. Outputs instances of fr_fc_acc
// do the accumulation; fc_bias.mem supplies the biases.
// data_o packs logit o at [o*OutW +: OutW] (signed).
// Latency: 1 cycle (the image's last pooled beat -> valid_o / data_o).
// (Copy of rtl/cnn_fc.v with module names prefixed fr_; its weight ROMs open fixed
// file names in the working directory, see fr_weight_rom.)
module fr_fc #(
  parameter integer Channels   = 3,
  parameter integer Positions  = 121,
  parameter integer Outputs    = 10,
  parameter integer InW        = 13,
  parameter integer WeightW    = 8,
  parameter integer ProdW      = 21,
  parameter integer AccW       = 30,
  parameter integer Shift      = 7,
  parameter integer OutW       = 23
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    valid_i,
  input  wire [Channels*InW-1:0] data_i,
  output wire                    valid_o,
  output wire [Outputs*OutW-1:0] data_o
);

  localparam integer Inputs    = Channels * Positions;
  localparam integer Depth     = Outputs * Inputs;
  localparam integer AddrW     = $clog2(Depth);
  localparam integer PosW      = $clog2(Positions);
  localparam integer Ports     = Outputs * Channels;
  localparam integer BiasAddrW = $clog2(Outputs);
  localparam integer    PosLastI = Positions - 1;
  localparam [PosW-1:0] PosLast  = PosLastI[PosW-1:0];

  // position of the next beat within the image
  reg  [PosW-1:0] pos_q;
  wire            last = (pos_q == PosLast);
  wire [PosW-1:0] pos_d = !rst_ni ? {PosW{1'b0}} :
                          !valid_i ? pos_q :
                          last     ? {PosW{1'b0}} : pos_q + 1'b1;

  always @(posedge clk_i) pos_q <= pos_d;

  // weight ROM: port (o, k) reads wf[o][k*Positions + pos_d]
  wire [Ports*AddrW-1:0]   w_addr;
  wire [Ports*WeightW-1:0] w_rdata;
  reg  [Ports*WeightW-1:0] w_q;

  genvar o, k;
  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_addr_o
      for (k = 0; k < Channels; k = k + 1) begin : g_addr_k
        localparam integer     BaseI = o * Inputs + k * Positions;
        localparam [AddrW-1:0] Base  = BaseI[AddrW-1:0];
        assign w_addr[(o*Channels+k)*AddrW +: AddrW] = Base + {{(AddrW-PosW){1'b0}}, pos_d};
      end
    end
  endgenerate

  fr_weight_rom #(
    .FileName  ("fc_weight.mem"),
    .Depth     (Depth),
    .NumPorts  (Ports),
    .AddrW     (AddrW)
  ) u_weight_rom (
    .addr_i(w_addr),
    .data_o(w_rdata)
  );

  always @(posedge clk_i) w_q <= w_rdata;

  // bias ROM: all Outputs entries read in parallel
  wire [Outputs*BiasAddrW-1:0] b_addr;
  wire [Outputs*WeightW-1:0]   bias;

  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_bias_addr
      localparam [BiasAddrW-1:0] Addr = o;
      assign b_addr[o*BiasAddrW +: BiasAddrW] = Addr;
    end
  endgenerate

  fr_weight_rom #(
    .FileName  ("fc_bias.mem"),
    .Depth     (Outputs),
    .NumPorts  (Outputs),
    .AddrW     (BiasAddrW)
  ) u_bias_rom (
    .addr_i(b_addr),
    .data_o(bias)
  );

  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_out
      fr_fc_acc #(
        .Channels(Channels),
        .InW     (InW),
        .WeightW (WeightW),
        .ProdW   (ProdW),
        .AccW    (AccW),
        .Shift   (Shift),
        .OutW    (OutW)
      ) u_acc (
        .clk_i    (clk_i),
        .rst_ni   (rst_ni),
        .valid_i  (valid_i),
        .last_i   (last),
        .data_i   (data_i),
        .weights_i(w_q[o*Channels*WeightW +: Channels*WeightW]),
        .bias_i   (bias[o*WeightW +: WeightW]),
        .data_o   (data_o[o*OutW +: OutW])
      );
    end
  endgenerate

  reg valid_q;
  always @(posedge clk_i) begin
    if (!rst_ni) valid_q <= 1'b0;
    else         valid_q <= valid_i && last;
  end

  assign valid_o = valid_q;

endmodule
