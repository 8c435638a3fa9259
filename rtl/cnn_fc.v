// cnn_fc: the Linear layer, accumulated on the fly as pooled beats arrive.
// Beat m of an image (m = pr*PoolW + pc, raster order) carries Channels values;
// channel k of beat m is flattened input n = k*Positions + m. A position counter
// addresses the fc_weight.mem ROM (Outputs*Channels read ports, one per
// output/channel pair) -- or, with PerOutputFiles = 1, one ROM per output
// (<WeightPrefix><FirstFile+o>.mem, Inputs tokens each, Channels read ports); the
// weights for the next beat are prefetched into a
// register so the MACs see registered weights. Outputs instances of cnn_fc_acc
// do the accumulation (HalfUp: see cnn_fc_acc); BiasFile supplies the biases.
// data_o packs logit o at [o*OutW +: OutW] (signed).
// Latency: 1 cycle (the image's last pooled beat -> valid_o / data_o).
module cnn_fc #(
  parameter         WeightsDir     = "vectors/weights",
  parameter         WeightFile     = "fc_weight.mem",     // PerOutputFiles = 0
  parameter integer PerOutputFiles = 0,
  parameter         WeightPrefix   = "neuron_weights_",   // PerOutputFiles = 1
  parameter integer FirstFile      = 0,                   // FirstFile + Outputs - 1 <= 9
  parameter         BiasFile       = "fc_bias.mem",
  parameter integer HalfUp         = 0,
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
  localparam integer InAddrW   = $clog2(Inputs);
  localparam integer PosW      = $clog2(Positions);
  localparam integer Ports     = Outputs * Channels;
  localparam integer    PosLastI = Positions - 1;
  localparam [PosW-1:0] PosLast  = PosLastI[PosW-1:0];

  // position of the next beat within the image
  reg  [PosW-1:0] pos_q;
  wire            last = (pos_q == PosLast);
  wire [PosW-1:0] pos_d = !rst_ni ? {PosW{1'b0}} :
                          !valid_i ? pos_q :
                          last     ? {PosW{1'b0}} : pos_q + 1'b1;

  always @(posedge clk_i) pos_q <= pos_d;

  // weight ROMs: port (o, k) reads wf[o][k*Positions + pos_d]
  wire [Ports*WeightW-1:0] w_rdata;
  reg  [Ports*WeightW-1:0] w_q;

  genvar o, k;
  generate
    if (PerOutputFiles == 0) begin : g_one_file
      wire [Ports*AddrW-1:0] w_addr;
      for (o = 0; o < Outputs; o = o + 1) begin : g_addr_o
        for (k = 0; k < Channels; k = k + 1) begin : g_addr_k
          localparam integer     BaseI = o * Inputs + k * Positions;
          localparam [AddrW-1:0] Base  = BaseI[AddrW-1:0];
          assign w_addr[(o*Channels+k)*AddrW +: AddrW] = Base + {{(AddrW-PosW){1'b0}}, pos_d};
        end
      end

      cnn_weight_rom #(
        .WeightsDir(WeightsDir),
        .FileName  (WeightFile),
        .Depth     (Depth),
        .NumPorts  (Ports),
        .AddrW     (AddrW)
      ) u_weight_rom (
        .addr_i(w_addr),
        .data_o(w_rdata)
      );
    end else begin : g_file_per_output
      for (o = 0; o < Outputs; o = o + 1) begin : g_out_rom
        localparam integer DigitI = 48 + FirstFile + o;  // ASCII "0" + file number
        localparam [7:0]   Digit  = DigitI[7:0];
        wire [Channels*InAddrW-1:0] w_addr;
        for (k = 0; k < Channels; k = k + 1) begin : g_addr_k
          localparam integer       BaseI = k * Positions;
          localparam [InAddrW-1:0] Base  = BaseI[InAddrW-1:0];
          assign w_addr[k*InAddrW +: InAddrW] = Base + {{(InAddrW-PosW){1'b0}}, pos_d};
        end

        cnn_weight_rom #(
          .WeightsDir(WeightsDir),
          .FileName  ({WeightPrefix, Digit, ".mem"}),
          .Depth     (Inputs),
          .NumPorts  (Channels),
          .AddrW     (InAddrW)
        ) u_weight_rom (
          .addr_i(w_addr),
          .data_o(w_rdata[o*Channels*WeightW +: Channels*WeightW])
        );
      end
    end
  endgenerate

  always @(posedge clk_i) w_q <= w_rdata;

  // the biases, all read in parallel
  wire [Outputs*WeightW-1:0] bias;

  cnn_weight_table #(
    .WeightsDir(WeightsDir),
    .FileName  (BiasFile),
    .Depth     (Outputs)
  ) u_bias (
    .data_o(bias)
  );

  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_out
      cnn_fc_acc #(
        .Channels(Channels),
        .InW     (InW),
        .WeightW (WeightW),
        .ProdW   (ProdW),
        .AccW    (AccW),
        .Shift   (Shift),
        .HalfUp  (HalfUp),
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
