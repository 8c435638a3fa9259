// hs_core: the seed network (Conv2d(1->3, 7x7) -> MaxPool2d(2) -> ReLU -> Linear(363->10)
// -> argmax, bit-exact to docs/fixed-point.md) as a host-loaded, time-multiplexed engine.
// Weights, biases and the image are written by the host through the word write port into
// five hs_mem memories; start_i runs one image through the layers in turn:
//
//   stage_q  StConv  u_conv (hs_conv)   7 multipliers, one kernel row per cycle  -> u_map
//            StPool  u_pool (hs_pool)   2x2 max + ReLU, one block per 2 cycles   -> u_feat
//            StFc    u_fc   (hs_fc)     10 MACs over 363 inputs, logits one per beat
//            StClass u_argmax           argmax over the logit beats
//            StDone  done_o high, class_o valid, until the next start_i
//
// Write port (wr_en_i): memory wr_sel_i (SelImage 0, SelConvW 1, SelConvB 2, SelFcW 3,
// SelFcB 4; 5..7 ignored), word wr_addr_i, byte lanes wr_be_i of wr_data_i (hs_mem);
// words beyond a memory are ignored. Packing (byte address 4w + b = lane b of word w):
//   image   196 words: pixel 4w+b (row-major) in lane b                 (784 bytes)
//   conv1 weights 37 words: weight k*49 + i*7 + j (s8) in byte that    (147 bytes)
//   conv1 bias     3 words: b_k in lane 0 of word k (sign-extended; only lane 0 is read)
//   fc weights   908 words: weight o*363 + n (s8) in byte that          (3,630 bytes)
//   fc bias       10 words: bf_o in lane 0 of word o (sign-extended; only lane 0 is read)
// Read port: rd_data_o holds word rd_addr_i of memory rd_sel_i from the next edge
// (latency 1; 0 for an unused select or a word beyond the memory).
// Memories must not be written while busy_o is high (the engine reads them then).
//
// start_i (one cycle) is taken in StIdle or StDone and ignored while busy. Latency (start_i
// in cycle s; measured by tb_host): conv1 beats every 7 cycles in s+10 .. s+10,167, pool1
// beats every 2 cycles in s+10,170 .. s+10,894, fc1 beats every 2 cycles in s+11,261 ..
// s+11,279, then class_valid_q (one cycle) and done_o (level) from s+11,281: 11,281 cycles
// from start_i to done_o, the same for every image.
//
// Fault (verification aid, default 0 = correct): 1: the engine never leaves StClass, so
// done_o never rises and class_valid_q never fires; 3: byte lane 2 of every write is
// dropped (wr_be_i[2] ignored). Other values: correct.
module hs_core #(
  parameter integer Fault = 0
) (
  input  wire        clk_i,
  input  wire        rst_ni,     // synchronous, active low
  input  wire        wr_en_i,
  input  wire [2:0]  wr_sel_i,
  input  wire [11:0] wr_addr_i,  // word address within the memory
  input  wire [31:0] wr_data_i,
  input  wire [3:0]  wr_be_i,
  input  wire [2:0]  rd_sel_i,
  input  wire [11:0] rd_addr_i,
  output wire [31:0] rd_data_o,
  input  wire        start_i,
  output wire        done_o,     // level: class ready, until the next start_i
  output wire        busy_o,
  output wire [3:0]  class_o
);

  // Geometry and widths (docs/fixed-point.md, "Bounds and widths")
  localparam integer ImgSize  = 28;
  localparam integer K        = 7;
  localparam integer ConvSize = ImgSize - K + 1;     // 22
  localparam integer PoolSize = ConvSize / 2;        // 11
  localparam integer Channels = 3;
  localparam integer Classes  = 10;
  localparam integer Inputs   = Channels * PoolSize * PoolSize;  // 363
  localparam integer ConvW    = 14;
  localparam integer PoolW    = 13;
  localparam integer FcW      = 23;

  // Memories: words, and the engine's byte address width (index bits + 2)
  localparam integer ImgWords   = ImgSize * ImgSize / 4;                 // 196
  localparam integer ConvWWords = (Channels * K * K + 3) / 4;            // 37
  localparam integer ConvBWords = Channels;                              // 3
  localparam integer FcWWords   = (Classes * Inputs + 3) / 4;            // 908
  localparam integer FcBWords   = Classes;                               // 10
  localparam integer ImgAW      = $clog2(ImgWords) + 2;                  // 10
  localparam integer ConvWAW    = $clog2(ConvWWords) + 2;                // 8
  localparam integer ConvBAW    = $clog2(ConvBWords) + 2;                // 4
  localparam integer FcWAW      = $clog2(FcWWords) + 2;                  // 12
  localparam integer FcBAW      = $clog2(FcBWords) + 2;                  // 6
  localparam integer MapDepth   = Channels * ConvSize * ConvSize;        // 1452
  localparam integer MapAW      = $clog2(MapDepth);                      // 11
  localparam integer FeatAW     = $clog2(Inputs);                        // 9

  localparam [2:0] SelImage = 3'd0;
  localparam [2:0] SelConvW = 3'd1;
  localparam [2:0] SelConvB = 3'd2;
  localparam [2:0] SelFcW   = 3'd3;
  localparam [2:0] SelFcB   = 3'd4;

  localparam [2:0] StIdle  = 3'd0;  // after reset, nothing computed yet
  localparam [2:0] StConv  = 3'd1;
  localparam [2:0] StPool  = 3'd2;
  localparam [2:0] StFc    = 3'd3;
  localparam [2:0] StClass = 3'd4;
  localparam [2:0] StDone  = 3'd5;

  // ---------------------------------------------------------------- write port
  wire [3:0] be     = (Fault == 3) ? (wr_be_i & 4'b1011) : wr_be_i;
  wire       we_img = wr_en_i && (wr_sel_i == SelImage);
  wire       we_cw  = wr_en_i && (wr_sel_i == SelConvW);
  wire       we_cb  = wr_en_i && (wr_sel_i == SelConvB);
  wire       we_fw  = wr_en_i && (wr_sel_i == SelFcW);
  wire       we_fb  = wr_en_i && (wr_sel_i == SelFcB);

  // ---------------------------------------------------------------- stage control
  reg  [2:0] stage_q;
  reg  [2:0] stage_d;
  // class_valid_q is a tap read by hierarchical path only, hence unused inside the design
  /* verilator lint_off UNUSEDSIGNAL */
  reg        class_valid_q;  // one cycle: class_q takes a new class (done_o rises)
  /* verilator lint_on UNUSEDSIGNAL */
  reg  [3:0] class_q;

  wire       conv_done, pool_done, fc_done, result;
  wire [3:0] result_class;
  wire       idle       = (stage_q == StIdle) || (stage_q == StDone);
  wire       conv_start = start_i && idle;
  wire       finish     = (stage_q == StClass) && result && (Fault != 1);

  always @(*) begin
    stage_d = stage_q;
    case (stage_q)
      StIdle, StDone: if (start_i)   stage_d = StConv;
      StConv:         if (conv_done) stage_d = StPool;
      StPool:         if (pool_done) stage_d = StFc;
      StFc:           if (fc_done)   stage_d = StClass;
      StClass:        if (finish)    stage_d = StDone;
      default:                       stage_d = StIdle;
    endcase
  end

  always @(posedge clk_i) begin
    if (!rst_ni) begin
      stage_q       <= StIdle;
      class_valid_q <= 1'b0;
      class_q       <= 4'd0;
    end else begin
      stage_q       <= stage_d;
      class_valid_q <= finish;
      if (finish) class_q <= result_class;
    end
  end

  assign done_o  = (stage_q == StDone);
  assign busy_o  = !idle;
  assign class_o = class_q;

  // ---------------------------------------------------------------- memories
  wire [K*ImgAW-1:0]       pix_addr;
  wire [K*8-1:0]           pix;
  wire [K*ConvWAW-1:0]     cw_addr;
  wire [K*8-1:0]           cw;
  wire [ConvBAW-1:0]       cb_addr;
  wire [7:0]               cb;
  wire [Classes*FcWAW-1:0] fw_addr;
  wire [Classes*8-1:0]     fw;
  wire [Classes*FcBAW-1:0] fb_addr;
  wire [Classes*8-1:0]     fb;
  wire [31:0]              rd_img, rd_cw, rd_cb, rd_fw, rd_fb;

  hs_mem #(
    .Words(ImgWords),
    .Ports(K)
  ) u_image (
    .clk_i         (clk_i),
    .we_i          (we_img),
    .wr_addr_i     (wr_addr_i),
    .wr_data_i     (wr_data_i),
    .wr_be_i       (be),
    .rd_addr_i     (pix_addr),
    .rd_data_o     (pix),
    .rd_word_addr_i(rd_addr_i),
    .rd_word_o     (rd_img)
  );

  hs_mem #(
    .Words(ConvWWords),
    .Ports(K)
  ) u_conv_w (
    .clk_i         (clk_i),
    .we_i          (we_cw),
    .wr_addr_i     (wr_addr_i),
    .wr_data_i     (wr_data_i),
    .wr_be_i       (be),
    .rd_addr_i     (cw_addr),
    .rd_data_o     (cw),
    .rd_word_addr_i(rd_addr_i),
    .rd_word_o     (rd_cw)
  );

  hs_mem #(
    .Words(ConvBWords),
    .Ports(1)
  ) u_conv_b (
    .clk_i         (clk_i),
    .we_i          (we_cb),
    .wr_addr_i     (wr_addr_i),
    .wr_data_i     (wr_data_i),
    .wr_be_i       (be),
    .rd_addr_i     (cb_addr),
    .rd_data_o     (cb),
    .rd_word_addr_i(rd_addr_i),
    .rd_word_o     (rd_cb)
  );

  hs_mem #(
    .Words(FcWWords),
    .Ports(Classes)
  ) u_fc_w (
    .clk_i         (clk_i),
    .we_i          (we_fw),
    .wr_addr_i     (wr_addr_i),
    .wr_data_i     (wr_data_i),
    .wr_be_i       (be),
    .rd_addr_i     (fw_addr),
    .rd_data_o     (fw),
    .rd_word_addr_i(rd_addr_i),
    .rd_word_o     (rd_fw)
  );

  hs_mem #(
    .Words(FcBWords),
    .Ports(Classes)
  ) u_fc_b (
    .clk_i         (clk_i),
    .we_i          (we_fb),
    .wr_addr_i     (wr_addr_i),
    .wr_data_i     (wr_data_i),
    .wr_be_i       (be),
    .rd_addr_i     (fb_addr),
    .rd_data_o     (fb),
    .rd_word_addr_i(rd_addr_i),
    .rd_word_o     (rd_fb)
  );

  // read-back: the select of the word the memories registered
  reg [2:0] rd_sel_q;

  always @(posedge clk_i) begin
    if (!rst_ni) rd_sel_q <= 3'd0;
    else         rd_sel_q <= rd_sel_i;
  end

  assign rd_data_o = (rd_sel_q == SelImage) ? rd_img :
                     (rd_sel_q == SelConvW) ? rd_cw  :
                     (rd_sel_q == SelConvB) ? rd_cb  :
                     (rd_sel_q == SelFcW)   ? rd_fw  :
                     (rd_sel_q == SelFcB)   ? rd_fb  : 32'd0;

  // ---------------------------------------------------------------- conv1
  wire               map_we;
  wire [MapAW-1:0]   map_waddr;
  wire [ConvW-1:0]   map_wdata;
  wire [4*MapAW-1:0] map_raddr;
  wire [4*ConvW-1:0] map_rdata;

  hs_conv #(
    .ImgSize (ImgSize),
    .K       (K),
    .Channels(Channels),
    .PixAW   (ImgAW),
    .WtAW    (ConvWAW),
    .BiasAW  (ConvBAW),
    .MapAW   (MapAW),
    .AccW    (22),
    .Shift   (8),
    .OutW    (ConvW)
  ) u_conv (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (conv_start),
    .pix_addr_o (pix_addr),
    .pix_i      (pix),
    .wt_addr_o  (cw_addr),
    .wt_i       (cw),
    .bias_addr_o(cb_addr),
    .bias_i     (cb),
    .map_we_o   (map_we),
    .map_addr_o (map_waddr),
    .map_data_o (map_wdata),
    .done_o     (conv_done)
  );

  hs_ram #(
    .Width(ConvW),
    .Depth(MapDepth),
    .Ports(4)
  ) u_map (
    .clk_i    (clk_i),
    .we_i     (map_we),
    .wr_addr_i(map_waddr),
    .wr_data_i(map_wdata),
    .rd_addr_i(map_raddr),
    .rd_data_o(map_rdata)
  );

  // ---------------------------------------------------------------- pool1
  wire              feat_we;
  wire [FeatAW-1:0] feat_waddr;
  wire [PoolW-1:0]  feat_wdata;
  wire [FeatAW-1:0] feat_raddr;
  wire [PoolW-1:0]  feat_rdata;

  hs_pool #(
    .ConvSize(ConvSize),
    .Channels(Channels),
    .InW     (ConvW),
    .OutW    (PoolW),
    .MapAW   (MapAW),
    .FeatAW  (FeatAW)
  ) u_pool (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .start_i    (conv_done),
    .map_addr_o (map_raddr),
    .map_i      (map_rdata),
    .feat_we_o  (feat_we),
    .feat_addr_o(feat_waddr),
    .feat_data_o(feat_wdata),
    .done_o     (pool_done)
  );

  hs_ram #(
    .Width(PoolW),
    .Depth(Inputs),
    .Ports(1)
  ) u_feat (
    .clk_i    (clk_i),
    .we_i     (feat_we),
    .wr_addr_i(feat_waddr),
    .wr_data_i(feat_wdata),
    .rd_addr_i(feat_raddr),
    .rd_data_o(feat_rdata)
  );

  // ---------------------------------------------------------------- fc1, argmax
  wire           logit_valid;
  wire [FcW-1:0] logit;
  wire [3:0]     logit_idx;

  hs_fc #(
    .Inputs (Inputs),
    .Outputs(Classes),
    .InW    (PoolW),
    .FeatAW (FeatAW),
    .WtAW   (FcWAW),
    .BiasAW (FcBAW),
    .AccW   (30),
    .Shift  (7),
    .OutW   (FcW),
    .IdxW   (4)
  ) u_fc (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .start_i      (pool_done),
    .feat_addr_o  (feat_raddr),
    .feat_i       (feat_rdata),
    .wt_addr_o    (fw_addr),
    .wt_i         (fw),
    .bias_addr_o  (fb_addr),
    .bias_i       (fb),
    .logit_valid_o(logit_valid),
    .logit_o      (logit),
    .logit_idx_o  (logit_idx),
    .done_o       (fc_done)
  );

  hs_argmax #(
    .N   (Classes),
    .W   (FcW),
    .IdxW(4)
  ) u_argmax (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (logit_valid),
    .idx_i   (logit_idx),
    .value_i (logit),
    .result_o(result),
    .class_o (result_class)
  );

endmodule
