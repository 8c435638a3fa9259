// cnn_classifier: the head of a streaming CNN, Linear(Channels*Positions -> Outputs) over
// the pooled beats (cnn_fc: beat m carries flattened inputs k*Positions + m) followed by
// argmax (cnn_argmax, ties to the lowest index). The logits come out as a tap, logit o at
// [o*OutW +: OutW] (signed). Weight files, rounding: see cnn_fc.
// Latency: fc_valid_o 1 cycle after the image's last pooled beat, class_valid_o 2.
module cnn_classifier #(
  parameter         WeightsDir     = "vectors/weights",
  parameter         WeightFile     = "fc_weight.mem",
  parameter integer PerOutputFiles = 0,
  parameter         WeightPrefix   = "neuron_weights_",
  parameter integer FirstFile      = 0,
  parameter         BiasFile       = "fc_bias.mem",
  parameter integer HalfUp         = 0,
  parameter integer Channels       = 3,
  parameter integer Positions      = 121,
  parameter integer Outputs        = 10,
  parameter integer InW            = 13,
  parameter integer WeightW        = 8,
  parameter integer ProdW          = 21,
  parameter integer AccW           = 30,
  parameter integer Shift          = 7,
  parameter integer OutW           = 23,
  parameter integer ClassW         = 4
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  input  wire                    valid_i,
  input  wire [Channels*InW-1:0] data_i,
  output wire                    fc_valid_o,
  output wire [Outputs*OutW-1:0] fc_data_o,
  output wire                    class_valid_o,
  output wire [ClassW-1:0]       class_o
);

  cnn_fc #(
    .WeightsDir    (WeightsDir),
    .WeightFile    (WeightFile),
    .PerOutputFiles(PerOutputFiles),
    .WeightPrefix  (WeightPrefix),
    .FirstFile     (FirstFile),
    .BiasFile      (BiasFile),
    .HalfUp        (HalfUp),
    .Channels      (Channels),
    .Positions     (Positions),
    .Outputs       (Outputs),
    .InW           (InW),
    .WeightW       (WeightW),
    .ProdW         (ProdW),
    .AccW          (AccW),
    .Shift         (Shift),
    .OutW          (OutW)
  ) u_fc (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(valid_i),
    .data_i (data_i),
    .valid_o(fc_valid_o),
    .data_o (fc_data_o)
  );

  cnn_argmax #(
    .N   (Outputs),
    .W   (OutW),
    .IdxW(ClassW)
  ) u_argmax (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .valid_i(fc_valid_o),
    .data_i (fc_data_o),
    .valid_o(class_valid_o),
    .idx_o  (class_o)
  );

endmodule
