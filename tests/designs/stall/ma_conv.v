// ma_conv: pixel intake (ready/valid) and the Conv2d layer, one multiplier per channel
// time-multiplexed over the K*K taps.
//
// Pixels arrive in raster order, ImgW x ImgH per image, images back-to-back. A pixel is
// accepted in a cycle with pix_valid && pix_ready and written into a K-row ring of
// image rows (ma_ram, row slot * 2^ColW + column). When the accepted pixel (r, c)
// completes a window (r, c >= K-1), pix_ready drops and the K*K taps of the window are
// issued one per cycle (oldest row first, left to right) to the line RAM and to each
// channel's weight ROM; each channel's ma_mac accumulates pixel x weight. Then
//   conv_q[k] = (acc_k >>> Shift) + bias_k      (docs/fixed-point.md, sign-extended to OutW)
// is registered with a one-cycle conv_valid_q strobe, one beat per conv position in
// raster order, all Channels channels at once.
//
// Latency / stall: the window-completing pixel is accepted in cycle t; taps are issued in
// cycles t+1 .. t+K*K, the last product is accumulated in t+K*K+1, conv_q is registered at
// the end of t+K*K+2 and conv_valid_q is high in cycle t+K*K+3 (t+52 for K = 7). pix_ready
// is low in the K*K+2 cycles t+1 .. t+K*K+2 and high again in the conv_valid_q cycle.
// After the last pixel of an image, pix_ready stays low until frame_release (the class
// strobe of that image), so the next image is only accepted once this one is finished.
//
// Weights: conv1_weight_<k+1>.mem (K*K taps, row-major) and conv1_bias.mem (Channels
// values), see ma_rom for the directory.
module ma_conv #(
  parameter         WeightDir = "weights",
  parameter integer ImgW      = 28,
  parameter integer ImgH      = 28,
  parameter integer K         = 7,
  parameter integer Channels  = 3,
  parameter integer PixelW    = 8,
  parameter integer WeightW   = 8,
  parameter integer AccW      = 22,  // exact conv sum, 22 bits signed
  parameter integer Shift     = 8,
  parameter integer OutW      = 16   // tap width (the value itself is 14 bits signed)
) (
  input  wire                     clock,
  input  wire                     reset_n,
  input  wire                     pix_valid,
  input  wire [PixelW-1:0]        pix_data,
  output wire                     pix_ready,
  input  wire                     frame_release,
  output wire                     conv_valid,
  output wire [Channels*OutW-1:0] conv_data    // channel k at [k*OutW +: OutW], signed
);

  localparam integer Taps  = K * K;
  localparam integer TapW  = $clog2(Taps);
  localparam integer ColW  = $clog2(ImgW);
  localparam integer RowW  = $clog2(ImgH);
  localparam integer SlotW = $clog2(K);
  localparam integer BiasW = (Channels > 1) ? $clog2(Channels) : 1;

  localparam integer    KmI       = K - 1;
  localparam integer    ColLastI  = ImgW - 1;
  localparam integer    RowLastI  = ImgH - 1;
  localparam integer    TapLastI  = Taps - 1;
  localparam [ColW-1:0]  ColFirst = KmI[ColW-1:0];
  localparam [RowW-1:0]  RowFirst = KmI[RowW-1:0];
  localparam [ColW-1:0]  ColLast  = ColLastI[ColW-1:0];
  localparam [RowW-1:0]  RowLast  = RowLastI[RowW-1:0];
  localparam [SlotW-1:0] SlotLast = KmI[SlotW-1:0];
  localparam [TapW-1:0]  TapLast  = TapLastI[TapW-1:0];
  localparam [ColW-1:0]  JLast    = KmI[ColW-1:0];

  localparam [1:0] SOff    = 2'd0;  // in reset
  localparam [1:0] SAccept = 2'd1;  // pix_ready high
  localparam [1:0] SMac    = 2'd2;  // computing a window
  localparam [1:0] SHold   = 2'd3;  // image done, waiting for frame_release

  // ---------------------------------------------------------------- intake control
  reg  [1:0]       state_q;
  reg  [ColW-1:0]  col_q;       // position of the next pixel
  reg  [RowW-1:0]  row_q;
  reg  [SlotW-1:0] slot_q;      // ring slot of row row_q
  reg              img_last_q;  // the window being computed is the image's last

  wire accept     = pix_valid && (state_q == SAccept);
  wire at_window  = (col_q >= ColFirst) && (row_q >= RowFirst);
  wire at_end     = (col_q == ColLast) && (row_q == RowLast);
  wire start      = accept && at_window;
  wire [SlotW-1:0] slot_next = (slot_q == SlotLast) ? {SlotW{1'b0}} : slot_q + 1'b1;

  // ---------------------------------------------------------------- tap sequencer
  reg              issue_q;     // a tap is issued this cycle
  reg  [TapW-1:0]  tap_q;       // its index i*K + j (weight address)
  reg  [ColW-1:0]  j_q;         // its column offset j
  reg  [SlotW-1:0] rd_slot_q;   // ring slot of window row i
  reg  [ColW-1:0]  rd_col_q;    // image column c-K+1+j
  reg  [ColW-1:0]  base_col_q;  // image column c-K+1
  reg              mac_en_q;    // operands of an issued tap are on the RAM/ROM outputs
  reg              last1_q;     // ... and it is the last tap
  reg              last2_q;     // the accumulators hold the complete sums
  wire [SlotW-1:0] rd_slot_next = (rd_slot_q == SlotLast) ? {SlotW{1'b0}} : rd_slot_q + 1'b1;
  wire             finish = last2_q;

  always @(posedge clock) begin
    if (!reset_n) begin
      state_q    <= SOff;
      col_q      <= {ColW{1'b0}};
      row_q      <= {RowW{1'b0}};
      slot_q     <= {SlotW{1'b0}};
      img_last_q <= 1'b0;
    end else begin
      case (state_q)
        SOff:    state_q <= SAccept;
        SAccept: if (start) state_q <= SMac;
        SMac:    if (finish) state_q <= img_last_q ? SHold : SAccept;
        default: if (frame_release) state_q <= SAccept;  // SHold
      endcase
      if (start) img_last_q <= at_end;
      if (accept) begin
        if (col_q == ColLast) begin
          col_q  <= {ColW{1'b0}};
          row_q  <= (row_q == RowLast) ? {RowW{1'b0}} : row_q + 1'b1;
          slot_q <= slot_next;
        end else begin
          col_q <= col_q + 1'b1;
        end
      end
    end
  end

  always @(posedge clock) begin
    if (!reset_n) begin
      issue_q    <= 1'b0;
      tap_q      <= {TapW{1'b0}};
      j_q        <= {ColW{1'b0}};
      rd_slot_q  <= {SlotW{1'b0}};
      rd_col_q   <= {ColW{1'b0}};
      base_col_q <= {ColW{1'b0}};
      mac_en_q   <= 1'b0;
      last1_q    <= 1'b0;
      last2_q    <= 1'b0;
    end else begin
      if (start) begin
        // window rows r-K+1 .. r sit in slots slot_q+1 .. slot_q+K (mod K)
        issue_q    <= 1'b1;
        tap_q      <= {TapW{1'b0}};
        j_q        <= {ColW{1'b0}};
        rd_slot_q  <= slot_next;
        rd_col_q   <= col_q - ColFirst;
        base_col_q <= col_q - ColFirst;
      end else if (issue_q) begin
        tap_q <= tap_q + 1'b1;
        if (tap_q == TapLast) issue_q <= 1'b0;
        if (j_q == JLast) begin
          j_q       <= {ColW{1'b0}};
          rd_col_q  <= base_col_q;
          rd_slot_q <= rd_slot_next;
        end else begin
          j_q      <= j_q + 1'b1;
          rd_col_q <= rd_col_q + 1'b1;
        end
      end
      mac_en_q <= issue_q;
      last1_q  <= issue_q && (tap_q == TapLast);
      last2_q  <= last1_q;
    end
  end

  assign pix_ready = (state_q == SAccept);

  // ---------------------------------------------------------------- line RAM
  wire [PixelW-1:0] pixel;

  ma_ram #(
    .Width(PixelW),
    .Depth(K << ColW),
    .AddrW(SlotW + ColW)
  ) u_lines (
    .clock  (clock),
    .wr_en  (accept),
    .wr_addr({slot_q, col_q}),
    .wr_data(pix_data),
    .rd_addr({rd_slot_q, rd_col_q}),
    .rd_data(pixel)
  );

  // ---------------------------------------------------------------- weights, MACs
  wire [Channels*BiasW-1:0]   bias_addr;
  wire [Channels*WeightW-1:0] bias;
  wire [Channels*OutW-1:0]    conv_d;

  ma_rom #(
    .WeightDir(WeightDir),
    .FileName ("conv1_bias.mem"),
    .Depth    (Channels),
    .Ports    (Channels),
    .AddrW    (BiasW),
    .DataW    (WeightW)
  ) u_bias_rom (
    .clock  (clock),
    .rd_addr(bias_addr),
    .rd_data(bias)
  );

  genvar k;
  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_chan
      localparam [BiasW-1:0] BiasAddr = k;
      localparam [7:0]       Digit    = "1" + k;  // files are numbered from 1
      wire [WeightW-1:0] weight;
      wire [WeightW-1:0] b = bias[k*WeightW +: WeightW];
      // the low Shift bits are discarded by the floor division
      /* verilator lint_off UNUSEDSIGNAL */
      wire [AccW-1:0]    acc;
      /* verilator lint_on UNUSEDSIGNAL */

      assign bias_addr[k*BiasW +: BiasW] = BiasAddr;

      ma_rom #(
        .WeightDir(WeightDir),
        .FileName ({"conv1_weight_", Digit, ".mem"}),
        .Depth    (Taps),
        .Ports    (1),
        .AddrW    (TapW),
        .DataW    (WeightW)
      ) u_weight_rom (
        .clock  (clock),
        .rd_addr(tap_q),
        .rd_data(weight)
      );

      ma_mac #(
        .AW  (PixelW),
        .BW  (WeightW),
        .AccW(AccW)
      ) u_mac (
        .clock  (clock),
        .reset_n(reset_n),
        .clear  (start),
        .init   ({AccW{1'b0}}),
        .enable (mac_en_q),
        .a      (pixel),
        .b      (weight),
        .acc    (acc)
      );

      // floor(acc / 2^Shift) + bias, computed directly in OutW bits (the result fits 14)
      assign conv_d[k*OutW +: OutW] = {{(OutW-AccW+Shift){acc[AccW-1]}}, acc[AccW-1:Shift]}
                                    + {{(OutW-WeightW){b[WeightW-1]}}, b};
    end
  endgenerate

  // ---------------------------------------------------------------- conv1 tap
  reg signed [OutW-1:0] conv_q [0:Channels-1];
  reg                   conv_valid_q;
  integer               n;

  always @(posedge clock) begin
    if (!reset_n) begin
      conv_valid_q <= 1'b0;
      for (n = 0; n < Channels; n = n + 1) conv_q[n] <= {OutW{1'b0}};
    end else begin
      conv_valid_q <= finish;
      if (finish) for (n = 0; n < Channels; n = n + 1) conv_q[n] <= conv_d[n*OutW +: OutW];
    end
  end

  generate
    for (k = 0; k < Channels; k = k + 1) begin : g_out
      assign conv_data[k*OutW +: OutW] = conv_q[k];
    end
  endgenerate

  assign conv_valid = conv_valid_q;

endmodule
