// hs_fc: the Linear layer, one hs_mac per output neuron, one input element per cycle,
// then the logits one per beat.
//
// start_i (one cycle) loads every accumulator with bias_o * 2^Shift and issues the Inputs
// features n = 0 .. Inputs-1 (flatten order), one per cycle: feature RAM address n and
// neuron o's weight at byte o*Inputs + n of the fc weight memory (all Outputs at once).
// When the sums are complete the logits
//   logit_q = floor((sum + bias*2^Shift) / 2^Shift) = acc >>> Shift  (OutW bits signed)
// leave one per beat, index 0 .. Outputs-1 in logit_idx_q, with a one-cycle logit_valid_q
// every second cycle (never two adjacent cycles); logit_valid_o/logit_o/logit_idx_o are
// those registers.
//
// Latency: with start_i in cycle s, inputs are issued in s+1 .. s+Inputs, the sums are
// complete in s+Inputs+2, logit o is valid in cycle s+Inputs+4+2o, and done_o (one cycle)
// comes with the last logit (s+385 for 363 inputs and 10 outputs).
module hs_fc #(
  parameter integer Inputs  = 363,
  parameter integer Outputs = 10,
  parameter integer InW     = 13,   // pool1, unsigned
  parameter integer FeatAW  = 9,
  parameter integer WtAW    = 12,   // byte address width of the weight memory
  parameter integer BiasAW  = 6,    // byte address width of the bias memory (a value per word)
  parameter integer AccW    = 30,   // exact fc sum, 30 bits signed
  parameter integer Shift   = 7,
  parameter integer OutW    = 23,   // = AccW - Shift: fc1, 23 bits signed
  parameter integer IdxW    = 4
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  input  wire                      start_i,
  output wire [FeatAW-1:0]         feat_addr_o,
  input  wire [InW-1:0]            feat_i,       // latency 1
  output wire [Outputs*WtAW-1:0]   wt_addr_o,    // neuron o at [o*WtAW +: WtAW]
  input  wire [Outputs*8-1:0]      wt_i,         // signed, latency 1
  output wire [Outputs*BiasAW-1:0] bias_addr_o,
  input  wire [Outputs*8-1:0]      bias_i,       // signed, latency 1
  output wire                      logit_valid_o,
  output wire [OutW-1:0]           logit_o,
  output wire [IdxW-1:0]           logit_idx_o,
  output wire                      done_o        // one cycle, with the last logit
);

  localparam integer      InLastI  = Inputs - 1;
  localparam integer      OutLastI = Outputs - 1;
  localparam [FeatAW-1:0] InLast   = InLastI[FeatAW-1:0];
  localparam [IdxW-1:0]   OutLast  = OutLastI[IdxW-1:0];

  // ---------------------------------------------------------------- input sequencer
  reg              issue_q;  // input n_q is issued this cycle
  reg [FeatAW-1:0] n_q;
  reg              mac_en_q;  // its operands are on the memory outputs
  reg              last1_q;   // ... and it is the last
  reg              last2_q;   // the accumulators hold the complete sums

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      issue_q  <= 1'b0;
      n_q      <= {FeatAW{1'b0}};
      mac_en_q <= 1'b0;
      last1_q  <= 1'b0;
      last2_q  <= 1'b0;
    end else begin
      if (start_i) begin
        issue_q <= 1'b1;
        n_q     <= {FeatAW{1'b0}};
      end else if (issue_q) begin
        if (n_q == InLast) issue_q <= 1'b0;
        n_q <= n_q + 1'b1;
      end
      mac_en_q <= issue_q;
      last1_q  <= issue_q && (n_q == InLast);
      last2_q  <= last1_q;
    end
  end

  assign feat_addr_o = n_q;

  // ---------------------------------------------------------------- weights, MACs
  wire [AccW-1:0] acc [0:Outputs-1];

  genvar o;
  generate
    for (o = 0; o < Outputs; o = o + 1) begin : g_neuron
      wire [7:0] b = bias_i[o*8 +: 8];

      assign wt_addr_o[o*WtAW +: WtAW]       = WtAW'(o * Inputs) + WtAW'(n_q);
      assign bias_addr_o[o*BiasAW +: BiasAW] = BiasAW'(4 * o);

      hs_mac #(
        .AW  (InW),
        .BW  (8),
        .AccW(AccW)
      ) u_mac (
        .clk_i  (clk_i),
        .rst_ni (rst_ni),
        .clear_i(start_i),
        .init_i ({{(AccW-8-Shift){b[7]}}, b, {Shift{1'b0}}}),  // bias * 2^Shift
        .en_i   (mac_en_q),
        .a_i    (feat_i),
        .b_i    (wt_i[o*8 +: 8]),
        .acc_o  (acc[o])
      );
    end
  endgenerate

  // ---------------------------------------------------------------- logit beats
  reg            emit_q;   // logits are leaving
  reg            phase_q;  // 0: logit emit_idx_q is registered this cycle
  reg [IdxW-1:0] emit_idx_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      emit_q     <= 1'b0;
      phase_q    <= 1'b0;
      emit_idx_q <= {IdxW{1'b0}};
    end else if (last2_q) begin
      emit_q     <= 1'b1;
      phase_q    <= 1'b0;
      emit_idx_q <= {IdxW{1'b0}};
    end else if (emit_q) begin
      phase_q <= !phase_q;
      if (phase_q) begin
        if (emit_idx_q == OutLast) emit_q <= 1'b0;
        emit_idx_q <= emit_idx_q + 1'b1;
      end
    end
  end

  wire            emit    = emit_q && !phase_q;
  // the low Shift bits are what the floor division discards
  /* verilator lint_off UNUSEDSIGNAL */
  wire [AccW-1:0] acc_sel = acc[emit_idx_q];
  /* verilator lint_on UNUSEDSIGNAL */

  // ---------------------------------------------------------------- fc1 tap
  reg                   logit_valid_q;
  reg signed [OutW-1:0] logit_q;
  reg        [IdxW-1:0] logit_idx_q;
  reg                   done_q;

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      logit_valid_q <= 1'b0;
      logit_q       <= {OutW{1'b0}};
      logit_idx_q   <= {IdxW{1'b0}};
      done_q        <= 1'b0;
    end else begin
      logit_valid_q <= emit;
      done_q        <= emit && (emit_idx_q == OutLast);
      if (emit) begin
        logit_q     <= acc_sel[AccW-1:Shift];
        logit_idx_q <= emit_idx_q;
      end
    end
  end

  assign logit_valid_o = logit_valid_q;
  assign logit_o       = logit_q;
  assign logit_idx_o   = logit_idx_q;
  assign done_o        = done_q;

endmodule
