// ma_fc: the Linear layer, time-multiplexed: one ma_mac per output neuron, one input
// element per cycle.
//
// Pooled beats (Positions per image, raster order, Channels values each) are written into
// one feature RAM per channel at the beat's position m. The beat that completes an image
// starts the pass: the accumulators are loaded with bias_o * 2^Shift and the Channels *
// Positions inputs are issued in PyTorch flatten order, n = k*Positions + m, one per cycle:
// feature RAM k at address m, neuron o's weight ROM (neuron_weights_<o>.mem, one weight
// per line) at address n. Then
//   logit_q[o] = (acc_o >>> Shift)   (= floor((sum + bias*128) / 128), sign-extended to OutW)
// is registered with a one-cycle logit_valid_q strobe, all Outputs logits at once.
// logit_q holds its value until the next image's pass ends (ma_argmax reads it after).
//
// Latency: the image's last pooled beat arrives in cycle s; inputs are issued in cycles
// s+1 .. s+Inputs and logit_valid_q is high in cycle s+Inputs+3 (s+366 for 363 inputs). A
// new image's beats must not arrive during the pass (ma_conv holds the pixel stream until
// the class strobe).
module ma_fc #(
  parameter         WeightDir = "weights",
  parameter integer Channels  = 3,
  parameter integer Positions = 121,
  parameter integer Outputs   = 10,  // <= 10: one decimal digit in the file names
  parameter integer InW       = 13,
  parameter integer WeightW   = 8,
  parameter integer AccW      = 30,  // exact fc sum, 30 bits signed
  parameter integer Shift     = 7,
  parameter integer OutW      = 32   // tap width (the value itself is 23 bits signed)
) (
  input  wire                    clock,
  input  wire                    reset_n,
  input  wire                    in_valid,
  input  wire [Channels*InW-1:0] in_data,    // channel k at [k*InW +: InW], unsigned
  output wire                    out_valid,
  output wire [Outputs*OutW-1:0] out_data    // logit o at [o*OutW +: OutW], signed
);

  localparam integer Inputs = Channels * Positions;
  localparam integer NW     = $clog2(Inputs);
  localparam integer MW     = $clog2(Positions);
  localparam integer KW     = (Channels > 1) ? $clog2(Channels) : 1;
  localparam integer BiasW  = $clog2(Outputs);

  localparam integer    PosLastI  = Positions - 1;
  localparam integer    InLastI   = Inputs - 1;
  localparam integer    ChanLastI = Channels - 1;
  localparam [MW-1:0]   PosLast   = PosLastI[MW-1:0];
  localparam [NW-1:0]   InLast    = InLastI[NW-1:0];
  localparam [KW-1:0]   ChanLast  = ChanLastI[KW-1:0];

  // ---------------------------------------------------------------- feature store
  reg  [MW-1:0] wr_pos_q;  // position of the next pooled beat
  wire          start = in_valid && (wr_pos_q == PosLast);

  always @(posedge clock) begin
    if (!reset_n)      wr_pos_q <= {MW{1'b0}};
    else if (in_valid) wr_pos_q <= (wr_pos_q == PosLast) ? {MW{1'b0}} : wr_pos_q + 1'b1;
  end

  // ---------------------------------------------------------------- input sequencer
  reg          issue_q;   // input n_q is issued this cycle
  reg [NW-1:0] n_q;       // flattened index k*Positions + m
  reg [MW-1:0] m_q;       // position m
  reg [KW-1:0] k_q;       // channel k
  reg [KW-1:0] k1_q;      // channel of the operands on the RAM outputs
  reg          mac_en_q;
  reg          last1_q;
  reg          last2_q;   // the accumulators hold the complete sums

  always @(posedge clock) begin
    if (!reset_n) begin
      issue_q  <= 1'b0;
      n_q      <= {NW{1'b0}};
      m_q      <= {MW{1'b0}};
      k_q      <= {KW{1'b0}};
      k1_q     <= {KW{1'b0}};
      mac_en_q <= 1'b0;
      last1_q  <= 1'b0;
      last2_q  <= 1'b0;
    end else begin
      if (start) begin
        issue_q <= 1'b1;
        n_q     <= {NW{1'b0}};
        m_q     <= {MW{1'b0}};
        k_q     <= {KW{1'b0}};
      end else if (issue_q) begin
        n_q <= n_q + 1'b1;
        if (n_q == InLast) issue_q <= 1'b0;
        if (m_q == PosLast) begin
          m_q <= {MW{1'b0}};
          k_q <= (k_q == ChanLast) ? {KW{1'b0}} : k_q + 1'b1;
        end else begin
          m_q <= m_q + 1'b1;
        end
      end
      k1_q     <= k_q;
      mac_en_q <= issue_q;
      last1_q  <= issue_q && (n_q == InLast);
      last2_q  <= last1_q;
    end
  end

  wire [InW-1:0] feat_rd [0:Channels-1];
  wire [InW-1:0] feature = feat_rd[k1_q];

  genvar k, o;
  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      ma_ram #(
        .Width(InW),
        .Depth(Positions),
        .AddrW(MW)
      ) u_features (
        .clock  (clock),
        .wr_en  (in_valid),
        .wr_addr(wr_pos_q),
        .wr_data(in_data[k*InW +: InW]),
        .rd_addr(m_q),
        .rd_data(feat_rd[k])
      );
    end
  endgenerate

  // ---------------------------------------------------------------- weights, MACs
  wire [Outputs*BiasW-1:0]   bias_addr;
  wire [Outputs*WeightW-1:0] bias;
  wire [Outputs*OutW-1:0]    logit_d;

  ma_rom #(
    .WeightDir(WeightDir),
    .FileName ("fc_bias.mem"),
    .Depth    (Outputs),
    .Ports    (Outputs),
    .AddrW    (BiasW),
    .DataW    (WeightW)
  ) u_bias_rom (
    .clock  (clock),
    .rd_addr(bias_addr),
    .rd_data(bias)
  );

  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_neuron
      localparam [BiasW-1:0] BiasAddr = o;
      localparam [7:0]       Digit    = "0" + o;
      wire [WeightW-1:0] weight;
      wire [WeightW-1:0] b = bias[o*WeightW +: WeightW];
      // the low Shift bits are discarded by the floor division
      /* verilator lint_off UNUSEDSIGNAL */
      wire [AccW-1:0]    acc;
      /* verilator lint_on UNUSEDSIGNAL */

      assign bias_addr[o*BiasW +: BiasW] = BiasAddr;

      ma_rom #(
        .WeightDir(WeightDir),
        .FileName ({"neuron_weights_", Digit, ".mem"}),
        .Depth    (Inputs),
        .Ports    (1),
        .AddrW    (NW),
        .DataW    (WeightW)
      ) u_weight_rom (
        .clock  (clock),
        .rd_addr(n_q),
        .rd_data(weight)
      );

      ma_mac #(
        .AW  (InW),
        .BW  (WeightW),
        .AccW(AccW)
      ) u_mac (
        .clock  (clock),
        .reset_n(reset_n),
        .clear  (start),
        .init   ({{(AccW-WeightW-Shift){b[WeightW-1]}}, b, {Shift{1'b0}}}),  // bias * 2^Shift
        .enable (mac_en_q),
        .a      (feature),
        .b      (weight),
        .acc    (acc)
      );

      assign logit_d[o*OutW +: OutW] = {{(OutW-AccW+Shift){acc[AccW-1]}}, acc[AccW-1:Shift]};
    end
  endgenerate

  // ---------------------------------------------------------------- fc1 tap
  reg signed [OutW-1:0] logit_q [0:Outputs-1];
  reg                   logit_valid_q;
  integer               i;

  always @(posedge clock) begin
    if (!reset_n) begin
      logit_valid_q <= 1'b0;
      for (i = 0; i < Outputs; i = i + 1) logit_q[i] <= {OutW{1'b0}};
    end else begin
      logit_valid_q <= last2_q;
      if (last2_q) for (i = 0; i < Outputs; i = i + 1) logit_q[i] <= logit_d[i*OutW +: OutW];
    end
  end

  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_out
      assign out_data[o*OutW +: OutW] = logit_q[o];
    end
  endgenerate

  assign out_valid = logit_valid_q;

endmodule
